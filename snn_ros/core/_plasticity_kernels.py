"""
Numba kernels of the plasticity layer; the equations are in ``snn_ros.core.plasticity``.

Every kernel takes arrays, scalars and the kernel-ready ``Rule`` tuple, never
Python objects. Times are int64 ns; time constants enter as rates [1/ns]; the
reward signal ``d`` and the baseline ``b`` are per second, so that
``dw/dt = c (d - b)`` with ``t`` in seconds. Synapse-local times: a presynaptic
spike is seen at the synapse at its emission time, a postsynaptic spike at
``t_post + d_dend`` (NEST's convention of a purely dendritic delay).

What an engine calls, from inside its own njit code:

- ``post_spike(i, t, h_t, h_k, h_r, h_n, rule, dec)`` when postsynaptic neuron
  ``i`` fires at ``t`` (in time order per neuron);
- ``update_row(j, lo, hi, t, True, True, ...)`` once per spike of presynaptic
  neuron ``j`` emitted at ``t`` and per plastic projection, over its CSR row
  ``[lo, hi)``, then ``pre_spike(j, t, x_pre, t_pre, rule, dec)``; the weights
  of the row are then current and are the ones to deliver;
- ``reward_spike(ch, t, amount, d_t, d_v, d_n, rule)`` for reward input;
- ``update_row(j, lo, hi, t, False, True, ...)`` over every row to bring all
  synapses up to ``t`` (flush) before reading, saving or normalising weights.

The hot kernels take the state arrays one by one rather than as the NamedTuples
below, and their callers borrow them (``snn_ros.core.jit.borrow``): numba
counts references to every array an inlined helper takes, and on owned arrays
those atomic operations cost more than the rule. Callers unpack the tuples once,
outside their loops, and pass no array views (a view is a new reference too).

Per-event decays come from tables (``decay_tables``, ``_cells``): every interval
there is a whole number of ns, and a table product costs a third of ``exp`` at a
relative error below 6e-16. Per-reward kernels use ``exp``.
"""

import math
from typing import NamedTuple

import numpy as np

from snn_ros.core.jit import borrow, njit, njit_inline, prefetch


#: Compile-time constants: "no spike yet" and "no more events" times [ns].
_NO_SPIKE = -9223372036854775808
_NEVER = 9223372036854775807
#: Intervals below 2**33 ns (8.6 s) decay by table, in three levels of 2**11 entries.
_DECAY_SPAN = 8589934592
#: Synapses ahead whose postsynaptic history ``_stdp_row`` prefetches.
_AHEAD = 6


class Rule(NamedTuple):
    """
    Kernel-ready rule: ``pack_rule`` builds it from the public parameter tuples.

    Rates ``k_*`` are inverse time constants [1/ns] so that kernels multiply and
    never divide (a division brings a zero check whose raise path keeps numba
    from pruning reference counts in the hot loop). ``g_*`` are the rows of the
    decay table (``decay_tables``) of ``k_plus``, ``k_minus``, ``k_rate``,
    ``k_c`` and ``k_d``.
    """

    a_plus: float
    a_minus: float
    a_pre: float
    k_plus: float
    k_minus: float
    w_min: float
    w_max: float
    inv_rate_max_hz: float
    k_rate: float
    rate_jump_hz: float
    k_c: float
    k_d: float
    k_s: float
    tau_c_s: float
    tau_s_s: float
    tau_d_ns: float
    b_per_s: float
    inv_b: float
    nearest: bool
    soft: bool
    rstdp: bool
    resource: bool
    learning: bool
    g_plus: int
    g_minus: int
    g_rate: int
    g_c: int
    g_d: int


class PlasticState(NamedTuple):
    """
    Plastic state of one projection, as a structure of arrays.

    Per synapse (length n_syn): ``w`` the stored weight (W in the resource
    model) [mV], float32 or float64; ``c`` the eligibility trace (same dtype,
    length 0 for plain STDP); ``t_last`` [ns] int64, the time the synapse was
    last brought up to date. Per presynaptic neuron (length n_pre): ``x_pre``
    float64, the presynaptic trace just after its last spike, and ``t_pre``
    [ns] int64, that spike's time (``NO_SPIKE`` before the first).
    """

    w: np.ndarray
    c: np.ndarray
    t_last: np.ndarray
    x_pre: np.ndarray
    t_pre: np.ndarray


