"""
A lane-keeping reward from the camera image alone (no ground truth).

It estimates the signed lateral distance ``d`` [m] of the robot from its lane
centre, with the sign of ``snn_ros.sim``: ``d > 0`` when the robot is LEFT of
the lane centre, i.e. when the lane centre appears RIGHT of the image centre.

1. Markings. In the bottom part of the image (rows from ``roi_top_frac`` of
   the height down, every ``row_step``-th row) a horizontal white top-hat
   (``image - opening(image)`` with a ``1 x tophat_px`` line element) keeps
   bright structures narrower than ``tophat_px`` and removes the slowly varying
   floor, road texture and lighting. Runs above ``min_contrast`` grey levels
   are markings; each is placed at its response-weighted centre column. Runs
   that touch the left or right image border are dropped (a strip of floor cut
   by the border looks like a marking to the top-hat).
2. Pixel mode (no homography). In each row the lane is the pair of
   neighbouring markings that straddles the image centre. Its centre offset
   from the image centre, in units of the row's lane half-width, times
   ``lane_half_width_m`` estimates ``d`` (scale-free; exact for a robot aligned
   with a straight lane and a camera on the robot axis, since a lane cut by a
   row has ``offset / half-width = -y_c / w``). Rows whose width disagrees with
   a line fitted through width against row (flat ground makes it linear; wrong
   pairs span two lanes) are dropped, and the median over rows is taken. It
   reads the lane ahead of the robot, so heading errors leak into it.
3. Ground mode. The homography ``H`` from pixels to the robot-frame ground,
   from the camera intrinsics and mounting (``ground_homography``; in the
   embedded world ``CameraParams.image_to_ground()``), turns markings into
   points ``(x_r, y_r)`` [m], all of one image row at one ``x_r`` (no roll).
   - Pass 1: in each row, the pair of neighbouring markings
     ``2 lane_half_width_m`` apart (within ``width_tol``) whose centre is
     nearest the lane line of the previous frame, and within half a lane of
     it; a line through these centres (or the previous line, when fewer than
     three rows have one) is the prior.
   - Pass 2: every marking nearer than ``fit_max_x_m`` is a lane edge, so the
     lane centre lies half a lane to its left or right: the side that agrees
     with the prior (within a quarter lane) is kept, so rows with only one
     marking (dash gaps, a marking out of view) count too.
   - A line, or a parabola when there are eight points or more spanning 0.3 m,
     fitted with two rounds of outlier rejection, extrapolated to the axle
     (``x_r = 0``), gives ``d = -y_c(0)``, free of the heading error.
   - If the result lies beyond 1.2 half-widths (locked onto the neighbouring
     lane) the fit is redone from a robot on its lane centre.
"""

from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np


@dataclass(frozen=True)
class LaneRewardParams:
    """
    Detection settings; see the module docstring.

    ``roi_top_frac`` in [0, 1); ``row_step`` >= 1; ``tophat_px`` odd width of the
    top-hat element [px] (wider than a marking); ``min_contrast`` grey levels;
    ``lane_half_width_m`` [m]; ``width_tol`` relative tolerance on lane width;
    ``min_rows`` rows with a lane needed for a valid estimate; ``fit_max_x_m``
    [m] ground range used by the ground-mode fit.
    """

    roi_top_frac: float = 0.35
    row_step: int = 2
    tophat_px: int = 31
    min_contrast: float = 50.0
    lane_half_width_m: float = 0.25
    width_tol: float = 0.25
    min_rows: int = 3
    fit_max_x_m: float = 0.8

    def __post_init__(self):
        """Validate the parameters."""
        if not 0.0 <= self.roi_top_frac < 1.0:
            raise ValueError(f'roi_top_frac={self.roi_top_frac}: must be in [0, 1)')
        if not (int(self.row_step) == self.row_step and self.row_step >= 1):
            raise ValueError(f'row_step={self.row_step}: must be an integer >= 1')
        if not (int(self.tophat_px) == self.tophat_px and self.tophat_px >= 3):
            raise ValueError(f'tophat_px={self.tophat_px}: must be an integer >= 3')
        if not self.min_contrast > 0.0:
            raise ValueError(f'min_contrast={self.min_contrast}: must be > 0')
        if not self.lane_half_width_m > 0.0:
            raise ValueError(f'lane_half_width_m={self.lane_half_width_m}: must be > 0')
        if not 0.0 < self.width_tol < 1.0:
            raise ValueError(f'width_tol={self.width_tol}: must be in (0, 1)')
        if not self.min_rows >= 1:
            raise ValueError(f'min_rows={self.min_rows}: must be >= 1')
        if not self.fit_max_x_m > 0.0:
            raise ValueError(f'fit_max_x_m={self.fit_max_x_m}: must be > 0')


