"""
The in-process closed loop: world, camera, emulated DVS, controller, wheels (no ROS).

Every step of ``step_s`` (50 ms, as in Bing, Meschede et al., ICRA 2018)::

    (v, omega) = controller.command()            clamped like controller_node
    obs        = world.step(v, omega, step)      pose, d, resets, laps, camera frame
    events     = dvs.step(obs.image, obs.t_ns)   events of the step, at their own times
    controller <- events                         event by event ('events'), or as
                                                 Poisson rates of per-cell counts ('rate')
    controller.advance(t); controller.reward(r, t)

with ``r = d`` (the world's signed lateral distance, positive left of the lane
centre) or, with ``reward='camera'``, the camera-only estimate of
``snn_ros.control.lane_reward`` (ground mode). The controller is the same
``Controller`` class ``controller_node`` runs (or the Braitenberg baseline,
which has the same methods). When the world resets an episode (|d| > 0.2 m) the
DVS forgets its reference frame, so the jump of the camera makes no events; the
network keeps its state and learns from the reward of the reset step.

A controller file may carry one section the node does not read, ``rate_code``,
for frame-locked setups such as Bing et al.'s: each step's events are counted
per input cell, and each cell fires as a Poisson process of rate
``clip(count / max_events_per_cell, 0, 1) * rate_max_hz`` over the same step
(``snn_ros.encoding.codes.rate_poisson``); the spikes enter the controller as
one synthetic event per spike at a pixel of that cell, so they pass through the
controller's own input map. ``count: events`` (the default) counts every event;
``count: pixels`` counts the pixels of the cell that had at least one event in
the step, which is what a frame-based DVS model gives (V-REP's DVS128, used by
Bing et al., reports each changed pixel once per 50 ms simulation step, while
our continuous-time emulator may emit several events per pixel in a step).

Records, per step: ``d_m``, ``reset``, ``lap_done``, the pose, the executed
twist and the reward; per lap (a lap is always reset-free): its last step, its
steps and its mean |d|. ``steps_to_first_clean_lap`` counts steps from the start
of the run to the end of the first lap. Everything is deterministic given the
seed: one ``np.random.SeedSequence(seed)`` gives the world, the DVS and the rate
code their generators, and the controller gets ``seed``.
"""

import math
from pathlib import Path
import time
from typing import NamedTuple

import numpy as np

from snn_ros.control.braitenberg import BraitenbergController
from snn_ros.control.controller import Controller, SECTIONS
from snn_ros.control.lane_reward import LaneReward
from snn_ros.core import netfile
from snn_ros.core.types import EVENT_DTYPE, NS_PER_S
from snn_ros.encoding.codes import rate_poisson
from snn_ros.encoding.emulator import DvsEmulator, EmulatorParams
from snn_ros.encoding.input_map import GridInputMap
from snn_ros.sim.camera import CameraParams, SceneParams
from snn_ros.sim.world import World, WorldParams

#: Controller names the harness knows, and their description files in config/.
CONTROLLERS = {'braitenberg': None, 'bing2018': 'bing2018.yaml',
               'lane_keeping': 'lane_keeping.yaml'}
#: Sections of a controller file that only the harness reads.
HARNESS_KEYS = ('rate_code',)
_RATE_KEYS = {'max_events_per_cell', 'rate_max_hz'}
_RATE_OPTIONAL = {'count': ('events', 'pixels')}
REWARD_SOURCES = ('world', 'camera')


class LoopParams(NamedTuple):
    """
    Settings of the loop (not of the controller).

    ``step_s`` [s]; ``reward``: 'world' (true d) or 'camera' (image estimate);
    ``learning``; world: ``track``, ``lane``, ``reset_mode``, ``texture`` (floor
    and road texture; off by default: a plain road as in Bing et al.'s
    simulated scene, see ``BENCHMARKS.md``), ``image_px`` (square camera);
    DVS contrast threshold ``theta`` [log intensity]; command clamps
    ``max_linear_mps``, ``max_angular_radps`` (those of controller_node).
    """

    step_s: float = 0.05
    reward: str = 'world'
    learning: bool = True
    track: str = 'bing'
    lane: str = 'outer'
    reset_mode: str = 'start'
    texture: bool = False
    image_px: int = 128
    theta: float = 0.2
    max_linear_mps: float = 0.5
    max_angular_radps: float = 2.0


