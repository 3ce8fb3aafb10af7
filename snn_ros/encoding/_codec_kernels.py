"""
Numba kernels of the event-camera codecs (``evt3`` and ``mono``).

The public wrappers live in :mod:`snn_ros.encoding.codecs`; these functions take
arrays and scalars only. Word layouts are described there, once.
"""

import sys

from llvmlite import ir
from numba.core import types
from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros
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
EVT3_STATE_LEN = 14

MIN_BACKWARDS = 10  # a TIME_HIGH going back by more than this many counts is a wrap
# Bit c set: word type c is unknown (1 9 11 12 13): skipped and counted.
UNKNOWN_CODES = 0b0011101000000010


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


@intrinsic
def _block_masks(typingctx, words, start, high_word, width, height):
    """
    Return bit masks of the word classes among the 64 words from ``start``.

    Bit k is word ``start + k``. The masks: ADDR_X, ADDR_Y, TIME_LOW, TIME_HIGH equal
    to ``high_word``, every other word, and the ADDR_X with x >= ``width`` and ADDR_Y
    with y >= ``height``. Written as 64-lane vector compares, which LLVM turns into
    a few SIMD instructions per class (numba's loop vectoriser needed 2 per word).
    """
    if words.layout != 'C':   # read as one vector: the words must be contiguous
        return None
    sig = types.UniTuple(types.uint64, 6)(words, types.intp, types.int64, types.int64,
                                          types.int64)

    def codegen(context, builder, signature, args):
        i16 = ir.IntType(16)
        vec = ir.VectorType(i16, 64)
        array = context.make_array(signature.args[0])(context, builder, args[0])
        v = builder.load(builder.bitcast(builder.gep(array.data, [args[1]]), vec.as_pointer()),
                         align=2)

        def splat(c):
            return ir.Constant(vec, [ir.Constant(i16, c)] * 64)

        def broadcast(value):
            undef = ir.Constant(vec, ir.Undefined)
            lane = builder.insert_element(undef, builder.trunc(value, i16),
                                          ir.Constant(ir.IntType(32), 0))
            return builder.shuffle_vector(lane, undef,
                                          ir.Constant(ir.VectorType(ir.IntType(32), 64), [0] * 64))

        code = builder.lshr(v, splat(12))
        addr = builder.and_(v, splat(0x7FF))
        is_x = builder.icmp_unsigned('==', code, splat(2))
        is_y = builder.icmp_unsigned('==', code, splat(0))
        is_low = builder.icmp_unsigned('==', code, splat(6))
        is_high = builder.icmp_unsigned('==', v, broadcast(args[2]))
        other = builder.not_(builder.or_(builder.or_(is_x, is_y), builder.or_(is_low, is_high)))
        outside = builder.or_(
            builder.and_(is_x, builder.icmp_unsigned('>=', addr, broadcast(args[3]))),
            builder.and_(is_y, builder.icmp_unsigned('>=', addr, broadcast(args[4]))))
        masks = [builder.bitcast(m, ir.IntType(64))
                 for m in (is_x, is_y, is_low, is_high, other, outside)]
        return context.make_tuple(builder, signature.return_type, masks)
    return sig, codegen


