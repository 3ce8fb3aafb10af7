"""Camera geometry and rendering: known poses give known images."""

import math

import numpy as np
import pytest

from snn_ros.sim.camera import CameraParams, Renderer, SceneParams, TrackRaster
from snn_ros.sim.track import bing_track, make_track

from . import naive

PLAIN = SceneParams(texture=False, centre_gap_m=0.0)


@pytest.fixture(scope='module')
def plain_renderer():
    return Renderer(CameraParams(), TrackRaster(bing_track(), PLAIN))


def test_homography_matches_the_explicit_pinhole_model():
    cam = CameraParams(width_px=96, height_px=64, pitch_rad=math.radians(30.0))
    h = cam.image_to_ground()
    for u, v in [(0, 40), (47.5, 63), (95, 30), (10.2, 50.7)]:
        q = h @ (u, v, 1.0)
        assert q[:2] / q[2] == pytest.approx(naive.pixel_to_ground(cam, u, v), abs=1e-12)
    x, y = naive.pixel_to_ground(cam, 20.0, 45.0)
    assert cam.project_ground(x, y) == pytest.approx((20.0, 45.0), abs=1e-9)
    assert naive.ground_to_pixel(cam, x, y) == pytest.approx((20.0, 45.0), abs=1e-9)
    gx, gy = cam.ground_rays()
    v0 = cam.first_ground_row()
    assert np.all(np.isnan(gx[:v0])) and not np.any(np.isnan(gx[v0:]))
    assert gy[50, 20] == pytest.approx(naive.pixel_to_ground(cam, 20, 50)[1], abs=1e-12)
    assert naive.is_sky_row(cam, v0 - 1) and not naive.is_sky_row(cam, v0)


def _marking_columns(img, row, expected, level):
    """Centre of the bright marking run around each expected column (half-level crossings)."""
    profile = img[row].astype(float)
    half = 0.5 * (level + profile.max())
    out = []
    for col in expected:
        a = b = int(round(col))
        assert profile[a] > half, f'no marking at row {row}, column {a}'
        while profile[a - 1] > half:
            a -= 1
        while profile[b + 1] > half:
            b += 1
        left = a - (profile[a] - half) / (profile[a] - profile[a - 1])
        right = b + (profile[b] - half) / (profile[b] - profile[b + 1])
        out.append(0.5 * (left + right))
    return out


@pytest.mark.parametrize('d_m', [0.0, 0.1, -0.07])
def test_markings_land_on_the_analytic_columns(plain_renderer, d_m):
    cam = plain_renderer.camera
    track = bing_track()  # first piece: a straight along +x from the origin
    n = track.lane_offset_m('outer') + d_m
    x, y, theta = track.pose_at(0.5, n)
    img = plain_renderer.render(x, y, theta)
    # Markings either side of the outer lane: the centre line (n = 0) on the left and
    # the outer edge (n = -0.5) on the right, at robot-frame y = -n and -0.5 - n.
    checked = 0
    for v in range(40, 120, 6):
        xr, _ = naive.pixel_to_ground(cam, (cam.width_px - 1) / 2.0, v)
        expected = [naive.ground_to_pixel(cam, xr, -n)[0],
                    naive.ground_to_pixel(cam, xr, -0.5 - n)[0]]
        expected = [u for u in expected if 12 <= u <= cam.width_px - 13]  # whole marking
        checked += len(expected)
        found = _marking_columns(img, v, expected, PLAIN.road_level)
        assert found == pytest.approx(expected, abs=0.2)
        if d_m == 0.0 and len(found) == 2:  # centred, aligned: symmetric about the centre
            assert found[0] + found[1] == pytest.approx(cam.width_px - 1, abs=0.3)
    assert checked >= 16


