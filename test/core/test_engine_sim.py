"""Simulator behaviour: determinism, split runs, pushes between runs, patterns, errors."""

import math

import numpy as np
import pytest

from snn_ros.core import _engine_kernels as kern
from snn_ros.core.network import Network
from snn_ros.core.neurons import ExpLIFParams, LIFParams
from snn_ros.core.simulator import Simulator
from snn_ros.core.types import SPIKE_DTYPE

MS = 1_000_000


def brunel_like(seed=3, n_exc=80, n_inh=20, fuse=True, exp_model=False, grid_s=None):
    """Return a small Brunel-style network with a Poisson drive, and its populations."""
    net = Network(seed=seed)
    if exp_model:
        model, p = 'lif_exp', ExpLIFParams(tau_m_s=0.02, tau_s_s=0.002, u_reset_mV=10.0)
        w_scale = 10.0
    else:
        model, p = 'lif', LIFParams()
        w_scale = 1.0
    exc = net.add_population('exc', n_exc, model, p)
    inh = net.add_population('inh', n_inh, model, p)
    ext = net.add_source('ext', n_exc + n_inh, 'poisson', rate_hz=9000.0, grid_s=grid_s)
    for post in (exc, inh):
        net.connect(exc, post, 'fixed_indegree', 0.4 * w_scale, 0.0015, indegree=8)
        net.connect(inh, post, 'fixed_indegree', -2.0 * w_scale,
                    np.full(2 * post.size, 0.0015) + np.arange(2 * post.size) * 1e-6,
                    indegree=2)
    tgt = net.add_population('all', n_exc + n_inh, model, p)
    net.connect(ext, tgt, 'one_to_one', 0.3 * w_scale, 0.001)
    net.connect(tgt, exc, 'explicit', 0.5 * w_scale, 0.002,
                pre_idx=np.arange(n_exc), post_idx=np.arange(n_exc))
    net.connect(tgt, inh, 'explicit', 0.5 * w_scale, 0.002,
                pre_idx=np.arange(n_exc, n_exc + n_inh), post_idx=np.arange(n_inh))
    return net, (exc, inh, tgt)


def _trains(sim, pops):
    return [sim.spikes(p) for p in pops]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == SPIKE_DTYPE
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize('exp_model', [False, True])
def test_same_seed_same_trains_and_other_seed_differs(exp_model):
    runs = []
    for seed in (5, 5, 6):
        net, pops = brunel_like(exp_model=exp_model)
        sim = Simulator(net, seed=seed)
        sim.run_until(100 * MS)
        runs.append(_trains(sim, pops))
    _same(runs[0], runs[1])
    assert sum(len(x) for x in runs[0]) > 50
    assert not all(np.array_equal(x, y) for x, y in zip(runs[0], runs[2]))


@pytest.mark.parametrize('exp_model', [False, True])
def test_split_runs_equal_one_long_run(exp_model):
    net, pops = brunel_like(exp_model=exp_model)
    one = Simulator(net, seed=1)
    one.run_until(80 * MS)
    split = Simulator(net, seed=1)
    rng = np.random.default_rng(0)
    t = 0
    while t < 80 * MS:
        t = min(80 * MS, t + int(rng.integers(1, 3 * MS)))
        split.run_until(t)
    _same(_trains(one, pops), _trains(split, pops))
    for pop in pops:
        for key, value in one.state(pop).items():
            np.testing.assert_array_equal(value, split.state(pop)[key])


@pytest.mark.parametrize('exp_model', [False, True])
def test_fused_drive_equals_unfused_sources(exp_model):
    net, pops = brunel_like(exp_model=exp_model)
    fused = Simulator(net, seed=2)
    plain = Simulator(net, seed=2, fuse_poisson=False)
    assert fused._drv_nodes.size == pops[2].size and plain._drv_nodes.size == 0
    fused.run_until(60 * MS)
    plain.run_until(60 * MS)
    _same(_trains(fused, pops), _trains(plain, pops))
    assert fused.n_events == plain.n_events


@pytest.mark.parametrize('exp_model', [False, True])
def test_fused_grid_drive_equals_unfused_sources(exp_model):
    """A fused step of k spikes is one arrival of k weights, unfused k arrivals: same trains."""
    net, pops = brunel_like(exp_model=exp_model, grid_s=2e-4)
    fused = Simulator(net, seed=2)
    plain = Simulator(net, seed=2, fuse_poisson=False)
    assert fused._drv_nodes.size == pops[2].size and plain._drv_nodes.size == 0
    fused.run_until(100 * MS)
    plain.run_until(100 * MS)
    trains = _trains(fused, pops)
    assert sum(len(x) for x in trains) > 50
    for a, b in zip(trains, _trains(plain, pops)):
        assert len(a) == len(b)
        np.testing.assert_array_equal(a['neuron'], b['neuron'])
        assert np.abs(a['t'] - b['t']).max(initial=0) <= 1
    assert fused.n_events == plain.n_events


