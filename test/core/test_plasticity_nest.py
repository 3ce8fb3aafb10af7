"""
Plasticity against NEST 3.10: the same spike trains through NEST's synapses and ours.

Two ``parrot_neuron``s repeat spike-generator trains on the 0.1 ms grid; the
plastic synapse joins them on receptor 1, so it learns but does not make the
postsynaptic parrot fire. NEST treats the whole delay as dendritic: the synapse
sees a presynaptic spike at the parrot's spike time and a postsynaptic spike
``delay`` later, which is our ``dendritic_delay_ns``. A dopamine parrot feeds a
``volume_transmitter``; NEST stamps each dopamine spike with its arrival time
(parrot time + connection delay) and adds ``1/tau_n`` [1/ms] to ``n``, which is
a reward of ``1/tau_d_s`` [1/s] here. ``stdp_synapse`` updates its weight at
presynaptic spikes only, so it is compared at the last presynaptic spike;
``stdp_dopamine_synapse`` is brought up to date by the volume transmitter at
every ``min_delay``, so it is compared at the end of the run.

``stdp_nn_symm_synapse`` starts with ``t_lastspike = 0`` and so pairs the
postsynaptic spikes before the first presynaptic spike with a phantom
presynaptic spike at t = 0; every presynaptic train here therefore starts with
a spike at 1 ms, before any postsynaptic spike.
"""

import numpy as np
import pytest

from snn_ros.bench.peers import import_nest
from snn_ros.core import plasticity as pl
from snn_ros.core.types import SPIKE_DTYPE

MS = 1_000_000
VT_DELAY_MS = 0.1


def _grid_train(rng, rate_hz, t_end_ms):
    steps = np.arange(30, int(t_end_ms * 10) - 20)
    n = rng.poisson(rate_hz * t_end_ms / 1000)
    return np.sort(rng.choice(steps, size=min(n, steps.size), replace=False)) / 10.0


def _spikes(t_ns):
    out = np.zeros(len(t_ns), dtype=SPIKE_DTYPE)
    out['t'] = t_ns
    return out


def _nest_run(model, syn, pre_ms, post_ms, dopa_ms, delay_ms, tau_minus_ms, t_end_ms, common):
    nest = import_nest()
    nest.ResetKernel()
    nest.set(resolution=0.1, local_num_threads=1, print_time=False)
    g_pre = nest.Create('spike_generator', params={'spike_times': list(pre_ms)})
    g_post = nest.Create('spike_generator', params={'spike_times': list(post_ms)})
    p_pre = nest.Create('parrot_neuron')
    p_post = nest.Create('parrot_neuron', params={'tau_minus': tau_minus_ms})
    nest.Connect(g_pre, p_pre, syn_spec={'delay': 0.1})
    nest.Connect(g_post, p_post, syn_spec={'delay': 0.1})
    rec = nest.Create('spike_recorder')
    nest.Connect(p_pre + p_post, rec)
    p_dopa = None
    if model == 'stdp_dopamine_synapse':
        g_dopa = nest.Create('spike_generator', params={'spike_times': list(dopa_ms)})
        p_dopa = nest.Create('parrot_neuron')
        vt = nest.Create('volume_transmitter')
        nest.Connect(g_dopa, p_dopa, syn_spec={'delay': 0.1})
        nest.Connect(p_dopa, vt, syn_spec={'delay': VT_DELAY_MS})
        nest.Connect(p_dopa, rec)
        nest.SetDefaults(model, dict(common, volume_transmitter=vt))
    nest.Connect(p_pre, p_post, syn_spec=dict(syn, synapse_model=model, delay=delay_ms,
                                              receptor_type=1))
    nest.Simulate(t_end_ms)
    ev = rec.events
    t_ns = np.round(np.asarray(ev['times']) * 1e6).astype(np.int64)
    senders = np.asarray(ev['senders'])
    out = {'pre': np.sort(t_ns[senders == p_pre.global_id]),
           'post': np.sort(t_ns[senders == p_post.global_id]),
           'w': float(nest.GetConnections(p_pre, p_post).get('weight'))}
    if p_dopa is not None:
        out['dopa'] = np.sort(t_ns[senders == p_dopa.global_id]) + int(VT_DELAY_MS * MS)
    return out


