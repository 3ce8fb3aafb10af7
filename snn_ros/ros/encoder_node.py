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

from snn_ros.core.types import EVENT_DTYPE
from snn_ros.encoding.codecs import encode_evt3, encode_mono, EVT3_MAX_SIZE
from snn_ros.encoding.packets import packet_bounds
from snn_ros.ros import convert, dvs, qos, spin, time_jumps
from snn_ros.ros.diagnostics import DropCounter, status_array
from snn_ros.ros.params import declare, Param

PARAMETERS = [
    Param('encoding', 'evt3', 'EventPacket encoding of the output', choices=('evt3', 'mono')),
    Param('packet_max_events', 50_000, 'a packet closes at this many events', 1, 10_000_000),
    Param('packet_max_duration_s', 0.1, 'a packet closes when it spans this long [s]; the '
          'default keeps a camera frame in one packet: its events all exist when the frame '
          'arrives, so splitting them only adds per-message cost', 1e-6, 10.0),
    Param('diagnostics_period_s', 1.0, 'period of /diagnostics [s]', 0.05, 60.0,
          read_only=True),
    *dvs.PARAMETERS,
]


class EncoderNode(Node):
    """Emulate a DVS on an image stream and publish its events."""

    def __init__(self):
        super().__init__('encoder')
        self.p = declare(self, PARAMETERS)
        self.drops = DropCounter(self.get_logger())
        self.seq = 0
        self.frames = 0
        self.events_out = 0
        started = time.perf_counter()
        self.frames_in = dvs.FrameEvents(self.p)
        for encode in (encode_evt3, encode_mono):  # compile (or load) before the first frame
            encode(np.zeros(1, EVENT_DTYPE))
        self.get_logger().info(f'kernels ready in {time.perf_counter() - started:.2f} s')
        self.events_pub = self.create_publisher(EventPacket, 'events', qos.SENSOR)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.COMMAND)
        self.create_timer(self.p.diagnostics_period_s, self._publish_diagnostics)
        # A clock sent back (a simulator reset) sends the frames' stamps back too: a new
        # stream, where they would otherwise all be refused as going backwards.
        self.clock_jumps = 0
        self.jump_handle = time_jumps.on_clock_sent_back(self, self.on_clock_jump)
        self.create_subscription(Image, 'image', self.on_image, qos.SENSOR)

    def on_image(self, msg):
        """Emulate the events since the previous frame and publish them."""
        if self.p.encoding == 'evt3' and max(msg.width, msg.height) > EVT3_MAX_SIZE:
            self.drops.drop('bad_images', f'a {msg.width} x {msg.height} frame: evt3 addresses '
                            f'end at {EVT3_MAX_SIZE}; use encoding mono')
            return
        try:
            events = self.frames_in.events(msg)
        except ValueError as error:
            self.drops.drop('bad_images', str(error))
            return
        if self.frames_in.restarted:
            self.get_logger().warning('image size changed to %d x %d: new stream'
                                      % self.frames_in.size)
        self.frames += 1
        self._publish(events, msg.header.frame_id)

    def on_clock_jump(self, jump):
        """Start a new stream: the next frame is its first."""
        self.frames_in = dvs.FrameEvents(self.p)
        self.clock_jumps += 1
        self.get_logger().warning(f'clock jumped back {-jump.delta.nanoseconds / 1e9:.3f} s: '
                                  'new stream')

    def _publish(self, events, frame_id):
        if events.shape[0] == 0:
            return
        sensor = events.copy()
        sensor['t'] -= self.frames_in.t0_ns  # sensor time: since the stream's first frame
        bounds = packet_bounds(sensor['t'], self.p.packet_max_events,
                               int(self.p.packet_max_duration_s * 1e9))
        for start, stop in zip(bounds[:-1], bounds[1:]):
            chunk = sensor[start:stop]
            msg = EventPacket()
            msg.header.frame_id = frame_id
            msg.width, msg.height = self.frames_in.size
            msg.seq = self.seq
            msg.encoding = self.p.encoding
            msg.is_bigendian = False
            if self.p.encoding == 'evt3':
                payload = encode_evt3(chunk)
                # evt3 counts whole microseconds: the base is the first event's tick.
                msg.time_base = int(chunk['t'][0]) // 1000 * 1000
            else:
                payload, msg.time_base = encode_mono(chunk)
            msg.header.stamp = convert.ns_to_stamp(self.frames_in.t0_ns + msg.time_base)
            msg.events = payload.tobytes()
            self.events_pub.publish(msg)
            self.seq += 1
        self.events_out += events.shape[0]

    def _publish_diagnostics(self):
        values = {'frames': self.frames, 'events_out': self.events_out,
                  'packets_out': self.seq, 'frames_dropped': self.drops.total,
                  'clock_jumps': self.clock_jumps}
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
