"""
Launch the SNN controller: ``ros2 launch snn_ros controller.launch.py``.

- ``input:=camera`` (default): the controller takes ``image_topic`` and emulates the
  DVS itself (``dvs.*`` of its ``config``); the lowest latency, one process.
- ``input:=camera_events``: an ``encoder_node`` publishes the DVS events on
  ``events_topic`` (for recording or other consumers) and the controller takes them.
- ``input:=event_camera``: a real event camera's packets from ``events_topic``.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    share = FindPackageShare('snn_ros')
    namespace = LaunchConfiguration('namespace')
    use_sim_time = {'use_sim_time': LaunchConfiguration('use_sim_time')}
    source = LaunchConfiguration('input')
    with_encoder = IfCondition(PythonExpression(["'", source, "' == 'camera_events'"]))
    input_type = PythonExpression(["'image' if '", source, "' == 'camera' else 'events'"])
    return LaunchDescription([
        DeclareLaunchArgument('input', default_value='camera',
                              choices=['camera', 'camera_events', 'event_camera'],
                              description='camera: the controller emulates a DVS on '
                                          'image_topic; camera_events: an encoder node does, '
                                          'publishing events_topic; event_camera: use '
                                          'events_topic as it is'),
        DeclareLaunchArgument('namespace', default_value='', description='namespace of the nodes'),
        DeclareLaunchArgument('config', default_value=PathJoinSubstitution(
            [share, 'config', 'controller.yaml']), description='controller parameter file'),
        DeclareLaunchArgument('encoder_config', default_value=PathJoinSubstitution(
            [share, 'config', 'encoder.yaml']),
            description='encoder parameter file (input:=camera_events)'),
        DeclareLaunchArgument('network_file', default_value='lane_keeping.yaml',
                              description='controller description (YAML)'),
        DeclareLaunchArgument('image_topic', default_value='/camera/image_raw',
                              description='camera topic (input:=camera or camera_events)'),
        DeclareLaunchArgument('events_topic', default_value='/dvs/events',
                              description='event topic (EventPacket)'),
        DeclareLaunchArgument('reward_topic', default_value='/reward',
                              description='reward topic (std_msgs/Float32)'),
        DeclareLaunchArgument('cmd_vel_topic', default_value='/cmd_vel',
                              description='output topic (Twist or TwistStamped)'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='follow /clock (true in simulation)'),
        Node(
            package='snn_ros', executable='encoder_node', name='encoder',
            namespace=namespace, condition=with_encoder,
            parameters=[LaunchConfiguration('encoder_config'), use_sim_time],
            remappings=[('image', LaunchConfiguration('image_topic')),
                        ('events', LaunchConfiguration('events_topic'))],
            output='screen',
        ),
        Node(
            package='snn_ros', executable='controller_node', name='controller',
            namespace=namespace,
            parameters=[LaunchConfiguration('config'), use_sim_time,
                        {'network_file': LaunchConfiguration('network_file'),
                         'input': input_type}],
            remappings=[('image', LaunchConfiguration('image_topic')),
                        ('events', LaunchConfiguration('events_topic')),
                        ('reward', LaunchConfiguration('reward_topic')),
                        ('cmd_vel', LaunchConfiguration('cmd_vel_topic'))],
            output='screen',
        ),
    ])
