"""
A forward-looking pinhole camera over a flat track, rendered by ground-plane warping.

Frames. Robot: ``x`` forward, ``y`` left, ``z`` up, origin on the ground below
the wheel axle centre. Camera (OpenCV convention): ``x`` right, ``y`` down,
``z`` along the optical axis. The camera sits at ``(mount_x_m, 0, height_m)`` in
the robot frame, looking forward and pitched down by ``pitch_rad``; it does not
roll. Pixels are addressed by column ``u`` and row ``v`` with integer values at
pixel centres; the principal point is the image centre
``(c_x, c_y) = ((W - 1) / 2, (H - 1) / 2)``, and ``f = (W / 2) / tan(hfov / 2)``
for both axes (square pixels).

Projection. A ground point ``(x_r, y_r, 0)`` in the robot frame has the camera
coordinates ``p_c = R^T ((x_r, y_r, 0) - C)`` with ``R = [x_c y_c z_c]`` (the
camera axes in the robot frame: ``x_c = (0, -1, 0)``,
``y_c = (-sin pitch, 0, -cos pitch)``, ``z_c = (cos pitch, 0, -sin pitch)``), and
the pixel ``u = c_x + f p_c,x / p_c,z``, ``v = c_y + f p_c,y / p_c,z``. For a
camera looking straight along a lane, a marking at lateral offset ``y_r`` meets
row ``v`` at column ``u = c_x - f y_r / (z_c . (p - C))``.

Because the ground is a plane, image and ground are related by a homography
``H_c`` (image pixel to robot-frame ground point), fixed for the camera; the
robot pose adds a rigid motion ``T`` and the world raster a scale and shift
``A``. Rendering a frame is one ``cv2.warpPerspective`` of a pre-drawn raster of
the track in world coordinates by ``A T H_c``, sampled bilinearly. Rows whose
ground point lies farther than ``max_range_m`` (and the sky above the horizon)
are filled with a fixed sky gradient.

The raster holds the floor, the road (two lanes) and the three markings, drawn
anti-aliased; an optional seeded texture (blotches and grain) lies on floor
and road, and optional per-frame lighting noise (global gain and offset) and
pixel noise give an emulated DVS realistic edges and clutter. Pixel noise is
cheap: ``Renderer.NOISE_BANK`` Gaussian noise frames are drawn once (seeded by
``texture_seed``), and each frame adds the positive part of one and subtracts
the negative part of another, both picked by the generator passed in.
"""

from dataclasses import dataclass
import math

import cv2
import numpy as np


