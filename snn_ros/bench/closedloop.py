"""
``snn-ros bench closedloop``: the controllers compared on the lane track, in one harness.

For each controller (``braitenberg``, the hand-tuned baseline; ``bing2018``, the
published R-STDP setup of Bing, Meschede et al., ICRA 2018; ``lane_keeping``,
ours) and each of ``--seeds`` seeds, ``snn_ros.control.closed_loop`` trains for
``--steps`` steps of 50 ms with learning on, then drives ``--eval-steps`` more
steps with learning off. Figures per controller:

- ``steps_to_first_clean_lap``: per seed, the steps until the end of the first
  lap without a reset (null when none came within ``--steps``);
- ``success_rate``: the fraction of seeds with such a lap;
- ``mean_abs_d_after``: the mean |d| [m] of the laps driven after training
  (learning off), averaged over the seeds that drove one (null if none did);
  ``mean_abs_d_after_steps`` is the mean |d| over all evaluation steps, and
  ``resets_after`` the evaluation resets per seed;
- ``realtime_factor``: simulated time over wall time, whole runs.

A controller that cannot be built is reported with the reason instead.
"""

import json
import sys

DEFAULT_CONTROLLERS = ('braitenberg', 'bing2018', 'lane_keeping')


def add_arguments(parser):
    """Add ``--json``, ``--seeds``, ``--steps``, ``--eval-steps``, ``--controllers``."""
    parser.add_argument('--json', action='store_true', help='print one JSON object')
    parser.add_argument('--seeds', type=int, default=5, help='seeds per controller (>= 1)')
    parser.add_argument('--steps', type=int, default=10_000, help='training budget [steps]')
    parser.add_argument('--eval-steps', type=int, default=2_500,
                        help='steps with learning off after training')
    parser.add_argument('--controllers', nargs='+', default=list(DEFAULT_CONTROLLERS),
                        help='controller names or files')
    parser.add_argument('--texture', action='store_true', help='textured floor and road')


def measure(name, seeds, steps, eval_steps, params):
    """Run one controller over ``seeds``; return its JSON-ready figures."""
    import numpy as np

    from snn_ros.control.closed_loop import run_seed

    firsts, after, after_steps, resets_after, sim_s, wall_s = [], [], [], [], 0.0, 0.0
    for seed in range(seeds):
        try:
            _, train, evaluation = run_seed(name, seed, steps, eval_steps, params)
        except Exception as error:  # noqa: B902 - a controller that cannot run is reported
            return {'controller': name, 'error': f'{type(error).__name__}: {error}'}
        firsts.append(train.steps_to_first_clean_lap)
        sim_s += train.steps * train.step_s
        wall_s += train.wall_s
        if evaluation is not None:
            per_lap = evaluation.mean_abs_d_per_lap()
            after.append(float(per_lap.mean()) if per_lap.size else None)
            after_steps.append(float(np.mean(np.abs(evaluation.d_m))))
            resets_after.append(int(evaluation.reset.sum()))
            sim_s += evaluation.steps * evaluation.step_s
            wall_s += evaluation.wall_s
    done = [v for v in after if v is not None]
    return {'controller': name, 'seeds': seeds, 'steps': steps, 'eval_steps': eval_steps,
            'steps_to_first_clean_lap': firsts,
            'success_rate': sum(v is not None for v in firsts) / seeds,
            'mean_abs_d_after': float(np.mean(done)) if done else None,
            'mean_abs_d_after_per_seed': after,
            'mean_abs_d_after_steps': float(np.mean(after_steps)) if after_steps else None,
            'resets_after': resets_after,
            'realtime_factor': sim_s / wall_s if wall_s > 0 else None}


def run(args):
    """Measure and print the table (or one JSON object with ``--json``)."""
    from snn_ros.control.closed_loop import LoopParams

    if args.seeds < 1 or args.steps < 1 or args.eval_steps < 0:
        print('bench closedloop: --seeds and --steps must be >= 1, --eval-steps >= 0',
              file=sys.stderr)
        return 2
    params = LoopParams(texture=args.texture)
    results = {}
    for name in args.controllers:
        if not args.json:
            print(f'running {name} ({args.seeds} seeds x {args.steps} + {args.eval_steps} '
                  'steps) ...', file=sys.stderr)
        results[name] = measure(name, args.seeds, args.steps, args.eval_steps, params)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f'closed loop, bing track, {args.seeds} seeds, budget {args.steps} steps of 50 ms, '
          f'evaluation {args.eval_steps} steps (learning off)')
    print(f'{"controller":<14} {"success":>8} {"steps to first clean lap":<34} '
          f'{"mean|d| after":>13} {"per step":>9} {"x real time":>11}')
    for name, r in results.items():
        if 'error' in r:
            print(f'{name:<14} not run: {r["error"]}')
            continue
        firsts = ' '.join('-' if v is None else str(v) for v in r['steps_to_first_clean_lap'])
        after = '-' if r['mean_abs_d_after'] is None else f'{r["mean_abs_d_after"]:.4f}'
        steps = '-' if r['mean_abs_d_after_steps'] is None else \
            f'{r["mean_abs_d_after_steps"]:.4f}'
        rt = '-' if r['realtime_factor'] is None else f'{r["realtime_factor"]:.0f}'
        print(f'{name:<14} {r["success_rate"]:>8.0%} {firsts:<34} {after:>13} {steps:>9} '
              f'{rt:>11}')
    return 0