class PostHistory(NamedTuple):
    """
    Ring buffer of postsynaptic spikes, one row per postsynaptic neuron.

    ``t`` (n_post, K) int64 spike times [ns]; ``k`` (n_post, K) float64 the
    postsynaptic trace just after each spike; ``r`` (n_post, K) float64 the rate
    trace [Hz] just before each spike; ``n`` (n_post,) int64 spikes pushed so
    far (slot of spike m is m % K, K a power of two); ``lost`` (1,) int64, how
    many times a synapse may have needed a spike that had already been
    overwritten (conservative: counted whenever all K kept spikes were newer).

    ``t``, ``k`` and ``r`` are views of one (n_post, K, 3) buffer
    (``new_post_history``), so that a spike's time and traces share a cache line:
    a synapse reads the time and then the trace of the same slot.
    """

    t: np.ndarray
    k: np.ndarray
    r: np.ndarray
    n: np.ndarray
    lost: np.ndarray


class Dopamine(NamedTuple):
    """
    Reward (dopamine) history, one row per channel (population or global).

    ``t`` (n_ch, M) int64 times [ns] and ``d`` (n_ch, M) float64 the value of
    ``d`` just after that time [1/s]; entry 0 is the start value; ``n`` (n_ch,)
    int64 entries used.
    """

    t: np.ndarray
    d: np.ndarray
    n: np.ndarray


def decay_tables(rates):
    """
    Return the decay table of ``rates`` [1/ns]: row ``g`` gives exp(-d rates[g]), d in ns.

    Shape (len(rates), 3 * 2048): ``exp(-d k) = hi[d >> 22] * mid[(d >> 11) & 2047]
    * lo[d & 2047]`` for 0 <= d < 2**33, three values of ``exp`` on whole ns, so
    that a plastic event's intervals (up to seconds: the time since a reward or
    a postsynaptic spike) need no ``exp``.
    """
    step = np.arange(2048, dtype=np.float64)
    k = np.asarray(rates, dtype=np.float64)[:, None]
    return np.concatenate([np.exp(-step * 4194304.0 * k), np.exp(-step * 2048.0 * k),
                           np.exp(-step * k)], axis=1)


@njit_inline
def exp_neg(x):
    """
    Return exp(-x) for x >= 0, and 0.0 where it is below the smallest double.

    Equal to ``math.exp(-x)``, but libm's underflow path (errno) costs hundreds of
    ns: a synapse that saw no reward for minutes took it at every spike.
    """
    return 0.0 if x >= 746.0 else math.exp(-x)


@njit_inline
def _cells(d):
    """
    Return the columns of an int64 interval ``d`` [ns] in a decay table ((-1, 0, 0): none).

    exp(-d k) is then ``dec[g, a] * dec[g, b] * dec[g, c]`` when ``a >= 0``, else
    ``exp``. The lookup is written out at each use: a helper taking the table
    (an array) would cost numba reference counting per call, more than ``exp``.
    """
    if 0 <= d < _DECAY_SPAN:
        return d >> 22, 2048 + ((d >> 11) & 2047), 4096 + (d & 2047)
    return -1, 0, 0


@njit_inline
def _clip(w, rule):
    if rule.resource:
        return w
    if w < rule.w_min:
        return rule.w_min
    if w > rule.w_max:
        return rule.w_max
    return w


@njit_inline
def _reward_integral(c, d0, t_ns, rule):
    """Return the exact integral over [0, t] of c e^{-s/tau_c} (d0 e^{-s/tau_d} - b) ds."""
    part_d = c * d0 * rule.tau_s_s * -math.expm1(-t_ns * rule.k_s)
    part_b = rule.b_per_s * c * rule.tau_c_s * -math.expm1(-t_ns * rule.k_c)
    return part_d - part_b


@njit_inline
def _reward_piece(w, c, d0, t_ns, e_c, e_d, rule):
    """
    Advance w over t_ns with no reward spike inside; e_c, e_d are the decays over t_ns.

    Splits where d - b changes sign so that clipping stays exact.
    """
    b = rule.b_per_s
    if b != 0.0 and d0 * rule.inv_b > 1.0:
        t_root = rule.tau_d_ns * math.log(d0 * rule.inv_b)
        if t_root < t_ns:
            w = _clip(w + _reward_integral(c, d0, t_root, rule), rule)
            c2 = c * math.exp(-t_root * rule.k_c)
            return _clip(w + _reward_integral(c2, b, t_ns - t_root, rule), rule)
    gain = c * d0 * rule.tau_s_s * (1.0 - e_c * e_d) - b * c * rule.tau_c_s * (1.0 - e_c)
    return _clip(w + gain, rule)


