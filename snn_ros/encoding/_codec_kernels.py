"""
Numba kernels of the event-camera codecs (``evt3`` and ``mono``).

The public wrappers live in :mod:`snn_ros.encoding.codecs`; these functions take
arrays and scalars only. Word layouts are described there, once.
"""

import sys

from llvmlite import ir
from numba.core import types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic
import numpy as np

from snn_ros.core.jit import njit, njit_inline

# Byte layouts of the decoded records (codecs.EVENT_DTYPE and TRIGGER_DTYPE): the kernels
# write them into a uint8 buffer, which numba's dispatcher types 2-3x faster than
# structured arrays (0.2-0.5 us per argument, as much as decoding 100 words).
EVENT_BYTES = 13    # x <u2 at 0, y <u2 at 2, p i1 at 4, t <i8 at 5
TRIGGER_BYTES = 10  # id u1 at 0, edge i1 at 1, t <i8 at 2

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
# The fast path of evt3_decode: the 4 words before an ADDR_X, read as one uint64 q
# (the nearest word in bits 63..48), are checked under PATTERN_MASK: the type of
# the nearest two (ADDR_Y, TIME_LOW) and the whole of the other two (TIME_HIGH words
# equal to the current one). GAP_MASK[g] keeps the g words since the last ADDR_X.
PATTERN_MASK = np.uint64(0xF000F000FFFFFFFF)
GAP_MASK = np.array([0, 0xFFFF << 48, 0xFFFFFFFF << 32, 0xFFFFFFFFFFFF << 16,
                     0xFFFFFFFFFFFFFFFF], dtype=np.uint64)


@intrinsic
def _store_le64(typingctx, buf, offset, value):
    """Store ``value`` as 8 little-endian bytes at any ``offset`` of a uint8 array."""
    sig = types.void(buf, types.intp, types.int64)

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.bitcast(builder.gep(array.data, [args[1]]), ir.IntType(64).as_pointer())
        val = args[2]
        if sys.byteorder == 'big':
            val = builder.bswap(val)
        builder.store(val, ptr, align=1)
        return context.get_dummy_value()
    return sig, codegen


@njit_inline
def _put_event(out, m, x, y, p, t):
    """Write event ``m`` into the byte buffer ``out`` (x, y, p first, then t over the rest)."""
    o = m * EVENT_BYTES
    _store_le64(out, o, x | (y << 16) | (p << 32))
    _store_le64(out, o + 5, t)


@njit_inline
def _put_trigger(out, k, channel, edge, t):
    """Write trigger ``k`` into the byte buffer ``out``, counting records from its end."""
    o = out.shape[0] - (k + 1) * TRIGGER_BYTES
    _store_le64(out, o, channel | (edge << 8))
    _store_le64(out, o + 2, t)


