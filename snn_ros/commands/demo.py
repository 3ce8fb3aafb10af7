"""
``snn-ros demo`` (``make demo``): the closed loop with real ROS 2 nodes over DDS, learning online.

Three processes, started as ``launch/demo.launch.py`` starts them:

- ``sim_node`` (embedded world; ``realtime`` by default: a step per 50 ms of
  wall time, so the encoder and the controller have a full step to keep up;
  ``lockstep`` steps on every command),
  publishing ``/camera/image_raw``, ``/odom``, ``/clock`` and ``/reward``;
- ``encoder_node`` (DVS emulator), ``/camera/image_raw`` -> ``/dvs/events``;
- ``controller_node`` (the SNN, R-STDP on), ``/dvs/events`` + ``/reward`` ->
  ``/cmd_vel``, on sim time;

plus, with ``--reward camera``, ``reward_node`` (``/camera/image_raw`` ->
``/lane_reward``, which the controller then learns from). The reward reaches the
controller through a relay in this process (``/demo/reward``) that holds it 40 ms,
so that the step's events are in first: ``controller_node`` runs its network up to
"now" when a reward comes, so a reward that overtakes the step's events makes all
of them late (and dropped). DDS stays on this
machine (``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``) in a domain of the run's
own (``ROS_DOMAIN_ID``, set only when the environment has none).

A small rclpy node inside this process records ``/odom``, ``/reward``,
``/clock``, ``/cmd_vel`` and ``/controller/raster``, counts steps, resets and
laps (from the odometry projected on the track, as the world counts them), and
draws a plain-text progress bar. At the end it writes ``reports/<time>/``:
``learning_curve.png`` (mean |d| per lap and resets against steps),
``trajectory.png`` (the path on the track), ``raster.png`` (the newest
``~/raster``), ``weights_before.npz``/``weights_after.npz`` and ``weights.png``,
``steps.csv``, ``summary.json`` (with the nodes' last ``/diagnostics``),
``weights_checkpoint.npz`` (the controller's shutdown checkpoint, to resume from with
its ``checkpoint_file`` parameter) and the node logs, and prints where it is.

If the controller node cannot start (its process exits, or no command comes
within ``--startup-timeout-s``), the demo says why and falls back to the most
complete path that works: sim and encoder over DDS, and the Braitenberg
baseline (``snn_ros.control.braitenberg``) driving from inside this process.
The exit status is 0 whenever a report was written.
"""

import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import time

REPO = Path(__file__).resolve().parents[2]
QUICK_STEPS = 300
STEP_S = 0.05
#: DVS leak events [Hz per pixel]: keep events flowing while the robot stands still, so
#: the controller's input does not time out at start-up (as in launch/demo.launch.py).
LEAK_RATE_HZ = 0.1
#: The relay holds each reward this long [s of wall time] (realtime mode: a step is
#: 50 ms, and the encoder's packets of a step reach the controller within about 50 ms).
RELAY_TIMEOUT_S = 0.04
#: Where the recorder republishes each step's reward once that step's events are out.
RELAYED_REWARD = '/demo/reward'
#: Encoder contrast threshold and controller input delay, as in launch/demo.launch.py:
#: the threshold of the in-process trainer (at 0.4 the plain road gives the controller
#: about a third of the events, too few for its motor neurons to fire).
THETA = 0.2
MAX_INPUT_DELAY_S = 0.15


def add_arguments(parser):
    """Add the demo options."""
    parser.add_argument('--steps', type=int, default=None,
                        help='steps of 50 ms to run (default 2000; 300 with --quick)')
    parser.add_argument('--duration-s', type=float, default=None,
                        help='simulated seconds to run (instead of --steps)')
    parser.add_argument('--quick', action='store_true', help='a short run (300 steps)')
    parser.add_argument('--mode', choices=('lockstep', 'realtime'), default='realtime',
                        help='sim_node mode (realtime: a step per 50 ms of wall time, '
                             'default; lockstep: a step per command, as fast as it goes)')
    parser.add_argument('--config', default='lane_keeping.yaml',
                        help='controller description (network_file of controller_node)')
    parser.add_argument('--reward', choices=('world', 'camera'), default='world',
                        help="reward: the world's true d, or reward_node's camera estimate")
    parser.add_argument('--seed', type=int, default=0, help='seed of world, DVS and network')
    parser.add_argument('--out', default='reports', help='parent folder of the report')
    parser.add_argument('--startup-timeout-s', type=float, default=180.0,
                        help='wall time allowed for the nodes to start [s]')


