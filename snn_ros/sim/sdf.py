"""
Generate a Gazebo (gz-sim) world of a track, with a diff-drive robot and a camera.

The road and its markings become thin static boxes along the same geometry the
embedded world draws (``snn_ros.sim.track``): straight pieces are one box per
line, arcs are split into chords of at most ``max_chord_rad``. The robot is
Pioneer-like (wheel separation and radius from the Pioneer 3-DX), driven by the
``gz::sim::systems::DiffDrive`` system, with a camera mounted as in
``CameraParams``. Topics match ``config/gz_bridge.yaml``: ``/cmd_vel``,
``/odom``, ``/camera/image_raw`` and ``/clock``.

Regenerate the committed world with ``python -m snn_ros.sim.sdf worlds/lane_track.sdf``.
SDFormat reference: http://sdformat.org/spec (version 1.9).
"""

import math
import sys
import xml.etree.ElementTree as ET

from snn_ros.sim.camera import CameraParams
from snn_ros.sim.robot import RobotParams
from snn_ros.sim.track import make_track

#: Gazebo topics, shared with config/gz_bridge.yaml.
TOPICS = {'cmd_vel': '/cmd_vel', 'odom': '/odom', 'image': '/camera/image_raw',
          'clock': '/clock'}

WHEEL_RADIUS_M = 0.0975  # Pioneer 3-DX wheel diameter 195 mm
ROAD_COLOUR = (0.22, 0.22, 0.22)
MARKING_COLOUR = (0.92, 0.92, 0.92)
FLOOR_COLOUR = (0.5, 0.5, 0.5)


def _sub(parent, tag, text=None, **attrib):
    el = ET.SubElement(parent, tag, {k: str(v) for k, v in attrib.items()})
    if text is not None:
        el.text = str(text)
    return el


def _fmt(*values):
    return ' '.join(f'{v:.6g}' if isinstance(v, float) else str(v) for v in values)


def _colour(parent, rgb):
    material = _sub(parent, 'material')
    _sub(material, 'ambient', _fmt(*rgb, 1.0))
    _sub(material, 'diffuse', _fmt(*rgb, 1.0))
    _sub(material, 'specular', _fmt(0.05, 0.05, 0.05, 1.0))


def _box_visual(link, name, pose, size, rgb):
    visual = _sub(link, 'visual', name=name)
    _sub(visual, 'pose', _fmt(*pose))
    box = _sub(_sub(visual, 'geometry'), 'box')
    _sub(box, 'size', _fmt(*size))
    _colour(visual, rgb)
    _sub(visual, 'cast_shadows', 'false')


def _strip_boxes(track, n_m, s_from, s_to, max_chord_rad):
    """Yield ``(x, y, yaw, length)`` chords along the offset curve ``n_m`` for ``s`` in a range."""
    cuts = [s_from]
    for p in track.pieces:
        start, end = p.s0_m, p.s0_m + p.length_m
        if end <= s_from or start >= s_to:
            continue
        lo, hi = max(start, s_from), min(end, s_to)
        parts = 1 if p.curvature_1pm == 0.0 else max(
            1, int(math.ceil(abs(p.curvature_1pm) * (hi - lo) / max_chord_rad)))
        cuts.extend(lo + (hi - lo) * (i + 1) / parts for i in range(parts))
    for a, b in zip(cuts[:-1], cuts[1:]):
        if b - a < 1e-9:
            continue
        xa, ya, _ = track.pose_at(a, n_m)
        xb, yb, _ = track.pose_at(b, n_m)
        yield 0.5 * (xa + xb), 0.5 * (ya + yb), math.atan2(yb - ya, xb - xa), \
            math.hypot(xb - xa, yb - ya)


