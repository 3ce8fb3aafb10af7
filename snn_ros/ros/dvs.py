"""
Camera frames to DVS events for the nodes, in one place.

``encoder_node`` publishes the events; ``controller_node`` with ``input: image``
feeds them straight into its network, one process hop less (Python nodes have no
intra-process transport). Both declare the emulator's parameters under ``dvs.``
from this table, so one ``dvs:`` block of a parameter file configures either.
"""

import numpy as np

from snn_ros.encoding.emulator import DvsEmulator, EmulatorParams
from snn_ros.ros import convert
from snn_ros.ros.params import Param

#: Image encodings the emulator takes directly; mono16 frames are taken as they are.
EMULATOR_ENCODINGS = {'mono8': 'mono8', '8UC1': 'mono8', 'mono16': 'mono16',
                      '16UC1': 'mono16', 'rgb8': 'rgb8', 'bgr8': 'bgr8'}

PARAMETERS = [
    Param('dvs.theta_on', 0.2, 'ON contrast threshold [log intensity]', 0.01, 5.0,
          read_only=True),
    Param('dvs.theta_off', 0.2, 'OFF contrast threshold [log intensity]', 0.01, 5.0,
          read_only=True),
    Param('dvs.sigma_theta', 0.03, 'fixed-pattern threshold mismatch, std [log intensity]',
          0.0, 1.0, read_only=True),
    Param('dvs.refractory_s', 0.0005, 'per-pixel refractory period [s]', 0.0, 1.0,
          read_only=True),
    Param('dvs.leak_rate_hz', 0.0, 'leak events per pixel [Hz]', 0.0, 100.0, read_only=True),
    Param('dvs.shot_noise_rate_hz', 0.0, 'shot-noise events per pixel [Hz]', 0.0, 100.0,
          read_only=True),
    Param('dvs.cutoff_hz', 0.0, 'photoreceptor low-pass at full intensity [Hz], 0 = off', 0.0,
          10_000.0, read_only=True),
    Param('dvs.seed', 0, 'seed of the fixed-pattern mismatch and noise', 0, 2**31 - 1,
          read_only=True),
]


class FrameEvents:
    """
    Emulate a DVS on a stream of ``sensor_msgs/Image``; events come out in ROS time.

    A frame size change starts a new stream (``restarted`` is set). Bad frames
    (unknown encoding, wrong step or size, stamps not increasing) raise
    ``ValueError`` and leave the stream as it was.
    """

    def __init__(self, p):
        self.params = EmulatorParams(
            theta_on=p.dvs_theta_on, theta_off=p.dvs_theta_off, sigma_theta=p.dvs_sigma_theta,
            refractory_s=p.dvs_refractory_s, leak_rate_hz=p.dvs_leak_rate_hz,
            shot_noise_rate_hz=p.dvs_shot_noise_rate_hz, cutoff_hz=p.dvs_cutoff_hz)
        self.seed = p.dvs_seed
        self.emulator = None
        self.t0_ns = None
        self.restarted = False
        self._warm_up()

    def _warm_up(self):
        """Compile (or load from cache) every kernel a frame passes through."""
        emulator = DvsEmulator(4, 4, self.params, np.random.default_rng(0))
        ramp = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
        emulator.step(ramp, 0)
        emulator.step(255 - ramp, 1_000_000)

    @property
    def size(self):
        """Return (width, height) of the current stream."""
        return self.emulator.width, self.emulator.height

    def events(self, msg):
        """Return the events since the previous frame (the first frame of a stream: none)."""
        pixels = convert.image_to_array(msg)
        encoding = EMULATOR_ENCODINGS.get(msg.encoding)
        if encoding is None:
            raise ValueError(f'encoding {msg.encoding!r} has no emulator input; use one of '
                             f'{sorted(EMULATOR_ENCODINGS)}')
        t_ns = convert.stamp_to_ns(msg.header.stamp)
        self.restarted = self.emulator is not None and \
            (self.emulator.height, self.emulator.width) != pixels.shape[:2]
        if self.emulator is None or self.restarted:
            self.emulator = DvsEmulator(pixels.shape[1], pixels.shape[0], self.params,
                                        np.random.default_rng(self.seed))
            self.t0_ns = t_ns
        return self.emulator.step(pixels, t_ns, encoding)
