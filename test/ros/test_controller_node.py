"""
controller_node over DDS: real processes, the real recording, reward, safety, bad input.

The node is started exactly as ``launch/controller.launch.py`` starts it with
``input:=event_camera`` (``input:=camera`` in the last test), on topics of the
test's own.
"""

import math
import shutil
import signal
import time

from diagnostic_msgs.msg import DiagnosticArray
from event_camera_msgs.msg import EventPacket
from geometry_msgs.msg import Twist, TwistStamped
import numpy as np
import pytest
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Float32
from std_srvs.srv import SetBool, Trigger

from snn_ros.core.weightfile import load_arrays
from snn_ros.encoding.codecs import PacketDecoder
from snn_ros.encoding.emulator import DvsEmulator, EmulatorParams
from snn_ros.encoding.files import iter_bag_packets
from snn_ros.ros import convert, qos
from snn_ros.sim.driver import driven_frames

from .clock import SimClock

TOPICS = {'events_topic': '/t/events', 'reward_topic': '/t/reward',
          'cmd_vel_topic': '/t/cmd_vel'}
FAST = ['-p', 'diagnostics_period_s:=0.2', '-p', 'input_timeout_s:=0.4']


def recording(shared_data, limit=None):
    """Return the real recording's packets (event_camera_py test data)."""
    packets = list(iter_bag_packets(shared_data / 'event_camera' / 'test_events_1'))
    return packets[:limit]


def packet_msg(packet, stamp_ns):
    msg = EventPacket()
    msg.header.stamp = convert.ns_to_stamp(stamp_ns)
    msg.width, msg.height, msg.seq = packet.width, packet.height, packet.seq
    msg.time_base, msg.encoding = packet.time_base_ns, packet.encoding
    msg.events = packet.data.tobytes()
    return msg


class Rig:
    """The controller under test and the probe's publishers and subscriptions."""

    def __init__(self, probe, processes, tmp_path, extra=(), checkpoint=True):
        self.probe, self.processes, self.tmp_path = probe, processes, tmp_path
        self.checkpoint = tmp_path / 'weights.npz'
        self.args = list(FAST) + list(extra)
        if checkpoint:
            self.args += ['-p', f'checkpoint_file:={self.checkpoint}']
        node = probe.node
        self.events = node.create_publisher(EventPacket, TOPICS['events_topic'],
                                            qos_profile_sensor_data)
        self.reward = node.create_publisher(Float32, TOPICS['reward_topic'], qos.COMMAND)
        self.cmds = probe.collect(Twist, TOPICS['cmd_vel_topic'], qos.COMMAND)
        self.diagnostics = probe.collect(DiagnosticArray, '/diagnostics', qos.COMMAND)
        self.clients = {name: node.create_client(kind, f'/controller/{name}') for name, kind in
                        (('save_weights', Trigger), ('load_weights', Trigger),
                         ('reset', Trigger), ('set_learning', SetBool))}
        self.start()

    def start(self):
        self.process = self.processes.launch('controller.launch.py', 'controller_node',
                                             self.args, input='event_camera', **TOPICS)
        # A killed node's endpoints linger in discovery: wait for the new node's own
        # diagnostics (published once it is fully up) before using its services.
        self.diagnostics.clear()

        def ready():
            assert self.process.poll() is None, 'controller_node exited:\n' + \
                self.processes.logs()
            return self.diagnostics and self.clients['save_weights'].service_is_ready()
        self.probe.wait_for(ready, 90, 'the controller services')
        self.probe.wait_for_subscriber(self.events)

    def call(self, name, data=None):
        request = self.clients[name].srv_type.Request()
        if data is not None:
            request.data = data
        future = self.clients[name].call_async(request)
        self.probe.wait_for(future.done, 30, f'~/{name}')
        return future.result()

    def play(self, packets):
        """Publish packets restamped to now, each when its stamp comes (as a camera would)."""
        t0 = time.time_ns()
        first = packets[0].stamp_ns
        for packet in packets:
            due = t0 + packet.stamp_ns - first
            while time.time_ns() < due:
                rclpy.spin_once(self.probe.node, timeout_sec=0.001)
            self.events.publish(packet_msg(packet, due))

    def counters(self):
        return {kv.key: kv.value for d in self.diagnostics for s in d.status
                for kv in s.values}


