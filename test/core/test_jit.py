"""``snn_ros.core.jit``: borrowed arrays are the same memory without a reference count."""

import math
import platform
import sys

import numba
import numpy as np

from snn_ros.core._plasticity_kernels import exp_neg
from snn_ros.core.jit import borrow, prefetch


@numba.njit
def _write_through_borrowed(a, b):
    one = borrow(a)
    x, y = borrow((a, b))
    one[0] = 7.0
    y[1] = x[0] + 1.0
    return one.shape[0], y.strides[0], x.sum()


@numba.njit
def _sum_prefetching(a):
    total = 0.0
    for i in range(a.shape[0]):
        prefetch(a, np.uint64((i + 2) % a.shape[0]), i % a.shape[1])
        for j in range(a.shape[1]):
            total += a[i, j]
    return total


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


def test_prefetch_emits_the_instruction_and_changes_nothing():
    buf = np.arange(60.0).reshape(4, 5, 3)
    for a in (buf[:, :, 0], buf[:, :, 1], np.arange(20.0).reshape(4, 5)):
        assert _sum_prefetching(a) == a.sum()
    if platform.machine() in ('x86_64', 'AMD64'):
        asm = ''.join(_sum_prefetching.inspect_asm(sig) for sig in _sum_prefetching.signatures)
        assert 'prefetcht0' in asm
