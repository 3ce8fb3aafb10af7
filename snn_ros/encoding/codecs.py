# noqa: A005 (the module is snn_ros.encoding.codecs, never imported as plain codecs)
"""
Event-camera codecs: ``evt3`` and ``mono``, as carried by ``event_camera_msgs/EventPacket``.

EVT 3.0 (Prophesee, "EVT 3.0 Format", docs.prophesee.ai/stable/data/encoding_formats/
evt3.html) is a stream of little-endian 16-bit words whose 4 most significant bits
give the type:

====  ============  =====================================================
code  type          payload (bits)
====  ============  =====================================================
0x0   EVT_ADDR_Y    y [10:0], system type [11]; sets the current row
0x2   EVT_ADDR_X    x [10:0], polarity [11]; one CD event at (x, y, t)
0x3   VECT_BASE_X   x [10:0], polarity [11]; base for the vector words
0x4   VECT_12       valid mask [11:0]: events at base+i; base += 12
0x5   VECT_8        valid mask [7:0]: events at base+i; base += 8
0x6   TIME_LOW      bits 11..0 of the 24-bit time [us]
0x7   CONTINUED_4   extra data of OTHERS (ignored)
0x8   TIME_HIGH     bits 23..12 of the 24-bit time [us]
0xA   EXT_TRIGGER   edge [0], channel id [11:8]
0xE   OTHERS        sub-type [11:0] (ignored)
0xF   CONTINUED_12  extra data of OTHERS (ignored)
====  ============  =====================================================

Every other code is unknown: it is skipped and counted, never thrown. Decoding
keeps a state (y, time, vector base and polarity) that carries from one packet to
the next. Events are dropped until a TIME_HIGH and then a TIME_LOW were seen. The
24-bit counter wraps every 16.8 s: a TIME_HIGH that goes backwards by more than 10
counts adds 2**24 us (small backward steps happen without a wrap; the same rule is
used by ros-event-camera/event_camera_codecs). Times are returned in ns (us x 1000).
CD events outside the sensor's width x height are dropped and counted.

The decoder (``_codec_kernels.evt3_decode``) goes from one ADDR_X word to the next
(found in bit masks of the word types, 64 words at a time, from vector compares).
An event after the common pattern (repeated TIME_HIGH, TIME_LOW, ADDR_Y) is decoded
without branches; the y and time of the others are the last ADDR_Y and TIME_LOW
before them, and the rarer words go word by word. It writes each event straight
into a byte buffer sized by a vectorised count of the event-bearing words,
allocated in the same numba call; the events and triggers returned are views of
that buffer.

``mono`` (ros-event-camera/event_camera_codecs, ``mono_decoder.h`` and
``mono_encoder.h``) packs one event in a little-endian uint64::

    bit 63       polarity
    bits 62..48  y (15 bits)
    bits 47..32  x (16 bits)
    bits 31..0   time - time_base [ns] (unsigned)

where ``time_base`` [ns] is the packet's ``time_base`` field. ``mono`` has no
separate trigger words.
"""

import numpy as np

from snn_ros.core.types import EVENT_DTYPE
from snn_ros.encoding import _codec_kernels as _k

#: An external-trigger event: channel id, edge (1 rising, 0 falling) and time [ns].
TRIGGER_DTYPE = np.dtype([('id', 'u1'), ('edge', 'i1'), ('t', '<i8')])

ENCODINGS = ('evt3', 'mono')
_NO_TRIGGERS = np.empty(0, dtype=TRIGGER_DTYPE)
_NO_TRIGGERS.flags.writeable = False
EVT3_MAX_SIZE = 2048  # 11-bit addresses
# Packets above this size are decoded into a buffer numpy allocates: for 4 MB and more
# it asks for huge pages, where fresh 4 kB pages cost 1-2 us each to fault in (a
# 1.1 M-word packet took 1.2-1.6x as long in a buffer allocated by numba).
EVT3_LARGE_BYTES = 1 << 20
_WORD = np.dtype('<u2')
_U8 = np.dtype(np.uint8)
_frombuffer = np.frombuffer
_NDARRAY = np.ndarray
_decode_packet = _k.evt3_decode_packet
_EVENT_BYTES = EVENT_DTYPE.itemsize
MONO_MAX_X = 1 << 16
MONO_MAX_Y = 1 << 15


