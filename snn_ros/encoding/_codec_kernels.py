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
S_ADDR_X = 11       # ADDR_X words scanned but not yet expanded (before-time bookkeeping)
EVT3_STATE_LEN = 12

MIN_BACKWARDS = 10  # a TIME_HIGH going back by more than this many counts is a wrap
# Bit c set: word type c is unknown (1 9 11 12 13): skipped and counted.
UNKNOWN_CODES = 0b0011101000000010
# Bit c set: word type c is kept for the second pass (3 4 5 10: vectors, triggers).
RARE_CODES = 0b0000010000111000


@njit
def _popcount12(v):
    v = v - ((v >> 1) & 0x555)
    v = (v & 0x333) + ((v >> 2) & 0x333)
    v = (v + (v >> 4)) & 0x0F0F
    return (v & 0xF) + ((v >> 8) & 0xF)


@njit
def evt3_scan(words, state, slots):
    """
    First pass of the EVT 3.0 decoder: keep the words that matter, with y and time.

    Each kept word becomes one int64 slot::

        wraps << 52 | time_high << 40 | time_low << 28 | valid << 27 | y << 16 | word

    with the 24-bit wraps counted from the start of this call (at most 2047 per
    call, 9.5 hours of sensor time), the TIME_HIGH, TIME_LOW and ADDR_Y in force,
    and valid telling whether a TIME_HIGH and then a TIME_LOW were seen. Kept:
    ADDR_X words after a valid time and the rare words (VECT_BASE_X, vectors,
    EXT_TRIGGER), which :func:`evt3_expand` interprets in order. The loop has no
    branches (arithmetic selects): every word writes the next slot and the count
    advances only for a kept word, so the CPU need not guess the order of word
    types. ``slots`` needs one entry per word plus one. Return the number of slots.
    """
    y = state[S_Y]
    low = state[S_LOW]
    hi = (state[S_HIGH] >> 12) & 0xFFF
    valid = state[S_VALID]
    have_high = state[S_HAVE_HIGH]
    wraps = 0
    n = 0
    n_x = 0
    n_unknown = 0
    for i in range(words.shape[0]):
        w = np.int64(words[i])
        code = w >> 12
        v = w & 0xFFF
        is_y = np.int64(code == 0)
        is_tl = np.int64(code == 6)
        is_th = np.int64(code == 8)
        is_x = np.int64(code == 2)
        y = y + is_y * ((w & 0x7FF) - y)
        low = low + is_tl * (v - low)
        wraps += is_th & np.int64(v < hi) & np.int64(hi - v > MIN_BACKWARDS)
        hi = hi + is_th * (v - hi)
        have_high = have_high | is_th
        valid = valid | (is_tl & have_high)
        slots[n] = (wraps << 52) | (hi << 40) | (low << 28) | (valid << 27) | (y << 16) | w
        n += (is_x & valid) | ((RARE_CODES >> code) & 1)
        n_x += is_x
        n_unknown += (UNKNOWN_CODES >> code) & 1
    state[S_Y] = y
    state[S_LOW] = low
    state[S_HIGH] = (((state[S_HIGH] >> 24) + wraps) << 24) | (hi << 12)
    state[S_VALID] = valid
    state[S_HAVE_HIGH] = have_high
    state[S_WRAPS] += wraps
    state[S_UNKNOWN] += n_unknown
    state[S_ADDR_X] += n_x
    return n


@njit
def evt3_expand(slots, n, wraps0, state, width, height, time_mult, out, trig_out):
    """
    Second pass: turn ``n`` slots of :func:`evt3_scan` into CD events and triggers.

    ``wraps0`` is the wrap count at the start of the scan. Carries the vector base
    and polarity in ``state``. CD events outside width x height are dropped and
    counted. ``out`` needs the ADDR_X slots plus 12 per vector slot, ``trig_out``
    one per trigger slot. Return the numbers of CD events and triggers written.
    """
    base_x = state[S_BASE_X]
    pol = state[S_POL]
    m = 0
    nt = 0
    n_kept_x = 0
    n_before = 0
    n_out = 0
    for i in range(n):
        s = slots[i]
        w = s & 0xFFFF
        code = w >> 12
        y = (s >> 16) & 0x7FF
        t = ((((s >> 52) + wraps0) << 24) | (((s >> 40) & 0xFFF) << 12)
             | ((s >> 28) & 0xFFF)) * time_mult
        if code == 2:
            x = w & 0x7FF
            e = out[m]
            e.x = x
            e.y = y
            e.p = (w >> 11) & 1
            e.t = t
            inside = (x < width) & (y < height)
            m += inside
            n_out += 1 - inside
            n_kept_x += 1
            continue
        v = w & 0xFFF
        valid = (s >> 27) & 1
        if code == 10:  # EXT_TRIGGER
            if valid == 0:
                n_before += 1
            else:
                r = trig_out[nt]
                r.id = (v >> 8) & 0xF
                r.edge = v & 1
                r.t = t
                nt += 1
        elif code == 3:  # VECT_BASE_X
            base_x = w & 0x7FF
            pol = (w >> 11) & 1
        else:  # VECT_12, VECT_8
            span = 12 if code == 4 else 8
            mask = v & ((1 << span) - 1)
            if valid == 0:
                n_before += _popcount12(mask)
            else:
                for b in range(span):
                    if (mask >> b) & 1:
                        x = base_x + b
                        if x < width and y < height:
                            e = out[m]
                            e.x = x
                            e.y = y
                            e.p = pol
                            e.t = t
                            m += 1
                        else:
                            n_out += 1
            base_x += span
    state[S_BASE_X] = base_x
    state[S_POL] = pol
    state[S_OUT_OF_RANGE] += n_out
    # ADDR_X words the scan did not keep came before the first complete time.
    state[S_BEFORE_TIME] += n_before + state[S_ADDR_X] - n_kept_x
    state[S_ADDR_X] = 0
    return m, nt


@njit
def evt3_count_rare(slots, n):
    """Return the numbers of vector slots and trigger slots among ``n`` slots."""
    n_vec = 0
    n_trig = 0
    for i in range(n):
        code = (slots[i] >> 12) & 0xF
        n_vec += (code == 4) | (code == 5)
        n_trig += code == 10
    return n_vec, n_trig


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