def child_env():
    """Return the environment of the node processes (and set the same here)."""
    if 'ROS_AUTOMATIC_DISCOVERY_RANGE' not in os.environ:
        os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    if not os.environ.get('ROS_DOMAIN_ID'):
        os.environ['ROS_DOMAIN_ID'] = str(os.getpid() % 100 + 1)
    env = dict(os.environ)
    env.setdefault('PYTHONUNBUFFERED', '1')
    return env


def executable(name):
    """Return the command that runs the console script ``name`` of this installation."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return [str(beside)]
    found = shutil.which(name)
    if found:
        return [found]
    module = f'snn_ros.ros.{name}'
    return [sys.executable, '-c', f'import sys; from {module} import main; sys.exit(main())']


def node_command(name, node_name, params_file=None, params=None, remaps=()):
    """Return the command line of a node, as ``launch/demo.launch.py`` builds it."""
    args = ['--ros-args', '-r', f'__node:={node_name}']
    if params_file:
        args += ['--params-file', str(REPO / 'config' / params_file)]
    for key, value in (params or {}).items():
        args += ['-p', f'{key}:={value}']
    for source, target in remaps:
        args += ['-r', f'{source}:={target}']
    return executable(name) + args


def demo_commands(args, checkpoint):
    """Return ``{label: command}`` of the node processes of this demo."""
    network_file = Path(args.config)
    if not network_file.is_file() and (REPO / 'config' / args.config).is_file():
        network_file = REPO / 'config' / args.config
    commands = {
        'sim': node_command('sim_node', 'sim', 'sim.yaml',
                            {'mode': args.mode, 'seed': args.seed}),
        'encoder': node_command('encoder_node', 'encoder', 'encoder.yaml',
                                {'use_sim_time': 'true', 'dvs.seed': args.seed,
                                 'dvs.leak_rate_hz': LEAK_RATE_HZ, 'dvs.theta_on': THETA,
                                 'dvs.theta_off': THETA},
                                [('image', '/camera/image_raw'), ('events', '/dvs/events')]),
        'controller': node_command(
            'controller_node', 'controller', 'controller.yaml',
            {'use_sim_time': 'true', 'network_file': network_file.resolve(), 'seed': args.seed,
             'checkpoint_file': checkpoint, 'max_input_delay_s': MAX_INPUT_DELAY_S},
            [('events', '/dvs/events'), ('reward', RELAYED_REWARD), ('cmd_vel', '/cmd_vel')]),
    }
    if args.reward == 'camera':
        commands['reward'] = node_command('reward_node', 'reward', 'reward.yaml',
                                          {'use_sim_time': 'true'},
                                          [('image', '/camera/image_raw'),
                                           ('reward', '/lane_reward')])
    return commands


class Children:
    """The node processes: started with logs in ``log_dir``, stopped with SIGINT."""

    def __init__(self, log_dir, env):
        self.log_dir, self.env = Path(log_dir), env
        self.procs = {}

    def start(self, label, command):
        """Start ``command`` (its output goes to ``<label>.log``)."""
        log = open(self.log_dir / f'{label}.log', 'w')
        self.procs[label] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                              env=self.env, start_new_session=True), log)

    def exited(self, label):
        """Return the exit status of ``label``, or None while it runs."""
        return self.procs[label][0].poll() if label in self.procs else None

    def log_tail(self, label, lines=6):
        """Return the last ``lines`` lines of a process's log."""
        self.procs[label][1].flush()
        text = (self.log_dir / f'{label}.log').read_text(errors='replace').strip()
        return '\n'.join(text.splitlines()[-lines:])

    def stop(self, label, timeout_s=15.0):
        """Stop one process (SIGINT, then SIGKILL); return its exit status."""
        proc, log = self.procs[label]
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        return proc.returncode

    def stop_all(self):
        """Stop every process, controller first (it checkpoints at shutdown)."""
        for label in sorted(self.procs, key=lambda name: name != 'controller'):
            self.stop(label)


