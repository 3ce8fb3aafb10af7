"""
The Controller: events and reward in, motor command out, learning while it drives.

One object serves the ROS node and the in-process trainer, so what is measured in
process holds in ROS. Its description is one YAML file: a network (see
``snn_ros.core.netfile``) plus three sections::

    input_map:   # events -> spikes of an 'array' source, one spike per event
      source: input          # the source the events feed
      grid: [8, 4]           # cells (nx, ny)
      roi: [0.0, 0.5, 1.0, 0.5]   # x0, y0, width, height as fractions of the sensor
      polarity: merged       # merged | separate (ON events on a second plane)
      refractory_s: 5.0e-5   # optional: an input neuron's refractory period [s]; events
                             # within it are merged and counted (default 0: none)
    readout:     # motor populations -> wheel speeds -> (v, omega)
      left: motor_left       # population driving the left wheel
      right: motor_right
      tau_s: 0.2             # rate estimate: exponential trace of the spikes [s]
      v_min_mps: 0.05        # wheel speed at rate 0 [m/s]
      gain_m: 0.01           # wheel speed per Hz of population rate [m]
      wheel_base_m: 0.33
    reward:      # reward value -> dopamine of each plastic target population
      gain: {motor_left: 1.0, motor_right: -1.0}

Time is int64 ns of one clock (ROS time in the node): events carry their times,
and ``advance`` moves the network on when no event comes. The network counts time
from the first time it is given (``epoch_ns``): its kernels hold times as float64
ns, exact to the ns for 104 days from their start, but only to 256 ns at ROS's
1.8e18 ns since 1970.
"""

import math

import numpy as np

from snn_ros.core import netfile
from snn_ros.core.jit import njit
from snn_ros.core.simulator import Simulator
from snn_ros.core.types import EVENT_DTYPE, NS_PER_S
from snn_ros.core.weightfile import load_arrays, save_arrays
from snn_ros.encoding.input_map import GridInputMap, POLARITY_MODES

SECTIONS = ('input_map', 'readout', 'reward')
#: How much spike history the raster buffer keeps [ns].
RASTER_KEEP_NS = 60 * NS_PER_S
_INPUT_KEYS = {'source', 'grid', 'roi', 'polarity'}
_READOUT_KEYS = {'left', 'right', 'tau_s', 'v_min_mps', 'gain_m', 'wheel_base_m'}
_REWARD_KEYS = {'gain'}


def _section(spec, name, keys, source, optional=frozenset()):
    section = spec.get(name)
    if not isinstance(section, dict):
        raise netfile.NetfileError(f'{source}: {name}: missing; allowed: a mapping with '
                                   f'keys {sorted(keys)}')
    unknown = set(section) - keys - optional
    missing = keys - set(section)
    if unknown or missing:
        raise netfile.NetfileError(f'{source}: {name}: unknown keys {sorted(unknown)}, '
                                   f'missing keys {sorted(missing)}; allowed: '
                                   f'{sorted(keys | optional)}')
    return section


def _number(section, name, key, source, low=0.0, strict=True):
    value = section[key]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
        value > low if strict else value >= low)
    if not ok:
        raise netfile.NetfileError(f'{source}: {name}.{key} = {value!r}; allowed: a number '
                                   f'{">" if strict else ">="} {low}')
    return float(value)