@pytest.mark.ros
def test_real_recording_gives_twist(probe, processes, tmp_path, shared_data):
    rig = Rig(probe, processes, tmp_path, checkpoint=False)
    rig.play(recording(shared_data, 200))
    probe.wait_for(lambda: any(c.linear.x != 0.0 for c in rig.cmds), 20, 'a moving Twist')
    moving = [c for c in rig.cmds if c.linear.x != 0.0]
    assert all(0.0 < c.linear.x <= 0.5 and abs(c.angular.z) <= 2.0 for c in moving)
    probe.wait_for(lambda: int(rig.counters().get('events_in', 0)) > 10_000, 10,
                   'events counted in diagnostics')
    # The node's own time per packet, reported for the periods that had input.
    reports = [{kv.key: float(kv.value) for kv in s.values if kv.key.startswith('processing')}
               for d in rig.diagnostics for s in d.status]
    busy = [r for r in reports if r['processing_ms_median'] > 0.0]
    assert busy, reports
    assert all(0.0 < r['processing_ms_median'] <= r['processing_ms_max'] < 1000.0 for r in busy)


@pytest.mark.ros
def test_stamped_commands_carry_the_time_of_their_input(probe, processes, shared_data):
    """cmd_stamped with publish_on_input: each command is stamped anew (one message reused)."""
    topics = dict(TOPICS, cmd_vel_topic='/t/cmd_stamped')
    processes.launch('controller.launch.py', 'controller_node',
                     FAST + ['-p', 'cmd_stamped:=true', '-p', 'publish_on_input:=true'],
                     input='event_camera', **topics)
    events = probe.node.create_publisher(EventPacket, topics['events_topic'],
                                         qos_profile_sensor_data)
    cmds = probe.collect(TwistStamped, topics['cmd_vel_topic'], qos.COMMAND)
    probe.wait_for_subscriber(events, 90)
    packets = recording(shared_data, 100)
    t0, first, sent = time.time_ns(), packets[0].stamp_ns, []
    for packet in packets:
        due = t0 + packet.stamp_ns - first
        while time.time_ns() < due:
            rclpy.spin_once(probe.node, timeout_sec=0.001)
        events.publish(packet_msg(packet, due))
        sent.append(due)
    probe.wait_for(lambda: len(cmds) >= 50, 20, 'stamped commands')
    probe.spin_for(0.2)
    stamps = [convert.stamp_to_ns(c.header.stamp) for c in cmds]
    stamps = [t for t in stamps if t]  # 0: a timer's command before any input
    assert all(c.header.frame_id == 'base_link' for c in cmds)
    assert stamps == sorted(stamps) and len(set(stamps)) >= 40
    # the newest event's ROS time: within a packet's span of the packets sent
    assert sent[0] - 10**9 <= stamps[0] and stamps[-1] <= sent[-1] + 10**9


@pytest.mark.ros
def test_a_clock_sent_back_is_followed(probe, processes, tmp_path, shared_data):
    """use_sim_time and a simulator reset: the input after it is taken as before it."""
    sim_clock = SimClock(probe, 100.0)
    rig = Rig(probe, processes, tmp_path, ['-p', 'use_sim_time:=true'], checkpoint=False)
    packets = recording(shared_data, 200)

    def play(part):
        for packet in part:  # stamped on the simulator's clock, a packet per 4 ms of it
            rig.events.publish(packet_msg(packet, sim_clock.t_ns))
            probe.spin_for(0.004)

    def counter(key):
        return int(rig.counters().get(key, 0))
    play(packets[:100])
    probe.wait_for(lambda: counter('input_spikes') > 1_000, 20, 'input before the reset')
    sim_clock.t_ns = int(10e9)  # the simulator resets: its clock goes back 90 s
    probe.wait_for(lambda: counter('clock_jumps') == 1, 20, 'the jump in diagnostics')
    before = counter('input_spikes')
    play(packets[100:])
    probe.wait_for(lambda: counter('input_spikes') > before + 1_000, 20, 'input after the reset')
    probe.wait_for(lambda: any(c.linear.x != 0.0 for c in rig.cmds[-5:]), 20, 'a moving Twist')


