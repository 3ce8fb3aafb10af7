"""Implementations of the ``snn-ros`` sub-commands."""
