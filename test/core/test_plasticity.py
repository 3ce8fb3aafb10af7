"""Plasticity kernels against the slow reference, and the rule's documented properties."""

import math

from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np
import pytest

from snn_ros.core import plasticity as pl
from snn_ros.core.types import SPIKE_DTYPE

from .naive_plasticity import naive_std, naive_synapse

MS = 1_000_000
S = 1_000_000_000


def spikes(neurons, times):
    """Build a SPIKE_DTYPE array from parallel lists."""
    out = np.zeros(len(times), dtype=SPIKE_DTYPE)
    out['neuron'] = neurons
    out['t'] = times
    return out


def train(n_max):
    """Return a strategy for a sorted train of distinct ns times in (1 ms, 1.5 s)."""
    return st.lists(st.integers(1 * MS + 1, 1500 * MS), max_size=n_max, unique=True).map(sorted)


@st.composite
def rules(draw):
    """Draw any rule variant (STDP or R-STDP with every option)."""
    bounds = draw(st.sampled_from(['hard', 'soft']))
    resource = bounds == 'hard' and draw(st.booleans())
    hom = pl.HomeostasisParams(
        resource=resource, rate_max_hz=draw(st.sampled_from([math.inf, 15.0])),
        tau_rate_s=draw(st.sampled_from([0.1, 0.5])),
        a_pre=draw(st.sampled_from([0.0, 0.002])))
    soft = bounds == 'soft'
    stdp = pl.STDPParams(
        a_plus=draw(st.sampled_from([0.05, 0.2] if soft else [0.01, 0.06])),
        a_minus=draw(st.sampled_from([0.06, 0.25] if soft else [0.012, 0.07])),
        tau_plus_s=draw(st.sampled_from([0.01, 0.02])),
        tau_minus_s=draw(st.sampled_from([0.02, 0.03])),
        pairing=draw(st.sampled_from(['all_to_all', 'nearest'])), bounds=bounds,
        w_min_mV=draw(st.sampled_from([0.0, 0.3])), w_max_mV=draw(st.sampled_from([0.7, 1.0])),
        homeostasis=hom)
    if not draw(st.booleans()):
        return stdp
    return pl.RSTDPParams(stdp=stdp, tau_c_s=draw(st.sampled_from([0.2, 1.0])),
                          tau_d_s=draw(st.sampled_from([0.05, 0.2])),
                          b=draw(st.sampled_from([0.0, 0.4, -0.3])),
                          reward_scope='per_target_population')


def _compare(params, pre_trains, post_trains, rewards, d_dend, learning=True):
    """Run 2x2 synapses through the kernels and the reference; compare trajectories."""
    syn_pre, syn_post = [0, 0, 1, 1], [0, 1, 0, 1]
    pre = spikes([j for j, tr in enumerate(pre_trains) for _ in tr],
                 [t for tr in pre_trains for t in tr])
    post = spikes([i for i, tr in enumerate(post_trains) for _ in tr],
                  [t for tr in post_trains for t in tr])
    r_t = [t for ch in rewards for t, _ in ch]
    r_a = [a for ch in rewards for _, a in ch]
    r_c = [k for k, ch in enumerate(rewards) for _ in ch]
    samples = [100 * MS, 700 * MS, 1600 * MS, 2500 * MS]
    out = pl.apply_rule_to_trains(params, pre, post, syn_pre, syn_post, 0.5, n_pre=2, n_post=2,
                                  dendritic_delay_ns=d_dend, reward_t_ns=r_t,
                                  reward_amount=r_a, reward_channel=r_c, post_channel=[0, 1],
                                  sample_t_ns=samples, learning=learning)
    for s, (j, i) in enumerate(zip(syn_pre, syn_post)):
        ref_w, ref_c = naive_synapse(params, pre_trains[j], post_trains[i], 0.5, samples,
                                     d_dend=d_dend, rewards=rewards[i], learning=learning)
        np.testing.assert_allclose(out['w'][:, s], ref_w, rtol=1e-9, atol=1e-12,
                                   err_msg=f'weight of synapse {j}->{i}')
        np.testing.assert_allclose(out['c'][:, s], ref_c, rtol=1e-9, atol=1e-12,
                                   err_msg=f'eligibility of synapse {j}->{i}')
    return out


