"""The engine against closed-form single-neuron solutions (spike times within 1 ns)."""

import math

import mpmath
import numpy as np
import pytest

from snn_ros.core.network import Network
from snn_ros.core.neurons import AdaptiveLIFParams, ExpLIFParams, LIFParams
from snn_ros.core.simulator import Simulator

MS = 1_000_000


def _single(model, params, n_inputs=0, weight=0.0, delay_s=0.001):
    net = Network()
    pop = net.add_population('pop', 1, model, params)
    src = None
    if n_inputs:
        src = net.add_source('src', n_inputs)
        net.connect(src, pop, 'all_to_all', weight, delay_s)
    return net, pop, src


@pytest.mark.parametrize('i_ext', [20.5, 25.0, 60.0])
def test_lif_constant_drive_period(i_ext):
    p = LIFParams(tau_m_s=0.02, theta_mV=20.0, u_reset_mV=10.0, t_ref_s=0.002, i_ext_mV=i_ext)
    net, pop, _ = _single('lif', p)
    sim = Simulator(net)
    sim.run_until(300 * MS)
    t = sim.spikes(pop)['t']
    first = p.tau_m_s * math.log(i_ext / (i_ext - p.theta_mV))
    period = p.t_ref_s + p.tau_m_s * math.log((i_ext - p.u_reset_mV) / (i_ext - p.theta_mV))
    expected = (first + period * np.arange(t.size)) * 1e9
    assert t.size == int((0.3 - first) / period) + 1
    assert np.max(np.abs(t - expected)) <= 1.0


def test_lif_input_jumps_and_refractory():
    p = LIFParams(tau_m_s=0.01, theta_mV=10.0, u_reset_mV=0.0, t_ref_s=0.003)
    net, pop, src = _single('lif', p, n_inputs=1, weight=4.0, delay_s=0.0005)
    sim = Simulator(net)
    # Arrivals (= spike + 0.5 ms) at 1.5, 2.5, 3.0 ms reach threshold only at the third.
    sim.push_spikes(src, np.zeros(3, np.int32), np.array([1_000_000, 2_000_000, 2_500_000]))
    sim.run_until(2_700_000)
    u_expect = 4.0 * (math.exp(-1.2 / 10) + math.exp(-0.2 / 10))
    assert sim.state(pop)['u'][0] == pytest.approx(u_expect, rel=1e-12)
    sim.run_until(4 * MS)
    u3 = 4.0 * (math.exp(-1.5 / 10) + math.exp(-0.5 / 10) + 1)
    assert u3 >= 10.0
    assert sim.spikes(pop)['t'].tolist() == [3_000_000]
    # An arrival during the refractory period [3, 6) ms is ignored; after it, u decays from 0.
    sim.push_spikes(src, np.zeros(2, np.int32), np.array([5_000_000, 6_000_000]))
    sim.run_until(8 * MS)
    assert sim.state(pop)['u'][0] == pytest.approx(4.0 * math.exp(-1.5 / 10), rel=1e-12)
    assert sim.state(pop)['refractory'][0] == np.False_


def test_lif_lower_bound():
    p = LIFParams(tau_m_s=0.01, u_min_mV=-5.0, u_reset_mV=0.0)
    net, pop, src = _single('lif', p, n_inputs=1, weight=-3.0, delay_s=0.001)
    sim = Simulator(net)
    sim.push_spikes(src, np.zeros(3, np.int32), np.array([0, 1, 2]) * MS)
    # Arrivals at 1, 2, 3 ms: -3, then -3 e^(-0.1) - 3 = -5.71 -> -5, then -7.5 -> -5.
    sim.run_until(3 * MS)
    assert sim.state(pop)['u'][0] == pytest.approx(-5.0 * math.exp(-0.1), rel=1e-12)
    sim.run_until(4 * MS)
    assert sim.state(pop)['u'][0] == pytest.approx(-5.0 * math.exp(-0.1), rel=1e-12)


def test_lif_after_a_long_silence():
    """Held states over 10,000 tau without a window: u decays to rest, then jumps exactly."""
    p = LIFParams(tau_m_s=0.002, theta_mV=10.0, u_reset_mV=0.0, u_init_mV=5.0)
    net, pop, src = _single('lif', p, n_inputs=1, weight=4.0, delay_s=0.001)
    sim = Simulator(net)
    sim.run_until(3 * MS)
    assert sim.state(pop)['u'][0] == pytest.approx(5.0 * math.exp(-1.5), rel=1e-12)
    sim.push_spikes(src, np.zeros(3, np.int32),
                    np.array([20_000 * MS, 20_000 * MS, 20_000 * MS + 500_000]))
    sim.run_until(20_000 * MS)
    assert sim.state(pop)['u'][0] == 0.0
    sim.run_until(20_001 * MS + 250_000)
    # Two arrivals of 4 mV at 20.001 s (8 mV), then 0.25 ms of decay; the third crosses.
    assert sim.state(pop)['u'][0] == pytest.approx(8.0 * math.exp(-0.125), rel=1e-12)
    sim.run_until(20_003 * MS)
    assert 8.0 * math.exp(-0.25) + 4.0 >= 10.0
    assert sim.spikes(pop)['t'].tolist() == [20_001 * MS + 500_000]


