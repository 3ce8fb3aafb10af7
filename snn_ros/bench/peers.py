"""
Peer simulators (NEST, Brian2) built from the same descriptions as snn_ros.

Nothing here imports NEST or Brian2 at module top: the CLI imports benchmark
modules while it builds its parser, and a missing or broken peer must not break
``snn-ros``. NEST is imported inside the functions that need it; Brian2 always
runs in a child process (``python -m snn_ros.bench.peers brian2-brunel``) so that
its device state, its compiler and a NumPy compatibility shim stay out of the
caller's interpreter.

Unit mapping (see the engine contract): snn_ros potentials are relative to rest,
so NEST gets ``E_L = 0`` and ``V_m = u``. Delta-synapse weights are the jump of
``u`` in mV, which is what NEST's ``iaf_psc_delta(_ps)`` takes. Exponential
current synapses carry ``R*I`` in mV; NEST's ``iaf_psc_exp_ps`` takes the current
jump in pA, ``w_pA = w_mV * C_m / tau_m`` (pF, ms).

The Brunel (2000) network follows N. Brunel, "Dynamics of sparsely connected
networks of excitatory and inhibitory spiking neurons", J. Comput. Neurosci. 8
(2000) 183-208: every neuron gets ``CE`` excitatory and ``CI`` inhibitory inputs,
weights ``J`` and ``-g*J``, one delay ``D``, and an external Poisson drive of
``CE`` independent trains at ``eta * nu_thr`` with ``nu_thr = theta / (J*CE*tau)``.
NEST's ``poisson_generator`` gives each target its own train, so one generator
at ``CE * eta * nu_thr`` stands for the whole drive of a neuron, as in NEST's
``brunel_delta_nest`` example.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

#: NEST time grid used by every peer run [ms]; delays must be multiples of it.
NEST_RESOLUTION_MS = 0.1

#: Default NEST membrane capacitance [pF]; only matters for the exp-synapse mapping.
NEST_C_M_PF = 250.0

#: Keys of a Brunel description (see ``brunel_config``).
BRUNEL_KEYS = ('NE', 'NI', 'CE', 'CI', 'J_mV', 'g', 'eta', 'delay_s', 'tau_m_s',
               'theta_mV', 'u_reset_mV', 't_ref_s')


def brunel_config(NE=4000, NI=1000, CE=400, CI=100, J_mV=0.1, g=5.0, eta=2.0,
                  delay_s=0.0015, tau_m_s=0.02, theta_mV=20.0, u_reset_mV=10.0,
                  t_ref_s=0.002):
    """
    Return a Brunel (2000) description as a plain dict, with derived rates.

    ``nu_thr_hz`` is the external rate per synapse that brings the free membrane
    to threshold; ``drive_rate_hz`` is the summed external Poisson rate that one
    neuron receives (``CE * eta * nu_thr``), each event of weight ``J_mV``.
    """
    cfg = {'NE': int(NE), 'NI': int(NI), 'CE': int(CE), 'CI': int(CI), 'J_mV': float(J_mV),
           'g': float(g), 'eta': float(eta), 'delay_s': float(delay_s),
           'tau_m_s': float(tau_m_s), 'theta_mV': float(theta_mV),
           'u_reset_mV': float(u_reset_mV), 't_ref_s': float(t_ref_s)}
    cfg['nu_thr_hz'] = cfg['theta_mV'] / (cfg['J_mV'] * cfg['CE'] * cfg['tau_m_s'])
    cfg['drive_rate_hz'] = cfg['CE'] * cfg['eta'] * cfg['nu_thr_hz']
    return cfg


def import_nest():
    """Import NEST quietly (no banner, errors only) and return the module."""
    os.environ.setdefault('PYNEST_QUIET', '1')
    import nest
    nest.verbosity = nest.VerbosityLevel.ERROR
    return nest


def nest_reset(nest, seed=0, threads=1, resolution_ms=NEST_RESOLUTION_MS):
    """Reset the NEST kernel: one thread by default, the given grid, no progress output."""
    nest.ResetKernel()
    nest.set(resolution=float(resolution_ms), local_num_threads=int(threads),
             rng_seed=int(seed) + 1, print_time=False)


def nest_neuron_params(model, params):
    """
    Translate snn_ros parameters (a dict or NamedTuple, SI names) into NEST's.

    ``model`` is the snn_ros model name: 'lif' maps to ``iaf_psc_delta(_ps)``,
    'lif_exp' to ``iaf_psc_exp_ps`` (both synapse time constants equal ``tau_s``).
    """
    p = params._asdict() if hasattr(params, '_asdict') else dict(params)
    out = {'E_L': 0.0, 'C_m': NEST_C_M_PF, 'tau_m': p.get('tau_m_s', 0.02) * 1e3,
           'V_th': p.get('theta_mV', 20.0), 'V_reset': p.get('u_reset_mV', 10.0),
           't_ref': p.get('t_ref_s', 0.002) * 1e3, 'V_m': p.get('u_init_mV', 0.0)}
    u_min = p.get('u_min_mV', float('-inf'))
    if u_min != float('-inf'):
        out['V_min'] = u_min
    if model == 'lif_exp':
        out['tau_syn_ex'] = out['tau_syn_in'] = p.get('tau_s_s', 0.005) * 1e3
    elif model != 'lif':
        raise ValueError(f"model must be 'lif' or 'lif_exp' for a NEST peer, got {model!r}")
    return out


def nest_weight_exp(weight_mV, tau_m_s, c_m_pF=NEST_C_M_PF):
    """Map an exp-synapse weight ``R*I`` [mV] to NEST's current jump [pA]."""
    return weight_mV * c_m_pF / (tau_m_s * 1e3)


