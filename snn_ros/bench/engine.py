"""
``snn-ros bench engine``: the Brunel (2000) network in snn_ros, NEST and Brian2.

The network is ``config/brunel.yaml`` (N = 5,000, see that file for the numbers),
run for ``--duration-s`` of network time (1 s by default) in one invocation by:

- ``snn_ros``: one thread; ``snn_ros_mt``: ``os.cpu_count()`` threads, in a
  child process; ``snn_ros_continuous``: one thread, the drive at continuous
  times (the file's ``grid_s`` removed: 20,000 arrivals per neuron and second
  instead of 10,000 grid steps), in a child process. Kernels compiled for
  another network or thread count lie next to the others in one process, and
  there their run times vary up to 2x with where the code lies;
- ``nest_ps``: NEST ``iaf_psc_delta_ps`` (precise spike times), one thread;
- ``nest_grid``: NEST ``iaf_psc_delta`` (spikes on the 0.1 ms grid), one thread;
- ``brian2_standalone``: Brian2 ``cpp_standalone``, one thread (no OpenMP), in a
  child process; compilation (``build_s``) is reported apart from the run.

NEST gets its drive from ``poisson_generator`` (one independent train per target,
on the grid) and records with ``spike_recorder``; Brian2 from ``PoissonInput``;
snn_ros from its grid Poisson sources, which make the same trains.

The simulators take turns for ``--repeat`` rounds (3 by default) and each keeps
its fastest: the host is shared, and its speed drifts by up to 2x over minutes.
Figures per simulator: ``wall_s`` (simulation only: the headline),
``construct_s`` (building the network, reported apart), ``rate_hz`` (mean over all
neurons), ``syn_events_per_s`` (recurrent spikes x mean out-degree / ``wall_s``;
the external drive is not counted), ``threads`` and ``wall_ratio_vs_snn_ros``
(the simulator's ``wall_s`` over single-threaded snn_ros: above 1 is slower).

Also reported: snn_ros bytes per synapse, throughput scaling with N = 1,000 to
50,000 at a fixed in-degree (CE = 400, CI = 100 for every N, 80% excitatory, so
the mean-field rate and the work per neuron stay the same and only the size
grows; ``--scaling-duration-s`` of network time per point), the controller-style cost of
``run_until`` in 1 ms steps on a quiet 1,000-neuron network (with Brian2's runtime
``run(1 ms)`` loop and NEST's ``Run(1 ms)`` loop for context), and the check that
the mean rates agree with NEST within 5%.
"""

from functools import partial
import json
import os
from pathlib import Path
import platform
import sys
import time

# The source tree's config/, else the installed share/snn_ros/config/.
DEFAULT_CONFIG = next((p for p in (Path(__file__).resolve().parents[2] / 'config' / 'brunel.yaml',
                                   Path(sys.prefix) / 'share' / 'snn_ros' / 'config'
                                   / 'brunel.yaml') if p.is_file()),
                      Path('config') / 'brunel.yaml')
SCALING_N = (1000, 5000, 20000, 50000)
QUICK_SCALING_N = (500, 1000)
RATE_TOLERANCE = 0.05
PEERS = ('nest_ps', 'nest_grid', 'brian2_standalone')


def add_arguments(parser):
    """Declare the options of ``snn-ros bench engine``."""
    parser.add_argument('--json', action='store_true', help='print one JSON object')
    parser.add_argument('--config', default=str(DEFAULT_CONFIG),
                        help='network description file (default: config/brunel.yaml)')
    parser.add_argument('--duration-s', type=float, default=None,
                        help="network time to simulate [s] (default: the file's run.duration_s)")
    parser.add_argument('--seed', type=int, default=None, help="seed (default: the file's)")
    parser.add_argument('--repeat', type=int, default=None,
                        help='rounds of the comparison, run in turn; each simulator keeps its '
                             'fastest (default 3; 1 with --quick)')
    parser.add_argument('--skip-peers', action='store_true', help='run snn_ros only')
    parser.add_argument('--skip-brian2', action='store_true',
                        help='leave Brian2 out (it compiles for ~10-20 s)')
    parser.add_argument('--skip-scaling', action='store_true', help='leave the N sweep out')
    parser.add_argument('--scaling-duration-s', type=float, default=0.2,
                        help='network time per point of the N sweep [s] (default 0.2)')
    parser.add_argument('--quick', action='store_true',
                        help='tiny network (N=500, CE=40, CI=10), 0.1 s, short sweeps: for '
                             'development and tests')