def _exp_crossing(w, tau_m, tau_s, theta):
    """Return the first s where K w (e^(-s/tau_s) - e^(-s/tau_m)) = theta, with 50 digits."""
    mpmath.mp.dps = 50
    k = mpmath.mpf(tau_s) / (mpmath.mpf(tau_s) - tau_m)

    def f(s):
        return k * w * (mpmath.exp(-s / tau_s) - mpmath.exp(-s / tau_m)) - theta

    lo = mpmath.mpf(0)
    hi = mpmath.log(mpmath.mpf(tau_m) / tau_s) / (1 / mpmath.mpf(tau_s) - 1 / mpmath.mpf(tau_m))
    assert f(hi) > 0
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) >= 0:
            hi = mid
        else:
            lo = mid
    return hi


@pytest.mark.parametrize('w,tau_s', [(150.0, 0.005), (300.0, 0.002), (50.0, 0.03), (127.5, 0.005)])
def test_lif_exp_crossing_between_arrivals(w, tau_s):
    p = ExpLIFParams(tau_m_s=0.02, tau_s_s=tau_s, theta_mV=20.0, u_reset_mV=0.0, t_ref_s=0.5)
    net, pop, src = _single('lif_exp', p, n_inputs=1, weight=w, delay_s=0.001)
    sim = Simulator(net)
    sim.push_spikes(src, np.zeros(1, np.int32), np.array([2 * MS]))
    sim.run_until(200 * MS)
    t = sim.spikes(pop)['t']
    s_ref = _exp_crossing(w, p.tau_m_s * 1e9, tau_s * 1e9, p.theta_mV)
    exact = 3 * MS + float(s_ref)
    assert t.size == 1
    assert abs(t[0] - exact) <= 0.5 + 1e-6


def test_lif_exp_subthreshold_input_never_fires():
    p = ExpLIFParams(tau_m_s=0.02, tau_s_s=0.005, theta_mV=20.0)
    # The peak of K w (e^(-s/ts) - e^(-s/tm)) is 0.1575 w: 126 mV of current peaks at 19.85 mV.
    net, pop, src = _single('lif_exp', p, n_inputs=1, weight=126.0)
    sim = Simulator(net)
    sim.push_spikes(src, np.zeros(1, np.int32), np.array([0]))
    sim.run_until(100 * MS)
    assert sim.spikes(pop).size == 0


def test_adaptive_threshold_closed_form():
    p = AdaptiveLIFParams(tau_m_s=0.01, theta_mV=10.0, u_reset_mV=0.0, t_ref_s=0.001,
                          i_ext_mV=15.0, tau_theta_s=0.05, theta_jump_mV=1.0)
    net, pop, _ = _single('lif_adaptive', p)
    sim = Simulator(net)
    sim.run_until(200 * MS)
    t = sim.spikes(pop)['t'].astype(np.float64)
    assert t.size > 5
    # The first spike is plain LIF; the intervals then grow as theta builds up.
    assert abs(t[0] - 1e7 * math.log(15.0 / 5.0)) <= 1.0
    assert np.all(np.diff(np.diff(t)) >= -1.0)

    def theta_at(x, spikes):
        return p.theta_mV + sum(p.theta_jump_mV * math.exp(-(x - s) / 5e7) for s in spikes)

    # At every spike, u (free evolution since the previous reset) meets theta(t).
    for k in range(1, t.size):
        s = t[k] - (t[k - 1] + 1e6)
        u = 15.0 - 15.0 * math.exp(-s / 1e7)
        assert abs(u - theta_at(t[k], t[:k])) < 1e-5
    theta_now = sim.state(pop)['theta'][0]
    assert abs(theta_now - theta_at(200e6, t)) < 1e-7  # spike times are rounded to 1 ns


@pytest.mark.parametrize('weights, fires', [((15.0, -10.0), False), ((-10.0, 15.0), False),
                                            ((6.0, 6.0), True), ((12.0, -1.0), True)])
def test_coincident_arrivals_are_summed_before_the_threshold_test(weights, fires):
    # As NEST iaf_psc_delta_ps: the weights that arrive at one instant add up first.
    p = LIFParams(tau_m_s=0.01, theta_mV=10.0, u_reset_mV=0.0, t_ref_s=0.002)
    net = Network()
    pop = net.add_population('pop', 1, 'lif', p)
    src = net.add_source('src', 2)
    net.connect(src, pop, 'explicit', np.array(weights), 0.001, pre_idx=np.array([0, 1]),
                post_idx=np.array([0, 0]))
    sim = Simulator(net)
    sim.push_spikes(src, np.array([0, 1]), np.array([MS, MS]))
    sim.run_until(10 * MS)
    assert sim.spikes(pop)['t'].tolist() == ([2 * MS] if fires else [])


def test_inputs_summing_to_theta_fire_whatever_the_rounding():
    """16 coincident arrivals of 0.5 mV from rest reach 8 mV exactly, at 60 different times."""
    p = LIFParams(tau_m_s=0.01, theta_mV=8.0, u_reset_mV=0.0, t_ref_s=0.002)
    net = Network()
    pop = net.add_population('pop', 1, 'lif', p)
    src = net.add_source('src', 16)
    net.connect(src, pop, 'all_to_all', 0.5, 0.001)
    sim = Simulator(net)
    times = 100 * MS * np.arange(60) + np.random.default_rng(0).integers(0, MS, 60)
    sim.push_spikes(src, np.tile(np.arange(16), 60), np.repeat(times, 16))
    sim.run_until(6_001 * MS)
    assert sim.spikes(pop)['t'].tolist() == (times + MS).tolist()
