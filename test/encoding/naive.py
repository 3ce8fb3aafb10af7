"""
Slow, obvious reference implementations that the encoding kernels are compared with.

Written straight from the format descriptions and model equations in the package
docstrings, one Python loop step per word, pixel or spike, with no attempt at speed.
"""

import math

import numpy as np

from snn_ros.core.types import EVENT_DTYPE, SPIKE_DTYPE
from snn_ros.encoding.codecs import TRIGGER_DTYPE


class NaiveEvt3:
    """EVT 3.0 decoder as a dictionary of state and a loop over words."""

    def __init__(self, width, height):
        self.width, self.height = width, height
        self.s = {'y': 0, 'high': 0, 'low': 0, 'base': 0, 'pol': 0, 'valid': False,
                  'have_high': False, 'unknown': 0, 'out': 0, 'before': 0, 'wraps': 0}

    def decode(self, data):
        s = self.s
        words = [int(w) for w in np.frombuffer(bytes(data), dtype='<u2')]
        events, triggers = [], []
        for w in words:
            code, payload = w >> 12, w & 0xFFF
            t_us = s['high'] * 4096 + s['low']
            if code == 0x0:
                s['y'] = payload & 0x7FF
            elif code == 0x6:
                s['low'] = payload
                if s['have_high']:
                    s['valid'] = True
            elif code == 0x8:
                last = s['high'] % 4096
                if payload < last and last - payload > 10:
                    s['high'] += 4096 - last + payload
                    s['wraps'] += 1
                else:
                    s['high'] += payload - last
                s['have_high'] = True
            elif code == 0x3:
                s['base'], s['pol'] = payload & 0x7FF, payload >> 11
            elif code in (0x2, 0x4, 0x5, 0xA):
                if code == 0x2:
                    cand = [(payload & 0x7FF, payload >> 11)]
                elif code in (0x4, 0x5):
                    span = 12 if code == 0x4 else 8
                    cand = [(s['base'] + b, s['pol']) for b in range(span) if payload >> b & 1]
                    s['base'] += span
                else:
                    cand = []
                    if s['valid']:
                        triggers.append(((payload >> 8) & 0xF, payload & 1, t_us * 1000))
                    else:
                        s['before'] += 1
                for x, p in cand:
                    if not s['valid']:
                        s['before'] += 1
                    elif x < self.width and s['y'] < self.height:
                        events.append((x, s['y'], p, t_us * 1000))
                    else:
                        s['out'] += 1
            elif code in (0x7, 0xE, 0xF):
                pass
            else:
                s['unknown'] += 1
        return (np.array(events, dtype=EVENT_DTYPE).reshape(-1),
                np.array(triggers, dtype=TRIGGER_DTYPE).reshape(-1))


