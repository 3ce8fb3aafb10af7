"""
The ``snn-ros`` command.

Each sub-command lives in its own module, which provides ``add_arguments(parser)``
and ``run(args) -> int``. Those modules import only the standard library at the
top and everything heavy inside ``run``, so that building the parser is cheap and
``snn-ros doctor`` works even where a heavy dependency is broken.
"""

import argparse
import importlib
import importlib.util
import sys

COMMANDS = {
    'doctor': ('snn_ros.commands.doctor', 'check the installation and say how to fix it'),
    'events': ('snn_ros.commands.events', 'inspect event-camera files'),
    'demo': ('snn_ros.commands.demo', 'run the main end-to-end job'),
    'train': ('snn_ros.commands.train', 'train a controller in process'),
}

BENCHMARKS = {
    'engine': ('snn_ros.bench.engine', 'Brunel network against NEST and Brian2'),
    'encoding': ('snn_ros.bench.encoding', 'event codecs, emulator and spike codes'),
    'plasticity': ('snn_ros.bench.plasticity', 'STDP and R-STDP against NEST'),
    'ros': ('snn_ros.bench.ros', 'cross-process latency over DDS'),
    'closedloop': ('snn_ros.bench.closedloop', 'controllers compared on the lane track'),
    'sim': ('snn_ros.bench.sim', 'embedded world step cost and the camera lane reward'),
}


def _available(table):
    """Return the entries of ``table`` whose module exists in this checkout."""
    return {name: entry for name, entry in table.items()
            if importlib.util.find_spec(entry[0]) is not None}


def _add_group(subparsers, table):
    for name, (module, help_text) in _available(table).items():
        parser = subparsers.add_parser(name, help=help_text, description=help_text)
        parser.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(parser)


def build_parser():
    """Build the argument parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog='snn-ros', description='Spiking neural network control for ROS 2.')
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    _add_group(sub, COMMANDS)
    bench = sub.add_parser('bench', help='run a benchmark and print figures against peers')
    _add_group(bench.add_subparsers(dest='benchmark', required=True, metavar='BENCHMARK'),
               BENCHMARKS)
    return parser


def main(argv=None):
    """Run the ``snn-ros`` command line."""
    args = build_parser().parse_args(argv)
    return importlib.import_module(args._module).run(args)


if __name__ == '__main__':
    sys.exit(main())