@intrinsic
def _event_head(typingctx, words, j):
    """
    Return ``x | y << 16 | p << 32`` of the ADDR_Y and ADDR_X words ``j - 1``, ``j``.

    One 32-bit load and a rotate (the ADDR_X word first) give x and y in place.
    """
    if words.layout != 'C':
        return None
    sig = types.int64(words, types.intp)

    def codegen(context, builder, signature, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        array = context.make_array(signature.args[0])(context, builder, args[0])
        at = builder.sub(args[1], ir.Constant(args[1].type, 1))
        v = builder.load(builder.bitcast(builder.gep(array.data, [at]), i32.as_pointer()),
                         align=2)
        if sys.byteorder == 'little':
            v = builder.or_(builder.shl(v, ir.Constant(i32, 16)),
                            builder.lshr(v, ir.Constant(i32, 16)))
        xy = builder.zext(builder.and_(v, ir.Constant(i32, 0x07FF07FF)), i64)
        p = builder.zext(builder.and_(v, ir.Constant(i32, 0x800)), i64)
        return builder.or_(xy, builder.shl(p, ir.Constant(i64, 21)))
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
def _last_before(words, b, mask, below, old, keep):
    """Return the last word of ``mask & below`` in the window at ``b``, & ``keep``; or ``old``."""
    sel = mask & below
    w = np.int64(words[np.uint64(b + 63 - leading_zeros(sel | np.uint64(1)))]) & keep
    return w if sel else old


@njit
def _scalar_masks(words, b, n, high_word, width, height):
    """Return the masks of :func:`_block_masks` for the ``n`` < 64 words from ``b``."""
    mx = my = ml = mh = mo = mout = np.uint64(0)
    for k in range(n):
        w = np.int64(words[np.uint64(b + k)])
        c = w >> 12
        bit = np.uint64(1) << np.uint64(k)
        if c == 2:
            mx |= bit
            if (w & 0x7FF) >= width:
                mout |= bit
        elif c == 0:
            my |= bit
            if (w & 0x7FF) >= height:
                mout |= bit
        elif c == 6:
            ml |= bit
        elif w == high_word:
            mh |= bit
        else:
            mo |= bit
    return mx, my, ml, mh, mo, mout


@njit
def evt3_decode(words, state, out):
    """
    Decode EVT 3.0 ``words`` (uint16) into CD events and triggers.

    Words before the first complete time (a TIME_HIGH and then a TIME_LOW) only
    update the state and count what they drop. After that, the words are read in
    windows of 64 (each starts 4 words before the first new word): vector
    compares give a bit mask per word class (:func:`_block_masks`), and the
    decoder jumps from one ADDR_X bit to the next. On the real recording 98.6 % of
    the events follow a common pattern that a few mask operations per window
    mark: the previous ADDR_X, TIME_HIGH words equal to the current one, a
    TIME_LOW, an ADDR_Y and the ADDR_X, or just ADDR_X, ADDR_Y, ADDR_X. Such an
    event costs 23 instructions and no unpredictable branch: its TIME_LOW
    (or the previous ADDR_X) is the word 2 before it, its x, y and polarity are
    one 32-bit load. For any other event, y and TIME_LOW are the last ADDR_Y and
    TIME_LOW words before it (a leading-zero count of the masks); the other
    words (triggers, vectors, a TIME_HIGH that changes, unknown codes) go word by
    word through :func:`_evt3_words`, and after a TIME_HIGH change the window is
    read again from the event on. A plain loop over the words mispredicts the
    type of the word after each event (1.75 bits of entropy per event); the
    previous decoder, which checked each gap between two events against the
    pattern, ran 1.6-1.7x slower.

    ``out`` is one uint8 buffer of :func:`evt3_buffer_bytes` of the counts
    :func:`evt3_bound` gives. Event ``m`` (an EVENT_DTYPE record, ``EVENT_BYTES``) is
    written at byte 13 m, and ``m`` advances only if the event lies inside width x
    height (so the buffer needs one spare event). Trigger ``k`` (a TRIGGER_DTYPE
    record) is written at the end of the buffer, the first last; at the end the
    triggers are moved, in order, right after the events, so that both are read
    from the first 13 m + 10 nt bytes.

    ``state`` (see ``S_*``) carries y, time, vector base, polarity and the
    counters across calls, and holds the sensor width and height and the ns per
    tick. Return the numbers of CD events and triggers written.
    """
    n_words = words.shape[0]
    high_start = state[S_HIGH]
    b = 0   # the first word not decoded yet
    if state[S_VALID] == 0:
        b = _evt3_before_time(words, state)
    width = state[S_WIDTH]
    height = state[S_HEIGHT]
    time_mult = state[S_TIME_MULT]
    high = state[S_HIGH]
    y = state[S_Y]
    tick = high | state[S_LOW]
    one = np.uint64(1)
    m = 0
    nt = 0
    m_vec = 0
    n_x = 0
    while b < n_words:
        high_word = 0x8000 | ((high >> 12) & 0xFFF)
        ws = max(min(b - 4, n_words - 64), 0)   # the last window ends at the last word
        n = min(n_words - ws, 64)
        if n == 64:
            mx, my, ml, mh, mo, mout = _block_masks(words, ws, high_word, width, height)
        else:
            mx, my, ml, mh, mo, mout = _scalar_masks(words, ws, n, high_word, width, height)
        # Common pattern at bit k: ADDR_Y at k-1, and ADDR_X at k-2, or TIME_LOW at k-2
        # after a run of equal TIME_HIGH words that starts right after an ADDR_X. The
        # run is found by an addition that carries through it. Events outside the
        # sensor are left to the general path, which checks them.
        reach = mx | (mh & ~(mh + ((mx << one) & mh)))
        common = (my << one) & ((mx << np.uint64(2)) | ((ml & (reach << one)) << np.uint64(2)))
        common &= ~(np.uint64(7) | (mout & mx) | ((mout & my) << one))
        new = ~((one << np.uint64(b - ws)) - one)
        mx &= new
        mo &= new
        n_x += _popcount64(mx)
        end = ws + n
        low_base = high - 0x6000   # plus a TIME_LOW word: the tick
        while True:
            stop = np.uint64(64)   # the bit of an ADDR_X with other words before it, if any
            while mx:
                jr = trailing_zeros(mx)
                j = ws + jr
                if (common >> np.uint64(jr)) & one:
                    # y is not kept: a later lookup in the masks finds this ADDR_Y
                    w = np.int64(words[np.uint64(j - 2)])
                    tick = low_base + w if w & 0x4000 else tick   # TIME_LOW, or ADDR_X
                    mx &= mx - one
                    o = m * EVENT_BYTES
                    _store_le64(out, o, _event_head(words, j))
                    _store_le64(out, o + 5, tick * time_mult)
                    m += 1
                    continue
                below = (one << np.uint64(jr)) - one
                if mo & below:
                    stop = jr
                    break
                y = _last_before(words, ws, my, below, y, 0x7FF)
                tick = high | _last_before(words, ws, ml, below, tick & 0xFFF, 0xFFF)
                w = np.int64(words[np.uint64(j)])
                x = w & 0x7FF
                mx &= mx - one
                o = m * EVENT_BYTES
                _store_le64(out, o, x | (y << 16) | ((w & 0x800) << 21))
                _store_le64(out, o + 5, tick * time_mult)
                m += np.int64(x < width) & np.int64(y < height)
            # The other words before bit stop (or after the last ADDR_X), word by word.
            below = (one << np.uint64(stop)) - one if stop < 64 else ~np.uint64(0)
            if mo & below:
                r = trailing_zeros(mo)
                start_bits = (one << np.uint64(r)) - one
                y = _last_before(words, ws, my, start_bits, y, 0x7FF)
                low = _last_before(words, ws, ml, start_bits, tick & 0xFFF, 0xFFF)
                old_high = high
                y, low, high, m, nt, m_vec = _evt3_words(words, ws + r, min(ws + stop, end),
                                                         state, out, y, low, high, m, nt, m_vec)
                tick = high | low
                low_base = high - 0x6000
                mo &= ~below
                if stop < 64 and high != old_high:   # read again with the new TIME_HIGH
                    n_x -= _popcount64(mx)
                    end = ws + stop
                    break
            if stop == 64:
                y = _last_before(words, ws, my, below, y, 0x7FF)
                tick = high | _last_before(words, ws, ml, below, tick & 0xFFF, 0xFFF)
                break
        b = end
    state[S_WRAPS] += (high >> 24) - (high_start >> 24)
    state[S_Y] = y
    state[S_LOW] = tick & 0xFFF
    state[S_HIGH] = high
    state[S_OUT_OF_RANGE] += n_x - (m - m_vec)
    if nt:
        _move_triggers(out, m, nt)
    return m, nt


@intrinsic
def _mulhi64(typingctx, a, b):
    """Return the high 64 bits of the 128-bit product of two uint64 (one ``mul``)."""
    sig = types.uint64(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        return builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))
    return sig, codegen


