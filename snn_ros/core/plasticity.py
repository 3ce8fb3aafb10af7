"""
Plasticity: pair-based STDP, reward-modulated STDP, homeostasis, short-term depression.

All rules are trace-based and evaluated lazily, in closed form, at the events of
one synapse; nothing is done per synapse per time step.

Equations (the only place they are written)
-------------------------------------------
Times seen at the synapse: a presynaptic spike at its emission time ``t_pre``,
a postsynaptic spike at ``t_post + d_dend`` (the delay is dendritic, as in NEST).
Per presynaptic neuron a trace ``x`` and per postsynaptic neuron a trace ``y``::

    dx/dt = -x / tau_plus,   x <- x + 1 at each presynaptic spike  ('all_to_all')
                             x <- 1                                 ('nearest')
    dy/dt = -y / tau_minus,  y <- y + 1 (or 1) at each postsynaptic spike

STDP (Bi & Poo 1998 form; Song, Miller & Abbott 2000; Morrison, Diesmann &
Gerstner 2008, Biol. Cybern. 98:459, for all-to-all and symmetric nearest-
neighbour pairing: 'nearest' is NEST's ``stdp_nn_symm_synapse``, 'all_to_all'
its ``stdp_synapse``). With ``dt = t_post - t_pre`` the pair contributes
``+a_plus exp(-dt/tau_plus)`` for dt > 0 and ``-a_minus exp(dt/tau_minus)`` for
dt < 0; dt = 0 contributes nothing. Implemented as::

    at a postsynaptic spike:  w <- w + a_plus * x * g(r) * B+(w)
    at a presynaptic spike:   w <- w - (a_minus * y + a_pre) * B-(w)

with hard bounds ``B+ = B- = 1`` and ``w`` clipped to [w_min, w_max] after each
jump, or soft (multiplicative) bounds ``B+ = w_max - w``, ``B- = w - w_min``
(then ``a_plus``, ``a_minus``, ``a_pre`` are rates, not mV). ``x`` excludes a
presynaptic spike at the same time, ``y`` a postsynaptic one.

Homeostasis:

* asymmetric STDP: ``a_pre`` >= 0 depresses unconditionally at every
  presynaptic spike;
* LTP reduced at high postsynaptic rate: ``g(r) = max(0, 1 - r / rate_max_hz)``,
  with ``dr/dt = -r / tau_rate``, ``r <- r + 1/tau_rate`` at each postsynaptic
  spike (``r`` in Hz, taken just before the spike); ``rate_max_hz = inf`` is off;
* synaptic resource model: plasticity acts on a stored resource ``W`` (not
  clipped) and the transmitted weight is
  ``w = w_min + (w_max - w_min) * max(W, 0) / (w_max - w_min + max(W, 0))``
  (``effective_weight``);
* constant total synaptic weight per neuron: ``normalise_incoming`` rescales the
  incoming weights of every postsynaptic neuron to ``total_weight_mV``; it is
  called between runs or on a timer, never per event;
* the adaptive threshold belongs to the neuron model (``lif_adaptive``).

R-STDP (Izhikevich 2007, Cereb. Cortex 17:2443; NEST ``stdp_dopamine_synapse``,
Potjans, Morrison & Diesmann 2010, Front. Comput. Neurosci. 4:141). The STDP
jumps above go to an eligibility trace ``c`` instead of ``w``::

    dc/dt = -c / tau_c + STDP jumps,   dd/dt = -d / tau_d + reward input,
    dw/dt = c (d - b)                  (t in seconds, d and b in 1/s)

Between events ``c = c0 exp(-s/tau_c)`` and ``d = d0 exp(-s/tau_d)``, so::

    w(s) = w0 + c0 d0 tau_s (1 - exp(-s/tau_s)) - b c0 tau_c (1 - exp(-s/tau_c)),
    tau_s = tau_c tau_d / (tau_c + tau_d)

the closed form NEST's ``stdp_dopamine_synapse`` uses between dopamine spikes
(``update_weight_`` in models/stdp_dopamine_synapse.h of NEST 3.10, read for
the maths; our own code). A reward spike of size ``a`` adds ``a`` to ``d`` (a NEST
dopamine spike is ``a = 1/tau_d``, and NEST's n and b per ms are 1000 times
smaller). Hard bounds clamp ``w`` exactly: each interval between events is split
where ``d - b`` changes sign (``s* = tau_d ln(d0/b)``), so ``w`` is monotone on
every piece and clipping at the piece ends is the exact clamped solution.
Soft bounds scale the jumps of ``c`` by the distance of ``w`` to the bound.
Reward is one channel for all synapses ('global') or one channel per target
population ('per_target_population').

Short-term depression (Tsodyks & Markram 1997, PNAS 94:719), per presynaptic
neuron: resources ``R`` recover as ``dR/dt = (1 - R)/tau_rec``; a spike transmits
``w * R`` and then ``R <- R (1 - U)`` (the factor ``U`` of the original model is
folded into ``w``, so a rested synapse transmits ``w``).

Learning on/off gates the weight only: with learning off ``w`` never changes,
while the traces and ``c`` keep evolving so that learning can resume.

Using it
--------
The engine (``snn_ros.core.simulator``) calls the kernels of
``snn_ros.core._plasticity_kernels`` from its own njit code, per synaptic event;
``apply_rule_to_trains`` runs given spike trains through the same kernels in one
call (tests, benchmark).
Rules come from a network file's ``plasticity`` block via ``params_from_dict``.

Memory
------
Per plastic synapse: ``w`` (float32, 4 B), ``t_last`` (int64, 8 B) and, for
R-STDP, ``c`` (float32, 4 B): 12 B for STDP, 16 B for R-STDP, within the budget
of 32 B. Presynaptic traces are per presynaptic neuron, postsynaptic spikes and
traces per postsynaptic neuron (ring buffer of ``K`` spikes), reward per
channel. The tests use float64 state (20/24 B) to compare to 1e-9.
"""

