"""
The embedded lane-keeping world: a track, a differential-drive robot and its camera.

One ``World.step(v_mps, omega_radps, dt_ns)`` applies the command through the
actuators (wheel-speed clamp, optional noise), integrates the pose exactly over
``dt_ns``, measures the robot against the chosen lane and, when asked, renders
the camera frame. Conventions (see ``snn_ros.sim.track``):

- the reward is the signed lateral distance ``d`` [m] of the robot (its axle
  centre) from the lane centre, positive when the robot is LEFT of the lane
  centre, looking along the driving direction;
- an episode resets when ``|d| > reset_threshold_m`` (0.2 m, as in Bing,
  Meschede et al., ICRA 2018): the robot is put back on the lane centre,
  aligned with it, at ``start_s_m`` ('start'), at a position drawn from the
  world's generator ('random') or where it left the lane ('nearest');
- progress is the centreline arc length travelled forward since the episode
  began; each full track length of progress is one lap, so a lap is always a
  lap without a reset.

Time is int64 nanoseconds from ``reset``. Randomness (actuator noise, lighting
noise, random reset positions) comes from one ``np.random.Generator`` seeded by
``reset(seed)``; the floor texture is fixed by ``SceneParams.texture_seed``.
"""

from dataclasses import dataclass, field
import math
from typing import NamedTuple, Optional, Tuple

import numpy as np

from snn_ros.sim.camera import CameraParams, Renderer, SceneParams, TrackRaster
from snn_ros.sim.robot import apply_actuators, integrate_unicycle, RobotParams
from snn_ros.sim.track import make_track, Track, wrap_angle

RESET_MODES = ('start', 'random', 'nearest')


@dataclass(frozen=True)
class WorldParams:
    """
    Everything that defines a world.

    ``track``: a track name ('bing', 'oval', 's_loop') or a ``Track``; ``lane``:
    'outer' or 'inner'; ``reset_threshold_m`` [m]; ``reset_mode`` (see the module
    docstring); ``start_s_m`` [m] centreline arc length of the start; ``seed``
    used by ``reset()`` without a seed; robot, camera and scene parameters.
    """

    track: object = 'bing'
    lane: str = 'outer'
    reset_threshold_m: float = 0.2
    reset_mode: str = 'start'
    start_s_m: float = 0.0
    seed: int = 0
    robot: RobotParams = field(default_factory=RobotParams)
    camera: CameraParams = field(default_factory=CameraParams)
    scene: SceneParams = field(default_factory=SceneParams)

    def __post_init__(self):
        """Validate the parameters."""
        if self.lane not in ('outer', 'inner'):
            raise ValueError(f"lane={self.lane!r}: allowed values are 'outer', 'inner'")
        if not self.reset_threshold_m > 0.0:
            raise ValueError(f'reset_threshold_m={self.reset_threshold_m}: must be > 0')
        if self.reset_mode not in RESET_MODES:
            raise ValueError(f'reset_mode={self.reset_mode!r}: allowed values are '
                             f'{list(RESET_MODES)}')


class Observation(NamedTuple):
    """
    What the world reports after ``reset`` or ``step``.

    ``image``: uint8 ``(H, W)`` camera frame of the current pose, or None when not
    rendered. ``t_ns``: time since ``reset`` [ns]. ``pose``: ``(x_m, y_m,
    theta_rad)`` now (after a reset, if one happened). ``v_mps``,
    ``omega_radps``: the twist the wheels executed this step. ``d_m``: signed
    lateral distance from the lane centre at the end of the motion, BEFORE any
    reset: the reward of this step. ``heading_error_rad``: robot heading minus
    lane heading at that point. ``s_m``: centreline arc length now. ``reset``:
    the episode ended this step (or the world was just reset). ``lap_done``: a
    lap was completed this step. ``laps``: laps since ``World.reset``.
    ``episode_laps``: laps since the last episode reset. ``resets``: episode
    resets since ``World.reset``. ``progress_m``: centreline progress since the
    start of the episode [m]. ``steps``: steps since ``World.reset``.
    """

    image: Optional[np.ndarray]
    t_ns: int
    pose: Tuple[float, float, float]
    v_mps: float
    omega_radps: float
    d_m: float
    heading_error_rad: float
    s_m: float
    reset: bool
    lap_done: bool
    laps: int
    episode_laps: int
    resets: int
    progress_m: float
    steps: int


