"""
snn_ros: an event-driven spiking neural network that drives a robot and learns from reward.

Layers (imports point down only): ``core`` (time, neurons, engine, plasticity),
``encoding`` (events, codecs, spike codes), ``control`` (the Controller),
``sim`` (the embedded world), ``ros`` (rclpy nodes) and ``cli``.
"""

__version__ = '0.1.0'
