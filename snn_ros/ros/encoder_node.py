"""
``encoder_node``: camera frames in, DVS events out.

Subscribes ``image`` (``sensor_msgs/Image``, any common encoding) and publishes
``events`` (``event_camera_msgs/EventPacket``, ``evt3`` or ``mono``), made by the
frame-to-event emulator: every pixel fires at its own interpolated times. The
topic is relative, not private, so that an encoder and a controller in one
namespace connect without remapping (``controller_node`` subscribes ``events``).
Sensor time is ROS time since the first frame; each packet's header stamp is the
ROS time of its first event and ``time_base`` that event's sensor time.
"""

import time

from diagnostic_msgs.msg import DiagnosticArray
from event_camera_msgs.msg import EventPacket
import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image

from snn_ros.encoding.codecs import encode_evt3, encode_mono
from snn_ros.encoding.emulator import DvsEmulator, EmulatorParams
from snn_ros.encoding.packets import packet_bounds
from snn_ros.ros import convert, qos, spin
from snn_ros.ros.diagnostics import DropCounter, status_array
from snn_ros.ros.params import declare, Param

# Image encodings the emulator takes directly; mono16 frames are taken as they are.
EMULATOR_ENCODINGS = {'mono8': 'mono8', '8UC1': 'mono8', 'mono16': 'mono16',
                      '16UC1': 'mono16', 'rgb8': 'rgb8', 'bgr8': 'bgr8'}

PARAMETERS = [
    Param('encoding', 'evt3', 'EventPacket encoding of the output', choices=('evt3', 'mono')),
    Param('packet_max_events', 50_000, 'a packet closes at this many events', 1, 10_000_000),
    Param('packet_max_duration_s', 0.005, 'a packet closes when it spans this long [s]',
          1e-6, 10.0),
    Param('theta_on', 0.2, 'ON contrast threshold [log intensity]', 0.01, 5.0, read_only=True),
    Param('theta_off', 0.2, 'OFF contrast threshold [log intensity]', 0.01, 5.0,
          read_only=True),
    Param('sigma_theta', 0.03, 'fixed-pattern threshold mismatch, std [log intensity]', 0.0,
          1.0, read_only=True),
    Param('refractory_s', 0.0005, 'per-pixel refractory period [s]', 0.0, 1.0, read_only=True),
    Param('leak_rate_hz', 0.0, 'leak events per pixel [Hz]', 0.0, 100.0, read_only=True),
    Param('shot_noise_rate_hz', 0.0, 'shot-noise events per pixel [Hz]', 0.0, 100.0,
          read_only=True),
    Param('cutoff_hz', 0.0, 'photoreceptor low-pass at full intensity [Hz], 0 = off', 0.0,
          10_000.0, read_only=True),
    Param('seed', 0, 'seed of the fixed-pattern mismatch and noise', 0, 2**31 - 1,
          read_only=True),
    Param('diagnostics_period_s', 1.0, 'period of /diagnostics [s]', 0.05, 60.0,
          read_only=True),
]


class EncoderNode(Node):
    """Emulate a DVS on an image stream and publish its events."""

    def __init__(self):
        super().__init__('encoder')
        self.p = declare(self, PARAMETERS)
        self.drops = DropCounter(self.get_logger())
        self.emulator = None
        self.t0_ns = None
        self.seq = 0
        self.frames = 0
        self.events_out = 0
        started = time.perf_counter()
        self._warm_up()
        self.get_logger().info(f'kernels ready in {time.perf_counter() - started:.2f} s')
        self.events_pub = self.create_publisher(EventPacket, 'events', qos.SENSOR)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.COMMAND)
        self.create_timer(self.p.diagnostics_period_s, self._publish_diagnostics)
        self.create_subscription(Image, 'image', self.on_image, qos.SENSOR)

    def _emulator_params(self):
        p = self.p
        return EmulatorParams(theta_on=p.theta_on, theta_off=p.theta_off,
                              sigma_theta=p.sigma_theta, refractory_s=p.refractory_s,
                              leak_rate_hz=p.leak_rate_hz,
                              shot_noise_rate_hz=p.shot_noise_rate_hz, cutoff_hz=p.cutoff_hz)

    def _warm_up(self):
        """Compile (or load from cache) every kernel a frame passes through."""
        emulator = DvsEmulator(4, 4, self._emulator_params(), np.random.default_rng(0))
        ramp = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
        emulator.step(ramp, 0)
        events = emulator.step(255 - ramp, 1_000_000)
        encode_evt3(events)
        encode_mono(events)

    def on_image(self, msg):
        """Emulate the events since the previous frame and publish them."""
        try:
            pixels = convert.image_to_array(msg)
            encoding = EMULATOR_ENCODINGS.get(msg.encoding)
            if encoding is None:
                raise ValueError(f'encoding {msg.encoding!r} has no emulator input; use one '
                                 f'of {sorted(EMULATOR_ENCODINGS)}')
            t_ns = convert.stamp_to_ns(msg.header.stamp)
            if self.emulator is None or (self.emulator.height, self.emulator.width) != \
                    pixels.shape[:2]:
                self._start_stream(pixels.shape[1], pixels.shape[0], t_ns)
            events = self.emulator.step(pixels, t_ns, encoding)
        except ValueError as error:
            self.drops.drop('bad_image', str(error))
            return
        self.frames += 1
        self._publish(events, msg.header.frame_id)

    def _start_stream(self, width, height, t_ns):
        if self.emulator is not None:
            self.get_logger().warning(f'image size changed to {width}x{height}: new stream')
        self.emulator = DvsEmulator(width, height, self._emulator_params(),
                                    np.random.default_rng(self.p.seed))
        self.t0_ns = t_ns

    def _publish(self, events, frame_id):
        if events.shape[0] == 0:
            return
        sensor = events.copy()
        sensor['t'] -= self.t0_ns  # sensor time: since the stream's first frame
        bounds = packet_bounds(sensor['t'], self.p.packet_max_events,
                               int(self.p.packet_max_duration_s * 1e9))
        for start, stop in zip(bounds[:-1], bounds[1:]):
            chunk = sensor[start:stop]
            msg = EventPacket()
            msg.header.frame_id = frame_id
            msg.width, msg.height = self.emulator.width, self.emulator.height
            msg.seq = self.seq
            msg.encoding = self.p.encoding
            msg.is_bigendian = False
            if self.p.encoding == 'evt3':
                payload = encode_evt3(chunk)
                # evt3 counts whole microseconds: the base is the first event's tick.
                msg.time_base = int(chunk['t'][0]) // 1000 * 1000
            else:
                payload, msg.time_base = encode_mono(chunk)
            msg.header.stamp = convert.ns_to_stamp(self.t0_ns + msg.time_base)
            msg.events = payload.tobytes()
            self.events_pub.publish(msg)
            self.seq += 1
        self.events_out += events.shape[0]

    def _publish_diagnostics(self):
        values = {'frames': self.frames, 'events_out': self.events_out,
                  'packets_out': self.seq, 'frames_dropped': self.drops.total}
        values.update({f'dropped_{k}': v for k, v in self.drops.counts.items()})
        warn = f'{self.drops.total} frame(s) dropped' if self.drops.total else ''
        self.diag_pub.publish(status_array(self.get_clock().now().to_msg(),
                                           f'{self.get_name()}: DVS emulator',
                                           self.get_fully_qualified_name(), values, warn))

    def close(self):
        """Nothing to flush: every frame's events are published when it arrives."""


def main(args=None):
    """Run the encoder node."""
    return spin.run(EncoderNode, args)
