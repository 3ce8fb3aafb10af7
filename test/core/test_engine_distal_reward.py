"""
Izhikevich (2007) distal reward, run by the engine with R-STDP on every E->E synapse.

Izhikevich, Solving the distal reward problem through linkage of STDP and
dopamine signaling, Cereb. Cortex 17:2443 (2007): in a network of 1,000 neurons
with 100 synapses each, a reward that comes 1-3 s after every occurrence of one
chosen pre -> post pairing (post firing within 10 ms after pre) makes that synapse
the strongest of the network, although thousands of other pairings happen
between the pairing and its reward. Here with LIF neurons (800 E, 200 I),
in-degree 80 E + 20 I, 1 ms delays, weak Poisson drive (about 1 Hz), E->E
weights starting at 1 mV in [0, 4] mV, eligibility 1 s, dopamine 0.2 s.
"""

import heapq

import numpy as np
import pytest

from snn_ros.core import plasticity as pl
from snn_ros.core.network import Network
from snn_ros.core.neurons import LIFParams
from snn_ros.core.simulator import Simulator

MS = 1_000_000
S = 1_000_000_000


def _network(seed):
    net = Network(seed=seed)
    p = LIFParams(tau_m_s=0.02, theta_mV=20.0, u_reset_mV=10.0, t_ref_s=0.002)
    e = net.add_population('e', 800, params=p)
    i = net.add_population('i', 200, params=p, record=False)
    xe = net.add_source('xe', 800, 'poisson', rate_hz=580.0)
    xi = net.add_source('xi', 200, 'poisson', rate_hz=580.0)
    net.connect(xe, e, 'one_to_one', 1.0, 0.001)
    net.connect(xi, i, 'one_to_one', 1.0, 0.001)
    rule = pl.RSTDPParams(stdp=pl.STDPParams(a_plus=1.0, a_minus=2.0, tau_plus_s=0.02,
                                             tau_minus_s=0.02, w_min_mV=0.0, w_max_mV=4.0),
                          tau_c_s=1.0, tau_d_s=0.2, b=0.0)
    ee = net.connect(e, e, 'fixed_indegree', 1.0, 0.001, indegree=80, allow_autapses=False,
                     allow_multapses=False, plasticity=rule)
    net.connect(e, i, 'fixed_indegree', 1.0, 0.001, indegree=80)
    net.connect(i, e, 'fixed_indegree', -8.0, 0.001, indegree=20)
    net.connect(i, i, 'fixed_indegree', -8.0, 0.001, indegree=20)
    return net, e, ee


@pytest.mark.slow
def test_rewarded_pairing_becomes_the_strongest_synapse():
    seed = 0
    net, e, ee = _network(seed)
    rng = np.random.default_rng(seed)
    q = int(rng.integers(ee.n_synapses))
    n1, n2 = int(ee.pre_idx[q]), int(ee.post_idx[q])
    sim = Simulator(net, seed=seed)
    # Let the start transient pass without learning.
    sim.learning = False
    now = 5 * S
    sim.run_until(now)
    sim.clear_spikes()
    sim.learning = True
    last1, used1 = None, True
    due = []
    n_pairs = 0
    won_at = None
    check = 60 * S
    while now < 3600 * S and won_at is None:
        nxt = now + 100 * MS
        while due and due[0] <= nxt:
            t_r = heapq.heappop(due)
            if t_r > now:
                sim.run_until(t_r)
                now = t_r
            sim.deliver_reward(now, 2.0)
        sim.run_until(nxt)
        now = nxt
        spikes = sim.spikes(e)
        sim.clear_spikes()
        spikes = spikes[(spikes['neuron'] == n1) | (spikes['neuron'] == n2)]
        for neuron, t in zip(spikes['neuron'], spikes['t']):
            if neuron == n1:
                last1, used1 = int(t), False
            elif not used1 and 0 < t - last1 <= 10 * MS:
                used1 = True
                n_pairs += 1
                heapq.heappush(due, int(t) + int(rng.integers(1 * S, 3 * S + 1)))
        if now >= check:
            check += 60 * S
            w = sim.plastic_state(ee)['w']
            if w[q] > np.max(np.delete(w, q)):
                won_at = now
    assert won_at is not None, f'after 1 h the synapse has weight {w[q]:.3f}, max {w.max():.3f}'
    assert n_pairs > 10
    assert sim.plastic_lost == 0
    w = sim.plastic_state(ee)['w']
    # Most other synapses were not rewarded consistently and did not grow.
    assert np.median(np.delete(w, q)) < 1.0
