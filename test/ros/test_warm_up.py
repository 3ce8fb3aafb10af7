"""
Start-up compiles every kernel: the first real message compiles nothing.

A numba kernel met for the first time (or with new argument types) compiles for
seconds, and a node that did so at its first packet would drop seconds of input as
stale. Each node is built as its ``main`` builds it; then real frames and the
packets the encoder makes of them go through the callbacks, and no kernel may gain
a compiled signature.
"""

import numba
import pytest
import rclpy
from std_msgs.msg import Float32

from snn_ros.core import _engine_kernels, _plasticity_kernels
from snn_ros.encoding import _code_kernels, _codec_kernels, _emulator_kernels
from snn_ros.ros import convert
from snn_ros.ros.controller_node import ControllerNode
from snn_ros.ros.encoder_node import EncoderNode
from snn_ros.sim.driver import driven_frames

MODULES = (_engine_kernels, _plasticity_kernels, _code_kernels, _codec_kernels,
           _emulator_kernels)
T0_NS = 1_700_000_000_000_000_000


def compiled():
    """Return {kernel: number of compiled signatures} over the hot-path modules."""
    return {f'{m.__name__}.{name}': len(obj.signatures) for m in MODULES
            for name, obj in vars(m).items() if isinstance(obj, numba.core.registry.CPUDispatcher)}


def images(n):
    return [convert.array_to_image(frame, 'mono8', T0_NS + k * 33_333_333)
            for k, frame in enumerate(driven_frames(n))]


def drive(controller, feed):
    """Feed the controller, with a reward, its timers' work and a command in between."""
    for k, item in enumerate(feed):
        controller_input = controller.on_image if controller.frames_in else controller.on_events
        controller_input(item)
        if k == len(feed) // 2:
            controller.on_reward(Float32(data=0.5))
            controller.on_command_timer()
            controller.on_raster_timer()
            controller.on_diagnostics_timer()


@pytest.mark.ros
@pytest.mark.parametrize('encoding', ['evt3', 'mono'])
def test_encoder_and_event_controller_compile_nothing_after_start(encoding):
    rclpy.init(args=['--ros-args', '-p', f'encoding:={encoding}', '-p',
                     'max_input_lag_s:=0.0'])
    try:
        encoder, controller = EncoderNode(), ControllerNode()
        packets = []
        encoder.events_pub.publish = packets.append  # collect what the node sends
        before = compiled()
        for msg in images(6):
            encoder.on_image(msg)
        drive(controller, packets)
        assert len(packets) == 5 and controller.events_in > 1000
        assert compiled() == before
        encoder.destroy_node()
        controller.destroy_node()
    finally:
        rclpy.shutdown()


@pytest.mark.ros
def test_image_controller_compiles_nothing_after_start():
    rclpy.init(args=['--ros-args', '-p', 'input:=image', '-p', 'max_input_lag_s:=0.0'])
    try:
        controller = ControllerNode()
        before = compiled()
        drive(controller, images(6))
        assert controller.events_in > 1000
        assert compiled() == before
        controller.destroy_node()
    finally:
        rclpy.shutdown()
