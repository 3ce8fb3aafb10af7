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

BAD_VALUES = [
    ('controller_node', 'publish_rate_hz:=0.0', 'publish_rate_hz'),  # below its range
    ('controller_node', 'max_linear_mps:=1', 'max_linear_mps'),      # int for a float
    ('controller_node', 'seed:=abc', 'seed'),                        # text for an int
    ('controller_node', 'input:=camera', 'input'),                   # not a choice
    ('controller_node', 'checkpoint_file:=/no/such/folder/w.npz', 'checkpoint_file'),
    ('controller_node', 'checkpoint_file:=/tmp/weights.txt', 'checkpoint_file'),
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


# A node whose timer finds the context closed under it, as SIGINT can leave it: the
# context shuts down in C (what rclpy's signal handler does) and the node's handles
# stay, so the publish fails. Run in a process of its own, as a node runs.
STOPPED_WHILE_PUBLISHING = """
import rclpy
from rclpy.node import Node
from std_msgs.msg import Empty
from snn_ros.ros import spin

class StoppedWhilePublishing(Node):
    def __init__(self):
        super().__init__('stopped_while_publishing')
        self.pub = self.create_publisher(Empty, '~/tick', 1)
        self.create_timer(0.01, self.on_timer)

    def on_timer(self):
        rclpy.get_default_context().handle.shutdown()
        self.pub.publish(Empty())

    def close(self):
        print('closed')

raise SystemExit(spin.run(StoppedWhilePublishing, args=[]))
"""


@pytest.mark.ros
def test_a_callback_publishing_during_shutdown_is_a_clean_stop():
    done = subprocess.run([sys.executable, '-c', STOPPED_WHILE_PUBLISHING],
                          capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert 'Traceback' not in output, output
    assert 'closed' in done.stdout  # the node's close (its checkpoint) ran
