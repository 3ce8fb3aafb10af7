"""
``snn-ros doctor``: check the installation and say how to fix what is missing.

Each check prints one line. A failed check names the remedy, and the command exits
non-zero when any required check failed.
"""

import importlib
import os
import platform
import sys

SETUP_HINT = 'run `make env` (or scripts/setup_env.sh) to create .venv with everything'


def add_arguments(parser):
    """Doctor takes no arguments."""


def _version(module_name):
    os.environ.setdefault('PYNEST_QUIET', '1')
    module = importlib.import_module(module_name)
    return getattr(module, '__version__', 'installed')


def _check_module(name):
    return lambda: _version(name)


def _check_rclpy():
    import rclpy  # noqa: F401 - the import itself is the check
    from rclpy.utilities import get_rmw_implementation_identifier
    distro = os.environ.get('ROS_DISTRO') or _wheel_distro() or 'unknown distro'
    return f'rclpy from {distro}, rmw {get_rmw_implementation_identifier()}'


def _wheel_distro():
    """Name the ROS 2 distribution of PyPI wheels (ros-<distro>-rclpy), if that is the source."""
    from importlib import metadata
    for dist in metadata.distributions():
        name = dist.metadata['Name'] or ''
        if name.startswith('ros-') and name.endswith('-rclpy'):
            return name.split('-')[1] + ' (PyPI wheels)'
    return None


def _check_event_camera_msgs():
    from event_camera_msgs.msg import EventPacket
    fields = EventPacket.get_fields_and_field_types()
    expected = {'header', 'height', 'width', 'seq', 'time_base', 'encoding',
                'is_bigendian', 'events'}
    if set(fields) != expected:
        raise RuntimeError(f'EventPacket has fields {sorted(fields)}, expected {sorted(expected)}')
    return 'EventPacket importable, fields match upstream'


def _check_numba_cache():
    import numba
    from snn_ros.core.jit import njit

    @njit
    def _probe(x):
        return x + 1

    if _probe(1) != 2:
        raise RuntimeError('numba produced a wrong result')
    cache_dir = numba.config.CACHE_DIR or 'next to the package (__pycache__)'
    package_dir = os.path.dirname(importlib.import_module('snn_ros').__file__)
    if not numba.config.CACHE_DIR and not os.access(package_dir, os.W_OK):
        raise RuntimeError(f'{package_dir} is read-only; set NUMBA_CACHE_DIR to a writable folder')
    return f'numba {numba.__version__}, cache dir: {cache_dir}'


def _check_threading_layer():
    import numba
    import numpy as np

    from snn_ros.core.jit import prange

    @numba.njit(parallel=True)  # the layer snn_ros.core.jit chose, without the cache
    def _sum(x):
        total = 0.0
        for i in prange(x.size):
            total += x[i]
        return total

    _sum(np.ones(8))
    return f'{numba.threading_layer()}, {numba.config.NUMBA_NUM_THREADS} threads'


CHECKS = [
    ('python', lambda: f'{platform.python_version()} ({sys.executable})', True,
     'use Python 3.10-3.12'),
    ('numpy', _check_module('numpy'), True, SETUP_HINT),
    ('numba', _check_numba_cache, True, SETUP_HINT + '; or set NUMBA_CACHE_DIR'),
    ('numba threading', _check_threading_layer, True,
     'pip install tbb, or use the default workqueue layer'),
    ('yaml', _check_module('yaml'), True, SETUP_HINT),
    ('opencv', _check_module('cv2'), True, 'pip install opencv-python-headless'),
    ('rclpy / rmw', _check_rclpy, True,
     'source your ROS 2 setup.bash, or ' + SETUP_HINT),
    ('event_camera_msgs', _check_event_camera_msgs, True,
     'apt install ros-$ROS_DISTRO-event-camera-msgs, or ' + SETUP_HINT),
    ('rosbags', _check_module('rosbags'), False, 'pip install rosbags (reading bag files)'),
    ('nest', _check_module('nest'), False, 'pip install nest-simulator (peer benchmarks)'),
    ('brian2', _check_module('brian2'), False, 'pip install brian2 (peer benchmarks)'),
]


def run(args):
    """Run every check; exit 1 if a required one failed."""
    failed = 0
    for name, check, required, remedy in CHECKS:
        try:
            detail = check()
            print(f'  ok    {name:18s} {detail}')
        except Exception as error:  # noqa: B902 - a doctor reports every failure
            tag = 'FAIL' if required else 'warn'
            failed += required
            print(f'  {tag}  {name:18s} {type(error).__name__}: {error}\n'
                  f'        remedy: {remedy}')
    if failed:
        print(f'{failed} required check(s) failed; see the remedies above.')
        return 1
    print('snn_ros is ready.')
    return 0