def _check_geometry(width, height, limit_x, limit_y, what):
    for name, value, limit in (('width', width, limit_x), ('height', height, limit_y)):
        if not isinstance(value, (int, np.integer)) or not 1 <= value <= limit:
            raise ValueError(f'{what}: {name} must be an integer in [1, {limit}], got {value!r}')
    return int(width), int(height)


def _as_bytes(data, what):
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise ValueError(f'{what}: packet data must be bytes or a uint8 array, '
                             f'got dtype {data.dtype}')
        return np.ascontiguousarray(data)
    try:
        return np.frombuffer(data, dtype=np.uint8)
    except TypeError:
        raise ValueError(f'{what}: packet data must be bytes-like or a uint8 array, '
                         f'got {type(data).__name__}') from None


class Evt3Decoder:
    """
    Stateful EVT 3.0 decoder: one per camera stream.

    ``state`` is an int64 array (see ``_codec_kernels.S_*``) holding y, time, vector
    base and the counters, which carry across :meth:`decode` calls, and the width,
    height and ns per tick. In tolerant mode a packet of odd length loses its last
    byte and is counted in ``truncated_packets``; otherwise it raises ``ValueError``.
    """

    def __init__(self, width, height, tolerant=False, time_mult_ns=1000):
        """Decode for a ``width`` x ``height`` sensor; times are ticks x ``time_mult_ns``."""
        self.width, self.height = _check_geometry(width, height, EVT3_MAX_SIZE,
                                                  EVT3_MAX_SIZE, 'evt3 decoder')
        if not isinstance(time_mult_ns, (int, np.integer)) or time_mult_ns < 1:
            raise ValueError(f'time_mult_ns must be a positive integer, got {time_mult_ns!r}')
        self.tolerant = bool(tolerant)
        self.time_mult_ns = int(time_mult_ns)
        self.state = np.zeros(_k.EVT3_STATE_LEN, dtype=np.int64)
        self.state[_k.S_WIDTH] = self.width
        self.state[_k.S_HEIGHT] = self.height
        self.state[_k.S_TIME_MULT] = self.time_mult_ns
        self.truncated_packets = 0

    def reset(self):
        """Forget the time, address and counters (as after a camera restart)."""
        self.state[:_k.EVT3_RESET_LEN] = 0
        self.truncated_packets = 0

    @property
    def unknown_words(self):
        """Words with an unknown type code, skipped."""
        return int(self.state[_k.S_UNKNOWN])

    @property
    def out_of_range(self):
        """CD events outside width x height, dropped."""
        return int(self.state[_k.S_OUT_OF_RANGE])

    @property
    def dropped_before_time(self):
        """Events seen before the first complete time, dropped."""
        return int(self.state[_k.S_BEFORE_TIME])

    @property
    def wraps(self):
        """24-bit time wraps seen so far."""
        return int(self.state[_k.S_WRAPS])

    @property
    def has_time(self):
        """Tell whether a TIME_HIGH and then a TIME_LOW were seen."""
        return bool(self.state[_k.S_VALID])

    def decode(self, data):
        """
        Decode one packet's bytes and return ``(events, triggers)``.

        ``events`` is an EVENT_DTYPE array, ``triggers`` a TRIGGER_DTYPE array, both
        owned by the caller, with times in ns.
        """
        # The common case (a 1-D uint8 array of even length, as from a message) takes
        # as few Python steps as possible: each costs as much as decoding 10-50 words.
        # A structured view() runs Python checks; frombuffer does not.
        if type(data) is not _NDARRAY or data.dtype is not _U8 or data.ndim != 1 \
                or len(data) & 1:
            data = self._bytes(data)
        if len(data) <= EVT3_LARGE_BYTES:
            out, m, nt = _decode_packet(data, self.state)
        else:
            words = np.ascontiguousarray(data).view(_WORD)
            out = np.empty(_k.evt3_buffer_bytes(*_k.evt3_bound(words)), dtype=np.uint8)
            m, nt = _k.evt3_decode(words, self.state, out)
        if nt:
            return (_frombuffer(out, EVENT_DTYPE, m),
                    _frombuffer(out, TRIGGER_DTYPE, nt, m * _EVENT_BYTES))
        return _frombuffer(out, EVENT_DTYPE, m), _NO_TRIGGERS

    def _bytes(self, data):
        """Return ``data`` as a 1-D uint8 array of even length (or raise ``ValueError``)."""
        data = _as_bytes(data, 'evt3').reshape(-1)
        n_bytes = data.shape[0]
        if n_bytes & 1:
            if not self.tolerant:
                raise ValueError(f'evt3 packet has {n_bytes} bytes: evt3 words are 2 '
                                 'bytes, so the length must be even (truncated packet?)')
            self.truncated_packets += 1
            data = data[:-1]
        return data


