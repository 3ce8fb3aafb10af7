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
  from ``seed``: results do not depend on how a run is split.
- A Poisson source whose only projection is ``one_to_one`` and which is not
  recorded is *fused* (``fuse_poisson=True``): its trains are drawn at the target
  while it integrates, arrival = spike + delay, exactly as unfused, but with no
  queue traffic. This is how a Brunel network's external drive runs. Its weight
  is read when the simulator is built and its spikes are never recorded.

For plasticity: ``projection_slice`` gives a projection's block of synapses
(``weight`` views can be changed in place between runs), ``post_synapses``
builds a post-sorted index on demand, and ``last_spike_ns`` holds each node's
last spike time.
"""

import numpy as np

from snn_ros.core import _engine_kernels as kern
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


class Simulator:
    """
    Run a ``Network`` from t = 0 ns.

    ``seed`` seeds the Poisson sources; ``threads`` is accepted for the API
    (the engine runs on one thread); ``fuse_poisson`` enables the fused Poisson
    drive (see the module docstring); ``queue_capacity`` is the initial number of
    deliveries each bucket holds (buckets grow when needed).
    """

    def __init__(self, net, seed=0, threads=1, fuse_poisson=True, queue_capacity=4096):
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
        drv_gap = np.zeros(n)
        fused_projs = set()
        syn0 = np.cumsum([0] + [p.n_synapses for p in net.projections])
        for src in net.sources:
            if not (fuse_poisson and src.model == 'poisson' and not src.record):
                continue
            outs = [p for p in net.projections if p.pre is src]
            if len(outs) != 1 or outs[0].pattern != 'one_to_one':
                continue
            proj = outs[0]
            tgt = proj.post.start + proj.post_idx
            if np.any(drv_src[tgt] >= 0):
                continue
            drv_src[tgt] = src.start + proj.pre_idx
            drv_w[tgt] = proj.weight
            drv_d[tgt] = proj.delay_ns
            drv_gap[tgt] = par[self._gindex[id(src)], kern.P_GAP]
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
            out_lists[self._gindex[id(p.pre)]].append(p.index)
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
        n_buckets = d_max // self.d_min_ns + 3

        # State.
        self._meta = np.zeros(kern.M_LEN, np.int64)
        self._meta[kern.M_W] = self.d_min_ns
        self._meta[kern.M_NB] = n_buckets
        self._meta[kern.M_ACTIVE] = int(active)
        self._st = np.zeros((n, kern.S_NCOLS), np.float64)
        self._st[:, kern.S_DS] = drv_src
        self._st[:, kern.S_DW] = drv_w
        self._st[:, kern.S_DD] = drv_d
        self._st[:, kern.S_DG] = drv_gap
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
        kern.init_state(gint, par, self._st, self._rng, self._meta, 0.0, self._zig,
                        drv_nodes)
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
        self._build_args()

    def _build_args(self):
        self._args = (self._meta, self._gint, self._par, self._dtab, self._zig,
                      self._node_group, self._st, self._rng, self.last_spike_ns, self._proj_tab,
                      self._gp_ptr, self._gp_list, self.indptr, self.target, self.weight,
                      self.delay, self._drv_nodes, self._pend_t, self._pend_src, *self._queue,
                      self._q_n, self._sel, *self._em, *self._rec, self._cand)

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
        while True:
            status = kern.run_window_loop(t_ns, *self._args)
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
        if not (np.issubdtype(idx.dtype, np.integer) and np.issubdtype(t.dtype, np.integer)):
            raise ValueError('neuron_idx and t_ns must be integer arrays (t_ns in int64 ns)')
        if idx.min() < 0 or idx.max() >= source.size:
            raise ValueError(f'neuron_idx must lie in [0, {source.size - 1}] for source '
                             f'{source.name!r}')
        if t.min() < self.t_ns:
            raise ValueError(f't_ns must be >= the current time {self.t_ns} ns; got {t.min()}')
        pos = int(self._meta[kern.M_PEND])
        all_t = np.concatenate([self._pend_t[pos:], t.astype(np.int64)])
        all_src = np.concatenate([self._pend_src[pos:],
                                  (idx + source.start).astype(np.int32)])
        order = np.lexsort((all_src, all_t))
        self._pend_t = np.ascontiguousarray(all_t[order])
        self._pend_src = np.ascontiguousarray(all_src[order])
        self._meta[kern.M_PEND] = 0
        self._build_args()

    def _check(self, group, what):
        if id(group) not in self._gindex:
            raise ValueError(f'{what}={group!r} is not part of the network of this simulator')
        return self._gindex[id(group)]

    def spikes(self, group):
        """Return the recorded spikes of ``group`` as a ``SPIKE_DTYPE`` array (local ids)."""
        g = self._check(group, 'group')
        if not group.record:
            raise ValueError(f'{group.name!r} is not recorded; create it with record=True')
        nrec = int(self._meta[kern.M_NREC])
        src, t = self._rec[0][:nrec], self._rec[1][:nrec]
        start = self._gint[g, kern.G_START]
        sel = (src >= start) & (src < start + group.size)
        out = np.empty(int(sel.sum()), SPIKE_DTYPE)
        out['neuron'] = src[sel] - start
        out['t'] = t[sel]
        return out[np.lexsort((out['neuron'], out['t']))]

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
                                    float(self.t_ns))
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
        """Return a writable float32 view of the weights of ``proj`` [mV] (CSR order)."""
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
