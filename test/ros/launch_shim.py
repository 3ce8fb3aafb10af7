"""
A strict stand-in for ``launch`` and ``launch_ros``, to read our launch files here.

The real launch libraries do not install from PyPI, so this module provides the
few classes our launch files use, with the real constructors' keyword names (an
unknown keyword is an error, as it is in ROS 2). Running a launch file's
``generate_launch_description()`` against it yields the processes it would start,
with their exact command lines, for given launch-argument values.
"""

import importlib.util
from pathlib import Path
import sys
import types

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


class Substitution:
    """Base of the substitutions; ``resolve`` maps launch arguments to a string."""

    def resolve(self, args):
        raise NotImplementedError


def resolve(value, args):
    """Resolve a substitution, a string, or a list of them concatenated."""
    if isinstance(value, Substitution):
        return value.resolve(args)
    if isinstance(value, (list, tuple)):
        return ''.join(resolve(v, args) for v in value)
    return str(value)


class LaunchConfiguration(Substitution):

    def __init__(self, variable_name, *, default=None):
        self.name, self.default = variable_name, default

    def resolve(self, args):
        if self.name in args:
            return resolve(args[self.name], args)
        if self.default is None:
            raise KeyError(f'launch argument {self.name!r} is not declared')
        return resolve(self.default, args)


class PathJoinSubstitution(Substitution):

    def __init__(self, substitutions):
        self.parts = substitutions

    def resolve(self, args):
        return str(Path(*[resolve(p, args) for p in self.parts]))


class FindPackageShare(Substitution):
    """
    Our package's share folder is the repository root (config/, launch/ and worlds/).

    The few external packages our launch files include from (Gazebo users only) get a
    placeholder path: their files are not here, and included files are not read.
    """

    KNOWN = {'snn_ros': REPO}
    EXTERNAL = {'ros_gz_sim': Path('/external/share/ros_gz_sim')}

    def __init__(self, package):
        self.package = package

    def resolve(self, args):
        if self.package in self.EXTERNAL:
            return str(self.EXTERNAL[self.package])
        if self.package not in self.KNOWN:
            raise KeyError(f'package {self.package!r} is not known here')
        return str(self.KNOWN[self.package])


class PythonExpression(Substitution):

    def __init__(self, expression):
        self.expression = expression

    def resolve(self, args):
        return str(eval(resolve(self.expression, args), {}, {}))


class DeclareLaunchArgument:

    def __init__(self, name, *, default_value=None, description=None, choices=None):
        self.name, self.default_value, self.choices = name, default_value, choices
        if not description:
            raise ValueError(f'launch argument {name!r} has no description')


class IfCondition:

    def __init__(self, predicate_expression):
        self.predicate = predicate_expression

    def holds(self, args):
        return resolve(self.predicate, args).strip().lower() in ('true', '1')


class UnlessCondition(IfCondition):

    def holds(self, args):
        return not super().holds(args)


class PythonLaunchDescriptionSource:
    """A Python launch file to include, by path."""

    def __init__(self, launch_file_path):
        self.path = launch_file_path


class IncludeLaunchDescription:
    """Recorded, not followed: only includes of ``FindPackageShare.EXTERNAL`` are allowed."""

    def __init__(self, launch_description_source, *, launch_arguments=None, condition=None):
        if not isinstance(launch_description_source, PythonLaunchDescriptionSource):
            raise TypeError('IncludeLaunchDescription needs a PythonLaunchDescriptionSource')
        self.source = launch_description_source
        self.launch_arguments = list(launch_arguments or [])
        self.condition = condition


class LaunchDescription:

    def __init__(self, initial_entities=None):
        self.entities = list(initial_entities or [])


class Node:
    """``launch_ros.actions.Node`` with its real keyword names (and ExecuteProcess's common)."""

    def __init__(self, *, executable, package=None, name=None, namespace=None, exec_name=None,
                 parameters=None, remappings=None, ros_arguments=None, arguments=None,
                 output=None, emulate_tty=None, respawn=None, respawn_delay=None,
                 condition=None, additional_env=None, sigterm_timeout=None):
        self.executable, self.package, self.name = executable, package, name
        self.namespace, self.parameters = namespace, parameters or []
        self.remappings, self.arguments = remappings or [], arguments or []
        self.ros_arguments, self.condition = ros_arguments or [], condition


