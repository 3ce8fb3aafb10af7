"""A simulator's clock for the tests: ``/clock``, published by the probe."""

from rosgraph_msgs.msg import Clock

from snn_ros.ros import convert, qos


class SimClock:
    """``/clock`` at ``t_ns``, advanced and published every 10 ms of wall time."""

    def __init__(self, probe, start_s):
        self.t_ns = int(start_s * 1e9)
        self.pub = probe.node.create_publisher(Clock, '/clock', qos.COMMAND)
        probe.node.create_timer(0.01, self.tick)

    def tick(self):
        self.t_ns += 10_000_000
        self.pub.publish(Clock(clock=convert.ns_to_stamp(self.t_ns)))
