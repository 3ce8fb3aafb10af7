"""
The closed loop of ``snn-ros demo``, for ``ros2 launch snn_ros demo.launch.py``.

``sim_node`` (the embedded world) publishes the camera, odometry, reward and
``/clock``; ``encoder_node`` turns the frames into DVS events on ``/dvs/events``;
``controller_node`` learns from the reward and drives ``/cmd_vel``. All follow
sim time. ``reward:=camera`` adds ``reward_node``, and the controller learns from
its camera-only estimate (``/lane_reward``) instead of the world's true ``d``.
Set ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` and a ``ROS_DOMAIN_ID`` of your own
to keep the run on this machine (``snn-ros demo`` does both). Known issue:
``controller_node`` runs its network up to "now" when a reward arrives, so events of
a step that arrive after that step's reward are dropped as late; ``snn-ros demo``
relays the reward 40 ms later to avoid it, this file does not.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


# A little DVS leak (0.1 events per pixel per second, about 80 per 50 ms step at
# 128 x 128) keeps events flowing while the robot stands still, so the controller's
# input never times out at start-up (a still robot in a still scene makes no events, and
# a controller without input commands zero velocity). Shot noise would do the same, but
# leak events are spread evenly over the pixels and the frame interval.
LEAK_RATE_HZ = 0.1
# The emulator's default contrast threshold, as the in-process trainer uses: on the
# plain road (sim_node's default) it gives the controller about 140 input events per
# step on the first straight; at 0.4 (once used against the texture's events) it gives
# about 40, too few for the motor neurons to fire (0.2 mV weights, 10 mV threshold),
# so the robot never steered and never learned. The network lags the clock by
# MAX_INPUT_DELAY_S so that events of a frame are not late when the encoder or the
# controller falls a step behind.
THETA = 0.2
MAX_INPUT_DELAY_S = 0.15


def generate_launch_description():
    config = PathJoinSubstitution([FindPackageShare('snn_ros'), 'config'])
    sim_time = {'use_sim_time': True}
    seed = LaunchConfiguration('seed')
    camera_reward = PythonExpression(["'", LaunchConfiguration('reward'), "' == 'camera'"])
    reward_topic = PythonExpression(["'/lane_reward' if '", LaunchConfiguration('reward'),
                                     "' == 'camera' else '/reward'"])
    return LaunchDescription([
        DeclareLaunchArgument('mode', default_value='realtime', choices=['realtime', 'lockstep'],
                              description='sim_node: a step per 50 ms of wall time, or a step '
                                          'per command'),
        DeclareLaunchArgument('reward', default_value='world', choices=['world', 'camera'],
                              description="learn from the world's true d, or from reward_node's "
                                          'camera-only estimate'),
        DeclareLaunchArgument('network_file', default_value='lane_keeping.yaml',
                              description='controller description (YAML in the package '
                                          'config/ folder)'),
        DeclareLaunchArgument('seed', default_value='0',
                              description='seed of world, DVS emulator and network'),
        Node(package='snn_ros', executable='sim_node', name='sim',
             parameters=[PathJoinSubstitution([config, 'sim.yaml']),
                         {'mode': LaunchConfiguration('mode'), 'seed': seed}],
             output='screen'),
        Node(package='snn_ros', executable='encoder_node', name='encoder',
             parameters=[PathJoinSubstitution([config, 'encoder.yaml']), sim_time,
                         {'dvs.seed': seed, 'dvs.leak_rate_hz': LEAK_RATE_HZ,
                          'dvs.theta_on': THETA, 'dvs.theta_off': THETA}],
             remappings=[('image', '/camera/image_raw'), ('events', '/dvs/events')],
             output='screen'),
        Node(package='snn_ros', executable='controller_node', name='controller',
             parameters=[PathJoinSubstitution([config, 'controller.yaml']), sim_time,
                         {'network_file': PathJoinSubstitution(
                             [config, LaunchConfiguration('network_file')]), 'seed': seed,
                          'max_input_delay_s': MAX_INPUT_DELAY_S}],
             remappings=[('events', '/dvs/events'), ('reward', reward_topic),
                         ('cmd_vel', '/cmd_vel')],
             output='screen'),
        Node(package='snn_ros', executable='reward_node', name='reward',
             condition=IfCondition(camera_reward),
             parameters=[PathJoinSubstitution([config, 'reward.yaml']), sim_time],
             remappings=[('image', '/camera/image_raw'), ('reward', '/lane_reward')],
             output='screen'),
    ])
