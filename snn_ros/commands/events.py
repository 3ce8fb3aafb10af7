"""
``snn-ros events``: inspect event-camera files (Prophesee ``.raw``, rosbag2).

``snn-ros events info FILE [--json]`` prints the sensor size, the duration, event
counts by polarity, trigger counts by edge, the sum of event times in us and the
packets that follow a sequence gap.
"""

import json


def add_arguments(parser):
    """Add the ``info`` sub-action."""
    sub = parser.add_subparsers(dest='action', required=True, metavar='ACTION')
    info = sub.add_parser('info', help='summarise a .raw file or a rosbag2 folder')
    info.add_argument('file', help='a Prophesee .raw file or a rosbag2 folder (sqlite3/mcap)')
    info.add_argument('--topic', default=None, help='EventPacket topic (if the bag has several)')
    info.add_argument('--tolerant', action='store_true',
                      help='drop and count bad packets instead of stopping')
    info.add_argument('--json', action='store_true', help='print one JSON object')


def summarise(recording):
    """Return the figures of :func:`run` for a decoded recording as a dict."""
    ev, tr = recording.events, recording.triggers
    times = [a['t'] for a in (ev, tr) if a.shape[0]]
    t_min = min(int(t.min()) for t in times) if times else 0
    t_max = max(int(t.max()) for t in times) if times else 0
    stats = {k: v for k, v in recording.stats.items() if k != 'header'}
    return dict(
        width=recording.width, height=recording.height, encoding=recording.encoding,
        duration_s=(t_max - t_min) / 1e9,
        first_event_t_us=int(ev['t'].min()) // 1000 if ev.shape[0] else None,
        events=int(ev.shape[0]), events_on=int((ev['p'] == 1).sum()),
        events_off=int((ev['p'] == 0).sum()),
        triggers=int(tr.shape[0]), triggers_rising=int((tr['edge'] == 1).sum()),
        triggers_falling=int((tr['edge'] == 0).sum()),
        sum_event_t_us=int((ev['t'] // 1000).sum()),
        sum_event_and_trigger_t_us=int((ev['t'] // 1000).sum() + (tr['t'] // 1000).sum()),
        **stats)


def run(args):
    """Run the sub-action; return the exit status."""
    from snn_ros.encoding.files import read_events
    try:
        recording = read_events(args.file, topic=args.topic, tolerant=args.tolerant)
    except ValueError as error:
        print(f'snn-ros events: {error}')
        return 2
    info = summarise(recording)
    if args.json:
        print(json.dumps(info))
        return 0
    gaps = info.get('seq_gap_at', [])
    lines = [
        ('file', args.file),
        ('encoding', info['encoding']),
        ('sensor size', f'{info["width"]} x {info["height"]}'),
        ('duration', f'{info["duration_s"]:.6f} s'),
        ('CD events', f'{info["events"]} (ON {info["events_on"]}, OFF {info["events_off"]})'),
        ('triggers', f'{info["triggers"]} (rising {info["triggers_rising"]}, '
                     f'falling {info["triggers_falling"]})'),
        ('sum of CD times', f'{info["sum_event_t_us"]} us'),
        ('sum of CD+trigger times', f'{info["sum_event_and_trigger_t_us"]} us'),
        ('packets', str(info['packets'])),
        ('sequence gaps', f'{info["seq_gaps"]} ({info["lost_packets"]} packets lost)'
                          + (f' before seq {gaps[:20]}' if gaps else '')),
        ('dropped', f'{info["dropped_packets"]} packets, {info["unknown_words"]} unknown words, '
                    f'{info["out_of_range"]} out of range, {info["dropped_before_time"]} before '
                    'the first time'),
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f'{key:<{width}}  {value}')
    return 0