import math
import time
from typing import NamedTuple, Optional

import numpy as np

from snn_ros.core import _plasticity_kernels as _k
from snn_ros.core._plasticity_kernels import Dopamine, PlasticState, PostHistory, Rule
from snn_ros.core.types import SPIKE_DTYPE

__all__ = ['STDPParams', 'RSTDPParams', 'HomeostasisParams', 'STDParams', 'Rule',
           'PlasticState', 'PostHistory', 'Dopamine', 'NO_SPIKE', 'validate', 'pack_rule',
           'share_decay_tables', 'bytes_per_synapse', 'new_state', 'new_post_history',
           'new_dopamine', 'effective_weight', 'normalise_incoming', 'apply_rule_to_trains',
           'apply_std_to_train', 'params_from_dict']

#: ``t_pre`` of a neuron that has not spiked yet.
NO_SPIKE = int(np.iinfo(np.int64).min)


class HomeostasisParams(NamedTuple):
    """
    Homeostatic options of a rule (see the module docstring).

    ``resource``: synaptic resource model (plasticity acts on W).
    ``total_weight_mV``: target of ``normalise_incoming`` (None: no normalisation).
    ``rate_max_hz``: postsynaptic rate at which LTP vanishes (inf: off).
    ``tau_rate_s``: time constant of the rate estimate.
    ``a_pre``: unconditional depression at each presynaptic spike (asymmetric STDP).
    """

    resource: bool = False
    total_weight_mV: Optional[float] = None
    rate_max_hz: float = math.inf
    tau_rate_s: float = 1.0
    a_pre: float = 0.0


class STDPParams(NamedTuple):
    """Pair-based STDP parameters (units: mV for hard bounds, rates for soft bounds)."""

    a_plus: float = 0.01
    a_minus: float = 0.0105
    tau_plus_s: float = 0.02
    tau_minus_s: float = 0.02
    pairing: str = 'all_to_all'
    bounds: str = 'hard'
    w_min_mV: float = 0.0
    w_max_mV: float = 1.0
    homeostasis: HomeostasisParams = HomeostasisParams()


