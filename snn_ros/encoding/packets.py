"""
Cutting a time-sorted event stream into packets, and mapping sensor time to ROS time.

A packet closes when it holds ``max_events`` events or spans ``max_duration_ns``,
whichever comes first. The clock follows the ``event_camera_msgs`` convention of
event-camera drivers: the header stamp is the ROS time of the packet's first
event and ``time_base`` its sensor time, so
``ros_time = stamp + (sensor_time - time_base)``. Recordings whose ``time_base``
is 0 are mapped with the offset of their first packet instead.
"""

import numpy as np

from snn_ros.encoding import _codec_kernels as _k


def shift_times(events, offset_ns, lo_ns, hi_ns):
    """
    Add ``offset_ns`` to the events' times in place; return how many fall outside [lo_ns, hi_ns].

    One pass over the strided time field, where numpy takes five: 0.08 instead of
    0.3 ms for a 5 ms packet of a 10 Mev/s camera.
    """
    return int(_k.shift_times(events['t'], int(offset_ns), int(lo_ns), int(hi_ns)))


def packet_bounds(t_ns, max_events, max_duration_ns):
    """
    Return the start indices of the packets of a sorted time array, and its length.

    ``t_ns`` has shape (n,). The result has shape (packets + 1,): packet k holds
    events ``bounds[k]:bounds[k + 1]``. Work is per packet, not per event.
    """
    if max_events < 1 or max_duration_ns < 1:
        raise ValueError('packets need max_events >= 1 and max_duration_ns >= 1')
    bounds = [0]
    n = t_ns.shape[0]
    while bounds[-1] < n:
        start = bounds[-1]
        by_time = int(np.searchsorted(t_ns, t_ns[start] + max_duration_ns, side='left'))
        bounds.append(min(start + max_events, max(by_time, start + 1), n))
    return np.asarray(bounds, dtype=np.int64)


class SensorClock:
    """
    Map a stream's sensor times to ROS time, packet by packet.

    With a non-zero ``time_base`` each packet carries its own mapping. Without one,
    the offset of the first packet is kept, and re-measured (counted in
    ``resyncs``) when a packet's stamp disagrees by more than ``max_skew_ns``, as
    after a sensor reset.
    """

    def __init__(self, max_skew_ns=100_000_000):
        """Start unsynchronised; the first packet sets the offset."""
        self.max_skew_ns = int(max_skew_ns)
        self.offset_ns = None
        self.resyncs = 0

    def offset(self, stamp_ns, time_base_ns, first_sensor_ns):
        """Return the offset ros - sensor [ns] for a packet whose first event is given."""
        if time_base_ns:
            return int(stamp_ns) - int(time_base_ns)
        measured = int(stamp_ns) - int(first_sensor_ns)
        if self.offset_ns is None:
            self.offset_ns = measured
        elif abs(measured - self.offset_ns) > self.max_skew_ns:
            self.offset_ns = measured
            self.resyncs += 1
        return self.offset_ns
