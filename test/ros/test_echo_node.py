"""
The transport floor of ``bench ros``: its echo node answers every frame, once, with its stamp.

``bench ros`` reads the floor as the latency of frame k to the command stamped
with frame k's stamp; a node that dropped, merged or restamped frames would
measure something else.
"""

import sys

from geometry_msgs.msg import TwistStamped
import numpy as np
import pytest
from sensor_msgs.msg import Image

from snn_ros.ros import convert, qos


@pytest.mark.ros
def test_the_echo_node_answers_each_frame_with_its_stamp(probe, processes):
    processes.start([sys.executable, '-m', 'snn_ros.ros.echo_node', '--ros-args',
                     '-r', 'image:=/echo_test/image', '-r', 'cmd_vel:=/echo_test/cmd'], 'echo')
    images = probe.node.create_publisher(Image, '/echo_test/image', qos.COMMAND)
    commands = probe.collect(TwistStamped, '/echo_test/cmd', qos.COMMAND)
    probe.wait_for_subscriber(images)
    probe.wait_for_publisher(commands.subscription)
    frame = np.arange(128 * 128, dtype=np.uint8).reshape(128, 128)
    # Frames are best effort: until the echo has matched the probe, they may be lost.
    probe.wait_for(lambda: images.publish(convert.array_to_image(frame, 'mono8', 1)) or
                   commands, what='a first answer')
    probe.spin_for(0.2)
    commands.clear()
    stamps = [1_000_000_000 + k * 33_333_333 for k in range(10)]
    for t_ns in stamps:
        images.publish(convert.array_to_image(frame, 'mono8', t_ns))
        probe.spin_for(0.05)
    probe.wait_for(lambda: len(commands) >= len(stamps), what='a command per frame')
    probe.spin_for(0.3)
    assert [convert.stamp_to_ns(c.header.stamp) for c in commands] == stamps
    assert all(c.twist.linear.x == 0.0 and c.twist.angular.z == 0.0 for c in commands)
