"""
Message <-> array conversion, in one place.

Pure functions driven by one encoding table, returning zero-copy views where the
message layout allows (``uint8[]`` fields arrive as ``array.array``). Malformed
messages raise ``ValueError`` naming the field; callers count and drop them.
"""

from builtin_interfaces.msg import Time
import numpy as np
from sensor_msgs.msg import Image

from snn_ros.core.types import NS_PER_S

#: Image encoding -> (numpy dtype, channels).
IMAGE_ENCODINGS = {
    'mono8': (np.dtype(np.uint8), 1),
    '8UC1': (np.dtype(np.uint8), 1),
    'mono16': (np.dtype(np.uint16), 1),
    '16UC1': (np.dtype(np.uint16), 1),
    'rgb8': (np.dtype(np.uint8), 3),
    'bgr8': (np.dtype(np.uint8), 3),
    'rgba8': (np.dtype(np.uint8), 4),
    'bgra8': (np.dtype(np.uint8), 4),
}


def stamp_to_ns(stamp):
    """Return a ``builtin_interfaces/Time`` as int64 nanoseconds."""
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def ns_to_stamp(t_ns):
    """Return int64 nanoseconds as a ``builtin_interfaces/Time``."""
    sec, nanosec = divmod(int(t_ns), NS_PER_S)
    return Time(sec=sec, nanosec=nanosec)


def image_to_array(msg):
    """
    Return the pixels of a ``sensor_msgs/Image`` as an array of shape (H, W) or (H, W, C).

    The result is a view on the message buffer (no copy) when rows are not padded.
    Raises ``ValueError`` for an unknown encoding, a step smaller than a row, or a
    buffer whose size does not match ``height * step``.
    """
    try:
        dtype, channels = IMAGE_ENCODINGS[msg.encoding]
    except KeyError:
        raise ValueError(f'Image.encoding {msg.encoding!r} is not supported; '
                         f'use one of {sorted(IMAGE_ENCODINGS)}') from None
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ValueError(f'Image.step {step} is smaller than width*channels*bytes = {row_bytes}')
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    if buffer.size != height * step:
        raise ValueError(f'Image.data has {buffer.size} bytes, expected height*step = '
                         f'{height * step}')
    rows = buffer.reshape(height, step)[:, :row_bytes]
    pixels = rows.view(dtype.newbyteorder('>' if msg.is_bigendian else '<'))
    shape = (height, width) if channels == 1 else (height, width, channels)
    return pixels.reshape(shape)


def array_to_image(pixels, encoding, t_ns, frame_id=''):
    """Return a ``sensor_msgs/Image`` holding ``pixels`` (H, W[, C]) in ``encoding``."""
    dtype, channels = IMAGE_ENCODINGS[encoding]
    pixels = np.ascontiguousarray(pixels, dtype=dtype)
    if pixels.ndim != (2 if channels == 1 else 3):
        raise ValueError(f'pixels of shape {pixels.shape} do not fit encoding {encoding!r}')
    msg = Image()
    msg.header.stamp = ns_to_stamp(t_ns)
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(pixels.strides[0])
    msg.data = pixels.tobytes()
    return msg


def packet_bytes(msg):
    """Return the payload of an ``event_camera_msgs/EventPacket`` as a uint8 view."""
    return np.frombuffer(msg.events, dtype=np.uint8)