rewards_st = st.lists(st.tuples(st.integers(1 * MS, 2000 * MS),
                                st.sampled_from([2.0, 5.0, 20.0, -4.0])),
                      max_size=4, unique_by=lambda r: r[0]).map(sorted)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=rules(), pre0=train(12), pre1=train(12), post0=train(12), post1=train(12),
       rew0=rewards_st, rew1=rewards_st, d_dend=st.sampled_from([0, 1_500_000, 7]))
def test_kernels_match_reference(params, pre0, pre1, post0, post1, rew0, rew1, d_dend):
    _compare(params, [pre0, pre1], [post0, post1], [rew0, rew1], d_dend)


def test_reference_catches_a_wrong_kernel():
    """The comparison fails when the rule differs (guards against a vacuous test)."""
    pre, post = [10 * MS, 40 * MS], [15 * MS, 30 * MS]
    ref_w, _ = naive_synapse(pl.STDPParams(), pre, post, 0.5, [100 * MS])
    out = pl.apply_rule_to_trains(pl.STDPParams(a_plus=0.0101), spikes([0, 0], pre),
                                  spikes([0, 0], post), [0], [0], 0.5,
                                  sample_t_ns=[100 * MS])
    assert abs(out['w'][0, 0] - ref_w[0]) > 1e-6


def test_pair_window_is_bi_poo():
    """One pair gives a_plus exp(-dt/tau_plus) or -a_minus exp(dt/tau_minus)."""
    p = pl.STDPParams(a_plus=0.01, a_minus=0.02, tau_plus_s=0.02, tau_minus_s=0.03)
    for dt_ms in (1, 5, 20, -1, -5, -20):
        t_pre, t_post = 100 * MS, 100 * MS + dt_ms * MS
        out = pl.apply_rule_to_trains(p, spikes([0], [t_pre]), spikes([0], [t_post]), [0], [0],
                                      0.5, sample_t_ns=[200 * MS])
        want = 0.01 * math.exp(-dt_ms / 20) if dt_ms > 0 else -0.02 * math.exp(dt_ms / 30)
        assert out['w'][0, 0] - 0.5 == pytest.approx(want, rel=1e-12)


def test_simultaneous_pair_does_nothing():
    out = pl.apply_rule_to_trains(pl.STDPParams(), spikes([0], [50 * MS]), spikes([0], [50 * MS]),
                                  [0], [0], 0.5, sample_t_ns=[100 * MS])
    assert out['w'][0, 0] == 0.5


def test_learning_off_changes_nothing():
    rng = np.random.default_rng(3)
    pre = np.sort(rng.choice(np.arange(1, 3000) * MS, 200, replace=False))
    post = np.sort(rng.choice(np.arange(1, 3000) * MS, 200, replace=False))
    w0 = rng.uniform(0.1, 0.9, 4)
    for params in (pl.STDPParams(), pl.RSTDPParams(b=0.3)):
        out = pl.apply_rule_to_trains(params, spikes(pre % 2, pre), spikes(post % 2, post),
                                      [0, 0, 1, 1], [0, 1, 0, 1], w0,
                                      reward_t_ns=[500 * MS, 2000 * MS],
                                      reward_amount=[10.0, -5.0],
                                      sample_t_ns=[1000 * MS, 3500 * MS], learning=False)
        assert np.array_equal(out['w'], np.tile(w0, (2, 1)))
        on = pl.apply_rule_to_trains(params, spikes(pre % 2, pre), spikes(post % 2, post),
                                     [0, 0, 1, 1], [0, 1, 0, 1], w0,
                                     reward_t_ns=[500 * MS, 2000 * MS],
                                     reward_amount=[10.0, -5.0],
                                     sample_t_ns=[1000 * MS, 3500 * MS])
        assert not np.array_equal(on['w'], out['w'])