@pytest.mark.ros
@pytest.mark.parametrize('learning', [True, False])
def test_reward_changes_weights_only_when_learning(probe, processes, tmp_path,
                                                   shared_data, learning):
    rig = Rig(probe, processes, tmp_path, ['-p', f'learning:={str(learning).lower()}'])
    assert rig.call('save_weights').success
    before = load_arrays(rig.checkpoint)
    packets = recording(shared_data, 300)
    for chunk in range(0, 300, 50):
        rig.play(packets[chunk:chunk + 50])
        rig.reward.publish(Float32(data=1.0))
    probe.spin_for(0.3)
    assert rig.call('save_weights').success
    after = load_arrays(rig.checkpoint)
    changed = not np.array_equal(before['weight'], after['weight'])
    assert changed == learning


@pytest.mark.ros
def test_save_and_load_round_trip(probe, processes, tmp_path, shared_data):
    rig = Rig(probe, processes, tmp_path)
    rig.play(recording(shared_data, 100))
    rig.reward.publish(Float32(data=0.5))
    probe.spin_for(0.2)
    assert rig.call('save_weights').success
    saved = load_arrays(rig.checkpoint)
    kept = rig.checkpoint.read_bytes()
    rig.play(recording(shared_data, 200)[100:])
    rig.reward.publish(Float32(data=-0.5))
    probe.spin_for(0.2)
    assert rig.call('save_weights').success
    changed = load_arrays(rig.checkpoint)
    rig.checkpoint.write_bytes(kept)
    assert rig.call('set_learning', False).success  # weights stay as loaded
    assert rig.call('load_weights').success
    assert rig.call('save_weights').success
    again = load_arrays(rig.checkpoint)
    assert saved.keys() == again.keys()
    # The saved weights come back; the state between was different.
    for key in ('weight', 'plastic_w'):
        np.testing.assert_array_equal(saved[key], again[key], err_msg=key)
    assert not np.array_equal(saved['weight'], changed['weight'])


@pytest.mark.ros
def test_input_timeout_gives_zero_twist(probe, processes, tmp_path, shared_data):
    rig = Rig(probe, processes, tmp_path, checkpoint=False)
    rig.play(recording(shared_data, 100))
    probe.wait_for(lambda: any(c.linear.x != 0.0 for c in rig.cmds), 20, 'a moving Twist')
    rig.cmds.clear()
    probe.spin_for(1.0)  # input_timeout_s is 0.4
    assert rig.cmds and rig.cmds[-1].linear.x == 0.0 and rig.cmds[-1].angular.z == 0.0
    assert rig.counters()['learning'] == 'False'


@pytest.mark.ros
def test_bad_input_is_counted_and_the_node_keeps_answering(probe, processes, tmp_path,
                                                           shared_data):
    # The recording plays at ~0.17 Mev/s; the burst below comes at ~100x that.
    rig = Rig(probe, processes, tmp_path, ['-p', 'max_event_rate_hz:=300000.0'])
    packets = recording(shared_data, 150)
    rig.play(packets[:50])
    good = packets[60]
    unknown = packet_msg(good, time.time_ns())
    unknown.encoding = 'evt9'
    garbage = packet_msg(good, time.time_ns())
    garbage.events = np.random.default_rng(0).integers(0, 256, 4001, np.uint8).tobytes()
    for msg in (unknown, garbage):
        rig.events.publish(msg)
        probe.spin_for(0.05)
    rig.reward.publish(Float32(data=math.nan))
    # Stamps going backwards: a packet stamped a second before the ones already sent.
    rig.events.publish(packet_msg(packets[55], time.time_ns() - 10**9))
    probe.spin_for(0.05)
    # A burst: 100 packets (about 0.4 s of recording) stamped within 4 ms.
    burst_ns = time.time_ns()
    for k, packet in enumerate(packets[50:150]):
        rig.events.publish(packet_msg(packet, burst_ns + k * 40_000))
    probe.spin_for(0.5)
    assert rig.call('set_learning', True).success  # still answering
    probe.wait_for(lambda: int(rig.counters().get('dropped_over_capacity_events', 0)) > 0,
                   10, 'over-capacity drops in diagnostics')
    counters = rig.counters()
    assert int(counters['dropped_bad_rewards']) == 1
    assert int(counters['dropped_bad_packets']) == 1  # the unknown encoding
    assert int(counters['dropped_implausible_time_events']) > 0  # the garbage evt3
    # The packet stamped a second back: older than max_input_lag_s (0.5 s).
    assert int(counters['dropped_stale_events']) > 0
    assert rig.process.poll() is None


