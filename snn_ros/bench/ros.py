"""
``snn-ros bench ros``: cross-process latency over DDS, input to ``cmd_vel``.

Real ``encoder_node`` and ``controller_node`` processes (DDS on loopback, a
domain id of the run's own) and a probe node in this process, which publishes the
input and receives ``TwistStamped``. The controllers run with
``publish_on_input`` and stamp each command with the time of the newest input
it accounts for, so every command is matched to the message that caused it:

- Image -> Twist: 128x128 ``mono8`` frames of the embedded world (the robot
  driving its lane) at 30 Hz and 200 Hz, through the DVS emulator, in two
  set-ups: a controller with ``input: image`` (one node, as
  ``controller.launch.py input:=camera`` starts it), and an ``encoder_node`` in
  front of an event-driven controller (``input:=camera_events``);
- EventPacket -> Twist: ``evt3`` packets of 5 ms at 1, 10 and 50 Mev/s
  (random addresses on a 640x480 sensor), straight into the controller;
- the floor, measured in the same run: the same frames at 30 Hz through a node
  that answers each at once (``snn_ros.ros.echo_node``: rclpy and DDS with the
  controller's QoS and executor, no work), so that a controller's latency splits
  into what the transport costs and what the controller adds.

Latency is the middleware's receive time of the command (``received_timestamp``,
so the probe's own executor adds nothing) minus the publish time of the input
[ms], median and p99; for a frame it is the command that accounts for all of its
events (the last one stamped within the frame's interval). The controllers report
the time they take per input message (``processing_ms_median`` in ``/diagnostics``):
the node's own cost, printed beside the latency. For the event
streams the controller's own counters are read from ``/diagnostics``: events
taken, events dropped for capacity and the processing lag at the start and end
of the run (a lag that grows means the controller does not keep up).
"""

import gc
import json
import os
import subprocess

#: (input, rate, set-up); rates in frames/s or events/s.
SCENARIOS = (('image', 30.0, 'echo'),
             ('image', 30.0, 'camera'), ('image', 200.0, 'camera'),
             ('image', 30.0, 'camera_events'), ('image', 200.0, 'camera_events'),
             ('events', 1e6, 'event_camera'), ('events', 10e6, 'event_camera'),
             ('events', 50e6, 'event_camera'))
#: Span of one event packet [ns] (event-camera drivers send a packet every few ms).
PACKET_NS = 5_000_000
TOPIC = '/bench_ros'


def add_arguments(parser):
    """Declare ``--json``, ``--duration-s`` and ``--quick``."""
    parser.add_argument('--json', action='store_true', help='print one JSON object')
    parser.add_argument('--duration-s', type=float, default=5.0,
                        help='measured time per scenario [s]')
    parser.add_argument('--quick', action='store_true', help='1 s per scenario')


def _ros_env():
    env = dict(os.environ)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env.setdefault('ROS_DOMAIN_ID', str(os.getpid() % 100 + 1))
    return env


def _start_nodes(env):
    import sys

    from snn_ros.ros.controller_node import resolve_config
    bin_dir = os.path.dirname(sys.executable)
    common = ['--ros-args', '--log-level', 'warn']
    encoder = [os.path.join(bin_dir, 'encoder_node'), *common,
               '--params-file', str(resolve_config('encoder.yaml')),
               '-r', f'image:={TOPIC}/image_encoder', '-r', f'events:={TOPIC}/dvs']
    controller = [os.path.join(bin_dir, 'controller_node'), *common,
                  '--params-file', str(resolve_config('controller.yaml')),
                  '-p', 'cmd_stamped:=true', '-p', 'publish_on_input:=true',
                  '-p', 'diagnostics_period_s:=0.25', '-p', 'input_timeout_s:=5.0']
    # One controller per set-up: its own input and command topics.
    camera = controller + ['-r', '__node:=controller_camera', '-p', 'input:=image',
                           '-r', f'image:={TOPIC}/image', '-r', f'cmd_vel:={TOPIC}/cmd_camera']
    camera_events = controller + ['-r', '__node:=controller_camera_events',
                                  '-r', f'events:={TOPIC}/dvs',
                                  '-r', f'cmd_vel:={TOPIC}/cmd_camera_events']
    event_camera = controller + ['-r', '__node:=controller_event_camera',
                                 '-r', f'events:={TOPIC}/events',
                                 '-r', f'cmd_vel:={TOPIC}/cmd_event_camera']
    echo = [sys.executable, '-m', 'snn_ros.ros.echo_node', *common,
            '-r', f'image:={TOPIC}/image_echo', '-r', f'cmd_vel:={TOPIC}/cmd_echo']
    return [subprocess.Popen(cmd, env=env)
            for cmd in (encoder, camera, camera_events, event_camera, echo)]