def nest_small_network(model, params, n, n_in, in_idx, in_t_ns, syn, duration_s,
                       nest_model=None, seed=0):
    """
    Run a small network in NEST with precise input spike trains; return its spikes.

    ``n`` neurons of ``model`` ('lif' or 'lif_exp') with ``params``; ``n_in``
    inputs whose spikes are ``in_idx`` (int) at ``in_t_ns`` (int64 ns, > 0).
    ``syn`` is a dict of equal-length arrays ``pre``, ``post``, ``weight_mV``,
    ``delay_s`` and ``from_input`` (bool: the presynaptic index is an input,
    otherwise a neuron). Delays must be multiples of ``NEST_RESOLUTION_MS``.
    Returns ``(neuron, t_ns)``: int32 indices and int64 times, sorted by time.
    """
    import numpy as np
    nest = import_nest()
    nest_reset(nest, seed=seed)
    nest_model = nest_model or {'lif': 'iaf_psc_delta_ps', 'lif_exp': 'iaf_psc_exp_ps'}[model]
    p = params._asdict() if hasattr(params, '_asdict') else dict(params)
    neurons = nest.Create(nest_model, n, params=nest_neuron_params(model, p))
    gens = nest.Create('spike_generator', n_in, params={'precise_times': True})
    in_idx = np.asarray(in_idx)
    in_t_ms = np.asarray(in_t_ns, dtype=np.int64) / 1e6
    for i in range(n_in):
        times = np.sort(in_t_ms[in_idx == i])
        if times.size:
            gens[i].spike_times = times.tolist()
    from_input = np.asarray(syn['from_input'], dtype=bool)
    pre = np.asarray(syn['pre'], dtype=np.int64)
    post = np.asarray(syn['post'], dtype=np.int64)
    weight = np.asarray(syn['weight_mV'], dtype=float)
    if model == 'lif_exp':
        weight = nest_weight_exp(weight, p.get('tau_m_s', 0.02))
    delay_ms = np.asarray(syn['delay_s'], dtype=float) * 1e3
    steps = np.round(delay_ms / NEST_RESOLUTION_MS)
    if np.any(np.abs(steps * NEST_RESOLUTION_MS - delay_ms) > 1e-9) or np.any(steps < 1):
        raise ValueError(f'delay_s must be positive multiples of {NEST_RESOLUTION_MS} ms '
                         'for the NEST peer')
    gid_in = np.asarray(gens.tolist(), dtype=np.int64)
    gid_n = np.asarray(neurons.tolist(), dtype=np.int64)
    pre_gid = np.where(from_input, gid_in[np.where(from_input, pre, 0)],
                       gid_n[np.where(from_input, 0, pre)])
    if pre.size:
        nest.Connect(pre_gid, gid_n[post], 'one_to_one',
                     {'synapse_model': 'static_synapse', 'weight': weight,
                      'delay': steps * NEST_RESOLUTION_MS})
    recorder = nest.Create('spike_recorder')
    nest.Connect(neurons, recorder)
    nest.Simulate(duration_s * 1e3)
    events = recorder.events
    first = int(gid_n[0])
    neuron = np.asarray(events['senders'], dtype=np.int32) - first
    t_ns = np.round(np.asarray(events['times'], dtype=float) * 1e6).astype(np.int64)
    order = np.lexsort((neuron, t_ns))
    return neuron[order], t_ns[order]


