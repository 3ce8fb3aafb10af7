"""The camera-only lane reward against the embedded world's true lateral distance."""

import math

import numpy as np
import pytest

from snn_ros.control.lane_reward import (find_markings, ground_homography, lane_reward,
                                         LaneReward, LaneRewardParams)
from snn_ros.sim.camera import CameraParams, SceneParams
from snn_ros.sim.driver import PurePursuit
from snn_ros.sim.world import World, WorldParams


def _lap(scene, seed=1):
    """Drive one weaving lap; return the true d and both estimates per frame."""
    world = World(WorldParams(scene=scene))
    driver = PurePursuit(world, speed_mps=0.5, lookahead_m=0.6, weave_m=0.12,
                         weave_wavelength_m=5.0)
    pixel = LaneReward()
    ground = LaneReward(image_to_ground=world.camera.image_to_ground())
    obs = world.reset(seed)
    d, ep, eg = [], [], []
    while obs.laps == 0:
        obs = world.step(*driver.command())
        assert not obs.reset
        d.append(obs.d_m)
        ep.append(pixel(obs.image))
        eg.append(ground(obs.image))
    return np.array(d), np.array(ep), np.array(eg)


@pytest.fixture(scope='module')
def textured_lap():
    return _lap(SceneParams())


def test_ground_mode_reward_tracks_the_true_distance(textured_lap):
    d, _, est = textured_lap
    assert np.std(d) > 0.05  # the driver weaves across the lane
    assert np.corrcoef(d, est)[0, 1] >= 0.9
    assert np.polyfit(d, est, 1)[0] == pytest.approx(1.0, abs=0.15)  # metres
    assert np.median(np.abs(est - d)) < 0.02


def test_pixel_mode_reward_has_the_right_sign(textured_lap):
    d, est, _ = textured_lap
    # Without calibration the offset is read ahead of the robot, where heading
    # matters as much as position: weaker, but the same sign and scale.
    assert np.corrcoef(d, est)[0, 1] >= 0.6
    assert 0.5 < np.polyfit(d, est, 1)[0] < 1.5


def test_ground_mode_survives_lighting_and_pixel_noise():
    d, _, est = _lap(SceneParams(light_gain_std=0.1, light_offset_std=8.0,
                                 pixel_noise_std=6.0), seed=2)
    assert np.corrcoef(d, est)[0, 1] >= 0.85


def test_markings_are_found_at_known_columns():
    img = np.full((40, 100), 60, np.uint8)
    img[:, 20:24] = 230   # a 4-px line centred at 21.5
    img[:, 70:73] = 200   # a 3-px line centred at 71
    img[:, 90:100] = 140  # floor cut by the border: not a marking
    rng = np.random.default_rng(0)
    noisy = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    marks = find_markings(noisy, LaneRewardParams(roi_top_frac=0.5, row_step=1))
    assert marks.shape == (40, 2)
    cols = marks[:, 0].reshape(20, 2)
    assert np.abs(cols[:, 0] - 21.5).max() < 0.3 and np.abs(cols[:, 1] - 71.0).max() < 0.3
    # Centred lane between the two lines: lane centre 46.25 vs image centre 49.5.
    est = lane_reward(noisy, LaneRewardParams(roi_top_frac=0.5, row_step=1,
                                              lane_half_width_m=0.25))
    assert est == pytest.approx((46.25 - 49.5) / 24.75 * 0.25, abs=0.01)


def test_texture_alone_gives_no_lane():
    world = World(WorldParams(camera=CameraParams(), scene=SceneParams()))
    world.set_pose(-2.0, 4.0, np.pi)  # floor only, facing away from the road
    est = LaneReward(image_to_ground=world.camera.image_to_ground()).estimate(world.render())
    assert not est.valid and est.d_m == 0.0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match='image'):
        find_markings(np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match='image_to_ground'):
        LaneReward(image_to_ground=np.eye(2))
    with pytest.raises(ValueError, match='tophat_px'):
        LaneRewardParams(tophat_px=1)


def test_ground_homography_from_intrinsics_matches_the_camera():
    cam = CameraParams(width_px=160, height_px=120, pitch_rad=math.radians(25.0),
                       height_m=0.3, mount_x_m=0.15)
    h = ground_homography(cam.intrinsics(), cam.height_m, cam.pitch_rad, cam.mount_x_m)
    assert np.allclose(h / h[2, 1], cam.image_to_ground() / cam.image_to_ground()[2, 1])
    # The bottom-centre pixel sees the ground straight ahead.
    q = h @ (79.5, 119.0, 1.0)
    x, y = q[:2] / q[2]
    assert y == pytest.approx(0.0, abs=1e-12)
    below = math.radians(25.0) + math.atan((119.0 - 59.5) / cam.focal_px)
    assert x == pytest.approx(0.15 + 0.3 / math.tan(below), abs=1e-12)
    with pytest.raises(ValueError, match='height_m'):
        ground_homography(cam.intrinsics(), 0.0, 0.3)
