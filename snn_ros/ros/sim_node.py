"""
``sim_node``: the embedded lane-keeping world on the topics Gazebo + ros_gz_bridge give.

Publishes ``/camera/image_raw`` (mono8), ``/odom`` (``nav_msgs/Odometry``),
``/clock`` (sim time) and ``/reward`` (``std_msgs/Float32``: the signed lateral
distance to the lane centre [m], positive left of it); subscribes ``/cmd_vel``;
``~/reset`` restarts the world. Two modes:

- ``lockstep``: the world advances one step each time a command arrives (the
  controller's timer runs on the published sim time, so it answers every step);
  a watchdog steps with the last command if none comes for ``lockstep_timeout_s``.
- ``realtime``: the world advances one step per ``step_s`` of wall time, with the
  newest command, or zero once commands are older than ``cmd_timeout_s``.
"""

import math

from geometry_msgs.msg import Twist, TwistStamped
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import Image
from std_msgs.msg import Float32
from std_srvs.srv import Trigger

from snn_ros.core.types import NS_PER_S
from snn_ros.ros import convert, qos, spin
from snn_ros.ros.params import declare, Param
from snn_ros.sim.camera import CameraParams, SceneParams
from snn_ros.sim.track import TRACKS
from snn_ros.sim.world import RESET_MODES, World, WorldParams

#: Sim time of the first step [ns]: time zero means 'unset' to many ROS tools.
T_START_NS = NS_PER_S

PARAMETERS = [
    Param('mode', 'lockstep', 'lockstep (a step per command) or realtime',
          choices=('lockstep', 'realtime'), read_only=True),
    Param('step_s', 0.05, 'simulated time per step [s]', 0.001, 1.0, read_only=True),
    Param('track', 'bing', 'track shape', choices=tuple(TRACKS), read_only=True),
    Param('lane', 'outer', 'lane the robot drives in', choices=('outer', 'inner'),
          read_only=True),
    Param('reset_mode', 'start', 'where an episode restarts', choices=RESET_MODES,
          read_only=True),
    Param('image_width', 128, 'camera width [px]', 16, 1024, read_only=True),
    Param('image_height', 128, 'camera height [px]', 16, 1024, read_only=True),
    Param('seed', 0, 'seed of the world (noise, random resets)', 0, 2**31 - 1,
          read_only=True),
    Param('texture', False, 'textured floor and road (off: a plain road, as the in-process '
          'trainer uses)', read_only=True),
    Param('cmd_stamped', False, 'subscribe TwistStamped instead of Twist', read_only=True),
    Param('cmd_timeout_s', 0.5, 'realtime: commands older than this count as zero [s]',
          0.01, 60.0),
    Param('lockstep_timeout_s', 1.0, 'lockstep: step anyway after this wall time [s]',
          0.01, 60.0, read_only=True),
]


class SimNode(Node):
    """Step the embedded world and publish what its sensors see."""

    def __init__(self):
        super().__init__('sim')
        self.p = declare(self, PARAMETERS)
        camera = CameraParams(width_px=self.p.image_width, height_px=self.p.image_height)
        self.world = World(WorldParams(track=self.p.track, lane=self.p.lane,
                                       reset_mode=self.p.reset_mode, seed=self.p.seed,
                                       camera=camera,
                                       scene=SceneParams(texture=self.p.texture)))
        self.step_ns = int(round(self.p.step_s * NS_PER_S))
        self.wall = Clock(clock_type=ClockType.STEADY_TIME)
        self.command = (0.0, 0.0)
        self.command_wall_ns = 0
        self.pending = False
        self.image_pub = self.create_publisher(Image, '/camera/image_raw', qos.COMMAND)
        self.odom_pub = self.create_publisher(Odometry, '/odom', qos.COMMAND)
        self.clock_pub = self.create_publisher(ClockMsg, '/clock', qos.COMMAND)
        self.reward_pub = self.create_publisher(Float32, '/reward', qos.COMMAND)
        cmd_type = TwistStamped if self.p.cmd_stamped else Twist
        self.create_subscription(cmd_type, '/cmd_vel', self.on_cmd_vel, qos.COMMAND)
        self.create_service(Trigger, '~/reset', self.on_reset)
        period = self.p.step_s if self.p.mode == 'realtime' else self.p.lockstep_timeout_s
        self.timer = self.create_timer(period, self.on_timer, clock=self.wall)
        self.observation = self.world.reset()
        self._publish(self.observation)

    def on_cmd_vel(self, msg):
        """Take the newest command; in lockstep mode, step at once."""
        twist = msg.twist if isinstance(msg, TwistStamped) else msg
        v, omega = float(twist.linear.x), float(twist.angular.z)
        if not (math.isfinite(v) and math.isfinite(omega)):
            self.get_logger().warning('dropped a non-finite cmd_vel', throttle_duration_sec=5.0)
            return
        self.command = (v, omega)
        self.command_wall_ns = self.wall.now().nanoseconds
        if self.p.mode == 'lockstep':
            self._step(*self.command)
            self.timer.reset()

    def on_timer(self):
        """Realtime: one step per period. Lockstep: the watchdog."""
        if self.p.mode == 'realtime':
            age_s = (self.wall.now().nanoseconds - self.command_wall_ns) / NS_PER_S
            self._step(*(self.command if age_s <= self.p.cmd_timeout_s else (0.0, 0.0)))
        else:
            self._step(*self.command)

    def on_reset(self, request, response):
        """Restart the world (time keeps running, so /clock never goes back)."""
        t_ns = self.world.t_ns
        self.observation = self.world.reset()
        self.world.t_ns = t_ns
        response.success = True
        response.message = 'world reset'
        return response

    def _step(self, v_mps, omega_radps):
        self.observation = self.world.step(v_mps, omega_radps, self.step_ns)
        self._publish(self.observation)

    def _publish(self, obs):
        stamp = convert.ns_to_stamp(T_START_NS + obs.t_ns)
        self.clock_pub.publish(ClockMsg(clock=stamp))
        self.image_pub.publish(convert.array_to_image(obs.image, 'mono8',
                                                      T_START_NS + obs.t_ns, 'camera'))
        odom = Odometry()
        odom.header.stamp = stamp
        odom.header.frame_id = 'odom'
        odom.child_frame_id = 'base_link'
        x, y, theta = obs.pose
        odom.pose.pose.position.x, odom.pose.pose.position.y = float(x), float(y)
        odom.pose.pose.orientation.z = math.sin(0.5 * theta)
        odom.pose.pose.orientation.w = math.cos(0.5 * theta)
        odom.twist.twist.linear.x = float(obs.v_mps)
        odom.twist.twist.angular.z = float(obs.omega_radps)
        self.odom_pub.publish(odom)
        self.reward_pub.publish(Float32(data=float(obs.d_m)))

    def close(self):
        """Nothing to save: the world is deterministic given its parameters."""


def main(args=None):
    """Run the sim node."""
    return spin.run(SimNode, args)
