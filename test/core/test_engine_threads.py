"""
The multi-threaded mode: disjoint blocks of target neurons in parallel, same results.

Inside a window of length d_min no spike can affect another neuron, so each block
runs its neurons with private spike buffers and the window's spikes are sorted
before delivery: any number of threads must give exactly the spikes, states and
weights of one thread (every model, fused drives, grid Poisson sources, pushed
input, per-synapse delays, rows not sorted by target, plasticity).
"""

import numpy as np
import pytest

from snn_ros.core import plasticity as pl
from snn_ros.core.network import Network
from snn_ros.core.neurons import AdaptiveLIFParams, ExpLIFParams, LIFParams
from snn_ros.core.simulator import Simulator

MS = 1_000_000


def _network(seed, explicit):
    rng = np.random.default_rng(seed)
    net = Network(seed=seed)
    inp = net.add_source('inp', 30, record=True)
    drive = net.add_source('drive', 60, 'poisson', rate_hz=3000.0)
    noise = net.add_source('noise', 20, 'poisson', rate_hz=40.0, grid_s=0.0005)
    grid_drive = net.add_source('grid_drive', 25, 'poisson', rate_hz=2000.0, grid_s=0.0002)
    a = net.add_population('a', 60, params=LIFParams(u_min_mV=-5.0))
    b = net.add_population('b', 25, 'lif_exp', ExpLIFParams(i_ext_mV=15.0))
    c = net.add_population('c', 25, 'lif_adaptive', AdaptiveLIFParams(i_ext_mV=40.0))
    net.connect(drive, a, 'one_to_one', 0.5, 0.0015)
    net.connect(noise, a, 'fixed_indegree', 1.0, 0.002, indegree=4)
    net.connect(inp, a, 'fixed_indegree', rng.uniform(1.0, 4.0, 600), 0.001, indegree=10,
                plasticity=pl.STDPParams(a_plus=0.2, a_minus=0.2, w_max_mV=5.0))
    net.connect(a, a, 'fixed_indegree', 0.8, rng.uniform(0.001, 0.004, 720), indegree=12)
    net.connect(a, b, 'fixed_indegree', 2.0, 0.0012, indegree=8)
    net.connect(grid_drive, b, 'one_to_one', 3.0, 0.001)
    net.connect(b, c, 'all_to_all', -1.0, 0.003)
    pre = rng.integers(0, 25, 200)
    post = rng.integers(0, 60, 200)
    if not explicit:
        order = np.lexsort((post, pre))
        pre, post = pre[order], post[order]
    net.connect(c, a, 'explicit', 1.5, 0.001, pre_idx=pre, post_idx=post,
                plasticity=pl.RSTDPParams(stdp=pl.STDPParams(a_plus=0.3, a_minus=0.3,
                                                             w_max_mV=4.0)))
    net.add_lateral_inhibition(b, -0.5, 0.001)
    t = np.sort(rng.integers(0, 400 * MS, 900)).astype(np.int64)
    idx = rng.integers(0, 30, t.size).astype(np.int32)
    return net, inp, (a, b, c), idx, t


def _run(threads, seed, explicit=True):
    net, inp, pops, idx, t = _network(seed, explicit)
    sim = Simulator(net, seed=3, threads=threads, queue_capacity=8)
    sim.push_spikes(inp, idx, t)
    now = 0
    for step in (3, 50, 1, 97, 250):
        now += step * MS
        sim.run_until(now)
        sim.deliver_reward(now, 1.0)
    return sim, pops


@pytest.mark.parametrize('threads,unsorted', [(2, True), (3, True), (2, False)])
def test_threads_give_the_spikes_of_one_thread(threads, unsorted):
    one, pops1 = _run(1, 0, unsorted)
    many, pops = _run(threads, 0, unsorted)
    assert many._sorted_rows != unsorted
    assert sum(one.spikes(p).size for p in pops1) > 500
    for p1, p in zip(pops1, pops):
        np.testing.assert_array_equal(many.spikes(p), one.spikes(p1))
        for key, value in one.state(p1).items():
            np.testing.assert_array_equal(many.state(p)[key], value)
    assert many.n_events == one.n_events
    for key, value in one.state_arrays().items():
        np.testing.assert_array_equal(many.state_arrays()[key], value, err_msg=key)
