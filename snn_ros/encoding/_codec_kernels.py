"""
Numba kernels of the event-camera codecs (``evt3`` and ``mono``).

The public wrappers live in :mod:`snn_ros.encoding.codecs`; these functions take
arrays and scalars only. Word layouts are described there, once.
"""

import numpy as np

from snn_ros.core.jit import njit

# Indices into the evt3 decoder state (an int64 array of length EVT3_STATE_LEN).
S_Y = 0             # current y (EVT_ADDR_Y)
S_HIGH = 1          # (wraps << 24) | (time_high << 12), in sensor ticks
S_LOW = 2           # last EVT_TIME_LOW (12 bits)
S_BASE_X = 3        # VECT_BASE_X x, advanced by each vector word
S_POL = 4           # VECT_BASE_X polarity
S_VALID = 5         # 1 once a TIME_HIGH and then a TIME_LOW were seen
S_HAVE_HIGH = 6     # 1 once a TIME_HIGH was seen
S_UNKNOWN = 7       # count of words with an unknown type code
S_OUT_OF_RANGE = 8  # count of CD events with x >= width or y >= height (dropped)
S_BEFORE_TIME = 9   # count of CD/trigger events dropped before the first valid time
S_WRAPS = 10        # count of 24-bit time wraps seen
EVT3_RESET_LEN = 11  # the entries above; the settings below survive a reset
S_WIDTH = 11        # sensor width (CD events with x >= width are dropped)
S_HEIGHT = 12       # sensor height
S_TIME_MULT = 13    # ns per sensor tick
S_CHECKED = 14      # 1: the caller made the buffers big enough, skip the bound (once)
EVT3_STATE_LEN = 15

MIN_BACKWARDS = 10  # a TIME_HIGH going back by more than this many counts is a wrap
# Bit c set: word type c is unknown (1 9 11 12 13): skipped and counted.
UNKNOWN_CODES = 0b0011101000000010


@njit
def _popcount12(v):
    v = v - ((v >> 1) & 0x555)
    v = (v & 0x333) + ((v >> 2) & 0x333)
    v = (v + (v >> 4)) & 0x0F0F
    return (v & 0xF) + ((v >> 8) & 0xF)


@njit
def evt3_bound(words):
    """
    Return upper bounds on the CD events and the triggers among ``words``.

    An ADDR_X word gives at most one event, a VECT_12 twelve and a VECT_8 eight.
    The loop has no branches and is vectorised by the compiler.
    """
    n_ev = 0
    n_trig = 0
    for i in range(words.shape[0]):
        code = np.int64(words[i] >> 12)
        n_ev += np.int64(code == 2) + 12 * np.int64(code == 4) + 8 * np.int64(code == 5)
        n_trig += np.int64(code == 10)
    return n_ev, n_trig


