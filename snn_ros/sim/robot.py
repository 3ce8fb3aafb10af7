"""
A Pioneer-like differential-drive robot, integrated exactly.

Wheel speeds ``v_l, v_r`` [m/s] and the wheel base ``b`` [m] give the unicycle
commands

    v = (v_r + v_l) / 2,        omega = (v_r - v_l) / b,

and, inversely, ``v_l = v - omega b / 2``, ``v_r = v + omega b / 2``. With
``(v, omega)`` constant over a step ``dt`` the pose ``(x, y, theta)`` follows the
circular arc

    theta' = theta + omega dt,
    x' = x + v dt cos(theta + omega dt / 2) sinc(omega dt / 2),
    y' = y + v dt sin(theta + omega dt / 2) sinc(omega dt / 2),

with ``sinc(a) = sin(a) / a`` (and ``sinc(0) = 1``), which is exact for every
``omega`` including zero. Wheel speeds are clamped to ``+-max_wheel_speed_mps``
before integration. Optional actuator noise adds independent Gaussian noise of
standard deviation ``wheel_noise_mps`` to each wheel speed, drawn from the
generator passed in.

Defaults follow the Pioneer 3-DX (wheel base 0.33 m, top speed 1.2 m/s), the
robot of Bing, Meschede et al., ICRA 2018.
"""

from dataclasses import dataclass
import math


@dataclass(frozen=True)
class RobotParams:
    """Differential-drive parameters: wheel base [m], wheel speed limit [m/s], noise [m/s]."""

    wheel_base_m: float = 0.33
    max_wheel_speed_mps: float = 1.2
    wheel_noise_mps: float = 0.0

    def __post_init__(self):
        """Validate the parameters."""
        if not self.wheel_base_m > 0.0:
            raise ValueError(f'wheel_base_m={self.wheel_base_m}: must be > 0')
        if not self.max_wheel_speed_mps > 0.0:
            raise ValueError(f'max_wheel_speed_mps={self.max_wheel_speed_mps}: must be > 0')
        if not self.wheel_noise_mps >= 0.0:
            raise ValueError(f'wheel_noise_mps={self.wheel_noise_mps}: must be >= 0')


def twist_to_wheels(v_mps, omega_radps, wheel_base_m):
    """Return ``(v_left, v_right)`` [m/s] for a twist ``(v, omega)``."""
    half = 0.5 * omega_radps * wheel_base_m
    return v_mps - half, v_mps + half


def wheels_to_twist(v_left_mps, v_right_mps, wheel_base_m):
    """Return ``(v, omega)`` [m/s, rad/s] for wheel speeds."""
    return 0.5 * (v_left_mps + v_right_mps), (v_right_mps - v_left_mps) / wheel_base_m


def integrate_unicycle(x_m, y_m, theta_rad, v_mps, omega_radps, dt_s):
    """Return the pose ``(x, y, theta)`` after ``dt_s`` at constant ``(v, omega)`` (exact arc)."""
    half = 0.5 * omega_radps * dt_s
    sinc = math.sin(half) / half if abs(half) > 1e-9 else 1.0 - half * half / 6.0
    dist = v_mps * dt_s * sinc
    mid = theta_rad + half
    theta = theta_rad + 2.0 * half
    theta = math.pi - (math.pi - theta) % (2.0 * math.pi)
    return x_m + dist * math.cos(mid), y_m + dist * math.sin(mid), theta


def apply_actuators(params, v_mps, omega_radps, rng=None):
    """
    Return the twist the wheels actually produce for a commanded twist.

    Converts to wheel speeds, adds noise from ``rng`` (a ``np.random.Generator``,
    needed when ``params.wheel_noise_mps > 0``), clamps to the speed limit and
    converts back. Returns ``(v, omega)`` [m/s, rad/s].
    """
    if not (math.isfinite(v_mps) and math.isfinite(omega_radps)):
        raise ValueError(f'v_mps={v_mps}, omega_radps={omega_radps}: must be finite')
    left, right = twist_to_wheels(v_mps, omega_radps, params.wheel_base_m)
    if params.wheel_noise_mps > 0.0:
        if rng is None:
            raise ValueError('rng: a np.random.Generator is needed when wheel_noise_mps > 0')
        noise = rng.normal(0.0, params.wheel_noise_mps, 2)
        left += float(noise[0])
        right += float(noise[1])
    limit = params.max_wheel_speed_mps
    left = min(max(left, -limit), limit)
    right = min(max(right, -limit), limit)
    return wheels_to_twist(left, right, params.wheel_base_m)
