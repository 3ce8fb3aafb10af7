"""
Izhikevich (2007) distal reward, scaled down, in the running engine.

E. M. Izhikevich, "Solving the distal reward problem through linkage of STDP and
dopamine signaling", Cereb. Cortex 17 (2007) 2443-2452: a random network with
R-STDP on its excitatory synapses; every time one chosen synapse's presynaptic
neuron is followed within 20 ms by its postsynaptic neuron, a reward arrives 1-3 s
later. Eligibility traces (tau_c = 1 s) bridge the delay, so the chosen synapse
grows to the top of the distribution while the others stay low. Scaled here to
200 LIF neurons (160 excitatory, 40 inhibitory), 32 excitatory (no autapses: a
neuron's own spike is a pre-before-post pair at its synapse) and 8 inhibitory
inputs each, random "thalamic" kicks of 25 mV at 1 Hz per neuron, R-STDP with
Izhikevich's A- = 1.5 A+, one hour of network time (seeded). The engine is only
driven through its public API (``deliver_reward``, ``plastic_state``).
"""

import numpy as np
import pytest

from snn_ros.core import plasticity as pl
from snn_ros.core.network import Network
from snn_ros.core.neurons import LIFParams
from snn_ros.core.simulator import Simulator

MS = 1_000_000
S = 1_000_000_000
KICK_HZ = 1.0     # random thalamic kicks per neuron
REWARD = 20.0     # reward spike [1/s] added to d


def _distal_reward(seed, minutes):
    rng = np.random.default_rng(seed)
    n_exc, n_inh = 160, 40
    net = Network(seed=seed)
    thal = net.add_source('thalamus', n_exc + n_inh)
    exc = net.add_population('exc', n_exc, params=LIFParams(), record=True)
    inh = net.add_population('inh', n_inh, params=LIFParams())
    rule = pl.RSTDPParams(stdp=pl.STDPParams(a_plus=0.1, a_minus=0.15, w_min_mV=0.0,
                                             w_max_mV=4.0),
                          tau_c_s=1.0, tau_d_s=0.2, b=0.0)
    net.connect(thal, exc, 'explicit', 25.0, 0.001, pre_idx=np.arange(n_exc),
                post_idx=np.arange(n_exc))
    net.connect(thal, inh, 'explicit', 25.0, 0.001, pre_idx=n_exc + np.arange(n_inh),
                post_idx=np.arange(n_inh))
    ee = net.connect(exc, exc, 'fixed_indegree', 1.0, 0.001, indegree=32, plasticity=rule,
                     allow_autapses=False, name='ee')
    net.connect(exc, inh, 'fixed_indegree', 1.0, 0.001, indegree=32)
    net.connect(inh, exc, 'fixed_indegree', -1.0, 0.001, indegree=8)
    net.connect(inh, inh, 'fixed_indegree', -1.0, 0.001, indegree=8)
    sim = Simulator(net, seed=seed)
    t_end = minutes * 60 * S
    n_kicks = rng.poisson(KICK_HZ * (n_exc + n_inh) * t_end / S)
    sim.push_spikes(thal, rng.integers(0, n_exc + n_inh, n_kicks).astype(np.int32),
                    np.sort(rng.integers(0, t_end, n_kicks)).astype(np.int64))
    chosen = 0
    a, b = int(ee.pre_idx[chosen]), int(ee.post_idx[chosen])
    d = int(ee.delay_ns[chosen])
    pending = []
    last_a = None
    n_pairings = 0
    step = 50 * MS
    now = 0
    while now < t_end:
        nxt = min(now + step, t_end)
        while pending and pending[0] <= nxt:
            t_r = pending.pop(0)
            sim.run_until(t_r)
            sim.deliver_reward(t_r, REWARD)
        sim.run_until(nxt)
        now = nxt
        spk = sim.spikes(exc)
        sim.clear_spikes()
        for neuron, t in zip(spk['neuron'], spk['t']):
            if neuron == a:
                last_a = int(t)
            elif neuron == b and last_a is not None and 0 < int(t) + d - last_a <= 20 * MS:
                n_pairings += 1
                delay = int(rng.integers(1 * S, 3 * S))
                pending.append(max(int(t) + delay, now))
                pending.sort()
    w = sim.plastic_state(ee)['w']
    return w, chosen, n_pairings


@pytest.mark.slow
def test_distal_reward_in_the_engine():
    w, chosen, n_pairings = _distal_reward(seed=3, minutes=60)
    assert n_pairings > 40
    assert np.argmax(w) == chosen, f'chosen {w[chosen]:.3f}, best other {np.max(w):.3f}'
    assert w[chosen] > 3.0 * np.mean(w)
    assert w[chosen] > 1.1 * np.max(np.delete(w, chosen))