@njit_inline
def effective(w, rule):
    """Return the transmitted weight of a stored weight (resource model or identity)."""
    if rule.resource:
        span = rule.w_max - rule.w_min
        pos = w if w > 0.0 else 0.0
        return rule.w_min + span * pos / (span + pos)
    return w


@njit_inline
def _ltp_rate_factor(r, rule):
    return max(0.0, 1.0 - r * rule.inv_rate_max_hz)


@njit_inline
def update_row(j, lo, hi, t, depress, commit, syn_post, d_dend, d_fix, post_ch, w_a, c_a,
               tl_a, x_pre, t_pre, h_t, h_k, h_r, h_n, d_t, d_v, d_n, rule, dec, out_w, out_c,
               transmit, tw, tw_off):
    """
    Bring the synapses ``lo <= q < hi`` of presynaptic neuron ``j`` up to time ``t``.

    This is the per-event kernel: the engine calls it once per presynaptic spike
    and plastic projection, over the CSR row of ``j`` (``depress=True``,
    ``commit=True``), then ``pre_spike``. For each synapse ``q`` (post
    ``i = syn_post[q]``, dendritic delay ``d_fix``, or ``d_dend[q]`` when
    ``d_fix < 0``, reward channel ``post_ch[i]``) it applies the potentiation
    of every postsynaptic spike seen at the synapse in (t_last, t], integrates
    the reward term (R-STDP), and with ``depress`` applies the depression of a
    presynaptic spike at ``t``. With ``commit`` the state arrays are updated,
    and with ``transmit`` the transmitted weight (``effective``) goes to
    ``tw[q - tw_off]`` too; otherwise ``out_w[q]``, ``out_c[q]`` receive the
    values (a read-only probe). ``dec`` is the rule's decay table. Returns how many synapses needed
    postsynaptic spikes that had left the ring buffer (0 when the history is
    long enough).

    Each rule's synapse loop (``_stdp_row``, ``_rstdp_row``) is written out in
    one function on purpose: numba inserts reference counting around the array
    arguments of every inlined helper, a call per array and event even on
    borrowed arrays; and a loop without the other rule's branches keeps its
    values in registers (STDP: 94 instructions per synapse instead of 170).
    Synapse, neuron and ring indices are unsigned, so that numba adds no test
    for negative ones. Each loop asks for the history row of the synapse
    ``_AHEAD`` places on (``jit.prefetch``): that row is a cache miss, the
    largest single cost of a plastic event.
    """
    if rule.rstdp:
        return _rstdp_row(lo, hi, t, depress, commit, syn_post, d_dend, d_fix, post_ch, w_a,
                          c_a, tl_a, x_pre[j], t_pre[j], h_t, h_k, h_r, h_n, d_t, d_v, d_n,
                          rule, dec, out_w, out_c, transmit, tw, tw_off)
    return _stdp_row(lo, hi, t, depress, commit, syn_post, d_dend, d_fix, w_a, tl_a, x_pre[j],
                     t_pre[j], h_t, h_k, h_r, h_n, rule, dec, out_w, out_c, transmit, tw,
                     tw_off)


