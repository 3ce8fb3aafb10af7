"""
``controller_node``: events and reward in, ``cmd_vel`` out, learning while it drives.

Subscribes ``events`` (``event_camera_msgs/EventPacket`` from ``encoder_node`` or a
real driver) or, with ``input: image``, ``image`` (``sensor_msgs/Image``, through
its own DVS emulator, ``dvs.*`` parameters: one process hop less than
``encoder_node`` in front), and ``reward`` (``std_msgs/Float32`` or ``Float64``); publishes
``cmd_vel`` (``Twist`` or ``TwistStamped``, stamped with the time of the newest input
it accounts for) at ``publish_rate_hz`` and optionally after every packet, ``~/raster``
(spike raster, mono8 ``Image``), ``~/rates`` and ``/diagnostics``. Services:
``~/save_weights``, ``~/load_weights``, ``~/reset`` (``std_srvs/Trigger``) and
``~/set_learning`` (``std_srvs/SetBool``).

Time: event times are mapped from sensor time to ROS time (the node's clock, so
sim time when ``use_sim_time`` is set); the network runs in continuous time up to
the newest event, and up to ``now - max_input_delay_s`` when the scene is quiet.
Safety: speeds are clamped; zero velocity is published, and learning paused, while
the newest input is older than ``input_timeout_s``. Bad input is counted, logged
(throttled) and dropped: damaged packets, events far from their packet's stamp,
events older than the network time, NaN rewards, and input beyond
``max_event_rate_hz``. Diagnostics count dropped events and messages by reason.
"""

import math
import os
from pathlib import Path
import time

from diagnostic_msgs.msg import DiagnosticArray
from event_camera_msgs.msg import EventPacket
from geometry_msgs.msg import Twist, TwistStamped
import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Float32, Float32MultiArray, Float64
from std_srvs.srv import SetBool, Trigger

from snn_ros.control.controller import Controller
from snn_ros.core.types import EVENT_DTYPE, NS_PER_S
from snn_ros.encoding.codecs import encode_evt3, encode_mono, PacketDecoder
from snn_ros.encoding.packets import SensorClock, shift_times
from snn_ros.ros import convert, dvs, qos, spin, time_jumps
from snn_ros.ros.diagnostics import DropCounter, status_array
from snn_ros.ros.params import declare, Param

#: Most event packets one callback feeds: those that queued up while it worked (40 ms
#: of a driver's 5 ms packets), so that the timers and the reward still get their turn.
MAX_PACKETS_PER_CALLBACK = 8

PARAMETERS = [
    Param('input', 'events', "what drives the network: 'events' (EventPacket) or 'image' "
          '(camera frames through the DVS emulator)', choices=('events', 'image'),
          read_only=True),
    Param('network_file', 'lane_keeping.yaml',
          'controller description (YAML); a bare name is looked up in the package config',
          read_only=True),
    Param('seed', 0, 'seed of the network (connectivity, noise)', 0, 2**31 - 1,
          read_only=True),
    Param('cmd_stamped', False, 'publish TwistStamped instead of Twist', read_only=True),
    Param('reward_type', 'float32', 'message type of the reward topic',
          choices=('float32', 'float64'), read_only=True),
    Param('publish_rate_hz', 20.0, 'rate of cmd_vel [Hz]', 0.1, 1000.0, read_only=True),
    Param('publish_on_input', False, 'also publish cmd_vel right after each event packet '
          '(lowest latency; the rate then follows the input)', read_only=True),
    Param('max_linear_mps', 0.5, 'clamp of |linear.x| [m/s]', 0.0, 10.0),
    Param('max_angular_radps', 2.0, 'clamp of |angular.z| [rad/s]', 0.0, 20.0),
    Param('input_timeout_s', 0.5, 'zero velocity and no learning when input is older [s]',
          0.01, 60.0),
    Param('max_input_delay_s', 0.05, 'how late events may arrive; the network lags by this '
          'much when the scene is quiet [s]', 0.0, 5.0, read_only=True),
    Param('max_event_rate_hz', 20.0e6, 'input beyond this rate (in stamp time, bursts of '
          '0.1 s) is dropped and counted [ev/s]', 1.0, 1.0e9),
    Param('max_input_lag_s', 0.5, 'packets stamped longer ago than this are dropped and '
          'counted: beyond its capacity the controller sheds load instead of lagging; '
          '0 = never (e.g. a bag replayed without --clock) [s]', 0.0, 3600.0),
    Param('max_packet_span_s', 1.0, 'events further than this from their packet stamp are '
          'dropped as damaged [s]', 0.001, 3600.0, read_only=True),
    Param('learning', True, 'learn from reward (R-STDP)'),
    Param('checkpoint_file', '', 'weights file: loaded at start if present, saved on the '
          'checkpoint timer, at shutdown and by ~/save_weights; empty = none', read_only=True),
    Param('checkpoint_period_s', 30.0, 'period of checkpoints [s]', 0.1, 86400.0,
          read_only=True),
    Param('raster_period_s', 0.5, 'period of ~/raster and ~/rates [s]', 0.01, 60.0,
          read_only=True),
    Param('raster_window_s', 2.0, 'time span of ~/raster [s]', 0.01, 60.0, read_only=True),
    Param('diagnostics_period_s', 1.0, 'period of /diagnostics [s]', 0.05, 60.0,
          read_only=True),
    *dvs.PARAMETERS,
]


