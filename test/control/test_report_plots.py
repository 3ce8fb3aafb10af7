"""The report figures of ``snn-ros train`` and ``snn-ros demo``: what they draw."""

import numpy as np

from snn_ros.commands import plots
from snn_ros.control.braitenberg import BraitenbergController
from snn_ros.control.closed_loop import ClosedLoop, LapStats, LoopResult
from snn_ros.sim.world import World, WorldParams


def _path_pixels(world, poses, resets):
    plain = plots.trajectory(world, poses[:0])
    drawn = plots.trajectory(world, poses, resets)
    return np.any(drawn != plain, axis=2)


def test_trajectory_breaks_at_a_reset_instead_of_drawing_the_jump():
    world = World(WorldParams(track='bing'))
    # drive 300 steps, then a reset puts the robot back at the start (as World.step
    # reports it: the pose of the reset step is already the restart pose)
    loop = ClosedLoop(BraitenbergController(), seed=0)
    run = loop.run(300)
    start = np.array(world.reset().pose)
    poses = np.vstack([run.pose, start, start + [0.01, 0.0, 0.0]])
    resets = np.zeros(poses.shape[0], bool)
    resets[300] = True
    with_break = _path_pixels(world, poses, resets)
    without = _path_pixels(world, poses, np.zeros_like(resets))
    # the jump from the last driven pose back to the start is drawn only without the break
    jump = without & ~with_break
    assert jump.sum() > 50
    assert (with_break & ~without).sum() == 0


def test_learning_curve_shows_mean_abs_d_before_any_lap():
    steps = 1000
    d = np.where(np.arange(steps) < 500, 0.15, 0.01)
    result = LoopResult(d, d, np.zeros(steps, bool), np.zeros(steps, bool),
                        np.zeros((steps, 3)), np.zeros((steps, 2)), [], 1.0, 0.05)
    empty = LoopResult(d * 0, d * 0, np.zeros(steps, bool), np.zeros(steps, bool),
                       np.zeros((steps, 3)), np.zeros((steps, 2)), [], 1.0, 0.05)
    image = plots.learning_curve(result, window=500)
    blank = plots.learning_curve(empty, window=500)
    top = image.shape[0] // 2
    # the per-window line is drawn in the top panel, and differs with the data
    assert np.any(image[:top] != blank[:top])
    lap = result._replace(laps=[LapStats(999, 500, 0.01)])
    assert np.any(plots.learning_curve(lap, window=500)[:top] != image[:top])
