"""
Numba kernels of the event-driven engine (arrays and scalars only).

The layout of every table is fixed by the integer constants below; the public
``Simulator`` (``simulator.py``) builds the tables, validates, and calls
``run_window_loop``. The models' equations are in ``neurons.py``.

Inside a kernel, time is float64 nanoseconds since the start of the simulation:
every integer ns time is exact below 2**53 ns (104 days), and a located crossing
keeps its fraction of a ns. Arrival times in the queue are int64 ns.
"""

import math

import numpy as np

from snn_ros.core import _plasticity_kernels as plk
from snn_ros.core.jit import borrow, njit, njit_inline, njit_norc, njit_parallel, prange

INF = np.inf

# Group kinds.
K_ARRAY = 0
K_POISSON = 1
K_LIF = 2
K_ADAPTIVE = 3
K_EXP = 4

# Columns of the group integer table ``gint`` (one row per population or source).
G_START = 0
G_SIZE = 1
G_KIND = 2
G_RECORD = 3
G_PRED = 4       # 1 when its neurons can cross threshold between arrivals
G_FUSED = 5      # 1 for a Poisson source whose trains are generated at the targets
G_HELD = 6       # 1 for 'lif' neurons whose state is held (see ``_held_step``)
G_SWEPT = 7      # held groups whose fused drives all lie on the sweeps' grid: the least
#                  node id of their sources (n_nodes when none); -1 otherwise
G_NCOLS = 8

# Columns of the group parameter table ``par`` (float64; times in ns).
P_TAU_M = 0
P_THETA = 1
P_U_RESET = 2
P_T_REF = 3
P_U_MIN = 4
P_U_INIT = 5
P_I_EXT = 6
P_TAU_S = 7
P_TAU_TH = 8
P_TH_JUMP = 9
P_GAP = 10       # mean inter-spike interval of a Poisson source [ns] (inf for rate 0)
P_K = 11         # tau_s / (tau_s - tau_m)
P_INV_TM = 12
P_INV_TS = 13
P_INV_TTH = 14
P_GRID = 15      # grid step of a Poisson source [ns] (0: spikes at continuous times)
P_TH_TEST = 16   # 'lif': (theta - i_ext)(1 - THETA_RTOL), what u - i_ext is tested against
P_NCOLS = 17

# A 'lif' neuron fires when u - i_ext >= (theta - i_ext)(1 - THETA_RTOL): inputs that
# sum to theta exactly (16 x 0.5 mV against 8 mV) fire however their sum was rounded
# (held states round each w e), and no physical state lies in that 1e-12.
THETA_RTOL = 1e-12

# Columns of the grid table ``gtab`` (float64, one row per group; None when no Poisson
# source has a grid, which compiles the grid code out of the loops).
GT_LAM = 0       # mean count per step, rate * grid
GT_PMF = 1       # the Poisson probability of a count of CDF_LEN - 1
GT_CDF = 2       # GT_CDF + j: the probability of a count <= j, for j < CDF_LEN
CDF_LEN = 16
GT_GUIDE = GT_CDF + CDF_LEN  # GT_GUIDE + b: the count of the CDF entries <= b / GUIDE_LEN
GUIDE_LEN = 256
GT_NCOLS = GT_GUIDE + GUIDE_LEN

# Columns of the per-node state table ``st`` (float64, one row per node); the first
# eight share one 64-byte cache line: an arrival at a 'lif' neuron reads only that line
# (the drive's interval, grid and multiplicity, read when drive arrivals are due, are in
# the second).
S_U = 0          # membrane potential at S_TU [mV]; held groups: the held value h
S_TU = 1         # time of the state [ns]; held groups: a pending crossing's (inf: none)
S_TR = 2         # end of the refractory period [ns]
S_NX = 3         # exact time of the next spike of its Poisson source (or its own) [ns]
S_DX = 4         # next arrival of its fused Poisson drive, floor(S_NX) + S_DD [ns] (inf: none)
S_DD = 5         # delay of the fused drive [ns]
S_DW = 6         # weight of the fused drive [mV]
S_DS = 7         # node id of the fused drive's source (-1: none)
S_I = 8          # synaptic current state at S_TU [mV]
S_TH = 9         # threshold at S_TU [mV]
S_TP = 10        # predicted threshold crossing without further input [ns] (inf: none)
S_DG = 11        # mean interval of the fused drive [ns]
S_M = 12         # multiplicity of the event at S_NX (a grid step's count, maybe 0; else 1)
S_DH = 13        # grid step of the fused drive [ns] (0: continuous times)
S_DSG = 14       # group of the fused drive's source (its row of ``gtab`` for a grid)
S_NCOLS = 16      # padded: a row is two whole cache lines

# Columns of the projection table ``proj`` (int64).
J_IPTR = 0       # offset of this projection's indptr (pre.size + 1 entries, global syn ids)
J_DMODE = 1      # 0: one delay for the projection, 1: per-synapse delays
J_DCONST = 2     # the delay [ns] when J_DMODE == 0
J_DOFF = 3       # offset of this projection's delays in ``delay`` when J_DMODE == 1
J_SYN0 = 4       # first global synapse id of the projection
J_PRE0 = 5       # first node id of the presynaptic group
J_DQ = 6         # J_DCONST // d_min and
J_DR = 7         # J_DCONST % d_min, so that queueing a spike needs no division
J_NCOLS = 8

# Entries of the int64 ``meta`` vector (simulation counters, owned by the Simulator).
M_T = 0          # current time [ns]
M_QTOT = 1       # entries held by the arrival queue
M_PEND = 2       # read position in the pending pushed spikes
M_NREC = 3       # recorded spikes
M_NFP = 4        # neurons with a finite predicted crossing
M_W = 5          # window length [ns] (= d_min)
M_NB = 6         # number of buckets in the ring
M_NEV = 7        # synaptic events delivered (fused Poisson arrivals included)
M_NWIN = 8       # windows processed
M_ACTIVE = 9     # 1 when some group must be visited every window (Poisson)
M_NSPK = 10      # spikes emitted (sources included)
M_STAGE = 11     # 0: between windows, 1: integrating window M_B, 2: delivering its spikes
M_B = 12         # end of the window in progress [ns]
M_NSEL = 13      # selected queue entries of the window in progress
M_PH = 14        # resume point of integrate_window: phase, item, synapse
M_R = 15
M_SY = 16
M_EMN = 17       # spikes of the window in progress so far
M_NEED = 18      # size a too-small buffer needs (see run_window_loop's status)
M_NCAND = 19     # held neurons listed in ``cand`` with a crossing pending in this window
M_SERIAL = 20    # multi-threaded mode: 1 when the window in progress runs on one thread
M_EMAX = 21      # queue entries one spike adds, at most (over the groups)
M_TAIL = 22      # the window's spikes from here on are in order (-1: not known yet)
M_SWH = 23       # interval of the drive sweeps [ns] (0: none; see ``integrate_window``)
M_SWO = 24       # their offset: sweeps at times SWO + j SWH [ns]
M_SWT = 25       # the next sweep of the window in progress [ns] (int64 max: none)
M_SWR = 26       # the queue entry a sweep returns to
M_TB = 27        # base time of the held states [ns] (see ``_held_step``)
M_LEN = 28

_NO_SWEEP = np.iinfo(np.int64).max

# Columns of the plastic projection table ``pl_tab`` (int64, one row per plastic projection).
L_SYN0 = 0       # first global synapse id of the projection
L_N = 1          # its number of synapses
L_POFF = 2       # offset of its synapses in the plastic per-synapse arrays
L_XOFF = 3       # offset of its rows in the presynaptic traces ``px``/``pt``
L_HOFF = 4       # offset of its rows in the postsynaptic history ``h_*`` (-1: none)
L_D = 5          # its delay [ns] (dendritic, as NEST's)
L_KIND = 6       # 0: STDP or R-STDP, 1: short-term depression
L_PRE0 = 7       # first node id of the presynaptic group
L_IPTR = 8       # offset of its indptr rows (as J_IPTR)
L_NPRE = 9       # size of the presynaptic group
L_NCOLS = 10

# Columns of ``rule_tab`` (float64): the 28 fields of ``_plasticity_kernels.Rule`` in
# order (booleans as 0/1, decay table rows as whole numbers), then the short-term
# depression parameters.
R_LEARNING = 22  # the Rule's ``learning`` flag
R_U = 28         # Tsodyks-Markram use fraction U
R_KREC = 29      # 1 / tau_rec [1/ns]
R_NCOLS = 30

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TWO_M53 = 1.0 / 9007199254740992.0


