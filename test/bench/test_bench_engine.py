"""``snn-ros bench engine --quick --json``: the report's shape (no timing asserts)."""

import json

import pytest

from snn_ros.bench.engine import best_of_rounds
from snn_ros.cli import main

SIMULATORS = ('snn_ros', 'snn_ros_mt', 'snn_ros_continuous', 'nest_ps', 'nest_grid',
              'brian2_standalone')
FIGURES = ('wall_s', 'rate_hz', 'syn_events_per_s', 'threads')


def _report(capsys, *extra):
    assert main(['bench', 'engine', '--quick', '--json', *extra]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, 'with --json the benchmark prints exactly one line'
    return json.loads(out[0])


def _check_entry(entry):
    assert 'error' not in entry, entry.get('error')
    for key in FIGURES:
        assert key in entry
    assert entry['rate_hz'] > 0 and entry['syn_events_per_s'] > 0 and entry['wall_s'] > 0
    assert entry['threads'] >= 1


def test_quick_json_without_peers(capsys):
    report = _report(capsys, '--skip-peers', '--repeat', '2')
    assert report['setup']['repeat'] == 2
    assert len(report['snn_ros']['wall_s_rounds']) == 2
    assert report['snn_ros']['wall_s'] == min(report['snn_ros']['wall_s_rounds'])
    for key in SIMULATORS:
        assert key in report
    for key in ('snn_ros', 'snn_ros_mt', 'snn_ros_continuous'):
        _check_entry(report[key])
    assert report['nest_ps'] is None and report['brian2_standalone'] is None
    assert report['snn_ros']['rate_hz'] == report['snn_ros_mt']['rate_hz']
    # The same drive's trains on the grid and at continuous times: other spikes.
    assert report['snn_ros']['rate_hz'] != report['snn_ros_continuous']['rate_hz']
    assert 0 < report['bytes_per_synapse'] <= 16
    assert [row['n'] for row in report['scaling']] == [500, 1000]
    assert all(row['rate_hz'] > 0 for row in report['scaling'])
    assert report['controller']['snn_ros_us_per_call'] > 0
    assert report['setup']['network']['NE'] == 400


@pytest.mark.peer
@pytest.mark.slow
def test_quick_json_with_peers(capsys):
    pytest.importorskip('nest')
    report = _report(capsys, '--skip-scaling')
    for key in SIMULATORS:
        _check_entry(report[key])
    assert report['nest_ps']['threads'] == report['brian2_standalone']['threads'] == 1
    assert report['brian2_standalone']['build_s'] > 0
    for check in report['consistency'].values():
        assert 0 <= check['relative_difference'] < 1
    assert report['controller']['brian2_runtime_us_per_step'] > 0


def test_best_of_rounds_keeps_each_fastest_round():
    walls = {'a': iter([3.0, 1.0, 2.0]), 'b': iter([None, 5.0, 4.0]), 'c': iter([None] * 3)}

    def run(key):
        wall = next(walls[key])
        return {'error': 'broken'} if wall is None else {'wall_s': wall, 'id': key}
    runs = {key: (key, lambda key=key: run(key)) for key in walls}
    best = best_of_rounds(runs, 3, lambda *text: None)
    assert best['a'] == {'wall_s': 1.0, 'id': 'a', 'wall_s_rounds': [3.0, 1.0, 2.0]}
    assert best['b'] == {'wall_s': 4.0, 'id': 'b', 'wall_s_rounds': [5.0, 4.0]}
    assert best['c'] == {'error': 'broken'}