@pytest.mark.ros
def test_a_backlog_is_fed_in_batches_and_nothing_is_lost(probe, processes, tmp_path,
                                                         shared_data):
    # 400 packets of the recording (1.6 s of events) sent in bursts of 40, faster than
    # the node takes them, stamped as a camera stamps them: they queue up at the node,
    # which takes them in batches (see on_events), in order, and must feed every event.
    # The probe's writer keeps as deep a queue as the node's reader, so that DDS
    # itself loses none of them (a 5-deep writer queue did, under load).
    rig = Rig(probe, processes, tmp_path, checkpoint=False)
    events = probe.node.create_publisher(EventPacket, TOPICS['events_topic'], qos.EVENTS)
    probe.wait_for_subscriber(events)
    packets = recording(shared_data, 400)
    decoder = PacketDecoder()
    total = sum(decoder.decode(p.encoding, p.data, p.width, p.height, p.time_base_ns,
                               p.seq)[0].shape[0] for p in packets)
    t0 = time.time_ns()
    for k, packet in enumerate(packets):
        events.publish(packet_msg(packet, t0 + packet.stamp_ns - packets[0].stamp_ns))
        if k % 40 == 39:
            probe.spin_for(0.01)
    probe.wait_for(lambda: int(rig.counters().get('events_in', 0)) >= total, 30,
                   f'{total} events counted in diagnostics')
    counters = rig.counters()
    assert int(counters['events_in']) == total
    assert int(counters['inputs_dropped']) == 0 and int(counters['seq_gaps']) == 0
    assert int(counters['batched_packets']) > 0


@pytest.mark.ros
def test_a_checkpoint_that_cannot_be_written_is_counted_and_the_node_drives_on(
        probe, processes, tmp_path):
    folder = tmp_path / 'checkpoints'
    folder.mkdir()
    rig = Rig(probe, processes, folder)
    assert rig.call('save_weights').success
    shutil.rmtree(folder)  # the folder is gone (a disk unmounted, say)
    reply = rig.call('save_weights')
    assert not reply.success and reply.message.startswith('failed'), reply.message
    rig.diagnostics.clear()
    probe.wait_for(lambda: int(rig.counters().get('checkpoints_failed', 0)) == 1, 30,
                   'the failed checkpoint in diagnostics')
    assert rig.call('set_learning', False).success  # still answering
    assert rig.process.poll() is None


@pytest.mark.ros
def test_sigkill_then_restart_resumes_from_the_checkpoint(probe, processes, tmp_path,
                                                          shared_data):
    rig = Rig(probe, processes, tmp_path, ['-p', 'checkpoint_period_s:=0.2'])
    packets = recording(shared_data, 200)
    for chunk in range(0, 200, 50):
        rig.play(packets[chunk:chunk + 50])
        rig.reward.publish(Float32(data=1.0))
    probe.spin_for(0.5)
    processes.stop(rig.process, signal.SIGKILL)
    checkpoint = load_arrays(rig.checkpoint)  # intact: written atomically
    leftovers = [p.name for p in tmp_path.iterdir() if p.suffix == '.tmp']
    rig.start()
    probe.spin_for(0.2)
    assert rig.call('save_weights').success
    resumed = load_arrays(rig.checkpoint)
    # The learned state comes back (its times are shifted to the new clock).
    assert not np.all(checkpoint['weight'] == checkpoint['weight'][0])  # it did learn
    for key in ('weight', 'plastic_w', 'plastic_c'):
        np.testing.assert_array_equal(checkpoint[key], resumed[key], err_msg=key)
    assert leftovers == [] or all(p.startswith('.weights.npz.') for p in leftovers)


