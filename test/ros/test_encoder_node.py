"""encoder_node over DDS: frames in, the emulator's events out, bad frames counted."""

from diagnostic_msgs.msg import DiagnosticArray
from event_camera_msgs.msg import EventPacket
import numpy as np
import pytest
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from sensor_msgs.msg import Image

from snn_ros.encoding.codecs import PacketDecoder
from snn_ros.encoding.emulator import DvsEmulator, EmulatorParams
from snn_ros.encoding.packets import SensorClock
from snn_ros.ros import convert, qos

from .clock import SimClock

W, H = 48, 32
FRAME_NS = 33_333_333
T0_NS = 1_700_000_000_000_000_000


def moving_edge(k):
    """Frame k of a bright edge moving right by 1.5 px per frame over a textured floor."""
    x = np.arange(W)[None, :] - 1.5 * k
    frame = np.where(x < 8, 200, 40) + (np.arange(H)[:, None] % 7) * 3
    return np.broadcast_to(frame, (H, W)).astype(np.uint8)


def handshake(probe, pub, packets):
    """
    Make sure frames reach the encoder and events come back, before the real stream.

    Best-effort delivery loses what is sent before both sides have matched, so
    frames of another size are sent until their events arrive; the real stream,
    of a new size, then starts a fresh emulator in the node.
    """
    probe.wait_for_subscriber(pub)
    probe.wait_for_publisher(packets.subscription)
    k = 0
    while not packets:
        frame = np.pad(moving_edge(k), 1, mode='edge')
        pub.publish(convert.array_to_image(frame, 'mono8', T0_NS - 10**9 + k * FRAME_NS))
        probe.spin_for(0.05)
        k += 1
        assert k < 400, 'no events came back from the encoder'
    probe.spin_for(0.2)
    packets.clear()


def decode_all(packets):
    decoder, clock, out = PacketDecoder(), SensorClock(), []
    for msg in sorted(packets, key=lambda m: m.seq):
        events, _ = decoder.decode(msg.encoding, convert.packet_bytes(msg), msg.width,
                                   msg.height, msg.time_base, msg.seq)
        if events.shape[0]:
            events['t'] += clock.offset(convert.stamp_to_ns(msg.header.stamp), msg.time_base,
                                        int(events['t'][0]))
        out.append(events)
    return np.concatenate(out), decoder


