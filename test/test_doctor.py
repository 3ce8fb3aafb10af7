"""``snn-ros doctor`` reports a working installation and fails with a remedy otherwise."""

import os
import subprocess
import sys


def _doctor(env):
    return subprocess.run([sys.executable, '-m', 'snn_ros.cli', 'doctor'], env=env,
                          capture_output=True, text=True, timeout=120)


def test_doctor_passes_in_the_project_environment():
    result = _doctor(dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'rmw_fastrtps_cpp' in result.stdout
    assert 'EventPacket importable' in result.stdout


def test_doctor_fails_with_a_remedy_when_event_camera_msgs_is_missing(tmp_path):
    # A package that shadows event_camera_msgs with an empty one: the import must fail.
    (tmp_path / 'event_camera_msgs').mkdir()
    (tmp_path / 'event_camera_msgs' / '__init__.py').write_text('')
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    result = _doctor(env)
    assert result.returncode == 1
    assert 'FAIL  event_camera_msgs' in result.stdout
    assert 'remedy:' in result.stdout
