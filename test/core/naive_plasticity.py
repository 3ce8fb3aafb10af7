"""
Slow, obvious reference versions of the plasticity rules (one synapse at a time).

Nothing here shares code with the kernels: traces are explicit sums over all
earlier spikes, the reward integral is Gauss-Legendre quadrature of
``c(t) (d(t) - b)`` on pieces where it has one sign (roots of ``d - b`` found by
bisection), and clamping is applied at the end of each such piece, which is the
exact solution of the clamped equation. Times are int64 ns; the rule parameter
tuples are those of ``snn_ros.core.plasticity``.
"""

import math

import numpy as np

_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)


def _rule(params):
    rstdp = hasattr(params, 'stdp')
    s = params.stdp if rstdp else params
    return rstdp, s, s.homeostasis


def _clip(w, s):
    if s.homeostasis.resource:
        return w
    return min(max(w, s.w_min_mV), s.w_max_mV)


def _trace(times, t, tau_s, nearest):
    """Return the sum of exp(-(t - ti)/tau) over spikes ti < t (or the nearest one)."""
    earlier = [ti for ti in times if ti < t]
    if not earlier:
        return 0.0
    if nearest:
        earlier = [max(earlier)]
    return sum(math.exp(-(t - ti) * 1e-9 / tau_s) for ti in earlier)


def _d(t, rewards, tau_d_s):
    """Return the reward signal at t [1/s], right-continuous."""
    return sum(a * math.exp(-(t - tr) * 1e-9 / tau_d_s) for tr, a in rewards if tr <= t)


def _root(f, lo, hi):
    flo = f(lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        fm = f(mid)
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _quad(f, a, b, chunk):
    """Integrate f over [a, b] (ns, f per second) by Gauss-Legendre on chunks."""
    n = max(1, int(math.ceil((b - a) / chunk)))
    edges = np.linspace(a, b, n + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        total += half * sum(wk * f(mid + half * xk) for xk, wk in zip(_GL_X, _GL_W))
    return total * 1e-9


def _integrate(w, c_a, t_a, t_b, params, rewards, learning):
    """Advance w from t_a to t_b with c(t) = c_a exp(-(t - t_a)/tau_c)."""
    rstdp, s, _ = _rule(params)
    if not rstdp or not learning or t_b <= t_a or c_a == 0.0:
        return w
    tau_c, tau_d, b = params.tau_c_s, params.tau_d_s, params.b
    cuts = sorted({t_a, t_b} | {float(tr) for tr, _ in rewards if t_a < tr < t_b})
    chunk = 2.0 * min(tau_c, tau_d) * 1e9
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        # d - b on (lo, hi): continuous, at most one sign change.
        def g(t, lo=lo):
            return _d(t, [(tr, a) for tr, a in rewards if tr <= lo], tau_d) - b
        pieces = [lo, hi]
        eps = 1e-6 * (hi - lo)
        glo, ghi = g(lo), g(hi - eps)
        if glo != 0 and ghi != 0 and (glo > 0) != (ghi > 0):
            pieces = [lo, _root(g, lo, hi - eps), hi]
        for p_lo, p_hi in zip(pieces[:-1], pieces[1:]):
            def fp(t, lo=lo):
                dd = _d(t, [(tr, a) for tr, a in rewards if tr <= lo], tau_d)
                return c_a * math.exp(-(t - t_a) * 1e-9 / tau_c) * (dd - b)
            w = _clip(w + _quad(fp, p_lo, p_hi, chunk), s)
    return w


def naive_synapse(params, pre_t, post_t, w0, samples, d_dend=0, rewards=(), learning=True,
                  c0=0.0):
    """
    Return (w, c) lists at ``samples`` for one synapse.

    ``pre_t``: presynaptic times at the synapse; ``post_t``: postsynaptic firing
    times (seen at ``t + d_dend``); ``rewards``: (time, amount) pairs of the
    synapse's channel.
    """
    rstdp, s, h = _rule(params)
    nearest = s.pairing == 'nearest'
    soft = s.bounds == 'soft'
    post_syn = [t + d_dend for t in post_t]
    events = [(t, 0, i) for i, t in enumerate(post_syn)]
    events += [(t, 1, i) for i, t in enumerate(pre_t)]
    events += [(t, 2, i) for i, t in enumerate(samples)]
    events.sort()
    w, c = float(w0), float(c0) if rstdp else 0.0
    t_cur = 0
    out_w, out_c = [None] * len(samples), [None] * len(samples)
    rewards = sorted(rewards)
    for t, kind, idx in events:
        if t > t_cur:
            w = _integrate(w, c, t_cur, t, params, rewards, learning)
            if rstdp:
                c *= math.exp(-(t - t_cur) * 1e-9 / params.tau_c_s)
            t_cur = t
        if kind == 0:
            x = _trace(pre_t, t, s.tau_plus_s, nearest)
            raw = post_t[idx]
            r = sum(math.exp(-(raw - q) * 1e-9 / h.tau_rate_s) / h.tau_rate_s
                    for q in post_t if q < raw)
            g = 1.0 if math.isinf(h.rate_max_hz) else max(0.0, 1.0 - r / h.rate_max_hz)
            ltp = s.a_plus * x * g
            if soft:
                ltp *= s.w_max_mV - w
            if rstdp:
                c += ltp
            elif learning:
                w = _clip(w + ltp, s)
        elif kind == 1:
            y = _trace(post_syn, t, s.tau_minus_s, nearest)
            ltd = s.a_minus * y + h.a_pre
            if soft:
                ltd *= w - s.w_min_mV
            if rstdp:
                c -= ltd
            elif learning:
                w = _clip(w - ltd, s)
        else:
            out_w[idx], out_c[idx] = w, c
    return out_w, out_c


def naive_std(params, times):
    """Return Tsodyks-Markram efficacies for one presynaptic train (explicit recursion)."""
    out = []
    x_after, t_last = None, None
    for t in times:
        if t_last is None:
            x = 1.0
        else:
            gap = (t - t_last) * 1e-9
            x = 1.0 - (1.0 - x_after) * math.exp(-gap / params.tau_rec_s)
        out.append(x)
        x_after, t_last = x - params.U * x, t
    return out
