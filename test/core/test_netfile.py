"""Network description files: the Brunel file builds, and every bad field is named."""

import copy
from pathlib import Path

import numpy as np
import pytest

from snn_ros.core.netfile import load_network, load_spec, NetfileError

BRUNEL = Path(__file__).resolve().parents[2] / 'config' / 'brunel.yaml'

SMALL = {
    'seed': 3,
    'populations': [
        {'name': 'a', 'size': 6, 'model': 'lif', 'params': {'tau_m_s': 0.01}},
        {'name': 'b', 'size': 4, 'model': 'lif_exp', 'params': {'tau_s_s': 0.004}},
    ],
    'sources': [{'name': 'inp', 'size': 6}],
    'projections': [
        {'pre': 'inp', 'post': 'a', 'pattern': 'one_to_one', 'weight_mV': 5.0,
         'delay_s': 0.001},
        {'pre': 'a', 'post': 'b', 'pattern': 'fixed_indegree', 'args': {'indegree': 3},
         'weight_mV': 1.0, 'delay_s': 0.002},
        {'pre': 'b', 'post': 'a', 'pattern': 'all_to_all', 'weight_mV': -1.0,
         'delay_s': [0.001] * 24},
        {'pre': 'b', 'post': 'b', 'pattern': 'lateral_inhibition', 'weight_mV': -2.0,
         'delay_s': 0.001},
    ],
}


def _write(tmp_path, data, name='net.yaml'):
    import yaml
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_brunel_spec_has_the_benchmark_numbers():
    spec = load_spec(BRUNEL)
    sizes = {p['name']: p['size'] for p in spec['populations']}
    assert sizes == {'exc': 4000, 'inh': 1000}
    indegree = {(p['pre'], p['post']): p['args'].get('indegree') for p in spec['projections']}
    assert indegree[('exc', 'exc')] == indegree[('exc', 'inh')] == 400
    assert indegree[('inh', 'exc')] == indegree[('inh', 'inh')] == 100
    weights = {p['name']: p['weight_mV'] for p in spec['projections']}
    assert weights['exc_exc'] == 0.1 and weights['inh_exc'] == pytest.approx(-5 * 0.1)
    assert {p['delay_s'] for p in spec['projections']} == {0.0015}
    params = spec['populations'][0]['params']
    assert params == spec['populations'][1]['params']
    assert (params['tau_m_s'], params['theta_mV'], params['u_reset_mV'], params['t_ref_s']) \
        == (0.02, 20.0, 10.0, 0.002)
    # eta = 2: CE * eta * theta / (J * CE * tau) per neuron.
    drive = 400 * 2.0 * 20.0 / (0.1 * 400 * 0.02)
    assert {s['rate_hz'] for s in spec['sources']} == {drive}
    assert {s['name']: s['size'] for s in spec['sources']} == {'ext_exc': 4000, 'ext_inh': 1000}


def test_small_spec_fills_defaults_and_keeps_plasticity(tmp_path):
    data = copy.deepcopy(SMALL)
    rule = {'rule': 'rstdp', 'tau_plus_s': 0.03, 'tau_c_s': 0.5,
            'homeostasis': {'rate_max_hz': 50.0}}
    data['projections'][1]['plasticity'] = rule
    path = _write(tmp_path, data)
    spec = load_spec(path)
    assert spec['projections'][1]['plasticity'] == rule
    built = load_network(path)
    params = built.projections['a_to_b_1'].plasticity
    assert (params.tau_c_s, params.stdp.tau_plus_s) == (0.5, 0.03)
    assert params.stdp.homeostasis.rate_max_hz == 50.0
    assert built.projections['inp_to_a_0'].plasticity is None
    assert spec['sources'][0]['kind'] == 'array'
    assert spec['populations'][0]['record'] is True
    assert [p['name'] for p in spec['projections']] == [
        'inp_to_a_0', 'a_to_b_1', 'b_to_a_2', 'b_to_b_3']


def test_bad_plasticity_fields_are_named(tmp_path):
    data = copy.deepcopy(SMALL)
    data['projections'][1]['plasticity'] = {'rule': 'stdp', 'tau_c_s': 1.0}
    path = _write(tmp_path, data)
    with pytest.raises(NetfileError, match=rf'^{path}: projections\[1\]\.plasticity\.tau_c_s'):
        load_spec(path)
    data['projections'][1]['plasticity'] = {'rule': 'hebb'}
    path = _write(tmp_path, data)
    with pytest.raises(NetfileError, match=rf'^{path}: projections\[1\]\.plasticity\.rule'):
        load_spec(path)


def test_extra_top_level_keys_pass_through_only_when_asked(tmp_path):
    data = copy.deepcopy(SMALL)
    data['readout'] = {'left': [0, 1]}
    path = _write(tmp_path, data)
    with pytest.raises(NetfileError, match='readout: unknown key'):
        load_spec(path)
    assert load_spec(path, extra_keys=('readout',))['readout'] == {'left': [0, 1]}


