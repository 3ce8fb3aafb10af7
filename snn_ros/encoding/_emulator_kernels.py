"""Numba kernels of the frame-to-event emulator (model in :mod:`snn_ros.encoding.emulator`)."""

from numba.cpython.unsafe.numbers import trailing_zeros
import numpy as np

from snn_ros.core.jit import njit

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

MAX_EVENTS_PER_PIXEL = 10000

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
def emulate_levels(image, lut, level, state, settings, active, active_level, active_inv):
    """
    First pass over every pixel: new log level, and the pixels that may fire.

    ``image`` holds LUT indices (h, w). Writes each pixel's new (filtered) level
    into ``level``. A pixel whose difference to its reference stays strictly inside
    both thresholds at both ends of the interval cannot fire: with a leak, its
    reference drifts here and it is done. The others are listed in ``active`` as
    y << 17 | x << 1, in pixel order, with their previous level in
    ``active_level`` and 1 / slope of their difference (0 for a flat one) in
    ``active_inv``, for :func:`emulate_events`. Each row takes separate loops: the
    LUT look-up (and low-pass); the threshold test (vectorised by the compiler:
    contiguous rows, no branch; without a leak its zero drift term is left out,
    which changes no comparison); a 64-bit mask of the pixels that may fire per 64
    columns, whose set bits are then listed (no branch on which pixels fire, and no
    work for the others: writing every pixel's entry and advancing by the test's
    result cost 3x more); the copy of the new levels. The divisions come last, in
    one vectorised loop over the list: in the crossing loop each one sat on the
    path to a hard-to-predict branch. (Doing the crossings row by row, right after
    each row's levels, while the pixels' state is in cache, measured 2-7 % slower.)
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
        if cutoff > 0.0:
            for c in range(w):
                idx = image[r, c]
                L0 = np.float64(level[base + c])
                eps = lp_gain * (idx * scale + dark)
                if eps > 1.0:
                    eps = 1.0
                new_level[c] = np.float32(L0 + eps * (lut[idx] - L0))
        else:
            for c in range(w):
                new_level[c] = np.float32(lut[image[r, c]])
        if leak != 0.0:
            for c in range(w):
                i = base + c
                L0 = np.float64(level[i])
                L1 = np.float64(new_level[c])
                ref = np.float64(refs[i])
                th_on = np.float64(ons[i])
                th_off = np.float64(offs[i])
                d0 = L0 - ref
                d1 = L1 - ref + (leak * th_on) * dt
                quiet[c] = np.uint8((d0 < th_on) & (d1 < th_on) & (d0 > -th_off)
                                    & (d1 > -th_off))
            for c in range(w):
                i = base + c
                drift = leak * np.float64(ons[i])
                if drift != 0.0 and quiet[c]:
                    refs[i] = np.float64(refs[i]) - drift * dt
        else:
            for c in range(w):
                i = base + c
                ref = np.float64(refs[i])
                th_on = np.float64(ons[i])
                th_off = np.float64(offs[i])
                d0 = np.float64(level[i]) - ref
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
                i = base + c
                L0 = np.float64(level[i])
                active_level[n] = level[i]
                active_inv[n] = ((np.float64(new_level[c]) - L0) * inv_dt
                                 + leak * np.float64(ons[i]))
                active[n] = row | (np.int64(c) << 1)
                n += 1
        for c in range(w):
            level[base + c] = new_level[c]
    for k in range(n):
        slope = active_inv[k]
        active_inv[k] = 1.0 / slope if slope != 0.0 else 0.0
    return n


@njit
def emulate_events(level, state, ready_s, settings, t0_ns, width, active, active_level,
                   active_inv, n_active, start, bt, bv, n, key_bias):
    """
    Second pass: the threshold crossings of the listed pixels ``start``.., unsorted.

    ``active_level`` and ``level`` hold the log levels at the start and end of the
    interval, ``active_inv`` 1 / slope (see :func:`emulate_levels`). Events go to
    the scratch arrays from slot ``n``: with ``key_bias`` >= 0 as sort keys in
    ``bt`` (see :func:`unpack_keys`; ``bv`` unused), else as times in ``bt`` (int64
    ns) and addresses in ``bv`` (int64 y << 17 | x << 1 | p). Each event's time and
    polarity come from selects rather than a chain of branches on the sign of the
    slope. A pixel whose events would not fit is left untouched and the kernel
    stops. Return ``(n, next)``: the slots used and the next list entry
    (``n_active`` when done).
    """
    t0 = settings[P_T0]
    t1 = settings[P_T1]
    dt = t1 - t0
    refr = settings[P_REFR]
    leak = settings[P_LEAK]
    cap = bt.shape[0]
    inv_dt = 1.0 / dt
    for k in range(start, n_active):
        key = active[k]
        i = (key >> 17) * width + ((key >> 1) & 0xFFFF)
        L0 = np.float64(active_level[k])
        L1 = np.float64(level[i])
        ref = np.float64(state[C_REF, i])
        th_on = np.float64(state[C_ON, i])
        th_off = np.float64(state[C_OFF, i])
        drift = leak * th_on
        d0 = L0 - ref
        slope = (L1 - L0) * inv_dt + drift
        inv_slope = active_inv[k]
        up = slope > 0.0
        th = th_on if up else -th_off
        ready = ready_s[i]
        tc = t0
        shift = 0.0
        m = n
        for _ in range(MAX_EVENTS_PER_PIXEL):
            ts = tc if tc > ready else ready
            if ts > t1:
                break
            d = d0 + slope * (ts - t0) - shift
            # Fires at ts if already over a threshold (ON first), else where the line
            # reaches the threshold it moves towards; a flat line never does.
            on_now = d >= th_on
            now = on_now | (d <= -th_off)
            te = ts if now else ts + (th - d) * inv_slope
            if (not now and slope == 0.0) or te > t1:
                break
            pol = np.int64(on_now) if now else np.int64(up)
            if m == cap:
                return n, k
            dt_ns = np.int64((te - t0) * 1e9 + 0.5)
            if key_bias >= 0:
                bt[m] = key_bias | (dt_ns << 32) | key | pol
            else:
                bv[m] = key | pol
                bt[m] = t0_ns + dt_ns
            m += 1
            shift = shift + th_on if pol == 1 else shift - th_off
            ready = te + refr
            tc = te
        n = m
        ready_s[i] = ready
        state[C_REF, i] = ref - drift * dt + shift
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
