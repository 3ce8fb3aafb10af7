"""
The ROS users' path: ``colcon build`` in a scratch workspace, then ``ros2 run``-style start.

colcon (from PyPI) builds the package against the wheel-installed ROS 2; an entry
point from the install space must start a node that answers on the graph.
"""

import os
from pathlib import Path
import shutil
import subprocess
import sys
import time

import pytest

REPO = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns('.venv', '.git', 'build', 'install', 'log', '__pycache__',
                              '.pytest_cache', '.hypothesis', 'reports', 'checkpoints')


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp('colcon_ws')
    shutil.copytree(REPO, ws / 'src' / 'snn_ros', ignore=SKIP)
    env = dict(os.environ, AMENT_PREFIX_PATH=sys.prefix)
    colcon = str(Path(sys.executable).parent / 'colcon')
    result = subprocess.run([colcon, 'build', '--event-handlers', 'console_direct-'],
                            cwd=ws, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return ws


def test_install_space_has_what_ros2_run_and_launch_need(workspace):
    share = workspace / 'install' / 'snn_ros' / 'share'
    assert (share / 'ament_index' / 'resource_index' / 'packages' / 'snn_ros').is_file()
    assert (share / 'snn_ros' / 'package.xml').is_file()
    launch_files = sorted(p.name for p in (REPO / 'launch').glob('*.launch.py'))
    installed = sorted(p.name for p in (share / 'snn_ros' / 'launch').glob('*.launch.py'))
    assert installed == launch_files and launch_files
    assert sorted(p.name for p in (share / 'snn_ros' / 'config').glob('*.yaml')) == \
        sorted(p.name for p in (REPO / 'config').glob('*.yaml'))
    lib = workspace / 'install' / 'snn_ros' / 'lib' / 'snn_ros'
    executables = {p.name for p in lib.iterdir()}
    assert {'encoder_node', 'controller_node', 'sim_node', 'reward_node', 'snn-ros'} <= executables


@pytest.mark.ros
def test_installed_entry_point_starts_a_node_on_the_graph(workspace):
    import rclpy
    from rclpy.node import Node

    command = ('. install/local_setup.bash && '
               'exec install/snn_ros/lib/snn_ros/encoder_node --ros-args -r __node:=colcon_probe '
               '-r events:=/colcon_probe/events')
    node_process = subprocess.Popen(['bash', '-c', command], cwd=workspace,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rclpy.init()
    observer = Node('colcon_test_observer')
    try:
        deadline = time.monotonic() + 60
        topics = {}
        while time.monotonic() < deadline and '/colcon_probe/events' not in topics:
            rclpy.spin_once(observer, timeout_sec=0.2)
            topics = dict(observer.get_topic_names_and_types())
            assert node_process.poll() is None, node_process.stdout.read()
        assert 'colcon_probe' in observer.get_node_names()
        assert topics.get('/colcon_probe/events') == ['event_camera_msgs/msg/EventPacket']
    finally:
        observer.destroy_node()
        rclpy.shutdown()
        node_process.terminate()
        node_process.wait(timeout=20)