def _set(data, path, value):
    """Set ``value`` at a dotted/indexed path such as ``projections[2].delay_s``."""
    node = data
    parts = path.replace('[', '.').replace(']', '').split('.')
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is _DELETE:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value


_DELETE = object()

# (field to change, new value, field path the error must name, words of the allowed values)
BAD = [
    ('colour', 'red', 'colour', 'populations'),
    ('seed', -1, 'seed', '0 <= value'),
    ('run', {'duration_s': 0}, 'run.duration_s', '> 0'),
    ('populations', [], 'populations', 'at least one'),
    ('populations[0].size', 0, 'populations[0].size', '1 <= value'),
    ('populations[0].size', 2.5, 'populations[0].size', 'int'),
    ('populations[1].model', 'izhikevich', 'populations[1].model', "'lif'"),
    ('populations[0].name', 'b', 'populations[1].name', 'unique'),
    ('populations[0].name', '1st', 'populations[0].name', 'identifier'),
    ('populations[0].colour', 1, 'populations[0].colour', 'model'),
    ('populations[0].model', _DELETE, 'populations[0].model', 'must be given'),
    ('populations[0].params.tau_m_s', 0.0, 'populations[0].params.tau_m_s', '> 0'),
    ('populations[0].params.tau_m_s', 'fast', 'populations[0].params.tau_m_s', 'seconds'),
    ('populations[0].params.t_ref_s', -0.001, 'populations[0].params.t_ref_s', '>= 0'),
    ('populations[0].params.theta_mV', float('nan'), 'populations[0].params.theta_mV',
     'finite'),
    ('populations[0].params.u_reset_mV', 25.0, 'populations[0].params',
     'the ranges of LIFParams'),
    ('populations[1].params.tau_s_s', 0.02, 'populations[1].params', 'ExpLIFParams'),
    ('populations[0].record', 'yes', 'populations[0].record', 'true or false'),
    ('sources[0].kind', 'gaussian', 'sources[0].kind', "'poisson'"),
    ('sources[0].rate_hz', 10.0, 'sources[0].rate_hz', "kind: 'poisson'"),
    ('sources[0]', {'name': 'inp', 'size': 6, 'kind': 'poisson'}, 'sources[0].rate_hz', '> 0'),
    ('sources[0]', {'name': 'inp', 'size': 6, 'kind': 'poisson', 'rate_hz': -5},
     'sources[0].rate_hz', '> 0'),
    ('sources[0].grid_s', 0.001, 'sources[0].grid_s', "kind: 'poisson'"),
    ('sources[0]', {'name': 'inp', 'size': 6, 'kind': 'poisson', 'rate_hz': 5, 'grid_s': 0},
     'sources[0].grid_s', '>= 1e-9'),
    ('sources[0]', {'name': 'inp', 'size': 6, 'kind': 'poisson', 'rate_hz': 1e6,
                    'grid_s': 0.001}, 'sources[0].grid_s', 'at most 700'),
    ('projections[0].pre', 'nowhere', 'projections[0].pre', "'inp'"),
    ('projections[0].post', 'inp', 'projections[0].post', "'a', 'b'"),
    ('projections[0].pattern', 'small_world', 'projections[0].pattern', "'fixed_indegree'"),
    ('projections[0].post', 'b', 'projections[0].pattern', 'equal size'),
    ('projections[1].args', {'indegree': 7, 'allow_multapses': False},
     'projections[1].args.indegree', '<= 6'),
    ('projections[1].args.indegree', 0, 'projections[1].args.indegree', '1 <= value'),
    ('projections[1].args', {}, 'projections[1].args.indegree', 'must be given'),
    ('projections[1].args.allow_autapses', 'no', 'projections[1].args.allow_autapses',
     'true or false'),
    ('projections[1].args.p', 0.5, 'projections[1].args.p', 'indegree'),
    ('projections[1].args', {'p': 1.5}, 'projections[1].pattern', 'fixed_indegree'),
    ('projections[1].weight_mV', 'heavy', 'projections[1].weight_mV', 'mV'),
    ('projections[1].weight_mV', [1.0, 2.0], 'projections[1].weight_mV', 'list of 12'),
    ('projections[2].delay_s', 0.0, 'projections[2].delay_s', '> 0'),
    ('projections[2].delay_s', [0.001] * 23 + [-1.0], 'projections[2].delay_s[23]', '> 0'),
    ('projections[2].delay_s', [0.001] * 3, 'projections[2].delay_s', 'list of 24'),
    ('projections[2].plasticity', 'stdp', 'projections[2].plasticity', 'mapping'),
    ('projections[2].delay', 0.001, 'projections[2].delay', 'delay_s'),
    ('projections[3].weight_mV', 2.0, 'projections[3].weight_mV', '< 0'),
    ('projections[3].post', 'a', 'projections[3].post', "post equal to pre ('b')"),
    ('projections[0].name', 'b_to_a_2', 'projections[2].name', 'unique'),
]