@dataclass(frozen=True)
class CameraParams:
    """
    Pinhole camera intrinsics and mounting.

    ``width_px`` x ``height_px`` image; ``hfov_rad`` horizontal field of view;
    ``height_m`` above the ground; ``pitch_rad`` downwards from horizontal;
    ``mount_x_m`` ahead of the axle centre; ground farther than ``max_range_m``
    (from the camera, along the ground) is drawn as sky.
    """

    width_px: int = 128
    height_px: int = 128
    hfov_rad: float = math.radians(80.0)
    height_m: float = 0.4
    pitch_rad: float = math.radians(35.0)
    mount_x_m: float = 0.1
    max_range_m: float = 6.0

    def __post_init__(self):
        """Validate the parameters."""
        for name in ('width_px', 'height_px'):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and 8 <= value <= 4096):
                raise ValueError(f'{name}={value!r}: must be an integer in [8, 4096]')
        if not 0.0 < self.hfov_rad < math.radians(170.0):
            raise ValueError(f'hfov_rad={self.hfov_rad}: must be in (0, 170 deg)')
        if not self.height_m > 0.0:
            raise ValueError(f'height_m={self.height_m}: must be > 0')
        if not self.max_range_m > 0.0:
            raise ValueError(f'max_range_m={self.max_range_m}: must be > 0')
        half_v = math.atan((self.height_px / 2.0) / self.focal_px)
        if not (0.0 < self.pitch_rad + half_v < math.pi / 2.0):
            raise ValueError(f'pitch_rad={self.pitch_rad}: the bottom image row must look at '
                             'the ground in front of the camera')

    @property
    def focal_px(self):
        """Focal length [px] (square pixels)."""
        return (self.width_px / 2.0) / math.tan(self.hfov_rad / 2.0)

    @property
    def centre_px(self):
        """Principal point ``(c_x, c_y)`` [px], the image centre."""
        return (self.width_px - 1) / 2.0, (self.height_px - 1) / 2.0

    def intrinsics(self):
        """Return the 3x3 camera matrix ``K``."""
        f = self.focal_px
        cx, cy = self.centre_px
        return np.array([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]])

    def rotation(self):
        """Return ``R`` (3x3), the camera axes as columns in the robot frame."""
        c, s = math.cos(self.pitch_rad), math.sin(self.pitch_rad)
        return np.array([[0.0, -s, c], [-1.0, 0.0, 0.0], [0.0, -c, -s]])

    def position(self):
        """Return the camera centre ``C`` in the robot frame [m]."""
        return np.array([self.mount_x_m, 0.0, self.height_m])

    def first_ground_row(self):
        """Return the first image row drawn as ground (rows above it are sky)."""
        cy = self.centre_px[1]
        angle = math.atan2(self.height_m, self.max_range_m) - self.pitch_rad
        return min(self.height_px, max(0, int(math.ceil(cy + self.focal_px * math.tan(angle)))))

    def image_to_ground(self):
        """Return the homography ``H_c``: pixel ``(u, v, 1)`` to ground ``(x_r, y_r, 1)``."""
        h = self.height_m
        cam = self.position()
        m = np.array([[1.0, 0.0, -cam[0] / h], [0.0, 1.0, -cam[1] / h], [0.0, 0.0, -1.0 / h]])
        return m @ self.rotation() @ np.linalg.inv(self.intrinsics())

    def ground_to_image(self):
        """Return the inverse homography: ground ``(x_r, y_r, 1)`` to pixel ``(u, v, 1)``."""
        return np.linalg.inv(self.image_to_ground())

    def project_ground(self, x_r_m, y_r_m):
        """
        Project robot-frame ground points [m] to pixels.

        Returns ``(u, v)`` [px] as float arrays; points behind the camera give NaN.
        """
        p = np.stack(np.broadcast_arrays(np.asarray(x_r_m, dtype=np.float64),
                                         np.asarray(y_r_m, dtype=np.float64)), axis=-1)
        pc = (p - self.position()[:2]) @ self.rotation()[:2, :]
        pc = pc - self.position()[2] * self.rotation()[2, :]
        z = pc[..., 2]
        ok = z > 1e-9
        z = np.where(ok, z, np.nan)
        f = self.focal_px
        cx, cy = self.centre_px
        return cx + f * pc[..., 0] / z, cy + f * pc[..., 1] / z

    def ground_rays(self):
        """
        Return the per-pixel ground points ``(x_r, y_r)`` [m], each of shape ``(H, W)``.

        Pixels that see no ground within ``max_range_m`` (rows above
        ``first_ground_row()``) are NaN.
        """
        u, v = np.meshgrid(np.arange(self.width_px, dtype=np.float64),
                           np.arange(self.height_px, dtype=np.float64))
        q = np.stack([u, v, np.ones_like(u)], axis=-1) @ self.image_to_ground().T
        x, y = q[..., 0] / q[..., 2], q[..., 1] / q[..., 2]
        sky = v < self.first_ground_row()
        return np.where(sky, np.nan, x), np.where(sky, np.nan, y)


