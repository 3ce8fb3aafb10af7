"""
``snn-ros bench plasticity``: cost per plastic synaptic event, snn_ros against NEST.

NEST (one thread, ``iaf_psc_delta`` on the 0.1 ms grid) runs the Brunel (2000)
network (NE 4000, NI 1000, CE 400, CI 100, J 0.1 mV, g 5, eta 2, D 1.5 ms) three
times in the same invocation: all synapses static (``nest_static``), E->E with
``stdp_synapse`` (``nest_stdp``), and E->E with ``stdp_dopamine_synapse`` fed by
a 2 Hz Poisson dopamine train through a ``volume_transmitter``: ``nest_rstdp``
with ``deliver_interval`` 1 (NEST's default: every min_delay the transmitter
brings all its synapses up to date), and ``nest_rstdp_lazy`` with an interval
longer than the run (synapses update only at their presynaptic spikes, as
ours do; NEST's cheapest setting).

snn_ros is measured two ways. ``snn_ros_stdp``/``snn_ros_rstdp``: the
**standalone driver** (``apply_rule_to_trains``) replays the excitatory spike
trains that NEST produced (and its dopamine train) through the plasticity
kernels on a fixed-indegree E->E projection with the same statistics (CE = 400,
our own random draw); its time is the kernel call only (no neuron integration,
no spike delivery): the cost of the learning rule alone.
``snn_ros_engine_static``/``_stdp``/``_rstdp``: the **integrated engine**
(``Simulator``) runs ``config/brunel.yaml`` with the rule on ``exc_exc`` (the
R-STDP run gets rewards at NEST's dopamine times), the like-for-like comparison
with NEST's whole-network runs.

Figures per entry: ``wall_s`` and ``cpu_s`` (process CPU time of the same
interval: the machine is shared, so every rate and ratio uses ``cpu_s``),
``rate_hz`` (mean over all neurons for NEST, of the replayed E trains for
snn_ros), ``syn_events_per_s`` (NEST: every recurrent synaptic event, static
ones included, over ``cpu_s``; snn_ros: plastic events over kernel CPU time),
``plastic_events``, ``threads``; NEST entries also carry
``plastic_ns_per_event``: ``(cpu_s - static cpu_s) / plastic_events``, the
extra cost NEST pays per plastic event, which is the like-for-like comparison
with the snn_ros kernel's ``ns_per_event``.
"""

import json
import time

#: STDP parameters shared by NEST and snn_ros (additive, hard bounds).
A_PLUS_MV = 0.001
A_MINUS_MV = 0.00105
TAU_PLUS_MS = 20.0
TAU_MINUS_MS = 20.0
W_MAX_MV = 0.2
#: R-STDP: eligibility and dopamine time constants [ms], dopamine rate [Hz].
TAU_C_MS = 1000.0
TAU_N_MS = 200.0
DOPA_RATE_HZ = 2.0


def add_arguments(parser):
    """Declare the options of ``snn-ros bench plasticity``."""
    parser.add_argument('--json', action='store_true', help='print one JSON object')
    parser.add_argument('--duration-s', type=float, default=1.0,
                        help='network time for the NEST runs [s] (default 1.0)')
    parser.add_argument('--seed', type=int, default=1, help='seed (default 1)')
    parser.add_argument('--quick', action='store_true',
                        help='small network (N=1000, CE=80, CI=20) for 0.2 s: development')


