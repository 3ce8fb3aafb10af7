"""
Frame-to-event emulation: a DVS pixel array driven by ordinary camera frames.

The model follows the published emulators ESIM (Rebecq, Gehrig, Scaramuzza,
"ESIM: an Open Event Camera Simulator", CoRL 2018) and v2e (Hu, Liu, Delbruck,
"v2e: From Video Frames to Realistic DVS Events", CVPR Workshops 2021), whose
defaults we keep (theta 0.2, sigma 0.03, refractory 0.5 ms). For every pixel:

- Intensity I [DN, 0..255 scale; mono16 is divided by 257] is the pixel value, or
  for colour the integer BT.601 luma (77 R + 150 G + 29 B + 128) >> 8.
- Response L(I) = ln(I) for I >= D, and ln(D) + (I - D) / D below the dark level D
  ('linlog', value and slope continuous at D); or ln(I + 1) ('log').
- Optional photoreceptor low-pass (v2e): L_f += eps (L - L_f), with
  eps = min(1, 2 pi f_c dt (I + D) / (255 + D)): dimmer pixels are slower.
- Thresholds theta_on, theta_off per pixel ~ N(theta, sigma) (fixed-pattern
  mismatch), at least ``min_theta``; drawn once from the seeded generator.
- Between two frames at t0 and t1, L(t) is interpolated linearly, and the
  reference level ref(t) drifts down by leak_rate_hz * theta_on per second (leak
  events, v2e). With d(t) = L(t) - ref(t): an ON event fires at every time where
  d reaches theta_on, and ref moves up by theta_on; an OFF event where d reaches
  -theta_off, and ref moves down by theta_off. Times come from the linear
  interpolation, so a pixel may fire several times per frame interval at its own
  times. No event fires within ``refractory_s`` of the previous one of the same
  pixel; a crossing that falls in it fires when the period ends (if still over).
- Shot noise: Poisson events at ``shot_noise_rate_hz`` per pixel, half ON and half
  OFF, at uniform times; they do not move the reference.

Each frame interval takes two passes (``_emulator_kernels``): one over every pixel
computes the new levels and lists the pixels whose difference to the reference
leaves the open interval (-theta_off, theta_on) at either end of the interval
(no other pixel can fire), with no data-dependent branch and a vectorised
threshold test, and the reciprocal slope of each listed pixel in one vectorised
loop; then the crossings of the listed pixels only, the first two events of each
computed for several pixels at once (vectorised). The arithmetic is the same, in
the same order, as a plain loop over pixels.

Events of one frame interval are returned sorted by (t, y, x, p). Each event is
packed into one int64 key, (t - t0) << 32 | y << 17 | x << 1 | p, and the keys are
sorted with numpy's vectorised sort: a full sort, which measured about twice as
fast here as a bucketed counting sort followed by insertion sorts (0.74 ms
against 1.4-1.6 ms for 90 000 events, one core) and faster than an LSD radix sort
on the time (1.0 ms against 0.76 ms for 74 000 events, two counting passes). For
intervals under 0.54 s a constant high bit makes the keys positive normal float64
numbers in the same order, which numpy sorts faster (see
``_emulator_kernels.FLOAT_KEY_BIAS``). Frame intervals of 2.1 s or more (or images
of 32768 rows or more) fall back to ``np.lexsort``, same order.
"""

from typing import NamedTuple

import numpy as np

from snn_ros.core.types import EVENT_DTYPE
from snn_ros.encoding import _emulator_kernels as _k

#: Frame encoding -> (dtype, channels, integer luma weights per channel, sum 256).
FRAME_ENCODINGS = {
    'mono8': (np.uint8, 1, None),
    'mono16': (np.uint16, 1, None),
    'rgb8': (np.uint8, 3, (77, 150, 29)),
    'bgr8': (np.uint8, 3, (29, 150, 77)),
}


class EmulatorParams(NamedTuple):
    """
    Frozen parameters of the emulator (v2e/ESIM defaults where they exist).

    Thresholds are in log-intensity units; rates in Hz per pixel.
    """

    theta_on: float = 0.2
    theta_off: float = 0.2
    sigma_theta: float = 0.03
    min_theta: float = 0.01
    refractory_s: float = 0.5e-3
    response: str = 'linlog'
    dark_level: float = 20.0
    cutoff_hz: float = 0.0
    leak_rate_hz: float = 0.0
    shot_noise_rate_hz: float = 0.0