def config_path(name):
    """Return the path of a controller file: as given, else in the package's config/."""
    path = Path(name)
    if path.is_file():
        return path
    candidate = Path(__file__).resolve().parents[2] / 'config' / name
    if candidate.is_file():
        return candidate
    raise ValueError(f'controller file {name!r}: no such file (looked here and in '
                     f'{candidate.parent}); allowed: a path or one of {sorted(CONTROLLERS)}')


def load_spec(path):
    """Load a controller file with the harness-only sections allowed."""
    spec = netfile.load_spec(path, extra_keys=SECTIONS + HARNESS_KEYS)
    block = spec.get('rate_code')
    if block is not None:
        numbers = {k: v for k, v in block.items() if k in _RATE_KEYS} \
            if isinstance(block, dict) else {}
        if not isinstance(block, dict) or set(numbers) != _RATE_KEYS or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
                for v in numbers.values()) or any(
                key not in _RATE_OPTIONAL or value not in _RATE_OPTIONAL[key]
                for key, value in block.items() if key not in _RATE_KEYS):
            raise netfile.NetfileError(
                f'{path}: rate_code = {block!r}; allowed: a mapping with the keys '
                f'{sorted(_RATE_KEYS)} (numbers > 0) and optionally '
                + ', '.join(f'{k} (one of {list(v)})' for k, v in _RATE_OPTIONAL.items()))
    return spec


def make_controller(name, seed=0):
    """
    Build a controller by name or file; return ``(controller, feed)``.

    ``name``: 'braitenberg', a name of ``CONTROLLERS`` or a controller file.
    ``feed``: 'events' or a ``rate_code`` dict (see the module docstring).
    """
    if name == 'braitenberg':
        return BraitenbergController(seed=seed), 'events'
    path = config_path(CONTROLLERS.get(name) or name)
    spec = load_spec(path)
    controller = Controller(spec, seed=seed, source=str(path))
    return controller, spec.get('rate_code') or 'events'


