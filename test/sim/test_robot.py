"""Differential-drive kinematics against closed-form arcs."""

import math

import numpy as np
import pytest

from snn_ros.sim.robot import (apply_actuators, integrate_unicycle, RobotParams,
                               twist_to_wheels, wheels_to_twist)


@pytest.mark.parametrize('v, omega', [(0.5, 0.8), (0.3, -1.7), (0.4, 0.0), (-0.2, 0.5),
                                      (0.0, 2.0), (0.5, 1e-12)])
def test_integration_follows_the_closed_form_arc(v, omega):
    x0, y0, th0 = 1.0, -2.0, 0.7
    for t in (0.05, 0.5, 3.0):
        x, y, th = integrate_unicycle(x0, y0, th0, v, omega, t)
        if abs(omega) > 1e-9:
            ex = x0 + v / omega * (math.sin(th0 + omega * t) - math.sin(th0))
            ey = y0 - v / omega * (math.cos(th0 + omega * t) - math.cos(th0))
        else:
            ex, ey = x0 + v * t * math.cos(th0), y0 + v * t * math.sin(th0)
        assert x == pytest.approx(ex, abs=1e-11)
        assert y == pytest.approx(ey, abs=1e-11)
        assert math.cos(th - th0 - omega * t) == pytest.approx(1.0, abs=1e-12)
        assert -math.pi < th <= math.pi


def test_many_small_steps_equal_one_big_step():
    pose = (0.0, 0.0, 0.0)
    for _ in range(1000):
        pose = integrate_unicycle(*pose, 0.5, 1.3, 0.004)
    big = integrate_unicycle(0.0, 0.0, 0.0, 0.5, 1.3, 4.0)
    assert np.allclose(pose, big, atol=1e-10)


def test_full_circle_returns_home():
    x, y, th = integrate_unicycle(0.0, 0.0, 0.0, 0.5, 1.0, 2.0 * math.pi)
    assert abs(x) < 1e-12 and abs(y) < 1e-12 and abs(math.sin(th)) < 1e-12


def test_wheel_conversions_round_trip_and_clamp():
    b = 0.33
    left, right = twist_to_wheels(0.4, 1.0, b)
    assert (left, right) == pytest.approx((0.4 - 0.165, 0.4 + 0.165))
    assert wheels_to_twist(left, right, b) == pytest.approx((0.4, 1.0))
    params = RobotParams(max_wheel_speed_mps=0.5)
    v, omega = apply_actuators(params, 2.0, 0.0)
    assert (v, omega) == pytest.approx((0.5, 0.0))
    v, omega = apply_actuators(params, 0.0, 10.0)  # spin: each wheel at the limit
    assert (v, omega) == pytest.approx((0.0, 1.0 / 0.33))


def test_actuator_noise_is_seeded_and_needs_a_generator():
    params = RobotParams(wheel_noise_mps=0.05)
    with pytest.raises(ValueError, match='rng'):
        apply_actuators(params, 0.3, 0.0)
    a = [apply_actuators(params, 0.3, 0.1, np.random.default_rng(7)) for _ in range(2)]
    b = apply_actuators(params, 0.3, 0.1, np.random.default_rng(8))
    assert a[0] == a[1] and a[0] != b
    with pytest.raises(ValueError, match='wheel_base_m'):
        RobotParams(wheel_base_m=0.0)