class RSTDPParams(NamedTuple):
    """Reward-modulated STDP: ``stdp`` jumps feed the eligibility ``c``; ``b`` in 1/s."""

    stdp: STDPParams = STDPParams()
    tau_c_s: float = 1.0
    tau_d_s: float = 0.2
    b: float = 0.0
    reward_scope: str = 'global'


class STDParams(NamedTuple):
    """Tsodyks-Markram short-term depression: use fraction ``U``, recovery ``tau_rec_s``."""

    U: float = 0.5
    tau_rec_s: float = 0.8


def _positive(name, value):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f'{name} must be a finite number > 0, got {value!r}')


def _nonneg(name, value):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ValueError(f'{name} must be a finite number >= 0, got {value!r}')


def validate(params):
    """
    Check a rule's parameters; raise ValueError naming the field and the allowed values.

    Accepts ``STDPParams``, ``RSTDPParams`` or ``STDParams``; returns ``params``.
    """
    if isinstance(params, STDParams):
        if not (isinstance(params.U, (int, float)) and 0 < params.U <= 1):
            raise ValueError(f'U must be in (0, 1], got {params.U!r}')
        _positive('tau_rec_s', params.tau_rec_s)
        return params
    if isinstance(params, RSTDPParams):
        validate(params.stdp)
        _positive('tau_c_s', params.tau_c_s)
        _positive('tau_d_s', params.tau_d_s)
        if not (isinstance(params.b, (int, float)) and math.isfinite(params.b)):
            raise ValueError(f'b must be a finite number [1/s], got {params.b!r}')
        if params.reward_scope not in ('global', 'per_target_population'):
            raise ValueError("reward_scope must be 'global' or 'per_target_population', "
                             f'got {params.reward_scope!r}')
        return params
    if not isinstance(params, STDPParams):
        raise ValueError('params must be STDPParams, RSTDPParams or STDParams, '
                         f'got {type(params).__name__}')
    for name in ('a_plus', 'a_minus'):
        _nonneg(name, getattr(params, name))
    _positive('tau_plus_s', params.tau_plus_s)
    _positive('tau_minus_s', params.tau_minus_s)
    if params.pairing not in ('all_to_all', 'nearest'):
        raise ValueError(f"pairing must be 'all_to_all' or 'nearest', got {params.pairing!r}")
    if params.bounds not in ('hard', 'soft'):
        raise ValueError(f"bounds must be 'hard' or 'soft', got {params.bounds!r}")
    for name in ('w_min_mV', 'w_max_mV'):
        value = getattr(params, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise ValueError(f'{name} must be a finite number, got {value!r}')
    if not params.w_min_mV < params.w_max_mV:
        raise ValueError(f'w_min_mV ({params.w_min_mV}) must be < w_max_mV ({params.w_max_mV})')
    h = params.homeostasis
    if not isinstance(h, HomeostasisParams):
        raise ValueError('homeostasis must be HomeostasisParams, got '
                         f'{type(h).__name__}')
    if h.resource and params.bounds != 'hard':
        raise ValueError("homeostasis.resource needs bounds='hard' (the resource W is not "
                         'bounded; the effective weight is)')
    if h.total_weight_mV is not None:
        _positive('homeostasis.total_weight_mV', h.total_weight_mV)
    if not (isinstance(h.rate_max_hz, (int, float)) and h.rate_max_hz > 0):
        raise ValueError(f'homeostasis.rate_max_hz must be > 0 (inf: off), got '
                         f'{h.rate_max_hz!r}')
    _positive('homeostasis.tau_rate_s', h.tau_rate_s)
    _nonneg('homeostasis.a_pre', h.a_pre)
    return params


def pack_rule(params, learning=True):
    """Validate ``params`` (STDPParams or RSTDPParams) and return the kernel-ready ``Rule``."""
    validate(params)
    if isinstance(params, STDParams):
        raise ValueError('pack_rule takes STDPParams or RSTDPParams; use apply_std_to_train '
                         'for STDParams')
    rstdp = isinstance(params, RSTDPParams)
    s = params.stdp if rstdp else params
    h = s.homeostasis
    tau_c_s = params.tau_c_s if rstdp else 1.0
    tau_d_s = params.tau_d_s if rstdp else 1.0
    b = float(params.b) if rstdp else 0.0
    return Rule(a_plus=float(s.a_plus), a_minus=float(s.a_minus), a_pre=float(h.a_pre),
                k_plus=1.0 / (s.tau_plus_s * 1e9), k_minus=1.0 / (s.tau_minus_s * 1e9),
                w_min=float(s.w_min_mV), w_max=float(s.w_max_mV),
                inv_rate_max_hz=0.0 if math.isinf(h.rate_max_hz) else 1.0 / h.rate_max_hz,
                k_rate=1.0 / (h.tau_rate_s * 1e9), rate_jump_hz=1.0 / h.tau_rate_s,
                k_c=1.0 / (tau_c_s * 1e9), k_d=1.0 / (tau_d_s * 1e9),
                k_s=1.0 / (tau_c_s * 1e9) + 1.0 / (tau_d_s * 1e9), tau_c_s=float(tau_c_s),
                tau_s_s=tau_c_s * tau_d_s / (tau_c_s + tau_d_s), tau_d_ns=tau_d_s * 1e9,
                b_per_s=b, inv_b=1.0 / b if b != 0.0 else 0.0,
                nearest=s.pairing == 'nearest', soft=s.bounds == 'soft', rstdp=rstdp,
                resource=bool(h.resource), learning=bool(learning), g_plus=0, g_minus=1,
                g_rate=2, g_c=3, g_d=4)


def share_decay_tables(rules):
    """
    Return ``(rules, table)``: the ``Rule``s pointed at one decay table, one row per rate.

    The kernels take the table beside the rule; rules that share time constants
    share rows, which keeps the table's hot entries few.
    """
    rates, out = [], []
    for rule in rules:
        rows = []
        for k in (rule.k_plus, rule.k_minus, rule.k_rate, rule.k_c, rule.k_d):
            if k not in rates:
                rates.append(k)
            rows.append(rates.index(k))
        out.append(rule._replace(g_plus=rows[0], g_minus=rows[1], g_rate=rows[2], g_c=rows[3],
                                 g_d=rows[4]))
    return out, _k.decay_tables(rates)


def bytes_per_synapse(params, dtype=np.float32):
    """Return the plastic state per synapse in bytes (w, t_last and, for R-STDP, c)."""
    size = np.dtype(dtype).itemsize
    return size + 8 + (size if isinstance(params, RSTDPParams) else 0)


def new_state(params, n_syn, n_pre, w0, dtype=np.float32, t0_ns=0, c0=0.0):
    """Allocate a ``PlasticState`` for ``n_syn`` synapses from ``n_pre`` neurons at ``t0_ns``."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f'dtype must be float32 or float64, got {dtype}')
    w = np.empty(int(n_syn), dtype=dtype)
    w[:] = w0
    n_c = int(n_syn) if isinstance(params, RSTDPParams) else 0
    c = np.empty(n_c, dtype=dtype)
    c[:] = c0
    return PlasticState(w=w, c=c, t_last=np.full(int(n_syn), int(t0_ns), dtype=np.int64),
                        x_pre=np.zeros(int(n_pre)),
                        t_pre=np.full(int(n_pre), NO_SPIKE, dtype=np.int64))


def new_post_history(n_post, capacity=64):
    """
    Allocate an empty ``PostHistory`` for ``n_post`` neurons.

    Each neuron keeps its last ``capacity`` spikes, rounded up to a power of two.
    """
    if int(capacity) < 1:
        raise ValueError(f'capacity must be >= 1, got {capacity!r}')
    shape = (int(n_post), 1 << (int(capacity) - 1).bit_length())
    buf = np.zeros(shape + (3,), dtype=np.int64)
    return PostHistory(t=buf[:, :, 0], k=buf.view(np.float64)[:, :, 1],
                       r=buf.view(np.float64)[:, :, 2], n=np.zeros(int(n_post), dtype=np.int64),
                       lost=np.zeros(1, dtype=np.int64))


def new_dopamine(n_channels=1, capacity=1024, t_start_ns=0, d0=0.0):
    """Allocate reward channels that start at ``t_start_ns`` with ``d = d0`` [1/s]."""
    if int(n_channels) < 1 or int(capacity) < 1:
        raise ValueError('n_channels and capacity must be >= 1')
    shape = (int(n_channels), int(capacity))
    t = np.zeros(shape, dtype=np.int64)
    t[:, 0] = int(t_start_ns)
    d = np.zeros(shape)
    d[:, 0] = d0
    return Dopamine(t=t, d=d, n=np.ones(int(n_channels), dtype=np.int64))


def effective_weight(w_stored, params):
    """Return the transmitted weight [mV]: identity, or the resource model's saturation."""
    s = params.stdp if isinstance(params, RSTDPParams) else params
    w = np.asarray(w_stored, dtype=np.float64)
    if not s.homeostasis.resource:
        return w
    span = s.w_max_mV - s.w_min_mV
    pos = np.maximum(w, 0.0)
    return s.w_min_mV + span * pos / (span + pos)


def normalise_incoming(w, syn_post, n_post, total_mV):
    """Scale ``w`` in place so that each postsynaptic neuron's incoming weights sum to total."""
    _positive('total_mV', total_mV)
    syn_post = np.ascontiguousarray(syn_post, dtype=np.int64)
    if syn_post.shape != w.shape:
        raise ValueError('syn_post must have one entry per synapse')
    if syn_post.size and (syn_post.min() < 0 or syn_post.max() >= n_post):
        raise ValueError(f'syn_post must be in [0, {n_post})')
    _k.normalise_incoming(w, syn_post, int(n_post), float(total_mV))
    return w


def _spikes(name, spikes, n):
    arr = np.asarray(spikes)
    if arr.dtype != SPIKE_DTYPE:
        raise ValueError(f'{name} must be a SPIKE_DTYPE array (neuron i4, t i8), got '
                         f'{arr.dtype}')
    order = np.lexsort((arr['neuron'], arr['t']))
    neuron = np.ascontiguousarray(arr['neuron'][order], dtype=np.int64)
    t = np.ascontiguousarray(arr['t'][order], dtype=np.int64)
    if neuron.size and (neuron.min() < 0 or neuron.max() >= n):
        raise ValueError(f'{name} neuron indices must be in [0, {n})')
    return neuron, t


def apply_rule_to_trains(params, pre, post, syn_pre, syn_post, w0, *, n_pre=None, n_post=None,
                         dendritic_delay_ns=0, reward_t_ns=None, reward_amount=None,
                         reward_channel=None, post_channel=None, sample_t_ns=None,
                         learning=True, c0=0.0, t_start_ns=0, dtype=np.float64):
    """
    Run synapses through given spike trains with the engine's kernels; return trajectories.

    ``pre`` and ``post`` are SPIKE_DTYPE arrays (presynaptic times as seen at the
    synapse, postsynaptic firing times). Synapse ``s`` goes from ``syn_pre[s]``
    to ``syn_post[s]`` with dendritic delay ``dendritic_delay_ns`` (scalar or per
    synapse) and starts at ``w0`` (and ``c0``) at ``t_start_ns``. Reward spikes:
    ``reward_t_ns`` (int64) with ``reward_amount`` [1/s] on ``reward_channel``
    (default 0); ``post_channel[i]`` is the channel of postsynaptic neuron ``i``
    (default all 0). ``sample_t_ns`` (sorted) are the times at which every
    synapse is evaluated (default: the last event time).

    Returns a dict: ``t_ns`` (n_samples,), ``w`` and ``c`` (n_samples, n_syn)
    stored weights and eligibilities at those times, ``state`` (the final
    PlasticState), ``events`` (plastic synaptic events processed), ``lost``
    (history overflows, 0 here), ``kernel_s`` and ``kernel_cpu_s`` (wall and
    CPU time of the kernel call).
    """
    (rule,), dec = share_decay_tables([pack_rule(params, learning=learning)])
    syn_pre = np.ascontiguousarray(syn_pre, dtype=np.int64)
    syn_post = np.ascontiguousarray(syn_post, dtype=np.int64)
    n_syn = syn_pre.size
    if syn_post.shape != syn_pre.shape or syn_pre.ndim != 1:
        raise ValueError('syn_pre and syn_post must be 1-D arrays of equal length')
    n_pre = int(n_pre if n_pre is not None else (syn_pre.max() + 1 if n_syn else 0))
    n_post = int(n_post if n_post is not None else (syn_post.max() + 1 if n_syn else 0))
    if n_syn and (syn_pre.min() < 0 or syn_pre.max() >= n_pre):
        raise ValueError(f'syn_pre must be in [0, n_pre={n_pre})')
    if n_syn and (syn_post.min() < 0 or syn_post.max() >= n_post):
        raise ValueError(f'syn_post must be in [0, n_post={n_post})')
    pre_n, pre_t = _spikes('pre', pre, n_pre)
    post_n, post_t = _spikes('post', post, n_post)
    d_dend = np.zeros(n_syn, dtype=np.int64)
    d_dend[:] = dendritic_delay_ns
    if np.any(d_dend < 0):
        raise ValueError('dendritic_delay_ns must be >= 0')
    for name, t in (('pre', pre_t), ('post', post_t)):
        if t.size and t[0] < t_start_ns:
            raise ValueError(f'{name} spike times must be >= t_start_ns={t_start_ns}')
    # The kernels want the synapses in CSR order (a presynaptic neuron's synapses adjacent).
    order = np.argsort(syn_pre, kind='stable').astype(np.int64)
    w_init = np.zeros(n_syn)
    w_init[:] = w0
    state = new_state(params, n_syn, n_pre, w_init[order], dtype=dtype, t0_ns=t_start_ns,
                      c0=c0)
    row_ptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(syn_pre, minlength=n_pre), out=row_ptr[1:])
    counts = np.bincount(post_n, minlength=n_post) if n_post else np.zeros(0, np.int64)
    hist = new_post_history(n_post, max(1, int(counts.max()) if counts.size else 1))
    post_ch = np.zeros(n_post, dtype=np.int64)
    if post_channel is not None:
        post_ch[:] = post_channel
    n_ch = int(post_ch.max()) + 1 if n_post else 1
    r_t = np.asarray([] if reward_t_ns is None else reward_t_ns, dtype=np.int64)
    r_a = np.zeros(r_t.size)
    r_a[:] = 0.0 if reward_amount is None else reward_amount
    r_c = np.zeros(r_t.size, dtype=np.int64)
    if reward_channel is not None:
        r_c[:] = reward_channel
    if r_c.size:
        n_ch = max(n_ch, int(r_c.max()) + 1)
    dopa = new_dopamine(n_ch, r_t.size + 1, t_start_ns=t_start_ns)
    for q in np.lexsort((r_c, r_t)):
        if r_t[q] < t_start_ns:
            raise ValueError(f'reward_t_ns must be >= t_start_ns={t_start_ns}')
        _k.reward_spike(int(r_c[q]), int(r_t[q]), float(r_a[q]), dopa.t, dopa.d, dopa.n, rule)
    if sample_t_ns is None:
        last = max([t_start_ns] + [int(a[-1]) for a in (pre_t, post_t, r_t) if a.size])
        sample_t_ns = [last]
    samples = np.ascontiguousarray(sample_t_ns, dtype=np.int64)
    if np.any(np.diff(samples) < 0):
        raise ValueError('sample_t_ns must be sorted')
    out_w = np.zeros((max(samples.size, 1), n_syn))
    out_c = np.zeros((max(samples.size, 1), n_syn))
    d_csr = d_dend[order]
    d_fix = int(d_csr[0]) if n_syn and np.all(d_csr == d_csr[0]) else -1
    t0, c0_s = time.perf_counter(), time.process_time()
    events = _k.run_trains(pre_n, pre_t, post_n, post_t, samples, row_ptr,
                           np.ascontiguousarray(syn_post[order]), d_csr, d_fix, post_ch, state,
                           hist, dopa, rule, dec, out_w, out_c)
    kernel_s, kernel_cpu_s = time.perf_counter() - t0, time.process_time() - c0_s
    back = np.empty_like(order)
    back[order] = np.arange(n_syn)
    state = PlasticState(w=state.w[back], c=state.c[back] if state.c.size else state.c,
                         t_last=state.t_last[back], x_pre=state.x_pre, t_pre=state.t_pre)
    return {'t_ns': samples, 'w': out_w[:samples.size, back], 'c': out_c[:samples.size, back],
            'state': state, 'events': int(events), 'lost': int(hist.lost[0]),
            'kernel_s': kernel_s, 'kernel_cpu_s': kernel_cpu_s}


