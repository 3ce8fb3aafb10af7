"""
The event-driven, continuous-time simulator.

``Simulator(net, seed)`` turns a ``Network`` into arrays and runs it with one
numba kernel call per ``run_until``. Design (details in ``_engine_kernels.py``):

- Time at the interface is int64 ns; kernels work in float64 ns (exact for
  integer ns below 2**53 ns) and neurons keep located crossings exactly.
- Synapses are one CSR block per projection over shared arrays: ``indptr``
  (int64, per presynaptic node), ``target`` (int32 node id), ``weight`` (float32
  [mV]) and, only for projections whose delays differ, ``delay`` (uint32 ns);
  a projection with one delay stores it once. A static synapse costs 8 bytes
  (uniform delay) or 12 bytes, plus 8 bytes per presynaptic node. Delays are
  whole ns (exact to 0.5 ns of the requested value); synapse ids are int32 in
  the queue (at most 2**31 synapses).
- Every delay is >= d_min > 0. Time is cut into cells of length d_min; spikes
  wait in a ring of buckets, one per cell, as *deliveries*: one entry (arrival
  time, source, CSR row) per spike and projection when the projection has one
  delay, one entry per synapse otherwise. Inside a cell no spike can affect
  another neuron, so the cell's deliveries, sorted by (time, source id, synapse),
  are applied synapse by synapse, each neuron catching up with its own events
  (fused Poisson arrivals, predicted crossings) before each arrival. For
  ``'lif'`` an event costs no exponential at all: decay factors of whole-ns
  intervals come from a two-level table (product of two correctly rounded
  values, relative error below 3e-16), ``exp`` otherwise.
- The kernel never allocates per event; when a buffer is full it returns a
  status, the simulator grows the buffer and the kernel resumes where it stopped.
- Randomness (Poisson sources) comes from one splitmix64 stream per node, seeded
  from ``seed``: results do not depend on how a run is split. A Poisson train has
  continuous times (exponential intervals, ziggurat) or, as NEST's
  ``poisson_generator``, lies on a grid with a Poisson count of spikes per step
  (by inversion); delivered fused, a step's count k is one arrival of k times the
  weight, as NEST's spike multiplicity.
- A Poisson source whose only projection is ``one_to_one`` and which is not
  recorded is *fused* (``fuse_poisson=True``): its trains are drawn at the target
  while it integrates, arrival = spike + delay, exactly as unfused, but with no
  queue traffic. This is how a Brunel network's external drive runs. Its weight
  is read when the simulator is built and its spikes are never recorded.

- Plasticity (``Network.connect(..., plasticity=rule)``, rules of ``plasticity.py``)
  runs inside the kernels with the standalone driver's functions
  (``_plasticity_kernels.update_row``, ``pre_spike``, ``post_spike``): when a
  spike's queue entry reaches a plastic row, the row is brought up to the spike's
  emission time (arrival - delay; the delay is dendritic, as in NEST) and the
  transmitted weights are written before delivery; every spike of a neuron goes
  into its postsynaptic history (a ring of ``post_history`` spikes) at the end of
  its window, and every ``post_history / 2`` spikes its lagging incoming synapses
  are flushed through a post-sorted index, so none needs a dropped spike. A
  plastic projection has one delay, so its spikes reach the row in emission
  order. Learning state is read and written with ``state_arrays`` /
  ``load_state_arrays``; reward with ``deliver_reward``.
- ``threads > 1``: each window's neurons run in that many disjoint blocks of
  target ids in a ``prange`` (``run_window_loop_mt``), with private spike buffers
  and counters; the window's spikes are sorted before delivery, so the results
  are exactly those of one thread. A window in which a plastic row receives two
  spikes runs on one thread.

``projection_slice`` gives a projection's block of synapses (``weight`` views can
be changed in place between runs for static projections), ``post_synapses``
builds a post-sorted index on demand, and ``last_spike_ns`` holds each node's last
spike time.
"""

import math

import numpy as np

from snn_ros.core import _engine_kernels as kern
from snn_ros.core import _plasticity_kernels as plk
from snn_ros.core import plasticity as plmod
from snn_ros.core.network import Population, Source
from snn_ros.core.types import SPIKE_DTYPE

_KIND = {'lif': kern.K_LIF, 'lif_adaptive': kern.K_ADAPTIVE, 'lif_exp': kern.K_EXP,
         'srm0': kern.K_EXP}
_NEVER = np.iinfo(np.int64).min


