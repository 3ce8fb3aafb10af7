"""The engine's orderings of spikes equal a stable lexicographic sort (numpy's lexsort)."""

import numpy as np
import pytest

from snn_ros.core import _engine_kernels as kern


def _spikes(rng, n, layout):
    """Return (t, src) with ties in t, nearly sorted, shuffled or reversed."""
    t = np.sort(rng.integers(0, max(1, n // 3), n)).astype(np.int64) * 1000
    src = rng.integers(0, 8, n).astype(np.int32)
    if layout == 'shuffled':
        order = rng.permutation(n)
        t, src = t[order], src[order]
    elif layout == 'reversed':
        t, src = t[::-1].copy(), src[::-1].copy()
    return t, src


@pytest.mark.parametrize('layout', ['nearly_sorted', 'shuffled', 'reversed'])
@pytest.mark.parametrize('n_pend', [0, 1, 40])
def test_merge_pushed_is_a_stable_sort_of_the_concatenation(layout, n_pend):
    rng = np.random.default_rng(n_pend + len(layout))
    for n in (0, 1, 2, 7, 300):
        pt, ps = _spikes(rng, n_pend, 'nearly_sorted')
        order = np.lexsort((ps, pt))
        pt, ps = pt[order], ps[order]
        pos = n_pend // 2
        t, src = _spikes(rng, n, layout)
        # new spikes as a source's channels and its first node id
        got_t, got_s = kern.merge_pushed(pt, ps, pos, t, src.astype(np.int64) - 5, 5)
        all_t = np.concatenate([pt[pos:], t])
        all_s = np.concatenate([ps[pos:], src])
        ref = np.lexsort((all_s, all_t))
        np.testing.assert_array_equal(got_t, all_t[ref])
        np.testing.assert_array_equal(got_s, all_s[ref])


@pytest.mark.parametrize('head', [0, 1, 5, 200])
def test_window_order_equals_a_stable_sort(head):
    """A window: some neuron spikes (any order), then a sorted tail of pushed spikes."""
    rng = np.random.default_rng(head)
    t_head, s_head = _spikes(rng, head, 'shuffled')
    t_tail, s_tail = _spikes(rng, 150, 'nearly_sorted')
    tail = np.lexsort((s_tail, t_tail))
    em_t = np.concatenate([t_head, t_tail[tail], np.zeros(10, np.int64)])
    em_src = np.concatenate([s_head, s_tail[tail], np.zeros(10, np.int32)])
    n = head + 150
    ref = np.lexsort((em_src[:n], em_t[:n]))
    # Told where the pushed spikes start, or not told (the engine's two cases).
    for known_from in (head, len(em_t)):
        np.testing.assert_array_equal(kern._window_order(em_src, em_t, n, known_from), ref)