@njit
def evt3_decode(words, state, out, trig_out):
    """
    Decode EVT 3.0 ``words`` (uint16) into CD events and triggers.

    One pass over the words. Until a TIME_HIGH and then a TIME_LOW were seen, the
    words only update the state and count the events they drop. After that, the
    loop keeps y (with its y < height test), the time in ticks x ``time_mult``
    (recomputed at each TIME_LOW and TIME_HIGH, with the wrap test) and writes each
    ADDR_X event straight into ``out``; vector, trigger and unknown words take a
    slower branch. ``state`` (see ``S_*``) carries y, time, vector base, polarity
    and the counters across calls, and holds the sensor width and height and the
    ns per tick (few arguments: each costs time in every call from Python). ``out``
    and ``trig_out`` must be at least as long as :func:`evt3_bound` says. That
    count is skipped when they hold the worst case (12 events and one trigger per
    word) or when ``state[S_CHECKED]`` is 1 (the caller sized them from a previous
    refusal; the flag is cleared). If either is too short, nothing is decoded and
    ``(-events_bound, -triggers_bound)`` is returned. Otherwise return the numbers
    of CD events and triggers written.
    """
    n_words = words.shape[0]
    if state[S_CHECKED] == 0 and (out.shape[0] < 12 * n_words
                                  or trig_out.shape[0] < n_words):
        n_ev, n_trig = evt3_bound(words)
        if n_ev > out.shape[0] or n_trig > trig_out.shape[0]:
            return -n_ev, -n_trig
    state[S_CHECKED] = 0
    width = state[S_WIDTH]
    height = state[S_HEIGHT]
    time_mult = state[S_TIME_MULT]
    y = state[S_Y]
    low = state[S_LOW]
    high = state[S_HIGH]
    hi = (high >> 12) & 0xFFF
    base_x = state[S_BASE_X]
    pol = state[S_POL]
    valid = state[S_VALID]
    have_high = state[S_HAVE_HIGH]
    n_unknown = 0
    n_before = 0
    n_out = 0
    m = 0
    nt = 0
    i = 0
    # Before the first complete time: update the state, count what is dropped.
    while valid == 0 and i < n_words:
        w = np.int64(words[i])
        i += 1
        code = w >> 12
        v = w & 0xFFF
        if code == 0:
            y = w & 0x7FF
        elif code == 6:
            low = v
            valid = have_high
        elif code == 8:
            if hi - v > MIN_BACKWARDS:
                high += 1 << 24
            hi = v
            high = (high & ~np.int64(0xFFFFFF)) | (v << 12)
            have_high = 1
        elif code == 2 or code == 10:
            n_before += 1
        elif code == 3:
            base_x = w & 0x7FF
            pol = (w >> 11) & 1
        elif code == 4 or code == 5:
            span = 12 if code == 4 else 8
            n_before += _popcount12(v & ((1 << span) - 1))
            base_x += span
        else:
            n_unknown += (UNKNOWN_CODES >> code) & 1
    t = (high + low) * time_mult
    y_ok = y < height
    # The time is complete: every CD event and trigger is kept (or out of range).
    for j in range(i, n_words):
        w = np.int64(words[np.uint64(j)])
        code = w >> 12
        # The common types are tested as ranges of w rather than values of code: a
        # chain of compares on one value becomes a jump table, whose indirect jump
        # the CPU predicts worse than these branches (measured 1.5x slower). Of the
        # 24 orders of ADDR_X, TIME_LOW, ADDR_Y and TIME_HIGH this one was fastest
        # on the real recording (by up to 20 %). The unsigned indices spare the
        # negative-index wraparound.
        if code == 2:
            x = w & 0x7FF
            if x < width and y_ok:
                e = out[np.uint64(m)]
                e.x = x
                e.y = y
                e.p = (w >> 11) & 1
                e.t = t
                m += 1
            else:
                n_out += 1
        elif w >= 0x6000 and w < 0x7000:  # TIME_LOW
            low = w & 0xFFF
            t = (high + low) * time_mult
        elif w < 0x1000:  # ADDR_Y
            y = w & 0x7FF
            y_ok = y < height
        elif w >= 0x8000 and w < 0x9000:  # TIME_HIGH
            v = w & 0xFFF
            if hi - v > MIN_BACKWARDS:
                high += 1 << 24
            hi = v
            high = (high & ~np.int64(0xFFFFFF)) | (v << 12)
            t = (high + low) * time_mult
        elif code == 10:
            r = trig_out[np.uint64(nt)]
            r.id = (w >> 8) & 0xF
            r.edge = w & 1
            r.t = t
            nt += 1
        elif code == 3:
            base_x = w & 0x7FF
            pol = (w >> 11) & 1
        elif code == 4 or code == 5:
            span = 12 if code == 4 else 8
            mask = w & ((1 << span) - 1)
            while mask:
                b = _popcount12((mask & -mask) - 1)
                mask &= mask - 1
                x = base_x + b
                if x < width and y_ok:
                    e = out[np.uint64(m)]
                    e.x = x
                    e.y = y
                    e.p = pol
                    e.t = t
                    m += 1
                else:
                    n_out += 1
            base_x += span
        else:
            n_unknown += (UNKNOWN_CODES >> code) & 1
    state[S_WRAPS] += (high >> 24) - (state[S_HIGH] >> 24)
    state[S_Y] = y
    state[S_LOW] = low
    state[S_HIGH] = high
    state[S_BASE_X] = base_x
    state[S_POL] = pol
    state[S_VALID] = valid
    state[S_HAVE_HIGH] = have_high
    state[S_UNKNOWN] += n_unknown
    state[S_OUT_OF_RANGE] += n_out
    state[S_BEFORE_TIME] += n_before
    return m, nt


