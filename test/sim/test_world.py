"""The embedded world: reward sign, resets, laps, time and determinism."""

import math

import numpy as np
import pytest

from snn_ros.sim.camera import CameraParams, SceneParams
from snn_ros.sim.driver import PurePursuit
from snn_ros.sim.robot import RobotParams
from snn_ros.sim.world import World, WorldParams

SMALL = CameraParams(width_px=32, height_px=32)
FAST = SceneParams(raster_res_m=0.02)


def small_world(**kw):
    kw.setdefault('camera', SMALL)
    kw.setdefault('scene', FAST)
    return World(WorldParams(**kw))


@pytest.fixture(scope='module')
def world():
    return small_world()


def test_reset_places_the_robot_on_the_lane_centre(world):
    obs = world.reset(0)
    assert obs.reset and obs.t_ns == 0 and obs.steps == 0 and obs.d_m == 0.0
    x, y, th = obs.pose
    assert (x, y, th) == pytest.approx(world.track.pose_at(0.0, -0.25))
    assert world.lane_state()[0] == pytest.approx(0.0, abs=1e-12)
    assert obs.image.shape == (32, 32) and obs.image.dtype == np.uint8


def test_time_is_exact_integer_nanoseconds(world):
    world.reset(0)
    for _ in range(7):
        obs = world.step(0.2, 0.0, 33_333_333, render=False)
    assert obs.t_ns == 7 * 33_333_333 and isinstance(obs.t_ns, int)
    assert obs.image is None and obs.steps == 7
    with pytest.raises(ValueError, match='dt_ns'):
        world.step(0.1, 0.0, 0)


@pytest.mark.parametrize('omega, sign', [(0.6, 1.0), (-0.6, -1.0)])
def test_reward_is_positive_left_of_the_lane_centre(world, omega, sign):
    world.reset(0)
    # Veer left (omega > 0) or right on the first straight: d grows with that sign.
    obs = world.step(0.3, omega, 500_000_000, render=False)
    assert np.sign(obs.d_m) == sign and abs(obs.d_m) > 0.01
    x, y, th = obs.pose
    assert obs.d_m == pytest.approx(y + 0.25)  # the straight runs along +x at y = -0.25
    assert obs.heading_error_rad == pytest.approx(th)
    assert np.sign(obs.heading_error_rad) == sign


def test_leaving_the_lane_resets_to_the_start(world):
    world.reset(0)
    world.set_pose(world.x, world.y, 0.3)  # point left of the lane, drive straight
    d = []
    for _ in range(100):
        obs = world.step(0.4, 0.0, 50_000_000, render=False)
        d.append(obs.d_m)
        if obs.reset:
            break
    assert obs.reset and obs.d_m > 0.2 and obs.resets == 1
    assert all(0.0 < v <= 0.2 for v in d[:-1])  # no reset before the threshold
    assert obs.pose == pytest.approx(world.track.pose_at(0.0, -0.25))
    assert obs.progress_m == 0.0 and obs.episode_laps == 0
    assert world.lane_state()[0] == pytest.approx(0.0, abs=1e-12)


def test_reset_modes():
    params = {'reset_mode': 'random'}
    starts = []
    for seed in (1, 1, 2):
        w = small_world(**params)
        w.reset(seed)
        w.set_pose(w.x, w.y, -0.4)
        while not w.step(0.4, 0.0, 50_000_000, render=False).reset:
            pass
        starts.append(w.lane_state()[2])
        assert w.lane_state()[0] == pytest.approx(0.0, abs=1e-9)
    assert starts[0] == starts[1] != starts[2]
    w = small_world(reset_mode='nearest', start_s_m=2.0)
    w.reset(0)
    w.set_pose(w.x, w.y, 0.4)
    while not (obs := w.step(0.4, 0.0, 50_000_000, render=False)).reset:
        pass
    assert 2.0 < obs.s_m < 3.5 and w.lane_state()[0] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match='reset_mode'):
        WorldParams(reset_mode='teleport')


@pytest.mark.parametrize('lane', ['outer', 'inner'])
def test_a_lap_is_counted_once_per_track_length(lane):
    w = small_world(lane=lane)
    driver = PurePursuit(w, speed_mps=0.5, lookahead_m=0.5)
    w.reset(0)
    dt_ns = 50_000_000
    done = []
    for _ in range(int(1.1 * w.lane_length_m / 0.5 / 0.05)):
        obs = w.step(*driver.command(), dt_ns, render=False)
        assert not obs.reset
        if obs.lap_done:
            done.append(obs.t_ns * 1e-9)
    assert len(done) == 1 and obs.laps == 1 and obs.episode_laps == 1
    # Driving the lane centre at 0.5 m/s, a lap takes the lane length / speed.
    assert done[0] == pytest.approx(w.lane_length_m / 0.5, rel=0.01)


def test_same_seed_same_run_and_other_seed_other_run():
    params = {'robot': RobotParams(wheel_noise_mps=0.05), 'camera': SMALL,
              'scene': SceneParams(raster_res_m=0.02, light_gain_std=0.1,
                                   light_offset_std=4.0, pixel_noise_std=3.0)}

    def run(seed):
        w = World(WorldParams(**params))
        w.reset(seed)
        out = [w.step(0.4, 0.2, 50_000_000) for _ in range(30)]
        return np.array([o.pose for o in out]), np.stack([o.image for o in out])

    (pa, ia), (pb, ib), (pc, ic) = run(3), run(3), run(4)
    assert np.array_equal(pa, pb) and np.array_equal(ia, ib)
    assert not np.array_equal(pa, pc) and not np.array_equal(ia, ic)


def test_step_wheels_is_the_same_as_the_twist(world):
    world.reset(0)
    a = world.step_wheels(0.3, 0.4, render=False)
    world.reset(0)
    b = world.step(0.35, 0.1 / 0.33, render=False)
    assert a.pose == pytest.approx(b.pose, abs=1e-12)
    assert a.omega_radps == pytest.approx(0.1 / 0.33)


def test_render_matches_the_observation(world):
    world.reset(0)
    obs = world.step(0.3, 0.1)
    assert np.array_equal(obs.image, world.render())
    assert math.isfinite(obs.heading_error_rad)


def test_set_pose_anywhere_gives_the_true_lane_state(world):
    track = world.track
    for s in np.linspace(0.0, track.length_m, 13, endpoint=False):
        x, y, psi = track.pose_at(s, -0.25 + 0.1)
        world.set_pose(x, y, psi + 0.2)
        d, heading_error, s_now = world.lane_state()
        assert d == pytest.approx(0.1, abs=1e-9)
        assert heading_error == pytest.approx(0.2, abs=1e-9)
        assert s_now == pytest.approx(s, abs=1e-9)
        obs = world.step(0.2, 0.0, 10_000_000, render=False)
        assert obs.d_m == pytest.approx(0.1 + 0.002 * math.sin(0.2), abs=2e-3)
