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
def grid_map(x, y, p, t, table, plane, separate, refractory, last_t, neuron_out, t_out):
    """
    Map events to neurons through a per-pixel ``table`` (-1 outside the region).

    With ``separate``, polarity p adds p * ``plane``. An event less than
    ``refractory`` [ns] after its neuron's last spike (``last_t``, updated) is
    merged into it. The spikes are written in order to ``neuron_out`` and
    ``t_out``; return ``(spikes, events outside the region)``.
    """
    h = table.shape[0]
    w = table.shape[1]
    n = 0
    outside = 0
    for k in range(x.shape[0]):
        xi = np.int64(x[k])
        yi = np.int64(y[k])
        cell = np.int64(-1)
        if xi < w and yi < h:
            cell = np.int64(table[yi, xi])
        if cell < 0:
            outside += 1
            continue
        if separate:
            cell += plane * np.int64(p[k] != 0)
        if t[k] - last_t[cell] < refractory:
            continue
        last_t[cell] = t[k]
        neuron_out[n] = cell
        t_out[n] = t[k]
        n += 1
    return n, outside


@njit
def grid_counts(x, y, p, table, plane, separate, counts):
    """Add each mapped event to its neuron's count."""
    h = table.shape[0]
    w = table.shape[1]
    for k in range(x.shape[0]):
        xi = np.int64(x[k])
        yi = np.int64(y[k])
        if xi < w and yi < h:
            cell = table[yi, xi]
            if cell >= 0:
                if separate:
                    cell += plane * np.int64(p[k] != 0)
                counts[cell] += 1
