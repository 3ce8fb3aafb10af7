"""
The lane-keeping loop in Gazebo Sim: ``ros2 launch snn_ros gazebo_lane.launch.py``.

Gazebo runs ``worlds/lane_track.sdf`` (the track and a Pioneer-like robot with a
camera and a diff-drive plugin) through ``ros_gz_sim``'s ``gz_sim.launch.py``;
``ros_gz_bridge``'s ``parameter_bridge`` maps exactly the topics of
``config/gz_bridge.yaml`` (``/cmd_vel``, ``/camera/image_raw``, ``/odom``,
``/clock``). There is no ground-truth ``d`` outside the embedded world, so
``reward_node`` estimates it from the camera, and ``encoder_node`` and
``controller_node`` close the loop as they do on the embedded world, on sim
time. Needs Gazebo Sim with ros_gz (not installable from PyPI).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    share = FindPackageShare('snn_ros')
    config = PathJoinSubstitution([share, 'config'])
    sim_time = {'use_sim_time': True}
    gz_sim = PathJoinSubstitution([FindPackageShare('ros_gz_sim'), 'launch', 'gz_sim.launch.py'])
    return LaunchDescription([
        DeclareLaunchArgument('world', default_value=PathJoinSubstitution(
            [share, 'worlds', 'lane_track.sdf']), description='Gazebo world (SDF)'),
        DeclareLaunchArgument('network_file', default_value='lane_keeping.yaml',
                              description='controller description (YAML in config/)'),
        DeclareLaunchArgument('checkpoint_file', default_value='weights.npz',
                              description='weights file of the controller'),
        IncludeLaunchDescription(PythonLaunchDescriptionSource(gz_sim),
                                 launch_arguments={'gz_args': ['-r ', LaunchConfiguration(
                                     'world')]}.items()),
        Node(package='ros_gz_bridge', executable='parameter_bridge', name='gz_bridge',
             parameters=[{'config_file': PathJoinSubstitution([config, 'gz_bridge.yaml'])},
                         sim_time],
             output='screen'),
        Node(package='snn_ros', executable='reward_node', name='reward',
             parameters=[PathJoinSubstitution([config, 'reward.yaml']), sim_time],
             remappings=[('image', '/camera/image_raw'), ('reward', '/lane_reward')],
             output='screen'),
        Node(package='snn_ros', executable='encoder_node', name='encoder',
             parameters=[PathJoinSubstitution([config, 'encoder.yaml']), sim_time],
             remappings=[('image', '/camera/image_raw'), ('events', '/dvs/events')],
             output='screen'),
        Node(package='snn_ros', executable='controller_node', name='controller',
             parameters=[PathJoinSubstitution([config, 'controller.yaml']), sim_time,
                         {'network_file': PathJoinSubstitution(
                             [config, LaunchConfiguration('network_file')]),
                          'checkpoint_file': LaunchConfiguration('checkpoint_file')}],
             remappings=[('events', '/dvs/events'), ('reward', '/lane_reward'),
                         ('cmd_vel', '/cmd_vel')],
             output='screen'),
    ])
