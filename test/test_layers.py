"""The layers below ``ros`` import neither rclpy nor ROS messages (in a fresh interpreter)."""

import pkgutil
import subprocess
import sys

import pytest

import snn_ros

ROS_FREE = ['core', 'encoding', 'control', 'sim']
# Prints the ROS modules that are loaded, or nothing.
REPORT = ("print(sorted(m for m in sys.modules if m.split('.')[0] in "
          "('rclpy', 'rosidl_parser', 'builtin_interfaces') or m.endswith('_msgs')))\n")


def _modules(layer):
    package = f'snn_ros.{layer}'
    path = [f'{snn_ros.__path__[0]}/{layer}']
    return [package] + [f'{package}.{m.name}' for m in pkgutil.iter_modules(path)]


@pytest.mark.parametrize('layer', ROS_FREE)
def test_layer_does_not_import_rclpy(layer):
    modules = _modules(layer)
    code = ('import importlib, sys\n'
            f'for name in {modules!r}:\n'
            '    importlib.import_module(name)\n'
            + REPORT)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == '[]', f'snn_ros.{layer} pulls in {out}'


def test_the_check_sees_ros_when_it_is_imported():
    code = 'import sys, snn_ros.ros.convert\n' + REPORT
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert 'sensor_msgs' in out