@njit
def _emit_time(out, k, write, last_high, t_tick, have_time):
    """Write TIME_HIGH (in steps small enough to keep wraps visible) and TIME_LOW."""
    h = t_tick >> 12
    if have_time == 0:
        if write:
            out[k] = 0x8000 | (h & 0xFFF)
        k += 1
    else:
        while h - last_high >= 2048:
            last_high += 2048
            if write:
                out[k] = 0x8000 | (last_high & 0xFFF)
            k += 1
        if h != last_high:
            if write:
                out[k] = 0x8000 | (h & 0xFFF)
            k += 1
    if write:
        out[k] = 0x6000 | (t_tick & 0xFFF)
    k += 1
    return k, h


@njit
def evt3_encode(x, y, p, t_tick, trig_id, trig_edge, trig_t, out, write):
    """
    Encode CD events and triggers (both sorted by time) as EVT 3.0 words.

    Runs of at least three events with equal time, row and polarity and strictly
    increasing x within 12 columns become VECT_BASE_X + VECT_12. With ``write``
    false only the word count is computed. Return the number of words.
    """
    n = x.shape[0]
    m = trig_t.shape[0]
    k = 0
    i = 0
    j = 0
    last_high = np.int64(0)
    last_tick = np.int64(-1)
    have_time = 0
    cur_y = np.int64(-1)
    while i < n or j < m:
        use_trig = j < m and (i >= n or trig_t[j] < t_tick[i])
        tk = trig_t[j] if use_trig else t_tick[i]
        if have_time == 0 or tk != last_tick:
            k, last_high = _emit_time(out, k, write, last_high, tk, have_time)
            have_time = 1
            last_tick = tk
        if use_trig:
            if write:
                out[k] = 0xA000 | ((np.int64(trig_id[j]) & 0xF) << 8) | (trig_edge[j] & 1)
            k += 1
            j += 1
            continue
        yi = np.int64(y[i])
        if yi != cur_y:
            if write:
                out[k] = yi & 0x7FF
            k += 1
            cur_y = yi
        base = np.int64(x[i])
        pi = np.int64(p[i])
        mask = 1
        last_x = base
        q = i + 1
        while (q < n and t_tick[q] == tk and np.int64(y[q]) == yi and np.int64(p[q]) == pi
               and np.int64(x[q]) > last_x and np.int64(x[q]) < base + 12):
            last_x = np.int64(x[q])
            mask |= 1 << (last_x - base)
            q += 1
        if q - i >= 3:
            if write:
                out[k] = 0x3000 | (pi << 11) | base
                out[k + 1] = 0x4000 | mask
            k += 2
            i = q
        else:
            if write:
                out[k] = 0x2000 | (pi << 11) | base
            k += 1
            i += 1
    return k


@njit
def mono_decode(words, time_base, out):
    """Decode packed ``mono`` words (uint64) into ``out``."""
    for i in range(words.shape[0]):
        w = words[i]
        e = out[i]
        e.t = time_base + np.int64(w & np.uint64(0xFFFFFFFF))
        e.x = (w >> np.uint64(32)) & np.uint64(0xFFFF)
        e.y = (w >> np.uint64(48)) & np.uint64(0x7FFF)
        e.p = w >> np.uint64(63)


@njit
def mono_encode(events, time_base, out):
    """Pack ``events`` into ``mono`` words; return the index of a bad time, or -1."""
    for i in range(events.shape[0]):
        e = events[i]
        dt = e.t - time_base
        if dt < 0 or dt > 0xFFFFFFFF:
            return i
        out[i] = ((np.uint64(e.p != 0) << np.uint64(63)) | (np.uint64(e.y) << np.uint64(48))
                  | (np.uint64(e.x) << np.uint64(32)) | np.uint64(dt))
    return -1
