"""
``snn-ros train``: train a controller in process, on the embedded world, and write its curves.

It runs ``snn_ros.control.closed_loop`` (the same ``Controller`` class the node
runs) for ``--steps`` steps of 50 ms with learning on, then, with
``--eval-steps``, as many steps with learning off. In ``--out`` it writes:

- ``steps.csv``: per step: step, d_m, reward, reset, lap_done, x_m, y_m, theta_rad,
  v_mps, omega_radps;
- ``laps.csv``: per lap: lap, phase (train/eval), last step, steps, mean_abs_d_m;
- ``curve.json``: mean |d| per lap and resets per 500 steps against steps;
- ``learning_curve.png``, ``trajectory.png``, ``weights.png`` (before/after);
- ``weights_before.npz`` (the initial weights, by projection) and ``weights.npz``
  (``Controller.save``: everything needed to resume learning);
- ``summary.json``.
"""

import json
import os
import sys
import time

CONTROLLER_NAMES = ('lane_keeping', 'bing2018', 'braitenberg')


def add_arguments(parser):
    """Add the training options."""
    parser.add_argument('--config', default='lane_keeping',
                        help=f'controller: one of {", ".join(CONTROLLER_NAMES)} or a '
                             'controller file (default lane_keeping)')
    parser.add_argument('--steps', type=int, default=10_000, help='training steps of 50 ms')
    parser.add_argument('--eval-steps', type=int, default=0,
                        help='steps with learning off after training (default 0)')
    parser.add_argument('--seed', type=int, default=0, help='seed of world, DVS and network')
    parser.add_argument('--out', default=None,
                        help='output folder (default runs/train-<config>-<seed>-<time>)')
    parser.add_argument('--reward', choices=('world', 'camera'), default='world',
                        help='reward: true d from the world, or the camera-only estimate')
    parser.add_argument('--texture', action='store_true',
                        help='textured floor and road (harder: texture events swamp the lane)')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')


def progress_bar(label, width=30, stream=None):
    """Return a callback ``(done, total, laps)`` redrawing a plain-text bar on one line."""
    stream = stream or sys.stderr
    started = time.perf_counter()

    def show(done, total, laps=()):
        frac = done / max(total, 1)
        filled = int(frac * width)
        elapsed = time.perf_counter() - started
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        stream.write(f'\r{label} [{"#" * filled}{"." * (width - filled)}] {done}/{total} '
                     f'steps, {len(laps)} laps, {elapsed:.0f} s (eta {eta:.0f} s) ')
        stream.flush()
        if done >= total:
            stream.write('\n')
    return show


def write_steps_csv(path, result, first_step=0):
    """Write one row per step of ``result`` (a ``LoopResult``)."""
    with open(path, 'w', encoding='utf-8') as out:
        out.write('step,d_m,reward,reset,lap_done,x_m,y_m,theta_rad,v_mps,omega_radps\n')
        for k in range(result.steps):
            x, y, th = result.pose[k]
            v, om = result.twist[k]
            out.write(f'{first_step + k + 1},{result.d_m[k]:.5f},{result.reward[k]:.5f},'
                      f'{int(result.reset[k])},{int(result.lap_done[k])},{x:.4f},{y:.4f},'
                      f'{th:.4f},{v:.4f},{om:.4f}\n')


def curve_dict(result, window=500):
    """Return the learning curve of ``result`` as a JSON-ready dict."""
    import numpy as np
    resets = result.resets_per_window(window)
    n = resets.shape[0]
    d_window = np.abs(np.asarray(result.d_m, float)[:n * window]).reshape(n, window).mean(1)
    return {'lap_end_step': [lap.step + 1 for lap in result.laps],
            'lap_mean_abs_d_m': [round(lap.mean_abs_d_m, 5) for lap in result.laps],
            'reset_window_steps': window,
            'resets_per_window': [int(r) for r in resets],
            'mean_abs_d_per_window_m': [round(float(v), 5) for v in d_window],
            'window_end_step': [int((i + 1) * window) for i in range(len(resets))]}