class RateFeed:
    """
    Frame-locked Poisson rate coding of per-cell event counts (see the module docstring).

    ``input_map`` is a ``GridInputMap`` equal to the controller's; ``pixel`` (int64,
    (n_neurons, 2)) holds one (x, y) pixel of each input neuron's cell.
    """

    def __init__(self, spec, width, height, rng):
        inp, code = spec['input_map'], spec['rate_code']
        fx0, fy0, fw, fh = inp['roi']
        x0, y0 = int(fx0 * width), int(fy0 * height)
        roi = (x0, y0, max(1, min(width - x0, round(fw * width))),
               max(1, min(height - y0, round(fh * height))))
        self.input_map = GridInputMap(width, height, tuple(inp['grid']), roi, 'merged')
        if inp['polarity'] != 'merged':
            raise ValueError(f"rate_code needs input_map.polarity 'merged', got "
                             f"{inp['polarity']!r}")
        table = self.input_map.table
        flat = np.argmax(table.ravel()[None, :] == np.arange(self.input_map.n_cells)[:, None],
                         axis=1)
        self.pixel = np.stack([flat % width, flat // width], axis=1)
        self.max_events = float(code['max_events_per_cell'])
        self.rate_max_hz = float(code['rate_max_hz'])
        self.count = code.get('count', 'events')
        self.width = int(width)
        self.rng = rng

    def cell_counts(self, events):
        """Return the per-cell count of ``events``: events, or distinct pixels with one."""
        if self.count == 'pixels' and events.shape[0]:
            flat = np.unique(events['y'].astype(np.int64) * self.width + events['x'])
            events = np.zeros(flat.shape[0], dtype=EVENT_DTYPE)
            events['x'], events['y'] = flat % self.width, flat // self.width
        return self.input_map.counts(events)

    def events(self, events, t0_ns, t1_ns):
        """Return one synthetic event per Poisson spike of the window ``[t0_ns, t1_ns)``."""
        counts = self.cell_counts(events)
        spikes = rate_poisson(np.clip(counts / self.max_events, 0.0, 1.0), self.rate_max_hz,
                              t0_ns, t1_ns, self.rng)
        out = np.empty(spikes.shape[0], dtype=EVENT_DTYPE)
        out['x'] = self.pixel[spikes['neuron'], 0]
        out['y'] = self.pixel[spikes['neuron'], 1]
        out['p'] = 1
        out['t'] = spikes['t']
        return out


class LapStats(NamedTuple):
    """One completed lap: its last step (0-based), its length in steps and its mean |d| [m]."""

    step: int
    steps: int
    mean_abs_d_m: float


class LoopResult(NamedTuple):
    """
    What a run recorded; arrays have one entry per step.

    ``d_m`` (float64) the reward distance before any reset; ``reward`` (float64)
    what was delivered; ``reset``, ``lap_done`` (bool); ``pose`` (float64,
    (steps, 3)) x, y, theta after the step; ``twist`` (float64, (steps, 2)) the
    executed (v, omega); ``laps``: list of ``LapStats``; ``wall_s``; ``step_s``.
    """

    d_m: np.ndarray
    reward: np.ndarray
    reset: np.ndarray
    lap_done: np.ndarray
    pose: np.ndarray
    twist: np.ndarray
    laps: list
    wall_s: float
    step_s: float

    @property
    def steps(self):
        """Return the number of steps."""
        return int(self.d_m.shape[0])

    @property
    def steps_to_first_clean_lap(self):
        """Return the steps until the end of the first lap (which has no reset), or None."""
        return self.laps[0].step + 1 if self.laps else None

    @property
    def realtime_factor(self):
        """Return simulated time / wall time."""
        return self.steps * self.step_s / max(self.wall_s, 1e-12)

    def mean_abs_d_per_lap(self):
        """Return the mean |d| [m] of each completed lap (float64 array)."""
        return np.array([lap.mean_abs_d_m for lap in self.laps])

    def resets_per_window(self, window):
        """Return the resets in each window of ``window`` steps (int64 array)."""
        n = self.steps // window
        return self.reset[:n * window].reshape(n, window).sum(axis=1)

    def summary(self):
        """Return a JSON-ready dict of the headline figures."""
        per_lap = self.mean_abs_d_per_lap()
        return {'steps': self.steps, 'resets': int(self.reset.sum()),
                'laps': len(self.laps),
                'steps_to_first_clean_lap': self.steps_to_first_clean_lap,
                'mean_abs_d_m': float(np.mean(np.abs(self.d_m))) if self.steps else None,
                'mean_abs_d_per_lap_m': [round(float(v), 5) for v in per_lap],
                'mean_abs_d_last_lap_m': float(per_lap[-1]) if per_lap.size else None,
                'wall_s': round(self.wall_s, 3),
                'realtime_factor': round(self.realtime_factor, 1)}


def concat(results):
    """Join consecutive results of one loop into one (lap steps shifted)."""
    laps, offset = [], 0
    for result in results:
        laps += [LapStats(lap.step + offset, lap.steps, lap.mean_abs_d_m)
                 for lap in result.laps]
        offset += result.steps
    cat = np.concatenate
    return LoopResult(cat([r.d_m for r in results]), cat([r.reward for r in results]),
                      cat([r.reset for r in results]), cat([r.lap_done for r in results]),
                      cat([r.pose for r in results]), cat([r.twist for r in results]), laps,
                      sum(r.wall_s for r in results), results[0].step_s)


class ClosedLoop:
    """
    One world, one DVS and one controller, stepped together; see the module docstring.

    ``ClosedLoop(controller, feed='events', params=LoopParams(), seed=0)``;
    ``run(steps, progress=None) -> LoopResult`` continues where the last run
    stopped (``progress(step, steps, result_so_far)`` is called every 100 steps).
    """

    def __init__(self, controller, feed='events', params=LoopParams(), seed=0):
        if params.reward not in REWARD_SOURCES:
            raise ValueError(f'reward={params.reward!r}: allowed {list(REWARD_SOURCES)}')
        if not params.step_s > 0:
            raise ValueError(f'step_s={params.step_s}: must be > 0')
        self.controller = controller
        self.params = params
        self.seed = int(seed)
        streams = [np.random.default_rng(s)
                   for s in np.random.SeedSequence(self.seed).spawn(3)]
        px = int(params.image_px)
        self.world = World(WorldParams(
            track=params.track, lane=params.lane, reset_mode=params.reset_mode,
            seed=int(streams[0].integers(2**31)),
            camera=CameraParams(width_px=px, height_px=px),
            scene=SceneParams(texture=params.texture)))
        self.dvs = DvsEmulator(px, px, EmulatorParams(theta_on=params.theta,
                                                      theta_off=params.theta), streams[1])
        self.rate_feed = None if feed == 'events' else RateFeed(
            {'input_map': controller.spec['input_map'], 'rate_code': feed}, px, px, streams[2])
        self.camera_reward = LaneReward(image_to_ground=self.world.camera.image_to_ground()) \
            if params.reward == 'camera' else None
        self.step_ns = int(round(params.step_s * NS_PER_S))
        obs = self.world.reset()
        self.t_ns = obs.t_ns
        self.dvs.step(obs.image, self.t_ns)
        self.steps_done = 0
        self._lap_start = 0
        self._lap_abs_sum = 0.0
        self.controller.learning = params.learning

    def _feed(self, events, t0_ns, t1_ns):
        size = self.params.image_px
        if self.rate_feed is not None:
            events = self.rate_feed.events(events, t0_ns, t1_ns)
        self.controller.feed(events, size, size)

    def run(self, steps, progress=None):
        """Run ``steps`` steps; return what they recorded."""
        steps = int(steps)
        if steps < 0:
            raise ValueError(f'steps={steps}: must be >= 0')
        p = self.params
        d = np.zeros(steps)
        reward = np.zeros(steps)
        reset = np.zeros(steps, bool)
        lap_done = np.zeros(steps, bool)
        pose = np.zeros((steps, 3))
        twist = np.zeros((steps, 2))
        laps = []
        abs_sum = self._lap_abs_sum  # a lap may span runs
        started = time.perf_counter()
        for k in range(steps):
            v, omega = self.controller.command()
            v = float(np.clip(v, -p.max_linear_mps, p.max_linear_mps))
            omega = float(np.clip(omega, -p.max_angular_radps, p.max_angular_radps))
            if not (math.isfinite(v) and math.isfinite(omega)):
                v = omega = 0.0
            obs = self.world.step(v, omega, self.step_ns)
            t0_ns, self.t_ns = self.t_ns, obs.t_ns
            events = self.dvs.step(obs.image, obs.t_ns)
            self._feed(events, t0_ns, obs.t_ns)
            self.controller.advance(obs.t_ns)
            r = obs.d_m if self.camera_reward is None else self.camera_reward(obs.image)
            self.controller.reward(r, obs.t_ns)
            d[k], reward[k], reset[k], lap_done[k] = obs.d_m, r, obs.reset, obs.lap_done
            pose[k] = obs.pose
            twist[k] = obs.v_mps, obs.omega_radps
            abs_sum += abs(obs.d_m)
            n_lap = self.steps_done + k + 1 - self._lap_start
            if obs.lap_done:
                laps.append(LapStats(k, n_lap, abs_sum / n_lap))
            if obs.lap_done or obs.reset:
                self._lap_start = self.steps_done + k + 1
                abs_sum = 0.0
            if obs.reset:
                self.dvs.reset()
            if progress is not None and (k + 1) % 100 == 0:
                progress(k + 1, steps, laps)
        self.steps_done += steps
        self._lap_abs_sum = abs_sum
        return LoopResult(d, reward, reset, lap_done, pose, twist, laps,
                          time.perf_counter() - started, p.step_s)

    def evaluate(self, steps, progress=None):
        """Run ``steps`` steps with learning off, then restore the learning setting."""
        before = self.controller.learning
        self.controller.learning = False
        try:
            return self.run(steps, progress)
        finally:
            self.controller.learning = before


def weights_of(controller):
    """Return ``{projection name: weights (float32 copy)}`` of a controller (empty if none)."""
    built = getattr(controller, 'built', None)
    if built is None:
        return {}
    return {name: np.array(controller.sim.weights(proj), dtype=np.float32)
            for name, proj in built.projections.items()}


def run_seed(name, seed, train_steps, eval_steps=0, params=LoopParams(), progress=None):
    """
    Train the controller ``name`` for ``train_steps`` and evaluate it for ``eval_steps``.

    Returns ``(loop, train_result, eval_result or None)``.
    """
    controller, feed = make_controller(name, seed)
    loop = ClosedLoop(controller, feed, params, seed)
    train = loop.run(train_steps, progress)
    evaluation = loop.evaluate(eval_steps) if eval_steps else None
    return loop, train, evaluation
