"""The in-process closed loop: determinism, the Braitenberg baseline, the rate feed, learning."""

import numpy as np
import pytest

from snn_ros.control.braitenberg import BraitenbergController, BraitenbergParams
from snn_ros.control.closed_loop import (ClosedLoop, config_path, load_spec, LoopParams,
                                         make_controller, RateFeed)
from snn_ros.core.simulator import Simulator
from snn_ros.core.types import EVENT_DTYPE

LAP_STEPS = 2300  # one lap of the bing track at 0.3 m/s is about 2100 steps


class ZeroTurn(BraitenbergController):
    """Drive straight on at the Braitenberg speed: the baseline of the baseline."""

    def command(self):
        return self.params.speed_mps, 0.0


def _events(xs, ys, t0_ns=0, dt_ns=1000):
    ev = np.zeros(len(xs), dtype=EVENT_DTYPE)
    ev['x'], ev['y'] = xs, ys
    ev['t'] = t0_ns + np.arange(len(xs)) * dt_ns
    return ev


def test_loop_is_deterministic_by_seed():
    runs = [ClosedLoop(BraitenbergController(), seed=seed).run(300) for seed in (3, 3, 4)]
    assert np.array_equal(runs[0].d_m, runs[1].d_m)
    assert np.array_equal(runs[0].pose, runs[1].pose)
    assert not np.array_equal(runs[0].d_m, runs[2].d_m)  # the DVS mismatch follows the seed


def test_runs_continue_where_they_stopped():
    whole = ClosedLoop(BraitenbergController(), seed=1).run(400)
    loop = ClosedLoop(BraitenbergController(), seed=1)
    first, second = loop.run(150), loop.run(250)
    assert np.array_equal(np.concatenate([first.d_m, second.d_m]), whole.d_m)


def test_braitenberg_turns_away_from_the_busier_side():
    for xs, sign in ((np.full(50, 120), -1.0), (np.full(50, 5), 1.0)):
        vehicle = BraitenbergController()
        vehicle.feed(_events(xs, np.full(50, 70)), 128, 128)
        v, omega = vehicle.command()
        assert v == pytest.approx(vehicle.params.speed_mps)
        assert np.sign(omega) == sign
        # crossed excitation: the wheel opposite the busy side is driven
        assert np.argmax(vehicle.rates_hz()) == (0 if sign < 0 else 1)


def test_braitenberg_traces_decay_exponentially():
    vehicle = BraitenbergController(BraitenbergParams(tau_s=0.1))
    vehicle.feed(_events([127], [70], t0_ns=1_000_000), 128, 128)
    before = vehicle.traces.copy()
    vehicle.advance(1_000_000 + 50_000_000)
    assert vehicle.traces == pytest.approx(before * np.exp(-0.5))
    assert before[2] == pytest.approx(1.0)
    assert before[1] == pytest.approx((127 - 63.5) / 64)


def test_braitenberg_drives_a_clean_lap_where_driving_straight_cannot():
    vehicle = ClosedLoop(BraitenbergController(), seed=0).run(LAP_STEPS)
    straight = ClosedLoop(ZeroTurn(), seed=0).run(LAP_STEPS)
    assert vehicle.steps_to_first_clean_lap is not None
    assert vehicle.reset.sum() == 0
    assert vehicle.mean_abs_d_per_lap()[0] < 0.08
    assert straight.steps_to_first_clean_lap is None and straight.reset.sum() >= 3