def nest_brunel(cfg, duration_s=1.0, nest_model='iaf_psc_delta_ps', seed=0):
    """
    Build and run the Brunel network in NEST on one thread; return figures.

    The result has ``construct_s`` (create and connect), ``wall_s`` (``Simulate``
    only), ``spikes``, ``rate_hz`` (mean over all neurons), ``n_synapses``
    (recurrent only) and ``threads``.
    """
    nest = import_nest()
    nest_reset(nest, seed=seed)
    n = cfg['NE'] + cfg['NI']
    t0 = time.perf_counter()
    params = {'E_L': 0.0, 'C_m': 1.0, 'tau_m': cfg['tau_m_s'] * 1e3, 'V_th': cfg['theta_mV'],
              'V_reset': cfg['u_reset_mV'], 't_ref': cfg['t_ref_s'] * 1e3, 'V_m': 0.0}
    exc = nest.Create(nest_model, cfg['NE'], params=params)
    inh = nest.Create(nest_model, cfg['NI'], params=params)
    every = exc + inh
    noise = nest.Create('poisson_generator', params={'rate': cfg['drive_rate_hz']})
    recorder = nest.Create('spike_recorder')
    delay_ms = cfg['delay_s'] * 1e3
    nest.Connect(noise, every, syn_spec={'weight': cfg['J_mV'], 'delay': delay_ms})
    nest.Connect(exc, every, {'rule': 'fixed_indegree', 'indegree': cfg['CE']},
                 {'weight': cfg['J_mV'], 'delay': delay_ms})
    nest.Connect(inh, every, {'rule': 'fixed_indegree', 'indegree': cfg['CI']},
                 {'weight': -cfg['g'] * cfg['J_mV'], 'delay': delay_ms})
    nest.Connect(every, recorder)
    nest.Prepare()
    construct_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    nest.Run(duration_s * 1e3)
    wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    nest.Cleanup()
    spikes = int(recorder.n_events)
    return {'construct_s': construct_s, 'wall_s': wall_s, 'cpu_s': cpu_s, 'spikes': spikes,
            'rate_hz': spikes / (n * duration_s), 'n_synapses': n * (cfg['CE'] + cfg['CI']),
            'threads': 1, 'model': nest_model}


def _numpy_ptp_shim():
    """
    Give ``numpy.ndarray`` back its ``ptp`` method, which Brian2 2.9.0 needs.

    NumPy 2.4 removed ``ndarray.ptp``; Brian2 fixed this after 2.9.0 (brian-team/
    brian2 pull request 1705), and no newer release exists. Only ever called in
    the child process that runs Brian2.
    """
    import ctypes
    import gc

    import numpy as np
    if hasattr(np.ndarray, 'ptp'):
        return

    def ptp(self, axis=None, out=None, keepdims=False):
        return np.ptp(self, axis=axis, out=out, keepdims=keepdims)

    gc.get_referents(np.ndarray.__dict__)[0]['ptp'] = ptp
    ctypes.pythonapi.PyType_Modified(ctypes.py_object(np.ndarray))


