"""
A slow, obvious, event-by-event reference simulator for the engine's tests.

One heap of synaptic arrivals keyed by (time, source node, synapse id); before
each instant every neuron is checked for a threshold crossing in its free
evolution up to that time, and the earliest crossing fires first. All arrivals
of one instant are added (u clamped at u_min after each) before a delta neuron's
threshold test, as NEST's ``iaf_psc_delta_ps`` does. Neuron states
are advanced with the closed forms written in ``snn_ros/core/neurons.py``;
crossings are located by splitting the interval at the analytic extremum of
``u - theta`` and bisecting each monotone piece to 1e-7 ns. No windows, no
buckets, no tables.

The only things shared with the engine are the definition of the random streams
(Poisson sources must draw the same trains): splitmix64 per node, seeded from
``numpy.random.default_rng(seed)``, and the exponential ziggurat table, both
re-implemented here in pure Python; and the rounding allowance of the 'lif'
threshold test (``THETA_RTOL``).
"""

import heapq
import math

import numpy as np

from snn_ros.core._engine_kernels import THETA_RTOL, ZIGGURAT
from snn_ros.core.network import Population

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB


class Stream:
    """One splitmix64 stream with the engine's uniform and exponential draws."""

    def __init__(self, state):
        self.state = int(state) & M64

    def u64(self):
        self.state = (self.state + GOLDEN) & M64
        z = self.state
        z = ((z ^ (z >> 30)) * MIX1) & M64
        z = ((z ^ (z >> 27)) * MIX2) & M64
        return z ^ (z >> 31)

    def u01(self):
        return ((self.u64() >> 11) + 1) * (1.0 / 9007199254740992.0)

    def exponential(self):
        zig = ZIGGURAT
        while True:
            jz = self.u64() >> 32
            iz = jz & 255
            x = float(jz) * zig[256 + iz]
            if float(jz) < zig[iz]:
                return x
            if iz == 0:
                return 7.697117470131487 - math.log(self.u01())
            if zig[512 + iz] + self.u01() * (zig[511 + iz] - zig[512 + iz]) < math.exp(-x):
                return x

    def poisson(self, lam):
        """Return a Poisson(lam) count by inversion of the CDF, summed term by term."""
        u = 1.0 - self.u01()
        k = 0
        p = c = math.exp(-lam)
        while u >= c:
            k += 1
            p *= lam / k
            if c + p == c:  # the tail below the resolution of u
                break
            c += p
        return k


class Neuron:
    """State of one neuron at time ``tu`` [ns] (float), with the model's closed forms."""

    def __init__(self, model, p):
        self.model = model
        self.p = p
        self.tau_m = p.tau_m_s * 1e9
        self.t_ref = float(round(p.t_ref_s * 1e9))
        self.u = p.u_init_mV
        self.i_syn = 0.0
        self.theta = p.theta_mV
        self.tu = 0.0
        self.tr = -math.inf
        if model in ('lif_exp', 'srm0'):
            self.tau_s = p.tau_s_s * 1e9
            self.k = p.tau_s_s / (p.tau_s_s - p.tau_m_s)
        if model == 'lif_adaptive':
            self.tau_th = p.tau_theta_s * 1e9

    def at(self, t):
        """Return (u, I, theta) at time t >= tu, without changing the state."""
        p = self.p
        ie = p.i_ext_mV
        dt = t - self.tu
        theta = self.theta
        if self.model == 'lif_adaptive':
            theta = p.theta_mV + (self.theta - p.theta_mV) * math.exp(-dt / self.tau_th)
        if self.model in ('lif_exp', 'srm0'):
            if t <= self.tr:
                return p.u_reset_mV, self.i_syn * math.exp(-dt / self.tau_s), theta
            start = max(self.tu, self.tr)
            i0 = self.i_syn * math.exp(-(start - self.tu) / self.tau_s)
            u0 = p.u_reset_mV if self.tu < self.tr else self.u
            s = t - start
            u = (ie + (u0 - ie - self.k * i0) * math.exp(-s / self.tau_m)
                 + self.k * i0 * math.exp(-s / self.tau_s))
            return u, i0 * math.exp(-s / self.tau_s), theta
        if t <= self.tr:
            return p.u_reset_mV, 0.0, theta
        start = max(self.tu, self.tr)
        u0 = p.u_reset_mV if self.tu < self.tr else self.u
        u = ie + (u0 - ie) * math.exp(-(t - start) / self.tau_m)
        return max(u, p.u_min_mV), 0.0, theta

    def move(self, t):
        """Advance the state to t."""
        if t > self.tu:
            self.u, self.i_syn, self.theta = self.at(t)
            self.tu = t

    def gap(self, t):
        """Return u - theta at t."""
        u, _, theta = self.at(t)
        return u - theta

    def _extrema(self, start):
        """Return the times after ``start`` where u - theta may have an extremum."""
        p = self.p
        ie = p.i_ext_mV
        u0, i0, th0 = self.at(start)
        if self.model in ('lif_exp', 'srm0'):
            a, ta, b, tb = u0 - ie - self.k * i0, self.tau_m, self.k * i0, self.tau_s
        elif self.model == 'lif_adaptive':
            a, ta, b, tb = u0 - ie, self.tau_m, -(th0 - p.theta_mV), self.tau_th
        else:
            return []
        # d/ds [a e^(-s/ta) + b e^(-s/tb)] = 0  <=>  (a/ta) e^(-s/ta) = -(b/tb) e^(-s/tb)
        if a == 0 or b == 0 or ta == tb:
            return []
        ratio = -(b / tb) / (a / ta)
        if ratio <= 0:
            return []
        s = math.log(ratio) / (1.0 / tb - 1.0 / ta)
        return [start + s] if s > 0 else []

    def crossing(self, t_end):
        """Return the first time in (start, t_end] where u reaches theta, or None."""
        start = max(self.tu, self.tr)
        if t_end <= start:
            return None
        points = [start] + [x for x in self._extrema(start) if x < t_end] + [t_end]
        for lo, hi in zip(points[:-1], points[1:]):
            if self.gap(lo) >= 0:
                return lo
            if self.gap(hi) < 0:
                continue
            while hi - lo > 1e-7:
                mid = 0.5 * (lo + hi)
                if self.gap(mid) >= 0:
                    hi = mid
                else:
                    lo = mid
            return hi
        return None

    def fire(self, x):
        """Reset at the exact spike time x."""
        self.move(x)
        self.u = self.p.u_reset_mV
        self.tu = x
        self.tr = x + self.t_ref
        if self.model == 'lif_adaptive':
            self.theta += self.p.theta_jump_mV

    def arrive(self, t, w):
        """Take an arrival of weight w at t (the threshold test comes after the instant)."""
        if self.model in ('lif_exp', 'srm0'):
            self.move(t)
            self.i_syn += w
            return
        if t < self.tr:
            return
        self.move(t)
        self.u = max(self.u + w, self.p.u_min_mV)

    def test(self, t):
        """Fire at t when a delta neuron is at or above threshold after the instant's arrivals."""
        if self.model in ('lif_exp', 'srm0') or t < self.tr or self.tu != t:
            return False
        ie = self.p.i_ext_mV
        if self.model == 'lif':
            fires = self.u - ie >= (self.theta - ie) * (1.0 - THETA_RTOL)
        else:
            fires = self.u >= self.theta
        if fires:
            self.fire(t)
            return True
        return False