class LaneEstimate(NamedTuple):
    """
    One image's estimate.

    ``d_m``: estimated signed lateral distance [m] (0.0 when not valid);
    ``valid``: enough rows had a lane; ``rows``: rows that had one;
    ``markings``: ``(K, 2)`` float array of marking ``(u, v)`` pixels found.
    """

    d_m: float
    valid: bool
    rows: int
    markings: np.ndarray


def find_markings(image, params=LaneRewardParams()):
    """
    Find lane-marking centres in a grayscale image.

    Returns a ``(K, 2)`` float64 array of ``(u, v)`` [px], sorted by row then
    column.
    """
    img = np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f'image: must be a 2-D grayscale array, got shape {img.shape}')
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    h = img.shape[0]
    v0 = int(params.roi_top_frac * h)
    rows = np.arange(v0, h, int(params.row_step))
    if rows.size == 0:
        return np.zeros((0, 2))
    k = int(params.tophat_px) | 1
    roi = np.ascontiguousarray(img[rows])
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, 1))
    resp = cv2.morphologyEx(roi, cv2.MORPH_TOPHAT, kernel).astype(np.float64)
    mask = resp > params.min_contrast
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), np.int8)
    padded[:, 1:-1] = mask
    edge = np.diff(padded, axis=1)
    ri, start = np.nonzero(edge == 1)
    _, stop = np.nonzero(edge == -1)
    inner = (start > 0) & (stop < mask.shape[1])
    ri, start, stop = ri[inner], start[inner], stop[inner]
    if ri.size == 0:
        return np.zeros((0, 2))
    # Starts and stops come in the same row-major order, one stop per start.
    csum = np.cumsum(resp, axis=1)
    cols = np.arange(resp.shape[1], dtype=np.float64)
    wsum = np.cumsum(resp * cols, axis=1)

    def span(table, r, a, b):
        return table[r, b - 1] - np.where(a > 0, table[r, np.maximum(a - 1, 0)], 0.0)

    weight = span(csum, ri, start, stop)
    u = span(wsum, ri, start, stop) / weight
    return np.stack([u, rows[ri].astype(np.float64)], axis=1)


def ground_homography(camera_matrix, height_m, pitch_rad, mount_x_m=0.0):
    """
    Return the 3x3 homography from pixels to the robot-frame ground [m].

    For a camera with intrinsics ``camera_matrix`` (3x3 ``K``) at ``height_m``
    above the ground and ``mount_x_m`` ahead of the robot origin, looking
    forward, pitched down by ``pitch_rad``, without roll. Frames as in
    ``snn_ros.sim.camera`` (robot: x forward, y left, z up; camera: OpenCV).
    """
    k = np.asarray(camera_matrix, dtype=np.float64)
    if k.shape != (3, 3) or not np.all(np.isfinite(k)):
        raise ValueError('camera_matrix: must be a finite 3x3 intrinsics matrix')
    if not height_m > 0.0:
        raise ValueError(f'height_m={height_m}: must be > 0')
    c, s = np.cos(pitch_rad), np.sin(pitch_rad)
    # Camera axes (right, down, optical) as columns, in the robot frame.
    axes = np.array([[0.0, -s, c], [-1.0, 0.0, 0.0], [0.0, -c, -s]])
    # A ray r meets the ground at C + r h / (-r_z): homogeneous (C_xy (-r_z / h) + r_xy, -r_z / h).
    to_ground = np.array([[1.0, 0.0, -mount_x_m / height_m], [0.0, 1.0, 0.0],
                          [0.0, 0.0, -1.0 / height_m]])
    return to_ground @ axes @ np.linalg.inv(k)


