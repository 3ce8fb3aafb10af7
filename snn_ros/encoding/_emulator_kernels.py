"""Numba kernels of the frame-to-event emulator (model in :mod:`snn_ros.encoding.emulator`)."""

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
def emulate_levels(image, lut, level, state, settings, active, active_level):
    """
    First pass over every pixel: new log level, and the pixels that may fire.

    ``image`` holds LUT indices (h, w). Writes each pixel's new (filtered) level
    into ``level``. A pixel whose difference to its reference stays strictly inside
    both thresholds at both ends of the interval cannot fire: with a leak, its
    reference drifts here and it is done. The others are listed in ``active`` as
    y << 17 | x << 1, in pixel order, with their previous level in
    ``active_level``, for :func:`emulate_events`. Each row takes separate loops:
    the LUT look-up (and low-pass), the threshold test (vectorised by the compiler:
    contiguous rows, no branch), then the list, which grows by the test's result
    rather than by a branch, so the CPU does not mispredict on which pixels fire.
    Return the number of listed pixels.
    """
    t0 = settings[P_T0]
    t1 = settings[P_T1]
    dt = t1 - t0
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
    quiet = np.empty(w, dtype=np.uint8)
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
        for c in range(w):
            i = base + c
            L0 = np.float64(level[i])
            L1 = np.float64(new_level[c])
            ref = np.float64(refs[i])
            th_on = np.float64(ons[i])
            th_off = np.float64(offs[i])
            d0 = L0 - ref
            d1 = L1 - ref + (leak * th_on) * dt
            quiet[c] = np.uint8((d0 < th_on) & (d1 < th_on) & (d0 > -th_off) & (d1 > -th_off))
        if leak != 0.0:
            for c in range(w):
                i = base + c
                drift = leak * np.float64(ons[i])
                if drift != 0.0 and quiet[c]:
                    refs[i] = np.float64(refs[i]) - drift * dt
        row = np.int64(r) << 17
        for c in range(w):
            i = base + c
            active_level[n] = level[i]
            level[i] = new_level[c]
            active[n] = row | (np.int64(c) << 1)
            n += 1 - np.int64(quiet[c])
    return n


@njit
def emulate_events(level, state, ready_s, settings, t0_ns, width, active, active_level,
                   n_active, start, bt, bv, n):
    """
    Second pass: the threshold crossings of the listed pixels ``start``.., unsorted.

    ``active_level`` and ``level`` hold the log levels at the start and end of the
    interval (see :func:`emulate_levels`). Events go to the scratch arrays ``bt``
    (int64 ns) and ``bv`` (int64 y << 17 | x << 1 | p) from slot ``n``. A pixel
    whose events would not fit is left untouched and the kernel stops. Return
    ``(n, next)``: the slots used and the next list entry (``n_active`` when done).
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
        inv_slope = 1.0 / slope if slope != 0.0 else 0.0
        ready = ready_s[i]
        tc = t0
        shift = 0.0
        m = n
        for _ in range(MAX_EVENTS_PER_PIXEL):
            ts = tc if tc > ready else ready
            if ts > t1:
                break
            d = d0 + slope * (ts - t0) - shift
            if d >= th_on:
                te = ts
                pol = 1
            elif d <= -th_off:
                te = ts
                pol = 0
            elif slope > 0.0:
                te = ts + (th_on - d) * inv_slope
                pol = 1
            elif slope < 0.0:
                te = ts + (-th_off - d) * inv_slope
                pol = 0
            else:
                break
            if te > t1:
                break
            if m == cap:
                return n, k
            bv[m] = key | pol
            bt[m] = t0_ns + np.int64((te - t0) * 1e9 + 0.5)
            m += 1
            if pol == 1:
                shift += th_on
            else:
                shift -= th_off
            ready = te + refr
            tc = te
        n = m
        ready_s[i] = ready
        state[C_REF, i] = ref - drift * dt + shift
    return n, n_active


@njit
def pack_keys(bt, bv, n, t0_ns, keys):
    """
    Pack the first ``n`` scratch events into sortable int64 keys.

    key = (t - t0) << 32 | y << 17 | x << 1 | p, so that sorting the keys orders
    the events by (t, y, x, p); this needs t - t0 < 2**31 ns and y < 2**15.
    """
    for k in range(n):
        keys[k] = ((bt[k] - t0_ns) << 32) | bv[k]


@njit
def unpack_keys(keys, t0_ns, out):
    """Write events from sorted keys (see :func:`pack_keys`) into ``out``."""
    for j in range(keys.shape[0]):
        v = keys[j]
        e = out[j]
        e.x = (v >> 1) & 0xFFFF
        e.y = (v >> 17) & 0x7FFF
        e.p = v & 1
        e.t = t0_ns + (v >> 32)
