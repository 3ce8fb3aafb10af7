"""
Event files: Prophesee ``.raw`` (EVT 3.0) and rosbag2 (sqlite3 or mcap) recordings.

A ``.raw`` file (Prophesee, "RAW File Format", docs.prophesee.ai/stable/data/
file_formats/raw.html) starts with ASCII header lines that begin with ``%``, e.g.
``% evt 3.0``, ``% format EVT3;height=480;width=640`` and ``% geometry 640x480``,
optionally closed by ``% end``; the EVT 3.0 words follow. A header that is not
ASCII, is cut short, names another format or gives no usable geometry is refused
with a ``ValueError`` that names the file and the line.

Rosbags are read with the pure-Python ``rosbags`` package (no ROS installation);
the ``event_camera_msgs/msg/EventPacket`` definition is registered here. Messages
are returned as :class:`Packet` tuples and decoded with
:class:`snn_ros.encoding.codecs.PacketDecoder`.
"""

from pathlib import Path
from typing import NamedTuple

import numpy as np

from snn_ros.core.types import EVENT_DTYPE
from snn_ros.encoding.codecs import encode_evt3, Evt3Decoder, PacketDecoder, TRIGGER_DTYPE

EVENT_PACKET_MSG = """std_msgs/Header header
uint32 height
uint32 width
uint64 seq
uint64 time_base
string encoding
bool is_bigendian
uint8[] events
"""
EVENT_PACKET_TYPE = 'event_camera_msgs/msg/EventPacket'
MAX_HEADER_BYTES = 1 << 20


class Packet(NamedTuple):
    """One EventPacket: stamps in ns, payload as a uint8 array."""

    stamp_ns: int
    width: int
    height: int
    seq: int
    time_base_ns: int
    encoding: str
    data: np.ndarray


class Recording(NamedTuple):
    """
    A decoded recording.

    ``events`` (EVENT_DTYPE) and ``triggers`` (TRIGGER_DTYPE) have times in ns;
    ``stats`` counts packets, sequence gaps, unknown words and drops.
    """

    events: np.ndarray
    triggers: np.ndarray
    width: int
    height: int
    encoding: str
    stats: dict


def parse_raw_header(blob, name='<raw>'):
    """
    Parse the ``%`` header of a ``.raw`` file's bytes; return ``(fields, data_offset)``.

    ``fields`` holds ``format`` ('EVT3'), ``width``, ``height`` and every ``key value``
    line. Raise ``ValueError`` naming ``name`` when the header is damaged.
    """
    fields = {}
    pos = 0
    lines = 0
    while pos < len(blob) and blob[pos:pos + 1] == b'%':
        end = blob.find(b'\n', pos, pos + MAX_HEADER_BYTES)
        if end < 0:
            raise ValueError(f'{name}: header line {lines + 1} has no end of line '
                             '(file cut inside the header?)')
        try:
            line = blob[pos + 1:end].decode('ascii').strip()
        except UnicodeDecodeError:
            raise ValueError(f'{name}: header line {lines + 1} is not ASCII '
                             '(damaged header)') from None
        pos = end + 1
        lines += 1
        if line == 'end':
            break
        key, _, value = line.partition(' ')
        fields[key] = value.strip()
    if lines == 0:
        raise ValueError(f'{name}: no "%" header; a Prophesee .raw file starts with lines '
                         'such as "% evt 3.0" and "% format EVT3;height=480;width=640"')
    fmt = None
    width = height = None
    if 'format' in fields:
        parts = fields['format'].split(';')
        fmt = parts[0].strip().upper()
        for part in parts[1:]:
            key, _, value = part.partition('=')
            if key.strip() == 'width':
                width = value
            elif key.strip() == 'height':
                height = value
    if fmt is None and 'evt' in fields:
        fmt = 'EVT' + fields['evt'].replace('.0', '').strip()
    if fmt not in ('EVT3', 'EVT30'):
        raise ValueError(f'{name}: header gives format {fmt!r}; only EVT 3.0 is supported '
                         '(expected "% evt 3.0" or "% format EVT3;...")')
    if (width is None or height is None) and 'geometry' in fields:
        width, _, height = fields['geometry'].partition('x')
    try:
        width, height = int(width), int(height)
    except (TypeError, ValueError):
        raise ValueError(f'{name}: header has no usable geometry (expected '
                         '"% geometry WxH" or width=/height= in "% format")') from None
    if not (1 <= width <= 2048 and 1 <= height <= 2048):
        raise ValueError(f'{name}: header geometry {width}x{height} is outside 1..2048')
    fields.update(format='EVT3', width=width, height=height)
    return fields, pos


def read_raw(path, tolerant=False):
    """Read a Prophesee EVT 3.0 ``.raw`` file into a :class:`Recording`."""
    path = Path(path)
    blob = path.read_bytes()
    fields, offset = parse_raw_header(blob, str(path))
    decoder = Evt3Decoder(fields['width'], fields['height'], tolerant=tolerant)
    events, triggers = decoder.decode(np.frombuffer(blob, dtype=np.uint8, offset=offset))
    stats = {'packets': 1, 'seq_gaps': 0, 'lost_packets': 0, 'dropped_packets': 0,
             'unknown_words': decoder.unknown_words, 'out_of_range': decoder.out_of_range,
             'dropped_before_time': decoder.dropped_before_time, 'wraps': decoder.wraps,
             'truncated_packets': decoder.truncated_packets, 'header': fields}
    return Recording(events, triggers, fields['width'], fields['height'], 'evt3', stats)