def _nest_brunel(cfg, duration_s, seed, plastic, deliver_interval=1):
    """Run the Brunel network in NEST with E->E ``plastic`` in {None, 'stdp', 'rstdp'}."""
    import numpy as np

    from snn_ros.bench.peers import import_nest, nest_reset
    nest = import_nest()
    nest_reset(nest, seed=seed)
    params = {'E_L': 0.0, 'C_m': 1.0, 'tau_m': cfg['tau_m_s'] * 1e3, 'V_th': cfg['theta_mV'],
              'V_reset': cfg['u_reset_mV'], 't_ref': cfg['t_ref_s'] * 1e3, 'V_m': 0.0,
              'tau_minus': TAU_MINUS_MS}
    exc = nest.Create('iaf_psc_delta', cfg['NE'], params=params)
    inh = nest.Create('iaf_psc_delta', cfg['NI'], params=params)
    every = exc + inh
    delay_ms = cfg['delay_s'] * 1e3
    noise = nest.Create('poisson_generator', params={'rate': cfg['drive_rate_hz']})
    rec = nest.Create('spike_recorder')
    dopa_rec = None
    ee = {'synapse_model': 'static_synapse', 'weight': cfg['J_mV'], 'delay': delay_ms}
    if plastic == 'stdp':
        nest.CopyModel('stdp_synapse', 'ee_plastic', {
            'tau_plus': TAU_PLUS_MS, 'lambda': A_PLUS_MV / W_MAX_MV,
            'alpha': A_MINUS_MV / A_PLUS_MV, 'mu_plus': 0.0, 'mu_minus': 0.0,
            'Wmax': W_MAX_MV})
        ee['synapse_model'] = 'ee_plastic'
    elif plastic == 'rstdp':
        dopa = nest.Create('poisson_generator', params={'rate': DOPA_RATE_HZ})
        parrot = nest.Create('parrot_neuron')
        vt = nest.Create('volume_transmitter', params={'deliver_interval': deliver_interval})
        nest.Connect(dopa, parrot)
        nest.Connect(parrot, vt, syn_spec={'delay': delay_ms})
        dopa_rec = nest.Create('spike_recorder')
        nest.Connect(parrot, dopa_rec)
        nest.CopyModel('stdp_dopamine_synapse', 'ee_plastic', {
            'volume_transmitter': vt, 'A_plus': A_PLUS_MV, 'A_minus': A_MINUS_MV,
            'tau_plus': TAU_PLUS_MS, 'tau_c': TAU_C_MS, 'tau_n': TAU_N_MS, 'b': 0.0,
            'Wmin': 0.0, 'Wmax': W_MAX_MV})
        ee['synapse_model'] = 'ee_plastic'
    nest.Connect(noise, every, syn_spec={'weight': cfg['J_mV'], 'delay': delay_ms})
    nest.Connect(exc, exc, {'rule': 'fixed_indegree', 'indegree': cfg['CE']}, ee)
    nest.Connect(exc, inh, {'rule': 'fixed_indegree', 'indegree': cfg['CE']},
                 {'weight': cfg['J_mV'], 'delay': delay_ms})
    nest.Connect(inh, every, {'rule': 'fixed_indegree', 'indegree': cfg['CI']},
                 {'weight': -cfg['g'] * cfg['J_mV'], 'delay': delay_ms})
    nest.Connect(every, rec)
    nest.Prepare()
    t0, c0 = time.perf_counter(), time.process_time()
    nest.Run(duration_s * 1e3)
    wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    nest.Cleanup()
    ev = rec.events
    senders = np.asarray(ev['senders'], dtype=np.int64)
    t_ns = np.round(np.asarray(ev['times']) * 1e6).astype(np.int64)
    is_exc = senders < exc[0].global_id + cfg['NE']
    n = cfg['NE'] + cfg['NI']
    spikes = int(senders.size)
    exc_spikes = int(is_exc.sum())
    out = {'wall_s': wall_s, 'cpu_s': cpu_s, 'spikes': spikes,
           'rate_hz': spikes / (n * duration_s),
           'syn_events': spikes * (cfg['CE'] + cfg['CI']),
           'plastic_events': exc_spikes * cfg['CE'] if plastic else 0,
           'threads': 1, 'model': 'iaf_psc_delta',
           'synapse': {None: 'static_synapse', 'stdp': 'stdp_synapse',
                       'rstdp': 'stdp_dopamine_synapse'}[plastic]}
    out['syn_events_per_s'] = out['syn_events'] / cpu_s
    trains = {'neuron': senders[is_exc] - exc[0].global_id, 't_ns': t_ns[is_exc]}
    if dopa_rec is not None:
        trains['dopa_t_ns'] = (np.round(np.asarray(dopa_rec.events['times']) * 1e6)
                               .astype(np.int64) + int(round(delay_ms * 1e6)))
    return out, trains