@njit_inline
def _rstdp_row(lo, hi, t, depress, commit, syn_post, d_dend, d_fix, post_ch, w_a, c_a, tl_a,
               x_last, t_x, h_t, h_k, h_r, h_n, d_t, d_v, d_n, rule, dec, out_w, out_c,
               transmit, tw, tw_off):
    """
    ``update_row`` for R-STDP: each synapse walks its stops in time order.

    The stops are the postsynaptic spikes seen and the reward entries; the reward
    integral is exact between them.
    """
    mask = h_t.shape[1] - 1
    lost = 0
    has_pre = t_x != _NO_SPIKE
    for q in range(np.uint64(lo), np.uint64(hi)):
        if q + _AHEAD < hi:
            i_next = np.uint64(syn_post[q + _AHEAD])
            prefetch(h_t, i_next, np.uint64((h_n[i_next] - 1) & mask))
        i = np.uint64(syn_post[q])
        d = d_fix if d_fix >= 0 else d_dend[q]
        t0 = tl_a[q]
        w = float(w_a[q])
        c = float(c_a[q])
        n = h_n[i]
        first = max(0, n - mask - 1)
        m = n - 1
        while m >= first and h_t[i, np.uint64(m & mask)] + d > t0:
            m -= 1
        if m < first and first > 0:
            lost += 1
        m += 1
        ch = post_ch[i]
        n_rw = d_n[ch]
        # reward signal at t0: last reward entry at or before t0 (mostly the last), decayed
        rk = n_rw - 1
        while rk > 0 and d_t[ch, rk] > t0:
            rk -= 1
        rd = d_v[ch, rk]
        if rd != 0.0:
            s = t0 - d_t[ch, rk]
            a, b, e = _cells(s)
            g = rule.g_d
            rd *= (dec[g, a] * dec[g, b] * dec[g, e] if a >= 0 else exp_neg(s * rule.k_d))
        go = True
        while go:
            # next stop: the next postsynaptic spike seen by t, else t itself
            slot = np.uint64(m & mask)
            has_post = m < n and h_t[i, slot] + d <= t
            stop = h_t[i, slot] + d if has_post else t
            # exact reward integral from t0 to stop, piece by piece between reward entries
            ta = t0
            more = True
            while more:
                more = rk + 1 < n_rw and d_t[ch, rk + 1] <= stop
                tb = d_t[ch, rk + 1] if more else stop
                if tb > ta:
                    s = tb - ta
                    a, b, e = _cells(s)
                    g = rule.g_c
                    e_c = (dec[g, a] * dec[g, b] * dec[g, e] if a >= 0 else
                           exp_neg(s * rule.k_c))
                    e_d = 0.0  # not needed without a reward signal (d = 0 until one comes)
                    if rd != 0.0:
                        g = rule.g_d
                        e_d = (dec[g, a] * dec[g, b] * dec[g, e] if a >= 0 else
                               exp_neg(s * rule.k_d))
                    if rule.learning and c != 0.0:
                        w = _reward_piece(w, c, rd, float(tb - ta), e_c, e_d, rule)
                    c *= e_c
                    rd *= e_d
                if more:
                    rk += 1
                    rd = d_v[ch, rk]
                    ta = tb
            if has_post:
                if has_pre:
                    s = stop - t_x
                    a, b, e = _cells(s)
                    g = rule.g_plus
                    ltp = rule.a_plus * x_last * (dec[g, a] * dec[g, b] * dec[g, e] if a >= 0
                                                  else exp_neg(s * rule.k_plus))
                    if rule.inv_rate_max_hz != 0.0:
                        ltp *= _ltp_rate_factor(h_r[i, slot], rule)
                    if rule.soft:
                        ltp *= rule.w_max - w
                    c += ltp
                t0 = stop
                m += 1
            go = has_post
        if depress:
            # postsynaptic trace at t - d from spikes strictly before (seen strictly before t)
            m = n - 1
            while m >= first and h_t[i, np.uint64(m & mask)] + d >= t:
                m -= 1
            y = 0.0
            if m >= first:
                slot = np.uint64(m & mask)
                s = t - d - h_t[i, slot]
                a, b, e = _cells(s)
                g = rule.g_minus
                y = h_k[i, slot] * (dec[g, a] * dec[g, b] * dec[g, e] if a >= 0 else
                                    exp_neg(s * rule.k_minus))
            elif first > 0:
                lost += 1
            ltd = rule.a_minus * y + rule.a_pre
            if rule.soft:
                ltd *= w - rule.w_min
            c -= ltd
        if commit:
            w_a[q] = w
            c_a[q] = c
            tl_a[q] = t
            if transmit:
                tw[np.int64(q) - tw_off] = np.float32(effective(w, rule))
        else:
            out_w[q] = w
            out_c[q] = c
    return lost