@pytest.mark.parametrize('lam', [0.3, 2.0, 12.0, 30.0])
def test_grid_poisson_counts_are_poisson(lam):
    """A grid train's spikes lie at step ends, and a step's count is Poisson(rate * grid)."""
    grid_ns, n, n_steps = 100_000, 50, 2000
    net = Network()
    src = net.add_source('src', n, 'poisson', rate_hz=lam / grid_ns * 1e9, grid_s=1e-4,
                         record=True)
    net.connect(src, net.add_population('pop', 1, 'lif', LIFParams()), 'all_to_all', 0.0,
                0.001)
    sim = Simulator(net, seed=4)
    sim.run_until(n_steps * grid_ns + 1)
    spikes = sim.spikes(src)
    assert np.all(spikes['t'] % grid_ns == 0) and spikes['t'].min() >= grid_ns
    step = spikes['t'] // grid_ns - 1
    counts = np.bincount(spikes['neuron'] * n_steps + step, minlength=n * n_steps)
    hist = np.bincount(counts)
    k = np.arange(hist.size + 10)
    pmf = np.exp(-lam + k * np.log(lam) - np.array([math.lgamma(x + 1) for x in k]))
    want = n * n_steps * pmf
    tested = np.flatnonzero(want > 20)
    assert tested.size >= 3
    got = np.append(hist, np.zeros(10))[tested]
    assert np.all(np.abs(got - want[tested]) < 5 * np.sqrt(want[tested])), (got, want[tested])


@pytest.mark.parametrize('lam', [0.01, 2.0, 9.5, 30.0])
def test_grid_guide_starts_each_search_at_or_below_its_count(lam):
    """A guide entry b counts the CDF entries <= b / GUIDE_LEN: no u in bucket b has fewer."""
    net = Network()
    net.add_source('src', 1, 'poisson', rate_hz=lam / 100_000 * 1e9, grid_s=1e-4)
    sim = Simulator(net)
    row = sim._gtab[0]
    cdf = row[kern.GT_CDF:kern.GT_CDF + kern.CDF_LEN]
    guide = row[kern.GT_GUIDE:kern.GT_GUIDE + kern.GUIDE_LEN].astype(np.int64)
    edges = np.arange(kern.GUIDE_LEN) / kern.GUIDE_LEN
    below = cdf[None, :] <= edges[:, None]
    np.testing.assert_array_equal(guide, below.sum(axis=1))
    u = np.concatenate([np.linspace(0.0, 1.0, 20_001, endpoint=False), cdf[cdf < 1.0],
                        np.nextafter(cdf[cdf < 1.0], 0.0)])
    b = (u * kern.GUIDE_LEN).astype(np.int64)
    assert np.all(guide[b] <= (cdf[None, :] <= u[:, None]).sum(axis=1))


def test_push_between_runs_equals_push_up_front():
    net = Network()
    inp = net.add_source('inp', 3)
    pop = net.add_population('pop', 5, 'lif_exp', ExpLIFParams(tau_s_s=0.003))
    net.connect(inp, pop, 'all_to_all', np.linspace(20, 60, 15), 0.0012)
    net.add_lateral_inhibition(pop, -30.0, 0.0005)
    rng = np.random.default_rng(4)
    idx = rng.integers(0, 3, 200).astype(np.int32)
    t = np.sort(rng.integers(0, 100 * MS, 200))
    ahead = Simulator(net)
    ahead.push_spikes(inp, idx, t)
    ahead.run_until(100 * MS)
    live = Simulator(net)
    for k in range(100):
        sel = (t >= k * MS) & (t < (k + 1) * MS)
        live.push_spikes(inp, idx[sel], t[sel])
        live.run_until((k + 1) * MS)
    np.testing.assert_array_equal(ahead.spikes(pop), live.spikes(pop))
    assert len(ahead.spikes(pop)) > 10
    # Lateral inhibition: after a spike, the other neurons are pushed down.
    assert ahead.state(pop)['I'].shape == (5,)


def test_push_rejects_the_past_and_bad_indices():
    net = Network()
    inp = net.add_source('inp', 2)
    pop = net.add_population('pop', 1)
    net.connect(inp, pop, 'all_to_all', 1.0, 0.001)
    sim = Simulator(net)
    sim.run_until(5 * MS)
    with pytest.raises(ValueError, match='current time'):
        sim.push_spikes(inp, np.array([0]), np.array([4 * MS]))
    with pytest.raises(ValueError, match='neuron_idx'):
        sim.push_spikes(inp, np.array([2]), np.array([6 * MS]))
    with pytest.raises(ValueError, match='integer'):
        sim.push_spikes(inp, np.array([0]), np.array([6e6]))
    with pytest.raises(ValueError, match='before the current time'):
        sim.run_until(MS)
    with pytest.raises(ValueError, match='int time'):
        sim.run_until(6e6)
    with pytest.raises(ValueError, match='threads'):
        Simulator(net, threads=0)
    with pytest.raises(ValueError, match="model='array'"):
        sim.push_spikes(pop, np.array([0]), np.array([6 * MS]))