class LaneReward:
    """
    Estimate the lane-keeping reward ``d`` [m] from grayscale frames.

    ``LaneReward(params=LaneRewardParams(), image_to_ground=None)``: with a 3x3
    homography from pixels to the robot-frame ground [m] it works in ground
    mode, without it in pixel mode. ``estimate(image) -> LaneEstimate``;
    calling the object returns ``estimate(image).d_m``.
    """

    def __init__(self, params=LaneRewardParams(), image_to_ground=None):
        self.params = params
        if image_to_ground is not None:
            image_to_ground = np.asarray(image_to_ground, dtype=np.float64)
            if image_to_ground.shape != (3, 3) or not np.all(np.isfinite(image_to_ground)):
                raise ValueError('image_to_ground: must be a finite 3x3 homography from '
                                 'pixels to ground metres')
        self.image_to_ground = image_to_ground
        self.reset()

    def __call__(self, image):
        """Return the estimated ``d`` [m] of ``image`` (0.0 when no lane is found)."""
        return self.estimate(image).d_m

    def estimate(self, image):
        """Return the ``LaneEstimate`` of one grayscale image."""
        marks = find_markings(image, self.params)
        if self.image_to_ground is None:
            d, rows = self._pixel_mode(marks, np.asarray(image).shape[1])
        else:
            d, rows = self._ground_mode(marks)
        valid = rows >= self.params.min_rows
        return LaneEstimate(float(d) if valid else 0.0, bool(valid), int(rows), marks)

    def _pixel_mode(self, marks, width):
        cx = (width - 1) / 2.0
        if marks.shape[0] < 2:
            return 0.0, 0
        u, v = marks[:, 0], marks[:, 1]
        # Rows where two neighbouring markings straddle the image centre.
        pair = np.flatnonzero((v[1:] == v[:-1]) & (u[:-1] < cx) & (u[1:] > cx))
        pv, pw = v[pair], u[pair + 1] - u[pair]
        offsets = (0.5 * (u[pair] + u[pair + 1]) - cx) / (0.5 * pw)
        keep = np.ones(pv.size, bool)
        if pv.size >= 4:
            # Lane width is linear in the row on flat ground; fit it and drop the rows
            # that disagree (wrong pairs span two lanes and are wider).
            for _ in range(3):
                coef = np.polyfit(pv[keep], pw[keep], 1)
                pred = np.polyval(coef, pv)
                new = np.abs(pw - pred) <= self.params.width_tol * np.maximum(pred, 1.0)
                if new.sum() < 2 or np.array_equal(new, keep):
                    break
                keep = new
        if not keep.any():
            return 0.0, 0
        return float(np.median(offsets[keep])) * self.params.lane_half_width_m, int(keep.sum())

    def _ground_mode(self, marks):
        if marks.shape[0] == 0:
            return 0.0, 0
        q = np.concatenate([marks, np.ones((marks.shape[0], 1))], axis=1) @ \
            self.image_to_ground.T
        ok = q[:, 2] > 1e-12
        x = q[ok, 0] / q[ok, 2]
        y = q[ok, 1] / q[ok, 2]
        v = marks[ok, 1]
        half = self.params.lane_half_width_m
        estimate = self._fit_ground(x, y, v, self._coef)
        if estimate is None or abs(estimate[0]) > 1.2 * half:
            # Lost, or locked onto the neighbouring lane: start again from a robot on
            # its lane centre (an episode ends at |d| > 0.2 m anyway).
            estimate = self._fit_ground(x, y, v, np.zeros(1))
        if estimate is None:
            return 0.0, 0
        d, rows, self._coef = estimate
        return d, rows

    def _fit_ground(self, x, y, v, prior):
        """Fit the lane-centre line to ground-plane markings, starting from ``prior``."""
        half = self.params.lane_half_width_m
        tol = self.params.width_tol * 2.0 * half
        # Pass 1: rows with a pair of markings one lane width apart, the pair
        # nearest the prior line and within half a lane of it. Markings come sorted
        # by row, then column, so neighbours in a row are consecutive and run from
        # left (y > 0) to right.
        gaps = y[:-1] - y[1:]
        centres = 0.5 * (y[:-1] + y[1:])
        miss = np.abs(centres - np.polyval(prior, x[:-1]))
        good = np.flatnonzero((v[1:] == v[:-1]) & (np.abs(gaps - 2.0 * half) <= tol)
                              & (miss <= half))
        order = good[np.lexsort((miss[good], v[good]))]
        _, first = np.unique(v[order], return_index=True)
        px, py = x[order[first]], centres[order[first]]
        line = np.polyfit(px, py, 1) if px.size >= 3 else prior
        # Pass 2: every marking is a lane edge, half a lane from the centre line on
        # one side; keep the side that agrees with the pass-1 line.
        pred = np.polyval(line, x)
        cand = np.stack([y - half, y + half], axis=1)
        err = np.abs(cand - pred[:, None])
        side = np.argmin(err, axis=1)
        yc = cand[np.arange(y.size), side]
        keep = (err[np.arange(y.size), side] <= 0.5 * half) & (x <= self.params.fit_max_x_m)
        if keep.sum() < max(2, self.params.min_rows):
            return None
        for _ in range(2):
            degree = 2 if keep.sum() >= 8 and np.ptp(x[keep]) >= 0.3 else 1
            coef = np.polyfit(x[keep], yc[keep], degree)
            resid = np.abs(yc - np.polyval(coef, x))
            new = keep & (resid <= max(0.03, 3.0 * float(np.median(resid[keep]))))
            if new.sum() < max(2, self.params.min_rows) or np.array_equal(new, keep):
                break
            keep = new
        return -float(np.polyval(coef, 0.0)), int(np.unique(v[keep]).size), coef

    def reset(self):
        """Forget the lane position carried between frames (ground mode)."""
        #: Lane-centre line ``y_c(x_r)`` [m] (polynomial coefficients), carried
        #: between frames.
        self._coef = np.zeros(1)


def lane_reward(image, params=LaneRewardParams(), image_to_ground=None):
    """Return the estimated ``d`` [m] of one image (stateless; 0.0 when no lane is found)."""
    return LaneReward(params, image_to_ground).estimate(image).d_m
