"""
Spike codes: values in, SPIKE_DTYPE arrays (neuron i4, t i8 [ns]) out, sorted by (t, neuron).

Codes from the survey literature (Auge, Hille, Mueller, Knoll, "A Survey of Encoding
Techniques for Signal Processing in Spiking Neural Networks", Neural Processing
Letters 2021), each with exact (continuous, ns-resolution) spike times:

- **rate** (Poisson): neuron i fires as a Poisson process of rate
  clip(v_i, 0, 1) * rate_max_hz over [t0, t1); times uniform given the count.
- **latency, linear**: t_i = t0 + (1 - v_i) * t_max for v_i > threshold (v in [0, 1]).
- **latency, logarithmic**: the charging time of an RC neuron driven by v_i,
  t_i = t0 + tau * ln(v_i / (v_i - threshold)) for v_i > threshold (the "log"
  latency of snntorch's ``spikegen.latency``).
- **phase**: against a reference oscillation of frequency f and phase phi0, neuron
  i fires once per cycle, (1 - v_i) of a period after each cycle start
  t0 - phi0 / (2 pi f) + k / f (Kayser et al. 2009; v_i <= 0 never fires).
- **delta** (send-on-delta): each channel remembers a reference r; whenever the
  linearly interpolated signal reaches r + delta (ON, neuron 2c) or r - delta
  (OFF, neuron 2c + 1) a spike fires at that time and r moves by delta.
- **population**: m Gaussian receptive fields per scalar input (Bohte, Kok, La
  Poutre, "Error-backpropagation in temporally encoded networks of spiking
  neurons", Neurocomputing 2002): centres x_min + (2j - 1)/2 * (x_max - x_min) /
  (m - 2) for j = 0..m-1, width (x_max - x_min) / (beta (m - 2)); response r read
  out as a latency t0 + (1 - r) * t_max, fields with r < cutoff silent; neuron
  i * m + j.

Ordering needs a sort for the rate and delta codes (``np.lexsort`` on (t, neuron));
the latency and population codes sort their one spike per neuron by time; the
phase code sorts the neurons by phase once and reuses that order every cycle.
"""

import numpy as np

from snn_ros.core.types import SPIKE_DTYPE
from snn_ros.encoding import _code_kernels as _k


def _values(values, name='values'):
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f'{name} must be a 1-D array (one value per input), got shape {v.shape}')
    if not np.all(np.isfinite(v)):
        raise ValueError(f'{name} must be finite')
    return v


def _positive(name, value):
    if not value > 0:
        raise ValueError(f'{name} must be > 0, got {value}')


def _window(t0_ns, t1_ns):
    if int(t1_ns) <= int(t0_ns):
        raise ValueError(f't1_ns must be after t0_ns, got [{t0_ns}, {t1_ns})')


def _pack(neuron, t, already_sorted=False):
    out = np.empty(neuron.shape[0], dtype=SPIKE_DTYPE)
    if already_sorted:
        out['neuron'] = neuron
        out['t'] = t
        return out
    order = np.lexsort((neuron, t))
    out['neuron'] = neuron[order]
    out['t'] = t[order]
    return out


def rate_poisson(values, rate_max_hz, t0_ns, t1_ns, rng):
    """Poisson rate code over [t0_ns, t1_ns): rate clip(v, 0, 1) * rate_max_hz per neuron."""
    v = np.clip(_values(values), 0.0, 1.0)
    _positive('rate_max_hz', rate_max_hz)
    _window(t0_ns, t1_ns)
    span = int(t1_ns) - int(t0_ns)
    counts = rng.poisson(v * rate_max_hz * span * 1e-9)
    neuron = np.repeat(np.arange(v.shape[0], dtype=np.int32), counts)
    t = int(t0_ns) + rng.integers(0, span, size=neuron.shape[0], dtype=np.int64)
    return _pack(neuron, t)


def _latency(t, fire):
    neuron = np.flatnonzero(fire).astype(np.int32)
    t = t[fire]
    order = np.argsort(t, kind='stable')
    return _pack(neuron[order], t[order], already_sorted=True)


def latency_linear(values, t0_ns, t_max_s, threshold=0.0):
    """Time-to-first-spike, linear: t = t0 + (1 - v) t_max for v > threshold; v above 1 -> 1."""
    v = _values(values)
    _positive('t_max_s', t_max_s)
    t = int(t0_ns) + np.rint((1.0 - np.minimum(v, 1.0)) * t_max_s * 1e9).astype(np.int64)
    return _latency(t, v > threshold)


def latency_log(values, t0_ns, tau_s, threshold):
    """Time-to-first-spike, logarithmic: t = t0 + tau ln(v / (v - threshold)) for v > threshold."""
    v = _values(values)
    _positive('tau_s', tau_s)
    _positive('threshold', threshold)
    fire = v > threshold
    safe = np.where(fire, v, 2.0 * threshold)
    t = int(t0_ns) + np.rint(tau_s * np.log(safe / (safe - threshold)) * 1e9).astype(np.int64)
    return _latency(t, fire)


