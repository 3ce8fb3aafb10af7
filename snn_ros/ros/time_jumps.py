"""
The ROS clock sent back: a simulator reset, or a bag replayed from its start.

With ``use_sim_time`` the clock only moves forward otherwise, so the nodes take a
step back as the start of a new stream rather than as input out of order.
"""

from rclpy.clock import JumpThreshold
from rclpy.duration import Duration

#: A step back longer than this is a jump [s].
MIN_BACKWARD_S = 0.001


def on_clock_sent_back(node, callback):
    """Call ``callback(jump)`` when ``node``'s clock goes back; return the handle to keep."""
    return node.get_clock().create_jump_callback(
        JumpThreshold(min_forward=None, min_backward=Duration(seconds=-MIN_BACKWARD_S)),
        post_callback=callback)