@njit_inline
def _stdp_row(lo, hi, t, depress, commit, syn_post, d_dend, d_fix, w_a, tl_a, x_last, t_x,
              h_t, h_k, h_r, h_n, rule, dec, out_w, out_c, transmit, tw, tw_off):
    """
    ``update_row`` for STDP: one backward scan of the history per synapse.

    From the newest postsynaptic spike, the scan finds both the first spike seen
    after ``t0`` and the last one seen strictly before ``t`` (the depression's);
    the potentiation then runs forward from the first. With learning off the
    weight stays, and only lost spikes are counted.
    """
    mask = h_t.shape[1] - 1
    lost = 0
    has_pre = t_x != _NO_SPIKE
    for q in range(np.uint64(lo), np.uint64(hi)):
        if q + _AHEAD < hi:
            i_next = np.uint64(syn_post[q + _AHEAD])
            prefetch(h_t, i_next, np.uint64((h_n[i_next] - 1) & mask))
        i = np.uint64(syn_post[q])
        d = d_fix if d_fix >= 0 else d_dend[q]
        t0 = tl_a[q]
        w = float(w_a[q])
        n = h_n[i]
        first = max(0, n - mask - 1)
        m = n - 1
        m_ltd = -1
        while m >= first:
            seen = h_t[i, np.uint64(m & mask)] + d
            if seen < t and m_ltd < 0:
                m_ltd = m
            if seen <= t0:
                break
            m -= 1
        if m < first and first > 0:
            lost += 1
        if m_ltd < 0:
            m_ltd = m
            while m_ltd >= first and h_t[i, np.uint64(m_ltd & mask)] + d >= t:
                m_ltd -= 1
        m += 1
        if has_pre and rule.learning:
            while m < n:
                slot = np.uint64(m & mask)
                seen = h_t[i, slot] + d
                if seen > t:
                    break
                s = seen - t_x
                a, b, e = _cells(s)
                g = rule.g_plus
                ltp = rule.a_plus * x_last * (dec[g, a] * dec[g, b] * dec[g, e] if a >= 0
                                              else exp_neg(s * rule.k_plus))
                if rule.inv_rate_max_hz != 0.0:
                    ltp *= _ltp_rate_factor(h_r[i, slot], rule)
                if rule.soft:
                    ltp *= rule.w_max - w
                w = _clip(w + ltp, rule)
                m += 1
        if depress:
            y = 0.0
            if m_ltd >= first:
                slot = np.uint64(m_ltd & mask)
                s = t - d - h_t[i, slot]
                a, b, e = _cells(s)
                g = rule.g_minus
                y = h_k[i, slot] * (dec[g, a] * dec[g, b] * dec[g, e] if a >= 0 else
                                    exp_neg(s * rule.k_minus))
            elif first > 0:
                lost += 1
            ltd = rule.a_minus * y + rule.a_pre
            if rule.soft:
                ltd *= w - rule.w_min
            if rule.learning:
                w = _clip(w - ltd, rule)
        if commit:
            w_a[q] = w
            tl_a[q] = t
            if transmit:
                tw[np.int64(q) - tw_off] = np.float32(effective(w, rule))
        else:
            out_w[q] = w
            out_c[q] = 0.0
    return lost


@njit_inline
def pre_spike(j, t, x_pre, t_pre, rule, dec):
    """Record a presynaptic spike of ``j`` at ``t`` in its trace (after its synapses)."""
    if t_pre[j] == _NO_SPIKE or rule.nearest:
        x_pre[j] = 1.0
    else:
        s = t - t_pre[j]
        a, b, e = _cells(s)
        g = rule.g_plus
        x_pre[j] = x_pre[j] * (dec[g, a] * dec[g, b] * dec[g, e] if a >= 0 else
                               exp_neg(s * rule.k_plus)) + 1.0
    t_pre[j] = t


@njit_inline
def post_spike(i, t, h_t, h_k, h_r, h_n, rule, dec):
    """Push a postsynaptic spike of ``i`` at ``t`` (ns, not before its last) into ``hist``."""
    mask = h_t.shape[1] - 1
    n = h_n[i]
    slot = n & mask
    if n == 0:
        k = 1.0
        r = 0.0
    else:
        prev = (n - 1) & mask
        dt = t - h_t[i, prev]
        a, b, e = _cells(dt)
        g = rule.g_minus
        k = 1.0
        if not rule.nearest:
            k = h_k[i, prev] * (dec[g, a] * dec[g, b] * dec[g, e] if a >= 0 else
                                exp_neg(dt * rule.k_minus)) + 1.0
        g = rule.g_rate
        r = (h_r[i, prev] + rule.rate_jump_hz) * (dec[g, a] * dec[g, b] * dec[g, e] if a >= 0
                                                  else exp_neg(dt * rule.k_rate))
    h_t[i, slot] = t
    h_k[i, slot] = k
    h_r[i, slot] = r
    h_n[i] = n + 1


@njit
def reward_spike(ch, t, amount, d_t, d_v, d_n, rule):
    """Add ``amount`` [1/s] to channel ``ch`` at ``t``; return False when the buffer is full."""
    n = d_n[ch]
    last = n - 1
    if d_t[ch, last] == t:
        d_v[ch, last] += amount
        return True
    if n >= d_t.shape[1]:
        return False
    d_t[ch, n] = t
    d_v[ch, n] = d_v[ch, last] * math.exp(-(t - d_t[ch, last]) * rule.k_d) + amount
    d_n[ch] = n + 1
    return True