def resolve_config(name):
    """Return the path of a config file: as given, else in the package's config folder."""
    path = Path(name)
    if path.is_file():
        return path
    candidates = [Path(__file__).resolve().parents[2] / 'config' / name]
    try:
        from ament_index_python.packages import get_package_share_directory
        candidates.insert(0, Path(get_package_share_directory('snn_ros')) / 'config' / name)
    except (ImportError, LookupError, ValueError, OSError):
        pass  # no ament index (e.g. PyPI wheels without AMENT_PREFIX_PATH)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ValueError(f"parameter 'network_file' = {name!r}: no such file (looked in "
                     f'{[str(c.parent) for c in candidates]})')


class ControllerNode(Node):
    """Drive the SNN controller from ROS topics; see the module docstring."""

    def __init__(self):
        super().__init__('controller')
        self.p = declare(self, PARAMETERS)
        self.drops = DropCounter(self.get_logger())
        self.checkpoint = Path(self.p.checkpoint_file) if self.p.checkpoint_file else None
        if self.checkpoint is not None and (self.checkpoint.suffix != '.npz' or not os.access(
                self.checkpoint.parent, os.W_OK)):
            raise ValueError(f"parameter 'checkpoint_file' = '{self.checkpoint}' must name a "
                             '.npz file in a folder that exists and can be written')
        self.checkpoints_failed = 0
        started = time.perf_counter()
        self.controller = Controller.from_file(resolve_config(self.p.network_file),
                                               seed=self.p.seed)
        self.controller.warm_up()
        _warm_up_decoders()
        self.startup_s = time.perf_counter() - started
        self.get_logger().info(f'controller ready in {self.startup_s:.2f} s '
                               f'({self.controller.describe()})')
        self.controller.learning = self.p.learning
        if self.checkpoint is not None and self.checkpoint.exists():
            self._load()
        self._restart_input()
        self.events_in = 0
        self.batched_packets = 0  # packets that waited for the one before (see on_events)
        self.processing_ns = []  # time taken per input message since the last diagnostics
        self.lag_ns = 0
        self.stopped = True
        self.clock_jumps = 0
        # A clock sent back (a simulator reset, a bag replayed from its start) would
        # make every later event older than the network time.
        self.jump_handle = time_jumps.on_clock_sent_back(self, self.on_clock_jump)

        cmd_type = TwistStamped if self.p.cmd_stamped else Twist
        self.cmd_pub = self.create_publisher(cmd_type, 'cmd_vel', qos.COMMAND)
        # One message, refilled for each command: publish serializes it at once, and
        # building a new one took 100 us more per frame with cold caches.
        self.cmd_msg = cmd_type()
        self.cmd_twist = self.cmd_msg.twist if self.p.cmd_stamped else self.cmd_msg
        if self.p.cmd_stamped:
            self.cmd_msg.header.frame_id = 'base_link'
        self.raster_pub = self.create_publisher(Image, '~/raster', qos.SENSOR)
        self.rates_pub = self.create_publisher(Float32MultiArray, '~/rates', qos.SENSOR)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.COMMAND)
        self.create_service(Trigger, '~/save_weights', self.on_save)
        self.create_service(Trigger, '~/load_weights', self.on_load)
        self.create_service(Trigger, '~/reset', self.on_reset)
        self.create_service(SetBool, '~/set_learning', self.on_set_learning)
        self.add_post_set_parameters_callback(self._on_params)
        self.create_timer(1.0 / self.p.publish_rate_hz, self.on_command_timer)
        self.create_timer(self.p.raster_period_s, self.on_raster_timer)
        self.create_timer(self.p.diagnostics_period_s, self.on_diagnostics_timer)
        if self.checkpoint is not None:
            self.create_timer(self.p.checkpoint_period_s, self._save)
        # Subscribe last: everything above is ready when the first message arrives.
        reward_type = Float64 if self.p.reward_type == 'float64' else Float32
        self.create_subscription(reward_type, 'reward', self.on_reward, qos.COMMAND)
        if self.frames_in is None:
            self.events_sub = self.create_subscription(EventPacket, 'events', self.on_events,
                                                       qos.EVENTS)
        else:
            self.create_subscription(Image, 'image', self.on_image, qos.SENSOR)

    # --- input ----------------------------------------------------------------------------

    def _now_ns(self):
        return self.get_clock().now().nanoseconds

    def on_events(self, msg):
        """
        Feed a packet, then those that queued up meanwhile (``MAX_PACKETS_PER_CALLBACK``).

        A node that falls behind then pays the executor's cost per message (a wait
        on every entity and a task, about 0.6 ms here) once per batch, not per packet.
        """
        started = time.perf_counter_ns()
        self._on_packet(msg)
        n = 1
        while n < MAX_PACKETS_PER_CALLBACK:
            with self.events_sub.handle:
                taken = self.events_sub.handle.take_message(EventPacket, False)
            if taken is None:
                break
            self.batched_packets += 1
            self._on_packet(taken[0])
            n += 1
        self.processing_ns.append((time.perf_counter_ns() - started) / n)

    def _on_packet(self, msg):
        """Decode a packet, map its times to ROS time and feed the network."""
        before = self.decoder.dropped_packets
        events, _ = self.decoder.decode(msg.encoding, convert.packet_bytes(msg), msg.width,
                                        msg.height, msg.time_base, msg.seq)
        if self.decoder.dropped_packets > before:
            self.drops.drop('bad_packets', f'seq {msg.seq}: {msg.encoding} {msg.width}x'
                            f'{msg.height}, {len(msg.events)} bytes')
            return
        stamp_ns = convert.stamp_to_ns(msg.header.stamp)
        offset_ns = self.clock_map.offset(stamp_ns, msg.time_base, int(events['t'][0])) \
            if events.shape[0] else 0
        self._feed(events, msg.width, msg.height, stamp_ns, offset_ns)

    def on_image(self, msg):
        """Emulate the frame's events (in ROS time already) and feed the network."""
        started = time.perf_counter_ns()
        try:
            events = self.frames_in.events(msg)
        except ValueError as error:
            self.drops.drop('bad_images', str(error))
            return
        self._feed(events, *self.frames_in.size, convert.stamp_to_ns(msg.header.stamp), 0)
        self.processing_ns.append(time.perf_counter_ns() - started)

    def _feed(self, events, width, height, stamp_ns, offset_ns):
        """Feed events (ROS time is their time + ``offset_ns``); drop stale, excess, wild ones."""
        now_ns = self._now_ns()
        self.last_input_ns = now_ns
        if events.shape[0] == 0:
            return
        if self.p.max_input_lag_s and now_ns - stamp_ns > self.p.max_input_lag_s * NS_PER_S:
            self.drops.drop('stale_events', f'a packet stamped {(now_ns - stamp_ns) / 1e6:.0f} '
                            'ms ago: the controller is behind its input', events.shape[0])
            return
        if not self.budget.take(events.shape[0], stamp_ns):
            self.drops.drop('over_capacity_events', f'{events.shape[0]} events beyond '
                            f'{self.p.max_event_rate_hz:g} ev/s', events.shape[0])
            return
        # Damaged payloads decode to wild times; one of them must not push the
        # network far ahead, where every later event would be late.
        span_ns = int(self.p.max_packet_span_s * NS_PER_S)
        n_wild = shift_times(events, offset_ns, stamp_ns - span_ns, stamp_ns + span_ns)
        if n_wild:
            self.drops.drop('implausible_time_events', f'{n_wild} events more than '
                            f'{self.p.max_packet_span_s:g} s from their packet stamp', n_wild)
            events = events[(events['t'] >= stamp_ns - span_ns)
                            & (events['t'] <= stamp_ns + span_ns)]
            if events.shape[0] == 0:
                return
        late = self.controller.feed(events, width, height)
        if late:
            self.drops.drop('late_events', f'{late} events older than the network time '
                            '(stamps going backwards, or later than max_input_delay_s)', late)
        self.events_in += events.shape[0] - late
        self.newest_input_ns = int(events['t'][-1])
        self.lag_ns = now_ns - self.newest_input_ns
        if self.p.publish_on_input:
            self._publish_command(*self._command(), self.newest_input_ns)

    def on_reward(self, msg):
        """
        Deliver a finite reward; drop NaN and infinity.

        The reward is delivered at ``now - max_input_delay_s``, where the network
        may already be, so that events still in flight are not made late by it.
        """
        if not math.isfinite(msg.data):
            self.drops.drop('bad_rewards', f'reward {msg.data}')
            return
        now_ns = self._now_ns()
        if not self._input_fresh(now_ns):
            return  # learning pauses while the input is stale
        t_ns = max(self.controller.t_ns, now_ns - int(self.p.max_input_delay_s * NS_PER_S))
        self.controller.reward(float(msg.data), t_ns)

    # --- output ---------------------------------------------------------------------------

    def _input_fresh(self, now_ns):
        return (self.last_input_ns is not None
                and now_ns - self.last_input_ns <= self.p.input_timeout_s * NS_PER_S)

    def on_command_timer(self):
        """Publish the motor command, or zero while the input is stale."""
        now_ns = self._now_ns()
        v = omega = 0.0
        if self._input_fresh(now_ns):
            self.controller.advance(now_ns - int(self.p.max_input_delay_s * NS_PER_S))
            v, omega = self._command()
            self.stopped = False
        elif not self.stopped:
            self.get_logger().warning('input timed out: zero velocity, learning paused')
            self.stopped = True
        self._publish_command(v, omega, max(self.newest_input_ns, self.controller.t_ns))

    def _command(self):
        # Plain min/max: np.clip on two scalars took 100-160 us per frame after the
        # 33 ms between camera frames had let its code leave the caches (5 us warm).
        v, omega = self.controller.command()
        v_max, omega_max = self.p.max_linear_mps, self.p.max_angular_radps
        return float(min(max(v, -v_max), v_max)), float(min(max(omega, -omega_max), omega_max))

    def _publish_command(self, v, omega, input_ns):
        self.cmd_twist.linear.x, self.cmd_twist.angular.z = v, omega
        if self.p.cmd_stamped:
            stamp = self.cmd_msg.header.stamp
            stamp.sec, stamp.nanosec = divmod(int(input_ns), NS_PER_S)
        self.cmd_pub.publish(self.cmd_msg)

    def on_raster_timer(self):
        """Publish the recent spike raster and the motor rates."""
        t_ns = self.controller.t_ns
        window_ns = int(self.p.raster_window_s * NS_PER_S)
        self.raster_pub.publish(convert.array_to_image(
            self.controller.raster(t_ns - window_ns, t_ns), 'mono8', self._now_ns(), 'snn'))
        self.rates_pub.publish(Float32MultiArray(
            data=self.controller.rates_hz().astype(np.float32).tolist()))

    def on_diagnostics_timer(self):
        """
        Publish the counters: input rate, drops, sequence gaps, lag, learning.

        ``processing_ms_median`` and ``processing_ms_max`` are the time taken per input
        message (packet or frame: decoding or emulating, the network, the command)
        since the last report: the node's own cost, without the transport's.
        """
        took_ms = np.array(self.processing_ns) / 1e6 if self.processing_ns else np.zeros(1)
        self.processing_ns = []
        values = {'events_in': self.events_in, 'inputs_dropped': self.drops.total,
                  'packets_lost_by_seq_gap': self.decoder.lost_packets,
                  'seq_gaps': self.decoder.seq_gaps, 'clock_resyncs': self.clock_map.resyncs,
                  'processing_lag_ms': self.lag_ns / 1e6, 'clock_jumps': self.clock_jumps,
                  'learning': bool(self.controller.learning and not self.stopped),
                  'checkpoints_failed': self.checkpoints_failed,
                  'batched_packets': self.batched_packets, 'startup_s': self.startup_s,
                  'processing_ms_median': float(np.median(took_ms)),
                  'processing_ms_max': float(took_ms.max())}
        values.update({f'dropped_{k}': v for k, v in self.drops.counts.items()})
        values.update(self.controller.stats())
        warn = 'input timed out' if self.stopped else (
            f'{self.drops.total} input(s) dropped' if self.drops.total else '')
        self.diag_pub.publish(status_array(self.get_clock().now().to_msg(),
                                           f'{self.get_name()}: SNN controller',
                                           self.get_fully_qualified_name(), values, warn))

    # --- services and parameters ----------------------------------------------------------

    def _save(self):
        if self.checkpoint is None:
            return 'no checkpoint_file is set'
        try:
            self.controller.save(self.checkpoint)
        except OSError as error:
            # A full disk or a folder gone: the node drives on, the last good file stays.
            self.checkpoints_failed += 1
            self.get_logger().error(f'checkpoint not saved: {error}',
                                    throttle_duration_sec=10.0)
            return f'failed: {error}'
        return f'saved {self.checkpoint}'

    def _load(self):
        try:
            self.controller.load(self.checkpoint)
        except (ValueError, OSError) as error:
            self.get_logger().error(f'checkpoint refused, weights unchanged: {error}')
            return f'refused: {error}'
        self.get_logger().info(f'resumed from {self.checkpoint}')
        return f'loaded {self.checkpoint}'

    def on_save(self, request, response):
        """Save the weights and learning state to ``checkpoint_file``."""
        response.message = self._save()
        response.success = response.message.startswith('saved')
        return response

    def on_load(self, request, response):
        """Load the weights and learning state from ``checkpoint_file``."""
        response.message = self._load() if self.checkpoint else 'no checkpoint_file is set'
        response.success = response.message.startswith('loaded')
        return response

    def on_reset(self, request, response):
        """Reset the network state (weights kept)."""
        self.controller.reset()
        self._restart_input()
        response.success, response.message = True, 'network state reset'
        return response

    def on_clock_jump(self, jump):
        """Follow a clock sent back: map its new time onto the network's; restart the input."""
        self.controller.rebase(self._now_ns() - int(self.p.max_input_delay_s * NS_PER_S))
        self._restart_input()
        self.clock_jumps += 1
        self.get_logger().warning(f'clock jumped back {-jump.delta.nanoseconds / 1e9:.3f} s: '
                                  'the network goes on from the new time')

    def _restart_input(self):
        """Start the input streams afresh: decoder, sensor clock, frames, rate budget."""
        self.decoder = PacketDecoder(tolerant=True)
        self.clock_map = SensorClock()
        self.frames_in = dvs.FrameEvents(self.p) if self.p.input == 'image' else None
        self.budget = _TokenBucket(self.p.max_event_rate_hz)
        self.last_input_ns = None
        self.newest_input_ns = 0

    def on_set_learning(self, request, response):
        """Switch learning on or off."""
        self.controller.learning = bool(request.data)
        response.success = True
        response.message = f'learning {"on" if request.data else "off"}'
        return response

    def _on_params(self, parameters):
        """Apply the changes that need more than a new value in ``self.p`` (after the set)."""
        for param in parameters:
            if param.name == 'learning':
                self.controller.learning = bool(param.value)
            elif param.name == 'max_event_rate_hz':
                self.budget = _TokenBucket(param.value)

    def close(self):
        """Checkpoint at shutdown."""
        if self.checkpoint is not None:
            self._save()


