"""The engine against the slow event-by-event reference (``naive.py``) on random networks."""

from hypothesis import assume, given, HealthCheck, settings
from hypothesis import strategies as st
import numpy as np

from snn_ros.core import _engine_kernels as kern
from snn_ros.core.network import Network
from snn_ros.core.neurons import AdaptiveLIFParams, ExpLIFParams, LIFParams
from snn_ros.core.simulator import Simulator

from . import naive

MS = 1_000_000
T_END = 60 * MS


def _params(model, rng):
    common = {'tau_m_s': float(rng.uniform(0.005, 0.03)),
              'theta_mV': float(rng.uniform(8, 20)),
              'u_reset_mV': float(rng.uniform(-2, 5)),
              't_ref_s': float(rng.uniform(0, 0.004)),
              'i_ext_mV': float(rng.choice([0.0, rng.uniform(0, 25)]))}
    if model == 'lif':
        return LIFParams(u_min_mV=float(rng.choice([-np.inf, -3.0])), **common)
    if model == 'lif_adaptive':
        return AdaptiveLIFParams(u_min_mV=float(rng.choice([-np.inf, -3.0])),
                                 tau_theta_s=float(rng.uniform(0.005, 0.2)),
                                 theta_jump_mV=float(rng.uniform(0, 3)), **common)
    return ExpLIFParams(tau_s_s=float(rng.uniform(0.001, 0.01)), **common)


def random_network(seed, model):
    """Build a small random network: input source, two populations, random patterns."""
    rng = np.random.default_rng(seed)
    net = Network(seed=seed)
    inp = net.add_source('inp', int(rng.integers(1, 5)))
    pois = net.add_source('pois', 3, 'poisson', rate_hz=float(rng.uniform(20, 300)))
    models = [model, str(rng.choice(['lif', 'lif_adaptive', 'lif_exp']))]
    pops = [net.add_population(f'p{k}', int(rng.integers(1, 6)), m, _params(m, rng))
            for k, m in enumerate(models)]
    scale = 10.0 if model != 'lif_exp' else 40.0

    def weights(n, sign=1.0):
        return sign * rng.uniform(0.2, 1.0, n) * scale

    def delays(n):
        if rng.random() < 0.5:
            return float(rng.uniform(0.0005, 0.004))
        return rng.uniform(0.0005, 0.006, n)

    for post in pops:
        proj_n = len(net.projections)
        for pre in (inp, pois):
            n = pre.size * post.size
            net.connect(pre, post, 'all_to_all', weights(n), delays(n))
        if rng.random() < 0.7:
            net.connect(pops[0], post, 'fixed_indegree', weights(2 * post.size),
                        delays(2 * post.size), indegree=2)
        if rng.random() < 0.7:
            pre = pops[1]
            proj = net.connect(pre, post, 'fixed_probability', 0.0, 0.001, p=0.5)
            n = proj.n_synapses
            net.projections.pop()
            net._names.discard(proj.name)
            net.connect(pre, post, 'explicit', weights(n, -1.0), delays(n),
                        pre_idx=proj.pre_idx, post_idx=proj.post_idx)
        assert len(net.projections) > proj_n
    if pops[0].size > 1:
        net.add_lateral_inhibition(pops[0], -float(rng.uniform(1, 10)),
                                   float(rng.uniform(0.0005, 0.002)))
    if pops[1].size == pops[0].size:
        net.connect(pops[0], pops[1], 'one_to_one', weights(pops[0].size), delays(pops[0].size))
    n_in = int(rng.integers(0, 40))
    idx = rng.integers(0, inp.size, n_in)
    times = np.sort(rng.integers(0, T_END - 10 * MS, n_in))
    # Some inputs on an integer-ms grid, to create exact ties between sources.
    times[::3] = (times[::3] // MS) * MS
    return net, pops, inp, idx, times


def compare(sim, pops, ref):
    for pop in pops:
        got = sim.spikes(pop)
        want = ref[pop.name]
        assert len(got) == len(want), (pop.name, got, want)
        for (n, t), (n_ref, t_ref) in zip(got.tolist(), want):
            assert n == n_ref and abs(t - t_ref) <= 1, (pop.name, got, want)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 31 - 1), model=st.sampled_from(['lif', 'lif_adaptive', 'lif_exp']),
       queue_capacity=st.sampled_from([1, 4096]))