def test_rate_feed_codes_cell_counts_as_poisson_spikes_in_the_step():
    spec = load_spec(config_path('bing2018.yaml'))
    feed = RateFeed(spec, 128, 128, np.random.default_rng(0))
    x, y = feed.pixel[5]  # the cell's first pixel; 20 pixels of cell 5 (over 15: 300 Hz)
    events = _events(x + np.arange(20) % 16, y + np.arange(20) // 16)
    out = np.concatenate([feed.events(events, k * 50_000_000, (k + 1) * 50_000_000)
                          for k in range(200)])
    cells = feed.input_map.to_spikes(out)['neuron']
    assert np.all(cells == 5)
    rate_hz = out.shape[0] / (200 * 0.05)
    assert rate_hz == pytest.approx(spec['rate_code']['rate_max_hz'], rel=0.05)
    assert np.all(np.diff(out['t']) >= 0)


def test_rate_feed_counts_changed_pixels_like_a_frame_based_dvs():
    spec = load_spec(config_path('bing2018.yaml'))
    assert spec['rate_code']['count'] == 'pixels'
    steps, window = 200, 50_000_000
    rates = {}
    for count in ('pixels', 'events'):
        block = dict(spec['rate_code'], count=count)
        feed = RateFeed({**spec, 'rate_code': block}, 128, 128, np.random.default_rng(0))
        x, y = feed.pixel[5]
        same = _events(np.full(20, x), np.full(20, y))  # 20 events, one pixel
        spread = _events(x + np.arange(5).repeat(4) % 4, y + np.arange(20) % 4)  # 16 pixels
        assert list(feed.cell_counts(same)[4:7]) == [0, 1 if count == 'pixels' else 20, 0]
        assert feed.cell_counts(spread)[5] == (16 if count == 'pixels' else 20)
        out = np.concatenate([feed.events(same, k * window, (k + 1) * window)
                              for k in range(steps)])
        rates[count] = out.shape[0] / (steps * window * 1e-9)
    rate_max = spec['rate_code']['rate_max_hz']
    assert rates['events'] == pytest.approx(rate_max, rel=0.05)
    assert rates['pixels'] == pytest.approx(rate_max / 15, rel=0.25)


def test_rate_code_section_is_validated():
    spec = load_spec(config_path('bing2018.yaml'))
    assert spec['rate_code']['max_events_per_cell'] == 15
    for bad in ({'count': 'frames'}, {'rate_max_hz': 0}, {'extra': 1}):
        block = {**spec['rate_code'], **bad}
        with pytest.raises(ValueError, match='rate_code'):
            _check_rate_code(block)


def _check_rate_code(block):
    import tempfile
    import yaml
    with open(config_path('bing2018.yaml'), encoding='utf-8') as stream:
        raw = yaml.safe_load(stream)
    raw['rate_code'] = block
    with tempfile.TemporaryDirectory() as folder:
        path = f'{folder}/bad.yaml'
        with open(path, 'w', encoding='utf-8') as stream:
            yaml.safe_dump(raw, stream)
        load_spec(path)


def test_rate_feed_is_silent_without_events():
    spec = load_spec(config_path('bing2018.yaml'))
    feed = RateFeed(spec, 128, 128, np.random.default_rng(0))
    assert feed.events(_events([], []), 0, 50_000_000).shape[0] == 0


def test_unknown_reward_source_is_refused():
    with pytest.raises(ValueError, match='reward'):
        ClosedLoop(BraitenbergController(), params=LoopParams(reward='oracle'))


@pytest.mark.skipif(not hasattr(Simulator, 'deliver_reward'),
                    reason='needs Simulator.deliver_reward')
def test_short_seeded_learning_run_improves_mean_abs_d():
    """
    Learning on against the same network with learning off, over the same steps.

    Episodes restart at random places (so the untrained robot also starts inside
    curves, where driving straight on costs); compared over the second half of the run.
    """
    steps, seed = 2500, 2
    params = LoopParams(reset_mode='random')
    runs = []
    for learning in (False, True):
        controller, feed = make_controller('lane_keeping', seed)
        runs.append(ClosedLoop(controller, feed, params._replace(learning=learning),
                               seed).run(steps))
    half = steps // 2
    mean_abs_d = [float(np.mean(np.abs(r.d_m[half:]))) for r in runs]
    resets = [int(r.reset[half:].sum()) for r in runs]
    assert mean_abs_d[1] < 0.85 * mean_abs_d[0], (mean_abs_d, resets)
    assert resets[0] >= 5 and resets[1] <= resets[0] // 3, (mean_abs_d, resets)
