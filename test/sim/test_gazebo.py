"""The Gazebo world and the ros_gz_bridge configuration (static checks; no Gazebo here)."""

from pathlib import Path
import xml.etree.ElementTree as ET

import pytest

from snn_ros.sim.camera import CameraParams
from snn_ros.sim.robot import RobotParams
from snn_ros.sim.sdf import TOPICS, world_sdf
from snn_ros.sim.track import bing_track

ROOT = Path(__file__).resolve().parents[2]
SDF = ROOT / 'worlds' / 'lane_track.sdf'
BRIDGE = ROOT / 'config' / 'gz_bridge.yaml'


@pytest.fixture(scope='module')
def world():
    return ET.parse(SDF).getroot()


def test_committed_world_is_the_generated_one():
    assert SDF.read_text(encoding='utf-8') == world_sdf(), \
        'worlds/lane_track.sdf is stale: run python -m snn_ros.sim.sdf worlds/lane_track.sdf'


def test_world_has_the_systems_track_and_robot(world):
    assert world.tag == 'sdf'
    w = world.find('world')
    plugins = {p.get('name') for p in w.findall('plugin')}
    assert {'gz::sim::systems::Physics', 'gz::sim::systems::Sensors',
            'gz::sim::systems::SceneBroadcaster'} <= plugins
    models = {m.get('name'): m for m in w.findall('model')}
    assert set(models) == {'ground_plane', 'lane_track', 'pioneer'}
    visuals = models['lane_track'].findall('link/visual')
    names = [v.get('name') for v in visuals]
    assert len(names) == len(set(names))
    for kind in ('road_', 'outer_edge_', 'inner_edge_', 'centre_'):
        assert any(n.startswith(kind) for n in names), kind


def test_track_visuals_lie_on_the_track_geometry(world):
    track = bing_track()
    link = world.find("world/model[@name='lane_track']/link")
    expected = {'outer_edge': -0.5, 'inner_edge': 0.5, 'centre': 0.0, 'road': 0.0}
    for visual in link.findall('visual'):
        kind = visual.get('name').rsplit('_', 1)[0]
        x, y = (float(v) for v in visual.find('pose').text.split()[:2])
        _, n, _ = track.project(x, y)
        # Box centres sit on the chords of 6-degree arcs of radius <= 3 m: the sagitta
        # 3 m (1 - cos 3 deg) is 4.1 mm.
        assert abs(n - expected[kind]) < 4.2e-3, visual.get('name')


def test_robot_has_diff_drive_camera_and_start_pose(world):
    robot = world.find("world/model[@name='pioneer']")
    x, y, _, _, _, yaw = (float(v) for v in robot.find('pose').text.split())
    assert (x, y, yaw) == pytest.approx(bing_track().pose_at(0.0, -0.25))
    drive = robot.find("plugin[@name='gz::sim::systems::DiffDrive']")
    assert drive.get('filename') == 'gz-sim-diff-drive-system'
    assert float(drive.find('wheel_separation').text) == RobotParams().wheel_base_m
    joints = {j.get('name') for j in robot.findall('joint')}
    assert {drive.find('left_joint').text, drive.find('right_joint').text} <= joints
    assert drive.find('topic').text == TOPICS['cmd_vel']
    assert drive.find('odom_topic').text == TOPICS['odom']
    sensor = robot.find(".//sensor[@type='camera']")
    cam = CameraParams()
    assert sensor.find('topic').text == TOPICS['image']
    assert int(sensor.find('camera/image/width').text) == cam.width_px
    assert int(sensor.find('camera/image/height').text) == cam.height_px
    fov = float(sensor.find('camera/horizontal_fov').text)
    assert fov == pytest.approx(cam.hfov_rad, rel=1e-5)


def test_bridge_maps_exactly_the_node_topics():
    import yaml  # here: flake8-import-order would sort it after snn_ros

    entries = yaml.safe_load(BRIDGE.read_text(encoding='utf-8'))
    got = {(e['ros_topic_name'], e['ros_type_name'], e['gz_type_name'], e['direction'])
           for e in entries}
    assert len(entries) == 4 and got == {
        ('/cmd_vel', 'geometry_msgs/msg/Twist', 'gz.msgs.Twist', 'ROS_TO_GZ'),
        ('/camera/image_raw', 'sensor_msgs/msg/Image', 'gz.msgs.Image', 'GZ_TO_ROS'),
        ('/odom', 'nav_msgs/msg/Odometry', 'gz.msgs.Odometry', 'GZ_TO_ROS'),
        ('/clock', 'rosgraph_msgs/msg/Clock', 'gz.msgs.Clock', 'GZ_TO_ROS'),
    }
    gz_topics = {e['ros_topic_name']: e['gz_topic_name'] for e in entries}
    assert gz_topics == {'/cmd_vel': TOPICS['cmd_vel'], '/odom': TOPICS['odom'],
                         '/camera/image_raw': TOPICS['image'], '/clock': TOPICS['clock']}
