"""
Plasticity inside the engine, against the standalone driver ``apply_rule_to_trains``.

The engine updates a plastic row when a presynaptic spike reaches it (the rule
sees the spike at its emission time, the delay being dendritic) and pushes every
spike of a postsynaptic neuron into its history at the end of its window. Fed the
spike trains the engine produced, the standalone driver must find the same
weights (float64 state, 1e-9 relative) at the current time minus the delay.
"""

import numpy as np
import pytest

from snn_ros.core import netfile
from snn_ros.core import plasticity as pl
from snn_ros.core.network import Network
from snn_ros.core.neurons import LIFParams
from snn_ros.core.simulator import Simulator
from snn_ros.core.weightfile import load_arrays, save_arrays

MS = 1_000_000
T_END = 1_500 * MS


def _network(rule_in, rule_rec, seed, n_in=40, n_exc=20):
    rng = np.random.default_rng(seed)
    net = Network(seed=seed)
    inp = net.add_source('inp', n_in, record=True)
    exc = net.add_population('exc', n_exc, params=LIFParams(), record=True)
    k = 10
    p_in = net.connect(inp, exc, 'fixed_indegree', rng.uniform(3.0, 6.0, n_exc * k),
                       0.001 * (1 + seed % 3), indegree=k, plasticity=rule_in, name='in')
    p_rec = net.connect(exc, exc, 'fixed_probability', rng.uniform(0.2, 1.0, 1)[0],
                        0.0015, p=0.3, plasticity=rule_rec, name='rec')
    t = np.sort(rng.integers(0, T_END, 40 * n_in)).astype(np.int64)
    idx = rng.integers(0, n_in, t.size).astype(np.int32)
    return net, inp, exc, p_in, p_rec, idx, t


def _run(net, inp, idx, t, dtype=np.float64, rewards=(), population=None, learning=True,
         step_ns=7 * MS, t_end=T_END):
    sim = Simulator(net, seed=1, plastic_dtype=dtype)
    sim.learning = learning
    sim.push_spikes(inp, idx, t)
    rewards = list(rewards)
    now = 0
    while now < t_end:
        nxt = min(now + step_ns, t_end)
        while rewards and rewards[0][0] <= nxt:
            t_r, amount = rewards.pop(0)
            sim.run_until(t_r)
            sim.deliver_reward(t_r, amount, population)
        sim.run_until(nxt)
        now = nxt
    return sim


def _reference(sim, proj, pre_group, post_group, rewards=(), learning=True):
    d = int(proj.delay_ns[0])
    pre = sim.spikes(pre_group)
    pre = pre[pre['t'] + d < sim.t_ns]
    post = sim.spikes(post_group)
    r_t = np.array([r[0] for r in rewards], np.int64)
    r_a = np.array([r[1] for r in rewards], np.float64)
    return pl.apply_rule_to_trains(proj.plasticity, pre, post, proj.pre_idx, proj.post_idx,
                                   proj.weight, n_pre=proj.pre.size, n_post=proj.post.size,
                                   dendritic_delay_ns=d, reward_t_ns=r_t, reward_amount=r_a,
                                   sample_t_ns=[sim.t_ns - d], learning=learning)


STDP = pl.STDPParams(a_plus=0.3, a_minus=0.32, w_max_mV=8.0)
STDP_SOFT_NEAREST = pl.STDPParams(a_plus=0.05, a_minus=0.06, pairing='nearest', bounds='soft',
                                  w_max_mV=8.0)
RSTDP = pl.RSTDPParams(stdp=pl.STDPParams(a_plus=0.5, a_minus=0.5, w_max_mV=8.0),
                       tau_c_s=0.5, tau_d_s=0.1, b=0.2)


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('rule', [STDP, STDP_SOFT_NEAREST, RSTDP], ids=['stdp', 'soft', 'rstdp'])
def test_engine_matches_standalone_driver(seed, rule):
    net, inp, exc, p_in, p_rec, idx, t = _network(rule, rule, seed)
    rng = np.random.default_rng(100 + seed)
    rewards = []
    if isinstance(rule, pl.RSTDPParams):
        times = np.sort(rng.integers(0, T_END, 15))
        rewards = [(int(x), float(a)) for x, a in zip(times, rng.uniform(-2.0, 5.0, 15))]
    sim = _run(net, inp, idx, t, rewards=rewards)
    assert sim.spikes(exc).size > 200
    moved = 0.0
    for proj, pre in ((p_in, inp), (p_rec, exc)):
        ref = _reference(sim, proj, pre, exc, rewards)
        got = sim.plastic_state(proj)
        np.testing.assert_allclose(got['w'], ref['w'][0], rtol=1e-9, atol=1e-12)
        if isinstance(rule, pl.RSTDPParams):
            np.testing.assert_allclose(got['c'], ref['c'][0], rtol=1e-9, atol=1e-12)
        moved = max(moved, float(np.max(np.abs(got['w'] - proj.weight))))
        assert np.all(sim.weights(proj) == got['w'].astype(np.float32))
    assert moved > 0.1
    assert sim.plastic_lost == 0