def encode_evt3(events, triggers, time_mult_ns=1000):
    """
    EVT 3.0 words for sorted events and triggers, one Python step per record.

    Items go in order of tick (``t // time_mult_ns``), events before the triggers of
    the same tick. A new tick writes TIME_HIGH (the first time, or when it changes,
    after steps of 2048 counts across larger gaps) and TIME_LOW; a new row writes
    ADDR_Y; three or more events of one tick, row and polarity with increasing x
    within 12 columns of the first write VECT_BASE_X + VECT_12, others ADDR_X.
    Polarity is 1 where p is not 0.
    """
    ev = [(int(e['x']), int(e['y']), int(e['p'] != 0), int(e['t']) // time_mult_ns)
          for e in events]
    tr = [(int(r['id']), int(r['edge']) & 1, int(r['t']) // time_mult_ns) for r in triggers]
    out = []
    state = {'high': None, 'tick': None, 'y': None}

    def time(tick):
        if tick == state['tick']:
            return
        h = tick >> 12
        if state['high'] is None:
            out.append(0x8000 | h % 4096)
        else:
            while h - state['high'] >= 2048:
                state['high'] += 2048
                out.append(0x8000 | state['high'] % 4096)
            if h != state['high']:
                out.append(0x8000 | h % 4096)
        out.append(0x6000 | tick % 4096)
        state['high'], state['tick'] = h, tick

    i = j = 0
    while i < len(ev) or j < len(tr):
        if j < len(tr) and (i == len(ev) or tr[j][2] < ev[i][3]):
            time(tr[j][2])
            out.append(0xA000 | tr[j][0] << 8 | tr[j][1])
            j += 1
            continue
        x, y, p, tick = ev[i]
        time(tick)
        if y != state['y']:
            out.append(y)
            state['y'] = y
        run = [x]
        while (i + len(run) < len(ev) and ev[i + len(run)][1:] == (y, p, tick)
               and run[-1] < ev[i + len(run)][0] < x + 12):
            run.append(ev[i + len(run)][0])
        if len(run) >= 3:
            out += [0x3000 | p << 11 | x, 0x4000 | sum(1 << (r - x) for r in run)]
            i += len(run)
        else:
            out.append(0x2000 | p << 11 | x)
            i += 1
    return np.array(out, dtype='<u2').view(np.uint8)


def mono_word(x, y, p, dt_ns):
    """Pack one mono event by the upstream layout (p:63, y:62..48, x:47..32, dt:31..0)."""
    return (int(p) << 63) | (int(y) << 48) | (int(x) << 32) | int(dt_ns)


def lin_log(intensity, dark_level):
    """Log intensity, linear below ``dark_level`` (matching value and slope there)."""
    if intensity >= dark_level:
        return math.log(intensity)
    return math.log(dark_level) + (intensity - dark_level) / dark_level


def emulate_interval(L0, L1, ref, theta_on, theta_off, ready_s, t0_s, t1_s, refractory_s,
                     leak_drift):
    """
    Crossings of one pixel in one frame interval, event by event.

    The difference d(t) = L(t) - ref(t) is linear in t (L interpolated between the
    frames, ref drifting down by ``leak_drift`` [1/s]). An ON event fires when
    d >= theta_on and moves ref up by theta_on; OFF likewise downwards; no event
    within ``refractory_s`` of the last one. Return (events, ref at t1, ready_s).
    """
    dt = t1_s - t0_s
    slope = (L1 - L0) * (1.0 / dt) + leak_drift
    inv_slope = 1.0 / slope if slope != 0.0 else 0.0
    d0 = L0 - ref
    out = []
    tc = t0_s
    shift = 0.0
    for _ in range(10000):
        ts = max(tc, ready_s)
        if ts > t1_s:
            break
        d = d0 + slope * (ts - t0_s) - shift
        if d >= theta_on:
            te, pol = ts, 1
        elif d <= -theta_off:
            te, pol = ts, 0
        elif slope > 0:
            te, pol = ts + (theta_on - d) * inv_slope, 1
        elif slope < 0:
            te, pol = ts + (-theta_off - d) * inv_slope, 0
        else:
            break
        if te > t1_s:
            break
        out.append((te, pol))
        shift += theta_on if pol else -theta_off
        ready_s = te + refractory_s
        tc = te
    ref_end = ref - leak_drift * dt + shift
    return out, ref_end, ready_s


def rate_counts_expected(values, rate_max_hz, duration_s):
    """Return the expected spike count per neuron of the Poisson rate code."""
    return np.clip(values, 0, 1) * rate_max_hz * duration_s


def latency_linear(values, t0_ns, t_max_s, threshold):
    """Linear time-to-first-spike, one neuron at a time."""
    out = []
    for i, v in enumerate(values):
        if v > threshold:
            out.append((i, t0_ns + round((1.0 - min(v, 1.0)) * t_max_s * 1e9)))
    return _spikes(out)


def latency_log(values, t0_ns, tau_s, threshold):
    """Logarithmic (RC charging) time-to-first-spike, one neuron at a time."""
    out = []
    for i, v in enumerate(values):
        if v > threshold:
            out.append((i, t0_ns + round(tau_s * math.log(v / (v - threshold)) * 1e9)))
    return _spikes(out)


def phase(values, t0_ns, t1_ns, freq_hz, phase0_rad=0.0):
    """Fire once per cycle, (1 - v) of a period after each cycle start."""
    period_ns = 1e9 / freq_hz
    offset_ns = phase0_rad / (2 * math.pi) * period_ns
    out = []
    k = 0
    while True:
        start = t0_ns - offset_ns + k * period_ns
        if start >= t1_ns:
            break
        for i, v in enumerate(values):
            t = start + (1.0 - min(max(v, 0.0), 1.0)) * period_ns
            t = round(t)
            if v > 0 and t0_ns <= t < t1_ns:
                out.append((i, t))
        k += 1
    return _spikes(out)


def delta(samples, times_ns, threshold, ref):
    """Send-on-delta with interpolated crossing times; neurons 2i (ON) and 2i+1 (OFF)."""
    out = []
    ref = list(ref)
    for k in range(1, len(times_ns)):
        t0, t1 = times_ns[k - 1], times_ns[k]
        for i in range(samples.shape[1]):
            a, b = float(samples[k - 1, i]), float(samples[k, i])
            while b - ref[i] >= threshold or ref[i] - b >= threshold:
                up = b > ref[i]
                level = ref[i] + threshold if up else ref[i] - threshold
                frac = 0.0 if b == a else min(max((level - a) / (b - a), 0.0), 1.0)
                out.append((2 * i + (0 if up else 1), t0 + round(frac * (t1 - t0))))
                ref[i] = level
    return _spikes(out), np.array(ref)


def population(values, x_min, x_max, n_fields, beta, t0_ns, t_max_s, cutoff):
    """Gaussian receptive fields (Bohte et al. 2002) read out as latencies."""
    out = []
    width = (x_max - x_min) / (beta * (n_fields - 2))
    for i, x in enumerate(values):
        for j in range(n_fields):
            centre = x_min + (2 * (j + 1) - 3) / 2 * (x_max - x_min) / (n_fields - 2)
            r = math.exp(-0.5 * ((x - centre) / width) ** 2)
            if r >= cutoff:
                out.append((i * n_fields + j, t0_ns + round((1.0 - r) * t_max_s * 1e9)))
    return _spikes(out)


def grid_map(events, roi, grid, separate, refractory_ns=0):
    """Pool events into grid cells one at a time; return spikes (neuron, t)."""
    x0, y0, w, h = roi
    nx, ny = grid
    out = []
    last = {}
    for e in events:
        x, y = int(e['x']) - x0, int(e['y']) - y0
        if 0 <= x < w and 0 <= y < h:
            cell = (y * ny // h) * nx + (x * nx // w)
            if separate:
                cell += nx * ny * int(e['p'])
            if cell in last and int(e['t']) - last[cell] < refractory_ns:
                continue
            last[cell] = int(e['t'])
            out.append((cell, int(e['t'])))
    return _spikes(out)


def _spikes(pairs):
    pairs = sorted(pairs, key=lambda s: (s[1], s[0]))
    return np.array(pairs, dtype=SPIKE_DTYPE).reshape(-1)