def phase(values, t0_ns, t1_ns, freq_hz, phase0_rad=0.0):
    """Phase code against a reference oscillation of ``freq_hz`` (see the module docstring)."""
    v = np.clip(_values(values), 0.0, 1.0)
    _positive('freq_hz', freq_hz)
    _window(t0_ns, t1_ns)
    period_ns = 1e9 / freq_hz
    offset_ns = phase0_rad / (2 * np.pi) * period_ns
    active = np.flatnonzero(v > 0)
    order = active[np.argsort(1.0 - v[active], kind='stable')]
    cycles = int((int(t1_ns) - int(t0_ns) + offset_ns) // period_ns) + 2
    size = cycles * order.shape[0]
    neuron = np.empty(size, dtype=np.int32)
    t = np.empty(size, dtype=np.int64)
    n = _k.phase_spikes(v, order, int(t0_ns), int(t1_ns), period_ns, offset_ns, neuron, t)
    return _pack(neuron[:n], t[:n], already_sorted=True)


class DeltaEncoder:
    """
    Send-on-delta encoder with a remembered reference per channel.

    ``ref`` (float64, n_channels) is the reference; ``last`` and ``last_t_ns`` the
    previous sample, so successive :meth:`encode` calls continue seamlessly.
    Neuron 2c is channel c's ON output, 2c + 1 its OFF output.
    """

    def __init__(self, n_channels, threshold, initial=None):
        """Encode ``n_channels`` signals with step ``threshold``; ``initial`` sets ref."""
        if not isinstance(n_channels, (int, np.integer)) or n_channels < 1:
            raise ValueError(f'n_channels must be a positive integer, got {n_channels!r}')
        _positive('threshold', threshold)
        self.threshold = float(threshold)
        self.n_channels = int(n_channels)
        self.ref = None if initial is None else _values(initial, 'initial').copy()
        if self.ref is not None and self.ref.shape != (self.n_channels,):
            raise ValueError(f'initial must have shape ({n_channels},), got {self.ref.shape}')
        self.last = None
        self.last_t_ns = None
        self._cap = 1024

    def encode(self, samples, times_ns):
        """Encode samples (k, n_channels) taken at increasing ``times_ns`` (k,)."""
        x = np.asarray(samples, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        t = np.asarray(times_ns, dtype=np.int64).reshape(-1)
        if x.ndim != 2 or x.shape[1] != self.n_channels or t.shape[0] != x.shape[0]:
            raise ValueError(f'samples must have shape (k, {self.n_channels}) with k times, '
                             f'got {x.shape} and {t.shape[0]} times')
        if self.last is not None:
            x = np.vstack([self.last[None, :], x])
            t = np.concatenate([[self.last_t_ns], t])
        if np.any(np.diff(t) <= 0):
            raise ValueError('times_ns must increase (and follow the previous call)')
        if self.ref is None:
            self.ref = x[0].copy()
        while True:
            ref = self.ref.copy()
            neuron = np.empty(self._cap, dtype=np.int32)
            tt = np.empty(self._cap, dtype=np.int64)
            n = _k.delta_spikes(x, t, self.threshold, ref, neuron, tt, 0)
            if n >= 0:
                break
            self._cap *= 4
        self.ref = ref
        self.last, self.last_t_ns = x[-1].copy(), int(t[-1])
        return _pack(neuron[:n], tt[:n])


def delta(samples, times_ns, threshold, initial=None):
    """Send-on-delta code of one block of samples (see :class:`DeltaEncoder`)."""
    x = np.asarray(samples, dtype=np.float64)
    return DeltaEncoder(x.shape[1], threshold, initial).encode(x, times_ns)


def population(values, x_min, x_max, n_fields, t0_ns, t_max_s, beta=1.5, cutoff=0.1):
    """Gaussian receptive-field population code, read out as latencies (see above)."""
    v = _values(values)
    if not isinstance(n_fields, (int, np.integer)) or n_fields < 3:
        raise ValueError(f'n_fields must be an integer >= 3, got {n_fields!r}')
    if not x_max > x_min:
        raise ValueError(f'x_max must be > x_min, got [{x_min}, {x_max}]')
    _positive('beta', beta)
    _positive('t_max_s', t_max_s)
    j = np.arange(n_fields)
    centre = x_min + (2 * (j + 1) - 3) / 2 * (x_max - x_min) / (n_fields - 2)
    width = (x_max - x_min) / (beta * (n_fields - 2))
    r = np.exp(-0.5 * ((v[:, None] - centre[None, :]) / width) ** 2).ravel()
    t = int(t0_ns) + np.rint((1.0 - r) * t_max_s * 1e9).astype(np.int64)
    return _latency(t, r >= cutoff)
