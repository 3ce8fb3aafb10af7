"""Numba kernels of the frame-to-event emulator (model in :mod:`snn_ros.encoding.emulator`)."""

from numba.core import types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic
import numpy as np

from snn_ros.core.jit import njit, njit_inline

# Rows of the per-pixel state array (shape (STATE_COLS, n_pixels), float32: one
# contiguous row per quantity, which lets the compiler vectorise the pixel pass). The
# last (filtered) log intensity of each pixel is a separate float32 array, written
# every frame; the end of each pixel's refractory period [s since the first frame]
# is a float64 array read only for pixels that cross a threshold.
C_REF = 0       # reference level
C_ON = 1        # ON threshold of this pixel
C_OFF = 2       # OFF threshold of this pixel
STATE_COLS = 3

# Entries of the settings array handed to the kernel (float64).
P_T0 = 0        # interval start [s since the first frame]
P_T1 = 1        # interval end [s since the first frame]
P_REFR = 2      # refractory period [s]
P_LEAK = 3      # leak rate [Hz]
P_CUTOFF = 4    # photoreceptor cut-off at full scale [Hz], 0 = off
P_DARK = 5      # dark level [DN]
P_LEN = 6

# Rows of the lists of pixels that may fire (emulate_levels writes them, emulate_events
# reads them): float64 rows, then float32 rows, one entry per listed pixel.
A_D0 = 0        # difference to the reference at the interval start
A_SLOPE = 1     # slope of the difference [1/s]
A_INV = 2       # 1 / slope (0 for a flat difference)
A_F64_ROWS = 3
A_ON = 0        # ON threshold
A_OFF = 1       # OFF threshold
A_REF = 2       # reference level
A_F32_ROWS = 3

MAX_EVENTS_PER_PIXEL = 10000

# emulate_events takes the list CHUNK pixels at a time through staging rows (in L1):
# float64 S_* and int64 I_*.
CHUNK = 256
S_READY, S_TC, S_SHIFT, S_ROWS = range(4)
I_DT1, I_DT2, I_P1, I_P2, I_FIRED, I_ROWS = range(6)

# Set in the sort keys of frame intervals under 2**29 ns (0.54 s): the keys are then
# below 2**62, and read as float64 they are positive normal numbers (exponent field
# in [0x200, 0x3FF], never 0 (subnormal, which a flush-to-zero mode would compare
# as 0) nor 0x7FF (inf, NaN)), whose numeric order is the order of their bits.
# numpy sorts float64 faster than int64 (0.59 against 0.72 ms for 74,000 keys).
FLOAT_KEY_BIAS = 1 << 61
FLOAT_KEY_SPAN_NS = 1 << 29


@njit
def luma_image(frame, weights, out):
    """Write the integer luma (sum_k w_k v_k + 128) >> 8 of an (h, w, 3) frame."""
    for r in range(frame.shape[0]):
        for c in range(frame.shape[1]):
            out[r, c] = (weights[0] * np.int64(frame[r, c, 0]) + weights[1]
                         * np.int64(frame[r, c, 1]) + weights[2] * np.int64(frame[r, c, 2])
                         + 128) >> 8


@njit
def init_state(image, lut, level, state, ready):
    """Set every pixel's log level from the first frame (reference = level)."""
    w = image.shape[1]
    for r in range(image.shape[0]):
        for c in range(w):
            i = r * w + c
            v = lut[image[r, c]]
            level[i] = v
            state[C_REF, i] = v
            ready[i] = -1e300