def _snn_ros_replay(cfg, trains, duration_s, seed, rule):
    """Replay the E trains through the plasticity kernels on a random E->E projection."""
    import numpy as np

    from snn_ros.core import plasticity as pl
    from snn_ros.core.types import SPIKE_DTYPE
    ne, ce = cfg['NE'], cfg['CE']
    rng = np.random.default_rng(seed)
    syn_pre = rng.integers(0, ne, ne * ce)
    syn_post = np.repeat(np.arange(ne), ce)
    order = np.argsort(syn_pre, kind='stable')  # CSR order: a pre's synapses are adjacent
    syn_pre, syn_post = syn_pre[order], syn_post[order]
    spikes = np.zeros(trains['t_ns'].size, SPIKE_DTYPE)
    spikes['neuron'] = trains['neuron']
    spikes['t'] = trains['t_ns']
    stdp = pl.STDPParams(a_plus=A_PLUS_MV, a_minus=A_MINUS_MV, tau_plus_s=TAU_PLUS_MS / 1e3,
                         tau_minus_s=TAU_MINUS_MS / 1e3, w_min_mV=0.0, w_max_mV=W_MAX_MV)
    params = stdp
    kw = {}
    if rule == 'rstdp':
        params = pl.RSTDPParams(stdp=stdp, tau_c_s=TAU_C_MS / 1e3, tau_d_s=TAU_N_MS / 1e3)
        kw = {'reward_t_ns': trains['dopa_t_ns'], 'reward_amount': 1e3 / TAU_N_MS}
    out = pl.apply_rule_to_trains(params, spikes, spikes, syn_pre, syn_post, cfg['J_mV'],
                                  n_pre=ne, n_post=ne,
                                  dendritic_delay_ns=int(round(cfg['delay_s'] * 1e9)),
                                  sample_t_ns=[], dtype=np.float32, **kw)
    cpu_s = out['kernel_cpu_s']
    return {'wall_s': out['kernel_s'], 'cpu_s': cpu_s,
            'rate_hz': spikes.size / (ne * duration_s),
            'plastic_events': out['events'], 'syn_events': out['events'],
            'syn_events_per_s': out['events'] / cpu_s,
            'ns_per_event': cpu_s * 1e9 / max(out['events'], 1), 'threads': 1,
            'what': 'standalone driver (apply_rule_to_trains), rule kernels only',
            'bytes_per_synapse': pl.bytes_per_synapse(params, np.float32),
            'history_lost': out['lost']}


def _rule_block(rule):
    """Return the network-file ``plasticity`` block of the benchmark rule (or None)."""
    if rule is None:
        return None
    block = {'rule': rule, 'a_plus': A_PLUS_MV, 'a_minus': A_MINUS_MV,
             'tau_plus_s': TAU_PLUS_MS / 1e3, 'tau_minus_s': TAU_MINUS_MS / 1e3,
             'w_min_mV': 0.0, 'w_max_mV': W_MAX_MV}
    if rule == 'rstdp':
        block.update(tau_c_s=TAU_C_MS / 1e3, tau_d_s=TAU_N_MS / 1e3, b=0.0)
    return block