def test_float32_state_follows_float64():
    net, inp, exc, p_in, p_rec, idx, t = _network(STDP, STDP, 3)
    a = _run(net, inp, idx, t, dtype=np.float64)
    b = _run(net, inp, idx, t, dtype=np.float32)
    for proj in (p_in, p_rec):
        np.testing.assert_allclose(b.plastic_state(proj)['w'], a.plastic_state(proj)['w'],
                                   rtol=0, atol=1e-4)


def _static_twin(seed):
    net, inp, exc, p_in, p_rec, idx, t = _network(None, None, seed)
    return _run(net, inp, idx, t), exc


@pytest.mark.parametrize('rule', [STDP, RSTDP], ids=['stdp', 'rstdp'])
def test_learning_off_changes_nothing(rule):
    net, inp, exc, p_in, p_rec, idx, t = _network(rule, rule, 4)
    rewards = [(300 * MS, 3.0), (900 * MS, -2.0)]
    sim = _run(net, inp, idx, t, rewards=rewards, learning=False)
    static, exc_s = _static_twin(4)
    np.testing.assert_array_equal(sim.spikes(exc), static.spikes(exc_s))
    for proj in (p_in, p_rec):
        np.testing.assert_array_equal(sim.plastic_state(proj)['w'], proj.weight)
        np.testing.assert_array_equal(sim.weights(proj), proj.weight)
    if isinstance(rule, pl.RSTDPParams):
        ref = _reference(sim, p_rec, exc, exc, rewards, learning=False)
        np.testing.assert_allclose(sim.plastic_state(p_rec)['c'], ref['c'][0], rtol=1e-9,
                                   atol=1e-12)
        assert np.any(sim.plastic_state(p_rec)['c'] != 0.0)


def test_zero_reward_changes_only_what_the_rule_says():
    # b = 0 and no reward: dw/dt = c d = 0, so R-STDP leaves every weight and spike alone.
    rule = RSTDP._replace(b=0.0)
    net, inp, exc, p_in, p_rec, idx, t = _network(rule, rule, 5)
    sim = _run(net, inp, idx, t, rewards=[(400 * MS, 0.0)])
    static, exc_s = _static_twin(5)
    np.testing.assert_array_equal(sim.spikes(exc), static.spikes(exc_s))
    for proj in (p_in, p_rec):
        np.testing.assert_array_equal(sim.plastic_state(proj)['w'], proj.weight)
    # b != 0 and no reward: only the baseline term -b c moves the weights, as the driver says.
    net, inp, exc, p_in, p_rec, idx, t = _network(RSTDP, RSTDP, 5)
    sim = _run(net, inp, idx, t)
    for proj, pre in ((p_in, inp), (p_rec, exc)):
        ref = _reference(sim, proj, pre, exc)
        np.testing.assert_allclose(sim.plastic_state(proj)['w'], ref['w'][0], rtol=1e-9)
    assert np.any(sim.plastic_state(p_rec)['w'] != p_rec.weight)


def test_per_target_population_reward():
    rule = RSTDP._replace(reward_scope='per_target_population')
    net, inp, exc, p_in, p_rec, idx, t = _network(rule, None, 6)
    other = net.add_population('other', 3)
    sim = _run(net, inp, idx, t, rewards=[(500 * MS, 4.0)], population=other)
    got = sim.plastic_state(p_in)
    ref = _reference(sim, p_in, inp, exc)
    np.testing.assert_allclose(got['w'], ref['w'][0], rtol=1e-9)
    sim2 = _run(net, inp, idx, t, rewards=[(500 * MS, 4.0)], population=exc)
    ref2 = _reference(sim2, p_in, inp, exc, [(500 * MS, 4.0)])
    np.testing.assert_allclose(sim2.plastic_state(p_in)['w'], ref2['w'][0], rtol=1e-9)
    assert np.any(ref2['w'][0] != ref['w'][0])


def test_short_term_depression_scales_deliveries():
    std = pl.STDParams(U=0.4, tau_rec_s=0.3)
    net = Network()
    inp = net.add_source('inp', 1)
    exc = net.add_population('exc', 1, params=LIFParams(theta_mV=1e6, u_reset_mV=0.0))
    net.connect(inp, exc, 'one_to_one', 2.0, 0.001, plasticity=std)
    sim = Simulator(net)
    times = np.array([10, 20, 30, 400], np.int64) * MS
    sim.push_spikes(inp, np.zeros(4, np.int32), times)
    eff = pl.apply_std_to_train(std, np.array(list(zip([0] * 4, times)),
                                              dtype=[('neuron', '<i4'), ('t', '<i8')]))
    u = 0.0
    last = 0
    for k, tk in enumerate(times):
        sim.run_until(int(tk) + MS + 1)
        u = u * np.exp(-(tk + MS + 1 - last) / 20e6) + 2.0 * eff[k] * np.exp(-1 / 20e6)
        last = tk + MS + 1
        assert sim.state(exc)['u'][0] == pytest.approx(u, rel=1e-6)


