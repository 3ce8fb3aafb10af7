"""Frame-to-event emulator: against the naive pixel loop, an analytic moving edge, noise."""

import math

import numpy as np
import pytest

from snn_ros.encoding.emulator import DvsEmulator, EmulatorParams, response_lut

from . import naive

FRAME_NS = 33_333_333  # 30 frames/s


def naive_run(emu, frames, stamps):
    """Step every pixel with naive.emulate_interval, mirroring the float32 state."""
    p = emu.params
    lut = emu._luts[256]
    h, w = frames[0].shape
    th_on, th_off = (np.asarray(a, np.float64).ravel() for a in emu.thresholds)
    L = np.float32(lut[frames[0].ravel()])
    ref = L.copy()
    ready = np.full(h * w, -1e300)
    out = []
    for k in range(1, len(frames)):
        t0 = (stamps[k - 1] - stamps[0]) * 1e-9
        t1 = (stamps[k] - stamps[0]) * 1e-9
        dt = t1 - t0
        gain = 2.0 * np.pi * p.cutoff_hz * dt / (255.0 + p.dark_level)
        for i in range(h * w):
            idx = int(frames[k].ravel()[i])
            L0 = float(L[i])
            L1 = lut[idx]
            if p.cutoff_hz > 0:
                L1 = L0 + min(gain * (idx * 1.0 + p.dark_level), 1.0) * (L1 - L0)
            L1 = float(np.float32(L1))
            evs, ref_end, ready[i] = naive.emulate_interval(
                L0, L1, float(ref[i]), th_on[i], th_off[i], ready[i], t0, t1,
                p.refractory_s, p.leak_rate_hz * th_on[i])
            L[i], ref[i] = L1, ref_end
            for te, pol in evs:
                out.append((i % w, i // w, pol, stamps[k - 1] + int((te - t0) * 1e9 + 0.5)))
    out.sort(key=lambda e: (e[3], e[1], e[0], e[2]))
    return out


@pytest.mark.parametrize('seed, params', [
    (0, EmulatorParams()),
    (1, EmulatorParams(refractory_s=0.004, cutoff_hz=20.0)),
    (2, EmulatorParams(refractory_s=0.0, theta_on=0.1, theta_off=0.3, sigma_theta=0.05)),
])
def test_kernel_matches_naive_pixel_loop(seed, params):
    rng = np.random.default_rng(seed)
    h, w = 9, 13
    frames = [rng.integers(0, 256, size=(h, w)).astype(np.uint8) for _ in range(6)]
    stamps = np.cumsum([5_000_000] + list(rng.integers(5_000_000, 60_000_000, 5)))
    emu = DvsEmulator(w, h, params, rng=np.random.default_rng(seed))
    if seed == 1:  # a tiny event buffer: the kernel stops, the buffer grows, it resumes
        emu._scratch = (np.empty(3, np.int64), np.empty(3, np.int64))
    got = np.concatenate([emu.step(f, t) for f, t in zip(frames, stamps)])
    assert len(got) > 100
    emu_ref = DvsEmulator(w, h, params, rng=np.random.default_rng(seed))
    assert got.tolist() == naive_run(emu_ref, frames, stamps)


def test_list_chunks_and_resumes_match_naive_pixel_loop():
    # 900 pixels, most of them listed: several chunks of emulate_events; a small event
    # buffer makes it stop and resume inside a chunk; no refractory period lets pixels
    # fire three times or more (the loop after the first two events).
    rng = np.random.default_rng(13)
    h, w = 20, 45
    frames = [rng.integers(0, 256, size=(h, w)).astype(np.uint8) for _ in range(4)]
    stamps = [0, 20_000_000, 30_000_000, 90_000_000]
    params = EmulatorParams(refractory_s=0.0, theta_on=0.15, theta_off=0.15)
    emu = DvsEmulator(w, h, params, rng=np.random.default_rng(13))
    emu._scratch = (np.empty(300, np.int64), np.empty(300, np.int64))
    got = [emu.step(f, t) for f, t in zip(frames, stamps)]
    assert max(len(g) for g in got) > 3 * 300
    counts = np.unique(got[1][['x', 'y']], return_counts=True)[1]
    assert counts.max() >= 3
    ref = naive_run(DvsEmulator(w, h, params, rng=np.random.default_rng(13)), frames, stamps)
    assert np.concatenate(got).tolist() == ref


def test_response_function_is_lin_log():
    p = EmulatorParams(dark_level=20.0)
    lut = response_lut(p, 256)
    for v in (0, 1, 7, 19, 20, 21, 100, 255):
        assert lut[v] == pytest.approx(naive.lin_log(v, 20.0), abs=1e-12)
    assert response_lut(EmulatorParams(response='log'), 256)[255] == pytest.approx(math.log(256))


def render_edge(x, t_s, v_px_s, e0, ramp_px, dl):
    """Log-intensity ramp: L = ln 20 + dl * clip((e(t) - x_centre) / ramp, 0, 1), as mono16."""
    frac = np.clip((e0 + v_px_s * t_s - (x + 0.5)) / ramp_px, 0.0, 1.0)
    return np.round(np.exp(math.log(20.0) + dl * frac) * 257.0).astype(np.uint16)


def test_moving_edge_first_event_at_analytic_crossing_time():
    w, h = 48, 3
    v, e0, ramp, dl = 8.0, -2.0, 8.0, math.log(10.0)
    emu = DvsEmulator(w, h, rng=np.random.default_rng(7))
    x = np.arange(w)
    events = []
    for k in range(int(8.0 * 30)):
        frame = np.tile(render_edge(x, k * FRAME_NS * 1e-9, v, e0, ramp, dl), (h, 1))
        events.append(emu.step(frame, k * FRAME_NS, 'mono16'))
    ev = np.concatenate(events)
    assert (ev['p'] == 1).all()
    th_on = np.asarray(emu.thresholds[0], np.float64)
    first = {}
    for e in ev:
        first.setdefault((int(e['y']), int(e['x'])), int(e['t']))
    assert len(first) == w * h
    worst = 0.0
    for (y, xx), t in first.items():
        analytic_s = (xx + 0.5 + th_on[y, xx] * ramp / dl - e0) / v
        worst = max(worst, abs(t * 1e-9 - analytic_s) / (FRAME_NS * 1e-9))
    assert worst < 0.1
    # Pixels fire at their own times, not at frame stamps, several times each.
    assert np.mean(ev['t'] % FRAME_NS == 0) < 0.01
    counts = np.bincount(ev['y'].astype(int) * w + ev['x'], minlength=w * h)
    assert counts.min() >= int(dl / (th_on.max() + 0.01)) - 1


def test_several_events_per_pixel_per_interval_at_interpolated_times():
    emu = DvsEmulator(1, 1, EmulatorParams(sigma_theta=0.0, refractory_s=0.0))
    emu.step(np.array([[20]], np.uint8), 0)
    ev = emu.step(np.array([[200]], np.uint8), 10_000_000)   # ln(10) = 2.30: 11 crossings
    assert len(ev) == 11 and (ev['p'] == 1).all()
    lut = response_lut(EmulatorParams(), 256)
    want = [round((k * 0.2) / (lut[200] - lut[20]) * 1e7) for k in range(1, 12)]
    assert np.abs(ev['t'] - want).max() <= 2
    emu = DvsEmulator(1, 1, EmulatorParams(sigma_theta=0.0, refractory_s=0.003))
    emu.step(np.array([[20]], np.uint8), 0)
    ev = emu.step(np.array([[200]], np.uint8), 10_000_000)
    assert np.diff(ev['t']).min() >= 3_000_000 - 1 and len(ev) == 4


def test_colour_and_mono16_inputs_agree_with_mono8():
    rng = np.random.default_rng(3)
    rgb = [rng.integers(0, 256, size=(6, 8, 3)).astype(np.uint8) for _ in range(4)]
    luma = [((f.astype(int) @ np.array([77, 150, 29]) + 128) >> 8).astype(np.uint8)
            for f in rgb]
    runs = {}
    for name, frames in (('rgb8', rgb), ('bgr8', [f[..., ::-1] for f in rgb]),
                         ('mono8', luma), ('mono16', [f.astype(np.uint16) * 257 for f in luma])):
        emu = DvsEmulator(8, 6, rng=np.random.default_rng(3))
        runs[name] = np.concatenate([emu.step(f, (k + 1) * FRAME_NS, name)
                                     for k, f in enumerate(frames)])
    assert runs['rgb8'].tolist() == runs['mono8'].tolist() == runs['bgr8'].tolist()
    assert len(runs['mono16']) == len(runs['mono8'])
    assert np.abs(runs['mono16']['t'] - runs['mono8']['t']).max() <= 1


def test_output_sorted_within_interval_and_seeded():
    rng = np.random.default_rng(4)
    frames = [rng.integers(0, 256, size=(20, 30)).astype(np.uint8) for _ in range(4)]
    params = EmulatorParams(shot_noise_rate_hz=5.0, leak_rate_hz=1.0)
    outs = []
    for _ in range(2):
        emu = DvsEmulator(30, 20, params, rng=np.random.default_rng(11))
        outs.append([emu.step(f, 1_000 + k * FRAME_NS) for k, f in enumerate(frames)])
    for k, ev in enumerate(outs[0][1:], start=1):
        t = ev['t']
        assert (np.diff(t) >= 0).all()
        assert t.min() > 1_000 + (k - 1) * FRAME_NS - 1 and t.max() <= 1_000 + k * FRAME_NS
    assert all(a.tolist() == b.tolist() for a, b in zip(*outs))


@pytest.mark.parametrize('kind', ['shot', 'leak'])
def test_noise_rates(kind):
    rate = 2.0
    params = (EmulatorParams(shot_noise_rate_hz=rate) if kind == 'shot'
              else EmulatorParams(leak_rate_hz=rate, refractory_s=0.0))
    emu = DvsEmulator(40, 25, params, rng=np.random.default_rng(5))
    frame = np.full((25, 40), 128, np.uint8)
    n_frames = 60
    ev = np.concatenate([emu.step(frame, k * FRAME_NS) for k in range(n_frames + 1)])
    expected = rate * 1000 * n_frames * FRAME_NS * 1e-9
    assert abs(len(ev) - expected) < 5 * math.sqrt(expected) + (0.05 * expected)
    if kind == 'leak':
        assert (ev['p'] == 1).all()


def test_bad_frames_and_parameters():
    emu = DvsEmulator(8, 6)
    with pytest.raises(ValueError, match='shape'):
        emu.step(np.zeros((6, 9), np.uint8), 0)
    with pytest.raises(ValueError, match='dtype'):
        emu.step(np.zeros((6, 8), np.uint16), 0, 'mono8')
    with pytest.raises(ValueError, match="'yuv422'"):
        emu.step(np.zeros((6, 8), np.uint8), 0, 'yuv422')
    with pytest.raises(ValueError, match='expected'):
        emu.step(np.zeros((6, 8), np.uint8), 0, 'rgb8')
    emu.step(np.zeros((6, 8), np.uint8), 10)
    with pytest.raises(ValueError, match='increase'):
        emu.step(np.zeros((6, 8), np.uint8), 10)
    with pytest.raises(ValueError, match='theta_on'):
        DvsEmulator(8, 6, EmulatorParams(theta_on=0.0))
    with pytest.raises(ValueError, match='width'):
        DvsEmulator(0, 6)


def test_long_interval_uses_the_fallback_sort_with_the_same_order():
    rng = np.random.default_rng(9)
    frames = [rng.integers(0, 256, size=(5, 7)).astype(np.uint8) for _ in range(3)]
    stamps = [0, 3_000_000_000, 3_010_000_000]    # 3 s (fallback), then 10 ms
    params = EmulatorParams(refractory_s=0.0)
    emu = DvsEmulator(7, 5, params, rng=np.random.default_rng(9))
    got = np.concatenate([emu.step(f, t) for f, t in zip(frames, stamps)])
    ref = naive_run(DvsEmulator(7, 5, params, rng=np.random.default_rng(9)), frames, stamps)
    assert len(got) > 20 and got.tolist() == ref


def test_wide_rows_leak_and_both_sort_keys_match_naive():
    # 70 columns: the per-64-column masks of pixels that may fire end mid-word; intervals
    # of 1 s and 0.6 s take the int64 sort keys, the 10-40 ms ones the float64 view.
    rng = np.random.default_rng(12)
    h, w = 4, 70
    frames = [rng.integers(0, 256, size=(h, w)).astype(np.uint8) for _ in range(6)]
    stamps = [0, 1_000_000_000, 1_010_000_000, 1_610_000_000, 1_650_000_000, 1_670_000_000]
    params = EmulatorParams(leak_rate_hz=3.0, refractory_s=0.0)
    emu = DvsEmulator(w, h, params, rng=np.random.default_rng(12))
    got = np.concatenate([emu.step(f, t) for f, t in zip(frames, stamps)])
    # The emulator spreads the leak phases from its generator: mirror that state.
    emu_ref = DvsEmulator(w, h, params, rng=np.random.default_rng(12))
    emu_ref.step(frames[0], 0)
    ref = naive_run_from(emu_ref, frames, stamps)
    assert len(got) > 200 and got.tolist() == ref


def naive_run_from(emu, frames, stamps):
    """naive_run starting from the emulator's references after its first frame."""
    p = emu.params
    lut = emu._luts[256]
    h, w = frames[0].shape
    th_on, th_off = (np.asarray(a, np.float64).ravel() for a in emu.thresholds)
    L = emu.level.copy()
    ref = emu.state[0].copy()
    ready = np.full(h * w, -1e300)
    out = []
    for k in range(1, len(frames)):
        t0 = (stamps[k - 1] - stamps[0]) * 1e-9
        t1 = (stamps[k] - stamps[0]) * 1e-9
        for i in range(h * w):
            L0 = float(L[i])
            L1 = float(np.float32(lut[int(frames[k].ravel()[i])]))
            drift = p.leak_rate_hz * th_on[i]
            d0, d1 = L0 - float(ref[i]), L1 - float(ref[i]) + drift * (t1 - t0)
            if d0 < th_on[i] and d1 < th_on[i] and d0 > -th_off[i] and d1 > -th_off[i]:
                evs, ref_end = [], np.float32(float(ref[i]) - drift * (t1 - t0))
            else:
                evs, ref_end, ready[i] = naive.emulate_interval(
                    L0, L1, float(ref[i]), th_on[i], th_off[i], ready[i], t0, t1,
                    p.refractory_s, drift)
            L[i], ref[i] = L1, ref_end
            for te, pol in evs:
                out.append((i % w, i // w, pol, stamps[k - 1] + int((te - t0) * 1e9 + 0.5)))
    out.sort(key=lambda e: (e[3], e[1], e[0], e[2]))
    return out