@njit_inline
def _divider(d):
    """
    Return ``(magic, s1, s2)`` that divide uint64 by ``d`` >= 1 with a multiplication.

    Granlund and Montgomery (1994), "Division by invariant integers using
    multiplication", fig. 4.1: with l = ceil(log2 d), magic = floor(2**64 (2**l - d)
    / d) + 1, s1 = min(l, 1), s2 = max(l - 1, 0). A 64-bit division costs 10-15 ns
    of latency per event in the encoder; this costs 2-3.
    """
    d = np.uint64(d)
    one = np.uint64(1)
    ln = 0
    while ln < 63 and (one << np.uint64(ln)) < d:
        ln += 1
    if (one << np.uint64(ln)) < d:   # d > 2**63
        ln = 64
    rem = (one << np.uint64(ln)) - d if ln < 64 else np.uint64(0) - d   # < d
    q = np.uint64(0)
    for _ in range(64):   # floor(rem * 2**64 / d), bit by bit, without branches
        top = rem >> np.uint64(63)
        rem = rem << one
        ge = top | np.uint64(rem >= d)
        rem -= d * ge
        q = (q << one) | ge
    return q + one, np.uint64(min(ln, 1)), np.uint64(max(ln - 1, 0))


@njit_inline
def _div(n, magic, s1, s2):
    """Return ``n // d`` for int64 ``n`` >= 0, with ``(magic, s1, s2)`` from :func:`_divider`."""
    u = np.uint64(n)
    hi = _mulhi64(magic, u)
    return np.int64((hi + ((u - hi) >> s1)) >> s2)