def _make_recorder(track_name, lane, use_fallback_controller, reward_topic='/reward'):
    """Build the in-process recorder node (imports rclpy)."""
    import math

    from diagnostic_msgs.msg import DiagnosticArray
    from event_camera_msgs.msg import EventPacket
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    import numpy as np
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image
    from std_msgs.msg import Float32
    from std_srvs.srv import Trigger

    from snn_ros.ros import convert, qos
    from snn_ros.sim.track import make_track

    class Recorder(Node):
        """Record the closed loop from its topics; optionally drive it (fallback)."""

        def __init__(self):
            super().__init__('demo_recorder',
                             parameter_overrides=[Parameter('use_sim_time', value=True)])
            from rclpy.clock import Clock as WallClock, ClockType
            self.wall = WallClock(clock_type=ClockType.STEADY_TIME)
            self.track = make_track(track_name)
            self.lane_offset = self.track.lane_offset_m(lane)
            self.pose = None
            self.s_prev = None
            self.progress = 0.0
            self.counting = False
            self.rows = []  # (d, reset, lap_done, x, y, theta, v, omega)
            self.clock_ns = 0
            self.clock_msgs = 0
            self.cmds = 0
            self.raster = None
            self.diagnostics = {}
            self.create_subscription(DiagnosticArray, '/diagnostics', self.on_diagnostics,
                                     qos.COMMAND)
            self.create_subscription(Odometry, '/odom', self.on_odom, qos.COMMAND)
            self.create_subscription(Float32, '/reward', self.on_reward, qos.COMMAND)
            self.create_subscription(Clock, '/clock', self.on_clock, qos.COMMAND)
            self.create_subscription(Twist, '/cmd_vel', self.on_cmd, qos.COMMAND)
            self.create_subscription(Image, '/controller/raster', self.on_raster, qos.SENSOR)
            self.save_client = self.create_client(Trigger, '/controller/save_weights')
            # The reward relay (see the module docstring).
            self.pending = []  # (sim time of the step [ns], wall time [s], value)
            self.relay_pub = self.create_publisher(Float32, RELAYED_REWARD, qos.COMMAND)
            if reward_topic != '/reward':
                self.create_subscription(Float32, reward_topic, self.on_relay_reward,
                                         qos.COMMAND)
            self.create_timer(0.005, self.on_relay_timer, clock=self.wall)
            self.controller = None
            if use_fallback_controller:
                self._start_fallback()

        def _start_fallback(self):
            from snn_ros.control.braitenberg import BraitenbergController
            from snn_ros.encoding.codecs import PacketDecoder
            from snn_ros.encoding.packets import SensorClock
            self.controller = BraitenbergController()
            self.decoder = PacketDecoder(tolerant=True)
            self.sensor_clock = SensorClock()
            self.cmd_pub = self.create_publisher(Twist, '/cmd_vel', qos.COMMAND)
            self.create_subscription(EventPacket, '/dvs/events', self.on_events, qos.EVENTS)
            self.create_timer(STEP_S, self.on_command_timer)

        def on_events(self, msg):
            events, _ = self.decoder.decode(msg.encoding, convert.packet_bytes(msg),
                                            msg.width, msg.height, msg.time_base, msg.seq)
            if events.shape[0]:
                events['t'] += self.sensor_clock.offset(convert.stamp_to_ns(msg.header.stamp),
                                                        msg.time_base, int(events['t'][0]))
                self.controller.feed(events, msg.width, msg.height)

        def on_command_timer(self):
            now = self.get_clock().now().nanoseconds
            self.controller.advance(now - 50_000_000)
            v, omega = self.controller.command()
            twist = Twist()
            twist.linear.x = float(np.clip(v, -0.5, 0.5))
            twist.angular.z = float(np.clip(omega, -2.0, 2.0))
            self.cmd_pub.publish(twist)

        def on_diagnostics(self, msg):
            for status in msg.status:
                self.diagnostics[status.name] = {'message': status.message, **{
                    kv.key: kv.value for kv in status.values}}

        def on_clock(self, msg):
            self.clock_ns = convert.stamp_to_ns(msg.clock)
            self.clock_msgs += 1

        def on_cmd(self, msg):
            self.cmds += 1

        def on_raster(self, msg):
            self.raster = convert.image_to_array(msg).copy()

        def on_odom(self, msg):
            p = msg.pose.pose
            theta = 2.0 * math.atan2(p.orientation.z, p.orientation.w)
            self.pose = (p.position.x, p.position.y, theta, msg.twist.twist.linear.x,
                         msg.twist.twist.angular.z)

        def on_relay_reward(self, msg):
            self.pending.append((self.clock_ns, time.monotonic(), float(msg.data)))

        def on_relay_timer(self):
            now = time.monotonic()
            self._release(lambda t_ns, wall_s: now - wall_s >= RELAY_TIMEOUT_S)

        def _release(self, ready):
            while self.pending and ready(*self.pending[0][:2]):
                self.relay_pub.publish(Float32(data=self.pending.pop(0)[2]))

        def on_reward(self, msg):
            if reward_topic == '/reward':
                self.on_relay_reward(msg)
            if self.pose is None or not self.counting:
                return
            x, y, theta, v, omega = self.pose
            s, _, _, _ = self.track.project_point(x, y)
            d = float(msg.data)
            reset = abs(d) > 0.2
            lap = False
            length = self.track.length_m
            if reset or self.s_prev is None:
                self.progress = 0.0
            else:
                self.progress += (s - self.s_prev + 0.5 * length) % length - 0.5 * length
                if self.progress >= length:
                    self.progress -= length
                    lap = True
            self.s_prev = s
            self.rows.append((d, reset, lap, x, y, theta, v, omega))

        def save_weights(self, timeout_s=30.0):
            """Ask the controller to write its checkpoint; return the reply text."""
            import rclpy
            if not self.save_client.wait_for_service(timeout_sec=5.0):
                return 'no ~/save_weights service'
            future = self.save_client.call_async(Trigger.Request())
            deadline = time.monotonic() + timeout_s
            while not future.done() and time.monotonic() < deadline:
                rclpy.spin_once(self, timeout_sec=0.05)
            return future.result().message if future.done() else 'timed out'

    return Recorder()