STDP_CASES = [
    # (nest model, pairing, bounds, w_max, a_plus, a_minus)
    ('stdp_synapse', 'all_to_all', 'hard', 1.0, 0.01, 0.0105),
    ('stdp_synapse', 'all_to_all', 'hard', 0.6, 0.05, 0.04),    # bounds are hit
    ('stdp_synapse', 'all_to_all', 'soft', 1.0, 0.05, 0.06),
    ('stdp_nn_symm_synapse', 'nearest', 'hard', 1.0, 0.02, 0.021),
]


@pytest.mark.peer
@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('delay_ms', [0.1, 1.5])
@pytest.mark.parametrize('model, pairing, bounds, w_max, a_plus, a_minus', STDP_CASES)
def test_stdp_matches_nest(model, pairing, bounds, w_max, a_plus, a_minus, delay_ms, seed):
    rng = np.random.default_rng(seed)
    t_end = 3000.0
    pre_ms, post_ms = _grid_train(rng, 25, t_end), _grid_train(rng, 25, t_end)
    pre_ms = np.concatenate([[1.0], pre_ms])
    tau_plus, tau_minus = 16.8, 33.7
    lam = a_plus / w_max if bounds == 'hard' else a_plus
    mu = 0.0 if bounds == 'hard' else 1.0
    syn = {'weight': 0.5 * w_max, 'tau_plus': tau_plus, 'lambda': lam,
           'alpha': a_minus / a_plus, 'mu_plus': mu, 'mu_minus': mu, 'Wmax': w_max}
    got = _nest_run(model, syn, pre_ms, post_ms, [], delay_ms, tau_minus, t_end, {})
    params = pl.STDPParams(a_plus=a_plus, a_minus=a_minus, tau_plus_s=tau_plus / 1e3,
                           tau_minus_s=tau_minus / 1e3, pairing=pairing, bounds=bounds,
                           w_min_mV=0.0, w_max_mV=w_max)
    ours = pl.apply_rule_to_trains(params, _spikes(got['pre']), _spikes(got['post']), [0], [0],
                                   0.5 * w_max, dendritic_delay_ns=int(round(delay_ms * MS)),
                                   sample_t_ns=[got['pre'][-1]])
    assert got['pre'].size > 30 and got['post'].size > 30
    assert abs(got['w'] - 0.5 * w_max) > 1e-4, 'the trains must change the weight'
    assert ours['w'][0, 0] == pytest.approx(got['w'], rel=1e-6)


@pytest.mark.peer
@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('delay_ms, b_per_ms', [(1.0, 0.0), (2.5, 0.0), (1.0, 0.002),
                                                (0.1, -0.001)])
def test_rstdp_matches_nest_dopamine_synapse(delay_ms, b_per_ms, seed):
    rng = np.random.default_rng(100 + seed)
    t_end = 3000.0
    pre_ms, post_ms = _grid_train(rng, 20, t_end), _grid_train(rng, 20, t_end)
    dopa_ms = _grid_train(rng, 4, t_end)
    tau_plus, tau_minus, tau_c, tau_n = 20.0, 25.0, 700.0, 150.0
    common = {'A_plus': 0.05, 'A_minus': 0.055, 'tau_plus': tau_plus, 'tau_c': tau_c,
              'tau_n': tau_n, 'b': b_per_ms, 'Wmin': -1e6, 'Wmax': 1e6}
    got = _nest_run('stdp_dopamine_synapse', {'weight': 1.0}, pre_ms, post_ms, dopa_ms,
                    delay_ms, tau_minus, t_end, common)
    params = pl.RSTDPParams(
        stdp=pl.STDPParams(a_plus=0.05, a_minus=0.055, tau_plus_s=tau_plus / 1e3,
                           tau_minus_s=tau_minus / 1e3, w_min_mV=-1e6, w_max_mV=1e6),
        tau_c_s=tau_c / 1e3, tau_d_s=tau_n / 1e3, b=b_per_ms * 1e3)
    ours = pl.apply_rule_to_trains(params, _spikes(got['pre']), _spikes(got['post']), [0], [0],
                                   1.0, dendritic_delay_ns=int(round(delay_ms * MS)),
                                   reward_t_ns=got['dopa'], reward_amount=1e3 / tau_n,
                                   sample_t_ns=[int(t_end * MS)])
    assert got['dopa'].size >= 3
    assert abs(got['w'] - 1.0) > 1e-4, 'the trains must change the weight'
    assert ours['w'][0, 0] == pytest.approx(got['w'], rel=1e-6)
