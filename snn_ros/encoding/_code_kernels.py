"""Numba kernels of the spike codes and input maps (models in ``codes`` and ``input_map``)."""

import numpy as np

from snn_ros.core.jit import njit


@njit
def phase_spikes(values, order, t0_ns, t1_ns, period_ns, offset_ns, neuron, t):
    """
    Phase code: per cycle, neuron i fires at (1 - v_i) of the cycle after its start.

    ``order`` lists the neurons with v > 0 by increasing phase; the outputs are
    sized by the caller (cycles x len(order)). Return the number of spikes written.
    """
    n = 0
    k = 0
    while True:
        start = t0_ns - offset_ns + k * period_ns
        if start >= t1_ns:
            break
        for j in range(order.shape[0]):
            i = order[j]
            ti = np.int64(np.rint(start + (1.0 - values[i]) * period_ns))
            if t0_ns <= ti < t1_ns:
                neuron[n] = i
                t[n] = ti
                n += 1
        k += 1
    return n


@njit
def delta_spikes(samples, times_ns, threshold, ref, neuron, t, n):
    """
    Send-on-delta over sample intervals; ``ref`` (per channel) is updated in place.

    Each crossing of ref +- threshold by the linearly interpolated signal gives a
    spike on neuron 2c (ON) or 2c + 1 (OFF) at the interpolated time, and moves ref
    by one threshold. Writes from slot ``n``; return the new count, or -1 when the
    outputs are full (the caller grows them and calls again from scratch).
    """
    cap = t.shape[0]
    for k in range(1, samples.shape[0]):
        t0 = times_ns[k - 1]
        span = times_ns[k] - t0
        for c in range(samples.shape[1]):
            a = samples[k - 1, c]
            b = samples[k, c]
            r = ref[c]
            while b - r >= threshold or r - b >= threshold:
                up = b > r
                level = r + threshold if up else r - threshold
                frac = 0.0
                if b != a:
                    frac = min(max((level - a) / (b - a), 0.0), 1.0)
                if n == cap:
                    return -1
                neuron[n] = 2 * c + (0 if up else 1)
                t[n] = t0 + np.int64(np.rint(frac * span))
                n += 1
                r = level
            ref[c] = r
    return n


@njit
def grid_map(x, y, p, t, column, row, plane, separate, refractory, last_t, t_min, neuron_out,
             t_out):
    """
    Map events to neurons through per-column and per-row tables (-1 outside the region).

    Two small tables stay in cache where one per pixel would not (a 640 x 480
    sensor). The lookup is written out here and in ``grid_counts``: an inlined
    helper taking the tables makes numba count references per event, 4x slower.
    With ``separate``, polarity p adds p * ``plane``. An event before ``t_min``
    [ns] is late and skipped first; one less than ``refractory`` [ns] after its
    neuron's last spike (``last_t``, updated) is merged into it. The spikes are
    written in order to ``neuron_out`` and ``t_out``; return ``(spikes, events
    outside the region, late events)``. (Written without branches, it ran 1.5-2x
    slower on 10 Mev/s streams: the mispredictions it saves cost less than the
    loads and stores it adds.)
    """
    w = column.shape[0]
    h = row.shape[0]
    n = 0
    outside = 0
    late = 0
    for k in range(x.shape[0]):
        tk = t[k]
        if tk < t_min:
            late += 1
            continue
        xi = np.int64(x[k])
        yi = np.int64(y[k])
        cell = np.int64(-1)
        if xi < w and yi < h and column[xi] >= 0 and row[yi] >= 0:
            cell = np.int64(row[yi]) + np.int64(column[xi])
        if cell < 0:
            outside += 1
            continue
        if separate:
            cell += plane * np.int64(p[k] != 0)
        if tk - last_t[cell] < refractory:
            continue
        last_t[cell] = tk
        neuron_out[n] = cell
        t_out[n] = tk
        n += 1
    return n, outside, late


@njit
def grid_counts(x, y, p, column, row, plane, separate, counts):
    """Add each mapped event to its neuron's count (the lookup of ``grid_map``)."""
    w = column.shape[0]
    h = row.shape[0]
    for k in range(x.shape[0]):
        xi = np.int64(x[k])
        yi = np.int64(y[k])
        if xi < w and yi < h and column[xi] >= 0 and row[yi] >= 0:
            cell = np.int64(row[yi]) + np.int64(column[xi])
            if separate:
                cell += plane * np.int64(p[k] != 0)
            counts[cell] += 1
