"""
Closed two-lane tracks built from straight and circular pieces.

A track is its centreline ``c(s)``, parametrised by arc length ``s`` in
``[0, length_m)``, driven towards increasing ``s``. Every track turns once
counter-clockwise (total signed turning ``+2 pi``), so the left of the driving
direction is the inside of the loop. With the heading ``psi(s)`` and the left
normal ``nu(s) = (-sin psi, cos psi)``, a point ``p`` near the track has the
coordinates ``(s, n)`` with

    p = c(s) + n nu(s),

found by exact projection onto the nearest piece (a segment or a circular arc).

Two lanes of half-width ``w = 0.25 m`` lie either side of the centreline: the
inner lane centre at ``n = +w`` and the outer lane centre at ``n = -w``. The
markings are three lines: the inner edge at ``n = +2w``, the centre line at
``n = 0`` (dashed or solid) and the outer edge at ``n = -2w``. An offset curve
at ``n`` has length ``length_m - 2 pi n``, so the outer lane is ``2 pi w``
(1.57 m) longer than the centreline and the inner lane as much shorter.

Sign conventions, used by the whole package:

- the signed lateral distance ``d = n - n_lane`` [m] of a point from a lane
  centre is positive when the point is LEFT of the lane centre, looking along
  the driving direction;
- the heading error ``theta - psi(s)`` [rad], wrapped to ``(-pi, pi]``, is
  positive when the robot points to the left of the driving direction.

The default track, ``bing_track()``, reproduces the size of the two-lane track
of Bing, Meschede et al., "End to end learning of spiking neural network based
on R-STDP for a lane keeping vehicle", ICRA 2018 (outer lane about 32 m, inner
lane about 29 m, lane width 0.5 m), with left and right turns; the exact shape
of that track is not published as coordinates, so ours is a stand-in of the
same dimensions.
"""

import math
from typing import NamedTuple

import numpy as np

#: Lane half-width [m] (Bing, Meschede et al., ICRA 2018).
LANE_HALF_WIDTH_M = 0.25

#: Lane names and their centre offsets in units of the lane half-width.
LANES = {'outer': -1.0, 'inner': 1.0}


def wrap_angle(a):
    """Wrap an angle [rad] (scalar or array) to ``(-pi, pi]``."""
    return np.pi - np.mod(np.pi - np.asarray(a, dtype=np.float64), 2.0 * np.pi)


class Piece(NamedTuple):
    """One piece of a centreline: a segment (``curvature_1pm == 0``) or a circular arc."""

    x_m: float
    y_m: float
    heading_rad: float
    length_m: float
    curvature_1pm: float  # > 0 turns left, < 0 turns right
    s0_m: float  # arc length at the start of the piece


def _piece_point(p, u):
    """Return the point and heading at local arc length ``u`` (scalar or array) of piece ``p``."""
    k = p.curvature_1pm
    if k == 0.0:
        c, s = math.cos(p.heading_rad), math.sin(p.heading_rad)
        return p.x_m + u * c, p.y_m + u * s, p.heading_rad + 0.0 * u
    psi = p.heading_rad + k * u
    x = p.x_m + (np.sin(psi) - math.sin(p.heading_rad)) / k
    y = p.y_m - (np.cos(psi) - math.cos(p.heading_rad)) / k
    return x, y, psi


def _piece_project(p, px, py):
    """
    Project points (arrays) onto piece ``p``.

    Returns the local arc length ``u`` in ``[0, length_m]`` of the nearest point
    of the piece and the squared distance to it.
    """
    k = p.curvature_1pm
    if k == 0.0:
        c, s = math.cos(p.heading_rad), math.sin(p.heading_rad)
        along = (px - p.x_m) * c + (py - p.y_m) * s
        u = np.clip(along, 0.0, p.length_m)
        n = (py - p.y_m) * c - (px - p.x_m) * s
        return u, (along - u) ** 2 + n ** 2
    radius = 1.0 / abs(k)
    cx = p.x_m - math.sin(p.heading_rad) / k
    cy = p.y_m + math.cos(p.heading_rad) / k
    a0 = math.atan2(p.y_m - cy, p.x_m - cx)
    sweep = abs(k) * p.length_m
    phi = np.mod((np.arctan2(py - cy, px - cx) - a0) * math.copysign(1.0, k), 2.0 * np.pi)
    inside = phi <= sweep
    to_end = np.where(phi - sweep < 2.0 * np.pi - phi, p.length_m, 0.0)
    u = np.where(inside, phi * radius, to_end)
    r = np.hypot(px - cx, py - cy)
    ex, ey, _ = _piece_point(p, to_end)
    d2_end = (px - ex) ** 2 + (py - ey) ** 2
    return u, np.where(inside, (r - radius) ** 2, d2_end)


