"""Spike codes and input maps against naive loops and closed forms."""

import math

import numpy as np
import pytest

from snn_ros.core.types import EVENT_DTYPE, SPIKE_DTYPE
from snn_ros.encoding.codes import (delta, DeltaEncoder, latency_linear, latency_log, phase,
                                    population, rate_poisson)
from snn_ros.encoding.input_map import GridInputMap

from . import naive


def sorted_ok(s):
    return s.dtype == SPIKE_DTYPE and bool(np.all(
        (np.diff(s['t']) > 0) | ((np.diff(s['t']) == 0) & (np.diff(s['neuron']) > 0))))


def close(a, b, tol_ns=0):
    return (a.shape == b.shape and np.array_equal(a['neuron'], b['neuron'])
            and np.abs(a['t'] - b['t']).max(initial=0) <= tol_ns)


def test_rate_poisson_counts_window_and_seed():
    values = np.array([0.0, 0.1, 0.5, 1.0, 2.0, -1.0])
    s = rate_poisson(values, 200.0, 5_000, 5_000 + 10**10, np.random.default_rng(0))
    assert sorted_ok(s)
    assert s['t'].min() >= 5_000 and s['t'].max() < 5_000 + 10**10
    counts = np.bincount(s['neuron'], minlength=6)
    expected = naive.rate_counts_expected(values, 200.0, 10.0)
    assert np.all(np.abs(counts - expected) <= 5 * np.sqrt(expected) + 1e-9)
    again = rate_poisson(values, 200.0, 5_000, 5_000 + 10**10, np.random.default_rng(0))
    assert np.array_equal(s, again)
    # Inter-spike intervals of a Poisson process: exponential, CV close to 1.
    isi = np.diff(s['t'][s['neuron'] == 3]) * 1e-9
    assert abs(isi.std() / isi.mean() - 1.0) < 0.1


def test_latency_codes_match_naive_and_closed_form():
    rng = np.random.default_rng(1)
    v = rng.random(300) * 1.2
    lin = latency_linear(v, 1_000, 0.05, threshold=0.1)
    assert sorted_ok(lin) and close(lin, naive.latency_linear(v, 1_000, 0.05, 0.1))
    log = latency_log(v, 1_000, 0.02, threshold=0.3)
    assert sorted_ok(log) and close(log, naive.latency_log(v, 1_000, 0.02, 0.3), tol_ns=1)
    # v = 2 theta: t = tau ln 2.
    one = latency_log(np.array([0.6]), 0, 0.02, 0.3)
    assert one['t'][0] == round(0.02 * math.log(2) * 1e9)


@pytest.mark.parametrize('phase0', [0.0, 1.0])
def test_phase_code_matches_naive(phase0):
    rng = np.random.default_rng(2)
    v = rng.random(50)
    v[:5] = [0.0, 1.0, -0.5, 0.5, 1.5]
    s = phase(v, 10_000, 10_000 + 200_000_000, 40.0, phase0)
    ref = naive.phase(v, 10_000, 10_000 + 200_000_000, 40.0, phase0)
    assert close(s, ref) and sorted_ok(s)
    assert not np.any(np.isin(s['neuron'], [0, 2]))
    # One spike per neuron per cycle; within a cycle the phase is (1 - v) of a period.
    first = s[(s['t'] >= 10_000) & (s['t'] < 10_000 + 25_000_000)]
    assert len(first) >= 40


def test_delta_code_matches_naive_and_carries_reference():
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(0, 0.3, size=(80, 6)), axis=0)
    t = np.cumsum(rng.integers(1_000_000, 5_000_000, size=80))
    whole = delta(x, t, 0.25)
    ref_spikes, _ = naive.delta(x, t, 0.25, x[0])
    assert close(whole, ref_spikes) and sorted_ok(whole)
    enc = DeltaEncoder(6, 0.25)
    cuts = ((0, 30), (30, 31), (31, 80))
    parts = np.concatenate([enc.encode(x[a:b], t[a:b]) for a, b in cuts])
    assert np.array_equal(parts, whole)
    # A ramp of 1.0 with threshold 0.25 gives exactly four ON spikes at quarter times.
    ramp = delta(np.array([[0.0], [1.0]]), np.array([0, 1_000_000]), 0.25)
    assert ramp['neuron'].tolist() == [0] * 4
    assert ramp['t'].tolist() == [250_000, 500_000, 750_000, 1_000_000]
    with pytest.raises(ValueError, match='increase'):
        enc.encode(x[:2], t[:2])