class Process:
    """One process a launch file starts: package, executable and command line."""

    def __init__(self, node, args):
        self.package = node.package
        self.executable = node.executable
        self.name = resolve(node.name, args) if node.name else None
        self.param_files, self.param_values = [], {}
        for entry in node.parameters:
            if isinstance(entry, dict):
                self.param_values.update({k: resolve(v, args) for k, v in entry.items()})
            else:
                self.param_files.append(Path(resolve(entry, args)))
        self.remappings = [(resolve(a, args), resolve(b, args)) for a, b in node.remappings]
        namespace = resolve(node.namespace, args) if node.namespace else ''
        ros_args = []
        if self.name:
            ros_args += ['-r', f'__node:={self.name}']
        if namespace:
            ros_args += ['-r', f'__ns:={"/" + namespace.lstrip("/")}']
        for path in self.param_files:
            ros_args += ['--params-file', str(path)]
        for key, value in self.param_values.items():
            ros_args += ['-p', f'{key}:={value}']
        for source, target in self.remappings:
            ros_args += ['-r', f'{source}:={target}']
        ros_args += [resolve(a, args) for a in node.ros_arguments]
        self.command = ([str(VENV_BIN / self.executable)]
                        + [resolve(a, args) for a in node.arguments] + ['--ros-args'] + ros_args)


def _modules():
    def module(name, **attributes):
        mod = types.ModuleType(name)
        mod.__dict__.update(attributes)
        return mod
    return {
        'launch': module('launch', LaunchDescription=LaunchDescription),
        'launch.actions': module('launch.actions', DeclareLaunchArgument=DeclareLaunchArgument,
                                 IncludeLaunchDescription=IncludeLaunchDescription),
        'launch.launch_description_sources': module(
            'launch.launch_description_sources',
            PythonLaunchDescriptionSource=PythonLaunchDescriptionSource),
        'launch.conditions': module('launch.conditions', IfCondition=IfCondition,
                                    UnlessCondition=UnlessCondition),
        'launch.substitutions': module('launch.substitutions',
                                       LaunchConfiguration=LaunchConfiguration,
                                       PathJoinSubstitution=PathJoinSubstitution,
                                       PythonExpression=PythonExpression),
        'launch_ros': module('launch_ros'),
        'launch_ros.actions': module('launch_ros.actions', Node=Node),
        'launch_ros.substitutions': module('launch_ros.substitutions',
                                           FindPackageShare=FindPackageShare),
    }


def describe(launch_file):
    """Run ``generate_launch_description()`` of ``launch_file`` against the stand-ins."""
    saved = {name: sys.modules.get(name) for name in _modules()}
    sys.modules.update(_modules())
    try:
        spec = importlib.util.spec_from_file_location(Path(launch_file).stem.replace('.', '_'),
                                                      launch_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.generate_launch_description()
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


def includes(launch_file, **launch_arguments):
    """Return the resolved paths of the launch files ``launch_file`` includes."""
    description = describe(launch_file)
    args = {e.name: e.default_value for e in description.entities
            if isinstance(e, DeclareLaunchArgument)}
    args.update(launch_arguments)
    return [Path(resolve(e.source.path, args)) for e in description.entities
            if isinstance(e, IncludeLaunchDescription)
            and (e.condition is None or e.condition.holds(args))]


def processes(launch_file, **launch_arguments):
    """Return the processes ``launch_file`` starts for the given launch-argument values."""
    description = describe(launch_file)
    declared = {e.name: e for e in description.entities if isinstance(e, DeclareLaunchArgument)}
    unknown = set(launch_arguments) - set(declared)
    if unknown:
        raise KeyError(f'{launch_file} declares no launch argument {sorted(unknown)}')
    args = {name: arg.default_value for name, arg in declared.items()}
    args.update(launch_arguments)
    for name, arg in declared.items():
        if arg.choices and resolve(args[name], args) not in arg.choices:
            raise ValueError(f'{name}={resolve(args[name], args)!r} not in {arg.choices}')
    return [Process(e, args) for e in description.entities
            if isinstance(e, Node) and (e.condition is None or e.condition.holds(args))]
