"""
The transport floor of ``snn-ros bench ros``: a node that answers each frame at once.

It subscribes ``image`` and publishes a ``TwistStamped`` on ``cmd_vel`` stamped
with the frame's stamp, with the QoS, message types and executor of
``controller_node`` (``input: image``) and no work in between. Image -> command
through it is what rclpy and DDS cost on this machine; the controller's latency
minus it is what the controller itself costs.

Run as ``python -m snn_ros.ros.echo_node --ros-args -r image:=... -r cmd_vel:=...``.
"""

from geometry_msgs.msg import TwistStamped
from rclpy.node import Node
from sensor_msgs.msg import Image

from snn_ros.ros import qos, spin


class EchoNode(Node):
    """Publish a zero ``TwistStamped`` stamped as each ``Image`` received."""

    def __init__(self):
        super().__init__('bench_ros_echo')
        self.cmd_pub = self.create_publisher(TwistStamped, 'cmd_vel', qos.COMMAND)
        self.create_subscription(Image, 'image', self.on_image, qos.SENSOR)

    def on_image(self, msg):
        """Answer the frame."""
        cmd = TwistStamped()
        cmd.header.stamp = msg.header.stamp
        cmd.header.frame_id = 'base_link'
        self.cmd_pub.publish(cmd)

    def close(self):
        """Nothing to save at shutdown."""


def main(args=None):
    """Run the echo node."""
    return spin.run(EchoNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