@njit_inline
def rand_u01(rng, i):
    """Return a uniform draw in (0, 1] from stream ``i`` (splitmix64, Steele et al. 2014)."""
    s = rng[i] + _GOLDEN
    rng[i] = s
    z = (s ^ (s >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return (np.float64(z >> np.uint64(11)) + 1.0) * _TWO_M53


def ziggurat_tables():
    """
    Return the 256-layer exponential ziggurat as one float64 array (ke, we, fe).

    Marsaglia and Tsang (2000), The Ziggurat Method for Generating Random
    Variables, J. Stat. Softw. 5(8), section "exponential"; layout: ``ke`` in
    [0:256] (integer limits stored as floats), ``we`` in [256:512], ``fe`` in [512:768].
    """
    m2 = 4294967296.0
    de = 7.697117470131487
    te = de
    ve = 3.949659822581572e-3
    ke = np.zeros(256)
    we = np.zeros(256)
    fe = np.zeros(256)
    q = ve / math.exp(-de)
    ke[0] = math.floor((de / q) * m2)
    ke[1] = 0.0
    we[0] = q / m2
    we[255] = de / m2
    fe[0] = 1.0
    fe[255] = math.exp(-de)
    for i in range(254, 0, -1):
        de = -math.log(ve / de + math.exp(-de))
        ke[i + 1] = math.floor((de / te) * m2)
        te = de
        fe[i] = math.exp(-de)
        we[i] = de / m2
    return np.concatenate([ke, we, fe])


ZIGGURAT = ziggurat_tables()


@njit_inline
def _rand_u64(rng, i):
    s = rng[i] + _GOLDEN
    rng[i] = s
    z = (s ^ (s >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit_inline
def poisson_gap_ns(rng, i, gap_ns, zig):
    """
    Return an exponential interval with mean ``gap_ns`` from stream ``i`` (ziggurat).

    One 64-bit draw gives the 32-bit ``jz`` (high half); the layer index is its
    low 8 bits. Rare rejections use more draws; all deterministic per stream.
    """
    while True:
        jz = _rand_u64(rng, i) >> np.uint64(32)
        iz = np.int64(jz & np.uint64(255))
        x = np.float64(jz) * zig[256 + iz]
        if np.float64(jz) < zig[iz]:
            return x * gap_ns
        if iz == 0:
            return (7.697117470131487 - math.log(rand_u01(rng, i))) * gap_ns
        if zig[512 + iz] + rand_u01(rng, i) * (zig[511 + iz] - zig[512 + iz]) < math.exp(-x):
            return x * gap_ns


@njit
def _poisson_tail(u, gtab, g):
    """Return the Poisson count at or above ``CDF_LEN`` for the uniform ``u`` (inversion)."""
    lam = gtab[g, GT_LAM]
    p = gtab[g, GT_PMF]
    c = gtab[g, GT_CDF + CDF_LEN - 1]
    k = CDF_LEN
    while True:
        p *= lam / k
        if c + p == c or u < c + p:
            return k
        c += p
        k += 1


@njit_inline
def grid_count(rng, i, gtab, g):
    """
    Return the count of a grid step of train ``i``: Poisson with mean ``gtab[g, GT_LAM]``.

    Drawn by inversion: the first ``CDF_LEN`` values from the group's table,
    starting at its guide entry for ``u`` (the guide table of Chen and Asau 1974,
    AIIE Trans. 6(2) 163-166: mostly one comparison, 6 ns against 27 ns for
    comparing all 16), larger ones (rare) by the recurrence p(k) = p(k - 1) lam / k.
    Indices are unsigned: numba then adds no test for negative ones.
    """
    u = 1.0 - rand_u01(rng, i)
    k = np.uint64(gtab[g, GT_GUIDE + np.uint64(u * GUIDE_LEN)])
    while k < CDF_LEN and u >= gtab[g, GT_CDF + k]:
        k += np.uint64(1)
    if k == CDF_LEN:
        return np.float64(_poisson_tail(u, gtab, g))
    return np.float64(k)


@njit_inline
def next_spike(rng, i, t, gap, grid, gtab, g, zig):
    """
    Return the time [ns] and multiplicity of the next event after ``t`` of train ``i``.

    The train has a mean interval ``gap`` [ns]. With continuous times (``grid``
    0) its next spike is an exponential interval later, multiplicity 1. On a grid,
    as NEST's ``poisson_generator`` makes it, ``t`` is a grid time and the next
    event is the next step, whose count (``grid_count`` with row ``g``, a float,
    of ``gtab``) may be 0: the times of a grid train do not depend on its draws,
    so that no branch waits for them.
    """
    if gtab is not None:
        if grid > 0.0:
            return t + grid, grid_count(rng, i, gtab, np.uint64(g))
    return t + poisson_gap_ns(rng, i, gap, zig), 1.0


@njit_inline
def first_spike(rng, i, t0, gap, grid, gtab, g, zig):
    """Return ``next_spike`` from ``t0`` [ns], which a grid train first rounds down to its grid."""
    if grid > 0.0:
        t0 = math.floor(t0 / grid) * grid
    return next_spike(rng, i, t0, gap, grid, gtab, g, zig)


DECAY_SPLIT = 11


def decay_table(tau_ns):
    """
    Return the table of exp(-d / tau) for integer d in [0, 2**22) ns, in two halves.

    ``exp(-d/tau) = hi[d >> 11] * lo[d & 2047]``: a product of two correctly
    rounded values, relative error below 3e-16; ``decay`` falls back on ``exp``
    for other intervals.
    """
    n = 2 ** DECAY_SPLIT
    hi = np.exp(-(np.arange(n) * float(n)) / tau_ns)
    lo = np.exp(-np.arange(n, dtype=np.float64) / tau_ns)
    return np.concatenate([hi, lo])


@njit_inline
def decay(tab, s, inv_tau):
    """Return exp(-s * inv_tau) for ``s`` >= 0 [ns], from ``tab`` when s is a whole ns."""
    if s < 4194304.0:
        d = np.int64(s)
        if np.float64(d) == s:
            return tab[d >> 11] * tab[2048 + (d & 2047)]
    return plk.exp_neg(s * inv_tau)


@njit_inline
def advance(st, i, p, kind, t, dtab):
    """Bring the state of neuron ``i`` from ``st[i, S_TU]`` to time ``t`` (exactly)."""
    tu = st[i, S_TU]
    if t <= tu:
        return
    tr = st[i, S_TR]
    if kind == K_EXP:
        i0 = st[i, S_I]
        if tu < tr:
            if t <= tr:
                st[i, S_I] = i0 * math.exp(-(t - tu) * p[P_INV_TS])
                st[i, S_U] = p[P_U_RESET]
                st[i, S_TU] = t
                return
            i0 = i0 * math.exp(-(tr - tu) * p[P_INV_TS])
            u0 = p[P_U_RESET]
            s = t - tr
        else:
            u0 = st[i, S_U]
            s = t - tu
        em = math.exp(-s * p[P_INV_TM])
        es = math.exp(-s * p[P_INV_TS])
        ki = p[P_K] * i0
        ie = p[P_I_EXT]
        st[i, S_U] = ie + (u0 - ie - ki) * em + ki * es
        st[i, S_I] = i0 * es
        st[i, S_TU] = t
        return
    if kind == K_ADAPTIVE:
        tb = p[P_THETA]
        st[i, S_TH] = tb + (st[i, S_TH] - tb) * math.exp(-(t - tu) * p[P_INV_TTH])
    if t <= tr:
        st[i, S_U] = p[P_U_RESET]
        st[i, S_TU] = t
        return
    if tu < tr:
        u0 = p[P_U_RESET]
        s = t - tr
    else:
        u0 = st[i, S_U]
        s = t - tu
    ie = p[P_I_EXT]
    u = ie + (u0 - ie) * decay(dtab, s, p[P_INV_TM])
    if u < p[P_U_MIN]:
        u = p[P_U_MIN]
    st[i, S_U] = u
    st[i, S_TU] = t


@njit
def _f2(s, c, a, it1, b, it2):
    return c + a * math.exp(-s * it1) + b * math.exp(-s * it2)


@njit
def first_root(c, a, tau1, b, tau2):
    """
    Return the first s > 0 where c + a exp(-s/tau1) + b exp(-s/tau2) reaches 0 (inf: never).

    The function must be negative at s = 0. Its derivative has at most one zero
    s*, so the monotone piece that changes sign is bracketed and the root found by
    Newton's method safeguarded by bisection.
    """
    it1 = 1.0 / tau1
    it2 = 1.0 / tau2
    if c + a + b >= 0.0:
        return 0.0
    lo = 0.0
    hi = -1.0
    star = False
    sstar = 0.0
    if a != 0.0 and b != 0.0 and tau1 != tau2:
        r = -(b * tau1) / (a * tau2)
        if r > 0.0:
            sstar = math.log(r) / (it2 - it1)
            star = sstar > 0.0
    if star:
        if _f2(sstar, c, a, it1, b, it2) >= 0.0:
            hi = sstar
        elif c > 0.0:
            lo = sstar
        else:
            return INF
    elif c <= 0.0:
        return INF
    if hi < 0.0:
        step = tau1 if tau1 > tau2 else tau2
        hi = lo + step
        n = 0
        while _f2(hi, c, a, it1, b, it2) < 0.0:
            lo = hi
            step *= 2.0
            hi = lo + step
            n += 1
            if n > 200:
                return INF
    x = lo
    for _ in range(200):
        e1 = math.exp(-x * it1)
        e2 = math.exp(-x * it2)
        fx = c + a * e1 + b * e2
        if fx < 0.0:
            lo = x
        else:
            hi = x
        tol = 1e-7 + 1e-15 * x
        if hi - lo <= tol:
            return hi
        dfx = -a * it1 * e1 - b * it2 * e2
        xn = 0.5 * (lo + hi)
        if dfx > 0.0:
            xn2 = x - fx / dfx
            if lo < xn2 < hi:
                xn = xn2
        if abs(xn - x) <= tol:
            return xn
        x = xn
    return hi


@njit
def predict(st, i, p, kind):
    """Return the next threshold crossing of neuron ``i`` without further input [ns]."""
    tu = st[i, S_TU]
    tr = st[i, S_TR]
    ie = p[P_I_EXT]
    if tu < tr:
        start = tr
        u0 = p[P_U_RESET]
    else:
        start = tu
        u0 = st[i, S_U]
    if kind == K_LIF:
        th = p[P_THETA]
        if u0 - ie >= p[P_TH_TEST]:
            return start
        if ie <= th:
            return INF
        return start + p[P_TAU_M] * math.log((ie - u0) / (ie - th))
    if kind == K_ADAPTIVE:
        tb = p[P_THETA]
        if u0 < tb and ie < tb:
            return INF
        th0 = st[i, S_TH]
        if tu < tr:
            th0 = tb + (th0 - tb) * math.exp(-(tr - tu) * p[P_INV_TTH])
        if u0 >= th0:
            return start
        s = first_root(ie - tb, u0 - ie, p[P_TAU_M], -(th0 - tb), p[P_TAU_TH])
        return start + s
    # K_EXP
    th = p[P_THETA]
    i0 = st[i, S_I]
    if tu < tr:
        i0 = i0 * math.exp(-(tr - tu) * p[P_INV_TS])
    top = ie + (i0 if i0 > 0.0 else 0.0)
    if u0 < th and top < th:
        return INF
    ki = p[P_K] * i0
    s = first_root(ie - th, u0 - ie - ki, p[P_TAU_M], ki, p[P_TAU_S])
    return start + s


@njit_inline
def set_prediction(st, i, value, meta):
    """Store a predicted crossing and keep the count of finite predictions."""
    old = st[i, S_TP]
    if old < INF:
        if not value < INF:
            meta[M_NFP] -= 1
    elif value < INF:
        meta[M_NFP] += 1
    st[i, S_TP] = value


@njit_inline
def _fire(st, i, p, kind, x, last_ns, em_src, em_t, em_n, meta):
    """Reset neuron ``i`` (already advanced to ``x``) and write its spike at ``em_n``."""
    st[i, S_U] = p[P_U_RESET]
    st[i, S_TU] = x
    st[i, S_TR] = x + p[P_T_REF]
    if kind == K_ADAPTIVE:
        st[i, S_TH] += p[P_TH_JUMP]
    t_ns = np.int64(math.floor(x + 0.5))
    last_ns[i] = t_ns
    em_src[em_n] = i
    em_t[em_n] = t_ns
    set_prediction(st, i, predict(st, i, p, kind), meta)


@njit_inline
def held_e(t, tb, inv_tau):
    """Return the factor exp((t - tb) / tau) that holds a value at ``t`` relative to ``tb``."""
    return math.exp((t - tb) * inv_tau)


@njit_inline
def _fire_held(st, i, p, tb, last_ns, em_src, em_t, em_n):
    """Fire the crossing pending at ``st[i, S_TU]`` of held neuron ``i``; its spike at ``em_n``."""
    x = st[i, S_TU]
    tr = x + p[P_T_REF]
    st[i, S_TR] = tr
    st[i, S_U] = (p[P_U_RESET] - p[P_I_EXT]) * held_e(tr, tb, p[P_INV_TM])
    st[i, S_TU] = INF
    t_ns = np.int64(x)
    last_ns[i] = t_ns
    em_src[em_n] = i
    em_t[em_n] = t_ns


@njit_inline
def _apply(i, kind, p, st, dtab, te, w, meta):
    """
    Apply one arrival of weight ``w`` at ``te`` to neuron ``i`` (generic path).

    A delta neuron that reaches threshold does not fire here: its prediction
    becomes ``te`` (a pending crossing) and it fires before its next event at a
    later time, so that every arrival of the same instant is summed first.
    """
    if kind == K_EXP:
        advance(st, i, p, kind, te, dtab)
        st[i, S_I] += w
        set_prediction(st, i, predict(st, i, p, kind), meta)
        return
    if te < st[i, S_TR]:
        return
    advance(st, i, p, kind, te, dtab)
    u = st[i, S_U] + w
    if u < p[P_U_MIN]:
        u = p[P_U_MIN]
    st[i, S_U] = u
    set_prediction(st, i, predict(st, i, p, kind), meta)


@njit_inline
def _held_step(h, tp, tr, te, w, e, th_e, vmin_e, v_reset, t_ref, tb, inv_tau):
    """
    Apply one event of weight ``w`` at ``te`` to a held neuron; return ``(h, tp, tr, spike)``.

    A held neuron (``G_HELD``) keeps h with u(t) = i_ext + h exp(-(t - tb)/tau)
    for t past its refractory end ``tr``, where ``tb`` is the network's base time
    ``meta[M_TB]``: an event adds w e with e = exp((te - tb)/tau), one factor per
    queue entry, instead of decaying the neuron from its own last event, and the
    threshold, floor and reset are compared in the same frame (``th_e``, ``vmin_e``
    are ``P_TH_TEST`` e and (u_min - i_ext) e; ``v_reset`` is u_reset - i_ext).
    A crossing at ``te`` is pending (``tp`` = te, else inf): arrivals of the same
    instant are added to it, and an event at a later time first fires it (``spike``
    is then its time, else -1). Events in the refractory period are ignored; u is
    clamped at u_min after the decay and after the jump.
    """
    spike = -1.0
    if tp < te:
        spike = tp
        tr = tp + t_ref
        h = v_reset * held_e(tr, tb, inv_tau)
    live = not te < tr
    v = max(max(h, vmin_e) + w * e, vmin_e)
    return (v if live else h), (te if live and v >= th_e else INF), tr, spike


@njit_norc
def sweep_drives(t_s, r, r_end, drv_nodes, gint, par, zig, gtab, node_group, st, rng,
                 last_ns, em_src, em_t, em_n, cand, n_cand, tb):
    """
    Apply the fused drive events up to and including ``t_s`` [ns] of ``drv_nodes[r:r_end]``.

    Only for held neurons (``G_HELD``), with base time ``tb``: every arrival up to
    ``t_s`` must have been taken. A drive on a grid then has one event per sweep
    at the grid's times, so visiting the neurons in order spares each arrival a
    test that is rarely true and costly to mispredict; the others catch up at
    their next arrival, as always. Returns ``(em_n, r, n_cand, n_ev)``; ``r <
    r_end`` when the spike buffers are full (``cand`` as in ``integrate_window``).
    Compiled without reference counting: its draws pass arrays to inlined
    helpers, five counting calls per neuron and step otherwise (12% of Brunel).
    """
    cap = em_src.shape[0]
    n_nodes = st.shape[0]
    n_ev = 0
    g_e = -1
    e_s = 1.0
    while r < r_end:
        i = np.uint64(drv_nodes[r])
        g = np.uint64(node_group[i])
        dx = st[i, S_DX]
        if dx <= t_s and gint[g, G_HELD] != 0:
            if em_n >= cap:
                break
            inv_tau = par[g, P_INV_TM]
            ie = par[g, P_I_EXT]
            if g != g_e:
                g_e = g
                e_s = held_e(t_s, tb, inv_tau)
            th = par[g, P_TH_TEST]
            vmin = par[g, P_U_MIN] - ie
            v_reset = par[g, P_U_RESET] - ie
            t_ref = par[g, P_T_REF]
            h = st[i, S_U]
            tp = st[i, S_TU]
            tr = st[i, S_TR]
            dw = st[i, S_DW]
            nx = st[i, S_NX]
            dm = st[i, S_M]
            full = False
            while dx <= t_s:
                if em_n >= cap:
                    full = True
                    break
                te = dx
                m = dm
                nx, dm = next_spike(rng, np.uint64(st[i, S_DS]), nx, st[i, S_DG], st[i, S_DH],
                                    gtab, st[i, S_DSG], zig)
                dx = math.floor(nx) + st[i, S_DD]
                n_ev += np.int64(m)
                e = e_s if te == t_s else held_e(te, tb, inv_tau)
                hn, tpn, trn, spike = _held_step(h, tp, tr, te, dw * m, e, th * e, vmin * e,
                                                 v_reset, t_ref, tb, inv_tau)
                keep = m > 0.0  # a select: 13% of Brunel's grid steps bring no spike
                h = hn if keep else h
                tp = tpn if keep else tp
                tr = trn if keep else tr
                if spike >= 0.0 and keep:
                    t_ns = np.int64(spike)
                    last_ns[i] = t_ns
                    em_src[em_n] = i
                    em_t[em_n] = t_ns
                    em_n += 1
            st[i, S_U] = h
            st[i, S_TU] = tp
            st[i, S_TR] = tr
            st[i, S_NX] = nx
            st[i, S_DX] = dx
            st[i, S_M] = dm
            if tp < INF and cand[n_nodes + i] == 0:
                cand[n_nodes + i] = 1
                cand[n_cand] = i
                n_cand += 1
            if full:
                break
        r += 1
    return em_n, r, n_cand, n_ev


_TIGHT_MIN = 8  # synapses of a queue entry worth a call of ``deliver_held``


@njit
def deliver_held(sy, s1, target, weight, st, t, e, th_e, vmin_e, cand, n_cand):
    """
    Apply the arrivals at ``t`` of synapses ``sy:s1`` to held neurons; return ``n_cand``.

    ``_held_step`` for the window loops when no drive event of the targets
    is due before ``t`` and no crossing is pending before it (``flush_pending``):
    then no arrival fires, so the loop has no call and its few values stay in
    registers. Indices are unsigned, so that numba adds no test for negative ones.
    """
    n_nodes = np.uint64(st.shape[0])
    for q in range(np.uint64(sy), np.uint64(s1)):
        i = np.uint64(target[q])
        h = st[i, S_U]
        live = not t < st[i, S_TR]
        v = max(max(h, vmin_e) + np.float64(weight[q]) * e, vmin_e)
        st[i, S_U] = v if live else h
        cross = live and v >= th_e
        st[i, S_TU] = t if cross else INF
        if cross and cand[n_nodes + i] == 0:
            cand[n_nodes + i] = 1
            cand[n_cand] = i
            n_cand += 1
    return n_cand


@njit
def flush_pending(t, st, par, node_group, cand, c0, n_cand, tb, last_ns, em_src, em_t, em_n):
    """
    Fire the crossings listed in ``cand[c0:c0 + n_cand]`` pending before ``t`` [ns].

    Those pending at ``t`` stay listed (arrivals of that instant are added to
    them); the others leave the list. The buffers must hold ``n_cand`` more
    spikes. Returns ``(em_n, n_cand)``.
    """
    n_nodes = st.shape[0]
    n_keep = 0
    for j in range(n_cand):
        i = cand[c0 + j]
        tp = st[i, S_TU]
        if tp < t:
            _fire_held(st, i, par[node_group[i]], tb, last_ns, em_src, em_t, em_n)
            em_n += 1
        elif tp == t:
            cand[c0 + n_keep] = i
            n_keep += 1
            continue
        cand[n_nodes + i] = 0
    return em_n, n_keep


@njit
def integrate_window(ph, r, sy, n_sel, sel, k, q_t, q_src, q_s0, q_s1, target, weight, b,
                     drv_nodes, gint, par, dtab, zig, gtab, node_group, st, rng, last_ns,
                     em_src, em_t, em_n, meta, cand, pl):
    """
    Deliver one window's arrivals and advance the neurons that must be, up to ``b`` [ns].

    Work comes in phases: ``ph == 0``, the synapses of the selected queue
    entries ``sel[:n_sel]`` (sorted by time, source, synapse) one by one, with a
    sweep of the drives (``sweep_drives``, ``ph == 1`` until it returns to the
    entry ``meta[M_SWR]``) before the first entry after each sweep time
    ``meta[M_SWT]`` (``_open_window``); ``ph == 1`` then, the neurons with a fused
    Poisson drive (``drv_nodes``) up to ``b``; ``ph == 2``, when
    if any prediction is finite, the neurons whose predicted crossing falls
    before ``b`` (predictions made earlier in this window included); ``ph == 3``,
    the held neurons listed in ``cand[:meta[M_NCAND]]`` (``cand[n + i]`` marks
    neuron ``i`` as listed) whose crossing is still pending; before each entry,
    the listed crossings pending before it (``flush_pending``). For each
    item the neuron first catches up with its own events (drive arrivals and
    predicted crossings) that come before the item in (time, source) order, then
    takes the arrival. Held neurons (``_held_step``) take a fast path, and an
    entry whose targets have no drive event due takes ``deliver_held``.
    Returns ``(em_n, ph, r, sy, done)``; when the spike buffers are full
    ``done`` is False and the caller grows them and calls again with the returned
    ``ph, r, sy`` (all state is saved; the interrupted item is redone). A queue
    entry of a plastic projection first updates its row, as ``plastic_rows`` does.
    The window loops pass their arrays borrowed (``jit.borrow``).
    """
    cap = em_src.shape[0]
    n_pl = pl[0].shape[0]
    (pl_tab, rule_tab, pw, pc, ptl, psp, px, pt, h_t, h_k, h_r, h_n, lost, d_t, d_v, d_n,
     post_ch, pdec) = pl[:18]
    n_drv = drv_nodes.shape[0]
    n_nodes = st.shape[0]
    tb = np.float64(meta[M_TB])
    n_ev = 0
    while True:
        if ph == 0:
            if r >= n_sel:
                meta[M_SWT] = _NO_SWEEP
                ph = 1
                r = 0
                continue
            e = sel[r]
            if sy < 0 and meta[M_NCAND] > 0:
                # Crossings pending before the next event fire first.
                if em_n + meta[M_NCAND] > cap:
                    meta[M_NEV] += n_ev
                    return em_n, ph, r, sy, False
                em_n, meta[M_NCAND] = flush_pending(min(meta[M_SWT], q_t[k, e]), st, par,
                                                    node_group, cand, 0, meta[M_NCAND], tb,
                                                    last_ns, em_src, em_t, em_n)
            if sy < 0 and meta[M_SWT] < q_t[k, e]:
                # Every arrival up to the sweep time is in: the drives catch up to it.
                meta[M_SWR] = r
                ph = 1
                r = 0
                continue
            s0 = q_s0[k, e]
            s1 = q_s1[k, e]
            if sy < s0:
                sy = s0
                if n_pl > 0:
                    # The plastic row first, written out here (see ``plastic_rows``).
                    pp = plastic_projection(pl_tab, s0)
                    if pp >= 0:
                        j = pl_tab[pp, L_XOFF] + (q_src[k, e] - pl_tab[pp, L_PRE0])
                        t_e = q_t[k, e] - pl_tab[pp, L_D]
                        off = pl_tab[pp, L_POFF] - pl_tab[pp, L_SYN0]
                        if pl_tab[pp, L_KIND] == 1:
                            eff = plk.std_on_pre(j, t_e, px, pt, rule_tab[pp, R_U],
                                                 rule_tab[pp, R_KREC])
                            for q in range(s0 + off, s1 + off):
                                weight[q - off] = np.float32(pw[q] * eff)
                        else:
                            rule = make_rule(rule_tab, pp)
                            lost[0] += plk.update_row(j, s0 + off, s1 + off, t_e, True, True,
                                                      psp, psp, pl_tab[pp, L_D], post_ch, pw,
                                                      pc, ptl, px, pt, h_t, h_k, h_r, h_n, d_t,
                                                      d_v, d_n, rule, pdec, pw, pw, True,
                                                      weight, off)
                            plk.pre_spike(j, t_e, px, pt, rule, pdec)
            t_lim = np.float64(q_t[k, e])
            s_lim = np.int64(q_src[k, e])
            arrival = True
            g = node_group[target[s0]]
        elif ph == 1:
            if meta[M_SWT] != _NO_SWEEP:
                em_n, r, meta[M_NCAND], n_sw = sweep_drives(
                    np.float64(meta[M_SWT]), r, n_drv, drv_nodes, gint, par, zig, gtab,
                    node_group, st, rng, last_ns, em_src, em_t, em_n, cand, meta[M_NCAND], tb)
                n_ev += n_sw
                if r < n_drv:
                    meta[M_NEV] += n_ev
                    return em_n, ph, r, sy, False
                meta[M_SWT] += meta[M_SWH]
                ph = 0
                r = meta[M_SWR]
                continue
            if r >= n_drv:
                ph = 2
                r = 0
                continue
            s1 = sy
            t_lim = b
            s_lim = np.int64(-1)
            arrival = False
            g = node_group[drv_nodes[r]]
        elif ph == 3:
            # Fire the held crossings still pending at the end of the window.
            if r >= meta[M_NCAND]:
                break
            i = cand[r]
            if st[i, S_TU] < INF:
                if em_n >= cap:
                    meta[M_NEV] += n_ev
                    return em_n, ph, r, sy, False
                _fire_held(st, i, par[node_group[i]], tb, last_ns, em_src, em_t, em_n)
                em_n += 1
            cand[n_nodes + i] = 0
            r += 1
            continue
        else:
            if r >= n_nodes or meta[M_NFP] == 0:
                ph = 3
                r = 0
                continue
            if not st[r, S_TP] < b:
                r += 1
                continue
            s1 = sy
            t_lim = b
            s_lim = np.int64(-1)
            arrival = False
            g = node_group[r]
        kind = gint[g, G_KIND]
        if gint[g, G_HELD] != 0:
            # Held 'lif' neurons: crossings only at events; the state stays in registers.
            inv_tau = par[g, P_INV_TM]
            ie = par[g, P_I_EXT]
            th = par[g, P_TH_TEST]
            vmin = par[g, P_U_MIN] - ie
            v_reset = par[g, P_U_RESET] - ie
            t_ref = par[g, P_T_REF]
            e_a = held_e(t_lim, tb, inv_tau) if arrival else 1.0
            th_a = th * e_a
            vmin_a = vmin * e_a
            gsw = gint[g, G_SWEPT]
            if arrival and gsw >= 0 and (t_lim < meta[M_SWT] or s_lim < gsw) \
                    and s1 - sy >= _TIGHT_MIN:
                # No drive event of these targets is due before the entry (the sweeps
                # take them all): the synapses in a tight loop.
                n_ev += s1 - sy
                meta[M_NCAND] = deliver_held(sy, s1, target, weight, st, t_lim, e_a, th_a,
                                             vmin_a, cand, meta[M_NCAND])
                sy = s1
            while True:
                if arrival:
                    if sy >= s1:
                        break
                    i = np.int64(target[sy])
                else:
                    i = np.int64(drv_nodes[r]) if ph == 1 else np.int64(r)
                h = st[i, S_U]
                tp = st[i, S_TU]
                tr = st[i, S_TR]
                dx = st[i, S_DX]
                ds = np.int64(st[i, S_DS])
                full = False
                if dx < t_lim or (dx == t_lim and ds < s_lim):
                    nx = st[i, S_NX]
                    dd = st[i, S_DD]
                    dw = st[i, S_DW]
                    dg = st[i, S_DG]
                    dm = st[i, S_M]
                    dh = st[i, S_DH]
                    dsg = st[i, S_DSG]
                    while dx < t_lim or (dx == t_lim and ds < s_lim):
                        if em_n >= cap:
                            full = True
                            break
                        te = dx
                        m = dm
                        nx, dm = next_spike(rng, ds, nx, dg, dh, gtab, dsg, zig)
                        dx = math.floor(nx) + dd
                        if m > 0.0:
                            n_ev += np.int64(m)
                            e = held_e(te, tb, inv_tau)
                            h, tp, tr, spike = _held_step(h, tp, tr, te, dw * m, e, th * e,
                                                          vmin * e, v_reset, t_ref, tb, inv_tau)
                            if spike >= 0.0:
                                t_ns = np.int64(spike)
                                last_ns[i] = t_ns
                                em_src[em_n] = i
                                em_t[em_n] = t_ns
                                em_n += 1
                    st[i, S_NX] = nx
                    st[i, S_DX] = dx
                    st[i, S_M] = dm
                if arrival and not full:
                    if em_n >= cap:
                        full = True
                    else:
                        n_ev += 1
                        h, tp, tr, spike = _held_step(h, tp, tr, t_lim, np.float64(weight[sy]),
                                                      e_a, th_a, vmin_a, v_reset, t_ref, tb,
                                                      inv_tau)
                        if spike >= 0.0:
                            t_ns = np.int64(spike)
                            last_ns[i] = t_ns
                            em_src[em_n] = i
                            em_t[em_n] = t_ns
                            em_n += 1
                st[i, S_U] = h
                st[i, S_TU] = tp
                st[i, S_TR] = tr
                if tp < INF and cand[n_nodes + i] == 0:
                    cand[n_nodes + i] = 1
                    cand[meta[M_NCAND]] = i
                    meta[M_NCAND] += 1
                if full:
                    meta[M_NEV] += n_ev
                    return em_n, ph, r, sy, False
                if not arrival:
                    break
                sy += 1
        else:
            prow = par[g]
            drow = dtab[g]
            while True:
                if arrival:
                    if sy >= s1:
                        break
                    i = np.int64(target[sy])
                else:
                    i = np.int64(drv_nodes[r]) if ph == 1 else np.int64(r)
                while True:
                    td = st[i, S_DX]
                    ds = np.int64(st[i, S_DS])
                    drive_due = td < t_lim or (td == t_lim and ds < s_lim)
                    tp = st[i, S_TP]
                    # A crossing pending at the state's own time (tp == tu) waits for
                    # the arrivals of the same instant; a future one fires first.
                    pending = kind != K_EXP and tp == st[i, S_TU]
                    pred_due = tp < t_lim or (tp == t_lim and s_lim >= 0 and not pending)
                    if not drive_due and not pred_due:
                        break
                    if em_n >= cap:
                        meta[M_NEV] += n_ev
                        return em_n, ph, r, sy, False
                    if pred_due and (not drive_due or tp < td or (tp == td and not pending)):
                        advance(st, i, prow, kind, tp, drow)
                        _fire(st, i, prow, kind, tp, last_ns, em_src, em_t, em_n, meta)
                        em_n += 1
                        continue
                    m = st[i, S_M]
                    nx, m_next = next_spike(rng, ds, st[i, S_NX], st[i, S_DG], st[i, S_DH], gtab,
                                            st[i, S_DSG], zig)
                    st[i, S_NX] = nx
                    st[i, S_M] = m_next
                    st[i, S_DX] = math.floor(nx) + st[i, S_DD]
                    if m > 0.0:
                        n_ev += np.int64(m)
                        _apply(i, kind, prow, st, drow, td, st[i, S_DW] * m, meta)
                if not arrival:
                    break
                if em_n >= cap:
                    meta[M_NEV] += n_ev
                    return em_n, ph, r, sy, False
                n_ev += 1
                _apply(i, kind, prow, st, drow, t_lim, np.float64(weight[sy]), meta)
                sy += 1
        r += 1
        sy = -1
    meta[M_NEV] += n_ev
    meta[M_NCAND] = 0
    return em_n, ph, r, sy, True


@njit_inline
def _lower_bound(a, lo, hi, x):
    """Return the first index in ``[lo, hi)`` with ``a[index] >= x`` (``a`` sorted there)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit
def integrate_block(ph, r, sy, n_sel, sel, k, q_t, q_src, q_s0, q_s1, target, weight, b,
                    drv_nodes, gint, par, dtab, zig, gtab, node_group, st, rng, last_ns,
                    em_src, em_t, em_n, meta, cand, lo, hi, d_lo, d_hi, sorted_rows):
    """
    Do what ``integrate_window`` does for the target neurons ``lo <= i < hi`` only.

    One of the disjoint blocks of the multi-threaded mode: it reads the queue and
    the synapses, and writes only the state of its own neurons, its own spike
    buffers ``em_*``, its ``meta`` row (counters) and its part of ``cand``
    (``cand[lo:hi]`` lists, ``cand[n + i]`` marks). With ``sorted_rows`` (every
    CSR row sorted by target) a row is cut to the block by binary search;
    otherwise the synapses of other blocks are skipped one by one. Fused drives
    ``drv_nodes[d_lo:d_hi]`` are the block's. Plastic rows must have been updated
    before (``plastic_rows``), as no block may write weights.
    """
    cap = em_src.shape[0]
    n_nodes = st.shape[0]
    tb = np.float64(meta[M_TB])
    n_ev = 0
    while True:
        if ph == 0:
            if r >= n_sel:
                meta[M_SWT] = _NO_SWEEP
                ph = 1
                r = d_lo
                continue
            e = sel[r]
            if sy < 0 and meta[M_NCAND] > 0:
                if em_n + meta[M_NCAND] > cap:
                    meta[M_NEV] += n_ev
                    return em_n, ph, r, sy, False
                em_n, meta[M_NCAND] = flush_pending(min(meta[M_SWT], q_t[k, e]), st, par,
                                                    node_group, cand, lo, meta[M_NCAND], tb,
                                                    last_ns, em_src, em_t, em_n)
            if sy < 0 and meta[M_SWT] < q_t[k, e]:
                meta[M_SWR] = r
                ph = 1
                r = d_lo
                continue
            s0 = q_s0[k, e]
            s1 = q_s1[k, e]
            if sorted_rows:
                s0 = _lower_bound(target, s0, s1, lo)
                s1 = _lower_bound(target, s0, s1, hi)
            if s0 >= s1:
                r += 1
                sy = -1
                continue
            if sy < s0:
                sy = s0
            t_lim = np.float64(q_t[k, e])
            s_lim = np.int64(q_src[k, e])
            arrival = True
            g = node_group[target[s0]]
        elif ph == 1:
            if meta[M_SWT] != _NO_SWEEP:
                em_n, r, n_c, n_sw = sweep_drives(
                    np.float64(meta[M_SWT]), r, d_hi, drv_nodes, gint, par, zig, gtab,
                    node_group, st, rng, last_ns, em_src, em_t, em_n, cand,
                    lo + meta[M_NCAND], tb)
                meta[M_NCAND] = n_c - lo
                n_ev += n_sw
                if r < d_hi:
                    meta[M_NEV] += n_ev
                    return em_n, ph, r, sy, False
                meta[M_SWT] += meta[M_SWH]
                ph = 0
                r = meta[M_SWR]
                continue
            if r >= d_hi:
                ph = 2
                r = lo
                continue
            s1 = sy
            t_lim = b
            s_lim = np.int64(-1)
            arrival = False
            g = node_group[drv_nodes[r]]
        elif ph == 3:
            # Fire the held crossings still pending at the end of the window.
            if r >= meta[M_NCAND]:
                break
            i = cand[lo + r]
            if st[i, S_TU] < INF:
                if em_n >= cap:
                    meta[M_NEV] += n_ev
                    return em_n, ph, r, sy, False
                _fire_held(st, i, par[node_group[i]], tb, last_ns, em_src, em_t, em_n)
                em_n += 1
            cand[n_nodes + i] = 0
            r += 1
            continue
        else:
            if r >= hi or meta[M_NFP] == 0:
                ph = 3
                r = 0
                continue
            if not st[r, S_TP] < b:
                r += 1
                continue
            s1 = sy
            t_lim = b
            s_lim = np.int64(-1)
            arrival = False
            g = node_group[r]
        kind = gint[g, G_KIND]
        if gint[g, G_HELD] != 0:
            # Held 'lif' neurons, as in ``integrate_window``.
            inv_tau = par[g, P_INV_TM]
            ie = par[g, P_I_EXT]
            th = par[g, P_TH_TEST]
            vmin = par[g, P_U_MIN] - ie
            v_reset = par[g, P_U_RESET] - ie
            t_ref = par[g, P_T_REF]
            e_a = held_e(t_lim, tb, inv_tau) if arrival else 1.0
            th_a = th * e_a
            vmin_a = vmin * e_a
            gsw = gint[g, G_SWEPT]
            if arrival and sorted_rows and gsw >= 0 and (t_lim < meta[M_SWT] or s_lim < gsw) \
                    and s1 - sy >= _TIGHT_MIN:
                n_ev += s1 - sy
                meta[M_NCAND] = deliver_held(sy, s1, target, weight, st, t_lim, e_a, th_a,
                                             vmin_a, cand, lo + meta[M_NCAND]) - lo
                sy = s1
            while True:
                if arrival:
                    if sy >= s1:
                        break
                    i = np.int64(target[sy])
                    if i < lo or i >= hi:
                        sy += 1
                        continue
                else:
                    i = np.int64(drv_nodes[r]) if ph == 1 else np.int64(r)
                h = st[i, S_U]
                tp = st[i, S_TU]
                tr = st[i, S_TR]
                dx = st[i, S_DX]
                ds = np.int64(st[i, S_DS])
                full = False
                if dx < t_lim or (dx == t_lim and ds < s_lim):
                    nx = st[i, S_NX]
                    dd = st[i, S_DD]
                    dw = st[i, S_DW]
                    dg = st[i, S_DG]
                    dm = st[i, S_M]
                    dh = st[i, S_DH]
                    dsg = st[i, S_DSG]
                    while dx < t_lim or (dx == t_lim and ds < s_lim):
                        if em_n >= cap:
                            full = True
                            break
                        te = dx
                        m = dm
                        nx, dm = next_spike(rng, ds, nx, dg, dh, gtab, dsg, zig)
                        dx = math.floor(nx) + dd
                        if m > 0.0:
                            n_ev += np.int64(m)
                            e = held_e(te, tb, inv_tau)
                            h, tp, tr, spike = _held_step(h, tp, tr, te, dw * m, e, th * e,
                                                          vmin * e, v_reset, t_ref, tb, inv_tau)
                            if spike >= 0.0:
                                t_ns = np.int64(spike)
                                last_ns[i] = t_ns
                                em_src[em_n] = i
                                em_t[em_n] = t_ns
                                em_n += 1
                    st[i, S_NX] = nx
                    st[i, S_DX] = dx
                    st[i, S_M] = dm
                if arrival and not full:
                    if em_n >= cap:
                        full = True
                    else:
                        n_ev += 1
                        h, tp, tr, spike = _held_step(h, tp, tr, t_lim, np.float64(weight[sy]),
                                                      e_a, th_a, vmin_a, v_reset, t_ref, tb,
                                                      inv_tau)
                        if spike >= 0.0:
                            t_ns = np.int64(spike)
                            last_ns[i] = t_ns
                            em_src[em_n] = i
                            em_t[em_n] = t_ns
                            em_n += 1
                st[i, S_U] = h
                st[i, S_TU] = tp
                st[i, S_TR] = tr
                if tp < INF and cand[n_nodes + i] == 0:
                    cand[n_nodes + i] = 1
                    cand[lo + meta[M_NCAND]] = i
                    meta[M_NCAND] += 1
                if full:
                    meta[M_NEV] += n_ev
                    return em_n, ph, r, sy, False
                if not arrival:
                    break
                sy += 1
        else:
            prow = par[g]
            drow = dtab[g]
            while True:
                if arrival:
                    if sy >= s1:
                        break
                    i = np.int64(target[sy])
                    if i < lo or i >= hi:
                        sy += 1
                        continue
                else:
                    i = np.int64(drv_nodes[r]) if ph == 1 else np.int64(r)
                while True:
                    td = st[i, S_DX]
                    ds = np.int64(st[i, S_DS])
                    drive_due = td < t_lim or (td == t_lim and ds < s_lim)
                    tp = st[i, S_TP]
                    # A crossing pending at the state's own time (tp == tu) waits for
                    # the arrivals of the same instant; a future one fires first.
                    pending = kind != K_EXP and tp == st[i, S_TU]
                    pred_due = tp < t_lim or (tp == t_lim and s_lim >= 0 and not pending)
                    if not drive_due and not pred_due:
                        break
                    if em_n >= cap:
                        meta[M_NEV] += n_ev
                        return em_n, ph, r, sy, False
                    if pred_due and (not drive_due or tp < td or (tp == td and not pending)):
                        advance(st, i, prow, kind, tp, drow)
                        _fire(st, i, prow, kind, tp, last_ns, em_src, em_t, em_n, meta)
                        em_n += 1
                        continue
                    m = st[i, S_M]
                    nx, m_next = next_spike(rng, ds, st[i, S_NX], st[i, S_DG], st[i, S_DH], gtab,
                                            st[i, S_DSG], zig)
                    st[i, S_NX] = nx
                    st[i, S_M] = m_next
                    st[i, S_DX] = math.floor(nx) + st[i, S_DD]
                    if m > 0.0:
                        n_ev += np.int64(m)
                        _apply(i, kind, prow, st, drow, td, st[i, S_DW] * m, meta)
                if not arrival:
                    break
                if em_n >= cap:
                    meta[M_NEV] += n_ev
                    return em_n, ph, r, sy, False
                n_ev += 1
                _apply(i, kind, prow, st, drow, t_lim, np.float64(weight[sy]), meta)
                sy += 1
        r += 1
        sy = -1
    meta[M_NEV] += n_ev
    meta[M_NCAND] = 0
    return em_n, ph, r, sy, True


@njit
def _select(k, t, b, q_t, q_src, q_s0, q_n, sel):
    """Put the entries of bucket ``k`` with t <= time < b in ``sel``, sorted; return the count."""
    n = 0
    ordered = True
    for e in range(q_n[k]):
        te = q_t[k, e]
        if te >= t and te < b:
            if n > 0:
                f = sel[n - 1]
                if (q_t[k, f] > te or (q_t[k, f] == te and (
                        q_src[k, f] > q_src[k, e]
                        or (q_src[k, f] == q_src[k, e] and q_s0[k, f] > q_s0[k, e])))):
                    ordered = False
            sel[n] = e
            n += 1
    if ordered:
        return n
    # Nearly sorted as a rule (the queue fills in time order): insertion sort,
    # unless it takes too many moves.
    moves = 0
    for i in range(1, n):
        f = sel[i]
        j = i
        while j > 0 and (q_t[k, sel[j - 1]] > q_t[k, f] or (q_t[k, sel[j - 1]] == q_t[k, f] and (
                q_src[k, sel[j - 1]] > q_src[k, f] or (q_src[k, sel[j - 1]] == q_src[k, f]
                                                       and q_s0[k, sel[j - 1]] > q_s0[k, f])))):
            sel[j] = sel[j - 1]
            j -= 1
        sel[j] = f
        moves += i - j
        if moves > 8 * n:
            idx = sel[:n].copy()
            o = np.argsort(q_s0[k][idx], kind='mergesort')
            idx = idx[o]
            o = np.argsort(q_src[k][idx], kind='mergesort')
            idx = idx[o]
            o = np.argsort(q_t[k][idx], kind='mergesort')
            sel[:n] = idx[o]
            break
    return n


@njit_inline
def _bucket(ts, c0, k, jp, proj, w_ns, nb):
    """
    Return the queue bucket of a spike at ``ts`` over the one delay of projection ``jp``.

    A window's spikes lie in its cell, which starts at ``c0`` (bucket ``k``), so
    ``ts - c0`` and the delay's remainder ``J_DR`` are both below ``w_ns`` and a
    comparison replaces the two int64 divisions of ``((ts + delay) // w_ns) % nb``,
    which cost as much as the rest of queueing the spike. ``nb`` exceeds the
    delay's whole windows ``J_DQ`` by 3, so one wrap suffices.
    """
    k2 = k + proj[jp, J_DQ] + (1 if ts - c0 + proj[jp, J_DR] >= w_ns else 0)
    return k2 - nb if k2 >= nb else k2


@njit
def _room(em_n, order, em_src, em_t, gint, node_group, gp_ptr, gp_list, proj, indptr, delay,
          w_ns, nb, q_n, c0, k):
    """Return the largest bucket fill after delivering the window's spikes (counting pass)."""
    need = q_n.copy()
    for r in range(em_n):
        src = em_src[order[r]]
        ts = em_t[order[r]]
        g = node_group[src]
        local = src - gint[g, G_START]
        for pi in range(gp_ptr[g], gp_ptr[g + 1]):
            jp = gp_list[pi]
            s0 = indptr[proj[jp, J_IPTR] + local]
            s1 = indptr[proj[jp, J_IPTR] + local + 1]
            if s1 == s0:
                continue
            if proj[jp, J_DMODE] == 0:
                need[_bucket(ts, c0, k, jp, proj, w_ns, nb)] += 1
            else:
                dbase = proj[jp, J_DOFF] - proj[jp, J_SYN0]
                for sy in range(s0, s1):
                    need[((ts + np.int64(delay[dbase + sy])) // w_ns) % nb] += 1
    return need.max()


@njit
def _deliver(em_n, order, em_src, em_t, gint, node_group, gp_ptr, gp_list, proj, indptr,
             delay, w_ns, nb, q_t, q_src, q_s0, q_s1, q_n, rec_src, rec_t, nrec, meta, c0, k):
    """
    Record the window's spikes in ``order`` and queue their deliveries (room is ensured).

    The spikes lie in the cell that starts at ``c0`` (bucket ``k``).

    A projection with one delay queues one entry per spike, ``(arrival, source,
    first synapse, end)``: its whole CSR row arrives at once. A projection with
    per-synapse delays queues one entry per synapse.
    """
    added = 0
    for r in range(em_n):
        src = em_src[order[r]]
        ts = em_t[order[r]]
        g = node_group[src]
        if gint[g, G_RECORD] != 0:
            rec_src[nrec] = src
            rec_t[nrec] = ts
            nrec += 1
        local = src - gint[g, G_START]
        for pi in range(gp_ptr[g], gp_ptr[g + 1]):
            jp = gp_list[pi]
            s0 = indptr[proj[jp, J_IPTR] + local]
            s1 = indptr[proj[jp, J_IPTR] + local + 1]
            if s1 == s0:
                continue
            if proj[jp, J_DMODE] == 0:
                ta = ts + proj[jp, J_DCONST]
                k2 = _bucket(ts, c0, k, jp, proj, w_ns, nb)
                m = q_n[k2]
                q_t[k2, m] = ta
                q_src[k2, m] = src
                q_s0[k2, m] = s0
                q_s1[k2, m] = s1
                q_n[k2] = m + 1
                added += 1
            else:
                dbase = proj[jp, J_DOFF] - proj[jp, J_SYN0]
                for sy in range(s0, s1):
                    ta = ts + np.int64(delay[dbase + sy])
                    k2 = (ta // w_ns) % nb
                    m = q_n[k2]
                    q_t[k2, m] = ta
                    q_src[k2, m] = src
                    q_s0[k2, m] = sy
                    q_s1[k2, m] = sy + 1
                    q_n[k2] = m + 1
                added += s1 - s0
    meta[M_QTOT] += added
    return nrec


@njit
def _window_order(em_src, em_t, em_n, tail):
    """
    Return the order of the window's spikes ``em_*[:em_n]`` by (time, source).

    The spikes of pushed arrays come last and already sorted (from ``tail`` on),
    after the few the neurons emitted: the longest sorted tail is kept, the rest
    is sorted and the two runs are merged.
    """
    s = min(tail, em_n - 1)
    while s > 0 and (em_t[s - 1] < em_t[s]
                     or (em_t[s - 1] == em_t[s] and em_src[s - 1] <= em_src[s])):
        s -= 1
    order = np.empty(em_n, np.int64)
    if s == 0:
        for r in range(em_n):
            order[r] = r
        return order
    o1 = np.argsort(em_src[:s], kind='mergesort')
    head = o1[np.argsort(em_t[:s][o1], kind='mergesort')]
    a = 0
    b = s
    for r in range(em_n):
        if b == em_n or (a < s and (em_t[head[a]] < em_t[b] or (
                em_t[head[a]] == em_t[b] and em_src[head[a]] <= em_src[b]))):
            order[r] = head[a]
            a += 1
        else:
            order[r] = b
            b += 1
    return order


@njit
def _finish_window(meta, gint, par, zig, gtab, node_group, st, rng, last_ns, proj, gp_ptr, gp_list,
                   indptr, delay, pend_t, pend_src, q_t, q_src, q_s0, q_s1, q_n, em_src, em_t,
                   rec_src, rec_t, pl, b, bf, cend, k, w_ns, nb):
    """
    End a window, for both window loops: emit the sources' spikes, then sort, record and queue.

    Return a status code of ``run_window_loop`` (0 when the window is done).
    """
    n_groups = gint.shape[0]
    n_pend = pend_t.shape[0]
    if meta[M_STAGE] == 1:
        em_n = meta[M_EMN]
        if meta[M_TAIL] < 0:
            meta[M_TAIL] = em_n
        # Spikes of the sources: pushed arrays (in order), then Poisson sources that are
        # not fused (both loops can stop when the buffers are full and start again).
        pos = meta[M_PEND]
        while pos < n_pend and pend_t[pos] < b:
            if em_n >= em_src.shape[0]:
                meta[M_PEND] = pos
                meta[M_EMN] = em_n
                meta[M_NEED] = 2 * em_src.shape[0] + 64
                return 1
            em_src[em_n] = pend_src[pos]
            em_t[em_n] = pend_t[pos]
            em_n += 1
            last_ns[pend_src[pos]] = pend_t[pos]
            pos += 1
        meta[M_PEND] = pos
        if meta[M_ACTIVE] != 0:
            for g in range(n_groups):
                if gint[g, G_KIND] != K_POISSON or gint[g, G_FUSED] != 0:
                    continue
                meta[M_TAIL] = em_src.shape[0]  # its spikes come in no known order
                g0 = gint[g, G_START]
                for n in range(g0, g0 + gint[g, G_SIZE]):
                    while math.floor(st[n, S_NX]) < bf:
                        if st[n, S_M] == 0.0:
                            nx, m = next_spike(rng, n, st[n, S_NX], par[g, P_GAP],
                                               par[g, P_GRID], gtab, g, zig)
                            st[n, S_NX] = nx
                            st[n, S_M] = m
                            continue
                        if em_n >= em_src.shape[0]:
                            meta[M_EMN] = em_n
                            meta[M_NEED] = 2 * em_src.shape[0] + 64
                            return 1
                        t_ns = np.int64(math.floor(st[n, S_NX]))
                        em_src[em_n] = n
                        em_t[em_n] = t_ns
                        em_n += 1
                        last_ns[n] = t_ns
                        # A spike of multiplicity m is emitted m times, one at a time.
                        st[n, S_M] -= 1.0
        meta[M_EMN] = em_n
        meta[M_STAGE] = 2
    # Sort the window's spikes by (time, source), record them and queue them.
    em_n = meta[M_EMN]
    if em_n > 0:
        order = _window_order(em_src, em_t, em_n, meta[M_TAIL])
        nrec = meta[M_NREC]
        if nrec + em_n > rec_src.shape[0]:
            meta[M_NEED] = max(2 * rec_src.shape[0], nrec + em_n) + 1024
            return 2
        # A bound spares the exact counting pass, unless the queue may be too small.
        most = q_n.max() + em_n * meta[M_EMAX]
        if most > q_t.shape[1]:
            most = _room(em_n, order, em_src, em_t, gint, node_group, gp_ptr, gp_list, proj,
                         indptr, delay, w_ns, nb, q_n, cend - w_ns, k)
        if most > q_t.shape[1]:
            meta[M_NEED] = max(2 * q_t.shape[1], most) + 256
            return 3
        meta[M_NSPK] += em_n
        if pl[0].shape[0] > 0:
            plastic_posts(em_n, order, em_src, em_t, b, indptr, pl)
        meta[M_NREC] = _deliver(em_n, order, em_src, em_t, gint, node_group, gp_ptr,
                                gp_list, proj, indptr, delay, w_ns, nb, q_t, q_src, q_s0,
                                q_s1, q_n, rec_src, rec_t, nrec, meta, cend - w_ns, k)
    if b == cend:
        meta[M_QTOT] -= q_n[k]
        q_n[k] = 0
    meta[M_T] = b
    meta[M_STAGE] = 0
    return 0


@njit
def _open_window(meta, t, b, k, q_t, q_src, q_s0, q_n, sel, gint, par, st):
    """Start the window ``[t, b)`` of bucket ``k``: select its entries, reset its counters."""
    meta[M_B] = b
    meta[M_NSEL] = _select(k, t, b, q_t, q_src, q_s0, q_n, sel)
    meta[M_NWIN] += 1
    meta[M_PH] = 0
    meta[M_R] = 0
    meta[M_SY] = -1
    meta[M_EMN] = 0
    meta[M_TAIL] = -1
    meta[M_STAGE] = 1
    h = meta[M_SWH]
    meta[M_SWT] = t + (meta[M_SWO] - t) % h if h > 0 else _NO_SWEEP
    _rebase(meta, t, gint, par, st)


@njit
def _rebase(meta, t, gint, par, st):
    """
    Move the base time of the held states to the start of ``t``'s cell if needed.

    Keeps the factors e of ``_held_step`` below e**1 plus a window. The base
    moves only to cell starts, by a rule of the cell alone, so that the states do
    not depend on where calls of ``run_until`` cut the windows. No pending
    crossing is held between windows, so h alone changes: h exp(-(t0 - tb)/tau).
    """
    w_ns = meta[M_W]
    t0 = t - t % w_ns
    tb = meta[M_TB]
    move = False
    for g in range(gint.shape[0]):
        if gint[g, G_HELD] != 0 and (t0 + w_ns - tb) * par[g, P_INV_TM] > 1.0:
            move = True
    if not move:
        return
    for g in range(gint.shape[0]):
        if gint[g, G_HELD] != 0:
            f = held_e(np.float64(tb), np.float64(t0), par[g, P_INV_TM])
            g0 = gint[g, G_START]
            for i in range(g0, g0 + gint[g, G_SIZE]):
                st[i, S_U] *= f
    meta[M_TB] = t0


@njit
def run_window_loop(t_end, meta, gint, par, dtab, zig, gtab, node_group, st, rng, last_ns,
                    proj, gp_ptr, gp_list, indptr, target, weight, delay, drv_nodes,
                    pend_t, pend_src, q_t, q_src, q_s0, q_s1, q_n, sel, em_src, em_t,
                    rec_src, rec_t, cand, pl):
    """
    Advance the network to ``t_end`` [ns], window by window; return a status code.

    A window is the part of a cell ``[k W, (k+1) W)`` (``W`` = d_min) between the
    current time and ``t_end``. Every arrival inside it comes from a spike emitted
    before it, so neurons are independent in it: the cell's queue entries are
    taken in (time, source, synapse) order and delivered synapse by synapse, each
    neuron catching up with its own events (fused Poisson drive, predicted
    crossings) on the way; then the window's spikes, sorted by (time, source), are
    recorded and queued for later cells.

    Status 0: done. Otherwise a buffer is too small and the call stopped at a
    point it can resume from (kept in ``meta``): 1 the spike buffers ``em_*``, 2
    the records ``rec_*``, 3 the queue ``q_*`` (and ``sel``); ``meta[M_NEED]`` is
    the size needed. The caller grows it and calls again with the same arguments.

    Every array is borrowed first: the kernels it calls per window and per
    arrival then take them without atomic reference counts (``jit.borrow``).
    """
    (meta, gint, par, dtab, zig, node_group, st, rng, last_ns, proj, gp_ptr, gp_list, indptr,
     target, weight, delay, drv_nodes, pend_t, pend_src, q_t, q_src, q_s0, q_s1, q_n, sel,
     em_src, em_t, rec_src, rec_t, cand) = borrow((
         meta, gint, par, dtab, zig, node_group, st, rng, last_ns, proj, gp_ptr, gp_list,
         indptr, target, weight, delay, drv_nodes, pend_t, pend_src, q_t, q_src, q_s0, q_s1,
         q_n, sel, em_src, em_t, rec_src, rec_t, cand))
    pl = borrow(pl)
    gtab = borrow(gtab)
    w_ns = meta[M_W]
    nb = meta[M_NB]
    n_pend = pend_t.shape[0]
    while True:
        t = meta[M_T]
        cell = t // w_ns
        cend = (cell + 1) * w_ns
        k = cell % nb
        if meta[M_STAGE] == 0:
            if t >= t_end:
                return 0
            if meta[M_QTOT] == 0 and meta[M_NFP] == 0 and meta[M_ACTIVE] == 0:
                pos = meta[M_PEND]
                nxt = pend_t[pos] if pos < n_pend else t_end
                if nxt > t:
                    meta[M_T] = nxt if nxt < t_end else t_end
                    continue
            _open_window(meta, t, cend if cend < t_end else t_end, k, q_t, q_src, q_s0, q_n,
                         sel, gint, par, st)
        b = meta[M_B]
        bf = np.float64(b)
        if meta[M_STAGE] == 1:
            em_n, ph, r, sy, done = integrate_window(
                meta[M_PH], meta[M_R], meta[M_SY], meta[M_NSEL], sel, k, q_t, q_src, q_s0,
                q_s1, target, weight, bf, drv_nodes, gint, par, dtab, zig, gtab,
                node_group, st, rng, last_ns, em_src, em_t, meta[M_EMN], meta, cand, pl)
            meta[M_PH] = ph
            meta[M_R] = r
            meta[M_SY] = sy
            meta[M_EMN] = em_n
            if not done:
                meta[M_NEED] = 2 * em_src.shape[0] + 64
                return 1
        status = _finish_window(meta, gint, par, zig, gtab, node_group, st, rng, last_ns, proj,
                                gp_ptr, gp_list, indptr, delay, pend_t, pend_src, q_t, q_src,
                                q_s0, q_s1, q_n, em_src, em_t, rec_src, rec_t, pl, b, bf, cend,
                                k, w_ns, nb)
        if status != 0:
            return status


@njit_parallel
def run_window_loop_mt(t_end, meta, gint, par, dtab, zig, gtab, node_group, st, rng, last_ns,
                       proj, gp_ptr, gp_list, indptr, target, weight, delay, drv_nodes,
                       pend_t, pend_src, q_t, q_src, q_s0, q_s1, q_n, sel, em_src, em_t,
                       rec_src, rec_t, cand, pl, blk_tab, blk_st, blk_meta, blk_src, blk_t,
                       sorted_rows):
    """
    Do what ``run_window_loop`` does, with the neurons of each window in parallel blocks.

    Block ``j`` owns the target neurons ``blk_tab[j, 0] <= i < blk_tab[j, 1]`` and
    the fused drives ``drv_nodes[blk_tab[j, 2]:blk_tab[j, 3]]``; ``integrate_block``
    runs the blocks in a ``prange`` with private spike buffers ``blk_src[j]``,
    ``blk_t[j]``, counters ``blk_meta[j]`` and resume point ``blk_st[j]`` (phase,
    item, synapse, done, spikes). Plastic rows are updated first, serially. A
    neuron sees exactly the events it sees in ``run_window_loop``, and the
    window's spikes are sorted by (time, source) before they are delivered, so
    the results are those of one thread, whatever the number of blocks. A window
    in which a plastic row receives two spikes (its weights change between them)
    runs on one thread (``integrate_window``). Status 5: the block buffers are
    full (``meta[M_NEED]``: their new size).
    """
    (meta, gint, par, dtab, zig, node_group, st, rng, last_ns, proj, gp_ptr, gp_list, indptr,
     target, weight, delay, drv_nodes, pend_t, pend_src, q_t, q_src, q_s0, q_s1, q_n, sel,
     em_src, em_t, rec_src, rec_t, cand) = borrow((
         meta, gint, par, dtab, zig, node_group, st, rng, last_ns, proj, gp_ptr, gp_list,
         indptr, target, weight, delay, drv_nodes, pend_t, pend_src, q_t, q_src, q_s0, q_s1,
         q_n, sel, em_src, em_t, rec_src, rec_t, cand))
    pl = borrow(pl)
    gtab = borrow(gtab)
    blk_tab, blk_st, blk_meta, blk_src, blk_t = borrow((blk_tab, blk_st, blk_meta, blk_src, blk_t))
    w_ns = meta[M_W]
    nb = meta[M_NB]
    n_pend = pend_t.shape[0]
    while True:
        t = meta[M_T]
        cell = t // w_ns
        cend = (cell + 1) * w_ns
        k = cell % nb
        if meta[M_STAGE] == 0:
            if t >= t_end:
                return 0
            if meta[M_QTOT] == 0 and meta[M_NFP] == 0 and meta[M_ACTIVE] == 0:
                pos = meta[M_PEND]
                nxt = pend_t[pos] if pos < n_pend else t_end
                if nxt > t:
                    meta[M_T] = nxt if nxt < t_end else t_end
                    continue
            _open_window(meta, t, cend if cend < t_end else t_end, k, q_t, q_src, q_s0, q_n,
                         sel, gint, par, st)
        b = meta[M_B]
        bf = np.float64(b)
        if meta[M_STAGE] == 1:
            n_blk = blk_tab.shape[0]
            if meta[M_PH] == 0 and meta[M_SERIAL] == 0 and pl[0].shape[0] > 0:
                if plastic_rows(0, meta[M_NSEL], sel, k, q_t, q_src, q_s0, q_s1, weight, pl,
                                False) != 0:
                    meta[M_SERIAL] = 1
            if meta[M_SERIAL] == 1:
                em_n, ph, r, sy, done = integrate_window(
                    meta[M_PH], meta[M_R], meta[M_SY], meta[M_NSEL], sel, k, q_t, q_src, q_s0,
                    q_s1, target, weight, bf, drv_nodes, gint, par, dtab, zig, gtab,
                    node_group, st, rng, last_ns, em_src, em_t, meta[M_EMN], meta, cand, pl)
                meta[M_PH] = ph
                meta[M_R] = r
                meta[M_SY] = sy
                meta[M_EMN] = em_n
                if not done:
                    meta[M_NEED] = 2 * em_src.shape[0] + 64
                    return 1
                meta[M_SERIAL] = 2
                meta[M_PH] = 2
            if meta[M_PH] == 0:
                n_sel = meta[M_NSEL]
                if pl[0].shape[0] > 0:
                    # No row twice in this window (else it runs serially): rows are disjoint,
                    # so chunks of the entries update their rows in parallel.
                    n_lost = 0
                    for c in prange(n_blk):
                        n_lost += plastic_rows(c * n_sel // n_blk, (c + 1) * n_sel // n_blk,
                                               sel, k, q_t, q_src, q_s0, q_s1, weight, pl,
                                               True)
                    pl[12][0] += n_lost
                for j in range(n_blk):
                    blk_st[j, 0] = 0
                    blk_st[j, 1] = 0
                    blk_st[j, 2] = -1
                    blk_st[j, 3] = 0
                    blk_st[j, 4] = 0
                    blk_meta[j, M_NEV] = 0
                    blk_meta[j, M_NCAND] = 0
                    blk_meta[j, M_NFP] = meta[M_NFP]
                    blk_meta[j, M_SWH] = meta[M_SWH]
                    blk_meta[j, M_SWT] = meta[M_SWT]
                    blk_meta[j, M_TB] = meta[M_TB]
                meta[M_PH] = 1
            if meta[M_PH] == 1:
                n_sel = meta[M_NSEL]
                for j in prange(n_blk):
                    if blk_st[j, 3] != 0:
                        continue
                    em_j, ph_j, r_j, sy_j, done_j = integrate_block(
                        blk_st[j, 0], blk_st[j, 1], blk_st[j, 2], n_sel, sel, k, q_t, q_src,
                        q_s0, q_s1, target, weight, bf, drv_nodes, gint, par, dtab, zig, gtab,
                        node_group, st, rng, last_ns, blk_src[j], blk_t[j], blk_st[j, 4],
                        blk_meta[j], cand, blk_tab[j, 0], blk_tab[j, 1], blk_tab[j, 2],
                        blk_tab[j, 3], sorted_rows)
                    blk_st[j, 0] = ph_j
                    blk_st[j, 1] = r_j
                    blk_st[j, 2] = sy_j
                    blk_st[j, 3] = 1 if done_j else 0
                    blk_st[j, 4] = em_j
                total = 0
                for j in range(n_blk):
                    if blk_st[j, 3] == 0:
                        meta[M_NEED] = 2 * blk_src.shape[1] + 64
                        return 5
                    total += blk_st[j, 4]
                if total > em_src.shape[0]:
                    meta[M_NEED] = total + 1024
                    return 1
                em_n = 0
                nfp = meta[M_NFP]
                for j in range(n_blk):
                    for m in range(blk_st[j, 4]):
                        em_src[em_n] = blk_src[j, m]
                        em_t[em_n] = blk_t[j, m]
                        em_n += 1
                    meta[M_NEV] += blk_meta[j, M_NEV]
                    nfp += blk_meta[j, M_NFP] - meta[M_NFP]
                meta[M_NFP] = nfp
                meta[M_EMN] = em_n
                meta[M_PH] = 2
        status = _finish_window(meta, gint, par, zig, gtab, node_group, st, rng, last_ns, proj,
                                gp_ptr, gp_list, indptr, delay, pend_t, pend_src, q_t, q_src,
                                q_s0, q_s1, q_n, em_src, em_t, rec_src, rec_t, pl, b, bf, cend,
                                k, w_ns, nb)
        if status != 0:
            return status
        meta[M_SERIAL] = 0


@njit_inline
def make_rule(rule_tab, pp):
    """Return the ``_plasticity_kernels.Rule`` stored in row ``pp`` of ``rule_tab``."""
    r = rule_tab
    return plk.Rule(r[pp, 0], r[pp, 1], r[pp, 2], r[pp, 3], r[pp, 4], r[pp, 5], r[pp, 6],
                    r[pp, 7], r[pp, 8], r[pp, 9], r[pp, 10], r[pp, 11], r[pp, 12], r[pp, 13],
                    r[pp, 14], r[pp, 15], r[pp, 16], r[pp, 17], r[pp, 18] != 0.0,
                    r[pp, 19] != 0.0, r[pp, 20] != 0.0, r[pp, 21] != 0.0, r[pp, 22] != 0.0,
                    np.int64(r[pp, 23]), np.int64(r[pp, 24]), np.int64(r[pp, 25]),
                    np.int64(r[pp, 26]), np.int64(r[pp, 27]))


@njit_inline
def plastic_projection(pl_tab, s0):
    """Return the plastic projection holding synapse ``s0`` (-1: none)."""
    for pp in range(pl_tab.shape[0]):
        if pl_tab[pp, L_SYN0] <= s0 < pl_tab[pp, L_SYN0] + pl_tab[pp, L_N]:
            return pp
    return -1


@njit
def plastic_rows(r0, r1, sel, k, q_t, q_src, q_s0, q_s1, weight, pl, update):
    """
    Update the plastic rows of the selected queue entries ``sel[r0:r1]``, or only check them.

    For an entry of node ``src`` arriving at ``t_arr`` on the row ``[s0, s1)``,
    the rule sees the spike at its emission time ``t_arr - delay`` (the delay is
    dendritic, as in NEST): ``update_row`` (potentiation of the postsynaptic
    spikes seen since each synapse's last update, reward integral, depression),
    then ``pre_spike``; the transmitted weights of the row are written to
    ``weight``. Entries of one projection arrive in emission order (one delay
    per plastic projection), so the presynaptic trace sees its spikes in order.
    Short-term depression scales the row by the spike's efficacy instead.

    The multi-threaded loop calls it per chunk of a window whose rows all differ
    (``update``); without ``update`` it returns whether they do. ``integrate_window``
    writes the same steps out per entry, for the reason ``update_row`` gives.
    Returns the synapses that needed a postsynaptic spike their history had
    dropped (with ``update``), or 1 when two entries share a row (without).
    """
    (pl_tab, rule_tab, pw, pc, ptl, psp, px, pt, h_t, h_k, h_r, h_n, lost, d_t, d_v, d_n,
     post_ch, pdec) = borrow(pl[:18])
    mark = pl[23]
    stamp = mark[-1] + 1
    if not update:
        mark[-1] = stamp
    n_lost = 0
    for r in range(r0, r1):
        e = sel[r]
        s0 = np.int64(q_s0[k, e])
        s1 = np.int64(q_s1[k, e])
        pp = plastic_projection(pl_tab, s0)
        if pp < 0:
            continue
        j = pl_tab[pp, L_XOFF] + (q_src[k, e] - pl_tab[pp, L_PRE0])
        if not update:
            if mark[j] == stamp:
                return 1
            mark[j] = stamp
            continue
        t_e = q_t[k, e] - pl_tab[pp, L_D]
        off = pl_tab[pp, L_POFF] - pl_tab[pp, L_SYN0]
        if pl_tab[pp, L_KIND] == 1:
            eff = plk.std_on_pre(j, t_e, px, pt, rule_tab[pp, R_U], rule_tab[pp, R_KREC])
            for q in range(s0 + off, s1 + off):
                weight[q - off] = np.float32(pw[q] * eff)
            continue
        rule = make_rule(rule_tab, pp)
        n_lost += plk.update_row(j, s0 + off, s1 + off, t_e, True, True, psp, psp,
                                 pl_tab[pp, L_D], post_ch, pw, pc, ptl, px, pt, h_t, h_k, h_r,
                                 h_n, d_t, d_v, d_n, rule, pdec, pw, pw, True, weight, off)
        plk.pre_spike(j, t_e, px, pt, rule, pdec)
    return n_lost


@njit
def plastic_posts(em_n, order, em_src, em_t, b, indptr, pl):
    """
    Push the window's spikes (in ``order``) into the postsynaptic histories that want them.

    Each history keeps ``K`` spikes. Every ``K/2`` spikes of a neuron, its incoming
    plastic synapses that still need older spikes than the last ``K/2`` are
    brought up to ``b - delay`` (every presynaptic spike emitted before it has
    been delivered), walking the post-sorted index, so that no synapse ever needs
    a spike its history dropped.
    """
    (pl_tab, rule_tab, pw, pc, ptl, psp, px, pt, h_t, h_k, h_r, h_n, lost, d_t, d_v, d_n,
     post_ch, pdec) = borrow(pl[:18])
    hp_ptr, hp_row, hp_pp, ix_ptr, ix_syn = pl[18], pl[19], pl[20], pl[21], pl[22]
    half = h_t.shape[1] // 2
    mask = h_t.shape[1] - 1
    for r in range(em_n):
        src = em_src[order[r]]
        for m in range(hp_ptr[src], hp_ptr[src + 1]):
            pp = hp_pp[m]
            i = hp_row[m]
            rule = make_rule(rule_tab, pp)
            plk.post_spike(i, em_t[order[r]], h_t, h_k, h_r, h_n, rule, pdec)
            n = h_n[i]
            if half == 0 or n % half != 0 or n < h_t.shape[1]:
                continue
            d = pl_tab[pp, L_D]
            t_ok = h_t[i, (n - half) & mask] + d
            t_to = b - d
            off = pl_tab[pp, L_POFF] - pl_tab[pp, L_SYN0]
            base = pl_tab[pp, L_IPTR]
            npre = pl_tab[pp, L_NPRE]
            for x in range(ix_ptr[i], ix_ptr[i + 1]):
                q = np.int64(ix_syn[x])
                if ptl[q] >= t_ok or ptl[q] >= t_to:
                    continue
                s = q - off
                lo = 0
                hi = npre - 1
                while lo < hi:
                    mid = (lo + hi + 1) >> 1
                    if indptr[base + mid] <= s:
                        lo = mid
                    else:
                        hi = mid - 1
                lost[0] += plk.update_row(pl_tab[pp, L_XOFF] + lo, q, q + 1, t_to, False, True,
                                          psp, psp, d, post_ch, pw, pc, ptl, px, pt, h_t, h_k,
                                          h_r, h_n, d_t, d_v, d_n, rule, pdec, pw, pw, False,
                                          pw, 0)


@njit
def plastic_flush(pp, t, commit, out_w, out_c, indptr, pl):
    """
    Bring the synapses of plastic projection ``pp`` up to ``t`` [ns] (no presynaptic spike).

    Synapses already at or after ``t`` are left alone. With ``commit`` the state
    changes, otherwise the values go to ``out_w``/``out_c`` (indexed like ``pw``;
    entries of synapses left alone get their stored values).
    """
    (pl_tab, rule_tab, pw, pc, ptl, psp, px, pt, h_t, h_k, h_r, h_n, lost, d_t, d_v, d_n,
     post_ch, pdec) = borrow(pl[:18])
    if pl_tab[pp, L_KIND] == 1:
        return
    rule = make_rule(rule_tab, pp)
    d = pl_tab[pp, L_D]
    off = pl_tab[pp, L_POFF] - pl_tab[pp, L_SYN0]
    base = pl_tab[pp, L_IPTR]
    x0 = pl_tab[pp, L_XOFF]
    for jl in range(pl_tab[pp, L_NPRE]):
        for s in range(indptr[base + jl], indptr[base + jl + 1]):
            q = s + off
            if ptl[q] >= t:
                if not commit:
                    out_w[q] = pw[q]
                    out_c[q] = pc[q] if rule.rstdp else 0.0
                continue
            lost[0] += plk.update_row(x0 + jl, q, q + 1, t, False, commit, psp, psp, d,
                                      post_ch, pw, pc, ptl, px, pt, h_t, h_k, h_r, h_n, d_t,
                                      d_v, d_n, rule, pdec, out_w, out_c, False, out_w, 0)


@njit
def plastic_write_weights(pp, w_src, weight, pl):
    """Write the transmitted weights of plastic projection ``pp`` (from ``w_src``)."""
    pl_tab, rule_tab = pl[0], pl[1]
    rule = make_rule(rule_tab, pp)
    off = pl_tab[pp, L_POFF] - pl_tab[pp, L_SYN0]
    s0 = pl_tab[pp, L_SYN0]
    for s in range(s0, s0 + pl_tab[pp, L_N]):
        if pl_tab[pp, L_KIND] == 1:
            weight[s] = np.float32(w_src[s + off])
        else:
            weight[s] = np.float32(plk.effective(np.float64(w_src[s + off]), rule))


@njit
def _insertion_sort(t, src):
    """Sort ``t, src`` in place by (t, src), stably; give up (return False) past 8 moves each."""
    n = t.shape[0]
    moves = 0
    for i in range(1, n):
        a_t = t[i]
        a_s = src[i]
        j = i
        while j > 0 and (t[j - 1] > a_t or (t[j - 1] == a_t and src[j - 1] > a_s)):
            t[j] = t[j - 1]
            src[j] = src[j - 1]
            j -= 1
        t[j] = a_t
        src[j] = a_s
        moves += i - j
        if moves > 8 * n:
            return False
    return True


@njit
def check_pushed(idx, t, size, t_now):
    """Return 0 if every ``0 <= idx < size`` and ``t >= t_now``, else 1 (idx) or 2 (t)."""
    for k in range(idx.shape[0]):
        if idx[k] < 0 or idx[k] >= size:
            return 1
        if t[k] < t_now:
            return 2
    return 0


@njit
def merge_pushed(pend_t, pend_src, pos, t, idx, start):
    """
    Return the pending spikes ``pend_*[pos:]`` and new ``t, start + idx`` in (time, source) order.

    The order is that of a stable sort of the concatenation. New spikes usually
    come nearly sorted (events in time order, ties within a microsecond), so
    they are insertion-sorted, unless that takes too many moves, then merged.
    """
    n = t.shape[0]
    nt = t.copy()
    ns = np.empty(n, np.int32)
    for k in range(n):
        ns[k] = np.int32(start + idx[k])
    src = ns.copy()
    if not _insertion_sort(nt, ns):
        o1 = np.argsort(src, kind='mergesort')
        o = o1[np.argsort(t[o1], kind='mergesort')]
        nt[:] = t[o]
        ns[:] = src[o]
    m = pend_t.shape[0]
    out_t = np.empty(m - pos + n, np.int64)
    out_s = np.empty(m - pos + n, np.int32)
    a = pos
    b = 0
    for r in range(out_t.shape[0]):
        if b == n or (a < m and (pend_t[a] < nt[b]
                                 or (pend_t[a] == nt[b] and pend_src[a] <= ns[b]))):
            out_t[r] = pend_t[a]
            out_s[r] = pend_src[a]
            a += 1
        else:
            out_t[r] = nt[b]
            out_s[r] = ns[b]
            b += 1
    return out_t, out_s


@njit
def grow_queue(q_t, q_src, q_s0, q_s1, q_n, cap):
    """Return copies of the queue arrays with ``cap`` columns (filled entries kept)."""
    nb = q_t.shape[0]
    n_t = np.empty((nb, cap), np.int64)
    n_src = np.empty((nb, cap), np.int32)
    n_s0 = np.empty((nb, cap), np.int32)
    n_s1 = np.empty((nb, cap), np.int32)
    for k in range(nb):
        m = q_n[k]
        n_t[k, :m] = q_t[k, :m]
        n_src[k, :m] = q_src[k, :m]
        n_s0[k, :m] = q_s0[k, :m]
        n_s1[k, :m] = q_s1[k, :m]
    return n_t, n_src, n_s0, n_s1


@njit
def init_state(gint, par, st, rng, meta, t0, zig, gtab, drv_nodes):
    """
    Set every node to its initial state at ``t0`` [ns] and draw the first Poisson spikes.

    The fused-drive columns of ``drv_nodes`` (``S_DS``, ``S_DD``, ``S_DW``, ``S_DG``,
    ``S_DH``, ``S_DSG``) must be set; their first arrivals are drawn here.
    """
    meta[M_TB] = np.int64(t0)
    for g in range(gint.shape[0]):
        kind = gint[g, G_KIND]
        p = par[g]
        g0 = gint[g, G_START]
        for i in range(g0, g0 + gint[g, G_SIZE]):
            st[i, S_U] = p[P_U_INIT]
            st[i, S_I] = 0.0
            st[i, S_TH] = p[P_THETA]
            st[i, S_TU] = t0
            st[i, S_TR] = -INF
            st[i, S_TP] = INF
            st[i, S_NX] = INF
            st[i, S_DX] = INF
            st[i, S_M] = 1.0
            if kind == K_POISSON:
                if p[P_GAP] < INF and gint[g, G_FUSED] == 0:
                    nx, m = first_spike(rng, i, t0, p[P_GAP], p[P_GRID], gtab, g, zig)
                    st[i, S_NX] = nx
                    st[i, S_M] = m
            elif gint[g, G_HELD] != 0:
                st[i, S_U] = p[P_U_INIT] - p[P_I_EXT]
                st[i, S_TU] = INF
            elif kind >= K_LIF:
                set_prediction(st, i, predict(st, i, p, kind), meta)
    for v in range(drv_nodes.shape[0]):
        i = drv_nodes[v]
        ds = np.int64(st[i, S_DS])
        nx, m = first_spike(rng, ds, t0, st[i, S_DG], st[i, S_DH], gtab, st[i, S_DSG], zig)
        st[i, S_NX] = nx
        st[i, S_M] = m
        st[i, S_DX] = math.floor(nx) + st[i, S_DD]


@njit
def probe_state(gint_row, p, dtab, st, t, tb):
    """Return a copy of a group's state advanced to ``t`` [ns] (state unchanged; base ``tb``)."""
    g0 = gint_row[G_START]
    n = gint_row[G_SIZE]
    out = st[g0:g0 + n].copy()
    kind = gint_row[G_KIND]
    if gint_row[G_HELD] != 0:
        ie = p[P_I_EXT]
        for i in range(n):
            v = out[i, S_U] * held_e(tb, t, p[P_INV_TM])
            u = max(ie + v, p[P_U_MIN])
            out[i, S_U] = p[P_U_RESET] if t < out[i, S_TR] else u
            out[i, S_TU] = t
    elif kind >= K_LIF:
        for i in range(n):
            advance(out, i, p, kind, t, dtab)
    return out