@njit
def evt3_decode_packet(data, state):
    """
    Decode one packet's bytes (uint8, even length) with :func:`evt3_decode`.

    The output buffer is allocated here, sized by :func:`evt3_bound` (a vectorised
    pass, 0.1 ns per word), so that one call from Python does everything: each
    argument and each returned array costs 0.3-1 us in numba's dispatcher, as much
    as decoding 100 words. Return ``(buffer, events, triggers)``: the records are
    in its first ``13 events + 10 triggers`` bytes.
    """
    words = np.ascontiguousarray(data).view(np.uint16)
    n_ev, n_trig = evt3_bound(words)
    out = np.empty(evt3_buffer_bytes(n_ev, n_trig), dtype=np.uint8)
    m, nt = evt3_decode(words, state, out)
    return out, m, nt


@njit
def _bridge(out, k, last_high, h):
    """Write TIME_HIGH words in steps of 2048 counts from ``last_high`` towards ``h``."""
    while h - last_high >= 2048:
        last_high += 2048
        out[np.uint64(k)] = 0x8000 | (last_high & 0xFFF)
        k += 1
    return k, last_high


@njit_inline
def _put_time(out, k, last_high, tick):
    """
    Write the words that move the time to ``tick``; return ``(k, high)``.

    TIME_HIGH steps of 2048 counts bridge gaps of 2**23 ticks or more (half the
    24-bit range), so that a decoder sees each wrap; a TIME_HIGH equal to the last
    one is left out. The TIME_LOW is always written.
    """
    h = tick >> 12
    if h != last_high:
        if h - last_high >= 2048:
            k, last_high = _bridge(out, k, last_high, h)
        out[np.uint64(k)] = 0x8000 | (h & 0xFFF)
        k += h != last_high
    out[np.uint64(k)] = 0x6000 | (tick & 0xFFF)
    return k + 1, h


@njit
def _put_triggers(out, k, triggers, j, before, last_high, last_tick, trig_tick, div):
    """
    Write the triggers from ``j`` on whose tick is below ``before``.

    ``trig_tick`` is the tick of trigger ``j``; each next trigger is checked (time
    sorted and <= the last one, id < 16) before it is used. Return ``(k, j,
    last_high, last_tick, trig_tick)``, with ``j`` = -1 at a bad trigger.
    """
    magic, s1, s2 = div
    m = triggers.shape[0]
    while trig_tick < before:
        if trig_tick != last_tick:
            k, last_high = _put_time(out, k, last_high, trig_tick)
            last_tick = trig_tick
        tr = triggers[j]
        out[np.uint64(k)] = 0xA000 | ((np.int64(tr.id) & 0xF) << 8) | (np.int64(tr.edge) & 1)
        k += 1
        j += 1
        trig_tick = np.int64(0x7FFFFFFFFFFFFFFF)
        if j < m:
            nxt = triggers[j]
            if not (tr.t <= nxt.t <= triggers[m - 1].t and nxt.id <= 15):
                return k, -1, last_high, last_tick, trig_tick
            trig_tick = _div(nxt.t, magic, s1, s2)
    return k, j, last_high, last_tick, trig_tick


