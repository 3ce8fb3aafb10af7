"""``snn_ros.core.jit``: borrowed arrays are the same memory without a reference count."""

import math
import sys

import numba
import numpy as np

from snn_ros.core._plasticity_kernels import exp_neg
from snn_ros.core.jit import borrow


@numba.njit
def _write_through_borrowed(a, b):
    one = borrow(a)
    x, y = borrow((a, b))
    one[0] = 7.0
    y[1] = x[0] + 1.0
    return one.shape[0], y.strides[0], x.sum()


@numba.njit
def _exp_neg_of(x):
    return exp_neg(x)


def test_borrowed_arrays_alias_the_originals_and_leave_their_counts_alone():
    a, b = np.arange(4.0), np.zeros(3, np.float32)
    before = sys.getrefcount(a), sys.getrefcount(b)
    for _ in range(100):
        size, stride, total = _write_through_borrowed(a, b)
    assert (size, stride) == (4, 4)
    assert total == 7.0 + 1.0 + 2.0 + 3.0
    assert a[0] == 7.0 and b[1] == 8.0 and b[0] == b[2] == 0.0
    assert (sys.getrefcount(a), sys.getrefcount(b)) == before


def test_exp_neg_equals_exp_up_to_and_beyond_underflow():
    xs = np.concatenate([np.linspace(0.0, 50.0, 1001), np.linspace(700.0, 760.0, 6001),
                         [744.44, 745.13, 745.1332, 745.14, 746.0, 1e4, 1e300, math.inf]])
    for x in xs:
        assert _exp_neg_of(x) == math.exp(-x), x
    assert math.isnan(_exp_neg_of(math.nan))
