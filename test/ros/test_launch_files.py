"""
Static check of every launch file (``launch`` cannot be installed here).

Each package, executable, parameter file and parameter name a launch file
references must exist and be declared by the node it starts.
"""

from importlib import import_module, metadata
from pathlib import Path

import pytest
import yaml

from . import launch_shim

REPO = Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted((REPO / 'launch').glob('*.launch.py'))
# Executables of other packages that our launch files may start (Gazebo users only).
EXTERNAL = {('ros_gz_bridge', 'parameter_bridge'), ('ros_gz_sim', 'create')}
BUILT_IN = {'use_sim_time'}


def _node_parameters():
    """Return executable -> set of declared parameter names, from the entry points."""
    table = {}
    for entry in metadata.entry_points(group='console_scripts'):
        if entry.value.startswith('snn_ros.ros.'):
            module = import_module(entry.value.split(':')[0])
            table[entry.name] = {p.name for p in module.PARAMETERS} | BUILT_IN
    return table


def _argument_variants(launch_file):
    """Return the default arguments plus one variant per declared choice."""
    description = launch_shim.describe(launch_file)
    variants = [{}]
    for entity in description.entities:
        if isinstance(entity, launch_shim.DeclareLaunchArgument) and entity.choices:
            variants += [{entity.name: choice} for choice in entity.choices]
    return variants


def _flat(parameters, prefix=''):
    """Return nested parameter blocks as ROS 2 reads them: ``{'dvs.seed': 0, ...}``."""
    flat = {}
    for key, value in parameters.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f'{prefix}{key}.'))
        else:
            flat[prefix + key] = value
    return flat


def _yaml_parameters(path):
    document = yaml.safe_load(path.read_text())
    names = set()
    for section in document.values():
        names |= set(_flat(section['ros__parameters']))
    return names


@pytest.mark.parametrize('launch_file', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_references_only_what_exists(launch_file):
    declared = _node_parameters()
    started = 0
    for arguments in _argument_variants(launch_file):
        for process in launch_shim.processes(launch_file, **arguments):
            started += 1
            if (process.package, process.executable) in EXTERNAL:
                continue
            assert process.package == 'snn_ros', process.package
            assert process.executable in declared, \
                f'{launch_file.name}: no entry point {process.executable!r} in setup.py'
            for path in process.param_files:
                assert path.is_file(), f'{launch_file.name}: missing parameter file {path}'
                unknown = _yaml_parameters(path) - declared[process.executable]
                assert not unknown, f'{path.name}: {process.executable} declares no {unknown}'
            unknown = set(process.param_values) - declared[process.executable]
            assert not unknown, f'{launch_file.name}: {process.executable} declares no {unknown}'
    assert started, f'{launch_file.name} starts no node'


def test_every_config_file_matches_its_node_defaults():
    """config/<node>.yaml holds the defaults that the node declares, all of them."""
    for entry in metadata.entry_points(group='console_scripts'):
        if not entry.value.startswith('snn_ros.ros.'):
            continue
        module = import_module(entry.value.split(':')[0])
        path = REPO / 'config' / (entry.name.removesuffix('_node') + '.yaml')
        assert path.is_file(), f'{entry.name} has no defaults file {path.name}'
        values = _flat(yaml.safe_load(path.read_text())['/**']['ros__parameters'])
        defaults = {p.name: p.default for p in module.PARAMETERS}
        assert values == defaults, f'{path.name} and {entry.name} disagree'


def test_the_check_catches_an_undeclared_parameter(tmp_path):
    bad = tmp_path / 'bad.launch.py'
    bad.write_text(LAUNCH_FILES[0].read_text().replace("'use_sim_time'", "'no_such_param'"))
    with pytest.raises(AssertionError, match='no_such_param'):
        test_launch_file_references_only_what_exists(bad)
