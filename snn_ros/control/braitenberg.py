"""
A hand-tuned Braitenberg vehicle on DVS events: the baseline of the closed-loop harness.

Two sensors look at a band of the image (``roi``, fractions of the sensor): the
left half and the right half. Every event at column ``x`` in the band adds its
eccentricity ``e = |x - c_x| / (W / 2)`` (0 at the image centre, 1 at the border)
to its side's trace, and 1 to a total-activity trace; all traces decay with
``tau_s`` between events, in continuous time, at the events' own times::

    S_left(t)  = sum over left events  e_i exp(-(t - t_i) / tau),
    S_right(t) = sum over right events e_i exp(-(t - t_i) / tau),
    N(t)       = sum over all events     exp(-(t - t_i) / tau).

Crossed excitation (Braitenberg, "Vehicles", MIT Press 1984, vehicle 2b, with
divisive normalisation by the total activity): the right sensor drives the
left wheel and the left sensor the right wheel, on top of a cruise speed::

    v_left  = v_cruise - (gain b / 2) (S_right / N - bias / 2),
    v_right = v_cruise + (gain b / 2) (S_left  / N + bias / 2),

so that, in unicycle form (wheel base ``b``)::

    v     = speed_mps + (gain b / 4) (S_left - S_right) / N  ~ speed_mps,
    omega = gain_radps ((S_left - S_right) / N + bias).

The robot turns towards the side with fewer (eccentric) events. In the
embedded world the markings and the road edge that approach the robot fill the
band on their side, so it steers back to the lane centre. We drop the small
speed term and command ``v = speed_mps``. There is no learning: ``reward`` only
moves the clock and ``learning`` stays off. The interface is the one of
``snn_ros.control.controller.Controller``, so the harness drives either.
"""

from typing import NamedTuple

import numpy as np

from snn_ros.core.types import EVENT_DTYPE, NS_PER_S


class BraitenbergParams(NamedTuple):
    """
    Parameters of the vehicle (hand-tuned on the embedded world's 'bing' track).

    ``roi``: (x0, y0, width, height) of the sensed band, fractions of the sensor;
    ``tau_s`` [s] decay of the traces; ``gain_radps`` [rad/s] turn rate per unit
    of normalised eccentricity difference; ``bias`` that difference's offset;
    ``speed_mps`` [m/s] forward speed; ``wheel_base_m`` [m] (for wheel speeds).
    """

    roi: tuple = (0.0, 0.39, 1.0, 0.39)
    tau_s: float = 0.1
    gain_radps: float = 4.0
    bias: float = 0.0
    speed_mps: float = 0.3
    wheel_base_m: float = 0.33


def _check(params):
    x0, y0, w, h = (float(v) for v in params.roi)
    if not (0 <= x0 < 1 and 0 <= y0 < 1 and w > 0 and h > 0 and x0 + w <= 1 and y0 + h <= 1):
        raise ValueError(f'BraitenbergParams.roi = {params.roi}: allowed (x0, y0, width, '
                         'height) as fractions of the sensor, inside [0, 1]')
    for name in ('tau_s', 'wheel_base_m'):
        if not getattr(params, name) > 0:
            raise ValueError(f'BraitenbergParams.{name} = {getattr(params, name)}: must be > 0')
    if not params.speed_mps >= 0:
        raise ValueError(f'BraitenbergParams.speed_mps = {params.speed_mps}: must be >= 0')


