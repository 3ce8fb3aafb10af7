"""
``snn-ros bench sim``: the cost of one step of the embedded world, and of the lane reward.

Figures are best-of-``--repeat`` wall times per 50 ms step, in process, with the
robot weaving along the default track under a pure-pursuit driver (so resets
and lap counting run as in training). Rows: stepping without rendering,
stepping with a 128x128 (``--size``) frame, the same with lighting and pixel
noise, and the camera-only lane reward per frame in pixel and ground mode. The
target of issue 7 is 1,000x real time at 128x128 (under 50 us per step).
"""

import json
import os

STEP_NS = 50_000_000
TARGET_SPEEDUP = 1000.0


def add_arguments(parser):
    """Add ``--json``, ``--repeat``, ``--steps`` and ``--size``."""
    parser.add_argument('--json', action='store_true', help='print one JSON object')
    parser.add_argument('--repeat', type=int, default=5, help='timed repeats (best is kept)')
    parser.add_argument('--steps', type=int, default=2000, help='steps per timed repeat')
    parser.add_argument('--size', type=int, default=128, help='image width and height [px]')


def _per_step(world, commands, render, repeat):
    import time
    best = float('inf')
    for _ in range(repeat):
        world.reset(0, render=render)
        t = time.perf_counter()
        for v, omega in commands:
            world.step(v, omega, STEP_NS, render)
        best = min(best, (time.perf_counter() - t) / len(commands))
    return best


def run(args):
    """Measure and print the table (or one JSON object with ``--json``)."""
    import time

    from snn_ros.control.lane_reward import LaneReward
    from snn_ros.sim.camera import CameraParams, SceneParams
    from snn_ros.sim.driver import PurePursuit
    from snn_ros.sim.world import World, WorldParams

    if args.steps < 1 or args.repeat < 1:
        raise SystemExit('--steps and --repeat must be >= 1')
    camera = CameraParams(width_px=args.size, height_px=args.size)
    world = World(WorldParams(camera=camera))
    driver = PurePursuit(world, speed_mps=0.5, lookahead_m=0.6, weave_m=0.1)
    world.reset(0)
    commands, frames = [], []
    for _ in range(args.steps):
        commands.append(driver.command())
        frames.append(world.step(*commands[-1]).image)
    noisy = World(WorldParams(camera=camera, scene=SceneParams(
        light_gain_std=0.1, light_offset_std=5.0, pixel_noise_std=4.0)))
    results = {
        'size_px': args.size,
        'load_average_1min': os.getloadavg()[0],
        'step_us': 1e6 * _per_step(world, commands, False, args.repeat),
        'step_render_us': 1e6 * _per_step(world, commands, True, args.repeat),
        'step_render_noise_us': 1e6 * _per_step(noisy, commands, True, args.repeat),
    }
    for mode, reward in (('pixel', LaneReward()),
                         ('ground', LaneReward(image_to_ground=camera.image_to_ground()))):
        best = float('inf')
        for _ in range(args.repeat):
            reward.reset()
            t = time.perf_counter()
            for f in frames:
                reward(f)
            best = min(best, (time.perf_counter() - t) / len(frames))
        results[f'lane_reward_{mode}_us'] = 1e6 * best
    for key in ('step_us', 'step_render_us', 'step_render_noise_us'):
        results[key.replace('_us', '_speedup')] = STEP_NS * 1e-3 / results[key]
    if args.json:
        print(json.dumps(results))
        return 0
    print(f'embedded world, {args.size}x{args.size}, best of {args.repeat} x {args.steps} '
          f'steps (load average {results["load_average_1min"]:.2f})')
    print(f'{"what":34s} {"us/step":>9s} {"x real time":>12s}')
    for label, key in (('step, no rendering', 'step'), ('step + frame', 'step_render'),
                       ('step + frame + lighting/pixel noise', 'step_render_noise')):
        print(f'{label:34s} {results[key + "_us"]:9.1f} {results[key + "_speedup"]:12.0f}')
    for mode in ('pixel', 'ground'):
        print(f'{"lane reward, " + mode + " mode":34s} '
              f'{results["lane_reward_" + mode + "_us"]:9.1f} {"(per frame)":>12s}')
    print(f'target: {TARGET_SPEEDUP:.0f}x real time with frames')
    return 0
