"""
``reward_node``: the lane-keeping reward from the camera image alone.

Subscribes ``image`` (``sensor_msgs/Image``, mono8 or colour) and publishes
``reward`` (``std_msgs/Float32``): the estimated signed lateral distance [m] of
the robot from its lane centre, positive left of it (the sign of ``sim_node``).
With ``ground_mode`` the lane markings are mapped to metres on the ground plane
through the homography of a camera of the given mounting; otherwise the offset is
measured in lane half-widths in the image. Frames where no lane is found publish
nothing and are counted.
"""

import math

import cv2
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Float32

from snn_ros.control.lane_reward import LaneReward, LaneRewardParams
from snn_ros.ros import convert, qos, spin
from snn_ros.ros.diagnostics import DropCounter, status_array
from snn_ros.ros.params import declare, Param
from snn_ros.sim.camera import CameraParams

PARAMETERS = [
    Param('ground_mode', True, 'measure in metres on the ground plane (needs the mounting)',
          read_only=True),
    Param('camera_height_m', 0.4, 'camera height above the ground [m]', 0.01, 10.0,
          read_only=True),
    Param('camera_pitch_rad', math.radians(35.0), 'camera pitch below horizontal [rad]',
          0.0, 1.5, read_only=True),
    Param('camera_hfov_rad', math.radians(80.0), 'horizontal field of view [rad]', 0.1, 3.0,
          read_only=True),
    Param('camera_mount_x_m', 0.1, 'camera ahead of the axle centre [m]', -2.0, 2.0,
          read_only=True),
    Param('lane_half_width_m', 0.25, 'half the lane width [m]', 0.01, 5.0, read_only=True),
    Param('min_contrast', 50.0, 'marking contrast over the floor [grey levels]', 1.0, 255.0,
          read_only=True),
    Param('diagnostics_period_s', 1.0, 'period of /diagnostics [s]', 0.05, 60.0,
          read_only=True),
]


class RewardNode(Node):
    """Publish the camera-only lane-keeping reward."""

    def __init__(self):
        super().__init__('reward')
        self.p = declare(self, PARAMETERS)
        self.drops = DropCounter(self.get_logger())
        self.estimator = None
        self.published = 0
        self.reward_pub = self.create_publisher(Float32, 'reward', qos.COMMAND)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', qos.COMMAND)
        self.create_timer(self.p.diagnostics_period_s, self._publish_diagnostics)
        self.create_subscription(Image, 'image', self.on_image, qos.SENSOR)

    def _estimator_for(self, width, height):
        if self.estimator is None or self.estimator[0] != (width, height):
            params = LaneRewardParams(lane_half_width_m=self.p.lane_half_width_m,
                                      min_contrast=self.p.min_contrast)
            homography = None
            if self.p.ground_mode:
                homography = CameraParams(
                    width_px=width, height_px=height, hfov_rad=self.p.camera_hfov_rad,
                    height_m=self.p.camera_height_m, pitch_rad=self.p.camera_pitch_rad,
                    mount_x_m=self.p.camera_mount_x_m).image_to_ground()
            self.estimator = ((width, height), LaneReward(params, homography))
        return self.estimator[1]

    def on_image(self, msg):
        """Estimate the lateral distance in one frame and publish it."""
        try:
            pixels = convert.image_to_array(msg)
        except ValueError as error:
            self.drops.drop('bad_images', str(error))
            return
        if pixels.ndim == 3:
            code = cv2.COLOR_RGB2GRAY if msg.encoding.startswith('rgb') else cv2.COLOR_BGR2GRAY
            pixels = cv2.cvtColor(pixels[:, :, :3], code)
        elif pixels.dtype != 'uint8':
            pixels = (pixels >> 8).astype('uint8')
        estimate = self._estimator_for(pixels.shape[1], pixels.shape[0]).estimate(pixels)
        if not estimate.valid:
            self.drops.drop('no_lane', 'no lane found in the image')
            return
        self.reward_pub.publish(Float32(data=float(estimate.d_m)))
        self.published += 1

    def _publish_diagnostics(self):
        values = {'rewards_published': self.published, 'frames_without_reward': self.drops.total}
        values.update({f'dropped_{k}': v for k, v in self.drops.counts.items()})
        self.diag_pub.publish(status_array(self.get_clock().now().to_msg(),
                                           f'{self.get_name()}: lane reward',
                                           self.get_fully_qualified_name(), values))

    def close(self):
        """Nothing to flush."""


def main(args=None):
    """Run the reward node."""
    return spin.run(RewardNode, args)