@pytest.mark.ros
def test_camera_input_feeds_the_emulators_events(probe, processes, tmp_path):
    """``input:=camera``: frames in, the DVS emulated in the node, Twist out; bad frame counted."""
    frames = driven_frames(12)
    processes.launch('controller.launch.py', 'controller_node',
                     [*FAST, '-p', 'max_input_delay_s:=1.0', '-p', 'dvs.seed:=7'],
                     input='camera', image_topic='/t/image', cmd_vel_topic='/t/cmd_vel')
    images = probe.node.create_publisher(Image, '/t/image', qos.COMMAND)
    cmds = probe.collect(Twist, '/t/cmd_vel', qos.COMMAND)
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics', qos.COMMAND)

    def counters():
        return {kv.key: kv.value for d in diagnostics for s in d.status for kv in s.values}
    probe.wait_for_subscriber(images, 90)
    # Best-effort delivery loses what is sent before both sides match: small frames
    # until the node counts events; the real stream, of another size, restarts the DVS.
    k = 0
    while int(counters().get('events_in', 0)) == 0:
        small = frames[k % 12][::2, ::2]
        images.publish(convert.array_to_image(small, 'mono8', time.time_ns()))
        probe.spin_for(0.05)
        k += 1
        assert k < 400, 'the controller counted no events'
    # Small frames still in flight are counted before the base is read: it must hold still
    # (under load the node may take longer than one diagnostics period to catch up).
    base = -1
    for _ in range(20):
        if base == int(counters()['events_in']):
            break
        base = int(counters()['events_in'])
        probe.spin_for(0.6)
    wrong_step = convert.array_to_image(frames[0], 'mono8', time.time_ns())
    wrong_step.step = 127
    images.publish(wrong_step)
    stamps = []
    for frame in frames:
        probe.spin_for(0.033)
        stamps.append(time.time_ns())
        images.publish(convert.array_to_image(frame, 'mono8', stamps[-1]))
    emulator = DvsEmulator(128, 128, EmulatorParams(), np.random.default_rng(7))
    expected = sum(emulator.step(f, t).shape[0] for f, t in zip(frames, stamps))
    assert expected > 10_000
    probe.wait_for(lambda: int(counters().get('events_in', 0)) - base >= expected, 20,
                   "all the frames' events counted")
    assert int(counters()['events_in']) - base == expected
    assert int(counters()['dropped_bad_images']) == 1
    assert any(c.linear.x != 0.0 for c in cmds)
    assert all(abs(c.linear.x) <= 0.5 and abs(c.angular.z) <= 2.0 for c in cmds)


@pytest.mark.ros
def test_parameters_changed_at_run_time_apply(probe, processes, tmp_path, shared_data):
    """``ros2 param set`` on a live clamp takes effect; a refused value changes nothing."""
    rig = Rig(probe, processes, tmp_path, ['-p', 'publish_rate_hz:=50.0'], checkpoint=False)
    client = probe.node.create_client(SetParameters, '/controller/set_parameters')

    def set_clamp(value):
        request = SetParameters.Request(parameters=[Parameter(
            name='max_linear_mps', value=ParameterValue(
                type=ParameterType.PARAMETER_DOUBLE, double_value=value))])
        future = client.call_async(request)
        probe.wait_for(future.done, 30, 'set_parameters')
        return future.result().results[0].successful

    packets = recording(shared_data)
    rig.play(packets[:150])
    probe.wait_for(lambda: any(c.linear.x > 0.1 for c in rig.cmds), 20, 'a Twist above 0.1')
    assert set_clamp(0.1)
    assert not set_clamp(-1.0)  # outside the declared range: refused
    rig.cmds.clear()
    rig.play(packets[150:])
    probe.wait_for(lambda: len(rig.cmds) > 10, 20, 'Twists after the change')
    assert max(c.linear.x for c in rig.cmds) == pytest.approx(0.1)