def _piece_project_scalar(p, px, py):
    """Project one point onto piece ``p``; return ``(u, squared distance)`` (pure Python)."""
    k = p.curvature_1pm
    if k == 0.0:
        c, s = math.cos(p.heading_rad), math.sin(p.heading_rad)
        along = (px - p.x_m) * c + (py - p.y_m) * s
        u = min(max(along, 0.0), p.length_m)
        n = (py - p.y_m) * c - (px - p.x_m) * s
        return u, (along - u) ** 2 + n * n
    radius = 1.0 / abs(k)
    cx = p.x_m - math.sin(p.heading_rad) / k
    cy = p.y_m + math.cos(p.heading_rad) / k
    a0 = math.atan2(p.y_m - cy, p.x_m - cx)
    sweep = abs(k) * p.length_m
    phi = ((math.atan2(py - cy, px - cx) - a0) * math.copysign(1.0, k)) % (2.0 * math.pi)
    if phi <= sweep:
        return phi * radius, (math.hypot(px - cx, py - cy) - radius) ** 2
    u = p.length_m if phi - sweep < 2.0 * math.pi - phi else 0.0
    ex, ey, _ = _piece_point(p, u)
    return u, (px - ex) ** 2 + (py - ey) ** 2


class Track:
    """
    A closed centreline made of pieces, with two lanes and three markings.

    Build one with ``Track.from_spec`` or a named shape (``bing_track``,
    ``oval_track``, ``s_loop_track``, or ``make_track(name)``). Attributes:
    ``name``; ``pieces`` (tuple of ``Piece``); ``length_m``, the centreline
    length [m]; ``lane_half_width_m`` [m].
    """

    def __init__(self, name, pieces, lane_half_width_m=LANE_HALF_WIDTH_M):
        self.name = name
        self.pieces = tuple(pieces)
        self.lane_half_width_m = float(lane_half_width_m)
        last = self.pieces[-1]
        self.length_m = last.s0_m + last.length_m
        self._s0 = np.array([p.s0_m for p in self.pieces])
        min_radius = min((1.0 / abs(p.curvature_1pm) for p in self.pieces
                          if p.curvature_1pm != 0.0), default=math.inf)
        if not 2.0 * self.lane_half_width_m < min_radius:
            raise ValueError(f'lane_half_width_m={lane_half_width_m}: the road (2 lanes) must '
                             f'be narrower than the smallest turn radius {min_radius:.3f} m')

    @classmethod
    def from_spec(cls, name, spec, lane_half_width_m=LANE_HALF_WIDTH_M):
        """
        Build a closed track from ``(length_m, curvature_1pm)`` pairs.

        Exactly two straight pieces, not parallel, may have ``length_m=None``:
        their lengths are solved so that the loop closes. The track starts at
        the origin heading along +x. Arcs may be given as ``('arc', radius_m,
        angle_rad)`` with a signed angle (> 0 left turn) instead.
        """
        rows = []
        for item in spec:
            if item[0] == 'arc':
                _, radius, angle = item
                rows.append((abs(angle) * radius, math.copysign(1.0 / radius, angle)))
            else:
                rows.append((item[0], float(item[1])))
        free = [i for i, (length, _) in enumerate(rows) if length is None]
        if len(free) not in (0, 2):
            raise ValueError(f'track {name!r}: give 0 or 2 free (None) straight lengths, '
                             f'not {len(free)}')
        if free:
            headings, psi = [], 0.0
            for length, k in rows:
                headings.append(psi)
                if length is not None:
                    psi += k * length
            fixed = np.zeros(2)
            psi = 0.0
            for i, (length, k) in enumerate(rows):
                if length is None:
                    continue
                p = Piece(0.0, 0.0, headings[i], length, k, 0.0)
                x, y, _ = _piece_point(p, length)
                fixed += (x, y)
            a = np.array([[math.cos(headings[i]), math.sin(headings[i])] for i in free]).T
            lengths = np.linalg.solve(a, -fixed)
            if np.any(lengths <= 0):
                raise ValueError(f'track {name!r}: the loop closes only with non-positive '
                                 f'straight lengths {lengths}')
            for i, length in zip(free, lengths):
                rows[i] = (float(length), 0.0)
        pieces, x, y, psi, s0 = [], 0.0, 0.0, 0.0, 0.0
        for length, k in rows:
            p = Piece(x, y, psi, float(length), float(k), s0)
            pieces.append(p)
            x, y, psi = (float(v) for v in _piece_point(p, length))
            s0 += length
        turning = psi
        if abs(turning - 2.0 * math.pi) > 1e-9 or math.hypot(x, y) > 1e-9:
            raise ValueError(f'track {name!r}: pieces must close the loop turning once '
                             f'counter-clockwise (end at ({x:.3g}, {y:.3g}), turning '
                             f'{turning:.4g} rad)')
        return cls(name, pieces, lane_half_width_m)

    # --- arc-length parametrisation ---------------------------------------------------------

    def _piece_index(self, s):
        return np.clip(np.searchsorted(self._s0, s, side='right') - 1, 0, len(self.pieces) - 1)

    def pose_at(self, s_m, n_m=0.0):
        """
        Return ``(x, y, psi)`` [m, m, rad] at arc length ``s_m`` and lateral offset ``n_m``.

        ``s_m`` (scalar or array) is taken modulo the track length; ``psi`` is the
        driving direction.
        """
        s = np.mod(np.asarray(s_m, dtype=np.float64), self.length_m)
        n = np.asarray(n_m, dtype=np.float64)
        idx = self._piece_index(s)
        x = np.empty(s.shape)
        y = np.empty(s.shape)
        psi = np.empty(s.shape)
        for i in np.unique(idx):
            m = idx == i
            p = self.pieces[i]
            x[m], y[m], psi[m] = _piece_point(p, s[m] - p.s0_m)
        x = x - n * np.sin(psi)
        y = y + n * np.cos(psi)
        if x.ndim == 0:
            return float(x), float(y), float(wrap_angle(psi))
        return x, y, wrap_angle(psi)

    def lane_offset_m(self, lane):
        """Return the signed centre offset ``n`` [m] of ``lane`` ('outer' or 'inner')."""
        if lane not in LANES:
            raise ValueError(f'lane={lane!r}: allowed values are {sorted(LANES)}')
        return LANES[lane] * self.lane_half_width_m

    def lane_length_m(self, lane):
        """Return the length [m] of the centre line of ``lane``."""
        return self.length_m - 2.0 * math.pi * self.lane_offset_m(lane)

    # --- projection -------------------------------------------------------------------------

    def project(self, x_m, y_m):
        """
        Project points onto the centreline.

        ``x_m, y_m`` are scalars or arrays of one shape. Returns ``(s, n, psi)``:
        arc length [m] of the nearest centreline point, signed lateral offset [m]
        (> 0 left of the driving direction) and the track heading [rad] there.
        """
        px = np.asarray(x_m, dtype=np.float64)
        py = np.asarray(y_m, dtype=np.float64)
        best_d2 = np.full(np.broadcast(px, py).shape, np.inf)
        best_s = np.zeros_like(best_d2)
        for p in self.pieces:
            u, d2 = _piece_project(p, px, py)
            better = d2 < best_d2
            best_d2 = np.where(better, d2, best_d2)
            best_s = np.where(better, p.s0_m + u, best_s)
        cx, cy, psi = self.pose_at(best_s)
        n = (py - cy) * np.cos(psi) - (px - cx) * np.sin(psi)
        if n.ndim == 0:
            return float(best_s) % self.length_m, float(n), float(psi)
        return np.mod(best_s, self.length_m), n, psi

    def project_point(self, x_m, y_m, hint=None):
        """
        Project one point; return ``(s, n, psi, piece_index)``.

        With ``hint`` (a piece index from a previous call) that piece is tried
        first: a foot point strictly inside it is the nearest point of the track
        for points within the tube ``|n| <`` smallest turn radius, where offset
        coordinates are unique (and road parts farther apart than the tube). All
        pieces are searched otherwise.
        """
        if hint is not None:
            u, _ = _piece_project_scalar(self.pieces[hint], x_m, y_m)
            i = hint
            if not 0.0 < u < self.pieces[hint].length_m:
                hint = None
        if hint is None:
            best = (math.inf, 0, 0.0)
            for j, piece in enumerate(self.pieces):
                uj, d2 = _piece_project_scalar(piece, x_m, y_m)
                if d2 < best[0]:
                    best = (d2, j, uj)
            _, i, u = best
        p = self.pieces[i]
        cx, cy, psi = _piece_point(p, u)
        n = (y_m - cy) * math.cos(psi) - (x_m - cx) * math.sin(psi)
        s = (p.s0_m + u) % self.length_m
        psi = math.pi - (math.pi - float(psi)) % (2.0 * math.pi)
        return float(s), float(n), psi, i

    # --- geometry for drawing ---------------------------------------------------------------

    def offset_polyline(self, n_m, step_m=0.02, s_from_m=0.0, s_to_m=None):
        """Return an ``(N, 2)`` polyline [m] of the offset curve ``n_m`` over an ``s`` range."""
        s_to = self.length_m if s_to_m is None else s_to_m
        count = max(2, int(math.ceil((s_to - s_from_m) / step_m)) + 1)
        s = np.linspace(s_from_m, s_to, count)
        x, y, _ = self.pose_at(s, n_m)
        return np.stack([x, y], axis=1)

    def markings(self, centre_dash_m=0.3, centre_gap_m=0.3, step_m=0.02):
        """
        Return the lane markings as world-frame polylines.

        A list of ``(kind, polyline)`` where kind is 'outer_edge' (``n = -2w``),
        'inner_edge' (``n = +2w``) or 'centre' (``n = 0``) and polyline is an
        ``(N, 2)`` float array [m]. The centre line is solid when
        ``centre_gap_m == 0``, otherwise dashes of ``centre_dash_m`` starting at
        ``s = 0`` separated by gaps of ``centre_gap_m``. Edge polylines are closed
        (first point repeated at the end).
        """
        w = self.lane_half_width_m
        out = [('outer_edge', self.offset_polyline(-2.0 * w, step_m)),
               ('inner_edge', self.offset_polyline(2.0 * w, step_m))]
        if centre_gap_m <= 0.0:
            out.append(('centre', self.offset_polyline(0.0, step_m)))
            return out
        period = centre_dash_m + centre_gap_m
        for start in np.arange(0.0, self.length_m, period):
            end = min(start + centre_dash_m, self.length_m)
            out.append(('centre', self.offset_polyline(0.0, step_m, start, end)))
        return out

    def bounds_m(self, margin_m=0.0):
        """Return ``(x_min, y_min, x_max, y_max)`` [m] of the road plus a margin."""
        pts = np.concatenate([self.offset_polyline(n, 0.05) for n in
                              (-2.0 * self.lane_half_width_m, 2.0 * self.lane_half_width_m)])
        lo = pts.min(axis=0) - margin_m
        hi = pts.max(axis=0) + margin_m
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def bing_track():
    """
    Return the default two-lane track (outer lane 32.05 m, inner lane 28.91 m).

    Dimensions after Bing, Meschede et al., ICRA 2018; five left and one right
    turn of 1.5 to 2.5 m radius (centreline), 30.48 m long.
    """
    half = math.pi / 2.0
    return Track.from_spec('bing', [
        (None, 0.0), ('arc', 2.5, half), (None, 0.0), ('arc', 2.0, half), (2.1, 0.0),
        ('arc', 1.5, half), ('arc', 1.5, -half), (1.0, 0.0), ('arc', 1.5, half), (1.5, 0.0),
        ('arc', 2.0, half)])


def oval_track():
    """Return an oval: two 5 m straights joined by half circles of radius 2 m."""
    return Track.from_spec('oval', [(5.0, 0.0), ('arc', 2.0, math.pi), (5.0, 0.0),
                                    ('arc', 2.0, math.pi)])


def s_loop_track():
    """Return a loop with an S-bend (left, right, left) on one side."""
    half = math.pi / 2.0
    return Track.from_spec('s_loop', [
        (None, 0.0), ('arc', 1.5, half), (1.0, 0.0), ('arc', 1.5, half), ('arc', 1.5, -half),
        ('arc', 1.5, half), (0.5, 0.0), ('arc', 1.5, half), (None, 0.0), ('arc', 1.5, half)])


TRACKS = {'bing': bing_track, 'oval': oval_track, 's_loop': s_loop_track}


def make_track(name):
    """Return the named track ('bing', 'oval' or 's_loop')."""
    if name not in TRACKS:
        raise ValueError(f'track={name!r}: allowed values are {sorted(TRACKS)}')
    return TRACKS[name]()