def test_engine_matches_naive(seed, model, queue_capacity):
    """Also from a queue of one entry per bucket, so that it grows while it runs."""
    net, pops, inp, idx, times = random_network(seed, model)
    ref = naive.NaiveSim(net, seed=seed).run(T_END, {inp: (idx, times)})
    sim = Simulator(net, seed=seed, queue_capacity=queue_capacity)
    sim.push_spikes(inp, idx, times)
    sim.run_until(T_END)
    compare(sim, pops, ref)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_fused_poisson_drive_matches_naive(seed):
    rng = np.random.default_rng(seed)
    net = Network(seed=seed)
    pop = net.add_population('pop', 4, 'lif', LIFParams(tau_m_s=0.01, theta_mV=2.0,
                                                        u_reset_mV=0.0, t_ref_s=0.002))
    drive = net.add_source('drive', 4, 'poisson', rate_hz=float(rng.uniform(1500, 4000)))
    net.connect(drive, pop, 'one_to_one', 0.5, float(rng.uniform(0.0005, 0.002)))
    net.connect(pop, pop, 'all_to_all', rng.uniform(-2, 1, 16), rng.uniform(0.001, 0.003, 16))
    ref = naive.NaiveSim(net, seed=seed).run(40 * MS)
    sim = Simulator(net, seed=seed)
    assert sim._drv_nodes.size == 4
    sim.run_until(40 * MS)
    compare(sim, [pop], ref)
    assume(len(ref['pop']) > 5)  # else too quiet to tell


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), fuse=st.booleans())
def test_grid_poisson_matches_naive(seed, fuse):
    """Grid trains (as NEST's poisson_generator): fused, a step's k spikes are one arrival."""
    rng = np.random.default_rng(seed)
    net = Network(seed=seed)
    pop = net.add_population('pop', 4, 'lif', LIFParams(tau_m_s=0.01, theta_mV=8.0,
                                                        u_reset_mV=0.0, t_ref_s=0.002))
    # Up to 40 spikes per step on average: counts beyond the engine's table too.
    drive = net.add_source('drive', 4, 'poisson', rate_hz=float(rng.uniform(1500, 40000)),
                           grid_s=float(rng.choice([1e-4, 2.5e-4, 1e-3])))
    noise = net.add_source('noise', 2, 'poisson', rate_hz=float(rng.uniform(50, 500)),
                           grid_s=1e-3, record=True)
    net.connect(drive, pop, 'one_to_one', 0.5, float(rng.uniform(0.0005, 0.002)))
    net.connect(noise, pop, 'all_to_all', rng.uniform(-1, 1, 8), 0.001)
    net.connect(pop, pop, 'all_to_all', rng.uniform(-2, 1, 16), rng.uniform(0.001, 0.003, 16))
    ref = naive.NaiveSim(net, seed=seed).run(40 * MS)
    sim = Simulator(net, seed=seed, fuse_poisson=fuse)
    assert sim._drv_nodes.size == (4 if fuse else 0)
    sim.run_until(40 * MS)
    compare(sim, [pop, noise], ref)
    assume(len(ref['pop']) > 5 and len(ref['noise']) > 0)  # else too quiet to tell


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), noise_first=st.booleans())
def test_grid_drive_ties_match_naive(seed, noise_first):
    """
    Arrivals on the drive's grid steps, from sources before and after the drive's.

    A fused grid drive is swept at its steps; arrivals at the same instant must
    still be taken in (time, source) order around it.
    """
    rng = np.random.default_rng(seed)
    net = Network(seed=seed)
    # A floor on u makes the order of arrivals of one instant matter.
    pop = net.add_population('pop', 5, 'lif', LIFParams(tau_m_s=0.01, theta_mV=6.0,
                                                        u_reset_mV=0.0, t_ref_s=0.0005,
                                                        u_min_mV=-1.0))

    def add_noise():
        return net.add_source('noise', 2, 'poisson', rate_hz=float(rng.uniform(200, 2000)),
                              grid_s=5e-4, record=True)

    noise = add_noise() if noise_first else None
    drive = net.add_source('drive', 5, 'poisson', rate_hz=float(rng.uniform(2000, 20000)),
                           grid_s=2.5e-4)
    noise = noise or add_noise()
    net.connect(drive, pop, 'one_to_one', 0.5, 0.001)
    net.connect(noise, pop, 'all_to_all', rng.uniform(-3, 1.5, 10), 0.001)
    net.connect(pop, pop, 'all_to_all', rng.uniform(-2, 1, 25), 0.0005)
    ref = naive.NaiveSim(net, seed=seed).run(40 * MS)
    sim = Simulator(net, seed=seed)
    assert sim._drv_nodes.size == 5
    sim.run_until(40 * MS)
    compare(sim, [pop, noise], ref)
    assume(len(ref['pop']) > 5)  # else too quiet to tell


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1))
def test_unheld_lif_matches_naive(seed):
    """'lif' neurons whose window is over 50 tau are not held: the generic path, same trains."""
    rng = np.random.default_rng(seed)
    net = Network(seed=seed)
    inp = net.add_source('inp', 3)
    pois = net.add_source('pois', 3, 'poisson', rate_hz=float(rng.uniform(200, 2000)))
    pop = net.add_population('pop', 4, 'lif', LIFParams(
        tau_m_s=0.001, theta_mV=float(rng.uniform(2, 6)), u_reset_mV=0.0,
        t_ref_s=float(rng.uniform(0, 0.004)), u_min_mV=float(rng.choice([-np.inf, -1.0]))))
    net.connect(inp, pop, 'all_to_all', rng.uniform(0.5, 3, 12), 0.06)
    net.connect(pois, pop, 'all_to_all', rng.uniform(-1, 3, 12), rng.uniform(0.06, 0.08, 12))
    net.connect(pop, pop, 'all_to_all', rng.uniform(-2, 2, 16), rng.uniform(0.06, 0.07, 16))
    idx = rng.integers(0, 3, 200)
    times = np.sort(rng.integers(0, 400 * MS, 200)) // MS * MS  # ties between sources
    ref = naive.NaiveSim(net, seed=seed).run(500 * MS, {inp: (idx, times)})
    sim = Simulator(net, seed=seed)
    assert sim._gint[sim._gindex[id(pop)], kern.G_HELD] == 0
    sim.push_spikes(inp, idx, times)
    sim.run_until(500 * MS)
    compare(sim, [pop], ref)
    assume(len(ref['pop']) > 5)  # else too quiet to tell