def write_raw(path, events, width, height, triggers=None):
    """Write events (and triggers) as a Prophesee EVT 3.0 ``.raw`` file."""
    if not (1 <= int(width) <= 2048 and 1 <= int(height) <= 2048):
        raise ValueError(f'write_raw: width and height must be in [1, 2048], got {width}x{height}')
    header = (f'% camera_integrator_name snn_ros\n% evt 3.0\n'
              f'% format EVT3;height={int(height)};width={int(width)}\n'
              f'% geometry {int(width)}x{int(height)}\n% end\n').encode('ascii')
    payload = encode_evt3(events, triggers)
    path = Path(path)
    tmp = path.with_name(path.name + '.tmp')
    with open(tmp, 'wb') as f:
        f.write(header)
        f.write(payload.tobytes())
    tmp.replace(path)


def _typestore():
    from rosbags.typesys import get_types_from_msg, get_typestore, Stores
    store = get_typestore(Stores.ROS2_HUMBLE)
    store.register(get_types_from_msg(EVENT_PACKET_MSG, EVENT_PACKET_TYPE))
    return store


def iter_bag_packets(path, topic=None):
    """
    Yield the EventPackets of a rosbag2 folder (sqlite3 or mcap) as :class:`Packet`.

    ``topic`` defaults to the only EventPacket topic; with several, it must be given.
    """
    from rosbags.rosbag2 import Reader
    store = _typestore()
    with Reader(Path(path)) as reader:
        conns = [c for c in reader.connections if c.msgtype == EVENT_PACKET_TYPE]
        topics = sorted({c.topic for c in conns})
        if topic is None:
            if len(topics) != 1:
                raise ValueError(f'{path}: found EventPacket topics {topics}; choose one '
                                 'with topic=')
            topic = topics[0]
        conns = [c for c in conns if c.topic == topic]
        if not conns:
            raise ValueError(f'{path}: no EventPacket messages on topic {topic!r}; '
                             f'EventPacket topics are {topics}')
        for conn, _, raw in reader.messages(connections=conns):
            m = store.deserialize_cdr(raw, conn.msgtype)
            stamp = int(m.header.stamp.sec) * 1_000_000_000 + int(m.header.stamp.nanosec)
            yield Packet(stamp, int(m.width), int(m.height), int(m.seq), int(m.time_base),
                         str(m.encoding), m.events)


def write_bag(path, packets, topic='/event_camera/events', storage='sqlite3'):
    """Write :class:`Packet` tuples as a rosbag2 folder (``storage`` 'sqlite3' or 'mcap')."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    plugins = {'sqlite3': StoragePlugin.SQLITE3, 'mcap': StoragePlugin.MCAP}
    if storage not in plugins:
        raise ValueError(f'write_bag: storage must be one of {sorted(plugins)}, got {storage!r}')
    store = _typestore()
    cls = store.types[EVENT_PACKET_TYPE]
    header_t = store.types['std_msgs/msg/Header']
    time_t = store.types['builtin_interfaces/msg/Time']
    with Writer(Path(path), version=8, storage_plugin=plugins[storage]) as writer:
        conn = writer.add_connection(topic, EVENT_PACKET_TYPE, typestore=store)
        for p in packets:
            stamp = time_t(sec=p.stamp_ns // 1_000_000_000, nanosec=p.stamp_ns % 1_000_000_000)
            msg = cls(header=header_t(stamp=stamp, frame_id='camera'), height=p.height,
                      width=p.width, seq=p.seq, time_base=p.time_base_ns, encoding=p.encoding,
                      is_bigendian=False, events=np.asarray(p.data, dtype=np.uint8))
            writer.write(conn, p.stamp_ns, store.serialize_cdr(msg, EVENT_PACKET_TYPE))


def decode_packets(packets, tolerant=False):
    """Decode an iterable of :class:`Packet` into a :class:`Recording`."""
    decoder = PacketDecoder(tolerant=tolerant)
    events, triggers = [], []
    seq_gap_list = []
    for p in packets:
        before = decoder.seq_gaps
        ev, tr = decoder.decode(p.encoding, p.data, p.width, p.height, p.time_base_ns, p.seq)
        if decoder.seq_gaps != before:
            seq_gap_list.append(int(p.seq))
        events.append(ev)
        triggers.append(tr)
    evt3 = decoder.evt3
    stats = {'packets': decoder.packets, 'seq_gaps': decoder.seq_gaps,
             'seq_gap_at': seq_gap_list, 'lost_packets': decoder.lost_packets,
             'dropped_packets': decoder.dropped_packets,
             'unknown_words': evt3.unknown_words if evt3 else 0,
             'out_of_range': evt3.out_of_range if evt3 else 0,
             'dropped_before_time': evt3.dropped_before_time if evt3 else 0,
             'wraps': evt3.wraps if evt3 else 0,
             'truncated_packets': evt3.truncated_packets if evt3 else 0}
    ev = np.concatenate(events) if events else np.empty(0, dtype=EVENT_DTYPE)
    tr = np.concatenate(triggers) if triggers else np.empty(0, dtype=TRIGGER_DTYPE)
    return Recording(ev, tr, decoder.width or 0, decoder.height or 0,
                     decoder.encoding or '', stats)


def read_bag(path, topic=None, tolerant=False):
    """Read and decode the EventPackets of a rosbag2 folder into a :class:`Recording`."""
    return decode_packets(iter_bag_packets(path, topic), tolerant=tolerant)


def read_events(path, topic=None, tolerant=False):
    """Read a ``.raw`` file or a rosbag2 folder/file, chosen by what ``path`` is."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f'{path}: no such file or folder')
    if path.is_file() and path.suffix == '.raw':
        return read_raw(path, tolerant=tolerant)
    if path.is_file() and path.suffix in ('.db3', '.mcap'):
        path = path.parent
    if path.is_dir():
        return read_bag(path, topic=topic, tolerant=tolerant)
    raise ValueError(f'{path}: not a .raw file or a rosbag2 folder')