def _group_tables(net):
    n_groups = len(net.groups)
    gint = np.zeros((n_groups, kern.G_NCOLS), np.int64)
    par = np.zeros((n_groups, kern.P_NCOLS), np.float64)
    node_group = np.empty(net.n_nodes, np.int32)
    for g, grp in enumerate(net.groups):
        gint[g, kern.G_START] = grp.start
        gint[g, kern.G_SIZE] = grp.size
        gint[g, kern.G_RECORD] = int(grp.record)
        node_group[grp.start:grp.start + grp.size] = g
        par[g, kern.P_GAP] = np.inf
        if isinstance(grp, Source):
            gint[g, kern.G_KIND] = kern.K_POISSON if grp.model == 'poisson' else kern.K_ARRAY
            if grp.model == 'poisson' and grp.rate_hz > 0:
                par[g, kern.P_GAP] = 1e9 / grp.rate_hz
                if grp.grid_ns is not None:
                    par[g, kern.P_GRID] = grp.grid_ns
            continue
        p = grp.params
        kind = _KIND[grp.model]
        gint[g, kern.G_KIND] = kind
        par[g, kern.P_TAU_M] = p.tau_m_s * 1e9
        par[g, kern.P_INV_TM] = 1.0 / (p.tau_m_s * 1e9)
        par[g, kern.P_THETA] = p.theta_mV
        par[g, kern.P_U_RESET] = p.u_reset_mV
        par[g, kern.P_T_REF] = float(np.rint(p.t_ref_s * 1e9))
        par[g, kern.P_U_MIN] = p.u_min_mV
        par[g, kern.P_U_INIT] = p.u_init_mV
        par[g, kern.P_I_EXT] = p.i_ext_mV
        par[g, kern.P_TH_TEST] = (p.theta_mV - p.i_ext_mV) * (1.0 - kern.THETA_RTOL)
        pred = p.i_ext_mV > p.theta_mV
        if kind == kern.K_ADAPTIVE:
            par[g, kern.P_TAU_TH] = p.tau_theta_s * 1e9
            par[g, kern.P_INV_TTH] = 1.0 / (p.tau_theta_s * 1e9)
            par[g, kern.P_TH_JUMP] = p.theta_jump_mV
            pred = True
        if kind == kern.K_EXP:
            par[g, kern.P_TAU_S] = p.tau_s_s * 1e9
            par[g, kern.P_INV_TS] = 1.0 / (p.tau_s_s * 1e9)
            par[g, kern.P_K] = p.tau_s_s / (p.tau_s_s - p.tau_m_s)
            pred = True
        gint[g, kern.G_PRED] = int(pred)
    return gint, par, node_group


def _held_groups(gint, par, w_ns, drv_src, drv_par, drv_d, meta, n):
    """
    Mark the 'lif' groups whose state is held (``kern.G_HELD``) and those swept (``G_SWEPT``).

    Held: neurons that cross only at events, with the window and the refractory
    period at most 50 tau (the factors of ``kern._held_step`` then stay below
    e**101, far from overflow). Swept: every fused drive of the group lies on the
    sweeps' grid.
    """
    h, off = meta[kern.M_SWH], meta[kern.M_SWO]
    for g in range(gint.shape[0]):
        if gint[g, kern.G_KIND] != kern.K_LIF or gint[g, kern.G_PRED]:
            continue
        inv_tau = par[g, kern.P_INV_TM]
        if max(w_ns, par[g, kern.P_T_REF]) * inv_tau > 50.0:
            continue
        gint[g, kern.G_HELD] = 1
        g0 = gint[g, kern.G_START]
        nodes = slice(g0, g0 + gint[g, kern.G_SIZE])
        drv = drv_src[nodes] >= 0
        on_grid = (drv_par[nodes, 1] == h) & (h > 0) & (drv_d[nodes] % max(h, 1) == off)
        if np.all(on_grid[drv]):
            gint[g, kern.G_SWEPT] = drv_src[nodes][drv].min(initial=n)
        else:
            gint[g, kern.G_SWEPT] = -1


def _grid_tables(net, par):
    """Return the count tables of the grid Poisson sources (``kern.GT_*``), or None."""
    if not np.any(par[:, kern.P_GRID] > 0):
        return None
    gtab = np.zeros((len(net.groups), kern.GT_NCOLS))
    edges = np.arange(kern.GUIDE_LEN) / kern.GUIDE_LEN  # the guide's buckets of u
    for g in np.flatnonzero(par[:, kern.P_GRID] > 0):
        lam = par[g, kern.P_GRID] / par[g, kern.P_GAP]
        pmf = math.exp(-lam)
        cdf = pmf
        for j in range(kern.CDF_LEN):
            if j:
                pmf *= lam / j
                cdf += pmf
            gtab[g, kern.GT_CDF + j] = cdf
        gtab[g, kern.GT_LAM] = lam
        gtab[g, kern.GT_PMF] = pmf
        gtab[g, kern.GT_GUIDE:] = np.searchsorted(gtab[g, kern.GT_CDF:kern.GT_GUIDE], edges,
                                                  side='right')
    return gtab