def validate_sections(spec, source):
    """Check the controller sections of a spec; raise ``NetfileError`` naming the field."""
    names = {p['name']: p for p in spec['populations']}
    sources = {s['name']: s for s in spec['sources']}
    inp = _section(spec, 'input_map', _INPUT_KEYS, source, optional={'refractory_s'})
    inp['refractory_s'] = _number(inp, 'input_map', 'refractory_s', source, strict=False) \
        if 'refractory_s' in inp else 0.0
    if inp['source'] not in sources or sources[inp['source']]['kind'] != 'array':
        raise netfile.NetfileError(f"{source}: input_map.source = {inp['source']!r}; allowed: "
                                   f"an 'array' source of {sorted(sources)}")
    grid = inp['grid']
    if not (isinstance(grid, list) and len(grid) == 2
            and all(isinstance(v, int) and v >= 1 for v in grid)):
        raise netfile.NetfileError(f'{source}: input_map.grid = {grid!r}; allowed: [nx, ny], '
                                   'two ints >= 1')
    roi = inp['roi']
    if not (isinstance(roi, list) and len(roi) == 4
            and all(isinstance(v, (int, float)) for v in roi)
            and 0 <= roi[0] < 1 and 0 <= roi[1] < 1 and roi[2] > 0 and roi[3] > 0
            and roi[0] + roi[2] <= 1 and roi[1] + roi[3] <= 1):
        raise netfile.NetfileError(f'{source}: input_map.roi = {roi!r}; allowed: [x0, y0, '
                                   'width, height] as fractions of the sensor, inside [0, 1]')
    if inp['polarity'] not in POLARITY_MODES:
        raise netfile.NetfileError(f"{source}: input_map.polarity = {inp['polarity']!r}; "
                                   f'allowed: {list(POLARITY_MODES)}')
    size = grid[0] * grid[1] * (2 if inp['polarity'] == 'separate' else 1)
    if sources[inp['source']]['size'] != size:
        raise netfile.NetfileError(f"{source}: sources '{inp['source']}'.size must be "
                                   f'{size} (grid cells x polarity planes)')
    out = _section(spec, 'readout', _READOUT_KEYS, source)
    for side in ('left', 'right'):
        if out[side] not in names:
            raise netfile.NetfileError(f'{source}: readout.{side} = {out[side]!r}; allowed: '
                                       f'one of the populations {sorted(names)}')
    for key in ('tau_s', 'gain_m', 'wheel_base_m'):
        _number(out, 'readout', key, source)
    out['v_min_mps'] = _number(out, 'readout', 'v_min_mps', source, strict=False)
    reward = _section(spec, 'reward', _REWARD_KEYS, source)
    gain = reward['gain']
    if not isinstance(gain, dict) or not set(gain) <= set(names) or not all(
            isinstance(v, (int, float)) for v in gain.values()):
        raise netfile.NetfileError(f'{source}: reward.gain = {gain!r}; allowed: a mapping '
                                   f'from populations {sorted(names)} to numbers')


