"""
A pure-pursuit lane follower with optional weaving, a ground-truth reference driver.

It reads the true pose (no camera). The target is the lane centre ``L`` metres
of arc length ahead, displaced sideways by ``a sin(2 pi s / lambda)`` to weave;
with the target at ``(x_t, y_t)`` in the robot frame, pure pursuit (Coulter,
"Implementation of the pure pursuit path tracking algorithm", CMU-RI-TR-92-01,
1992) steers on the arc through it: ``omega = v 2 y_t / (x_t^2 + y_t^2)``.
"""

import math

from snn_ros.sim.world import World


class PurePursuit:
    """Follow ``world``'s lane at ``speed_mps`` looking ``lookahead_m`` ahead, weaving."""

    def __init__(self, world, speed_mps=0.5, lookahead_m=0.6, weave_m=0.0,
                 weave_wavelength_m=4.0):
        if not lookahead_m > 0.0:
            raise ValueError(f'lookahead_m={lookahead_m}: must be > 0')
        if not weave_wavelength_m > 0.0:
            raise ValueError(f'weave_wavelength_m={weave_wavelength_m}: must be > 0')
        self.world = world
        self.speed_mps = float(speed_mps)
        self.lookahead_m = float(lookahead_m)
        self.weave_m = float(weave_m)
        self.weave_wavelength_m = float(weave_wavelength_m)

    def command(self):
        """Return the twist ``(v_mps, omega_radps)`` for the world's current pose."""
        w = self.world
        _, _, s = w.lane_state()
        target_s = s + self.lookahead_m
        offset = w.lane_offset_m + self.weave_m * math.sin(
            2.0 * math.pi * target_s / self.weave_wavelength_m)
        tx, ty, _ = w.track.pose_at(target_s, offset)
        c, sn = math.cos(w.theta), math.sin(w.theta)
        dx, dy = tx - w.x, ty - w.y
        xr, yr = c * dx + sn * dy, -sn * dx + c * dy
        return self.speed_mps, self.speed_mps * 2.0 * yr / max(xr * xr + yr * yr, 1e-9)


def driven_frames(n):
    """
    Return ``n`` camera frames (128x128 mono8) of the robot weaving along its lane.

    Real input for the DVS emulator and the controller, where tests and benchmarks
    need a scene that moves as the robot's does.
    """
    world = World()
    driver = PurePursuit(world, speed_mps=0.5, lookahead_m=0.6, weave_m=0.1)
    return [world.step(*driver.command()).image.copy() for _ in range(n)]
