"""
Plasticity beside the engine, without touching it: run, read spikes, learn, write weights.

The simulator runs in steps of ``d_min``; after each step the new spikes go to a
``PlasticProjection`` and its weights are written back into the engine's weight
view, so deliveries use weights at most one step old. The learned weights must
equal what the standalone driver computes from the same recorded spike trains.
"""

import numpy as np

from snn_ros.core import plasticity as pl
from snn_ros.core.network import Network
from snn_ros.core.neurons import LIFParams
from snn_ros.core.simulator import Simulator
from snn_ros.core.types import SPIKE_DTYPE


def test_stepped_learning_in_a_running_network():
    rng = np.random.default_rng(0)
    net = Network()
    inp = net.add_source('input', 50, record=True)
    exc = net.add_population('exc', 10, model='lif', params=LIFParams())
    proj = net.connect(inp, exc, 'fixed_indegree', 3.0, 0.001, rng=rng, indegree=20)
    sim = Simulator(net, seed=0)
    t_end = 1_000_000_000
    n = 2000
    sim.push_spikes(inp, rng.integers(0, 50, n).astype(np.int32),
                    np.sort(rng.integers(0, t_end, n)).astype(np.int64))
    params = pl.STDPParams(a_plus=0.05, a_minus=0.05, w_max_mV=6.0)
    plastic = pl.PlasticProjection.for_projection(params, proj, history=64, dtype=np.float64)
    weights = sim.weights(proj)
    seen_pre, seen_post = [], []
    t = 0
    while t < t_end:
        t += sim.d_min_ns
        sim.run_until(t)
        pre, post = sim.spikes(inp), sim.spikes(exc)
        sim.clear_spikes()
        plastic.process(pre, post)
        weights[:] = plastic.weights()
        seen_pre.append(pre)
        seen_post.append(post)
    plastic.flush(t_end)
    pre = np.concatenate(seen_pre).astype(SPIKE_DTYPE)
    post = np.concatenate(seen_post).astype(SPIKE_DTYPE)
    assert pre.size == n and post.size > 100
    ref = pl.apply_rule_to_trains(params, pre, post, proj.pre_idx, proj.post_idx, proj.weight,
                                  n_pre=50, n_post=10, dendritic_delay_ns=proj.delay_ns,
                                  sample_t_ns=[t_end])
    np.testing.assert_allclose(plastic.state.w, ref['w'][0], rtol=1e-12)
    assert plastic.lost == 0
    assert np.ptp(plastic.state.w) > 1.0