@njit
def evt3_encode(events, triggers, time_mult):
    """
    Encode CD events and triggers (both sorted by time) as EVT 3.0 words, in one pass.

    Ticks are ``t // time_mult``; a trigger goes before the events of later ticks.
    Runs of at least three events with equal tick, row and polarity and strictly
    increasing x within 12 columns become VECT_BASE_X + VECT_12. Polarity is 1
    where ``p`` is not 0. The output is allocated for the worst case (4 words per
    event, 3 per trigger and the bridging TIME_HIGH words), which holds for sorted
    times only: so each record is checked (time sorted, >= 0 and <= the last one;
    x, y < 2048; trigger id < 16) before any of its words is written. Return the
    words as bytes and False, or an empty array and True at the first bad record.

    The tick is only computed (by a multiplication, see :func:`_divider`) when an
    event leaves the current tick, and a vector run is only looked for when the
    next event shares the tick. Rare work (triggers, bridging TIME_HIGH words) is
    in functions that are not inlined, which keeps the loop's values in registers.
    """
    n = events.shape[0]
    m = triggers.shape[0]
    big = np.int64(0x7FFFFFFFFFFFFFFF)
    t_last = events[n - 1].t if n else np.int64(0)
    trig_last = triggers[m - 1].t if m else np.int64(0)
    first = min(events[0].t if n else big, triggers[0].t if m else big)
    h_first = max(first, 0) // time_mult >> 12
    h_last = max(t_last, trig_last, 0) // time_mult >> 12
    out = np.empty(4 * n + 3 * m + max(h_last - h_first, 0) // 2048 + 1, dtype=np.uint16)
    none = out[:0].view(np.uint8)
    div = _divider(time_mult)
    magic, s1, s2 = div
    tick_max = (big - time_mult) // time_mult   # (tick + 1) * time_mult overflows beyond
    k = 0
    if n + m:
        out[0] = 0x8000 | (h_first & 0xFFF)
        k = 1
    last_high = h_first
    last_tick = np.int64(-1)
    tick_end = np.int64(0)   # the first ns after the current tick
    cur_y = np.int64(-1)
    prev_t = np.int64(0)
    j = 0
    trig_tick = big
    if m:
        if not (0 <= triggers[0].t <= trig_last and triggers[0].id <= 15):
            return none, True
        trig_tick = _div(triggers[0].t, magic, s1, s2)
    i = 0
    while i < n:
        e = events[np.uint64(i)]
        t = e.t
        y = np.int64(e.y)
        base = np.int64(e.x)
        if t < prev_t or t > t_last or (base | y) >= 2048:
            return none, True
        if t >= tick_end:
            tick = _div(t, magic, s1, s2)
            if trig_tick < tick:   # the triggers of earlier ticks go first
                k, j, last_high, last_tick, trig_tick = _put_triggers(
                    out, k, triggers, j, tick, last_high, last_tick, trig_tick, div)
                if j < 0:
                    return none, True
            k, last_high = _put_time(out, k, last_high, tick)
            last_tick = tick
            tick_end = big if tick >= tick_max else (tick + 1) * time_mult
        out[np.uint64(k)] = y   # written always, kept if the row changes
        k += y != cur_y
        cur_y = y
        pol = np.int64(e.p != 0)
        q = i + 1
        if q < n and events[np.uint64(q)].t < tick_end:
            mask = 1
            last_x = base
            x_end = min(base + 12, 2048)
            prev_t = t
            while q < n:
                f = events[np.uint64(q)]
                xq = np.int64(f.x)
                if not (prev_t <= f.t < tick_end and np.int64(f.y) == y
                        and np.int64(f.p != 0) == pol and last_x < xq < x_end):
                    break
                prev_t = f.t
                last_x = xq
                mask |= 1 << (xq - base)
                q += 1
            if q - i >= 3:
                out[np.uint64(k)] = 0x3000 | (pol << 11) | base
                out[np.uint64(k + 1)] = 0x4000 | mask
                k += 2
                i = q
                continue
        prev_t = t
        out[np.uint64(k)] = 0x2000 | (pol << 11) | base
        k += 1
        i += 1
    if j < m:
        k, j, last_high, last_tick, trig_tick = _put_triggers(
            out, k, triggers, j, big, last_high, last_tick, trig_tick, div)
        if j < 0:
            return none, True
    return out[:k].view(np.uint8), False


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


@intrinsic
def _load_le64(typingctx, buf, offset):
    """Load 8 little-endian bytes at any ``offset`` of a uint8 array, as uint64."""
    sig = types.uint64(buf, types.intp)

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.bitcast(builder.gep(array.data, [args[1]]), ir.IntType(64).as_pointer())
        val = builder.load(ptr, align=1)
        if sys.byteorder == 'big':
            val = builder.bswap(val)
        return val
    return sig, codegen


@njit
def mono_encode(raw, time_base, out):
    """
    Pack events (EVENT_DTYPE records as bytes) into ``mono`` words.

    Return the index of the first event with y >= 2**15 or a time outside
    [time_base, time_base + 2**32), or -1. One 8-byte load at the record's start
    gives x | y << 16 in its low half, already in the word's order, and one at byte
    5 the time; both checks are one test: x | y << 16 must fit in 31 bits and the
    unsigned t - time_base in 32. (Checking y in a separate numpy pass read the
    events twice and took 30 % of the time.)
    """
    low = np.uint64(0xFFFFFFFF)
    for i in range(out.shape[0]):
        o = i * EVENT_BYTES
        xy = _load_le64(raw, o) & low
        dt = _load_le64(raw, o + 5) - np.uint64(time_base)
        if (dt | (xy << np.uint64(1))) > low:
            return i
        out[i] = (np.uint64(raw[o + 4] != 0) << np.uint64(63)) | (xy << np.uint64(32)) | dt
    return -1


@njit
def shift_times(t, offset, lo, hi):
    """Add ``offset`` to the times ``t`` in place; return how many then lie outside [lo, hi]."""
    outside = 0
    for k in range(t.shape[0]):
        v = t[k] + offset
        t[k] = v
        outside += (v < lo) | (v > hi)
    return outside