def scaled_spec(spec, n_total, ce=None, ci=None):
    """
    Return a copy of a Brunel spec with ``n_total`` neurons (80% excitatory).

    Sources follow their populations; in-degrees become ``ce``/``ci`` when given
    and are otherwise kept (capped at the new population sizes).
    """
    import copy
    spec = copy.deepcopy(spec)
    ne = int(round(0.8 * n_total))
    sizes = {'exc': ne, 'inh': n_total - ne}
    for pop in spec['populations']:
        pop['size'] = sizes[pop['name']]
    targets = {p['pre']: p['post'] for p in spec['projections'] if p['pre'] not in sizes}
    for src in spec['sources']:
        src['size'] = sizes[targets[src['name']]]
    for proj in spec['projections']:
        if proj['pattern'] == 'fixed_indegree':
            new = ce if proj['pre'] == 'exc' else ci
            k = proj['args']['indegree'] if new is None else new
            proj['args']['indegree'] = min(k, sizes[proj['pre']])
    return spec


def continuous_drive(spec):
    """Return a copy of a spec whose Poisson sources spike at continuous times."""
    import copy
    spec = copy.deepcopy(spec)
    for src in spec['sources']:
        src.pop('grid_s', None)
    return spec


def brunel_numbers(spec):
    """Read the Brunel parameters back out of a spec, for the peers."""
    from snn_ros.bench.peers import brunel_config
    sizes = {p['name']: p['size'] for p in spec['populations']}
    proj = {(p['pre'], p['post']): p for p in spec['projections']}
    params = spec['populations'][0]['params']
    J = proj[('exc', 'exc')]['weight_mV']
    ce = proj[('exc', 'exc')]['args']['indegree']
    rate = spec['sources'][0]['rate_hz']
    cfg = brunel_config(
        NE=sizes['exc'], NI=sizes['inh'], CE=ce, CI=proj[('inh', 'exc')]['args']['indegree'],
        J_mV=J, g=-proj[('inh', 'exc')]['weight_mV'] / J,
        delay_s=proj[('exc', 'exc')]['delay_s'], tau_m_s=params.get('tau_m_s', 0.02),
        theta_mV=params.get('theta_mV', 20.0), u_reset_mV=params.get('u_reset_mV', 10.0),
        t_ref_s=params.get('t_ref_s', 0.002))
    # eta follows from the drive the file gives: rate = CE * eta * nu_thr.
    cfg['eta'] = rate / (ce * cfg['nu_thr_hz'])
    cfg['drive_rate_hz'] = rate
    return cfg


def run_snn_ros(spec, duration_s, threads, seed):
    """Build and run a Brunel spec in snn_ros; return the figures."""
    import numpy as np

    from snn_ros.core.netfile import build_network
    from snn_ros.core.simulator import Simulator
    t0 = time.perf_counter()
    built = build_network(spec, rng=np.random.default_rng(seed))
    sim = Simulator(built.network, seed=seed, threads=threads)
    construct_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    sim.run_until(int(round(duration_s * 1e9)))
    wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    n = sum(p.size for p in built.populations.values())
    spikes = sum(int(sim.spikes(p).size) for p in built.populations.values())
    recurrent = sum(p.n_synapses for p in built.projections.values()
                    if p.pre.name in built.populations)
    return {'construct_s': construct_s, 'wall_s': wall_s, 'cpu_s': cpu_s, 'spikes': spikes,
            'rate_hz': spikes / (n * duration_s), 'n_neurons': n,
            'n_synapses': recurrent, 'syn_events': spikes * recurrent / n,
            'threads': threads, 'bytes_per_synapse': float(sim.bytes_per_synapse()),
            'all_events_per_s': sim.n_events / wall_s}


