"""Track geometry: lengths, closure, projection, sign conventions, markings."""

import math

import numpy as np
import pytest

from snn_ros.sim.track import bing_track, make_track, Track, TRACKS, wrap_angle


@pytest.mark.parametrize('name', sorted(TRACKS))
def test_track_is_closed_and_continuous(name):
    track = make_track(name)
    x0, y0, psi0 = track.pose_at(0.0)
    x1, y1, psi1 = track.pose_at(track.length_m - 1e-12)
    assert math.hypot(x1 - x0, y1 - y0) < 1e-9
    assert abs(wrap_angle(psi1 - psi0)) < 1e-9
    for p in track.pieces[1:]:
        xa, ya, pa = track.pose_at(p.s0_m - 1e-9)
        xb, yb, pb = track.pose_at(p.s0_m + 1e-9)
        assert math.hypot(xb - xa, yb - ya) < 1e-8
        assert abs(wrap_angle(pb - pa)) < 1e-7


def test_bing_track_has_the_published_lane_lengths():
    track = bing_track()
    assert abs(track.lane_length_m('outer') - 32.0) < 0.5
    assert abs(track.lane_length_m('inner') - 29.0) < 0.5
    assert track.lane_half_width_m == 0.25
    curvatures = [p.curvature_1pm for p in track.pieces]
    assert min(curvatures) < 0.0 < max(curvatures)  # left and right turns


@pytest.mark.parametrize('name', sorted(TRACKS))
@pytest.mark.parametrize('lane', ['outer', 'inner'])
def test_lane_length_matches_the_polyline(name, lane):
    track = make_track(name)
    poly = track.offset_polyline(track.lane_offset_m(lane), step_m=0.005)
    measured = np.hypot(*np.diff(poly, axis=0).T).sum()
    assert abs(measured - track.lane_length_m(lane)) < 1e-3


@pytest.mark.parametrize('name', sorted(TRACKS))
def test_projection_inverts_pose_at(name):
    track = make_track(name)
    rng = np.random.default_rng(3)
    s = rng.uniform(0.0, track.length_m, 400)
    n = rng.uniform(-0.6, 0.6, 400)
    x, y, psi = track.pose_at(s, n)
    s2, n2, psi2 = track.project(x, y)
    ds = (s2 - s + 0.5 * track.length_m) % track.length_m - 0.5 * track.length_m
    assert np.abs(ds).max() < 1e-9
    assert np.abs(n2 - n).max() < 1e-9
    assert np.abs(wrap_angle(psi2 - psi)).max() < 1e-9
    hint = None
    for xi, yi, si, ni in zip(x[:50], y[:50], s[:50], n[:50]):
        sp, npt, _, _ = track.project_point(float(xi), float(yi), hint)
        assert abs((sp - si + 1.0) % track.length_m - 1.0) < 1e-9
        assert abs(npt - ni) < 1e-9


def test_hinted_projection_follows_a_moving_point():
    track = bing_track()
    s = np.arange(0.0, 2.0 * track.length_m, 0.05)
    x, y, _ = track.pose_at(s, -0.25)
    hint = None
    for xi, yi, si in zip(x, y, s):
        sp, n, _, hint = track.project_point(float(xi), float(yi), hint)
        assert abs(n + 0.25) < 1e-9
        assert abs((sp - si % track.length_m + 1.0) % track.length_m - 1.0) < 1e-9


def test_left_of_the_driving_direction_is_positive_n():
    track = bing_track()  # starts at the origin heading +x; left is +y
    assert track.project(1.0, 0.1)[1] == pytest.approx(0.1)
    assert track.project(1.0, -0.1)[1] == pytest.approx(-0.1)
    assert track.lane_offset_m('inner') == 0.25
    assert track.lane_offset_m('outer') == -0.25


def test_markings_are_offset_lines_with_dashes():
    track = bing_track()
    marks = track.markings(centre_dash_m=0.3, centre_gap_m=0.3)
    kinds = [k for k, _ in marks]
    assert kinds.count('outer_edge') == 1 and kinds.count('inner_edge') == 1
    assert kinds.count('centre') == math.ceil(track.length_m / 0.6)
    for kind, poly in marks:
        _, n, _ = track.project(poly[:, 0], poly[:, 1])
        expected = {'outer_edge': -0.5, 'inner_edge': 0.5, 'centre': 0.0}[kind]
        assert np.abs(n - expected).max() < 1e-9
    dash = [p for k, p in marks if k == 'centre'][1]
    assert np.hypot(*np.diff(dash, axis=0).T).sum() == pytest.approx(0.3, abs=1e-3)
    solid = track.markings(centre_gap_m=0.0)
    assert [k for k, _ in solid].count('centre') == 1


def test_bad_specs_are_refused():
    with pytest.raises(ValueError, match='close'):
        Track.from_spec('open', [(1.0, 0.0), ('arc', 1.0, math.pi)])
    with pytest.raises(ValueError, match='lane_half_width_m'):
        Track.from_spec('tight', [(1.0, 0.0), ('arc', 0.4, math.pi), (1.0, 0.0),
                                  ('arc', 0.4, math.pi)])
    with pytest.raises(ValueError, match='track='):
        make_track('figure8')