@njit
def emulate_levels(image, lut, level, state, settings, active, active_f64, active_f32):
    """
    First pass over every pixel: new log level, and the pixels that may fire.

    ``image`` holds LUT indices (h, w). Writes each pixel's new (filtered) level into
    ``level``. A pixel whose difference to its reference stays strictly inside both
    thresholds at both ends of the interval cannot fire: with a leak, its reference
    drifts here and it is done. The others are listed in ``active`` as y << 17 | x << 1,
    in pixel order, with what :func:`emulate_events` needs of their state in the rows
    A_* of ``active_f64`` and ``active_f32`` (contiguous, which lets it vectorise). Each
    row takes separate loops, over views of the row indexed from 0 (with indices
    base + c, which the compiler could not prove positive, numba's wrap-around of negative
    indices turned the loads of the threshold test into gathers, a quarter of this
    pass): the LUT look-up (and low-pass); the threshold test (vectorised by the
    compiler: contiguous rows, no branch; without a leak its zero drift term is left
    out, which changes no comparison); a 64-bit mask of the pixels that may fire per 64
    columns, whose set bits are then listed (no branch on which pixels fire, and no work
    for the others: writing every pixel's entry and advancing by the test's result cost
    3x more); the copy of the new levels (a loop: numba's slice assignment took several
    times as long). The divisions come last, in one vectorised loop over the list: in
    the crossing loop each one sat on the path to a hard-to-predict branch. (Doing the
    crossings row by row, right after each row's levels, while the pixels' state is in
    cache, measured 2-7 % slower; in blocks of 8-32 rows, no faster.)
    Return the number of listed pixels.
    """
    t0 = settings[P_T0]
    t1 = settings[P_T1]
    dt = t1 - t0
    inv_dt = 1.0 / dt
    leak = settings[P_LEAK]
    cutoff = settings[P_CUTOFF]
    dark = settings[P_DARK]
    w = image.shape[1]
    scale = 255.0 / (lut.shape[0] - 1)
    lp_gain = 2.0 * np.pi * cutoff * dt / (255.0 + dark)
    refs = state[C_REF]
    ons = state[C_ON]
    offs = state[C_OFF]
    new_level = np.empty(w, dtype=np.float32)
    n_chunks = (w + 63) >> 6
    quiet = np.ones(n_chunks << 6, dtype=np.uint8)
    n = 0
    for r in range(image.shape[0]):
        base = r * w
        lv = level[base:base + w]
        rf = refs[base:base + w]
        on = ons[base:base + w]
        off = offs[base:base + w]
        if cutoff > 0.0:
            for c in range(w):
                idx = image[r, c]
                L0 = np.float64(lv[c])
                eps = lp_gain * (idx * scale + dark)
                if eps > 1.0:
                    eps = 1.0
                new_level[c] = np.float32(L0 + eps * (lut[idx] - L0))
        else:
            for c in range(w):
                new_level[c] = np.float32(lut[image[r, c]])
        if leak != 0.0:
            for c in range(w):
                L0 = np.float64(lv[c])
                L1 = np.float64(new_level[c])
                ref = np.float64(rf[c])
                th_on = np.float64(on[c])
                th_off = np.float64(off[c])
                d0 = L0 - ref
                d1 = L1 - ref + (leak * th_on) * dt
                quiet[c] = np.uint8((d0 < th_on) & (d1 < th_on) & (d0 > -th_off)
                                    & (d1 > -th_off))
            for c in range(w):
                drift = leak * np.float64(on[c])
                if drift != 0.0 and quiet[c]:
                    rf[c] = np.float64(rf[c]) - drift * dt
        else:
            for c in range(w):
                ref = np.float64(rf[c])
                th_on = np.float64(on[c])
                th_off = np.float64(off[c])
                d0 = np.float64(lv[c]) - ref
                d1 = np.float64(new_level[c]) - ref
                quiet[c] = np.uint8((d0 < th_on) & (d1 < th_on) & (d0 > -th_off)
                                    & (d1 > -th_off))
        row = np.int64(r) << 17
        for chunk in range(n_chunks):
            c0 = chunk << 6
            mask = np.uint64(0)
            for k in range(64):
                mask |= np.uint64(quiet[c0 + k] == 0) << np.uint64(k)
            while mask:
                c = c0 + trailing_zeros(mask)
                mask &= mask - np.uint64(1)
                L0 = np.float64(lv[c])
                active[n] = row | (np.int64(c) << 1)
                active_f64[A_D0, n] = L0 - np.float64(rf[c])
                active_f64[A_SLOPE, n] = ((np.float64(new_level[c]) - L0) * inv_dt
                                          + leak * np.float64(on[c]))
                active_f32[A_ON, n] = on[c]
                active_f32[A_OFF, n] = off[c]
                active_f32[A_REF, n] = rf[c]
                n += 1
        for c in range(w):
            lv[c] = new_level[c]
    slopes = active_f64[A_SLOPE]
    invs = active_f64[A_INV]
    for k in range(n):
        invs[k] = 1.0 / slopes[k] if slopes[k] != 0.0 else 0.0
    return n