def _brian2_brunel_child(cfg, duration_s, seed, directory):
    """Build, compile and run the Brunel network in Brian2 cpp_standalone (child side)."""
    _numpy_ptp_shim()
    import numpy as np

    import brian2 as b2
    b2.set_device('cpp_standalone', directory=directory, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    b2.defaultclock.dt = NEST_RESOLUTION_MS * b2.ms
    b2.seed(seed)
    rng = np.random.default_rng(seed)
    ms, mV = b2.ms, b2.mV
    n = cfg['NE'] + cfg['NI']
    t0 = time.perf_counter()
    group = b2.NeuronGroup(
        n, 'dv/dt = -v / tau : volt (unless refractory)', threshold='v >= theta',
        reset='v = v_reset', refractory=cfg['t_ref_s'] * 1e3 * ms, method='exact',
        namespace={'tau': cfg['tau_m_s'] * 1e3 * ms, 'theta': cfg['theta_mV'] * mV,
                   'v_reset': cfg['u_reset_mV'] * mV})
    # Inputs that arrive during the refractory period are dropped, as in NEST.
    delay = cfg['delay_s'] * 1e3 * ms
    syn_ns = {'J': cfg['J_mV'] * mV, 'JI': -cfg['g'] * cfg['J_mV'] * mV}
    exc = b2.Synapses(group, group, on_pre='v_post += J * int(not_refractory_post)',
                      delay=delay, namespace=syn_ns)
    inh = b2.Synapses(group, group, on_pre='v_post += JI * int(not_refractory_post)',
                      delay=delay, namespace=syn_ns)
    post = np.arange(n)
    exc.connect(i=rng.integers(0, cfg['NE'], n * cfg['CE']), j=np.repeat(post, cfg['CE']))
    inh.connect(i=cfg['NE'] + rng.integers(0, cfg['NI'], n * cfg['CI']),
                j=np.repeat(post, cfg['CI']))
    drive = b2.PoissonInput(group, 'v', N=cfg['CE'], rate=cfg['eta'] * cfg['nu_thr_hz'] * b2.Hz,
                            weight='J * int(not_refractory)')
    monitor = b2.SpikeMonitor(group)
    net = b2.Network(group, exc, inh, drive, monitor)
    net.run(duration_s * 1e3 * ms, namespace=syn_ns)
    define_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    b2.device.build(directory=directory, compile=True, run=False, with_output=False)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    b2.device.run(directory=directory, with_output=False)
    binary_s = time.perf_counter() - t0
    # Without OpenMP the binary times its loop with std::clock (processor time); on
    # one thread that is the loop's wall time when the machine is not overloaded.
    wall_s = float(b2.device._last_run_time)
    spikes = int(monitor.num_spikes)
    return {'define_s': define_s, 'build_s': build_s, 'construct_s': binary_s - wall_s,
            'binary_wall_s': binary_s, 'wall_s': wall_s, 'cpu_s': wall_s, 'spikes': spikes,
            'rate_hz': spikes / (n * duration_s),
            'n_synapses': n * (cfg['CE'] + cfg['CI']), 'threads': 1,
            'version': b2.__version__}


def brian2_brunel(cfg, duration_s=1.0, seed=0, timeout_s=900):
    """
    Run the Brunel network in Brian2 cpp_standalone (one thread) in a child process.

    Returns the child's figures: ``build_s`` (code generation and compilation,
    excluded from the wall time), ``construct_s`` (the binary's set-up, mostly
    creating synapses, and writing results), ``wall_s`` and ``cpu_s`` (the
    simulation loop as timed by the binary, in processor time), ``binary_wall_s``,
    ``spikes``, ``rate_hz``, ``threads``. Raises RuntimeError with the child's
    error output when it fails.
    """
    with tempfile.TemporaryDirectory(prefix='snn_ros_brian2_') as directory:
        request = json.dumps({'cfg': cfg, 'duration_s': duration_s, 'seed': seed,
                              'directory': directory})
        proc = subprocess.run([sys.executable, '-m', 'snn_ros.bench.peers', 'brian2-brunel',
                               request], capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f'Brian2 child failed ({proc.returncode}):\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _quiet_network_cfg(n):
    """Brunel proportions at ``n`` neurons with 10% connectivity, for the controller loops."""
    ne = int(round(0.8 * n))
    return brunel_config(NE=ne, NI=n - ne, CE=max(1, ne // 10), CI=max(1, (n - ne) // 10))


def _brian2_controller_child(steps, n):
    """
    Time Brian2's runtime device on a quiet network (child side).

    ``brian2_runtime_us_per_call`` is one ``run(1 ms)`` call, as a controller would
    make it; ``brian2_runtime_us_per_step`` is one 0.1 ms step inside a single
    ``run`` of ``steps`` ms (Brian2's Python loop over time steps).
    """
    _numpy_ptp_shim()
    import numpy as np

    import brian2 as b2
    b2.prefs.codegen.target = 'numpy'
    b2.defaultclock.dt = NEST_RESOLUTION_MS * b2.ms
    cfg = _quiet_network_cfg(n)
    ms, mV = b2.ms, b2.mV
    group = b2.NeuronGroup(
        n, 'dv/dt = -v / tau : volt (unless refractory)', threshold='v >= theta',
        reset='v = v_reset', refractory=cfg['t_ref_s'] * 1e3 * ms, method='exact',
        namespace={'tau': cfg['tau_m_s'] * 1e3 * ms, 'theta': cfg['theta_mV'] * mV,
                   'v_reset': cfg['u_reset_mV'] * mV})
    syn = b2.Synapses(group, group, on_pre='v_post += J', delay=cfg['delay_s'] * 1e3 * ms,
                      namespace={'J': cfg['J_mV'] * mV})
    rng = np.random.default_rng(0)
    syn.connect(i=rng.integers(0, n, n * cfg['CE']), j=np.repeat(np.arange(n), cfg['CE']))
    net = b2.Network(group, syn)
    net.run(1 * ms)
    # Each run() call prepares its code objects again: time a few such calls, and
    # time the steps of one long run() apart (its per-step Python loop).
    calls = max(3, min(steps, 20))
    t0 = time.perf_counter()
    for _ in range(calls):
        net.run(1 * ms)
    per_call = (time.perf_counter() - t0) / calls
    t0 = time.perf_counter()
    net.run(steps * 1 * ms)
    per_step = (time.perf_counter() - t0) / (steps * 10)
    return {'brian2_runtime_us_per_call': per_call * 1e6,
            'brian2_runtime_us_per_step': per_step * 1e6, 'brian2_target': 'numpy'}


def nest_controller_loop(steps=1000, n=1000, nest_model='iaf_psc_delta_ps'):
    """Return the mean cost [us] of ``nest.Run(1 ms)`` on a quiet ``n``-neuron network."""
    nest = import_nest()
    nest_reset(nest)
    cfg = _quiet_network_cfg(n)
    params = {'E_L': 0.0, 'C_m': 1.0, 'tau_m': cfg['tau_m_s'] * 1e3, 'V_th': cfg['theta_mV'],
              'V_reset': cfg['u_reset_mV'], 't_ref': cfg['t_ref_s'] * 1e3, 'V_m': 0.0}
    neurons = nest.Create(nest_model, n, params=params)
    nest.Connect(neurons, neurons, {'rule': 'fixed_indegree', 'indegree': cfg['CE']},
                 {'weight': cfg['J_mV'], 'delay': cfg['delay_s'] * 1e3})
    nest.Prepare()
    nest.Run(1.0)
    t0 = time.perf_counter()
    for _ in range(steps):
        nest.Run(1.0)
    per_call = (time.perf_counter() - t0) / steps
    nest.Cleanup()
    return per_call * 1e6


def controller_loops(steps=1000, n=1000):
    """Return the per-call costs of 1 ms steps in NEST and in Brian2's runtime mode [us]."""
    out = {'nest_ps_us_per_call': nest_controller_loop(steps, n)}
    request = json.dumps({'steps': steps, 'n': n})
    proc = subprocess.run([sys.executable, '-m', 'snn_ros.bench.peers', 'brian2-controller',
                           request], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        out['brian2_error'] = proc.stderr[-2000:]
    else:
        out.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def main(argv=None):
    """Run one Brian2 job here: ``brian2-brunel JSON`` or ``brian2-controller JSON``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in ('brian2-brunel', 'brian2-controller'):
        print('usage: python -m snn_ros.bench.peers brian2-brunel|brian2-controller JSON',
              file=sys.stderr)
        return 2
    request = json.loads(argv[1])
    if argv[0] == 'brian2-brunel':
        result = _brian2_brunel_child(request['cfg'], request['duration_s'], request['seed'],
                                      request['directory'])
    else:
        result = _brian2_controller_child(request['steps'], request['n'])
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