@njit
def std_on_pre(j, t, x_res, t_res, u_use, k_rec):
    """
    Return the Tsodyks-Markram efficacy of a spike of ``j`` at ``t`` and use resources.

    ``x_res`` (float64) and ``t_res`` (int64) are per presynaptic neuron;
    ``k_rec`` is 1/tau_rec [1/ns].
    """
    if t_res[j] == _NO_SPIKE:
        x = 1.0
    else:
        x = 1.0 - (1.0 - x_res[j]) * math.exp(-(t - t_res[j]) * k_rec)
    x_res[j] = x * (1.0 - u_use)
    t_res[j] = t
    return x


@njit
def run_trains(pre_n, pre_t, post_n, post_t, sample_t, row_ptr, syn_post, d_dend, d_fix,
               post_ch, state, hist, dopa, rule, dec, out_w, out_c):
    """
    Drive a projection (synapses in CSR order by ``row_ptr``) through given trains.

    Events are processed in time order; at equal times postsynaptic spikes are
    pushed first, then presynaptic spikes (in the given order), then samples.
    A sample evaluates every synapse at its time into ``out_w[k]``/``out_c[k]``
    without changing the state. Delays as in ``update_row``. Returns the number
    of plastic synaptic events.
    """
    w_a, c_a, tl_a, x_pre, t_pre = borrow(tuple(state))
    h_t, h_k, h_r, h_n = borrow((hist.t, hist.k, hist.r, hist.n))
    d_t, d_v, d_n = borrow(tuple(dopa))
    ip = 0
    ie = 0
    iq = 0
    events = 0
    lost = 0
    n_post = post_t.shape[0]
    n_pre = pre_t.shape[0]
    n_q = sample_t.shape[0]
    while ip < n_post or ie < n_pre or iq < n_q:
        tp = post_t[ip] if ip < n_post else _NEVER
        te = pre_t[ie] if ie < n_pre else _NEVER
        tq = sample_t[iq] if iq < n_q else _NEVER
        if ip < n_post and tp <= te and tp <= tq:
            post_spike(post_n[ip], tp, h_t, h_k, h_r, h_n, rule, dec)
            ip += 1
        elif ie < n_pre and te <= tq:
            j = pre_n[ie]
            lost += update_row(j, row_ptr[j], row_ptr[j + 1], te, True, True, syn_post, d_dend,
                               d_fix, post_ch, w_a, c_a, tl_a, x_pre, t_pre, h_t, h_k, h_r, h_n,
                               d_t, d_v, d_n, rule, dec, out_w[0], out_c[0], False, out_w[0], 0)
            events += row_ptr[j + 1] - row_ptr[j]
            pre_spike(j, te, x_pre, t_pre, rule, dec)
            ie += 1
        else:
            for j in range(row_ptr.shape[0] - 1):
                update_row(j, row_ptr[j], row_ptr[j + 1], tq, False, False, syn_post, d_dend,
                           d_fix, post_ch, w_a, c_a, tl_a, x_pre, t_pre, h_t, h_k, h_r, h_n, d_t,
                           d_v, d_n, rule, dec, out_w[iq], out_c[iq], False, out_w[iq], 0)
            iq += 1
    hist.lost[0] += lost
    return events


@njit
def normalise_incoming(w, syn_post, n_post, total):
    """Scale the weights of each postsynaptic neuron so that they sum to ``total``."""
    sums = np.zeros(n_post)
    for s in range(w.shape[0]):
        sums[syn_post[s]] += w[s]
    for s in range(w.shape[0]):
        tot = sums[syn_post[s]]
        if tot != 0.0:
            w[s] = w[s] * (total / tot)


@njit
def prune_rewards(t, d_t, d_v, d_n, rule):
    """
    Drop reward entries no synapse can need once all synapses are at or after ``t``.

    Each channel keeps one start entry at ``t`` (its value there) and the entries
    after ``t``.
    """
    for ch in range(d_n.shape[0]):
        n = d_n[ch]
        k = 0
        while k + 1 < n and d_t[ch, k + 1] <= t:
            k += 1
        value = d_v[ch, k] * math.exp(-(t - d_t[ch, k]) * rule.k_d)
        d_t[ch, 0] = t
        d_v[ch, 0] = value
        m = 1
        for q in range(k + 1, n):
            d_t[ch, m] = d_t[ch, q]
            d_v[ch, m] = d_v[ch, q]
            m += 1
        d_n[ch] = m