def _check(params):
    for name in ('theta_on', 'theta_off', 'min_theta'):
        if not getattr(params, name) > 0:
            raise ValueError(f'EmulatorParams.{name} must be > 0, got {getattr(params, name)}')
    for name in ('sigma_theta', 'refractory_s', 'cutoff_hz', 'leak_rate_hz',
                 'shot_noise_rate_hz'):
        if not getattr(params, name) >= 0:
            raise ValueError(f'EmulatorParams.{name} must be >= 0, got {getattr(params, name)}')
    if params.response not in ('linlog', 'log'):
        raise ValueError(f"EmulatorParams.response must be 'linlog' or 'log', "
                         f'got {params.response!r}')
    if not params.dark_level > 0:
        raise ValueError(f'EmulatorParams.dark_level must be > 0 [DN], got {params.dark_level}')


def response_lut(params, levels):
    """Return L(I) for every input level (256 or 65536 entries), as float64."""
    intensity = np.arange(levels, dtype=np.float64) * (255.0 / (levels - 1))
    if params.response == 'log':
        return np.log(intensity + 1.0)
    d = params.dark_level
    return np.where(intensity >= d, np.log(np.maximum(intensity, d)),
                    np.log(d) + (intensity - d) / d)


class DvsEmulator:
    """
    Per-pixel DVS emulator; call :meth:`step` with each frame.

    ``level`` (float32, height * width) is each pixel's last log level; ``state``
    (float32, (3, height * width)) its reference, ON and OFF thresholds, one row each
    (pixels row-major); ``ready_s`` (float64, height * width) the end of its
    refractory period [s since the first frame].
    """

    def __init__(self, width, height, params=EmulatorParams(), rng=None):
        """Build a ``width`` x ``height`` array; ``rng`` is a seeded np.random.Generator."""
        for name, value in (('width', width), ('height', height)):
            if not isinstance(value, (int, np.integer)) or not 1 <= value <= 65535:
                raise ValueError(f'DvsEmulator: {name} must be an integer in [1, 65535], '
                                 f'got {value!r}')
        _check(params)
        if rng is None:
            rng = np.random.default_rng(0)
        self.width, self.height = int(width), int(height)
        self.params = params
        self.rng = rng
        n = self.width * self.height
        self.level = np.zeros(n, dtype=np.float32)
        # Pixels that may fire in this interval (y << 17 | x << 1) and their state
        # (rows _k.A_*).
        self._active = (np.empty(n, dtype=np.int64), np.empty((_k.A_F64_ROWS, n)),
                        np.empty((_k.A_F32_ROWS, n), dtype=np.float32))
        self.state = np.zeros((_k.STATE_COLS, n), dtype=np.float32)
        self.ready_s = np.full(n, -1e300)
        self.state[_k.C_ON] = np.maximum(
            rng.normal(params.theta_on, params.sigma_theta, n), params.min_theta)
        self.state[_k.C_OFF] = np.maximum(
            rng.normal(params.theta_off, params.sigma_theta, n), params.min_theta)
        self._luts = {256: response_lut(params, 256), 65536: response_lut(params, 65536)}
        self._settings = np.zeros(_k.P_LEN, dtype=np.float64)
        self._settings[_k.P_REFR] = params.refractory_s
        self._settings[_k.P_LEAK] = params.leak_rate_hz
        self._settings[_k.P_CUTOFF] = params.cutoff_hz
        self._settings[_k.P_DARK] = params.dark_level
        self._scratch = (np.empty(1 << 16, np.int64), np.empty(1 << 16, np.int64))
        self._luma = np.empty((self.height, self.width), dtype=np.uint8)
        self.t_first_ns = None
        self.t_last_ns = None

    @property
    def thresholds(self):
        """Per-pixel (theta_on, theta_off), each of shape (height, width)."""
        shape = (self.height, self.width)
        return (self.state[_k.C_ON].reshape(shape), self.state[_k.C_OFF].reshape(shape))

    def _frame(self, frame, encoding):
        if encoding not in FRAME_ENCODINGS:
            raise ValueError(f'frame encoding {encoding!r} is not supported; use one of '
                             f'{sorted(FRAME_ENCODINGS)}')
        dtype, channels, weights = FRAME_ENCODINGS[encoding]
        frame = np.asarray(frame)
        if frame.dtype != dtype:
            raise ValueError(f'{encoding} frame must have dtype {np.dtype(dtype).name}, '
                             f'got {frame.dtype}')
        expect = (self.height, self.width) + ((channels,) if channels > 1 else ())
        if frame.shape == (self.height, self.width, 1) and channels == 1:
            frame = frame[:, :, 0]
        if frame.shape != expect:
            raise ValueError(f'{encoding} frame has shape {frame.shape}, expected {expect} '
                             f'(height, width{", 3" if channels > 1 else ""})')
        frame = np.ascontiguousarray(frame)
        if channels == 1:
            return frame, self._luts[256 if dtype == np.uint8 else 65536]
        _k.luma_image(frame, np.array(weights, dtype=np.int64), self._luma)
        return self._luma, self._luts[256]

    def reset(self):
        """Forget the frames seen (thresholds are kept); the next frame starts afresh."""
        self.t_first_ns = None
        self.t_last_ns = None

    def step(self, frame, t_ns, encoding='mono8'):
        """
        Take one frame stamped ``t_ns`` and return the events since the last frame.

        ``frame`` has shape (height, width) for mono8/mono16 or (height, width, 3)
        for rgb8/bgr8. Stamps must increase; intervals may vary. The first frame
        only sets the reference levels and returns no events.
        """
        image, lut = self._frame(frame, encoding)
        t_ns = int(t_ns)
        if self.t_first_ns is None:
            _k.init_state(image, lut, self.level, self.state, self.ready_s)
            if self.params.leak_rate_hz > 0:
                # Spread the leak events' phases, as v2e does.
                self.state[_k.C_REF] -= (self.rng.random(self.state.shape[1])
                                         * self.state[_k.C_ON])
            self.t_first_ns = self.t_last_ns = t_ns
            return np.empty(0, dtype=EVENT_DTYPE)
        if t_ns <= self.t_last_ns:
            raise ValueError(f'frame stamp {t_ns} ns is not after the previous one '
                             f'({self.t_last_ns} ns); stamps must increase')
        t0_ns = self.t_last_ns
        s = self._settings
        s[_k.P_T0] = (t0_ns - self.t_first_ns) * 1e-9
        s[_k.P_T1] = (t_ns - self.t_first_ns) * 1e-9
        n_active = _k.emulate_levels(image, lut, self.level, self.state, s, *self._active)
        # Intervals under 2.1 s (and images under 32768 rows) write sort keys at once.
        keyed = t_ns - t0_ns < (1 << 31) and self.height < (1 << 15)
        bias = -1
        if keyed:
            bias = _k.FLOAT_KEY_BIAS if t_ns - t0_ns < _k.FLOAT_KEY_SPAN_NS else 0
        n, done = 0, 0
        while done < n_active:
            n, done = _k.emulate_events(self.state, self.ready_s, s, np.int64(t0_ns),
                                        self.width, *self._active, n_active, done,
                                        *self._scratch, n, bias)
            if done < n_active:
                self._grow(2 * self._scratch[0].shape[0])
        n = self._add_shot_noise(n, t0_ns, t_ns, bias)
        out = np.empty(n, dtype=EVENT_DTYPE)
        bt, bv = self._scratch
        if keyed:
            keys = bt[:n]
            if bias:
                keys.view(np.float64).sort()
            else:
                keys.sort()
            _k.unpack_keys(keys, np.int64(t0_ns), bias, out)
        else:
            # Intervals over 2.1 s (or images over 32767 rows): a full sort, same order.
            order = np.lexsort((bv[:n] & 1, (bv[:n] >> 1) & 0xFFFF, bv[:n] >> 17, bt[:n]))
            out['t'] = bt[order]
            out['y'] = bv[order] >> 17
            out['x'] = (bv[order] >> 1) & 0xFFFF
            out['p'] = bv[order] & 1
        self.t_last_ns = t_ns
        return out

    def _grow(self, size):
        grown = []
        for a in self._scratch:
            b = np.empty(size, dtype=a.dtype)
            b[:a.shape[0]] = a
            grown.append(b)
        self._scratch = tuple(grown)

    def _add_shot_noise(self, n, t0_ns, t1_ns, key_bias):
        rate = self.params.shot_noise_rate_hz
        if rate <= 0:
            return n
        k = int(self.rng.poisson(rate * self.width * self.height * (t1_ns - t0_ns) * 1e-9))
        if k == 0:
            return n
        if n + k > self._scratch[0].shape[0]:
            self._grow(n + k)
        bt, bv = self._scratch
        pix = self.rng.integers(0, self.width * self.height, size=k)
        v = (((pix // self.width) << 17) | ((pix % self.width) << 1)
             | self.rng.integers(0, 2, size=k))
        dt = self.rng.integers(0, t1_ns - t0_ns, size=k)
        if key_bias >= 0:   # sort keys, as emulate_events writes them
            bt[n:n + k] = key_bias | (dt << 32) | v
        else:
            bv[n:n + k] = v
            bt[n:n + k] = t0_ns + dt
        return n + k
