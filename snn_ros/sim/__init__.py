"""
The embedded world: track, differential-drive robot, camera and task reward.

numpy and OpenCV only (no ROS). Start with ``World(WorldParams())``; the
modules are ``track`` (geometry and sign conventions), ``robot`` (kinematics),
``camera`` (pinhole rendering), ``world`` (task, reward, resets, laps),
``driver`` (a ground-truth pure-pursuit reference driver) and ``sdf`` (the
Gazebo world).
"""

from snn_ros.sim.camera import CameraParams, SceneParams
from snn_ros.sim.robot import RobotParams
from snn_ros.sim.track import make_track, Track
from snn_ros.sim.world import Observation, World, WorldParams

__all__ = ['CameraParams', 'make_track', 'Observation', 'RobotParams', 'SceneParams', 'Track',
           'World', 'WorldParams']