class _Probe:
    """Publish input, receive commands and diagnostics, match them."""

    def __init__(self, node):
        from diagnostic_msgs.msg import DiagnosticArray
        from event_camera_msgs.msg import EventPacket
        from geometry_msgs.msg import TwistStamped
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import Image

        from snn_ros.ros import qos
        self.node = node
        self.images = {setup: node.create_publisher(Image, f'{TOPIC}/{topic}', qos.COMMAND)
                       for setup, topic in (('camera', 'image'),
                                            ('camera_events', 'image_encoder'),
                                            ('echo', 'image_echo'))}
        self.events = node.create_publisher(EventPacket, f'{TOPIC}/events',
                                            qos_profile_sensor_data)
        # set-up -> [(input stamp ns, receive ns)]
        self.received = {'camera': [], 'camera_events': [], 'event_camera': [], 'echo': []}
        for kind in self.received:
            node.create_subscription(TwistStamped, f'{TOPIC}/cmd_{kind}',
                                     lambda msg, info, kind=kind: self._on_cmd(kind, msg, info),
                                     qos.COMMAND)
        self.diagnostics = {}
        node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diag, qos.COMMAND)

    def _on_cmd(self, kind, msg, info):
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        if stamp:  # zero: a timer command before any input
            self.received[kind].append((stamp, info['received_timestamp']))

    def _on_diag(self, msg):
        for status in msg.status:
            name = status.name.split(':')[0]
            values = {kv.key: kv.value for kv in status.values}
            self.diagnostics.setdefault(name, []).append(values)

    def spin_until(self, deadline_ns):
        import time

        import rclpy
        while time.time_ns() < deadline_ns:
            rclpy.spin_once(self.node, timeout_sec=max(0.0, min(
                0.001, (deadline_ns - time.time_ns()) / 1e9)))


def _image_scenario(probe, setup, rate_hz, duration_s, frames):
    import time

    import numpy as np

    from snn_ros.ros import convert
    sent_stamps = []
    probe.received[setup].clear()
    period_ns = int(1e9 / rate_hz)
    start = time.time_ns() + period_ns
    for k in range(int(duration_s * rate_hz)):
        due = start + k * period_ns
        probe.spin_until(due)
        now = time.time_ns()
        probe.images[setup].publish(convert.array_to_image(frames[k % len(frames)], 'mono8',
                                                           now))
        sent_stamps.append(now)
    probe.spin_until(time.time_ns() + 300_000_000)
    # A frame's events lie between the previous frame's time and its own, so a
    # command's stamp belongs to the first frame at or after it. A frame's latency is
    # the time to the first command stamped with its newest event: the first to
    # account for all of it (timer commands repeat that stamp later).
    stamps = np.asarray(sent_stamps)
    got = np.asarray(probe.received[setup], np.int64).reshape(-1, 2)
    first = {}
    for stamp, received in got:
        first[stamp] = min(first.get(stamp, received), received)
    last = {}
    for stamp in sorted(first):
        frame = int(np.searchsorted(stamps, stamp, side='left'))
        if frame < stamps.shape[0]:
            last[frame] = first[stamp]
    latency = np.array([last[k] - stamps[k] for k in sorted(last)], np.int64)
    return latency / 1e6, len(sent_stamps)