def test_lateral_offset_shifts_markings_by_the_projected_amount(plain_renderer):
    cam = plain_renderer.camera
    track = bing_track()
    v = 70
    xr, _ = naive.pixel_to_ground(cam, (cam.width_px - 1) / 2.0, v)
    cols = []
    for d in (0.0, 0.1):
        x, y, th = track.pose_at(0.5, track.lane_offset_m('outer') + d)
        img = plain_renderer.render(x, y, th)
        exp = [naive.ground_to_pixel(cam, xr, 0.25 - d)[0],
               naive.ground_to_pixel(cam, xr, -0.25 - d)[0]]
        cols.append(_marking_columns(img, v, exp, PLAIN.road_level))
    f = cam.focal_px
    depth = np.dot(np.array([xr, 0.0, 0.0]) - cam.position(), cam.rotation()[:, 2])
    shift = f * 0.1 / depth  # robot moves left by 0.1 m: markings move right
    assert np.array(cols[1]) - np.array(cols[0]) == pytest.approx([shift, shift], abs=0.25)


def test_sky_rows_and_image_shape(plain_renderer):
    track = bing_track()
    img = plain_renderer.render(*track.pose_at(1.0, -0.25))
    cam = plain_renderer.camera
    assert img.shape == (cam.height_px, cam.width_px) and img.dtype == np.uint8
    v0 = plain_renderer.v0
    assert np.all(img[:v0] == img[:v0, :1])  # sky: constant along rows
    assert img[0, 0] == PLAIN.sky_top_level


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_vectorised_renderer_matches_the_naive_one(seed):
    rng = np.random.default_rng(seed)
    cam = CameraParams(width_px=40, height_px=30, pitch_rad=math.radians(rng.uniform(20, 45)),
                       hfov_rad=math.radians(rng.uniform(60, 100)), max_range_m=4.0)
    track = make_track(['bing', 'oval', 's_loop'][seed])
    raster = TrackRaster(track, SceneParams(raster_res_m=0.02, texture_seed=seed))
    renderer = Renderer(cam, raster)
    for _ in range(2):
        s, n = rng.uniform(0, track.length_m), rng.uniform(-0.4, 0.4)
        x, y, th = track.pose_at(s, n)
        th += rng.uniform(-0.5, 0.5)
        fast = renderer.render(x, y, th).astype(float)
        slow = naive.render_naive(cam, raster, x, y, th)
        for v, row in enumerate(slow):
            if row is None:
                assert v < renderer.v0
                continue
            diff = np.abs(fast[v] - np.round(row))
            # cv2 samples with 1/32-pixel weights: a grey level or two, more only on
            # the sharpest marking edges.
            assert np.median(diff) <= 1.0 and diff.max() <= 12.0, (v, diff.max())
        assert renderer.v0 == sum(r is None for r in slow)


def test_texture_and_noise_are_seeded():
    track = make_track('oval')
    scene = SceneParams(light_gain_std=0.1, light_offset_std=5.0, pixel_noise_std=4.0,
                        raster_res_m=0.02)
    a = Renderer(CameraParams(width_px=32, height_px=32), TrackRaster(track, scene))
    b = Renderer(CameraParams(width_px=32, height_px=32), TrackRaster(track, scene))
    pose = track.pose_at(3.0, -0.25)
    with pytest.raises(ValueError, match='rng'):
        a.render(*pose)
    ia = a.render(*pose, rng=np.random.default_rng(5))
    ib = b.render(*pose, rng=np.random.default_rng(5))
    ic = b.render(*pose, rng=np.random.default_rng(6))
    assert np.array_equal(ia, ib) and not np.array_equal(ia, ic)
    other = TrackRaster(track, SceneParams(raster_res_m=0.02, texture_seed=1)).image
    assert not np.array_equal(other, a.raster.image)


def test_bad_camera_parameters_are_refused():
    with pytest.raises(ValueError, match='width_px'):
        CameraParams(width_px=4)
    with pytest.raises(ValueError, match='pitch_rad'):
        CameraParams(pitch_rad=-1.0)


def test_render_into_a_buffer(plain_renderer):
    track = bing_track()
    pose = track.pose_at(2.0, -0.25)
    buf = np.zeros((128, 128), np.uint8)
    assert plain_renderer.render(*pose, out=buf) is buf
    assert np.array_equal(buf, plain_renderer.render(*pose))
    with pytest.raises(ValueError, match='out'):
        plain_renderer.render(*pose, out=np.zeros((128, 64), np.uint8))
