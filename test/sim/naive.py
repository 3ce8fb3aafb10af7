"""
Slow, obvious reference versions of the camera geometry and renderer.

Written from the pinhole model directly (explicit camera axes, one ray per
pixel, a Python loop, bilinear sampling by hand), independently of the
homography composition that ``snn_ros.sim.camera`` uses.
"""

import math


def camera_axes(pitch_rad):
    """Return the camera x (right), y (down) and z (optical) axes in the robot frame."""
    c, s = math.cos(pitch_rad), math.sin(pitch_rad)
    z = (c, 0.0, -s)
    x = (0.0, -1.0, 0.0)
    y = (z[1] * x[2] - z[2] * x[1], z[2] * x[0] - z[0] * x[2], z[0] * x[1] - z[1] * x[0])
    return x, y, z


def pixel_ray(params, u, v):
    """Return the robot-frame direction of the ray through pixel ``(u, v)``."""
    f = (params.width_px / 2.0) / math.tan(params.hfov_rad / 2.0)
    cx, cy = (params.width_px - 1) / 2.0, (params.height_px - 1) / 2.0
    a, b = (u - cx) / f, (v - cy) / f
    x, y, z = camera_axes(params.pitch_rad)
    return tuple(a * x[i] + b * y[i] + z[i] for i in range(3))


def pixel_to_ground(params, u, v):
    """Return the robot-frame ground point ``(x_r, y_r)`` seen at pixel ``(u, v)``, or None."""
    d = pixel_ray(params, u, v)
    if d[2] >= 0.0:
        return None
    lam = params.height_m / -d[2]
    return params.mount_x_m + lam * d[0], lam * d[1]


def ground_to_pixel(params, x_r, y_r):
    """Project the robot-frame ground point ``(x_r, y_r)``; return ``(u, v)``."""
    f = (params.width_px / 2.0) / math.tan(params.hfov_rad / 2.0)
    cx, cy = (params.width_px - 1) / 2.0, (params.height_px - 1) / 2.0
    p = (x_r - params.mount_x_m, y_r, -params.height_m)
    x, y, z = camera_axes(params.pitch_rad)
    pc = [sum(p[i] * axis[i] for i in range(3)) for axis in (x, y, z)]
    return cx + f * pc[0] / pc[2], cy + f * pc[1] / pc[2]


def is_sky_row(params, v):
    """Whether row ``v`` sees no ground closer than ``max_range_m`` (the renderer's sky)."""
    d = pixel_ray(params, (params.width_px - 1) / 2.0, v)
    if d[2] >= 0.0:
        return True
    lam = params.height_m / -d[2]
    return lam * math.hypot(d[0], d[1]) > params.max_range_m * (1.0 + 1e-12)


def sample_bilinear(image, col, row, border):
    """Sample a 2-D array at fractional ``(col, row)``; outside pixels read ``border``."""
    rows, cols = len(image), len(image[0])

    def at(r, c):
        return float(image[r][c]) if 0 <= r < rows and 0 <= c < cols else float(border)

    c0, r0 = math.floor(col), math.floor(row)
    fc, fr = col - c0, row - r0
    return ((1 - fr) * ((1 - fc) * at(r0, c0) + fc * at(r0, c0 + 1))
            + fr * ((1 - fc) * at(r0 + 1, c0) + fc * at(r0 + 1, c0 + 1)))


def render_naive(params, raster, x_m, y_m, theta_rad):
    """
    Render one frame pixel by pixel.

    Returns a list of rows of floats (grey levels); sky rows are ``None`` rows.
    """
    c, s = math.cos(theta_rad), math.sin(theta_rad)
    img = raster.image.tolist()
    out = []
    for v in range(params.height_px):
        if is_sky_row(params, v):
            out.append(None)
            continue
        row = []
        for u in range(params.width_px):
            xr, yr = pixel_to_ground(params, u, v)
            xw, yw = x_m + c * xr - s * yr, y_m + s * xr + c * yr
            col = (xw - raster.x0_m) / raster.res_m
            rr = (yw - raster.y0_m) / raster.res_m
            row.append(sample_bilinear(img, col, rr, raster.border_level))
        out.append(row)
    return out