@njit
def _move_triggers(out, m, nt):
    """Put the ``nt`` triggers (stored from the end of ``out``, last first) after event ``m``."""
    top = out.shape[0]
    for k in range(nt // 2):   # reverse the records in place: first trigger first
        a = top - (k + 1) * TRIGGER_BYTES
        b = top - (nt - k) * TRIGGER_BYTES
        for j in range(TRIGGER_BYTES):
            tmp = out[a + j]
            out[a + j] = out[b + j]
            out[b + j] = tmp
    src = top - nt * TRIGGER_BYTES
    dst = m * EVENT_BYTES
    for j in range(nt * TRIGGER_BYTES):   # forward: dst < src, so overlap is harmless
        out[dst + j] = out[src + j]


@njit
def _popcount12(v):
    v = v - ((v >> 1) & 0x555)
    v = (v & 0x333) + ((v >> 2) & 0x333)
    v = (v + (v >> 4)) & 0x0F0F
    return (v & 0xF) + ((v >> 8) & 0xF)


@njit_inline
def _popcount64(v):
    """Count the set bits of a uint64 (LLVM turns this into one popcnt where it can)."""
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = ((v & np.uint64(0x3333333333333333))
         + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333)))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((v * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit_inline
def evt3_buffer_bytes(n_events, n_triggers):
    """Return the bytes an evt3_decode buffer needs for these many events and triggers."""
    return (n_events + 1) * EVENT_BYTES + n_triggers * TRIGGER_BYTES


@njit
def evt3_bound(words):
    """
    Return upper bounds on the CD events and the triggers among ``words``.

    An ADDR_X word gives at most one event, a VECT_12 twelve and a VECT_8 eight.
    The sums run in int16 over blocks of 2048 words (at most 12 x 2048 < 2**15), so
    that the compiler packs 16 or 32 words in a vector register (in int64 the
    loop was 4x slower).
    """
    n = words.shape[0]
    n_ev = 0
    n_trig = 0
    for b in range(0, n, 2048):
        e = np.int16(0)
        t = np.int16(0)
        for k in range(b, min(b + 2048, n)):
            c = words[np.uint64(k)] >> np.uint16(12)
            e = np.int16(e + np.int16(c == 2) + np.int16(12) * np.int16(c == 4)
                         + np.int16(8) * np.int16(c == 5))
            t = np.int16(t + np.int16(c == 10))
        n_ev += e
        n_trig += t
    return n_ev, n_trig


@njit
def _evt3_words(words, lo, end, state, out, y, low, high, m, nt, m_vec):
    """
    Decode ``words[lo:end]`` (no ADDR_X among them, and a valid time) word by word.

    The slow path of :func:`evt3_decode` (a separate function, not inlined: it
    keeps the hot loop's registers free). ``high`` | ``low`` is the time in ticks.
    Vector base and polarity and the counters are read and written in ``state``.
    Return the new ``(y, low, high, m, nt, m_vec)``; ``m_vec`` counts the events
    kept from vector words.
    """
    width = state[S_WIDTH]
    height = state[S_HEIGHT]
    t = (high | low) * state[S_TIME_MULT]
    for j in range(lo, end):
        w = np.int64(words[np.uint64(j)])
        code = w >> 12
        if code == 6:
            low = w & 0xFFF
            t = (high | low) * state[S_TIME_MULT]
        elif code == 0:
            y = w & 0x7FF
        elif code == 8:
            v = w & 0xFFF
            if ((high >> 12) & 0xFFF) - v > MIN_BACKWARDS:
                high += 1 << 24
            high = (high & ~np.int64(0xFFFFFF)) | (v << 12)
            t = (high | low) * state[S_TIME_MULT]
        elif code == 10:
            _put_trigger(out, nt, (w >> 8) & 0xF, w & 1, t)
            nt += 1
        elif code == 3:
            state[S_BASE_X] = w & 0x7FF
            state[S_POL] = (w >> 11) & 1
        elif code == 4 or code == 5:
            span = 12 if code == 4 else 8
            mask = w & ((1 << span) - 1)
            base_x = state[S_BASE_X]
            pol = state[S_POL]
            y_ok = y < height
            while mask:
                b = _popcount12((mask & -mask) - 1)
                mask &= mask - 1
                x = base_x + b
                if x < width and y_ok:
                    _put_event(out, m, x, y, pol, t)
                    m += 1
                    m_vec += 1
                else:
                    state[S_OUT_OF_RANGE] += 1
            state[S_BASE_X] = base_x + span
        else:
            state[S_UNKNOWN] += (UNKNOWN_CODES >> code) & 1
    return y, low, high, m, nt, m_vec


@njit
def _evt3_before_time(words, state):
    """
    Read words until a TIME_HIGH and then a TIME_LOW were seen (or to the end).

    The words only update the state (y, time, vector base) and count the events
    they drop. Return the index of the first word not read.
    """
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
    i = 0
    n_words = words.shape[0]
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
    state[S_Y] = y
    state[S_LOW] = low
    state[S_HIGH] = high
    state[S_BASE_X] = base_x
    state[S_POL] = pol
    state[S_VALID] = valid
    state[S_HAVE_HIGH] = have_high
    state[S_UNKNOWN] += n_unknown
    state[S_BEFORE_TIME] += n_before
    return i


@njit_inline
def _load4(words, j):
    """Return words j-4 .. j-1 as one uint64, word j-1 in bits 63..48 (j >= 4)."""
    return (np.uint64(words[j - np.uint64(4)])
            | (np.uint64(words[j - np.uint64(3)]) << np.uint64(16))
            | (np.uint64(words[j - np.uint64(2)]) << np.uint64(32))
            | (np.uint64(words[j - np.uint64(1)]) << np.uint64(48)))


@njit
def evt3_decode(words, state, out):
    """
    Decode EVT 3.0 ``words`` (uint16) into CD events and triggers.

    Words before the first complete time (a TIME_HIGH and then a TIME_LOW) only
    update the state and count what they drop. After that, the decoder goes from
    one ADDR_X word to the next: each block of 64 words gives a bit mask of its
    ADDR_X words (a loop the compiler vectorises), and the words between two of
    them (the gap) are decoded without branches when they follow the common
    pattern: up to six TIME_HIGH words equal to the current one, then a TIME_LOW,
    then an ADDR_Y, each optional but in this order (the 4 or 8 words before the
    ADDR_X are read as one or two uint64 and compared under a mask, see
    ``PATTERN_MASK``). On the real recording 98.6 % of the gaps are like that;
    the others (triggers, vectors, other words, a TIME_HIGH that changes) go
    word by word through :func:`_evt3_words`. A plain loop that branches on each
    word's type mispredicted the type of the word after each event (TIME_LOW,
    TIME_HIGH or ADDR_Y, 1.75 bits of entropy per event) and ran 1.5-1.7x slower.

    ``out`` is one uint8 buffer. Event ``m`` (an EVENT_DTYPE record,
    ``EVENT_BYTES``) is written at byte 13 m, and ``m`` advances only if the event
    lies inside width x height (so the buffer needs one spare event). Trigger ``k``
    (a TRIGGER_DTYPE record) is written at the end of the buffer, the first last;
    at the end the triggers are moved, in order, right after the events, so that
    the caller copies the first 13 m + 10 nt bytes once and reads both from them.

    ``state`` (see ``S_*``) carries y, time, vector base, polarity and the
    counters across calls, and holds the sensor width and height and the ns per
    tick (few arguments: each costs time in every call from Python; uint8 arrays
    are typed by numba's dispatcher 2-3x faster than structured ones). ``out``
    needs :func:`evt3_buffer_bytes` of the counts :func:`evt3_bound` gives. That
    count is skipped when it holds the worst case (12 events and one trigger per
    word) or when ``state[S_CHECKED]`` is 1 (the caller sized it from a previous
    refusal; the flag is cleared). If it is too short, nothing is decoded and
    ``(-(events_bound + 1), -triggers_bound)`` is returned (the first is always
    negative). Otherwise return the numbers of CD events and triggers written.
    """
    n_words = words.shape[0]
    if state[S_CHECKED] == 0 and out.shape[0] < evt3_buffer_bytes(12 * n_words, n_words):
        n_ev, n_trig = evt3_bound(words)
        if out.shape[0] < evt3_buffer_bytes(n_ev, n_trig):
            return -(n_ev + 1), -n_trig
    state[S_CHECKED] = 0
    high_start = state[S_HIGH]
    i = 0
    if state[S_VALID] == 0:
        i = _evt3_before_time(words, state)
    width = state[S_WIDTH]
    height = state[S_HEIGHT]
    time_mult = state[S_TIME_MULT]
    high = state[S_HIGH]
    yl = (state[S_Y] << 16) | state[S_LOW]   # y in bits 26..16, TIME_LOW in 11..0
    # The expected words: TIME_LOW type in bits 47..44, the current TIME_HIGH in
    # both lower words (and, as hw4, in all four words of the second window).
    expect = np.uint64(0x6000 << 32) | np.uint64((0x8000 | ((high >> 12) & 0xFFF)) * 0x10001)
    m = 0
    nt = 0
    m_vec = 0
    n_x = 0
    prev = i - 1   # the last ADDR_X word decoded (or the word before the first)
    for b in range(i, n_words, 64):
        mask = np.uint64(0)
        if n_words - b >= 64:
            for k in range(64):
                mask |= np.uint64((words[np.uint64(b + k)] >> 12) == 2) << np.uint64(k)
        else:
            for k in range(n_words - b):
                mask |= np.uint64((words[np.uint64(b + k)] >> 12) == 2) << np.uint64(k)
        n_x += _popcount64(mask)
        while mask:
            j = b + trailing_zeros(mask)
            mask &= mask - np.uint64(1)
            g = j - prev - 1
            uj = np.uint64(j)
            fast = False
            if g <= 8 and j >= 8:
                q = _load4(words, uj)
                gm = GAP_MASK[np.uint64(min(g, 4))]
                fast = ((q ^ expect) & PATTERN_MASK & gm) == np.uint64(0)
                if g > 4:
                    hw4 = (expect & np.uint64(0xFFFFFFFF)) * np.uint64(0x100000001)
                    fast = fast and (((_load4(words, uj - np.uint64(4)) ^ hw4)
                                      & GAP_MASK[np.uint64(g - 4)]) == np.uint64(0))
            if fast:
                # ADDR_Y (g >= 1) and TIME_LOW (g >= 2) are the words j-1 and j-2.
                sel = np.int64(gm >> np.uint64(32)) & 0x07FF0FFF
                yl = (yl & ~sel) | (np.int64(q >> np.uint64(32)) & sel)
            else:
                y, low, high, m, nt, m_vec = _evt3_words(words, prev + 1, j, state, out,
                                                         yl >> 16, yl & 0xFFF, high, m, nt,
                                                         m_vec)
                yl = (y << 16) | low
                expect = (np.uint64(0x6000 << 32)
                          | np.uint64((0x8000 | ((high >> 12) & 0xFFF)) * 0x10001))
            w = np.int64(words[uj])
            x = w & 0x7FF
            y = yl >> 16
            _put_event(out, m, x, y, (w >> 11) & 1, (high | (yl & 0xFFF)) * time_mult)
            m += np.int64(x < width) & np.int64(y < height)
            prev = j
    y, low, high, m, nt, m_vec = _evt3_words(words, prev + 1, n_words, state, out,
                                             yl >> 16, yl & 0xFFF, high, m, nt, m_vec)
    state[S_WRAPS] += (high >> 24) - (high_start >> 24)
    state[S_Y] = y
    state[S_LOW] = low
    state[S_HIGH] = high
    state[S_OUT_OF_RANGE] += n_x - (m - m_vec)
    if nt:
        _move_triggers(out, m, nt)
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
