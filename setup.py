"""ament_python package definition for snn_ros."""

from glob import glob

from setuptools import find_packages, setup

package_name = 'snn_ros'

NODES = {
    'encoder_node': 'snn_ros.ros.encoder_node:main',
    'controller_node': 'snn_ros.ros.controller_node:main',
    'sim_node': 'snn_ros.ros.sim_node:main',
    'reward_node': 'snn_ros.ros.reward_node:main',
}

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(include=['snn_ros', 'snn_ros.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob('launch/*.launch.py')),
        ('share/' + package_name + '/config', glob('config/*.yaml')),
        ('share/' + package_name + '/worlds', glob('worlds/*.sdf')),
    ],
    install_requires=['setuptools', 'numpy', 'numba', 'pyyaml'],
    zip_safe=False,
    maintainer='snn_ros developers',
    maintainer_email='snn-ros@example.org',
    description='Event-driven spiking neural network control for ROS 2, learning online '
                'from reward.',
    license='Apache-2.0',
    python_requires='>=3.10',
    entry_points={
        'console_scripts': [f'{name} = {target}' for name, target in NODES.items()]
        + ['snn-ros = snn_ros.cli:main'],
    },
)