def test_patterns_counts_and_post_index():
    net = Network(seed=0)
    a = net.add_population('a', 30)
    b = net.add_population('b', 20)
    assert net.connect(a, b, 'all_to_all', 1.0, 0.001).n_synapses == 600
    assert net.connect(a, a, 'all_to_all', 1.0, 0.001, allow_autapses=False).n_synapses == 870
    assert net.connect(a, a, 'one_to_one', 1.0, 0.001).n_synapses == 30
    fi = net.connect(a, a, 'fixed_indegree', 1.0, 0.001, indegree=5, allow_autapses=False,
                     allow_multapses=False)
    assert fi.n_synapses == 150
    assert np.all(fi.pre_idx != fi.post_idx)
    assert np.all(np.bincount(fi.post_idx, minlength=30) == 5)
    pairs = set(zip(fi.pre_idx.tolist(), fi.post_idx.tolist()))
    assert len(pairs) == 150
    fp = net.connect(a, b, 'fixed_probability', 1.0, 0.001, p=0.3)
    assert 0.2 < fp.n_synapses / 600 < 0.4
    w = np.arange(4, dtype=float)
    ex = net.connect(a, b, 'explicit', w, 0.001, pre_idx=np.array([3, 1, 3, 0]),
                     post_idx=np.array([0, 1, 2, 3]))
    np.testing.assert_array_equal(ex.pre_idx, [0, 1, 3, 3])
    np.testing.assert_array_equal(ex.weight, [3, 1, 0, 2])
    li = net.add_lateral_inhibition(b, -1.0, 0.001)
    assert li.n_synapses == 380
    sim = Simulator(net)
    ptr, syn = sim.post_synapses(fp)
    assert ptr[-1] == fp.n_synapses
    for j in range(20):
        assert np.all(sim.target[syn[ptr[j]:ptr[j + 1]]] == b.start + j)
    assert sim.bytes_per_synapse() <= 16
    sim.weights(ex)[:] = 7.0
    assert np.all(sim.weight[sim.projection_slice(ex)] == 7.0)


@pytest.mark.parametrize('kwargs, match', [
    ({'pattern': 'one_to_one'}, 'equal sizes'),
    ({'pattern': 'nope'}, 'pattern'),
    ({'pattern': 'fixed_indegree'}, 'indegree'),
    ({'pattern': 'fixed_probability', 'p': 1.5}, 'p='),
    ({'pattern': 'all_to_all', 'delay_s': 0.0}, 'delay_s'),
    ({'pattern': 'all_to_all', 'weight_mV': [1.0, 2.0]}, 'weight_mV'),
    ({'pattern': 'all_to_all', 'bogus': 1}, 'unknown argument'),
])
def test_connect_errors_name_the_parameter(kwargs, match):
    net = Network()
    a = net.add_population('a', 3)
    b = net.add_population('b', 2)
    args = {'weight_mV': 1.0, 'delay_s': 0.001}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        net.connect(a, b, **args)


@pytest.mark.parametrize('model, params, match', [
    ('lif', LIFParams(tau_m_s=0.0), 'tau_m_s'),
    ('lif', LIFParams(u_reset_mV=30.0), 'u_reset_mV'),
    ('lif_exp', ExpLIFParams(tau_s_s=0.02), 'tau_s_s'),
    ('lif_exp', ExpLIFParams(u_min_mV=-5.0), 'u_min_mV'),
    ('hh', None, 'model'),
])
def test_model_errors_name_the_parameter(model, params, match):
    with pytest.raises(ValueError, match=match):
        Network().add_population('a', 2, model, params)


@pytest.mark.parametrize('kwargs, match', [
    ({'grid_s': 0.0}, 'grid_s'),
    ({'grid_s': True}, 'grid_s'),
    ({'rate_hz': 1e7, 'grid_s': 1e-4}, 'at most 700'),
    ({'model': 'array', 'rate_hz': None, 'grid_s': 1e-4}, "model='poisson'"),
])
def test_source_errors_name_the_parameter(kwargs, match):
    args = {'model': 'poisson', 'rate_hz': 100.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Network().add_source('src', 2, **args)


def test_idle_run_until_leaves_state_alone():
    net = Network()
    pop = net.add_population('pop', 1000, 'lif', LIFParams(u_init_mV=5.0))
    sim = Simulator(net)
    for k in range(1, 51):
        sim.run_until(k * MS)
    assert sim.t_ns == 50 * MS
    np.testing.assert_allclose(sim.state(pop)['u'], 5.0 * np.exp(-0.05 / 0.02), rtol=1e-12)
    assert sim.spikes(pop).size == 0