@intrinsic
def _select(typingctx, cond, a, b):
    """Return ``a if cond else b`` as a select instruction (a ternary became a branch)."""
    if a != b:
        return None
    sig = a(types.boolean, a, b)

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])
    return sig, codegen


@njit_inline
def _next_event(tc, ready, shift, d0, slope, inv_slope, th, up, th_on, th_off, t0, t1):
    """
    Return ``(fires, te, pol)``: a pixel's next event after one at ``tc``, if any.

    It fires at ts = max(tc, ready) if already over a threshold (ON first), else
    where its line reaches the threshold it moves towards (a flat line never
    does), unless that is after ``t1``. Without branches; te is t0 if it does not
    fire.
    """
    ts = _select(tc > ready, tc, ready)
    d = d0 + slope * (ts - t0) - shift
    on_now = d >= th_on
    now = on_now | (d <= -th_off)
    te = _select(now, ts, ts + (th - d) * inv_slope)
    fires = ~(ts > t1) & (now | (slope != 0.0)) & ~(te > t1)
    return fires, _select(fires, te, t0), np.int64(_select(now, on_now, up))


@njit
def emulate_events(state, ready_s, settings, t0_ns, width, active, active_f64, active_f32,
                   n_active, start, bt, bv, n, key_bias):
    """
    Second pass: the threshold crossings of the listed pixels ``start``.., unsorted.

    The list (``active`` and the rows A_* of ``active_f64``, ``active_f32``) comes
    from :func:`emulate_levels`. Events go to the scratch arrays from slot ``n``:
    with ``key_bias`` >= 0 as sort keys in ``bt`` (see :func:`unpack_keys`; ``bv``
    unused), else as times in ``bt`` (int64 ns) and addresses in ``bv`` (int64
    y << 17 | x << 1 | p).

    Nearly every listed pixel fires once or twice. Each chunk of the list takes
    three loops: load the pixels' refractory ends; compute every pixel's first two
    events, the same arithmetic as one event at a time but with selects for
    branches, which the compiler vectorises; then write both candidates of each
    pixel and keep those that fire, go on one event at a time for a pixel that
    fired twice, and store its state. (One pixel at a time, a loop from event to
    event waited on its chain of dependent operations: 19 ns per listed pixel
    against 14; copying the pixels' state here rather than into the list, 16.)
    A pixel whose events would not fit is left untouched and the kernel stops.
    Return ``(n, next)``: the slots used and the next list entry (``n_active``
    when done).
    """
    t0 = settings[P_T0]
    t1 = settings[P_T1]
    dt = t1 - t0
    refr = settings[P_REFR]
    leak = settings[P_LEAK]
    cap = bt.shape[0]
    sf = np.empty((S_ROWS, CHUNK))
    si = np.empty((I_ROWS, CHUNK), np.int64)
    readys, tcs, shifts = sf[S_READY], sf[S_TC], sf[S_SHIFT]
    dt1s, dt2s, p1s, p2s, fired = si[I_DT1], si[I_DT2], si[I_P1], si[I_P2], si[I_FIRED]
    for c0 in range(start, n_active, CHUNK):
        c1 = min(c0 + CHUNK, n_active)
        keys = active[c0:c1]
        d0s = active_f64[A_D0, c0:c1]
        slopes = active_f64[A_SLOPE, c0:c1]
        invs = active_f64[A_INV, c0:c1]
        ons = active_f32[A_ON, c0:c1]
        offs = active_f32[A_OFF, c0:c1]
        refs = active_f32[A_REF, c0:c1]
        m = c1 - c0
        for j in range(m):
            key = keys[j]
            readys[j] = ready_s[(key >> 17) * width + ((key >> 1) & 0xFFFF)]
        for j in range(m):
            d0, slope, ready = d0s[j], slopes[j], readys[j]
            th_on, th_off = np.float64(ons[j]), np.float64(offs[j])
            up = slope > 0.0
            th = _select(up, th_on, -th_off)
            f1, te1, p1 = _next_event(t0, ready, 0.0, d0, slope, invs[j], th, up, th_on,
                                      th_off, t0, t1)
            shift1 = _select(p1 == 1, 0.0 + th_on, 0.0 - th_off)
            f2, te2, p2 = _next_event(te1, te1 + refr, shift1, d0, slope, invs[j], th, up,
                                      th_on, th_off, t0, t1)
            f2 &= f1
            dt1s[j] = np.int64((te1 - t0) * 1e9 + 0.5)
            dt2s[j] = np.int64((te2 - t0) * 1e9 + 0.5)
            p1s[j] = p1
            p2s[j] = p2
            fired[j] = np.int64(f1) + np.int64(f2)
            tc = _select(f2, te2, te1)
            tcs[j] = tc
            readys[j] = _select(f1, tc + refr, ready)
            shifts[j] = _select(f2, _select(p2 == 1, shift1 + th_on, shift1 - th_off),
                                _select(f1, shift1, 0.0))
        for j in range(m):
            if n + 2 > cap:
                return n, c0 + j
            key = keys[j]
            if key_bias >= 0:
                bt[n] = key_bias | (dt1s[j] << 32) | key | p1s[j]
                bt[n + 1] = key_bias | (dt2s[j] << 32) | key | p2s[j]
            else:
                bv[n] = key | p1s[j]
                bt[n] = t0_ns + dt1s[j]
                bv[n + 1] = key | p2s[j]
                bt[n + 1] = t0_ns + dt2s[j]
            end = n + fired[j]
            tc, ready, shift = tcs[j], readys[j], shifts[j]
            th_on = np.float64(ons[j])
            if fired[j] == 2:
                d0, slope, th_off = d0s[j], slopes[j], np.float64(offs[j])
                up = slope > 0.0
                th = _select(up, th_on, -th_off)
                for _ in range(MAX_EVENTS_PER_PIXEL - 2):
                    fires, te, pol = _next_event(tc, ready, shift, d0, slope, invs[j], th,
                                                 up, th_on, th_off, t0, t1)
                    if not fires:
                        break
                    if end == cap:
                        return n, c0 + j
                    dt_ns = np.int64((te - t0) * 1e9 + 0.5)
                    if key_bias >= 0:
                        bt[end] = key_bias | (dt_ns << 32) | key | pol
                    else:
                        bv[end] = key | pol
                        bt[end] = t0_ns + dt_ns
                    end += 1
                    shift = _select(pol == 1, shift + th_on, shift - th_off)
                    ready = te + refr
                    tc = te
            n = end
            i = (key >> 17) * width + ((key >> 1) & 0xFFFF)
            ready_s[i] = ready
            state[C_REF, i] = np.float64(refs[j]) - leak * th_on * dt + shift
    return n, n_active


@njit
def unpack_keys(keys, t0_ns, bias, out):
    """
    Write events from sorted keys into ``out``.

    key = bias | (t - t0) << 32 | y << 17 | x << 1 | p, so that sorting the keys
    orders the events by (t, y, x, p); this needs t - t0 < 2**31 ns and y < 2**15.
    With ``bias`` = ``FLOAT_KEY_BIAS`` (and t - t0 < 2**29 ns) the keys, read as
    float64, are positive normal numbers in the same order (see the constant).
    """
    for j in range(keys.shape[0]):
        v = keys[j] ^ bias
        e = out[j]
        e.x = (v >> 1) & 0xFFFF
        e.y = (v >> 17) & 0x7FFF
        e.p = v & 1
        e.t = t0_ns + (v >> 32)