class World:
    """
    The lane-keeping world; see the module docstring.

    ``World(params=WorldParams())``; ``reset(seed=None, render=True) -> Observation``;
    ``step(v_mps, omega_radps, dt_ns=50_000_000, render=True) -> Observation``;
    ``step_wheels(v_left_mps, v_right_mps, dt_ns=50_000_000, render=True)``;
    ``render() -> image``; ``set_pose(x_m, y_m, theta_rad)``; ``lane_state() ->
    (d_m, heading_error_rad, s_m)``. Attributes: ``params``, ``track``,
    ``camera`` (``CameraParams``), ``renderer``, ``lane_offset_m``,
    ``lane_length_m``, ``rng``; the pose ``x``, ``y``, ``theta`` (read it; move
    the robot with ``set_pose``).
    """

    def __init__(self, params=WorldParams()):
        self.params = params
        self.track = params.track if isinstance(params.track, Track) else \
            make_track(params.track)
        self.camera = params.camera
        self.lane_offset_m = self.track.lane_offset_m(params.lane)
        self.lane_length_m = self.track.lane_length_m(params.lane)
        self.renderer = Renderer(params.camera, TrackRaster(self.track, params.scene))
        self.reset()

    # --- state ------------------------------------------------------------------------------

    def _place(self, s_m):
        x, y, psi = self.track.pose_at(s_m, self.lane_offset_m)
        self.x, self.y, self.theta = x, y, psi
        self._s, _, _, self._piece = self.track.project_point(x, y)
        self.progress_m = 0.0
        self.episode_laps = 0

    def _reset_s(self):
        mode = self.params.reset_mode
        if mode == 'start':
            return self.params.start_s_m
        if mode == 'random':
            return float(self.rng.uniform(0.0, self.track.length_m))
        return self._s

    def reset(self, seed=None, render=True):
        """Restart time, counters and the generator (``seed`` or ``params.seed``)."""
        self.rng = np.random.default_rng(self.params.seed if seed is None else seed)
        self.t_ns = 0
        self.steps = 0
        self.laps = 0
        self.resets = 0
        self._place(self.params.start_s_m)
        return self._observation(0.0, 0.0, 0.0, 0.0, True, False, render)

    def set_pose(self, x_m, y_m, theta_rad):
        """Put the robot at a pose [m, m, rad] (tests, demos); counters are kept."""
        self.x, self.y, self.theta = float(x_m), float(y_m), float(theta_rad)
        self._s, _, _, self._piece = self.track.project_point(self.x, self.y)

    def render(self, out=None):
        """Render the camera frame of the current pose (uint8, ``(H, W)``)."""
        return self.renderer.render(self.x, self.y, self.theta, self.rng, out)

    def _observation(self, v, omega, d, heading_error, reset, lap_done, render):
        return Observation(self.render() if render else None, self.t_ns,
                           (self.x, self.y, self.theta), v, omega, d, heading_error, self._s,
                           reset, lap_done, self.laps, self.episode_laps, self.resets,
                           self.progress_m, self.steps)

    # --- stepping ---------------------------------------------------------------------------

    def step(self, v_mps, omega_radps, dt_ns=50_000_000, render=True):
        """Drive with the twist ``(v_mps, omega_radps)`` for ``dt_ns`` nanoseconds."""
        dt_ns = int(dt_ns)
        if dt_ns <= 0:
            raise ValueError(f'dt_ns={dt_ns}: must be a positive number of nanoseconds')
        v, omega = apply_actuators(self.params.robot, float(v_mps), float(omega_radps),
                                   self.rng)
        self.x, self.y, self.theta = integrate_unicycle(self.x, self.y, self.theta, v, omega,
                                                        dt_ns * 1e-9)
        self.t_ns += dt_ns
        self.steps += 1
        s, n, psi, self._piece = self.track.project_point(self.x, self.y, self._piece)
        length = self.track.length_m
        self.progress_m += (s - self._s + 0.5 * length) % length - 0.5 * length
        self._s = s
        lap_done = False
        if self.progress_m >= length:
            self.progress_m -= length
            self.laps += 1
            self.episode_laps += 1
            lap_done = True
        d = n - self.lane_offset_m
        heading_error = math.pi - (math.pi - (self.theta - psi)) % (2.0 * math.pi)
        reset = abs(d) > self.params.reset_threshold_m
        if reset:
            self.resets += 1
            self._place(self._reset_s())
        return self._observation(v, omega, d, heading_error, reset, lap_done, render)

    def step_wheels(self, v_left_mps, v_right_mps, dt_ns=50_000_000, render=True):
        """Drive with wheel speeds [m/s] for ``dt_ns`` nanoseconds."""
        b = self.params.robot.wheel_base_m
        return self.step(0.5 * (v_left_mps + v_right_mps), (v_right_mps - v_left_mps) / b,
                         dt_ns, render)

    def lane_state(self):
        """Return ``(d_m, heading_error_rad, s_m)`` of the current pose."""
        s, n, psi, _ = self.track.project_point(self.x, self.y, self._piece)
        return n - self.lane_offset_m, float(wrap_angle(self.theta - psi)), s