def _warm_up_decoders():
    """Compile (or load) the packet decoders and the time shift as ``on_events`` uses them."""
    events = np.zeros(4, dtype=EVENT_DTYPE)
    events['t'] = np.arange(4) * 1000
    mono, mono_base = encode_mono(events)
    for encoding, payload, base in (('evt3', encode_evt3(events), 0), ('mono', mono, mono_base)):
        msg = EventPacket(encoding=encoding, width=640, height=480, time_base=base)
        msg.events = payload.tobytes()
        PacketDecoder().decode(encoding, convert.packet_bytes(msg), 640, 480, base, 0)
    shift_times(events, 0, 0, 0)


class _TokenBucket:
    """
    Admit at most ``rate_hz`` events per second, with bursts of ``BURST_S`` of that rate.

    Time is the packets' stamps: a burst of densely stamped packets is limited
    however fast it happens to be processed; stamps going back refill nothing.
    """

    BURST_S = 0.1

    def __init__(self, rate_hz):
        self.rate_hz = float(rate_hz)
        self.capacity = self.rate_hz * self.BURST_S
        self.tokens = self.capacity
        self.t_ns = None

    def take(self, n, now_ns):
        """Return True and spend ``n`` tokens if there are enough."""
        if self.t_ns is not None:
            elapsed_s = max(0, now_ns - self.t_ns) * 1e-9
            self.tokens = min(self.capacity, self.tokens + elapsed_s * self.rate_hz)
        self.t_ns = max(now_ns, self.t_ns or now_ns)
        if n > self.tokens:
            return False
        self.tokens -= n
        return True


def main(args=None):
    """Run the controller node."""
    return spin.run(ControllerNode, args)