@dataclass(frozen=True)
class SceneParams:
    """
    Appearance of the track and the noise of the rendered frames.

    Grey levels (0-255) of floor, road and markings; ``marking_width_m``;
    centre-line dashes (``centre_gap_m = 0`` for a solid line); the raster
    resolution ``raster_res_m`` and ``margin_m`` of floor around the road;
    texture (blotches of ``texture_blotch_level`` and grain of
    ``texture_grain_level``, seeded by ``texture_seed``); per-frame lighting
    noise (relative gain std ``light_gain_std``, offset std ``light_offset_std``
    grey levels) and pixel noise std ``pixel_noise_std`` grey levels; the sky
    gradient from ``sky_top_level`` to ``sky_horizon_level``.
    """

    floor_level: int = 130
    road_level: int = 55
    marking_level: int = 235
    marking_width_m: float = 0.05
    centre_dash_m: float = 0.3
    centre_gap_m: float = 0.3
    raster_res_m: float = 0.01
    margin_m: float = 2.0
    texture: bool = True
    texture_blotch_level: float = 14.0
    texture_grain_level: float = 10.0
    texture_seed: int = 0
    light_gain_std: float = 0.0
    light_offset_std: float = 0.0
    pixel_noise_std: float = 0.0
    sky_top_level: int = 200
    sky_horizon_level: int = 165

    def __post_init__(self):
        """Validate the parameters."""
        for name in ('floor_level', 'road_level', 'marking_level', 'sky_top_level',
                     'sky_horizon_level'):
            if not 0 <= getattr(self, name) <= 255:
                raise ValueError(f'{name}={getattr(self, name)}: must be in [0, 255]')
        for name in ('marking_width_m', 'raster_res_m'):
            if not getattr(self, name) > 0.0:
                raise ValueError(f'{name}={getattr(self, name)}: must be > 0')
        for name in ('centre_dash_m', 'centre_gap_m', 'margin_m', 'texture_blotch_level',
                     'texture_grain_level', 'light_gain_std', 'light_offset_std',
                     'pixel_noise_std'):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f'{name}={getattr(self, name)}: must be >= 0')

    @property
    def noisy(self):
        """Whether frames get per-frame noise (and need a generator)."""
        return self.light_gain_std > 0 or self.light_offset_std > 0 or self.pixel_noise_std > 0