def _snn_ros_engine(n_total, ce, ci, duration_s, seed, rule, reward_t_ns=()):
    """Run config/brunel.yaml (scaled) in the engine with ``rule`` on E->E; return figures."""
    import numpy as np

    from snn_ros.bench.engine import DEFAULT_CONFIG, scaled_spec
    from snn_ros.core.netfile import build_network, load_spec
    from snn_ros.core.simulator import Simulator
    spec = scaled_spec(load_spec(DEFAULT_CONFIG), n_total, ce=ce, ci=ci)
    for proj in spec['projections']:
        if proj['name'] == 'exc_exc':
            proj['plasticity'] = _rule_block(rule)
    built = build_network(spec, rng=np.random.default_rng(seed))
    sim = Simulator(built.network, seed=seed)
    t_end = int(round(duration_s * 1e9))
    t0, c0 = time.perf_counter(), time.process_time()
    for t in reward_t_ns:
        if t < t_end:
            sim.run_until(int(t))
            sim.deliver_reward(int(t), 1e3 / TAU_N_MS)
    sim.run_until(t_end)
    wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    n = sum(p.size for p in built.populations.values())
    spikes = sum(int(sim.spikes(p).size) for p in built.populations.values())
    exc, ee = built.populations['exc'], built.projections['exc_exc']
    recurrent = sum(p.n_synapses for p in built.projections.values()
                    if p.pre.name in built.populations)
    plastic = int(round(sim.spikes(exc).size * ee.n_synapses / exc.size)) if rule else 0
    return {'wall_s': wall_s, 'cpu_s': cpu_s, 'spikes': spikes,
            'rate_hz': spikes / (n * duration_s), 'syn_events': spikes * recurrent / n,
            'syn_events_per_s': spikes * recurrent / n / cpu_s, 'plastic_events': plastic,
            'threads': 1, 'synapse': f'engine, {rule or "static"}',
            'what': 'integrated engine (Simulator) running the whole network',
            'plastic_lost': sim.plastic_lost}


def _warm_up():
    """Compile the kernels on a tiny input so that JIT time stays out of the figures."""
    cfg = {'NE': 10, 'CE': 3, 'J_mV': 0.1, 'delay_s': 0.0015}
    import numpy as np
    trains = {'neuron': np.array([0, 1, 2]), 't_ns': np.array([1, 2, 3]) * 1_000_000,
              'dopa_t_ns': np.array([2_500_000])}
    for rule in ('stdp', 'rstdp'):
        _snn_ros_replay(cfg, trains, 0.01, 0, rule)
    for rule in (None, 'stdp', 'rstdp'):
        _snn_ros_engine(200, 20, 5, 0.02, 0, rule, [5_000_000])