def _result_from_rows(rows):
    """Turn the recorder's rows into a ``LoopResult``."""
    import numpy as np

    from snn_ros.control.closed_loop import LapStats, LoopResult
    arr = np.array(rows, dtype=float).reshape(-1, 8)
    d, reset, lap = arr[:, 0], arr[:, 1] > 0, arr[:, 2] > 0
    laps, start, total = [], 0, 0.0
    for k in range(arr.shape[0]):
        total += abs(d[k])
        if lap[k]:
            laps.append(LapStats(k, k + 1 - start, total / (k + 1 - start)))
        if lap[k] or reset[k]:
            start, total = k + 1, 0.0
    return LoopResult(d, d.copy(), reset, lap, arr[:, 3:6], arr[:, 6:8], laps, 0.0, STEP_S)


def _weights_png(path_before, path_after, config, out):
    """Draw the input weights before/after from two checkpoints; return a note."""
    import numpy as np

    from snn_ros.commands import plots
    from snn_ros.control.closed_loop import config_path, load_spec
    from snn_ros.core import netfile
    from snn_ros.core.weightfile import load_arrays
    spec = load_spec(config_path(config))
    built = netfile.build_network(spec)
    grid = tuple(spec['input_map']['grid'])
    source = spec['input_map']['source']
    sizes = [p.n_synapses for p in built.network.projections]
    names = [p.name for p in built.network.projections]
    tiles, titles = [], []
    for label, path in (('before', path_before), ('after', path_after)):
        weight = np.asarray(load_arrays(path)['weight'], float)
        offset = 0
        for name, size, proj in zip(names, sizes, built.network.projections):
            block = weight[offset:offset + size]
            offset += size
            if proj.pre.name == source:
                order = np.argsort(proj.pre_idx, kind='stable')
                per_pre = np.bincount(proj.pre_idx[order], weights=block,
                                      minlength=proj.pre.size)
                tiles.append(per_pre / max(1, size // proj.pre.size))
                titles.append(f'{name} {label}')
    if not tiles:
        return 'no projection from the input source to draw'
    plots.save(out, plots.weight_grids(tiles, grid, titles))
    return 'ok'


def run(args):
    """Run the demo; write and announce the report."""
    steps = args.steps or (QUICK_STEPS if args.quick else 2000)
    if args.duration_s:
        steps = max(1, int(round(args.duration_s / STEP_S)))
    stamp = time.strftime('%Y%m%d-%H%M%S')
    out = Path(args.out) / stamp
    (out / 'logs').mkdir(parents=True, exist_ok=True)
    env = child_env()
    print(f'demo: ROS_DOMAIN_ID={env["ROS_DOMAIN_ID"]}, discovery '
          f'{env["ROS_AUTOMATIC_DISCOVERY_RANGE"]}, {steps} steps of 50 ms ({args.mode})')
    checkpoint = (out / 'weights_checkpoint.npz').resolve()
    commands = demo_commands(args, checkpoint)
    children = Children(out / 'logs', env)
    for label, command in commands.items():
        children.start(label, command)
    import rclpy
    rclpy.init()
    recorder = None
    try:
        recorder, notes, mode = _drive(args, children, steps, checkpoint, out)
        return _report(args, recorder, notes, mode, steps, out, checkpoint)
    finally:
        children.stop_all()
        if recorder is not None:
            recorder.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


def _wait_controller(recorder, children, timeout_s):
    """Spin until the controller publishes a command; return None or why it did not."""
    import rclpy
    deadline = time.monotonic() + timeout_s
    while recorder.cmds == 0:
        status = children.exited('controller')
        if status is not None:
            return (f'controller_node exited with status {status}:\n'
                    + children.log_tail('controller'))
        if time.monotonic() > deadline:
            return f'controller_node sent no command within {timeout_s:.0f} s'
        rclpy.spin_once(recorder, timeout_sec=0.05)
    return None


def _drive(args, children, steps, checkpoint, out):
    import rclpy

    from snn_ros.commands.train import progress_bar
    notes = []
    sys.stderr.write('demo: starting sim, encoder and controller nodes ...\n')
    reward_topic = '/lane_reward' if args.reward == 'camera' else '/reward'
    recorder = _make_recorder('bing', 'outer', False, reward_topic)
    why = _wait_controller(recorder, children, args.startup_timeout_s)
    mode = 'snn'
    if why is not None:
        mode = 'fallback'
        notes.append(f'the SNN controller could not start: {why}')
        notes.append('fell back to: sim_node + encoder_node over DDS, and the Braitenberg '
                     'baseline driving from inside the demo process (no learning)')
        sys.stderr.write('demo: ' + '\ndemo: '.join(notes) + '\n')
        children.stop('controller')
        recorder.destroy_node()
        recorder = _make_recorder('bing', 'outer', True, reward_topic)
    else:
        reply = recorder.save_weights()
        if checkpoint.is_file():
            shutil.copy(checkpoint, out / 'weights_before.npz')
        else:
            notes.append(f'weights before: {reply}')
    recorder.counting = True
    show = progress_bar('demo')
    deadline = time.monotonic() + max(120.0, steps * 1.0)
    last = 0
    while len(recorder.rows) < steps:
        rclpy.spin_once(recorder, timeout_sec=0.05)
        done = len(recorder.rows)
        if done // 20 != last // 20:
            show(min(done, steps), steps, [r for r in recorder.rows if r[2]])
            last = done
        for label in ('sim', 'encoder') + (('controller',) if mode == 'snn' else ()):
            status = children.exited(label)
            if status is not None:
                notes.append(f'{label} exited early with status {status}: '
                             + children.log_tail(label, 3))
                break
        else:
            if time.monotonic() < deadline:
                continue
            notes.append(f'stopped at the wall-time limit after {done} steps')
        break
    show(len(recorder.rows), max(len(recorder.rows), 1), [r for r in recorder.rows if r[2]])
    if mode == 'snn':
        reply = recorder.save_weights()
        if checkpoint.is_file():
            shutil.copy(checkpoint, out / 'weights_after.npz')
        else:
            notes.append(f'weights after: {reply}')
    return recorder, notes, mode


def _report(args, recorder, notes, mode, steps, out, checkpoint):
    import json

    import numpy as np

    from snn_ros.commands import plots
    from snn_ros.commands.train import curve_dict, write_steps_csv
    from snn_ros.sim.world import World, WorldParams

    result = _result_from_rows(recorder.rows)
    write_steps_csv(out / 'steps.csv', result)
    plots.save(out / 'learning_curve.png',
               plots.learning_curve(result, title=f'demo ({mode})'))
    world = World(WorldParams(track='bing'))
    plots.save(out / 'trajectory.png', plots.trajectory(world, result.pose, result.reset))
    if recorder.raster is not None:
        plots.save(out / 'raster.png', plots.raster(recorder.raster, 'controller ~/raster'))
    else:
        notes.append('no ~/raster image was received (no SNN controller running)')
    if (out / 'weights_before.npz').is_file() and (out / 'weights_after.npz').is_file():
        note = _weights_png(out / 'weights_before.npz', out / 'weights_after.npz',
                            args.config, out / 'weights.png')
        if note != 'ok':
            notes.append(note)
    for name, values in recorder.diagnostics.items():
        if 'SNN' in name and float(values.get('late_events', 0) or 0) > float(
                values.get('input_spikes', 0) or 0):
            notes.append(f'{name}: most events reached the controller late and were dropped '
                         f"(late {values['late_events']}, used {values['input_spikes']}); "
                         'see summary.json diagnostics')
    summary = {'mode': mode, 'controller': args.config if mode == 'snn' else 'braitenberg',
               'sim_mode': args.mode, 'reward': args.reward, 'seed': args.seed,
               'steps_requested': steps, 'ros_domain_id': os.environ.get('ROS_DOMAIN_ID'),
               'clock_messages': recorder.clock_msgs, 'cmd_vel_messages': recorder.cmds,
               'sim_time_s': recorder.clock_ns * 1e-9, **result.summary(),
               'fallback_controller': recorder.controller.stats() if recorder.controller
               else None, 'diagnostics': recorder.diagnostics,
               'curve': curve_dict(result), 'notes': notes,
               'files': sorted(p.name for p in out.iterdir()) + ['summary.json']}
    summary.pop('wall_s', None)
    summary.pop('realtime_factor', None)
    with open(out / 'summary.json', 'w', encoding='utf-8') as stream:
        json.dump(summary, stream, indent=2, default=lambda v: np.asarray(v).tolist())
    s = result.summary()
    print(f'demo ({mode}): {s["steps"]} steps, {s["laps"]} laps, {s["resets"]} resets, '
          f'mean |d| {s["mean_abs_d_m"] or 0.0:.4f} m')
    for note in notes:
        print(f'demo: note: {note}')
    print(f'demo: report in {out.resolve()}')
    return 0