def _event_scenario(probe, rate_hz, duration_s, stream):
    import time

    import numpy as np

    from event_camera_msgs.msg import EventPacket
    from snn_ros.core.types import EVENT_DTYPE
    from snn_ros.encoding.codecs import encode_evt3
    from snn_ros.ros import convert
    packet_ns = PACKET_NS
    n = max(1, int(rate_hz * packet_ns / 1e9))
    rng = np.random.default_rng(0)
    template = np.zeros(n, EVENT_DTYPE)
    template['x'] = rng.integers(0, 640, n)
    template['y'] = rng.integers(0, 480, n)
    template['p'] = rng.integers(0, 2, n)
    offsets = np.sort(rng.integers(0, packet_ns, n))
    last_ns, sent_wall = [], []
    probe.received['event_camera'].clear()
    start = time.time_ns() + packet_ns
    packets = int(duration_s * 1e9 / packet_ns)
    events = template
    for k in range(packets):
        # As from a camera: packet k holds the events of the packet_ns before it is
        # sent, on one sensor clock and one sequence for the whole run; its stamp is
        # the ROS time of its first event.
        due = start + k * packet_ns
        probe.spin_until(due)
        events['t'] = stream['sensor_ns'] + offsets
        msg = EventPacket()
        msg.width, msg.height, msg.seq, msg.encoding = 640, 480, stream['seq'], 'evt3'
        stream['seq'] += 1
        # evt3 counts whole microseconds: the base is the first event's tick.
        msg.time_base = int(events['t'][0]) // 1000 * 1000
        stamp = due - packet_ns + msg.time_base - stream['sensor_ns']
        stream['sensor_ns'] += packet_ns
        msg.header.stamp = convert.ns_to_stamp(stamp)
        msg.events = encode_evt3(events).tobytes()
        sent_wall.append(time.time_ns())
        probe.events.publish(msg)
        # The ROS time of the packet's newest event: the stamp of the command it causes.
        last_ns.append(stamp + int(events['t'][-1]) // 1000 * 1000 - msg.time_base)
    probe.spin_until(time.time_ns() + 1_000_000_000)
    last = np.asarray(last_ns, np.int64)
    got = np.asarray(probe.received['event_camera'], np.int64).reshape(-1, 2)
    index = np.minimum(np.searchsorted(last, got[:, 0]), last.shape[0] - 1)
    ok = last[index] == got[:, 0]
    return (got[ok, 1] - np.asarray(sent_wall)[index[ok]]) / 1e6, packets * n


def _summary(latency_ms):
    import numpy as np
    if latency_ms.shape[0] == 0:
        return {'median_ms': None, 'p99_ms': None, 'commands': 0}
    return {'median_ms': float(np.median(latency_ms)),
            'p99_ms': float(np.percentile(latency_ms, 99)), 'commands': int(latency_ms.shape[0])}


def _node_ms(diagnostics):
    """Return the median of a controller's reported processing medians [ms] (None: none)."""
    import numpy as np
    took = [float(d['processing_ms_median']) for d in diagnostics
            if float(d.get('processing_ms_median', 0.0)) > 0.0]
    return float(np.median(took)) if took else None


def run(args):
    """Start the nodes, run every scenario, print the table or JSON."""
    import time

    import rclpy
    from rclpy.node import Node

    import numpy as np

    from snn_ros.core.types import EVENT_DTYPE
    from snn_ros.encoding.codecs import encode_evt3
    from snn_ros.sim.driver import driven_frames
    duration_s = 1.0 if args.quick else args.duration_s
    env = _ros_env()
    os.environ.update({k: env[k] for k in ('ROS_AUTOMATIC_DISCOVERY_RANGE', 'ROS_DOMAIN_ID')})
    nodes = _start_nodes(env)
    rclpy.init()
    node = Node('bench_ros_probe')
    probe = _Probe(node)
    results = {}
    try:
        deadline = time.monotonic() + 120
        while min(p.get_subscription_count() for p in [*probe.images.values(), probe.events]) \
                == 0 or len(probe.diagnostics) < 4:
            if time.monotonic() > deadline:
                raise SystemExit('the encoder and controller nodes did not come up in 120 s')
            rclpy.spin_once(node, timeout_sec=0.1)
        frames = driven_frames(64)
        # The probe's own evt3 encoder loads its kernel now: the first packets would
        # otherwise go out a few hundred ms late, in a burst, and their events be late.
        encode_evt3(np.zeros(2, EVENT_DTYPE))
        stream = {'sensor_ns': 1_000_000_000, 'seq': 0}
        gc.freeze()  # as the nodes do (snn_ros/ros/spin.py): no full collections mid-run
        for kind, rate, setup in SCENARIOS:
            probe.diagnostics.clear()
            if kind == 'image':
                latency, sent = _image_scenario(probe, setup, rate, duration_s, frames)
                key = f'image_{rate:g}hz_{setup}'
            else:
                latency, sent = _event_scenario(probe, rate, duration_s, stream)
                key = f'events_{rate / 1e6:g}mevps'
            row = {'input_rate': rate, 'sent': sent, **_summary(latency)}
            if setup != 'echo':
                row['node_ms'] = _node_ms(probe.diagnostics.get(f'controller_{setup}', []))
            if kind == 'events':
                diag = probe.diagnostics.get('controller_event_camera', [])
                if diag:
                    row['events_in'] = int(diag[-1]['events_in']) - int(diag[0]['events_in'])
                    row['dropped'] = int(diag[-1]['inputs_dropped']) - int(
                        diag[0]['inputs_dropped'])
                    row['lag_ms_start'] = float(diag[0]['processing_lag_ms'])
                    row['lag_ms_end'] = float(diag[-1]['processing_lag_ms'])
            results[key] = row
    finally:
        node.destroy_node()
        rclpy.shutdown()
        for process in nodes:
            process.terminate()
        for process in nodes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()  # never leave a node behind to skew the next run
                process.wait()
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f'{"scenario":28s} {"sent":>10s} {"cmds":>6s} {"median ms":>10s} {"p99 ms":>8s} '
          f'{"node ms":>8s}  controller counters')
    for key, row in results.items():
        med = '-' if row['median_ms'] is None else f'{row["median_ms"]:.2f}'
        p99 = '-' if row['p99_ms'] is None else f'{row["p99_ms"]:.2f}'
        own = '-' if row.get('node_ms') is None else f'{row["node_ms"]:.2f}'
        extra = ''
        if 'events_in' in row:
            extra = (f'taken {row["events_in"]}, dropped {row["dropped"]}, lag '
                     f'{row["lag_ms_start"]:.1f} -> {row["lag_ms_end"]:.1f} ms')
        print(f'{key:28s} {row["sent"]:>10d} {row["commands"]:>6d} {med:>10s} {p99:>8s} '
              f'{own:>8s}  {extra}')
    floor, camera = results.get('image_30hz_echo'), results.get('image_30hz_camera')
    if floor and camera and floor['median_ms'] and camera['median_ms']:
        print(f'floor (echo node, no work): {floor["median_ms"]:.2f} ms median at 30 Hz; the '
              f'controller (input: image) adds {camera["median_ms"] - floor["median_ms"]:.2f} ms '
              f'({camera["median_ms"] / floor["median_ms"]:.2f}x the floor); it processes a '
              f'frame in {camera["node_ms"] or 0.0:.2f} ms')
    print('targets: image 30 Hz median <= 2 ms and p99 <= 5 ms; at 10 Mev/s no growing lag; '
          'beyond capacity, drops are counted (camera: input: image, one node; camera_events: '
          'encoder_node -> controller_node; echo: the transport floor; node ms: the '
          "controller's median time per input message, from its /diagnostics)")
    return 0