def run_in_child(spec, duration_s, seed, threads=1, timeout_s=1200):
    """Run ``run_snn_ros`` (after a warm-up) in a fresh process; return its figures."""
    import subprocess
    request = json.dumps({'spec': spec, 'duration_s': duration_s, 'seed': seed,
                          'threads': threads})
    proc = subprocess.run([sys.executable, '-m', 'snn_ros.bench.engine', request],
                          capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f'child failed ({proc.returncode}):\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child(request):
    spec, duration_s, seed = request['spec'], request['duration_s'], request['seed']
    run_snn_ros(spec, min(0.05, duration_s), request['threads'], seed)
    result = run_snn_ros(spec, duration_s, request['threads'], seed)
    result.pop('bytes_per_synapse')
    return result


def controller_cost(spec, steps=1000, step_ns=1_000_000, n=1000):
    """
    Return the mean cost [us] of ``run_until(t + 1 ms)`` on a quiet network.

    The network is the Brunel spec at ``n`` neurons with 10% connectivity and
    without its Poisson drive, so nothing happens: this is the fixed cost a
    controller pays per call.
    """
    import numpy as np

    from snn_ros.core.netfile import build_network
    spec = scaled_spec(spec, n, ce=int(0.1 * 0.8 * n), ci=int(0.1 * 0.2 * n))
    spec['sources'] = []
    spec['projections'] = [p for p in spec['projections'] if p['pattern'] == 'fixed_indegree']
    from snn_ros.core.simulator import Simulator
    sim = Simulator(build_network(spec, rng=np.random.default_rng(0)).network, seed=0)
    sim.run_until(step_ns)
    t = sim.t_ns
    t0 = time.perf_counter()
    for _ in range(steps):
        t += step_ns
        sim.run_until(t)
    return (time.perf_counter() - t0) / steps * 1e6


def _with_ratios(results):
    base = results.get('snn_ros')
    for key, entry in results.items():
        if entry and base and entry.get('wall_s'):
            entry['syn_events_per_s'] = entry['syn_events'] / entry['wall_s']
            entry['wall_ratio_vs_snn_ros'] = entry['wall_s'] / base['wall_s']
            entry['cpu_ratio_vs_snn_ros'] = entry['cpu_s'] / base['cpu_s']
    return results


def _peer(name, func, *args):
    try:
        return func(*args)
    except Exception as error:  # noqa: B902 - a broken peer is reported, not fatal
        return {'error': f'{type(error).__name__}: {error}'}


def run(args):
    """Run the benchmark and print a table, or one JSON object with ``--json``."""
    from snn_ros.bench import peers
    from snn_ros.core.netfile import load_spec
    spec = load_spec(args.config)
    seed = spec['seed'] if args.seed is None else args.seed
    duration_s = args.duration_s or spec['run'].get('duration_s', 1.0)
    full_spec = spec
    sweep, sweep_ce, sweep_ci = SCALING_N, 400, 100
    if args.quick:
        spec = scaled_spec(spec, 500, ce=40, ci=10)
        duration_s = args.duration_s or 0.1
        sweep, sweep_ce, sweep_ci = QUICK_SCALING_N, 40, 10
    cfg = brunel_numbers(spec)

    def log(*text):
        print(*text, file=sys.stderr, flush=True)
    threads_mt = os.cpu_count() or 1
    t0 = time.perf_counter()
    run_snn_ros(spec, min(0.05, duration_s), 1, seed)  # JIT compilation, first touches
    warmup_s = time.perf_counter() - t0
    repeat = args.repeat or (1 if args.quick else 3)
    log(f'Brunel N={cfg["NE"] + cfg["NI"]} CE={cfg["CE"]} CI={cfg["CI"]} for {duration_s} s, '
        f'{repeat} round(s) (JIT warm-up {warmup_s:.1f} s)')
    runs = {
        'snn_ros': ('snn_ros, one thread', partial(run_snn_ros, spec, duration_s, 1, seed)),
        'snn_ros_mt': (f'snn_ros, {threads_mt} threads (child process)',
                       partial(_peer, 'threads', run_in_child, spec, duration_s, seed,
                               threads_mt)),
        'snn_ros_continuous': (
            'snn_ros, one thread, drive at continuous times (child process)',
            partial(_peer, 'continuous', run_in_child, continuous_drive(spec), duration_s,
                    seed))}
    if not args.skip_peers:
        for key, model in (('nest_ps', 'iaf_psc_delta_ps'), ('nest_grid', 'iaf_psc_delta')):
            runs[key] = (f'NEST {model}',
                         partial(_peer, key, peers.nest_brunel, cfg, duration_s, model, seed))
        if not args.skip_brian2:
            runs['brian2_standalone'] = (
                'Brian2 cpp_standalone (code generation and compilation first)',
                partial(_peer, 'brian2', peers.brian2_brunel, cfg, duration_s, seed))
    results = dict.fromkeys(PEERS)
    results.update(best_of_rounds(runs, repeat, log))
    bps = results['snn_ros'].pop('bytes_per_synapse')
    for entry in results.values():
        if entry and 'spikes' in entry and 'syn_events' not in entry:
            entry['syn_events'] = entry['spikes'] * entry['n_synapses'] / (cfg['NE'] + cfg['NI'])
    _with_ratios(results)
    report = dict(results)
    report['bytes_per_synapse'] = bps
    report['consistency'] = consistency(results)
    if not args.skip_scaling:
        log(f'scaling over N = {sweep} ...')
        report['scaling'] = scaling(spec, sweep, sweep_ce, sweep_ci,
                                    min(duration_s, args.scaling_duration_s), seed)
    log('controller-style calls ...')
    report['controller'] = {'snn_ros_us_per_call': controller_cost(
        full_spec, steps=200 if args.quick else 1000)}
    if not args.skip_peers:
        report['controller'].update(_peer('controller', peers.controller_loops,
                                          200 if args.quick else 1000))
    report['setup'] = {'network': cfg, 'duration_s': duration_s, 'seed': seed,
                       'repeat': repeat, 'jit_warmup_s': warmup_s, 'machine': machine()}
    if args.json:
        print(json.dumps(report, default=float))
    else:
        print_table(report)
    return 0


def best_of_rounds(runs, repeat, log):
    """
    Run every entry of ``runs`` (key: (label, function)) ``repeat`` times, in turn.

    The host is shared and its speed drifts over minutes, so the simulators take
    turns and each keeps its fastest round (least ``wall_s``), with the wall times
    of all its rounds in ``wall_s_rounds``. A failed round is kept only if no
    round succeeds.
    """
    best = {}
    for k in range(repeat):
        for key, (label, func) in runs.items():
            log(f'{label} (round {k + 1} of {repeat}) ...')
            res = func()
            if 'wall_s' not in res:
                best.setdefault(key, res)
                continue
            rounds = best.get(key, {}).get('wall_s_rounds', [])
            if 'wall_s' not in best.get(key, {}) or res['wall_s'] < best[key]['wall_s']:
                best[key] = res
            best[key]['wall_s_rounds'] = rounds + [res['wall_s']]
    return best


def consistency(results):
    """Compare the snn_ros mean rates with NEST's: within ``RATE_TOLERANCE`` passes."""
    out = {}
    for ours in ('snn_ros', 'snn_ros_mt', 'snn_ros_continuous'):
        for peer in ('nest_ps', 'nest_grid'):
            a, b = results.get(ours), results.get(peer)
            if a and b and 'rate_hz' in a and 'rate_hz' in b:
                rel = abs(a['rate_hz'] - b['rate_hz']) / b['rate_hz']
                out[f'{ours}_vs_{peer}'] = {'relative_difference': rel,
                                            'ok': rel <= RATE_TOLERANCE}
    return out


def scaling(spec, sizes, ce, ci, duration_s, seed):
    """Run snn_ros (one thread) at each N with the same in-degrees; return rows."""
    rows = []
    for n in sizes:
        res = run_snn_ros(scaled_spec(spec, n, ce=ce, ci=ci), duration_s, 1, seed)
        rows.append({'n': n, 'ce': ce, 'ci': ci, 'wall_s': res['wall_s'],
                     'construct_s': res['construct_s'], 'rate_hz': res['rate_hz'],
                     'syn_events_per_s': res['syn_events'] / res['wall_s'],
                     'bytes_per_synapse': res['bytes_per_synapse'],
                     'duration_s': duration_s})
    return rows


def machine():
    """Describe this machine in one dict."""
    return {'cpu_count': os.cpu_count(), 'machine': platform.machine(),
            'python': platform.python_version(), 'system': platform.platform()}


def print_table(report):
    """Print the human-readable report."""
    base = report['snn_ros']
    print(f'\nbest of {report["setup"]["repeat"]} round(s) each')
    print(f'{"simulator":20s} {"threads":>7s} {"constr s":>8s} {"wall s":>8s} '
          f'{"cpu s":>8s} {"rate Hz":>8s} {"syn ev/s":>10s} {"x snn_ros":>9s}  all rounds, wall s')
    for key in ('snn_ros', 'snn_ros_mt', 'snn_ros_continuous') + PEERS:
        entry = report.get(key)
        if entry is None:
            print(f'{key:20s} skipped')
        elif 'error' in entry:
            print(f'{key:20s} failed: {entry["error"]}')
        else:
            print(f'{key:20s} {entry["threads"]:7d} {entry["construct_s"]:8.2f} '
                  f'{entry["wall_s"]:8.3f} {entry["cpu_s"]:8.3f} {entry["rate_hz"]:8.2f} '
                  f'{entry["syn_events_per_s"]:10.3g} {entry["wall_s"] / base["wall_s"]:9.2f}  '
                  + ' '.join(f'{w:.2f}' for w in entry['wall_s_rounds']))
    brian = report.get('brian2_standalone')
    if brian and 'build_s' in brian:
        print(f'(Brian2 code generation + compilation, not in its time: {brian["build_s"]:.1f} s)')
    print(f'\nsnn_ros bytes per synapse: {report["bytes_per_synapse"]:.2f}')
    for name, check in report['consistency'].items():
        verdict = 'ok' if check['ok'] else 'FAIL'
        print(f'rates {name}: {100 * check["relative_difference"]:.2f}% apart '
              f'(limit {100 * RATE_TOLERANCE:.0f}%): {verdict}')
    if 'scaling' in report:
        print('\nscaling (snn_ros, one thread, fixed in-degree):')
        print(f'{"N":>7s} {"CE":>4s} {"CI":>4s} {"wall s":>8s} {"rate Hz":>8s} '
              f'{"syn ev/s":>10s} {"B/syn":>6s}')
        for row in report['scaling']:
            print(f'{row["n"]:7d} {row["ce"]:4d} {row["ci"]:4d} {row["wall_s"]:8.3f} '
                  f'{row["rate_hz"]:8.2f} {row["syn_events_per_s"]:10.3g} '
                  f'{row["bytes_per_synapse"]:6.2f}')
    print('\ncontroller-style calls (1 ms steps, 1,000 neurons, no input):')
    for name, value in report['controller'].items():
        print(f'  {name}: {value:.2f}' if isinstance(value, float) else f'  {name}: {value}')


if __name__ == '__main__':
    print(json.dumps(_child(json.loads(sys.argv[1])), default=float))
