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
(found by a vectorised scan) and decodes the words between two of them without
branches when they follow the common pattern (repeated TIME_HIGH, TIME_LOW,
ADDR_Y), word by word otherwise. It writes each event straight into a byte buffer
owned by the decoder (sized from a vectorised count of the event-bearing words when
the packet could overflow it); the caller gets a copy of the filled part (or, for a
large packet, the buffer itself, which the decoder then forgets).

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
# Longer inputs are decoded in chunks, which bounds the decoder's buffer.
EVT3_CHUNK_WORDS = 1 << 22
# The decoder's reused buffer: room for 131072 events and 16384 triggers (1.9 MB) holds
# the worst case (12 events and one trigger per word) of packets up to 11,262 words,
# which need no counting pass.
EVT3_BUFFER_EVENTS = 1 << 17
EVT3_BUFFER_TRIGGERS = 1 << 14
# Decoded packets of up to this many events are copied out of the buffer; larger ones
# are handed over whole (a copy would cost more than a fresh buffer for the next call).
EVT3_COPY_EVENTS = 1 << 14
_U8 = np.dtype(np.uint8)
_frombuffer = np.frombuffer
_WORD = np.dtype('<u2')
_EVENT_BYTES = EVENT_DTYPE.itemsize
_TRIGGER_BYTES = TRIGGER_DTYPE.itemsize
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
    height and ns per tick. Events are decoded into a buffer owned by the decoder
    (``_events``, grown when a packet needs more) and copied out. In tolerant mode
    a packet of odd length loses its last byte and is counted in
    ``truncated_packets``; otherwise it raises ``ValueError``.
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
        self._set_buffer(EVT3_BUFFER_EVENTS, EVT3_BUFFER_TRIGGERS)

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
        # as few Python steps as possible: they cost as much as decoding 1,000 words.
        if type(data) is np.ndarray and data.dtype is _U8 and data.ndim == 1:
            n_bytes = data.shape[0]
            if not n_bytes & 1 and n_bytes <= 2 * EVT3_CHUNK_WORDS:
                try:
                    words = data.view(_WORD)
                except ValueError:  # a strided uint8 array (view refuses it)
                    return self._decode_any(data)
                return self._decode_words(words)
        return self._decode_any(data)

    def _decode_any(self, data):
        if type(data) is not np.ndarray or data.dtype is not _U8 or data.ndim != 1:
            data = _as_bytes(data, 'evt3')
        n_bytes = data.shape[0]
        if n_bytes & 1:
            if not self.tolerant:
                raise ValueError(f'evt3 packet has {n_bytes} bytes: evt3 words are 2 '
                                 'bytes, so the length must be even (truncated packet?)')
            self.truncated_packets += 1
            data = data[:-1]
        try:
            words = data.view(_WORD)
        except ValueError:  # a strided uint8 array
            words = np.ascontiguousarray(data).view(_WORD)
        if n_bytes > 2 * EVT3_CHUNK_WORDS + 1:
            chunk = EVT3_CHUNK_WORDS
            parts = [self._decode_words(words[i:i + chunk])
                     for i in range(0, words.shape[0], chunk)]
            return (np.concatenate([p[0] for p in parts]),
                    np.concatenate([p[1] for p in parts]))
        return self._decode_words(words)

    def _decode_words(self, words):
        m, nt = _k.evt3_decode(words, self.state, self._buffer)
        if m < 0:
            self._set_buffer(max(-m - 1, 2 * self._events.shape[0]),
                             max(-nt, self._trigger_room))
            self.state[_k.S_CHECKED] = 1
            m, nt = _k.evt3_decode(words, self.state, self._buffer)
        # The kernel leaves the triggers right after the events: one byte copy holds
        # both. (numpy copies packed structured arrays field by field, 20x slower, and
        # a structured view() runs Python checks; frombuffer does neither.)
        if m > EVT3_COPY_EVENTS:
            data = self._buffer
            events = self._events[:m]
            self._set_buffer(EVT3_BUFFER_EVENTS, EVT3_BUFFER_TRIGGERS)
        else:
            data = self._buffer[:m * _EVENT_BYTES + nt * _TRIGGER_BYTES].copy()
            events = _frombuffer(data, EVENT_DTYPE, m)
        if nt:
            return events, _frombuffer(data, TRIGGER_DTYPE, nt, m * _EVENT_BYTES)
        return events, _NO_TRIGGERS

    def _set_buffer(self, n_events, n_triggers):
        """Allocate the decoding buffer: room for ``n_events`` + 1 events and the triggers."""
        extra = -(-(n_triggers * _TRIGGER_BYTES) // _EVENT_BYTES)   # whole events
        self._events = np.empty(n_events + 1 + extra, dtype=EVENT_DTYPE)
        self._buffer = self._events.view(np.uint8)
        self._trigger_room = n_triggers


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
    decodes on its own or after earlier packets.
    """
    events = _check_events(events, 'encode_evt3')
    if triggers is None:
        triggers = np.empty(0, dtype=TRIGGER_DTYPE)
    if not isinstance(triggers, np.ndarray) or triggers.dtype != TRIGGER_DTYPE:
        raise ValueError('encode_evt3: triggers must be a TRIGGER_DTYPE array (id u1, edge i1, '
                         't i8)')
    for name, arr in (('events', events), ('triggers', triggers)):
        if arr.shape[0] and (np.any(np.diff(arr['t']) < 0) or arr['t'][0] < 0):
            raise ValueError(f'encode_evt3: {name} times must be >= 0 and sorted')
    if events.shape[0] and (events['x'].max() >= EVT3_MAX_SIZE
                            or events['y'].max() >= EVT3_MAX_SIZE):
        raise ValueError(f'encode_evt3: x and y must be < {EVT3_MAX_SIZE} (11-bit addresses)')
    if triggers.shape[0] and triggers['id'].max() > 15:
        raise ValueError('encode_evt3: trigger id must be in [0, 15]')
    tick = events['t'] // time_mult_ns
    trig_tick = triggers['t'] // time_mult_ns
    args = (events['x'], events['y'], events['p'], tick,
            triggers['id'], triggers['edge'], trig_tick)
    n = _k.evt3_encode(*args, np.empty(0, dtype=np.uint16), False)
    out = np.empty(n, dtype='<u2')
    _k.evt3_encode(*args, out, True)
    return out.view(np.uint8)


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
    if events.shape[0] and events['y'].max() >= MONO_MAX_Y:
        raise ValueError(f'encode_mono: y must be < {MONO_MAX_Y} (15 bits)')
    out = np.empty(events.shape[0], dtype='<u8')
    bad = _k.mono_encode(events, np.int64(time_base_ns), out)
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