@pytest.mark.ros
@pytest.mark.parametrize('encoding', ['evt3', 'mono'])
def test_frames_become_the_emulators_events(probe, processes, encoding):
    processes.launch('encoder.launch.py', 'encoder_node',
                     ['-p', f'encoding:={encoding}', '-p', 'dvs.seed:=7'],
                     image_topic='/test/image', events_topic='/test/events')
    packets = probe.collect(EventPacket, '/test/events', qos.EVENTS)
    pub = probe.node.create_publisher(Image, '/test/image', qos.COMMAND)
    handshake(probe, pub, packets)
    frames = [moving_edge(k) for k in range(12)]
    for k, frame in enumerate(frames):
        pub.publish(convert.array_to_image(frame, 'mono8', T0_NS + k * FRAME_NS, 'cam'))
        probe.spin_for(0.03)

    emulator = DvsEmulator(W, H, EmulatorParams(), np.random.default_rng(7))
    expected = np.concatenate([emulator.step(f, T0_NS + k * FRAME_NS)
                               for k, f in enumerate(frames)])
    assert expected.shape[0] > 100
    probe.wait_for(lambda: sum(len(m.events) for m in packets) and
                   decode_all(packets)[0].shape[0] >= expected.shape[0], 30, 'all events')
    got, decoder = decode_all(packets)
    assert decoder.seq_gaps == 0
    assert all(m.width == W and m.height == H and m.encoding == encoding for m in packets)
    assert all(m.header.frame_id == 'cam' for m in packets)
    for field in ('x', 'y', 'p'):
        np.testing.assert_array_equal(got[field], expected[field])
    # evt3 counts whole microseconds of sensor time; mono carries nanoseconds.
    tick = 1000 if encoding == 'evt3' else 1
    np.testing.assert_array_equal(got['t'], T0_NS + (expected['t'] - T0_NS) // tick * tick)


@pytest.mark.ros
def test_bad_frames_are_counted_and_the_node_keeps_running(probe, processes):
    processes.launch('encoder.launch.py', 'encoder_node', ['-p', 'diagnostics_period_s:=0.2'],
                     image_topic='/test/image', events_topic='/test/events')
    packets = probe.collect(EventPacket, '/test/events', qos.EVENTS)
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics', qos.COMMAND)
    pub = probe.node.create_publisher(Image, '/test/image', qos.COMMAND)
    handshake(probe, pub, packets)

    wrong_step = convert.array_to_image(moving_edge(0), 'mono8', T0_NS)
    wrong_step.step = W - 1
    unknown = convert.array_to_image(moving_edge(0), 'mono8', T0_NS)
    unknown.encoding = 'yuv422'
    backwards = [convert.array_to_image(moving_edge(k), 'mono8', T0_NS + t)
                 for k, t in ((0, 2 * FRAME_NS), (1, FRAME_NS))]
    # Wider than evt3's 11-bit addresses: two frames, so that the second has events.
    too_wide = [convert.array_to_image(np.full((2, 2100), level, np.uint8), 'mono8',
                                       T0_NS + 2 * FRAME_NS + k * FRAME_NS // 4)
                for k, level in ((1, 40), (2, 200))]
    for msg in [wrong_step, unknown] + backwards + too_wide:
        pub.publish(msg)
        probe.spin_for(0.05)
    for k in range(2, 6):  # good frames after the bad ones still give events
        pub.publish(convert.array_to_image(moving_edge(k), 'mono8', T0_NS + (k + 1) * FRAME_NS))
        probe.spin_for(0.05)

    def dropped():
        values = {kv.key: kv.value for d in diagnostics for s in d.status for kv in s.values}
        return int(values.get('frames_dropped', 0))
    probe.wait_for(lambda: dropped() >= 5 and packets, 30, 'five drops and fresh events')
    assert dropped() == 5


@pytest.mark.ros
def test_a_clock_sent_back_starts_a_new_stream(probe, processes):
    """use_sim_time and a simulator reset: the frames after it, stamped earlier, give events."""
    sim_clock = SimClock(probe, 100.0)
    processes.launch('encoder.launch.py', 'encoder_node',
                     ['-p', 'use_sim_time:=true', '-p', 'diagnostics_period_s:=0.2'],
                     image_topic='/test/image', events_topic='/test/events')
    packets = probe.collect(EventPacket, '/test/events', qos.EVENTS)
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics', qos.COMMAND)
    pub = probe.node.create_publisher(Image, '/test/image', qos.COMMAND)
    handshake(probe, pub, packets)
    for k in range(4):  # the stream before the reset
        pub.publish(convert.array_to_image(moving_edge(k), 'mono8', T0_NS + k * FRAME_NS))
        probe.spin_for(0.05)
    probe.wait_for(lambda: packets, 20, 'events before the reset')
    packets.clear()

    def jumps():
        values = {kv.key: kv.value for d in diagnostics for s in d.status for kv in s.values}
        return int(values.get('clock_jumps', 0))
    sim_clock.t_ns = int(10e9)  # the simulator resets: its clock goes back 90 s
    probe.wait_for(lambda: jumps() == 1, 20, 'the jump in diagnostics')
    for k in range(4):  # its camera's stamps go back with it (frames of the same size)
        pub.publish(convert.array_to_image(moving_edge(k), 'mono8', T0_NS - 5 * 10**9
                                           + k * FRAME_NS))
        probe.spin_for(0.05)
    probe.wait_for(lambda: packets, 20, 'events of the frames after the reset')


@pytest.mark.ros
def test_the_encoding_changed_at_run_time_applies(probe, processes):
    """``ros2 param set /encoder encoding mono``: the next packets are mono."""
    processes.launch('encoder.launch.py', 'encoder_node', ['-p', 'encoding:=evt3'],
                     image_topic='/test/image', events_topic='/test/events')
    packets = probe.collect(EventPacket, '/test/events', qos.EVENTS)
    pub = probe.node.create_publisher(Image, '/test/image', qos.COMMAND)
    handshake(probe, pub, packets)
    client = probe.node.create_client(SetParameters, '/encoder/set_parameters')
    request = SetParameters.Request(parameters=[Parameter(name='encoding', value=ParameterValue(
        type=ParameterType.PARAMETER_STRING, string_value='mono'))])
    future = client.call_async(request)
    probe.wait_for(future.done, 30, 'set_parameters')
    assert future.result().results[0].successful
    for k in range(6):
        pub.publish(convert.array_to_image(moving_edge(k), 'mono8', T0_NS + k * FRAME_NS))
        probe.spin_for(0.03)
    probe.wait_for(lambda: len(packets) >= 3, 30, 'packets after the change')
    assert {m.encoding for m in packets} == {'mono'}
    assert decode_all(packets)[0].shape[0] > 100