class TrackRaster:
    """
    The track drawn top-down in world coordinates.

    ``image``: uint8 ``(rows, cols)``; pixel ``(col, row)`` has its centre at
    world ``(x0_m + col * res_m, y0_m + row * res_m)`` (rows grow with ``y``).
    ``world_to_raster``: 3x3 matrix from world ``(x, y, 1)`` to ``(col, row, 1)``.
    """

    def __init__(self, track, scene=SceneParams()):
        self.scene = scene
        res = scene.raster_res_m
        x_min, y_min, x_max, y_max = track.bounds_m(scene.margin_m)
        self.x0_m, self.y0_m, self.res_m = x_min, y_min, res
        cols = int(math.ceil((x_max - x_min) / res)) + 1
        rows = int(math.ceil((y_max - y_min) / res)) + 1
        self.world_to_raster = np.array([[1.0 / res, 0.0, -x_min / res],
                                         [0.0, 1.0 / res, -y_min / res], [0.0, 0.0, 1.0]])
        shift = 4  # sub-pixel bits for cv2 drawing

        def pts(poly):
            q = (poly - (x_min, y_min)) / res * (1 << shift)
            return np.round(q).astype(np.int32).reshape(-1, 1, 2)

        w = track.lane_half_width_m
        road = np.zeros((rows, cols), np.uint8)
        road_px = int(round((4.0 * w + 2.0 * scene.marking_width_m) / res))
        cv2.polylines(road, [pts(track.offset_polyline(0.0, res))], True, 255, road_px,
                      cv2.LINE_AA, shift)
        marks = np.zeros((rows, cols), np.uint8)
        mark_px = max(1, int(round(scene.marking_width_m / res)))
        for kind, poly in track.markings(scene.centre_dash_m, scene.centre_gap_m, res):
            cv2.polylines(marks, [pts(poly)], kind != 'centre', 255, mark_px, cv2.LINE_AA,
                          shift)
        base = np.full((rows, cols), float(scene.floor_level), np.float32)
        if scene.texture:
            rng = np.random.default_rng(scene.texture_seed)
            coarse = rng.standard_normal((max(2, rows // 40), max(2, cols // 40)))
            blotch = cv2.resize(coarse.astype(np.float32), (cols, rows),
                                interpolation=cv2.INTER_CUBIC)
            grain = cv2.GaussianBlur(rng.standard_normal((rows, cols)).astype(np.float32),
                                     (0, 0), 0.8)
            base += scene.texture_blotch_level * blotch
            base += scene.texture_grain_level * grain / max(float(grain.std()), 1e-9)
        a_road = road.astype(np.float32) / 255.0
        a_mark = marks.astype(np.float32) / 255.0
        surface = base + a_road * (scene.road_level - scene.floor_level)
        img = surface + a_mark * (scene.marking_level - surface)
        self.image = np.clip(np.round(img), 0, 255).astype(np.uint8)
        #: Floor level used beyond the raster border.
        self.border_level = int(scene.floor_level)


class Renderer:
    """
    Render camera frames of a ``TrackRaster`` from robot poses.

    ``render(x_m, y_m, theta_rad, rng=None, out=None)`` returns a uint8 image of
    shape ``(height_px, width_px)``; ``rng`` (a ``np.random.Generator``) is needed
    only when the scene has per-frame noise.
    """

    NOISE_BANK = 16

    def __init__(self, camera, raster):
        self.camera = camera
        self.raster = raster
        self.v0 = camera.first_ground_row()
        shift = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, float(self.v0)], [0.0, 0.0, 1.0]])
        #: Image rows from ``v0`` on, to the robot-frame ground.
        self._hc = camera.image_to_ground() @ shift
        res = raster.res_m
        self._hc_rows = ((self._hc[0] / res).tolist(), (self._hc[1] / res).tolist(),
                         self._hc[2].tolist())
        self._size = (camera.width_px, camera.height_px - self.v0)
        scene = raster.scene
        rows = np.linspace(scene.sky_top_level, scene.sky_horizon_level, max(self.v0, 1))
        self._sky = np.repeat(np.round(rows).astype(np.uint8)[:self.v0, None],
                              camera.width_px, axis=1)
        self._bank = None
        if scene.pixel_noise_std > 0:
            rng = np.random.default_rng([scene.texture_seed, 1])
            noise = rng.normal(0.0, scene.pixel_noise_std,
                               (self.NOISE_BANK, camera.height_px, camera.width_px))
            noise = np.clip(np.round(noise), -255, 255)
            self._bank = (np.maximum(noise, 0).astype(np.uint8),
                          np.maximum(-noise, 0).astype(np.uint8))

    def image_to_raster(self, x_m, y_m, theta_rad):
        """Return the 3x3 map ``A T H_c`` from image pixels (rows from ``v0``) to raster pixels."""
        c, s = math.cos(theta_rad), math.sin(theta_rad)
        (a0, a1, a2), (b0, b1, b2), (w0, w1, w2) = self._hc_rows
        res, x0, y0 = self.raster.res_m, self.raster.x0_m, self.raster.y0_m
        tx, ty = (x_m - x0) / res, (y_m - y0) / res
        return np.array([[c * a0 - s * b0 + tx * w0, c * a1 - s * b1 + tx * w1,
                          c * a2 - s * b2 + tx * w2],
                         [s * a0 + c * b0 + ty * w0, s * a1 + c * b1 + ty * w1,
                          s * a2 + c * b2 + ty * w2],
                         [w0, w1, w2]])

    def render(self, x_m, y_m, theta_rad, rng=None, out=None):
        """Render the frame seen from the robot pose ``(x_m, y_m, theta_rad)``."""
        cam = self.camera
        if out is None:
            out = np.empty((cam.height_px, cam.width_px), np.uint8)
        elif (out.shape != (cam.height_px, cam.width_px) or out.dtype != np.uint8
              or not out.flags.c_contiguous):
            raise ValueError(f'out: must be a C-contiguous uint8 array of shape '
                             f'{(cam.height_px, cam.width_px)}, got {out.dtype} {out.shape}')
        out[:self.v0] = self._sky
        if self.v0 < cam.height_px:
            ground = out[self.v0:]
            cv2.warpPerspective(self.raster.image, self.image_to_raster(x_m, y_m, theta_rad),
                                self._size, dst=ground,
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT,
                                borderValue=self.raster.border_level)
        scene = self.raster.scene
        if scene.noisy:
            if rng is None:
                raise ValueError('rng: a np.random.Generator is needed for lighting or pixel '
                                 'noise')
            draw = rng.standard_normal(2)
            gain = max(0.0, 1.0 + scene.light_gain_std * float(draw[0]))
            offset = scene.light_offset_std * float(draw[1])
            if gain != 1.0 or offset != 0.0:
                cv2.convertScaleAbs(out, dst=out, alpha=gain, beta=offset)
            if self._bank is not None:
                pick = rng.random(2) * self.NOISE_BANK  # (rng.integers is 5x slower)
                cv2.add(out, self._bank[0][int(pick[0])], dst=out)
                cv2.subtract(out, self._bank[1][int(pick[1])], dst=out)
        return out