def decode_evt3(data, width, height, decoder=None):
    """Decode one evt3 packet with a fresh decoder (or ``decoder``); return events, triggers."""
    if decoder is None:
        decoder = Evt3Decoder(width, height)
    return decoder.decode(data)


def _check_events(events, what):
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        raise ValueError(f'{what}: events must be a 1-D EVENT_DTYPE array '
                         '(x u2, y u2, p i1, t i8)')
    return np.ascontiguousarray(events)


def encode_evt3(events, triggers=None, time_mult_ns=1000):
    """
    Encode events (and optional triggers) as EVT 3.0 bytes.

    Both arrays must be sorted by time. Times are divided by ``time_mult_ns``
    (1 us ticks by default, rounded down) and written modulo 2**24; gaps of more
    than 2**23 ticks are bridged by intermediate TIME_HIGH words so that a decoder
    still counts the wraps. The packet starts with a full time and row, so it
    decodes on its own or after earlier packets. Polarity is ON where ``p`` is
    not 0.
    """
    # The common case (contiguous arrays of the right dtypes, an int multiplier) costs
    # a few attribute checks; the kernel checks the values as it encodes them.
    if type(events) is not np.ndarray or events.dtype != EVENT_DTYPE or events.ndim != 1 \
            or not events.flags.c_contiguous:
        events = _check_events(events, 'encode_evt3')
    if triggers is None:
        triggers = _NO_TRIGGERS
    elif (type(triggers) is not np.ndarray or triggers.dtype != TRIGGER_DTYPE
          or triggers.ndim != 1):
        raise ValueError('encode_evt3: triggers must be a TRIGGER_DTYPE array (id u1, edge i1, '
                         't i8)')
    elif not triggers.flags.c_contiguous:
        triggers = np.ascontiguousarray(triggers)
    if type(time_mult_ns) is not int:
        if not isinstance(time_mult_ns, np.integer):
            raise ValueError(f'encode_evt3: time_mult_ns must be a positive integer, got '
                             f'{time_mult_ns!r}')
        time_mult_ns = int(time_mult_ns)
    if time_mult_ns < 1:
        raise ValueError(f'encode_evt3: time_mult_ns must be a positive integer, got '
                         f'{time_mult_ns!r}')
    data, bad = _k.evt3_encode(events, triggers, time_mult_ns)
    if bad:
        raise ValueError(_evt3_input_error(events, triggers))
    return data


def _evt3_input_error(events, triggers):
    """Return what is wrong with the input the evt3 encoder refused (first problem first)."""
    for name, arr in (('events', events), ('triggers', triggers)):
        if arr.shape[0] and (np.any(np.diff(arr['t']) < 0) or arr['t'][0] < 0):
            return f'encode_evt3: {name} times must be >= 0 and sorted'
    if events.shape[0] and (events['x'].max() >= EVT3_MAX_SIZE
                            or events['y'].max() >= EVT3_MAX_SIZE):
        return f'encode_evt3: x and y must be < {EVT3_MAX_SIZE} (11-bit addresses)'
    return 'encode_evt3: trigger id must be in [0, 15]'


def decode_mono(data, time_base_ns=0, tolerant=False):
    """
    Decode one ``mono`` packet's bytes into an EVENT_DTYPE array.

    ``time_base_ns`` is the packet's ``time_base``. A length that is not a multiple
    of 8 raises ``ValueError``, or in tolerant mode drops the partial word.
    """
    raw = _as_bytes(data, 'mono')
    rest = raw.shape[0] % 8
    if rest:
        if not tolerant:
            raise ValueError(f'mono packet has {raw.shape[0]} bytes: mono events are 8 bytes, '
                             'so the length must be a multiple of 8 (truncated packet?)')
        raw = raw[:raw.shape[0] - rest]
    words = raw.view('<u8')
    out = np.empty(words.shape[0], dtype=EVENT_DTYPE)
    _k.mono_decode(words, np.int64(time_base_ns), out)
    return out


