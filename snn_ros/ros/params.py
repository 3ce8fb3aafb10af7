"""
Node parameters declared from one table per node.

Every parameter carries a ``ParameterDescriptor`` (description, range, read-only
for structure). A value out of range or not among the allowed choices is refused
at start, naming the parameter, and refused again when changed live.
"""

from types import SimpleNamespace
from typing import NamedTuple

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException


class Param(NamedTuple):
    """One declared parameter: its default fixes its type."""

    name: str
    default: object
    description: str
    low: float = None
    high: float = None
    choices: tuple = ()
    read_only: bool = False


def _descriptor(param):
    descriptor = ParameterDescriptor(description=param.description, read_only=param.read_only)
    if param.low is not None:
        if isinstance(param.default, float):
            descriptor.floating_point_range = [
                FloatingPointRange(from_value=float(param.low), to_value=float(param.high))]
        else:
            descriptor.integer_range = [
                IntegerRange(from_value=int(param.low), to_value=int(param.high), step=1)]
    if param.choices:
        descriptor.additional_constraints = 'one of: ' + ', '.join(map(str, param.choices))
    return descriptor


def check(param, value):
    """Raise ``ValueError`` naming ``param`` if ``value`` is out of its range or choices."""
    if param.choices and value not in param.choices:
        raise ValueError(f'parameter {param.name!r} = {value!r} is not one of {param.choices}')
    if param.low is not None and not param.low <= value <= param.high:
        raise ValueError(f'parameter {param.name!r} = {value!r} is outside '
                         f'[{param.low}, {param.high}]')


def declare(node, table):
    """
    Declare every parameter of ``table`` on ``node`` and return their values.

    Values are returned as a namespace (attribute per parameter, dots in names
    becoming underscores: ``dvs.seed`` is ``p.dvs_seed``). Raises
    ``ValueError`` at start for a bad value; live changes are checked the same way
    and refused with a reason, and the namespace follows those that are accepted.
    """
    values = {}
    for param in table:
        try:
            value = node.declare_parameter(param.name, param.default, _descriptor(param)).value
        except (InvalidParameterTypeException, InvalidParameterValueException) as error:
            # rclpy checks the descriptor's range and the type first.
            raise ValueError(f'parameter {param.name!r}: {error}') from None
        check(param, value)
        values[param.name] = value
    by_name = {param.name: param for param in table}
    namespace = SimpleNamespace(**{name.replace('.', '_'): value
                                   for name, value in values.items()})

    def on_set(changes):
        for change in changes:
            if change.name in by_name:
                try:
                    check(by_name[change.name], change.value)
                except ValueError as error:
                    return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def after_set(parameters):
        for param in parameters:
            if param.name in by_name:
                setattr(namespace, param.name.replace('.', '_'), param.value)

    node.add_on_set_parameters_callback(on_set)
    node.add_post_set_parameters_callback(after_set)
    return namespace