def write_weights(out_dir, controller, before):
    """Write ``weights_before.npz``, ``weights.npz`` and ``weights.png``; return the paths."""
    from snn_ros.commands import plots
    from snn_ros.control.closed_loop import weights_of
    from snn_ros.core.weightfile import save_arrays
    paths = {}
    after = weights_of(controller)
    if before:
        paths['weights_before'] = save_arrays(os.path.join(out_dir, 'weights_before.npz'),
                                              **before)
    paths['weights'] = os.path.join(out_dir, 'weights.npz')
    controller.save(paths['weights'])
    if before:
        grid = tuple(controller.spec['input_map']['grid'])
        names = sorted(before)
        image = plots.weight_grids([before[n] for n in names] + [after[n] for n in names],
                                   grid, [f'{n} before' for n in names]
                                   + [f'{n} after' for n in names])
        paths['weights_png'] = plots.save(os.path.join(out_dir, 'weights.png'), image)
    return paths


def run(args):
    """Train, write the files, print where they are."""
    from snn_ros.commands import plots
    from snn_ros.control.closed_loop import ClosedLoop, LoopParams, make_controller, weights_of

    if args.steps < 1 or args.eval_steps < 0:
        print('train: --steps must be >= 1 and --eval-steps >= 0', file=sys.stderr)
        return 2
    name = os.path.basename(args.config).removesuffix('.yaml')
    out_dir = args.out or os.path.join(
        'runs', f'train-{name}-{args.seed}-{time.strftime("%Y%m%d-%H%M%S")}')
    try:
        controller, feed = make_controller(args.config, args.seed)
    except Exception as error:  # noqa: B902 - report any construction failure, then stop
        print(f'train: cannot build the controller {args.config!r}: '
              f'{type(error).__name__}: {error}', file=sys.stderr)
        return 1
    os.makedirs(out_dir, exist_ok=True)
    before = weights_of(controller)
    params = LoopParams(reward=args.reward, texture=args.texture)
    loop = ClosedLoop(controller, feed, params, args.seed)
    print(f'train: {name} ({controller.describe()}), {args.steps} steps, seed {args.seed}',
          file=sys.stderr)
    show = None if args.quiet else progress_bar('train')
    train = loop.run(args.steps, show)
    evaluation = None
    if args.eval_steps:
        show = None if args.quiet else progress_bar('eval ')
        evaluation = loop.evaluate(args.eval_steps, show)
    write_steps_csv(os.path.join(out_dir, 'steps.csv'), train)
    with open(os.path.join(out_dir, 'laps.csv'), 'w', encoding='utf-8') as out:
        out.write('lap,phase,step,steps,mean_abs_d_m\n')
        phases = [('train', train, 0)] + ([('eval', evaluation, train.steps)]
                                          if evaluation else [])
        lap_no = 0
        for phase, result, offset in phases:
            for lap in result.laps:
                lap_no += 1
                out.write(f'{lap_no},{phase},{offset + lap.step + 1},{lap.steps},'
                          f'{lap.mean_abs_d_m:.5f}\n')
    with open(os.path.join(out_dir, 'curve.json'), 'w', encoding='utf-8') as out:
        json.dump(curve_dict(train), out)
    plots.save(os.path.join(out_dir, 'learning_curve.png'),
               plots.learning_curve(train, title=name))
    plots.save(os.path.join(out_dir, 'trajectory.png'),
               plots.trajectory(loop.world, train.pose[-min(train.steps, 3000):],
                                train.reset[-min(train.steps, 3000):]))
    files = write_weights(out_dir, controller, before)
    summary = {'controller': name, 'config': args.config, 'seed': args.seed,
               'reward': args.reward, 'texture': args.texture, 'train': train.summary(),
               'eval': evaluation.summary() if evaluation else None,
               'files': sorted(os.listdir(out_dir)) + ['summary.json']}
    with open(os.path.join(out_dir, 'summary.json'), 'w', encoding='utf-8') as out:
        json.dump(summary, out, indent=2)
    s = train.summary()
    print(f'train: {s["laps"]} laps, {s["resets"]} resets, first clean lap after '
          f'{s["steps_to_first_clean_lap"]} steps, mean |d| {s["mean_abs_d_m"]:.4f} m, '
          f'{s["realtime_factor"]:.0f}x real time')
    print(f'train: wrote {out_dir}/ ({", ".join(sorted(files))}, learning_curve.png, ...)')
    return 0