class Simulator:
    """
    Run a ``Network`` from t = 0 ns.

    ``seed`` seeds the Poisson sources; ``threads`` > 1 runs the neurons of each
    window in that many disjoint blocks in parallel (same results as one thread);
    ``fuse_poisson`` enables the fused Poisson drive (see the module docstring);
    ``queue_capacity`` is the initial number of deliveries each bucket holds
    (buckets grow when needed). Plastic projections: ``plastic_dtype`` (float32,
    or float64 to compare with references to 1e-9) of the stored weights and
    eligibilities; ``post_history`` spikes kept per postsynaptic neuron (None:
    from the delays and refractory periods, at least 16); ``reward_capacity``
    reward entries kept per projection between flushes.
    """

    def __init__(self, net, seed=0, threads=1, fuse_poisson=True, queue_capacity=4096,
                 plastic_dtype=np.float32, post_history=None, reward_capacity=1024):
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) \
                or threads < 1:
            raise ValueError(f'threads={threads!r} must be an int >= 1')
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f'seed={seed!r} must be an int >= 0')
        self.net = net
        self.seed = int(seed)
        self.threads = int(threads)
        n = net.n_nodes
        gint, par, node_group = _group_tables(net)
        self._gindex = {id(g): i for i, g in enumerate(net.groups)}

        # Fused Poisson drives.
        drv_src = np.full(n, -1, np.int64)
        drv_w = np.zeros(n)
        drv_d = np.zeros(n)
        drv_par = np.zeros((n, 3))
        fused_projs = set()
        syn0 = np.cumsum([0] + [p.n_synapses for p in net.projections])
        for src in net.sources:
            if not (fuse_poisson and src.model == 'poisson' and not src.record):
                continue
            outs = [p for p in net.projections if p.pre is src]
            if len(outs) != 1 or outs[0].pattern != 'one_to_one' or outs[0].plasticity:
                continue
            proj = outs[0]
            tgt = proj.post.start + proj.post_idx
            if np.any(drv_src[tgt] >= 0):
                continue
            drv_src[tgt] = src.start + proj.pre_idx
            drv_w[tgt] = proj.weight
            drv_d[tgt] = proj.delay_ns
            g_src = self._gindex[id(src)]
            drv_par[tgt] = par[g_src, kern.P_GAP], par[g_src, kern.P_GRID], g_src
            gint[self._gindex[id(src)], kern.G_FUSED] = 1
            fused_projs.add(proj.index)
        drv_nodes = np.flatnonzero(drv_src >= 0).astype(np.int32)
        active = bool(drv_nodes.size) or any(
            s.model == 'poisson' and not gint[self._gindex[id(s)], kern.G_FUSED]
            for s in net.sources)

        # Synapses: one CSR block per projection.
        n_proj = len(net.projections)
        proj_tab = np.zeros((n_proj, kern.J_NCOLS), np.int64)
        indptrs, targets, weights, delays = [], [], [], []
        n_iptr = n_delay = 0
        d_min, d_max = None, 0
        out_lists = [[] for _ in net.groups]
        entries = np.zeros(len(net.groups), np.int64)  # queue entries per spike, at most
        for p in net.projections:
            counts = np.bincount(p.pre_idx, minlength=p.pre.size)
            iptr = np.empty(p.pre.size + 1, np.int64)
            iptr[0] = 0
            np.cumsum(counts, out=iptr[1:])
            indptrs.append(iptr + syn0[p.index])
            targets.append((p.post.start + p.post_idx).astype(np.int32))
            weights.append(p.weight.astype(np.float32))
            proj_tab[p.index, kern.J_IPTR] = n_iptr
            proj_tab[p.index, kern.J_SYN0] = syn0[p.index]
            proj_tab[p.index, kern.J_PRE0] = p.pre.start
            n_iptr += p.pre.size + 1
            if p.n_synapses and np.all(p.delay_ns == p.delay_ns[0]):
                proj_tab[p.index, kern.J_DMODE] = 0
                proj_tab[p.index, kern.J_DCONST] = p.delay_ns[0]
            elif p.n_synapses:
                proj_tab[p.index, kern.J_DMODE] = 1
                proj_tab[p.index, kern.J_DOFF] = n_delay
                delays.append(p.delay_ns.astype(np.uint32))
                n_delay += p.n_synapses
            if p.index in fused_projs or not p.n_synapses:
                continue
            g_pre = self._gindex[id(p.pre)]
            out_lists[g_pre].append(p.index)
            entries[g_pre] += 1 if proj_tab[p.index, kern.J_DMODE] == 0 else counts.max()
            lo, hi = int(p.delay_ns.min()), int(p.delay_ns.max())
            d_min = lo if d_min is None else min(d_min, lo)
            d_max = max(d_max, hi)
        cat = np.concatenate
        self.indptr = cat(indptrs) if indptrs else np.zeros(1, np.int64)
        self.target = cat(targets) if targets else np.zeros(0, np.int32)
        self.weight = cat(weights) if weights else np.zeros(0, np.float32)
        self.delay = cat(delays) if delays else np.zeros(0, np.uint32)
        self._syn0 = syn0
        gp_ptr = np.zeros(len(net.groups) + 1, np.int64)
        gp_ptr[1:] = np.cumsum([len(x) for x in out_lists])
        gp_list = np.array([j for x in out_lists for j in x], np.int64)
        self.d_min_ns = 1_000_000 if d_min is None else d_min
        proj_tab[:, kern.J_DQ] = proj_tab[:, kern.J_DCONST] // self.d_min_ns
        proj_tab[:, kern.J_DR] = proj_tab[:, kern.J_DCONST] % self.d_min_ns
        n_buckets = d_max // self.d_min_ns + 3

        # State.
        self._meta = np.zeros(kern.M_LEN, np.int64)
        self._meta[kern.M_W] = self.d_min_ns
        self._meta[kern.M_NB] = n_buckets
        self._meta[kern.M_EMAX] = entries.max(initial=0)
        self._meta[kern.M_ACTIVE] = int(active)
        grid_drv = drv_par[:, 1] > 0
        if np.any(grid_drv):
            # Drives on a grid arrive at its steps (plus their delay): sweeping them
            # there spares every arrival the test for drive events before it.
            h = int(drv_par[grid_drv, 1].min())
            self._meta[kern.M_SWH] = h
            self._meta[kern.M_SWO] = int(drv_d[np.flatnonzero(grid_drv)[0]]) % h
        _held_groups(gint, par, self.d_min_ns, drv_src, drv_par, drv_d, self._meta, n)
        self._st = np.zeros((n, kern.S_NCOLS), np.float64)
        self._st[:, kern.S_DS] = drv_src
        self._st[:, kern.S_DW] = drv_w
        self._st[:, kern.S_DD] = drv_d
        self._st[:, kern.S_DG] = drv_par[:, 0]
        self._st[:, kern.S_DH] = drv_par[:, 1]
        self._st[:, kern.S_DSG] = drv_par[:, 2]
        streams = np.random.default_rng(self.seed).integers(
            0, 2 ** 63, size=n, dtype=np.int64, endpoint=False)
        self._rng = streams.astype(np.uint64)
        #: Last spike time of every node [ns] (``int64`` min: never), indexed by node id.
        self.last_spike_ns = np.full(n, _NEVER, np.int64)
        self._gint, self._par, self._node_group = gint, par, node_group
        self._dtab = np.ones((len(net.groups), 2 ** (kern.DECAY_SPLIT + 1)), np.float64)
        for g, grp in enumerate(net.groups):
            if isinstance(grp, Population):
                self._dtab[g] = kern.decay_table(par[g, kern.P_TAU_M])
        self._zig = kern.ZIGGURAT
        self._gtab = _grid_tables(net, par)
        kern.init_state(gint, par, self._st, self._rng, self._meta, 0.0, self._zig,
                        self._gtab, drv_nodes)
        self._pend_t = np.zeros(0, np.int64)
        self._pend_src = np.zeros(0, np.int32)
        cap = int(queue_capacity)
        self._q_n = np.zeros(n_buckets, np.int64)
        self._queue = [np.zeros((n_buckets, cap), np.int64), np.zeros((n_buckets, cap), np.int32),
                       np.zeros((n_buckets, cap), np.int32), np.zeros((n_buckets, cap), np.int32)]
        self._sel = np.zeros(cap, np.int64)
        self._cand = np.zeros(2 * n, np.int64)
        self._em = [np.zeros(1024, np.int32), np.zeros(1024, np.int64)]
        self._rec = [np.zeros(1024, np.int32), np.zeros(1024, np.int64)]
        self._proj_tab, self._gp_ptr, self._gp_list = proj_tab, gp_ptr, gp_list
        self._drv_nodes = drv_nodes
        self._active = active
        self._learning = True
        self._build_plastic(np.dtype(plastic_dtype), post_history, int(reward_capacity))
        self._build_blocks()
        self._build_args()

    def _build_blocks(self):
        # Multi-threaded mode: one block of consecutive node ids per thread, cut so that
        # the blocks receive about as many synapses and drives each.
        n = self.net.n_nodes
        n_blk = min(self.threads, max(1, n))
        load = np.bincount(self.target, minlength=n).astype(np.float64)
        load[self._drv_nodes] += 1.0 + load.mean()
        cum = np.cumsum(load) + np.arange(1, n + 1) * 1e-9
        cuts = np.searchsorted(cum, cum[-1] * np.arange(1, n_blk) / n_blk)
        bounds = np.concatenate([[0], cuts, [n]]).astype(np.int64)
        bounds = np.maximum.accumulate(bounds)
        self._blk_tab = np.zeros((n_blk, 4), np.int64)
        self._blk_tab[:, 0] = bounds[:-1]
        self._blk_tab[:, 1] = bounds[1:]
        self._blk_tab[:, 2] = np.searchsorted(self._drv_nodes, bounds[:-1])
        self._blk_tab[:, 3] = np.searchsorted(self._drv_nodes, bounds[1:])
        self._blk_st = np.zeros((n_blk, 5), np.int64)
        self._blk_meta = np.zeros((n_blk, kern.M_LEN), np.int64)
        self._blk_em = [np.zeros((n_blk, 1024), np.int32), np.zeros((n_blk, 1024), np.int64)]
        rows_sorted = True
        for p in self.net.projections:
            sl = self.projection_slice(p)
            base = self._proj_tab[p.index, kern.J_IPTR]
            iptr = self.indptr[base:base + p.pre.size + 1] - sl.start
            d = np.diff(self.target[sl].astype(np.int64))
            if np.any((d < 0) & ~self._row_start_mask(iptr, d.shape[0])):
                rows_sorted = False
        self._sorted_rows = rows_sorted

    @staticmethod
    def _row_start_mask(iptr, n_diff):
        # mask[m] is True when diff m crosses from one CSR row to the next.
        mask = np.zeros(n_diff, bool)
        ends = iptr[1:-1]
        ends = ends[(ends >= 1) & (ends <= n_diff)]
        mask[ends - 1] = True
        return mask

    def _build_args(self):
        self._args = (self._meta, self._gint, self._par, self._dtab, self._zig, self._gtab,
                      self._node_group, self._st, self._rng, self.last_spike_ns, self._proj_tab,
                      self._gp_ptr, self._gp_list, self.indptr, self.target, self.weight,
                      self.delay, self._drv_nodes, self._pend_t, self._pend_src, *self._queue,
                      self._q_n, self._sel, *self._em, *self._rec, self._cand, self._pl)
        if self.threads > 1:
            self._args = self._args + (self._blk_tab, self._blk_st, self._blk_meta,
                                       *self._blk_em, self._sorted_rows)

    def _grow(self, status):
        need = int(self._meta[kern.M_NEED])
        if status == 1:
            n = int(self._meta[kern.M_EMN])
            self._em = [np.concatenate([a[:n], np.zeros(need - n, a.dtype)]) for a in self._em]
        elif status == 2:
            n = int(self._meta[kern.M_NREC])
            self._rec = [np.concatenate([a[:n], np.zeros(need - n, a.dtype)])
                         for a in self._rec]
        elif status == 3:
            self._queue = list(kern.grow_queue(*self._queue, self._q_n, need))
            self._sel = np.zeros(need, np.int64)
        elif status == 5:
            old = self._blk_em
            self._blk_em = [np.zeros((a.shape[0], need), a.dtype) for a in old]
            for new, a in zip(self._blk_em, old):
                new[:, :a.shape[1]] = a
        else:
            raise RuntimeError(f'engine kernel returned unknown status {status}')
        self._build_args()

    @property
    def t_ns(self):
        """Return the current simulation time [ns]."""
        return int(self._meta[kern.M_T])

    @property
    def n_events(self):
        """Return the number of synaptic events delivered so far (fused Poisson included)."""
        return int(self._meta[kern.M_NEV])

    @property
    def n_spikes(self):
        """Return the number of spikes emitted so far (source spikes included)."""
        return int(self._meta[kern.M_NSPK])

    def run_until(self, t_ns):
        """
        Advance the network to ``t_ns`` [ns] (>= the current time).

        Repeated calls give exactly what one long call gives; new input may be
        pushed between calls. A call with nothing to do costs a few attribute reads.
        """
        meta = self._meta
        if not isinstance(t_ns, (int, np.integer)) or isinstance(t_ns, bool):
            raise ValueError(f't_ns={t_ns!r} must be an int time [ns]')
        if t_ns <= meta[0]:
            if t_ns == meta[0]:
                return
            raise ValueError(f't_ns={t_ns} is before the current time {int(meta[0])} ns')
        if meta[1] == 0 and meta[4] == 0 and not self._active:
            pos = meta[2]
            if pos >= self._pend_t.shape[0] or self._pend_t[pos] >= t_ns:
                meta[0] = t_ns
                return
        if self.threads > 1:
            import numba
            numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))
            loop = kern.run_window_loop_mt
        else:
            loop = kern.run_window_loop
        while True:
            status = loop(t_ns, *self._args)
            if status == 0:
                return
            self._grow(status)

    def push_spikes(self, source, neuron_idx, t_ns):
        """
        Queue spikes of an ``'array'`` source: channel indices and times [ns] >= ``t_ns``.

        Spikes may be pushed in any order and between any runs.
        """
        self._check(source, 'source')
        if not isinstance(source, Source) or source.model != 'array':
            raise ValueError(f"source={source!r} must be a source with model='array'")
        idx = np.asarray(neuron_idx)
        t = np.asarray(t_ns)
        if idx.ndim != 1 or idx.shape != t.shape:
            raise ValueError('neuron_idx and t_ns must be 1-D arrays of equal length')
        if idx.size == 0:
            return
        if idx.dtype.kind not in 'iu' or t.dtype.kind not in 'iu':
            raise ValueError('neuron_idx and t_ns must be integer arrays (t_ns in int64 ns)')
        # Checked and merged in two kernel calls: a controller pushes every packet, and
        # each numpy call of a check costs tens of us when the caches are cold.
        idx = np.ascontiguousarray(idx, np.int64)
        t = np.ascontiguousarray(t, np.int64)
        bad = kern.check_pushed(idx, t, source.size, self._meta[kern.M_T])
        if bad == 1:
            raise ValueError(f'neuron_idx must lie in [0, {source.size - 1}] for source '
                             f'{source.name!r}')
        if bad == 2:
            raise ValueError(f't_ns must be >= the current time {self.t_ns} ns; got {t.min()}')
        self._pend_t, self._pend_src = kern.merge_pushed(
            self._pend_t, self._pend_src, self._meta[kern.M_PEND], t, idx, source.start)
        self._meta[kern.M_PEND] = 0
        self._build_args()

    def _check(self, group, what):
        if id(group) not in self._gindex:
            raise ValueError(f'{what}={group!r} is not part of the network of this simulator')
        return self._gindex[id(group)]

    def spikes(self, group):
        """
        Return the recorded spikes of ``group`` as a ``SPIKE_DTYPE`` array (local ids).

        They come in (time, neuron) order as recorded: each window's spikes sorted,
        window after window (the controller reads them after every packet).
        """
        g = self._check(group, 'group')
        if not group.record:
            raise ValueError(f'{group.name!r} is not recorded; create it with record=True')
        nrec = int(self._meta[kern.M_NREC])
        src, t = self._rec[0][:nrec], self._rec[1][:nrec]
        start = self._gint[g, kern.G_START]
        sel = np.flatnonzero((src >= start) & (src < start + group.size))
        out = np.empty(sel.shape[0], SPIKE_DTYPE)
        out['neuron'] = src[sel] - start
        out['t'] = t[sel]
        return out

    def recorded_spikes(self):
        """
        Return every spike recorded since ``clear_spikes``: node ids and times [ns] (copies).

        Node ids are global (a group's neurons are ``group.start`` on); the order is
        that of ``spikes``. One call for all groups, for readers polled per packet.
        """
        nrec = int(self._meta[kern.M_NREC])
        return self._rec[0][:nrec].copy(), self._rec[1][:nrec].copy()

    def clear_spikes(self):
        """Forget every recorded spike (recording goes on)."""
        self._meta[kern.M_NREC] = 0

    def state(self, group):
        """
        Return the state of ``group`` at the current time as a dict of arrays.

        Neurons: ``u`` [mV], ``I`` [mV] (``'lif_exp'``), ``theta`` [mV],
        ``refractory`` (bool) and ``last_spike_ns``; sources: ``last_spike_ns``.
        """
        g = self._check(group, 'group')
        start, size = group.start, group.size
        out = {'last_spike_ns': self.last_spike_ns[start:start + size].copy()}
        if isinstance(group, Population):
            rows = kern.probe_state(self._gint[g], self._par[g], self._dtab[g], self._st,
                                    float(self.t_ns), float(self._meta[kern.M_TB]))
            out['u'] = rows[:, kern.S_U]
            out['theta'] = (rows[:, kern.S_TH] if group.model == 'lif_adaptive'
                            else np.full(size, group.params.theta_mV))
            if _KIND[group.model] == kern.K_EXP:
                out['I'] = rows[:, kern.S_I]
            out['refractory'] = self.t_ns < rows[:, kern.S_TR]
        return out

    def projection_slice(self, proj):
        """Return the slice of global synapse ids of ``proj`` (into ``weight``/``target``)."""
        return slice(int(self._syn0[proj.index]), int(self._syn0[proj.index + 1]))

    def weights(self, proj):
        """
        Return a writable float32 view of the weights of ``proj`` [mV] (CSR order).

        For a plastic projection the view is refreshed with the transmitted
        weights brought up to the current time minus the delay; writing to it does
        not change the plastic state (use ``load_state_arrays``).
        """
        if id(proj) in self._pindex:
            out_w, _ = self._probe()
            kern.plastic_write_weights(self._pindex[id(proj)], out_w, self.weight, self._pl)
        return self.weight[self.projection_slice(proj)]

    def post_synapses(self, proj):
        """
        Return ``(ptr, syn)``: the synapses onto each post neuron of ``proj``.

        ``syn[ptr[j]:ptr[j+1]]`` are the global synapse ids onto local post neuron
        ``j``, in CSR order; built on demand (a stable counting sort).
        """
        sl = self.projection_slice(proj)
        post = self.target[sl] - proj.post.start
        order = np.argsort(post, kind='stable')
        ptr = np.zeros(proj.post.size + 1, np.int64)
        np.cumsum(np.bincount(post, minlength=proj.post.size), out=ptr[1:])
        return ptr, order + sl.start

    def bytes_per_synapse(self):
        """Return the bytes of static synapse storage per synapse (indptr included)."""
        n_syn = self.weight.shape[0]
        if n_syn == 0:
            return 0.0
        total = (self.indptr.nbytes + self.target.nbytes + self.weight.nbytes
                 + self.delay.nbytes)
        return total / n_syn

    # --- plasticity -------------------------------------------------------------------------

    def _build_plastic(self, dtype, history, reward_capacity):
        if dtype not in (np.float32, np.float64):
            raise ValueError(f'plastic_dtype={dtype} must be float32 or float64')
        net = self.net
        if history is None:
            # Enough for twice the spikes a neuron can fire in two delays and a window
            # (its incoming synapses are flushed every history / 2 of its spikes).
            history = 16
            for p in net.projections:
                if p.plasticity is None or not p.n_synapses:
                    continue
                t_ref = p.post.params.t_ref_s * 1e9
                span = 2.0 * float(p.delay_ns[0]) + self.d_min_ns
                most = span / t_ref + 2.0 if t_ref > 0 else 32.0
                history = max(history, int(2 * most))
        history = int(history)
        if history < 1 or reward_capacity < 4:
            raise ValueError('post_history must be >= 1 and reward_capacity >= 4')
        self._plastic = [p for p in net.projections if p.plasticity is not None and p.n_synapses]
        n_pp = len(self._plastic)
        pl_tab = np.zeros((n_pp, kern.L_NCOLS), np.int64)
        rule_tab = np.zeros((n_pp, kern.R_NCOLS), np.float64)
        n_pl = n_x = n_h = 0
        hp = [[] for _ in range(net.n_nodes)]
        psp, ws, post_ch, rules = [], [], [], []
        any_c = False
        for pp, p in enumerate(self._plastic):
            std = isinstance(p.plasticity, plmod.STDParams)
            row = pl_tab[pp]
            row[kern.L_SYN0] = self._syn0[p.index]
            row[kern.L_N] = p.n_synapses
            row[kern.L_POFF] = n_pl
            row[kern.L_XOFF] = n_x
            row[kern.L_D] = p.delay_ns[0]
            row[kern.L_KIND] = int(std)
            row[kern.L_PRE0] = p.pre.start
            row[kern.L_IPTR] = self._proj_tab[p.index, kern.J_IPTR]
            row[kern.L_NPRE] = p.pre.size
            n_pl += p.n_synapses
            n_x += p.pre.size
            ws.append(p.weight)
            if std:
                row[kern.L_HOFF] = -1
                rule_tab[pp, kern.R_U] = p.plasticity.U
                rule_tab[pp, kern.R_KREC] = 1.0 / (p.plasticity.tau_rec_s * 1e9)
                psp.append(np.zeros(p.n_synapses, np.int32))
                continue
            row[kern.L_HOFF] = n_h
            rules.append((pp, plmod.pack_rule(p.plasticity)))
            any_c = any_c or isinstance(p.plasticity, plmod.RSTDPParams)
            psp.append((n_h + p.post_idx).astype(np.int32))
            post_ch.append(np.full(p.post.size, pp, np.int64))
            for local in range(p.post.size):
                hp[p.post.start + local].append((n_h + local, pp))
            n_h += p.post.size
        shared, dec = plmod.share_decay_tables([rule for _, rule in rules])
        for (pp, _), rule in zip(rules, shared):
            rule_tab[pp, :kern.R_U] = [float(v) for v in rule]
        cat = np.concatenate
        pw = (cat(ws) if ws else np.zeros(0)).astype(dtype)
        hp_ptr = np.zeros(net.n_nodes + 1, np.int64)
        hp_ptr[1:] = np.cumsum([len(x) for x in hp])
        hp_row = np.array([a for x in hp for a, _ in x], np.int64)
        hp_pp = np.array([b for x in hp for _, b in x], np.int64)
        mk = np.zeros
        self._pl_tab_tmp = pl_tab
        self._pl = (pl_tab, rule_tab, pw, mk(n_pl if any_c else 0, dtype), mk(n_pl, np.int64),
                    cat(psp) if psp else mk(0, np.int32), mk(n_x),
                    np.full(n_x, plmod.NO_SPIKE, np.int64), *plmod.new_post_history(n_h, history),
                    mk((n_pp, reward_capacity), np.int64), mk((n_pp, reward_capacity)),
                    np.ones(n_pp, np.int64), cat(post_ch) if post_ch else mk(0, np.int64),
                    dec, hp_ptr, hp_row, hp_pp, *self._post_index(n_h),
                    np.zeros(n_x + 1, np.int64))
        self._pindex = {id(p): pp for pp, p in enumerate(self._plastic)}
        for pp in range(n_pp):
            kern.plastic_write_weights(pp, pw, self.weight, self._pl)

    def _post_index(self, n_h):
        # Plastic synapse ids sorted by history row (stable: CSR order within a row).
        rows = [(int(self._pl_tab_tmp[pp, kern.L_HOFF]), p) for pp, p in
                enumerate(self._plastic) if self._pl_tab_tmp[pp, kern.L_KIND] == 0]
        ptr = np.zeros(n_h + 1, np.int64)
        syn = []
        for hoff, p in rows:
            pp = self._plastic.index(p)
            poff = int(self._pl_tab_tmp[pp, kern.L_POFF])
            order = np.argsort(p.post_idx, kind='stable')
            ptr[hoff + 1:hoff + p.post.size + 1] = np.bincount(p.post_idx, minlength=p.post.size)
            syn.append((hoff, poff + order))
        np.cumsum(ptr, out=ptr)
        idx = np.zeros(int(ptr[-1]), np.int32)
        for hoff, s in syn:
            idx[ptr[hoff]:ptr[hoff] + s.size] = s
        return ptr, idx

    def _safe_time(self, pp):
        # Every presynaptic spike emitted before this time has reached its synapses.
        return self.t_ns - int(self._pl[0][pp, kern.L_D])

    def _flush_all(self):
        for pp in range(len(self._plastic)):
            kern.plastic_flush(pp, self._safe_time(pp), True, self._pl[2][:0], self._pl[2][:0],
                               self.indptr, self._pl)

    def _probe(self):
        out_w = self._pl[2].astype(np.float64)
        out_c = np.zeros(out_w.shape[0])
        if self._pl[3].shape[0]:
            out_c[:] = self._pl[3]
        for pp in range(len(self._plastic)):
            kern.plastic_flush(pp, self._safe_time(pp), False, out_w, out_c, self.indptr,
                               self._pl)
        return out_w, out_c

    def _plastic_index(self, proj):
        self._check_proj(proj)
        if id(proj) not in self._pindex:
            raise ValueError(f'proj={proj!r} is not plastic')
        return self._pindex[id(proj)]

    def _check_proj(self, proj):
        if not any(proj is p for p in self.net.projections):
            raise ValueError(f'proj={proj!r} is not a projection of this network')

    @property
    def learning(self):
        """Return whether plastic weights change (traces and eligibility evolve either way)."""
        return self._learning

    @learning.setter
    def learning(self, on):
        """
        Switch learning on or off at the current time.

        The synapses are first brought up to date under the old setting (up to
        the current time minus their delay: spikes still in flight are learned
        from under the new one).
        """
        on = bool(on)
        if on == self._learning:
            return
        self._flush_all()
        self._pl[1][:, kern.R_LEARNING] = float(on)
        self._learning = on

    def deliver_reward(self, t_ns, amount, population=None):
        """
        Add a reward (dopamine) spike of size ``amount`` [1/s] at ``t_ns`` (>= now).

        It reaches the R-STDP projections with ``reward_scope='global'``, and those
        with ``'per_target_population'`` whose post population is ``population``
        (all of them when ``population`` is None).
        """
        if not isinstance(t_ns, (int, np.integer)) or isinstance(t_ns, bool):
            raise ValueError(f't_ns={t_ns!r} must be an int time [ns]')
        if t_ns < self.t_ns:
            raise ValueError(f't_ns={t_ns} is before the current time {self.t_ns} ns')
        amount = float(amount)
        if not np.isfinite(amount):
            raise ValueError(f'amount={amount!r} must be a finite number [1/s]')
        if population is not None:
            self._check(population, 'population')
        d_t, d_v, d_n = self._pl[13], self._pl[14], self._pl[15]
        for pp, p in enumerate(self._plastic):
            rule = p.plasticity
            if not isinstance(rule, plmod.RSTDPParams):
                continue
            if (rule.reward_scope == 'per_target_population' and population is not None
                    and p.post is not population):
                continue
            ch = slice(pp, pp + 1)
            if t_ns < d_t[pp, d_n[pp] - 1]:
                raise ValueError(f't_ns={t_ns} is before the last reward of projection '
                                 f'{p.name!r} ({int(d_t[pp, d_n[pp] - 1])} ns)')
            krule = kern.make_rule(self._pl[1], pp)
            if d_n[pp] >= d_t.shape[1] - 1:
                t_safe = self._safe_time(pp)
                kern.plastic_flush(pp, t_safe, True, self._pl[2][:0], self._pl[2][:0],
                                   self.indptr, self._pl)
                if t_safe > d_t[pp, 0]:
                    plk.prune_rewards(t_safe, d_t[ch], d_v[ch], d_n[ch], krule)
            if not plk.reward_spike(0, int(t_ns), amount, d_t[ch], d_v[ch], d_n[ch], krule):
                raise ValueError(f'reward history of projection {p.name!r} is full '
                                 f'({d_t.shape[1]} rewards within its delay); raise '
                                 'reward_capacity')

    def plastic_state(self, proj):
        """
        Return ``{'w', 'c'}``: the stored weights and eligibilities of plastic ``proj``.

        float64, CSR order, brought up to the current time minus the delay (the
        state is not changed); ``w`` is the resource ``W`` in the resource model.
        """
        pp = self._plastic_index(proj)
        out_w, out_c = self._probe()
        sl = slice(int(self._pl[0][pp, kern.L_POFF]),
                   int(self._pl[0][pp, kern.L_POFF] + self._pl[0][pp, kern.L_N]))
        return {'w': out_w[sl], 'c': out_c[sl]}

    def bytes_per_plastic_synapse(self):
        """
        Return the bytes per plastic synapse, engine storage included (0.0 without any).

        Engine: target and weight (8 B, plus its share of ``indptr``). Plastic:
        stored weight (4 or 8 B), ``t_last`` (8 B), eligibility for R-STDP (4 or
        8 B), history row (4 B) and the post-sorted index (4 B). Per-neuron traces,
        histories and reward channels are not counted.
        """
        pl = self._pl
        n_pl = pl[2].shape[0]
        if n_pl == 0:
            return 0.0
        own = (pl[2].nbytes + pl[3].nbytes + pl[4].nbytes + pl[5].nbytes + pl[22].nbytes)
        return self.bytes_per_synapse() + own / n_pl

    @property
    def plastic_lost(self):
        """Return how often a synapse needed a postsynaptic spike its history had dropped."""
        return int(self._pl[12][0])

    _STATE_KEYS = ('weight', 't_ns', 'last_spike_ns', 'plastic_w', 'plastic_c',
                   'plastic_t_last', 'pre_trace', 'pre_t', 'post_t', 'post_trace', 'post_rate',
                   'post_n', 'reward_t', 'reward_d', 'reward_n')
    _STATE_SLOTS = {'plastic_w': 2, 'plastic_c': 3, 'plastic_t_last': 4, 'pre_trace': 6,
                    'pre_t': 7, 'post_t': 8, 'post_trace': 9, 'post_rate': 10, 'post_n': 11,
                    'reward_t': 13, 'reward_d': 14, 'reward_n': 15}

    def state_arrays(self):
        """
        Return the weights and learning state as a dict of numeric arrays (copies).

        ``weight``: every synapse's transmitted weight (float32, CSR order, plastic
        ones brought up to the current time minus their delay); ``t_ns``: the
        current time; the rest is the plastic state (stored weights, eligibility,
        traces, postsynaptic spike history, reward history) and the last spike
        times. Names and shapes depend only on the network. Pending learning is
        applied first, so that the stored state and ``weight`` agree and a loaded
        state gives the same weights whatever the learning setting is then.
        """
        self._flush_all()
        weight = self.weight.copy()
        out_w, _ = self._probe()
        for pp in range(len(self._plastic)):
            kern.plastic_write_weights(pp, out_w, weight, self._pl)
        out = {'weight': weight, 't_ns': np.array([self.t_ns], np.int64),
               'last_spike_ns': self.last_spike_ns.copy()}
        for key, slot in self._STATE_SLOTS.items():
            out[key] = self._pl[slot].copy()
        return out

    def load_state_arrays(self, arrays):
        """
        Load what ``state_arrays`` returned (possibly saved at another time).

        Times are shifted by the difference between now and the saved ``t_ns``, so
        learning resumes where it stopped. Keys, shapes and dtypes must match this
        network; ValueError names the first array that does not.
        """
        keys = set(arrays)
        if keys != set(self._STATE_KEYS):
            raise ValueError(f'state arrays have keys {sorted(keys)}; this network needs '
                             f'{sorted(self._STATE_KEYS)}')
        mine = {'weight': self.weight, 't_ns': np.zeros(1, np.int64),
                'last_spike_ns': self.last_spike_ns}
        mine.update({k: self._pl[s] for k, s in self._STATE_SLOTS.items()})
        for key, dst in mine.items():
            src = np.asarray(arrays[key])
            if src.shape != dst.shape or src.dtype != dst.dtype:
                raise ValueError(f'state array {key!r} has shape {src.shape} {src.dtype}; this '
                                 f'network needs {dst.shape} {dst.dtype}')
        shift = self.t_ns - int(arrays['t_ns'][0])
        for key, dst in mine.items():
            if key == 't_ns':
                continue
            src = np.asarray(arrays[key])
            if key in ('last_spike_ns', 'pre_t'):
                dst[:] = np.where(src == _NEVER, src, src + shift)
            elif key in ('plastic_t_last', 'post_t', 'reward_t'):
                dst[...] = src + shift
            else:
                dst[...] = src

    def reset_dynamics(self):
        """
        Restart the dynamics at the current time; weights are kept.

        Pending learning is applied first; then membranes, queued arrivals, the
        postsynaptic histories, traces, eligibilities and reward signals restart
        (time does not go back; pushed input spikes stay queued).
        """
        self._flush_all()
        for pp in range(len(self._plastic)):
            kern.plastic_write_weights(pp, self._pl[2], self.weight, self._pl)
        t = self.t_ns
        self._meta[kern.M_NFP] = 0
        self._meta[kern.M_QTOT] = 0
        self._q_n[:] = 0
        kern.init_state(self._gint, self._par, self._st, self._rng, self._meta, float(t),
                        self._zig, self._gtab, self._drv_nodes)
        self.last_spike_ns[:] = _NEVER
        pl = self._pl
        pl[3][:] = 0.0
        pl[4][:] = t
        pl[6][:] = 0.0
        pl[7][:] = plmod.NO_SPIKE
        pl[11][:] = 0
        pl[13][:, 0] = t
        pl[14][:] = 0.0
        pl[15][:] = 1