def _track_model(world, track, marking_width_m, dash_m, gap_m, max_chord_rad):
    model = _sub(world, 'model', name='lane_track')
    _sub(model, 'static', 'true')
    link = _sub(model, 'link', name='track')
    w = track.lane_half_width_m
    road_width = 4.0 * w + 2.0 * marking_width_m
    count = 0
    for x, y, yaw, length in _strip_boxes(track, 0.0, 0.0, track.length_m, max_chord_rad):
        _box_visual(link, f'road_{count}', (x, y, 0.001, 0.0, 0.0, yaw),
                    (length + road_width * math.tan(max_chord_rad / 2.0), road_width, 0.002),
                    ROAD_COLOUR)
        count += 1
    strips = [('outer_edge', -2.0 * w, [(0.0, track.length_m)]),
              ('inner_edge', 2.0 * w, [(0.0, track.length_m)])]
    if gap_m > 0.0:
        period = dash_m + gap_m
        dashes, s = [], 0.0
        while s < track.length_m:
            dashes.append((s, min(s + dash_m, track.length_m)))
            s += period
        strips.append(('centre', 0.0, dashes))
    else:
        strips.append(('centre', 0.0, [(0.0, track.length_m)]))
    for kind, n, spans in strips:
        i = 0
        for a, b in spans:
            for x, y, yaw, length in _strip_boxes(track, n, a, b, max_chord_rad):
                extra = marking_width_m * math.tan(max_chord_rad / 2.0) if b - a > dash_m else 0
                _box_visual(link, f'{kind}_{i}', (x, y, 0.003, 0.0, 0.0, yaw),
                            (length + extra, marking_width_m, 0.002), MARKING_COLOUR)
                i += 1


def _inertial(link, mass, ixx, iyy, izz):
    inertial = _sub(link, 'inertial')
    _sub(inertial, 'mass', _fmt(float(mass)))
    inertia = _sub(inertial, 'inertia')
    for tag, value in (('ixx', ixx), ('iyy', iyy), ('izz', izz), ('ixy', 0.0), ('ixz', 0.0),
                       ('iyz', 0.0)):
        _sub(inertia, tag, _fmt(float(value)))


def _robot_model(world, pose, robot, camera):
    model = _sub(world, 'model', name='pioneer')
    _sub(model, 'pose', _fmt(*pose))
    r = WHEEL_RADIUS_M
    chassis = _sub(model, 'link', name='base_link')
    _sub(chassis, 'pose', _fmt(0.0, 0.0, r, 0.0, 0.0, 0.0))
    _inertial(chassis, 9.0, 0.1, 0.15, 0.2)
    size = (0.44, 0.26, 0.18)
    for tag in ('collision', 'visual'):
        el = _sub(chassis, tag, name=f'chassis_{tag}')
        _sub(el, 'pose', _fmt(-0.04, 0.0, 0.06, 0.0, 0.0, 0.0))
        _sub(_sub(_sub(el, 'geometry'), 'box'), 'size', _fmt(*size))
        if tag == 'visual':
            _colour(el, (0.7, 0.1, 0.1))
    caster = _sub(chassis, 'collision', name='caster_collision')
    _sub(caster, 'pose', _fmt(-0.2, 0.0, -r + 0.04, 0.0, 0.0, 0.0))
    _sub(_sub(_sub(caster, 'geometry'), 'sphere'), 'radius', _fmt(0.04))
    ode = _sub(_sub(_sub(caster, 'surface'), 'friction'), 'ode')
    _sub(ode, 'mu', '0')
    _sub(ode, 'mu2', '0')
    half = robot.wheel_base_m / 2.0
    for side, y in (('left', half), ('right', -half)):
        wheel = _sub(model, 'link', name=f'{side}_wheel')
        _sub(wheel, 'pose', _fmt(0.0, y, r, -math.pi / 2.0, 0.0, 0.0))
        _inertial(wheel, 0.5, 0.0013, 0.0013, 0.0024)
        for tag in ('collision', 'visual'):
            el = _sub(wheel, tag, name=f'{side}_wheel_{tag}')
            cyl = _sub(_sub(el, 'geometry'), 'cylinder')
            _sub(cyl, 'radius', _fmt(r))
            _sub(cyl, 'length', _fmt(0.05))
            if tag == 'visual':
                _colour(el, (0.1, 0.1, 0.1))
        joint = _sub(model, 'joint', name=f'{side}_wheel_joint', type='revolute')
        _sub(joint, 'parent', 'base_link')
        _sub(joint, 'child', f'{side}_wheel')
        axis = _sub(joint, 'axis')
        _sub(axis, 'xyz', '0 1 0', expressed_in='__model__')
    cam_link = _sub(model, 'link', name='camera_link')
    _sub(cam_link, 'pose', _fmt(camera.mount_x_m, 0.0, camera.height_m, 0.0, camera.pitch_rad,
                                0.0))
    _inertial(cam_link, 0.05, 1e-5, 1e-5, 1e-5)
    visual = _sub(cam_link, 'visual', name='camera_visual')
    _sub(_sub(_sub(visual, 'geometry'), 'box'), 'size', _fmt(0.03, 0.06, 0.03))
    sensor = _sub(cam_link, 'sensor', name='camera', type='camera')
    _sub(sensor, 'always_on', 'true')
    _sub(sensor, 'update_rate', '20')
    _sub(sensor, 'topic', TOPICS['image'])
    cam = _sub(sensor, 'camera')
    _sub(cam, 'horizontal_fov', _fmt(camera.hfov_rad))
    image = _sub(cam, 'image')
    _sub(image, 'width', camera.width_px)
    _sub(image, 'height', camera.height_px)
    _sub(image, 'format', 'L8')
    clip = _sub(cam, 'clip')
    _sub(clip, 'near', '0.02')
    _sub(clip, 'far', _fmt(max(20.0, camera.max_range_m)))
    joint = _sub(model, 'joint', name='camera_joint', type='fixed')
    _sub(joint, 'parent', 'base_link')
    _sub(joint, 'child', 'camera_link')
    drive = _sub(model, 'plugin', filename='gz-sim-diff-drive-system',
                 name='gz::sim::systems::DiffDrive')
    _sub(drive, 'left_joint', 'left_wheel_joint')
    _sub(drive, 'right_joint', 'right_wheel_joint')
    _sub(drive, 'wheel_separation', _fmt(robot.wheel_base_m))
    _sub(drive, 'wheel_radius', _fmt(r))
    _sub(drive, 'max_linear_velocity', _fmt(robot.max_wheel_speed_mps))
    _sub(drive, 'odom_publish_frequency', '50')
    _sub(drive, 'topic', TOPICS['cmd_vel'])
    _sub(drive, 'odom_topic', TOPICS['odom'])
    _sub(drive, 'frame_id', 'odom')
    _sub(drive, 'child_frame_id', 'base_link')