def test_population_code_matches_naive():
    v = np.array([-1.0, 0.0, 0.3, 0.77, 1.0, 2.0])
    s = population(v, 0.0, 1.0, 8, 2_000, 0.01, beta=1.5, cutoff=0.1)
    ref = naive.population(v, 0.0, 1.0, 8, 1.5, 2_000, 0.01, 0.1)
    assert close(s, ref, tol_ns=1) and sorted_ok(s)
    # The field centred nearest the value fires first.
    centres = 0.0 + (2 * np.arange(1, 9) - 3) / 2 * 1.0 / 6
    for i, x in enumerate(v[2:4], start=2):
        own = s[s['neuron'] // 8 == i]
        assert own['neuron'][0] % 8 == int(np.argmin(np.abs(centres - x)))


def test_code_parameter_errors():
    with pytest.raises(ValueError, match='rate_max_hz'):
        rate_poisson([0.5], 0.0, 0, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match='t1_ns'):
        phase([0.5], 10, 10, 5.0)
    with pytest.raises(ValueError, match='n_fields'):
        population([0.5], 0, 1, 2, 0, 0.01)
    with pytest.raises(ValueError, match='1-D'):
        latency_linear(np.zeros((2, 2)), 0, 0.01)


def random_events(rng, n, w, h):
    ev = np.empty(n, dtype=EVENT_DTYPE)
    ev['x'] = rng.integers(0, w + 3, n)
    ev['y'] = rng.integers(0, h + 3, n)
    ev['p'] = rng.integers(0, 2, n)
    ev['t'] = np.sort(rng.integers(0, 10**9, n))
    return ev


@pytest.mark.parametrize('roi, grid, polarity, refractory_ns', [
    ((0, 64, 128, 64), (8, 4), 'separate', 0),
    ((5, 7, 100, 50), (7, 3), 'merged', 0),
    (None, (1, 1), 'separate', 0),
    ((0, 64, 128, 64), (8, 4), 'merged', 200_000),
])
def test_grid_map_matches_naive(roi, grid, polarity, refractory_ns):
    rng = np.random.default_rng(4)
    ev = random_events(rng, 5000, 128, 128)
    m = GridInputMap(128, 128, grid=grid, roi=roi, polarity=polarity,
                     refractory_ns=refractory_ns)
    # Two calls: the refractory state carries over from one packet to the next.
    s = np.concatenate([m.to_spikes(ev[:2000]), m.to_spikes(ev[2000:])])
    sep = polarity == 'separate'
    inside = ev[(ev['x'] < 128) & (ev['y'] < 128)]
    ref = naive.grid_map(inside, roi or (0, 0, 128, 128), grid, sep, refractory_ns)
    order = np.lexsort((s['neuron'], s['t']))
    assert np.array_equal(s[order], ref)
    assert m.dropped + m.merged == len(ev) - len(s)
    assert (m.merged > 0) == (refractory_ns > 0)
    assert s['neuron'].max() < m.n_neurons == grid[0] * grid[1] * (2 if sep else 1)
    if not refractory_ns:
        counts = m.counts(ev)
        assert np.array_equal(counts, np.bincount(s['neuron'], minlength=m.n_neurons))


@pytest.mark.parametrize('polarity', ['merged', 'separate'])
def test_grid_map_skips_late_events_first(polarity):
    # Late events (before t_min) are counted and skipped before the region and the
    # refractory periods see them: the spikes are those of the on-time events alone.
    rng = np.random.default_rng(5)
    ev = random_events(rng, 5000, 128, 128)
    ev['t'][::3] -= 400_000  # every third event comes late, some beyond the sensor
    t_min = int(np.median(ev['t']))
    m = GridInputMap(128, 128, grid=(8, 4), roi=(0, 64, 128, 64), polarity=polarity,
                     refractory_ns=200_000)
    s = np.concatenate([m.to_spikes(ev[:2000], t_min), m.to_spikes(ev[2000:], t_min)])
    on_time = ev[ev['t'] >= t_min]
    inside = on_time[(on_time['x'] < 128) & (on_time['y'] < 128)]
    ref = naive.grid_map(inside, (0, 64, 128, 64), (8, 4), polarity == 'separate', 200_000)
    assert np.array_equal(s[np.lexsort((s['neuron'], s['t']))], ref)
    assert m.late == np.count_nonzero(ev['t'] < t_min) > 1000
    assert m.dropped + m.merged + m.late == len(ev) - len(s)
    assert m.merged > 0


def test_grid_normalisation():
    ev = np.zeros(6, dtype=EVENT_DTYPE)
    ev['x'] = [0, 1, 2, 9, 9, 9]       # 10 columns into 3 cells: 4, 3, 3 pixels wide
    m = GridInputMap(10, 1, grid=(3, 1), polarity='merged', normalise='pixels')
    assert m.pixels_per_cell.tolist() == [4, 3, 3]
    assert m.counts(ev).tolist() == [3 / 4, 0.0, 3 / 3]
    m = GridInputMap(10, 1, grid=(3, 1), polarity='merged', normalise='max')
    assert m.counts(ev).tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match='roi'):
        GridInputMap(10, 10, roi=(5, 5, 10, 10))
    with pytest.raises(ValueError, match='polarity'):
        GridInputMap(10, 10, polarity='both')
