"""
Array types shared by every layer.

Time is int64 nanoseconds at every interface: event times, spike times and ROS
stamps alike, continuous and never rounded to a simulation grid.
"""

import numpy as np

#: A camera event: pixel address, polarity (1 ON, 0 OFF) and time [ns].
EVENT_DTYPE = np.dtype([('x', '<u2'), ('y', '<u2'), ('p', 'i1'), ('t', '<i8')])

#: A spike: neuron index within its population and time [ns].
SPIKE_DTYPE = np.dtype([('neuron', '<i4'), ('t', '<i8')])

NS_PER_S = 1_000_000_000


def empty_events(n=0):
    """Return an event array of length ``n`` (uninitialised)."""
    return np.empty(n, dtype=EVENT_DTYPE)


def empty_spikes(n=0):
    """Return a spike array of length ``n`` (uninitialised)."""
    return np.empty(n, dtype=SPIKE_DTYPE)