def encode_mono(events, time_base_ns=None):
    """
    Encode events as ``mono`` bytes; return ``(data, time_base_ns)``.

    ``time_base_ns`` defaults to the first event's time; every event time must lie
    in [time_base, time_base + 2**32) ns, i.e. a packet spans at most 4.29 s.
    """
    events = _check_events(events, 'encode_mono')
    if time_base_ns is None:
        time_base_ns = int(events['t'][0]) if events.shape[0] else 0
    out = np.empty(events.shape[0], dtype='<u8')
    bad = _k.mono_encode(events.view(np.uint8), np.int64(time_base_ns), out)
    if bad >= 0 and events['y'][bad] >= MONO_MAX_Y:
        raise ValueError(f'encode_mono: event {bad} has y={int(events["y"][bad])}; y must be '
                         f'< {MONO_MAX_Y} (15 bits)')
    if bad >= 0:
        raise ValueError(f'encode_mono: event {bad} has t={int(events["t"][bad])} ns, outside '
                         f'[time_base, time_base + 2**32) = [{time_base_ns}, '
                         f'{time_base_ns + 2**32}) ns; split the events into shorter packets')
    return out.view(np.uint8), int(time_base_ns)


class PacketDecoder:
    """
    Decode successive ``EventPacket`` payloads of one stream, whatever the encoding.

    Checks that the encoding is known and that width and height stay those of the
    first packet, counts sequence gaps, and carries the evt3 state. In tolerant
    mode a bad packet is dropped and counted in ``dropped_packets`` instead of
    raising ``ValueError``.
    """

    def __init__(self, tolerant=False):
        """Start with no stream geometry; the first packet fixes it."""
        self.tolerant = bool(tolerant)
        self.width = None
        self.height = None
        self.encoding = None
        self.evt3 = None
        self.last_seq = None
        self.seq_gaps = 0
        self.lost_packets = 0
        self.dropped_packets = 0
        self.packets = 0

    def _fail(self, message):
        if not self.tolerant:
            raise ValueError(message)
        self.dropped_packets += 1
        return np.empty(0, dtype=EVENT_DTYPE), np.empty(0, dtype=TRIGGER_DTYPE)

    def decode(self, encoding, data, width, height, time_base_ns=0, seq=None):
        """Decode one packet's fields; return ``(events, triggers)`` with times in ns."""
        if seq is not None:
            if self.last_seq is not None and seq != self.last_seq + 1:
                self.seq_gaps += 1
                if seq > self.last_seq:
                    self.lost_packets += int(seq - self.last_seq - 1)
            self.last_seq = seq
        if encoding != self.encoding or width != self.width or height != self.height:
            # The first packet, or a change: the checks that a steady stream skips.
            if encoding not in ENCODINGS:
                return self._fail(f'EventPacket.encoding {encoding!r} is not supported; '
                                  f'use one of {list(ENCODINGS)}')
            if self.width is not None:
                return self._fail(f'EventPacket changed to {encoding} {width}x{height} after '
                                  f'{self.encoding} {self.width}x{self.height}; one decoder '
                                  'per stream')
            try:
                limit = EVT3_MAX_SIZE if encoding == 'evt3' else MONO_MAX_X
                _check_geometry(width, height, limit, limit, f'EventPacket ({encoding})')
            except ValueError as error:
                return self._fail(str(error))
            self.width, self.height, self.encoding = int(width), int(height), encoding
            if encoding == 'evt3':
                self.evt3 = Evt3Decoder(self.width, self.height, tolerant=self.tolerant)
        self.packets += 1
        try:
            if encoding == 'evt3':
                return self.evt3.decode(data)
            events = decode_mono(data, time_base_ns, tolerant=self.tolerant)
            keep = (events['x'] < self.width) & (events['y'] < self.height)
            if not keep.all():
                if not self.tolerant:
                    raise ValueError(f'mono packet has events outside {self.width}x'
                                     f'{self.height}')
                events = events[keep]
            return events, np.empty(0, dtype=TRIGGER_DTYPE)
        except ValueError as error:
            return self._fail(str(error))
