"""
Quality of service by intent.

Frames and events are sensor data: best effort, keep last, so a slow consumer
drops old data instead of stalling the camera (as camera and event-camera drivers
publish). Commands and reward are reliable with depth 10.
"""

from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy

SENSOR = qos_profile_sensor_data
COMMAND = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)

#: Event packets: best effort like the sensor profile, with the deep queue that
#: event-camera drivers use, so bursts are queued, not lost at the subscription.
EVENTS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.BEST_EFFORT)