def run(args):
    """Run the benchmark and print a table, or one JSON object with ``--json``."""
    from snn_ros.bench.engine import machine
    from snn_ros.bench.peers import brunel_config
    from snn_ros.core import plasticity as pl
    log = (lambda *a: None) if args.json else print
    if args.quick:
        cfg = brunel_config(NE=800, NI=200, CE=80, CI=20)
        duration_s = min(args.duration_s, 0.2)
    else:
        cfg = brunel_config()
        duration_s = args.duration_s
    t0 = time.perf_counter()
    _warm_up()
    log(f'JIT warm-up {time.perf_counter() - t0:.1f} s; Brunel NE={cfg["NE"]} NI={cfg["NI"]} '
        f'CE={cfg["CE"]} CI={cfg["CI"]}, {duration_s} s, plasticity on E->E')
    report = {}
    n_total = cfg['NE'] + cfg['NI']
    report['snn_ros_engine_static'] = _snn_ros_engine(n_total, cfg['CE'], cfg['CI'],
                                                      duration_s, args.seed, None)
    report['nest_static'], _ = _nest_brunel(cfg, duration_s, args.seed, None)
    for rule in ('stdp', 'rstdp'):
        nest_fig, trains = _nest_brunel(cfg, duration_s, args.seed, rule)
        extra = nest_fig['cpu_s'] - report['nest_static']['cpu_s']
        nest_fig['plastic_ns_per_event'] = extra * 1e9 / max(nest_fig['plastic_events'], 1)
        report[f'nest_{rule}'] = nest_fig
        ours = _snn_ros_replay(cfg, trains, duration_s, args.seed, rule)
        ours['ratio_vs_nest_plastic_cost'] = (nest_fig['plastic_ns_per_event']
                                              / ours['ns_per_event'])
        ours['ratio_vs_nest_syn_events_per_s'] = (ours['syn_events_per_s']
                                                  / nest_fig['syn_events_per_s'])
        report[f'snn_ros_{rule}'] = ours
        eng = _snn_ros_engine(n_total, cfg['CE'], cfg['CI'], duration_s, args.seed, rule,
                              trains.get('dopa_t_ns', ()))
        extra = eng['cpu_s'] - report['snn_ros_engine_static']['cpu_s']
        eng['plastic_ns_per_event'] = extra * 1e9 / max(eng['plastic_events'], 1)
        eng['ratio_vs_nest_syn_events_per_s'] = (eng['syn_events_per_s']
                                                 / nest_fig['syn_events_per_s'])
        report[f'snn_ros_engine_{rule}'] = eng
        if rule == 'rstdp':
            steps = int(duration_s / cfg['delay_s']) + 2
            lazy, _ = _nest_brunel(cfg, duration_s, args.seed, rule, deliver_interval=steps)
            extra = lazy['cpu_s'] - report['nest_static']['cpu_s']
            lazy['plastic_ns_per_event'] = extra * 1e9 / max(lazy['plastic_events'], 1)
            lazy['deliver_interval'] = steps
            report['nest_rstdp_lazy'] = lazy
            ours['ratio_vs_nest_lazy_plastic_cost'] = (lazy['plastic_ns_per_event']
                                                       / ours['ns_per_event'])
    report['bytes_per_synapse'] = {
        'stdp_float32': pl.bytes_per_synapse(pl.STDPParams()),
        'rstdp_float32': pl.bytes_per_synapse(pl.RSTDPParams()),
        'budget': 32}
    report['setup'] = {'network': cfg, 'duration_s': duration_s, 'seed': args.seed,
                       'snn_ros_figure': 'snn_ros_stdp/rstdp: standalone driver (rule kernels '
                                         'only); snn_ros_engine_*: integrated engine running '
                                         'the whole network',
                       'machine': machine()}
    if args.json:
        print(json.dumps(report, default=float))
    else:
        print_table(report)
    return 0


def print_table(report):
    """Print the human-readable report."""
    print(f'\n{"entry":21s} {"synapse":22s} {"cpu s":>8s} {"rate Hz":>8s} '
          f'{"syn ev/s":>10s} {"plastic ev":>11s} {"ns/plastic ev":>13s}')
    for key in ('nest_static', 'snn_ros_engine_static', 'nest_stdp', 'snn_ros_stdp',
                'snn_ros_engine_stdp', 'nest_rstdp', 'nest_rstdp_lazy', 'snn_ros_rstdp',
                'snn_ros_engine_rstdp'):
        e = report[key]
        ns = e.get('plastic_ns_per_event', e.get('ns_per_event'))
        syn = e.get('synapse', 'snn_ros kernels')[:22]
        ns_txt = f'{ns:13.1f}' if ns is not None and e['plastic_events'] else f'{"-":>13s}'
        print(f'{key:21s} {syn:22s} {e["cpu_s"]:8.3f} {e["rate_hz"]:8.2f} '
              f'{e["syn_events_per_s"]:10.3g} {e["plastic_events"]:11d} {ns_txt}')
    for rule in ('stdp', 'rstdp'):
        e = report[f'snn_ros_{rule}']
        g = report[f'snn_ros_engine_{rule}']
        print(f'{rule}: engine {g["syn_events_per_s"]:.3g} syn ev/s = '
              f'{g["ratio_vs_nest_syn_events_per_s"]:.2f} x NEST; driver kernels '
              f'{e["syn_events_per_s"]:.3g} plastic ev/s; NEST extra cost per plastic event / '
              f'snn_ros kernel cost = {e["ratio_vs_nest_plastic_cost"]:.2f}')
    b = report['bytes_per_synapse']
    print(f'bytes per plastic synapse (float32): STDP {b["stdp_float32"]}, '
          f'R-STDP {b["rstdp_float32"]} (budget {b["budget"]})')
    print('snn_ros figures: ' + report['setup']['snn_ros_figure'])