def test_zero_reward_moves_eligibility_not_weights():
    pre = [100 * MS, 300 * MS, 310 * MS]
    post = [105 * MS, 290 * MS, 330 * MS]
    out = pl.apply_rule_to_trains(pl.RSTDPParams(b=0.0), spikes([0] * 3, pre),
                                  spikes([0] * 3, post), [0], [0], 0.5,
                                  sample_t_ns=[200 * MS, 400 * MS, 3000 * MS])
    assert np.all(out['w'] == 0.5)
    assert out['c'][0, 0] > 0 and out['c'][1, 0] != out['c'][0, 0]
    # the eligibility follows the STDP jumps and tau_c, exactly as the reference says
    _, ref_c = naive_synapse(pl.RSTDPParams(b=0.0), pre, post, 0.5,
                             [200 * MS, 400 * MS, 3000 * MS])
    np.testing.assert_allclose(out['c'][:, 0], ref_c, rtol=1e-12)
    # with a baseline b and no reward the weight drifts by -b * integral of c
    drift = pl.apply_rule_to_trains(pl.RSTDPParams(b=0.5), spikes([0], [100 * MS]),
                                    spikes([0], [105 * MS]), [0], [0], 0.5,
                                    sample_t_ns=[10 * S])
    c0 = 0.01 * math.exp(-5 / 20)
    want = 0.5 - 0.5 * c0 * 1.0 * (1 - math.exp(-(10 - 0.105)))
    assert drift['w'][0, 0] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize('delay_s', [1.0, 2.0, 3.0])
def test_delayed_reward_credits_the_pairing(delay_s):
    """A pre->post pairing rewarded 1-3 s later strengthens that synapse only."""
    params = pl.RSTDPParams(stdp=pl.STDPParams(a_plus=0.1, a_minus=0.15), tau_c_s=1.0,
                            tau_d_s=0.2)
    t_pair = 500 * MS
    reward_t = t_pair + int(delay_s * S)
    # synapse 0: pre 0 -> post 0 paired (pre before post); synapse 1: pre 1 -> post 0 silent
    out = pl.apply_rule_to_trains(params, spikes([0], [t_pair]), spikes([0], [t_pair + 10 * MS]),
                                  [0, 1], [0, 0], 0.5, n_pre=2, reward_t_ns=[reward_t],
                                  reward_amount=[5.0], sample_t_ns=[reward_t, reward_t + 3 * S])
    before, after = out['w'][0], out['w'][1]
    assert before[0] == 0.5 and before[1] == 0.5
    assert after[1] == 0.5
    c_at_reward = 0.1 * math.exp(-10 / 20) * math.exp(-(delay_s - 0.01))
    tau_s = 1.0 * 0.2 / 1.2
    want = c_at_reward * 5.0 * tau_s * (1 - math.exp(-3 / tau_s))
    assert after[0] - 0.5 == pytest.approx(want, rel=1e-9)
    assert after[0] - 0.5 > 1e-4


def test_hard_bounds_clamp_exactly():
    """With a huge reward the weight saturates at w_max and stays there."""
    params = pl.RSTDPParams(stdp=pl.STDPParams(a_plus=0.5, w_max_mV=0.6), b=0.0)
    out = pl.apply_rule_to_trains(params, spikes([0], [10 * MS]), spikes([0], [12 * MS]), [0],
                                  [0], 0.5, reward_t_ns=[50 * MS], reward_amount=[100.0],
                                  sample_t_ns=[5 * S])
    assert out['w'][0, 0] == 0.6


def test_resource_model_bounds_effective_weight():
    p = pl.STDPParams(w_min_mV=0.0, w_max_mV=2.0, homeostasis=pl.HomeostasisParams(
        resource=True))
    big = np.array([-1.0, 0.0, 2.0, 1e9])
    eff = pl.effective_weight(big, p)
    np.testing.assert_allclose(eff, [0.0, 0.0, 1.0, 2.0], rtol=1e-8)
    assert np.all(np.diff(pl.effective_weight(np.linspace(0, 10, 50), p)) > 0)