class NaiveSim:
    """
    Simulate ``net`` from 0 to ``t_end_ns`` with pushed spikes, event by event.

    ``pushed`` maps a source object to ``(neuron_idx, t_ns)`` arrays. Returns a
    dict: group name -> sorted list of (local neuron index, t_ns).
    """

    def __init__(self, net, seed=0):
        self.net = net
        self.seed = seed

    def run(self, t_end_ns, pushed=None):
        net = self.net
        streams = np.random.default_rng(self.seed).integers(
            0, 2 ** 63, size=net.n_nodes, dtype=np.int64, endpoint=False)
        neurons = {}
        group_of = {}
        for grp in net.groups:
            for j in range(grp.size):
                group_of[grp.start + j] = (grp, j)
                if isinstance(grp, Population):
                    neurons[grp.start + j] = Neuron(grp.model, grp.params)
        out_syn = {}
        for proj in net.projections:
            base = sum(p.n_synapses for p in net.projections[:proj.index])
            for k in range(proj.n_synapses):
                pre = proj.pre.start + int(proj.pre_idx[k])
                out_syn.setdefault(pre, []).append(
                    (base + k, proj.post.start + int(proj.post_idx[k]), float(proj.weight[k]),
                     int(proj.delay_ns[k])))
        heap = []
        spikes = {grp.name: [] for grp in net.groups}

        def emit(node, t_ns):
            grp, j = group_of[node]
            spikes[grp.name].append((j, t_ns))
            for syn, tgt, w, d in out_syn.get(node, []):
                heapq.heappush(heap, (t_ns + d, node, syn, tgt, w))

        # Source spikes are emitted up front: arrivals come at least d_min later.
        for src, (idx, times) in (pushed or {}).items():
            for j, t in zip(idx, times):
                if t < t_end_ns:
                    emit(src.start + int(j), int(t))
        for src in net.sources:
            if src.model != 'poisson' or src.rate_hz == 0:
                continue
            gap = 1e9 / src.rate_hz
            for j in range(src.size):
                node = src.start + j
                stream = Stream(streams[node])
                if src.grid_ns is not None:
                    # NEST's poisson_generator: a Poisson count at the end of each step.
                    t = src.grid_ns
                    while t < t_end_ns:
                        for _ in range(stream.poisson(src.grid_ns / gap)):
                            emit(node, t)
                        t += src.grid_ns
                    continue
                nx = 0.0 + stream.exponential() * gap
                while math.floor(nx) < t_end_ns:
                    emit(node, int(math.floor(nx)))
                    nx += stream.exponential() * gap
        while True:
            t_next = heap[0][0] if heap else t_end_ns
            t_next = min(t_next, t_end_ns)
            # The earliest crossing before (or at) the next arrival fires first.
            best = None
            for node, nrn in neurons.items():
                x = nrn.crossing(float(t_next))
                if x is not None and (x < t_end_ns) and (best is None or x < best[0]):
                    best = (x, node)
            if best is not None:
                x, node = best
                neurons[node].fire(x)
                emit(node, int(math.floor(x + 0.5)))
                continue
            if not heap or heap[0][0] >= t_end_ns:
                break
            # Every arrival of this instant, in (source, synapse) order, then the tests.
            t = heap[0][0]
            touched = []
            while heap and heap[0][0] == t:
                _, node, syn, tgt, w = heapq.heappop(heap)
                neurons[tgt].arrive(float(t), w)
                if tgt not in touched:
                    touched.append(tgt)
            for tgt in touched:
                if neurons[tgt].test(float(t)):
                    emit(tgt, t)
        for name in spikes:
            spikes[name].sort(key=lambda s: (s[1], s[0]))
        return spikes
