"""
A node's start and stop: a bad parameter ends it with a message, a shutdown is clean.

``ros2 launch`` shows a node's output: a bad value must read as one line naming the
parameter (status 2), not a traceback. SIGINT and SIGTERM close the rclpy context,
and a timer that publishes at that moment must not turn the stop into a crash.
"""

from pathlib import Path
import subprocess
import sys

import pytest
import rclpy
from rclpy.node import Node
from std_msgs.msg import Empty

from snn_ros.ros import spin

BAD_VALUES = [
    ('controller_node', 'publish_rate_hz:=0.0', 'publish_rate_hz'),  # below its range
    ('controller_node', 'max_linear_mps:=1', 'max_linear_mps'),      # int for a float
    ('controller_node', 'seed:=abc', 'seed'),                        # text for an int
    ('controller_node', 'input:=camera', 'input'),                   # not a choice
    ('encoder_node', 'packet_max_events:=0', 'packet_max_events'),
]


@pytest.mark.ros
@pytest.mark.parametrize('executable,override,name', BAD_VALUES)
def test_a_bad_parameter_stops_the_node_with_one_line_naming_it(executable, override, name):
    command = [str(Path(sys.executable).parent / executable), '--ros-args', '-p', override]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert 'Traceback' not in output, output
    assert f"cannot start: parameter '{name}'" in output, output


class _StoppedWhilePublishing(Node):
    """A node whose timer finds the context closed under it, as SIGINT can leave it."""

    closed = 0

    def __init__(self):
        super().__init__('stopped_while_publishing')
        self.pub = self.create_publisher(Empty, '~/tick', 1)
        self.create_timer(0.01, self.on_timer)

    def on_timer(self):
        # What rclpy's signal handler does, here while a callback runs: the context
        # shuts down in C and the node's handles stay (the publish then fails).
        rclpy.get_default_context().handle.shutdown()
        self.pub.publish(Empty())

    def close(self):
        type(self).closed += 1


@pytest.mark.ros
def test_a_callback_publishing_during_shutdown_is_a_clean_stop():
    assert spin.run(_StoppedWhilePublishing, args=[]) == 0
    assert _StoppedWhilePublishing.closed == 1  # the node's close (its checkpoint) ran
    assert not rclpy.ok()