class Controller:
    """
    The SNN controller; see the module docstring.

    ``feed(events, width, height)`` takes time-sorted events (EVENT_DTYPE, ns);
    ``reward(value, t_ns)`` delivers reward; ``advance(t_ns)`` runs the network on;
    ``command()`` returns ``(v [m/s], omega [rad/s])``.
    """

    def __init__(self, spec, seed=0, source='<spec>'):
        validate_sections(spec, source)
        self.spec = spec
        self.seed = int(seed)
        built = netfile.build_network(spec, rng=np.random.default_rng(self.seed),
                                      source=source)
        self.built = built
        self.sim = Simulator(built.net, seed=self.seed)
        inp, out = spec['input_map'], spec['readout']
        self.input = built.sources[inp['source']]
        self.left = built.populations[out['left']]
        self.right = built.populations[out['right']]
        self.tau_ns = out['tau_s'] * NS_PER_S
        self.reward_gain = {built.populations[name]: float(g)
                            for name, g in spec['reward']['gain'].items()}
        self.input_map = None
        # node id -> raster row, the recorded populations' neurons in order (-1: other)
        self.row_of = np.full(built.net.n_nodes, -1, np.int32)
        self.n_rows = 0
        for pop in built.populations.values():
            if pop.record:
                self.row_of[pop.start:pop.start + pop.size] = self.n_rows + np.arange(pop.size)
                self.n_rows += pop.size
        # readout: each side's node ids [start, end) and its rate per spike [Hz]
        self.sides = np.array([[p.start, p.start + p.size] for p in (self.left, self.right)])
        self.side_hz = np.array([NS_PER_S / self.tau_ns / p.size for p in (self.left, self.right)])
        self._raster = np.zeros(0, dtype=[('neuron', '<i4'), ('t', '<i8')])
        self._raster_new = []  # (node ids, times) recorded since ``_raster`` was last trimmed
        self.trace = np.zeros(2)  # (left, right) population rate estimates [Hz]
        self.trace_t_ns = 0
        self.epoch_ns = None  # the clock's time at network time 0 (set by the first input)
        self.events_fed = 0
        self.late_events = 0

    @classmethod
    def from_file(cls, path, seed=0):
        """Load and validate the controller description at ``path``."""
        spec = netfile.load_spec(path, extra_keys=SECTIONS)
        return cls(spec, seed=seed, source=str(path))

    def describe(self):
        """Return a one-line summary of the network."""
        n_syn = sum(p.n_synapses for p in self.built.net.projections)
        return (f'{len(self.built.populations)} populations, {self.built.net.n_nodes} nodes, '
                f'{n_syn} synapses')

    # --- time and input -------------------------------------------------------------------

    @property
    def t_ns(self):
        """Return the network's time on the input clock [ns]."""
        return self.sim.t_ns + (self.epoch_ns or 0)

    def _epoch(self, t_ns):
        """Return ``epoch_ns``, the clock's time at network time 0: the first time(s) given."""
        if self.epoch_ns is None:
            self.epoch_ns = int(np.min(t_ns))
        return self.epoch_ns

    def rebase(self, t_ns):
        """
        Make the input clock's ``t_ns`` the network's current time (the clock jumped).

        The network's own time goes on: events stamped after ``t_ns`` on the new
        clock are on time again. The input map starts afresh (its refractory
        periods were on the old clock).
        """
        self.epoch_ns = int(t_ns) - self.sim.t_ns
        self.input_map = None

    def _map_for(self, width, height):
        if self.input_map is None or (self.input_map.width, self.input_map.height) != \
                (width, height):
            inp = self.spec['input_map']
            fx0, fy0, fw, fh = inp['roi']
            x0, y0 = int(fx0 * width), int(fy0 * height)
            roi = (x0, y0, max(1, min(width - x0, round(fw * width))),
                   max(1, min(height - y0, round(fh * height))))
            self.input_map = GridInputMap(width, height, tuple(inp['grid']), roi,
                                          inp['polarity'],
                                          refractory_ns=round(inp['refractory_s'] * NS_PER_S))
        return self.input_map

    def feed(self, events, width, height):
        """
        Feed time-sorted events from a ``width`` x ``height`` sensor; return how many were late.

        Events older than the network time cannot be delivered any more: the input
        map skips and counts them (the count is returned) before its region and
        refractory periods see them.
        """
        if events.shape[0] == 0:
            return 0
        input_map = self._map_for(width, height)
        before = input_map.late
        spikes = input_map.to_spikes(events, None if self.epoch_ns is None else self.t_ns)
        late = input_map.late - before
        self.late_events += late
        if spikes.shape[0]:
            t = spikes['t']
            t -= self._epoch(t)  # in place: one numpy call less per packet
            self.sim.push_spikes(self.input, spikes['neuron'], t)
            self.events_fed += spikes.shape[0]
            self._run_to(int(spikes['t'][-1]))
        return late

    def advance(self, t_ns):
        """Run the network on to ``t_ns`` if that is later than the network time."""
        t_net = int(t_ns) - self._epoch(int(t_ns))
        if t_net > self.sim.t_ns:
            self._run_to(t_net)

    def _run_to(self, t_ns):
        self.sim.run_until(t_ns)
        self._collect()

    def _collect(self):
        """
        Move the recorded spikes into the readout traces and the raster buffer.

        Runs after every packet, so it makes few numpy calls: each costs tens of us
        when the caches are cold, as they are between camera frames.
        """
        now = self.sim.t_ns
        self.trace *= math.exp(-(now - self.trace_t_ns) / self.tau_ns)
        self.trace_t_ns = now
        src, t = self.sim.recorded_spikes()
        self.sim.clear_spikes()
        if src.shape[0]:
            _add_rates(src, t, now, self.tau_ns, self.sides, self.side_hz, self.trace)
            self._raster_new.append((src, t))
            if len(self._raster_new) > 1000:
                self._raster_spikes()

    def _raster_spikes(self):
        """Return the recorded spikes of the last ``RASTER_KEEP_NS``, trimming older ones."""
        if self._raster_new:
            row = self.row_of[np.concatenate([c[0] for c in self._raster_new])]
            keep = row >= 0
            new = np.empty(int(np.count_nonzero(keep)), self._raster.dtype)
            new['neuron'] = row[keep]
            new['t'] = np.concatenate([c[1] for c in self._raster_new])[keep]
            self._raster = np.concatenate([self._raster, new])
            self._raster_new = []
        self._raster = self._raster[self._raster['t'] >= self.sim.t_ns - RASTER_KEEP_NS]
        return self._raster

    # --- reward, learning and output ------------------------------------------------------

    def reward(self, value, t_ns):
        """Deliver ``value`` at ``t_ns`` to every population of ``reward.gain``, scaled."""
        self.advance(t_ns)
        for pop, gain in self.reward_gain.items():
            self.sim.deliver_reward(self.sim.t_ns, gain * float(value), pop)

    @property
    def learning(self):
        """Whether plastic weights change (traces evolve either way)."""
        return self.sim.learning

    @learning.setter
    def learning(self, on):
        self.sim.learning = bool(on)

    def rates_hz(self):
        """Return the (left, right) motor population rate estimates [Hz]."""
        return self.trace.copy()

    def command(self):
        """Return ``(v [m/s], omega [rad/s])`` from the motor rates (unclamped)."""
        out = self.spec['readout']
        rate_left, rate_right = self.trace.tolist()
        v_left = out['v_min_mps'] + out['gain_m'] * rate_left
        v_right = out['v_min_mps'] + out['gain_m'] * rate_right
        return 0.5 * (v_left + v_right), (v_right - v_left) / out['wheel_base_m']

    def raster(self, t_from_ns, t_to_ns, bins=200):
        """Return a spike raster image (uint8, neurons x ``bins``) of ``[t_from, t_to)``."""
        image = np.zeros((self.n_rows, bins), dtype=np.uint8)
        spikes = self._raster_spikes()
        epoch = self.epoch_ns or 0
        t_from_ns, t_to_ns = t_from_ns - epoch, t_to_ns - epoch
        keep = (spikes['t'] >= t_from_ns) & (spikes['t'] < t_to_ns)
        column = (spikes['t'][keep] - t_from_ns) * bins // max(1, t_to_ns - t_from_ns)
        image[spikes['neuron'][keep], column] = 255
        return image

    def stats(self):
        """Return counters for diagnostics."""
        merged = self.input_map.merged if self.input_map is not None else 0
        return {'network_time_s': self.t_ns / NS_PER_S, 'input_spikes': self.events_fed,
                'late_events': self.late_events, 'refractory_merged_events': merged,
                'rate_left_hz': float(self.trace[0]),
                'rate_right_hz': float(self.trace[1])}

    # --- state ----------------------------------------------------------------------------

    def save(self, path):
        """Save the weights and learning state atomically to the ``.npz`` file ``path``."""
        save_arrays(path, **self.sim.state_arrays())

    def load(self, path):
        """Load weights and learning state saved by :meth:`save`; refuse a foreign file."""
        expected = self.sim.state_arrays()
        arrays = load_arrays(path, expected_keys=set(expected))
        for key, value in arrays.items():
            if value.shape != expected[key].shape:
                raise ValueError(f'{path}: {key} has shape {value.shape}, this network needs '
                                 f'{expected[key].shape}')
        self.sim.load_state_arrays(arrays)

    def reset(self):
        """Restart the network dynamics at the current time; weights are kept."""
        self.sim.reset_dynamics()
        self.trace[:] = 0.0
        self._raster = self._raster[:0]
        self._raster_new = []

    def warm_up(self):
        """Compile (or load from the numba cache) every kernel, on a copy of the network."""
        twin = Controller(self.spec, seed=self.seed)
        width, height = 64, 48
        events = np.zeros(64, dtype=EVENT_DTYPE)
        events['x'] = np.arange(64) % width
        events['y'] = height - 1 - np.arange(64) % (height // 2)
        events['t'] = np.arange(64) * 100_000
        twin.feed(events, width, height)
        twin.reward(1.0, int(events['t'][-1]) + 1)
        twin.advance(int(events['t'][-1]) + 50_000_000)
        twin.command()


@njit
def _add_rates(src, t, now, tau_ns, sides, side_hz, trace):
    """Add each side's spikes, decayed from ``t`` to ``now``, to its rate trace [Hz]."""
    for side in range(2):
        total = 0.0
        for k in range(src.shape[0]):
            if sides[side, 0] <= src[k] < sides[side, 1]:
                total += math.exp((t[k] - now) / tau_ns)
        trace[side] += total * side_hz[side]