def apply_std_to_train(params, pre, n_pre=None):
    """
    Return the short-term-depression efficacy of each spike of ``pre`` (SPIKE_DTYPE).

    The result is aligned with ``pre`` sorted by (time, neuron); multiply the
    weight by it to get the transmitted amplitude.
    """
    validate(params)
    if not isinstance(params, STDParams):
        raise ValueError('params must be STDParams')
    n = int(n_pre if n_pre is not None else (np.asarray(pre)['neuron'].max() + 1
                                             if len(pre) else 0))
    neuron, t = _spikes('pre', pre, n)
    x_res = np.ones(n)
    t_res = np.full(n, NO_SPIKE, dtype=np.int64)
    out = np.empty(t.size)
    for q in range(t.size):
        out[q] = _k.std_on_pre(neuron[q], t[q], x_res, t_res, float(params.U),
                               1.0 / (params.tau_rec_s * 1e9))
    return out


_RULES = ('stdp', 'rstdp', 'std')
_STDP_KEYS = set(STDPParams._fields) - {'homeostasis'}
_RSTDP_KEYS = set(RSTDPParams._fields) - {'stdp'}


def params_from_dict(block, where='plasticity'):
    """
    Build rule parameters from a network-file ``plasticity`` block (a mapping).

    ``{rule: stdp, a_plus: .., homeostasis: {...}}``; ``rule: rstdp`` also takes
    ``tau_c_s``, ``tau_d_s``, ``b`` and ``reward_scope`` beside the STDP keys;
    ``rule: std`` takes ``U`` and ``tau_rec_s``. Missing keys keep the defaults.
    Raises ValueError naming ``where`` + the field and the allowed values.
    """
    if not isinstance(block, dict):
        raise ValueError(f'{where}: expected a mapping, got {type(block).__name__}')
    rule = block.get('rule')
    if rule not in _RULES:
        raise ValueError(f'{where}.rule: must be one of {list(_RULES)}, got {rule!r}')
    rest = {k: v for k, v in block.items() if k != 'rule'}
    if rule == 'std':
        allowed = set(STDParams._fields)
    else:
        allowed = _STDP_KEYS | {'homeostasis'} | (_RSTDP_KEYS if rule == 'rstdp' else set())
    unknown = sorted(set(rest) - allowed)
    if unknown:
        raise ValueError(f'{where}.{unknown[0]}: unknown key for rule {rule!r}; allowed: '
                         f'{sorted(allowed)}')
    try:
        if rule == 'std':
            return validate(STDParams(**rest))
        hom = rest.pop('homeostasis', None) or {}
        if not isinstance(hom, dict):
            raise ValueError(f'homeostasis: expected a mapping, got {type(hom).__name__}')
        bad = sorted(set(hom) - set(HomeostasisParams._fields))
        if bad:
            raise ValueError(f'homeostasis.{bad[0]}: unknown key; allowed: '
                             f'{list(HomeostasisParams._fields)}')
        stdp = STDPParams(**{k: v for k, v in rest.items() if k in _STDP_KEYS},
                          homeostasis=HomeostasisParams(**hom))
        if rule == 'stdp':
            return validate(stdp)
        return validate(RSTDPParams(stdp=stdp, **{k: v for k, v in rest.items()
                                                  if k in _RSTDP_KEYS}))
    except ValueError as exc:
        raise ValueError(f'{where}.{exc}') from None
