"""Mapping a packet's sensor times to ROS time."""

import numpy as np

from snn_ros.core.types import EVENT_DTYPE
from snn_ros.encoding.packets import shift_times


def test_shift_times_matches_numpy_and_leaves_the_other_fields():
    rng = np.random.default_rng(3)
    events = np.zeros(10_001, EVENT_DTYPE)  # odd length, 13-byte records: unaligned times
    events['x'] = rng.integers(0, 640, events.shape[0])
    events['y'] = rng.integers(0, 480, events.shape[0])
    events['p'] = rng.integers(0, 2, events.shape[0])
    events['t'] = np.sort(rng.integers(0, 5_000_000, events.shape[0]))
    events['t'][::97] = rng.integers(-2**40, 2**40, events['t'][::97].shape[0])  # wild
    before = events.copy()
    offset, lo, hi = 1_700_000_000_000_000_000, 1_700_000_000_000_000_000, \
        1_700_000_000_005_000_000
    outside = shift_times(events, offset, lo, hi)
    expected = before['t'] + offset
    assert np.array_equal(events['t'], expected)
    assert outside == np.count_nonzero((expected < lo) | (expected > hi)) > 50
    for field in ('x', 'y', 'p'):
        assert np.array_equal(events[field], before[field])
    assert shift_times(events[:0], offset, lo, hi) == 0