def test_state_round_trip_is_exact(tmp_path):
    net, inp, exc, p_in, p_rec, idx, t = _network(RSTDP, STDP, 7)
    a = _run(net, inp, idx[t < 700 * MS], t[t < 700 * MS], dtype=np.float32,
             rewards=[(200 * MS, 2.0)], t_end=700 * MS)
    arrays = a.state_arrays()
    assert arrays['weight'].dtype == np.float32
    assert arrays['weight'].shape == a.weight.shape
    path = tmp_path / 'state.npz'
    save_arrays(path, **arrays)
    loaded = load_arrays(path, expected_keys=set(arrays))
    # A twin, disturbed by the state of another run, then given the saved state back.
    b = _run(net, inp, idx[t < 700 * MS], t[t < 700 * MS], dtype=np.float32,
             rewards=[(200 * MS, 2.0)], t_end=700 * MS)
    c = _run(net, inp, idx[::2], t[::2], dtype=np.float32, t_end=700 * MS)
    b.load_state_arrays(c.state_arrays())
    assert np.any(b.state_arrays()['plastic_w'] != arrays['plastic_w'])
    b.load_state_arrays(loaded)
    again = b.state_arrays()
    for key, value in arrays.items():
        np.testing.assert_array_equal(again[key], value, err_msg=key)
    # Both go on identically (same spikes in, same weights out).
    rest = t >= 700 * MS
    for sim in (a, b):
        sim.push_spikes(inp, idx[rest], t[rest])
        sim.deliver_reward(sim.t_ns, 1.0)
        sim.run_until(T_END)
    np.testing.assert_array_equal(a.spikes(exc), b.spikes(exc))
    for key, value in a.state_arrays().items():
        np.testing.assert_array_equal(b.state_arrays()[key], value, err_msg=key)
    # A damaged file is refused; a file of another network too.
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2])
    with pytest.raises(ValueError):
        load_arrays(path, expected_keys=set(arrays))
    bad = dict(arrays, plastic_w=arrays['plastic_w'][:-1])
    with pytest.raises(ValueError, match='plastic_w'):
        b.load_state_arrays(bad)


def test_state_loads_at_another_time():
    net, inp, exc, p_in, p_rec, idx, t = _network(RSTDP, STDP, 8)
    a = _run(net, inp, idx, t, dtype=np.float32, rewards=[(200 * MS, 2.0)])
    b = Simulator(net, seed=1)
    b.load_state_arrays(a.state_arrays())
    assert b.t_ns == 0
    np.testing.assert_array_equal(b.state_arrays()['weight'], a.state_arrays()['weight'])
    assert b.state_arrays()['plastic_t_last'].max() <= 0


def test_reset_dynamics_keeps_weights():
    net, inp, exc, p_in, p_rec, idx, t = _network(STDP, STDP, 9)
    sim = _run(net, inp, idx, t)
    w = sim.state_arrays()['weight']
    sim.reset_dynamics()
    assert sim.t_ns == T_END
    np.testing.assert_array_equal(sim.state_arrays()['weight'], w)
    assert np.all(sim.state(exc)['u'] == 0.0)
    sim.run_until(T_END + 100 * MS)
    np.testing.assert_array_equal(sim.state_arrays()['weight'], w)
    assert sim.spikes(exc)['t'].max() < T_END


def test_netfile_plasticity_block(tmp_path):
    text = """
populations:
  - {name: a, size: 5, model: lif}
  - {name: b, size: 3, model: lif}
projections:
  - {name: ab, pre: a, post: b, pattern: all_to_all, weight_mV: 1.0, delay_s: 0.001,
     plasticity: {rule: rstdp, a_plus: 0.1, tau_c_s: 0.5, reward_scope: per_target_population}}
"""
    path = tmp_path / 'net.yaml'
    path.write_text(text)
    built = netfile.load_network(path)
    rule = built.projections['ab'].plasticity
    assert isinstance(rule, pl.RSTDPParams) and rule.tau_c_s == 0.5
    assert rule.stdp.a_plus == 0.1
    Simulator(built.network).run_until(10 * MS)
    path.write_text(text.replace('tau_c_s: 0.5', 'tau_c_s: -1'))
    with pytest.raises(ValueError, match=r'net\.yaml.*projections\[0\]\.plasticity.*tau_c_s'):
        netfile.load_network(path)
    path.write_text(text.replace('rule: rstdp', 'rule: hebb'))
    with pytest.raises(ValueError, match=r'projections\[0\]\.plasticity\.rule'):
        netfile.load_network(path)