def world_sdf(track_name='bing', lane='outer', start_s_m=0.0, robot=RobotParams(),
              camera=CameraParams(), marking_width_m=0.05, centre_dash_m=0.3,
              centre_gap_m=0.3, max_chord_rad=math.radians(6.0)):
    """Return the SDF text of a world with the named track and the robot on ``lane``."""
    track = make_track(track_name)
    root = ET.Element('sdf', version='1.9')
    root.append(ET.Comment(f' Generated by snn_ros/sim/sdf.py (track {track_name!r}, {lane} '
                           'lane): python -m snn_ros.sim.sdf worlds/lane_track.sdf. '
                           'Do not edit. '))
    world = _sub(root, 'world', name='lane_track')
    physics = _sub(world, 'physics', name='1ms', type='ignored')
    _sub(physics, 'max_step_size', '0.001')
    _sub(physics, 'real_time_factor', '1.0')
    for filename, name in (('gz-sim-physics-system', 'gz::sim::systems::Physics'),
                           ('gz-sim-user-commands-system', 'gz::sim::systems::UserCommands'),
                           ('gz-sim-scene-broadcaster-system',
                            'gz::sim::systems::SceneBroadcaster')):
        _sub(world, 'plugin', filename=filename, name=name)
    sensors = _sub(world, 'plugin', filename='gz-sim-sensors-system',
                   name='gz::sim::systems::Sensors')
    _sub(sensors, 'render_engine', 'ogre2')
    sun = _sub(world, 'light', type='directional', name='sun')
    _sub(sun, 'cast_shadows', 'false')
    _sub(sun, 'pose', '0 0 10 0 0 0')
    _sub(sun, 'diffuse', '0.8 0.8 0.8 1')
    _sub(sun, 'specular', '0.2 0.2 0.2 1')
    _sub(sun, 'direction', '-0.3 0.2 -0.9')
    ground = _sub(world, 'model', name='ground_plane')
    _sub(ground, 'static', 'true')
    link = _sub(ground, 'link', name='link')
    for tag in ('collision', 'visual'):
        el = _sub(link, tag, name=tag)
        plane = _sub(_sub(el, 'geometry'), 'plane')
        _sub(plane, 'normal', '0 0 1')
        _sub(plane, 'size', '100 100')
        if tag == 'visual':
            _colour(el, FLOOR_COLOUR)
    _track_model(world, track, marking_width_m, centre_dash_m, centre_gap_m, max_chord_rad)
    x, y, yaw = track.pose_at(start_s_m, track.lane_offset_m(lane))
    _robot_model(world, (x, y, 0.0, 0.0, 0.0, yaw), robot, camera)
    ET.indent(root, space='  ')
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding='unicode') + '\n'


def main(argv=None):
    """Write the default world to the path given (default worlds/lane_track.sdf)."""
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else 'worlds/lane_track.sdf'
    with open(path, 'w', encoding='utf-8') as f:
        f.write(world_sdf())
    print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