@pytest.mark.parametrize('field, value, named, allowed', BAD,
                         ids=[f'{b[0]}={b[1]!r}'[:60] for b in BAD])
def test_each_bad_field_is_named_with_what_is_allowed(tmp_path, field, value, named, allowed):
    data = copy.deepcopy(SMALL)
    if field == 'projections[1].args' and isinstance(value, dict) and 'p' in value:
        data['projections'][1]['pattern'] = 'fixed_probability'
        named, allowed = 'projections[1].args.p', '<= 1'
    _set(data, field, value)
    path = _write(tmp_path, data)
    with pytest.raises(NetfileError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f'{path}: {named}:'), message
    assert 'allowed:' in message and allowed in message.split('allowed:', 1)[1], message


def test_explicit_pattern_checks_indices_and_lengths(tmp_path):
    data = copy.deepcopy(SMALL)
    data['projections'][1] = {'pre': 'a', 'post': 'b', 'pattern': 'explicit',
                              'args': {'pre_idx': [0, 5], 'post_idx': [3, 4]},
                              'weight_mV': [1.0, 2.0], 'delay_s': 0.001}
    with pytest.raises(NetfileError, match=r'projections\[1\]\.args\.post_idx\[1\]: got 4; '
                                           r'allowed: int, 0 <= value <= 3'):
        load_spec(_write(tmp_path, data))
    data['projections'][1]['args']['post_idx'] = [3]
    with pytest.raises(NetfileError, match=r'post_idx: 1 entries for 2 in pre_idx'):
        load_spec(_write(tmp_path, data))


def test_fixed_probability_refuses_per_synapse_lists(tmp_path):
    data = copy.deepcopy(SMALL)
    data['projections'][1] = {'pre': 'a', 'post': 'b', 'pattern': 'fixed_probability',
                              'args': {'p': 0.5}, 'weight_mV': [1.0], 'delay_s': 0.001}
    with pytest.raises(NetfileError, match=r'projections\[1\]\.weight_mV: a list, but .*random'):
        load_spec(_write(tmp_path, data))


def test_unreadable_and_malformed_files_name_the_file(tmp_path):
    missing = tmp_path / 'missing.yaml'
    with pytest.raises(NetfileError, match=f'{missing}: cannot read'):
        load_spec(missing)
    broken = tmp_path / 'broken.yaml'
    broken.write_text('populations: [ {name: a\n')
    with pytest.raises(NetfileError, match=f'{broken}: not valid YAML'):
        load_spec(broken)
    empty = tmp_path / 'empty.yaml'
    empty.write_text('')
    with pytest.raises(NetfileError, match=f'{empty}: : expected a mapping'):
        load_spec(empty)


def test_unknown_model_parameter_is_named(tmp_path):
    data = copy.deepcopy(SMALL)
    data['populations'][1]['params']['tau_x_s'] = 0.01
    with pytest.raises(NetfileError, match=r'populations\[1\]\.params\.tau_x_s: unknown key; '
                                           r'allowed: .*tau_s_s'):
        load_spec(_write(tmp_path, data))


def test_brunel_file_builds_the_right_sizes_and_indegrees():
    built = load_network(BRUNEL)
    assert {k: p.size for k, p in built.populations.items()} == {'exc': 4000, 'inh': 1000}
    assert {k: s.size for k, s in built.sources.items()} == {'ext_exc': 4000, 'ext_inh': 1000}
    expected = {'drive_exc': 4000, 'drive_inh': 1000, 'exc_exc': 4000 * 400,
                'exc_inh': 1000 * 400, 'inh_exc': 4000 * 100, 'inh_inh': 1000 * 100}
    assert {k: p.n_synapses for k, p in built.projections.items()} == expected
    for name, proj in built.projections.items():
        counts = np.bincount(proj.post_idx, minlength=proj.post.size)
        indegree = expected[name] // proj.post.size
        assert np.all(counts == indegree), name
    assert [rate for _, rate in built.drives] == [20000.0, 20000.0]
    assert {s.model for s in built.sources.values()} == {'poisson'}
    inh = built.projections['inh_exc']
    assert np.all(inh.weight == np.float32(-0.5)) and np.all(inh.delay_ns == 1_500_000)
    assert inh.pre_idx.max() < 1000


def test_small_file_builds_with_per_synapse_delays(tmp_path):
    built = load_network(_write(tmp_path, SMALL))
    assert built.projections['b_to_a_2'].n_synapses == 24
    assert built.projections['b_to_b_3'].n_synapses == 4 * 3
    assert built.projections['a_to_b_1'].n_synapses == 4 * 3


def test_engine_rejections_at_build_name_the_projection(tmp_path):
    data = copy.deepcopy(SMALL)
    data['projections'][1]['delay_s'] = 5.0  # beyond the engine's longest delay
    path = _write(tmp_path, data)
    load_spec(path)  # the file itself is well-formed
    with pytest.raises(NetfileError, match=rf'^{path}: projections\[1\]: delay_s must lie in'):
        load_network(path)
