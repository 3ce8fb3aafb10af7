"""Encoding: frame-to-event emulation, event codecs, spike codes and input maps."""