class BraitenbergController:
    """
    The Braitenberg baseline; see the module docstring.

    Same methods as ``Controller``: ``feed(events, width, height)``,
    ``advance(t_ns)``, ``reward(value, t_ns)``, ``command()``, ``rates_hz()``,
    ``reset()``, ``save(path)``, ``load(path)``, ``raster(...)``, ``stats()``.
    State: ``traces`` (float64, 3) = (S_left, S_right, N) at ``t_ns``.
    """

    def __init__(self, params=BraitenbergParams(), seed=0):
        _check(params)
        self.params = params
        self.seed = int(seed)
        self.traces = np.zeros(3)
        self._t_ns = 0
        self.events_fed = 0
        self.late_events = 0
        self._size = None
        self._band = None

    def describe(self):
        """Return a one-line summary."""
        p = self.params
        return (f'Braitenberg vehicle (crossed excitation), gain {p.gain_radps} rad/s, '
                f'tau {p.tau_s} s, {p.speed_mps} m/s')

    @property
    def t_ns(self):
        """Return the controller time [ns]."""
        return self._t_ns

    @property
    def learning(self):
        """Return False: the vehicle does not learn."""
        return False

    @learning.setter
    def learning(self, on):
        """Accept and ignore (nothing to learn)."""

    def _decay_to(self, t_ns):
        if t_ns > self._t_ns:
            self.traces *= np.exp(-(t_ns - self._t_ns) / (self.params.tau_s * NS_PER_S))
            self._t_ns = int(t_ns)

    def _band_for(self, width, height):
        if self._size != (width, height):
            x0, y0, w, h = self.params.roi
            cols = (int(x0 * width), max(int(x0 * width) + 1, int(round((x0 + w) * width))))
            rows = (int(y0 * height), max(int(y0 * height) + 1, int(round((y0 + h) * height))))
            centre = (width - 1) / 2.0
            ecc = np.abs(np.arange(width) - centre) / (width / 2.0)
            side = (np.arange(width) > centre).astype(np.int64)  # 0 left, 1 right
            self._band = (cols, rows, ecc, side)
            self._size = (width, height)
        return self._band

    def feed(self, events, width, height):
        """Take time-sorted events (EVENT_DTYPE, ns); return how many were late (dropped)."""
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
            raise ValueError('events: must be an EVENT_DTYPE array')
        if events.shape[0] == 0:
            return 0
        late = int(np.count_nonzero(events['t'] < self._t_ns))
        if late:
            events = events[events['t'] >= self._t_ns]
            self.late_events += late
        if events.shape[0] == 0:
            return late
        (c0, c1), (r0, r1), ecc, side = self._band_for(int(width), int(height))
        x, y = events['x'].astype(np.int64), events['y'].astype(np.int64)
        keep = (x >= c0) & (x < c1) & (y >= r0) & (y < r1)
        t_end = int(events['t'][-1])
        self._decay_to(t_end)
        if np.any(keep):
            x = x[keep]
            decay = np.exp((events['t'][keep] - t_end) / (self.params.tau_s * NS_PER_S))
            weighted = ecc[x] * decay
            self.traces[0] += weighted[side[x] == 0].sum()
            self.traces[1] += weighted[side[x] == 1].sum()
            self.traces[2] += decay.sum()
            self.events_fed += int(x.shape[0])
        return late

    def advance(self, t_ns):
        """Move the clock on to ``t_ns`` (traces decay)."""
        self._decay_to(int(t_ns))

    def reward(self, value, t_ns):
        """Move the clock on; the reward itself is ignored (no learning)."""
        self.advance(t_ns)

    def _drive(self):
        left, right, total = self.traces
        if total <= 1e-9:
            return 0.0, 0.0
        return left / total, right / total

    def command(self):
        """Return ``(v [m/s], omega [rad/s])``."""
        s_left, s_right = self._drive()
        p = self.params
        return p.speed_mps, p.gain_radps * (s_left - s_right + p.bias)

    def rates_hz(self):
        """Return the (left, right) wheel drives (crossed: right sensor, left sensor) [Hz]."""
        s_left, s_right = self._drive()
        total = self.traces[2] / self.params.tau_s
        return np.array([s_right * total, s_left * total])

    def raster(self, t_from_ns, t_to_ns, bins=200):
        """Return an empty raster image (2 x ``bins``): the vehicle has no spiking neurons."""
        return np.zeros((2, bins), dtype=np.uint8)

    def stats(self):
        """Return counters for diagnostics."""
        rates = self.rates_hz()
        return {'network_time_s': self._t_ns / NS_PER_S, 'input_spikes': self.events_fed,
                'late_events': self.late_events, 'rate_left_hz': float(rates[0]),
                'rate_right_hz': float(rates[1])}

    def save(self, path):
        """Save the parameters (there are no weights) to the ``.npz`` file ``path``."""
        from snn_ros.core.weightfile import save_arrays
        p = self.params
        save_arrays(path, roi=np.asarray(p.roi, dtype=np.float64),
                    gains=np.array([p.tau_s, p.gain_radps, p.bias, p.speed_mps,
                                    p.wheel_base_m]))

    def load(self, path):
        """Load parameters saved by :meth:`save`."""
        from snn_ros.core.weightfile import load_arrays
        arrays = load_arrays(path, expected_keys={'roi', 'gains'})
        tau_s, gain, bias, speed, base = (float(v) for v in arrays['gains'])
        params = BraitenbergParams(tuple(float(v) for v in arrays['roi']), tau_s, gain, bias,
                                   speed, base)
        _check(params)
        self.params = params

    def reset(self):
        """Forget the traces (the clock keeps running)."""
        self.traces[:] = 0.0

    def warm_up(self):
        """Nothing to compile."""