def test_ltp_vanishes_at_high_post_rate():
    hom = pl.HomeostasisParams(rate_max_hz=5.0, tau_rate_s=1.0)
    p = pl.STDPParams(homeostasis=hom)
    post = list(range(1 * MS, 200 * MS, 10 * MS))  # 100 Hz burst: r > 5 Hz after a few spikes
    pre = [t - 2 * MS for t in post[10:]]
    free = pl.apply_rule_to_trains(pl.STDPParams(a_minus=0.0), spikes([0] * len(pre), pre),
                                   spikes([0] * len(post), post), [0], [0], 0.5)
    limited = pl.apply_rule_to_trains(p._replace(a_minus=0.0), spikes([0] * len(pre), pre),
                                      spikes([0] * len(post), post), [0], [0], 0.5)
    assert free['w'][0, 0] > 0.55
    assert limited['w'][0, 0] == 0.5


def test_normalise_incoming():
    w = np.array([1.0, 3.0, 2.0, 2.0, 0.5])
    post = np.array([0, 0, 1, 1, 2])
    pl.normalise_incoming(w, post, 3, 2.0)
    np.testing.assert_allclose(np.bincount(post, weights=w), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(w[:2], [0.5, 1.5])


def test_short_term_depression_matches_reference():
    rng = np.random.default_rng(1)
    times = np.sort(rng.choice(np.arange(1, 2000) * MS, 60, replace=False))
    params = pl.STDParams(U=0.4, tau_rec_s=0.3)
    eff = pl.apply_std_to_train(params, spikes([0] * times.size, times))
    np.testing.assert_allclose(eff, naive_std(params, times.tolist()), rtol=1e-12)
    assert eff[0] == 1.0 and eff.min() < 0.8


def test_float32_state_close_to_float64():
    rng = np.random.default_rng(5)
    pre = np.sort(rng.choice(np.arange(1, 3000) * MS, 150, replace=False))
    post = np.sort(rng.choice(np.arange(1, 3000) * MS, 150, replace=False))
    args = (pl.RSTDPParams(), spikes(pre % 3, pre), spikes(post % 2, post),
            [0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1], 0.5)
    kw = {'reward_t_ns': [800 * MS, 2500 * MS], 'reward_amount': [10.0, 10.0],
          'sample_t_ns': [3500 * MS]}
    a = pl.apply_rule_to_trains(*args, dtype=np.float32, **kw)
    b = pl.apply_rule_to_trains(*args, dtype=np.float64, **kw)
    assert a['state'].w.dtype == np.float32
    np.testing.assert_allclose(a['w'], b['w'], rtol=1e-5)


def test_memory_budget():
    assert pl.bytes_per_synapse(pl.STDPParams()) == 12
    assert pl.bytes_per_synapse(pl.RSTDPParams()) == 16
    assert pl.bytes_per_synapse(pl.RSTDPParams(), np.float64) <= 32
    st_ = pl.new_state(pl.RSTDPParams(), 1000, 10, 0.5)
    assert (st_.w.nbytes + st_.c.nbytes + st_.t_last.nbytes) / 1000 == 16


@pytest.mark.parametrize('bad, field', [
    (pl.STDPParams(pairing='pairs'), 'pairing'),
    (pl.STDPParams(bounds='none'), 'bounds'),
    (pl.STDPParams(tau_plus_s=0.0), 'tau_plus_s'),
    (pl.STDPParams(w_min_mV=1.0, w_max_mV=0.5), 'w_min_mV'),
    (pl.STDPParams(a_plus=-1.0), 'a_plus'),
    (pl.RSTDPParams(tau_c_s=-1.0), 'tau_c_s'),
    (pl.RSTDPParams(reward_scope='local'), 'reward_scope'),
    (pl.STDPParams(bounds='soft', homeostasis=pl.HomeostasisParams(resource=True)),
     'resource'),
    (pl.STDParams(U=1.5), 'U'),
])
def test_validation_names_the_field(bad, field):
    with pytest.raises(ValueError, match=field):
        pl.validate(bad)


def test_params_from_dict():
    p = pl.params_from_dict({'rule': 'rstdp', 'a_plus': 0.02, 'tau_c_s': 2.0,
                             'homeostasis': {'a_pre': 0.001}})
    assert isinstance(p, pl.RSTDPParams) and p.stdp.a_plus == 0.02 and p.tau_c_s == 2.0
    assert p.stdp.homeostasis.a_pre == 0.001
    assert pl.params_from_dict({'rule': 'std', 'U': 0.2}) == pl.STDParams(U=0.2)
    for block, where in [({'rule': 'hebb'}, 'plasticity.rule'),
                         ({'rule': 'stdp', 'tau_c_s': 1.0}, 'plasticity.tau_c_s'),
                         ({'rule': 'stdp', 'pairing': 'x'}, 'plasticity.pairing'),
                         ({'rule': 'stdp', 'homeostasis': {'foo': 1}},
                          'plasticity.homeostasis.foo')]:
        with pytest.raises(ValueError, match=where.replace('.', r'\.')):
            pl.params_from_dict(block)


def _distal_reward_run(shuffle):
    """100 neurons x 40 inputs, 2 Hz Poisson trains, 30 min; reward 1-3 s after pairings."""
    rng = np.random.default_rng(7)
    n, k, rate_hz, t_end = 100, 40, 2.0, 1800 * S
    syn_post = np.repeat(np.arange(n), k)
    syn_pre = np.concatenate([rng.choice(np.delete(np.arange(n), i), k, replace=False)
                              for i in range(n)])
    chosen = 1234
    m = rng.poisson(rate_hz * n * t_end / S)
    trains = spikes(rng.integers(0, n, m), np.sort(rng.integers(1, t_end, m)))
    d_dend = 1 * MS
    pre_a = trains['t'][trains['neuron'] == syn_pre[chosen]]
    post_b = trains['t'][trains['neuron'] == syn_post[chosen]] + d_dend
    before = np.searchsorted(pre_a, post_b) - 1
    lag = post_b - pre_a[np.maximum(before, 0)]
    pairings = post_b[(before >= 0) & (lag > 0) & (lag <= 20 * MS)]
    reward_t = pairings + rng.integers(1 * S, 3 * S, pairings.size)
    if shuffle:  # same number of rewards, at times unrelated to the pairings
        reward_t = rng.integers(1 * S, t_end, pairings.size)
    params = pl.RSTDPParams(stdp=pl.STDPParams(a_plus=0.1, a_minus=0.15, w_max_mV=4.0),
                            tau_c_s=1.0, tau_d_s=0.2)
    out = pl.apply_rule_to_trains(params, trains, trains, syn_pre, syn_post, 1.0, n_pre=n,
                                  n_post=n, dendritic_delay_ns=d_dend,
                                  reward_t_ns=np.sort(reward_t), reward_amount=10.0,
                                  sample_t_ns=[t_end], dtype=np.float32)
    return out['w'][0], chosen, pairings.size


@pytest.mark.slow
def test_distal_reward_credits_the_rewarded_synapse():
    """
    Izhikevich (2007) credit assignment on given trains (no network feedback).

    Rewards 1-3 s after each pre->post pairing of one synapse make it the
    strongest of 4,000; the same rewards at random times do not.
    """
    w, chosen, n_rewards = _distal_reward_run(shuffle=False)
    assert n_rewards > 100
    assert np.argmax(w) == chosen
    assert w[chosen] > 4 * np.mean(w)
    w_ctrl, _, _ = _distal_reward_run(shuffle=True)
    assert w_ctrl[chosen] < np.max(np.delete(w_ctrl, chosen))
