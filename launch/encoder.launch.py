"""Launch the DVS emulator on a camera topic: ``ros2 launch snn_ros encoder.launch.py``."""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    config = PathJoinSubstitution([FindPackageShare('snn_ros'), 'config', 'encoder.yaml'])
    return LaunchDescription([
        DeclareLaunchArgument('namespace', default_value='',
                              description='namespace of the encoder node'),
        DeclareLaunchArgument('config', default_value=config,
                              description='parameter file of the encoder node'),
        DeclareLaunchArgument('image_topic', default_value='/camera/image_raw',
                              description='camera topic (sensor_msgs/Image)'),
        DeclareLaunchArgument('events_topic', default_value='/dvs/events',
                              description='output topic (event_camera_msgs/EventPacket)'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='follow /clock (true in simulation)'),
        Node(
            package='snn_ros',
            executable='encoder_node',
            name='encoder',
            namespace=LaunchConfiguration('namespace'),
            parameters=[LaunchConfiguration('config'),
                        {'use_sim_time': LaunchConfiguration('use_sim_time')}],
            remappings=[('image', LaunchConfiguration('image_topic')),
                        ('events', LaunchConfiguration('events_topic'))],
            output='screen',
        ),
    ])
