"""
Network description files: a YAML file in, a validated spec and a ``Network`` out.

A file has these top-level keys (``populations`` is required)::

    name: brunel2000               # optional text
    description: ...               # optional text
    seed: 0                        # optional int >= 0, seeds connectivity and drives
    run: {duration_s: 1.0}         # optional run settings
    populations:                   # neurons: a list of
      - {name: exc, size: 4000, model: lif, params: {tau_m_s: 0.02, ...}, record: true}
    sources:                       # optional spike sources: a list of
      - {name: ext, size: 4000, kind: poisson, rate_hz: 20000.0}   # or kind: array
        # a poisson source's optional grid_s (e.g. 0.0001) puts its spikes on that grid,
        # a Poisson count per step, as NEST's poisson_generator; without, continuous times
    projections:                   # optional synapses: a list of
      - {name: ee, pre: exc, post: exc, pattern: fixed_indegree, args: {indegree: 400},
         weight_mV: 0.1, delay_s: 0.0015, plasticity: {...}}

``model`` is one of ``MODEL_PARAMS``; ``params`` may set any field of that model's
parameter NamedTuple (missing ones keep the model defaults). ``pattern`` is one of
``PATTERN_ARGS`` with the ``args`` listed there; ``lateral_inhibition`` needs
``pre == post`` and a negative weight. ``weight_mV`` and ``delay_s`` are numbers,
or lists with one entry per synapse where the synapse count follows from the
pattern. A ``plasticity`` block is kept untouched in the spec for the plasticity
layer; so are the top-level keys a caller lists in ``extra_keys`` (e.g. the
controller's input map and readout).

Every error is a ``NetfileError`` (a ``ValueError``) whose message names the file,
the field path (e.g. ``projections[2].delay_s``) and what is allowed. Unknown keys
are errors. YAML anchors and aliases may be used to share parameter blocks.
"""

import math
import re
from typing import NamedTuple

from snn_ros.core import neurons
from snn_ros.core.network import MAX_SPIKES_PER_STEP, Network

#: snn_ros model name -> its parameter NamedTuple (the engine's registry).
MODEL_PARAMS = neurons.MODELS

#: Connectivity pattern -> {argument: (required, description)}.
PATTERN_ARGS = {
    'all_to_all': {'allow_autapses': (False, 'true or false')},
    'one_to_one': {},
    'fixed_indegree': {'indegree': (True, 'int >= 1 (<= size of pre without multapses)'),
                       'allow_autapses': (False, 'true or false'),
                       'allow_multapses': (False, 'true or false')},
    'fixed_probability': {'p': (True, 'number, 0 < p <= 1'),
                          'allow_autapses': (False, 'true or false')},
    'explicit': {'pre_idx': (True, 'list of int indices into pre'),
                 'post_idx': (True, 'list of int indices into post, same length')},
    'lateral_inhibition': {},
}

SOURCE_KINDS = ('array', 'poisson')

TOP_KEYS = {'name', 'description', 'seed', 'run', 'populations', 'sources', 'projections'}
POPULATION_KEYS = {'name', 'size', 'model', 'params', 'record'}
SOURCE_KEYS = {'name', 'size', 'kind', 'rate_hz', 'grid_s'}
PROJECTION_KEYS = {'name', 'pre', 'post', 'pattern', 'args', 'weight_mV', 'delay_s',
                   'plasticity'}
RUN_KEYS = {'duration_s'}

_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


class NetfileError(ValueError):
    """A network description that cannot be used; the message says where and why."""


class BuiltNetwork(NamedTuple):
    """
    What ``build_network`` returns.

    ``network`` is the ``Network``; ``populations``, ``sources`` and ``projections``
    map names to the objects the network returned; ``drives`` lists the Poisson
    sources as ``(source object, rate_hz)`` (the engine generates their trains);
    ``spec`` is
    the validated description (plasticity blocks and extra keys included).
    """

    network: object
    populations: dict
    sources: dict
    projections: dict
    drives: list
    spec: dict

    @property
    def net(self):
        """Return ``network`` (the name the controller uses)."""
        return self.network


class _Checker:
    """Validation helpers that know the file name, for messages."""

    def __init__(self, source):
        self.source = source

    def fail(self, path, problem, allowed):
        raise NetfileError(f'{self.source}: {path}: {problem}; allowed: {allowed}')

    def mapping(self, value, path, keys, required=()):
        if not isinstance(value, dict):
            self.fail(path, f'expected a mapping, got {type(value).__name__}',
                      'a mapping with keys ' + ', '.join(sorted(keys)))
        for key in value:
            if key not in keys:
                self.fail(f'{path}.{key}' if path else str(key), 'unknown key',
                          ', '.join(sorted(keys)))
        for key in required:
            if key not in value:
                self.fail(f'{path}.{key}' if path else key, 'missing', 'a value must be given')
        return value

    def items(self, value, path, allow_empty=False):
        if not isinstance(value, list):
            self.fail(path, f'expected a list, got {type(value).__name__}', 'a list of mappings')
        if not value and not allow_empty:
            self.fail(path, 'empty list', 'at least one entry')
        return value

    def integer(self, value, path, lo, hi=None):
        bad = isinstance(value, bool) or not isinstance(value, int)
        if bad or value < lo or (hi is not None and value > hi):
            allowed = f'int, {lo} <= value' + (f' <= {hi}' if hi is not None else '')
            self.fail(path, f'got {value!r}', allowed)
        return value

    def number(self, value, path, lo=-math.inf, hi=math.inf, lo_open=False, allow_inf=False,
               allowed=None):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
            ok = not math.isnan(value) and (allow_inf or math.isfinite(value))
            ok = ok and (value > lo if lo_open else value >= lo) and value <= hi
        if not ok:
            if allowed is None:
                op = '<' if lo_open else '<='
                allowed = f'number, {lo:g} {op} value' + (f' <= {hi:g}' if hi < math.inf else '')
            self.fail(path, f'got {value!r}', allowed)
        return value

    def name(self, value, path, taken):
        if not isinstance(value, str) or not _NAME.match(value):
            self.fail(path, f'got {value!r}', 'an identifier (letters, digits, _)')
        if value in taken:
            self.fail(path, f'name {value!r} is used twice',
                      'names unique across populations and sources')
        taken.add(value)
        return value

    def choice(self, value, path, choices):
        if value not in choices:
            self.fail(path, f'got {value!r}', ', '.join(map(repr, choices)))
        return value


def _check_params(chk, params, path, model):
    params = {} if params is None else params
    chk.mapping(params, path, set(MODEL_PARAMS[model]._fields))
    out = {}
    for key, value in params.items():
        where = f'{path}.{key}'
        if key.endswith('_s'):
            positive = key.startswith('tau')
            out[key] = chk.number(value, where, lo=0.0, lo_open=positive,
                                  allowed=f'seconds, {"> 0" if positive else ">= 0"}, finite')
        elif key.endswith('_min_mV'):
            out[key] = chk.number(value, where, allow_inf=True,
                                  allowed='mV, a number or -.inf (no bound)')
        else:
            out[key] = chk.number(value, where, allowed='a finite number')
    try:
        neurons.validate_params(model, out)
    except ValueError as error:
        chk.fail(path, str(error), f'the ranges of {MODEL_PARAMS[model].__name__}')
    return out


def _check_population(chk, pop, path, taken):
    chk.mapping(pop, path, POPULATION_KEYS, required=('name', 'size', 'model'))
    out = {'name': chk.name(pop['name'], f'{path}.name', taken),
           'size': chk.integer(pop['size'], f'{path}.size', 1),
           'model': chk.choice(pop['model'], f'{path}.model', tuple(MODEL_PARAMS))}
    out['params'] = _check_params(chk, pop.get('params'), f'{path}.params', out['model'])
    record = pop.get('record', True)
    if not isinstance(record, bool):
        chk.fail(f'{path}.record', f'got {record!r}', 'true or false')
    out['record'] = record
    return out


def _check_source(chk, src, path, taken):
    chk.mapping(src, path, SOURCE_KEYS, required=('name', 'size'))
    out = {'name': chk.name(src['name'], f'{path}.name', taken),
           'size': chk.integer(src['size'], f'{path}.size', 1),
           'kind': chk.choice(src.get('kind', 'array'), f'{path}.kind', SOURCE_KINDS)}
    if out['kind'] == 'poisson':
        if 'rate_hz' not in src:
            chk.fail(f'{path}.rate_hz', 'missing', 'a rate > 0 [Hz] for a poisson source')
        out['rate_hz'] = chk.number(src['rate_hz'], f'{path}.rate_hz', lo=0.0, lo_open=True,
                                    allowed='Hz, a finite number > 0')
        if 'grid_s' in src:
            out['grid_s'] = chk.number(src['grid_s'], f'{path}.grid_s', lo=1e-9,
                                       allowed='s, a finite step >= 1e-9')
            if out['rate_hz'] * out['grid_s'] > MAX_SPIKES_PER_STEP:
                chk.fail(f'{path}.grid_s', f"{out['rate_hz'] * out['grid_s']:g} spikes per "
                         'step on average', f'at most {MAX_SPIKES_PER_STEP}: a finer grid')
    else:
        for key in ('rate_hz', 'grid_s'):
            if key in src:
                chk.fail(f'{path}.{key}', 'only a poisson source has it',
                         "remove it, or set kind: 'poisson'")
    return out


def _n_synapses(pattern, args, n_pre, n_post):
    """Return the synapse count a pattern implies, or None when it is random."""
    if pattern == 'all_to_all':
        return n_pre * n_post
    if pattern == 'one_to_one':
        return n_pre
    if pattern == 'fixed_indegree':
        return n_post * args['indegree']
    if pattern == 'explicit':
        return len(args['pre_idx'])
    if pattern == 'lateral_inhibition':
        return n_pre * (n_pre - 1)
    return None


def _check_args(chk, args, path, pattern, n_pre, n_post):
    spec = PATTERN_ARGS[pattern]
    args = {} if args is None else args
    chk.mapping(args, path, set(spec), required=[k for k, (req, _) in spec.items() if req])
    out = dict(args)
    for key in ('allow_autapses', 'allow_multapses'):
        if key in args and not isinstance(args[key], bool):
            chk.fail(f'{path}.{key}', f'got {args[key]!r}', 'true or false')
    if pattern == 'fixed_indegree':
        hi = None if args.get('allow_multapses', True) else n_pre
        out['indegree'] = chk.integer(args['indegree'], f'{path}.indegree', 1, hi)
    elif pattern == 'fixed_probability':
        out['p'] = chk.number(args['p'], f'{path}.p', lo=0.0, hi=1.0, lo_open=True)
    elif pattern == 'explicit':
        for key, size in (('pre_idx', n_pre), ('post_idx', n_post)):
            chk.items(args[key], f'{path}.{key}', allow_empty=True)
            out[key] = [chk.integer(v, f'{path}.{key}[{i}]', 0, size - 1)
                        for i, v in enumerate(args[key])]
        if len(out['pre_idx']) != len(out['post_idx']):
            chk.fail(f'{path}.post_idx', f'{len(out["post_idx"])} entries for '
                     f'{len(out["pre_idx"])} in pre_idx', 'the same length as pre_idx')
    return out


def _check_per_synapse(chk, value, path, n_syn, check_one):
    if isinstance(value, list):
        if n_syn is None:
            chk.fail(path, 'a list, but this pattern makes a random number of synapses',
                     'one number')
        if len(value) != n_syn:
            chk.fail(path, f'{len(value)} entries', f'one number, or a list of {n_syn} '
                     '(one per synapse in creation order)')
        return [check_one(v, f'{path}[{i}]') for i, v in enumerate(value)]
    return check_one(value, path)


def _check_projection(chk, proj, path, sizes, pop_names, index):
    keys = PROJECTION_KEYS
    chk.mapping(proj, path, keys, required=('pre', 'post', 'pattern', 'weight_mV', 'delay_s'))
    pre = chk.choice(proj['pre'], f'{path}.pre', tuple(sizes))
    post = chk.choice(proj['post'], f'{path}.post', tuple(pop_names))
    pattern = chk.choice(proj['pattern'], f'{path}.pattern', tuple(PATTERN_ARGS))
    name = proj.get('name', f'{pre}_to_{post}_{index}')
    if not isinstance(name, str) or not _NAME.match(name):
        chk.fail(f'{path}.name', f'got {name!r}', 'an identifier (letters, digits, _)')
    n_pre, n_post = sizes[pre], sizes[post]
    if pattern == 'one_to_one' and n_pre != n_post:
        chk.fail(f'{path}.pattern', f'one_to_one between sizes {n_pre} and {n_post}',
                 'pre and post of equal size')
    if pattern == 'lateral_inhibition' and pre != post:
        chk.fail(f'{path}.post', f'lateral_inhibition from {pre!r} to {post!r}',
                 f'post equal to pre ({pre!r})')
    args = _check_args(chk, proj.get('args'), f'{path}.args', pattern, n_pre, n_post)
    n_syn = _n_synapses(pattern, args, n_pre, n_post)
    if pattern == 'lateral_inhibition':
        def weight(v, where):
            return chk.number(v, where, hi=0.0, allowed='mV, a number < 0 (inhibition)')
    else:
        def weight(v, where):
            return chk.number(v, where, allowed='mV, a finite number')

    def delay(v, where):
        return chk.number(v, where, lo=0.0, lo_open=True, allowed='seconds, a number > 0')

    out = {'name': name, 'pre': pre, 'post': post, 'pattern': pattern, 'args': args,
           'weight_mV': _check_per_synapse(chk, proj['weight_mV'], f'{path}.weight_mV', n_syn,
                                           weight),
           'delay_s': _check_per_synapse(chk, proj['delay_s'], f'{path}.delay_s', n_syn, delay)}
    if pattern == 'lateral_inhibition' and out['weight_mV'] == 0.0:
        chk.fail(f'{path}.weight_mV', 'got 0.0', 'mV, a number < 0 (inhibition)')
    if 'plasticity' in proj:
        plasticity = proj['plasticity']
        if plasticity is not None and not isinstance(plasticity, dict):
            chk.fail(f'{path}.plasticity', f'expected a mapping, got {type(plasticity).__name__}',
                     'a mapping (rule and parameters) or null')
        if plasticity is not None:
            _rule_params(plasticity, f'{chk.source}: {path}.plasticity')
            if isinstance(out['delay_s'], list) and len(set(out['delay_s'])) > 1:
                chk.fail(f'{path}.delay_s', 'per-synapse delays on a plastic projection',
                         'one delay (a number) for all synapses of a plastic projection')
        out['plasticity'] = plasticity
    return out


def _rule_params(block, where):
    """Return the rule parameters of a ``plasticity`` block; errors name ``where``."""
    from snn_ros.core import plasticity
    try:
        return plasticity.params_from_dict(block, where=where)
    except ValueError as error:
        raise NetfileError(str(error)) from None


def validate_spec(raw, source='<spec>', extra_keys=()):
    """
    Validate a parsed description and return a normalised copy.

    ``source`` names the file in messages. Numbers come back as floats, defaults
    are filled in (``record: true``, ``kind: array``, projection names), and the
    ``plasticity`` blocks and ``extra_keys`` sections are passed through untouched.
    """
    chk = _Checker(source)
    chk.mapping(raw, '', TOP_KEYS | set(extra_keys), required=('populations',))
    spec = {key: raw[key] for key in extra_keys if key in raw}
    for key in ('name', 'description'):
        if key in raw:
            if not isinstance(raw[key], str):
                chk.fail(key, f'got {raw[key]!r}', 'text')
            spec[key] = raw[key]
    spec['seed'] = chk.integer(raw.get('seed', 0), 'seed', 0)
    run = chk.mapping(raw.get('run', {}) or {}, 'run', RUN_KEYS)
    spec['run'] = {key: chk.number(value, f'run.{key}', lo=0.0, lo_open=True,
                                   allowed='seconds, a number > 0')
                   for key, value in run.items()}
    taken = set()
    spec['populations'] = [_check_population(chk, pop, f'populations[{i}]', taken)
                           for i, pop in enumerate(chk.items(raw['populations'],
                                                             'populations'))]
    spec['sources'] = [_check_source(chk, src, f'sources[{i}]', taken)
                       for i, src in enumerate(chk.items(raw.get('sources') or [], 'sources',
                                                         allow_empty=True))]
    sizes = {item['name']: item['size'] for item in spec['populations'] + spec['sources']}
    pop_names = [pop['name'] for pop in spec['populations']]
    spec['projections'] = []
    proj_names = set()
    for i, proj in enumerate(chk.items(raw.get('projections') or [], 'projections',
                                       allow_empty=True)):
        out = _check_projection(chk, proj, f'projections[{i}]', sizes, pop_names, i)
        if out['name'] in proj_names:
            chk.fail(f'projections[{i}].name', f'name {out["name"]!r} is used twice',
                     'unique projection names')
        proj_names.add(out['name'])
        spec['projections'].append(out)
    return spec


def load_spec(path, extra_keys=()):
    """Read and validate the YAML file at ``path``; return the normalised spec."""
    import yaml
    path = str(path)
    try:
        with open(path, encoding='utf-8') as stream:
            raw = yaml.safe_load(stream)
    except OSError as error:
        raise NetfileError(f'{path}: cannot read the file ({error.strerror}); '
                           'allowed: a readable YAML file') from error
    except yaml.YAMLError as error:
        raise NetfileError(f'{path}: not valid YAML: {error}; allowed: YAML 1.1 '
                           '(yaml.safe_load)') from error
    return validate_spec(raw, source=path, extra_keys=extra_keys)


def _per_synapse(value):
    import numpy as np
    return np.asarray(value, dtype=np.float64) if isinstance(value, list) else value


def build_network(spec, rng=None, source='<spec>'):
    """
    Build a ``Network`` from a validated spec (see ``validate_spec``).

    ``rng`` (a ``numpy.random.Generator``) draws random connectivity; by default
    one is seeded from ``spec['seed']``. Parameter values the engine rejects are
    reported as ``NetfileError`` naming the field.
    """
    import numpy as np

    rng = np.random.default_rng(spec['seed']) if rng is None else rng
    net = Network()
    pops, srcs, projs, drives = {}, {}, {}, []
    for i, pop in enumerate(spec['populations']):
        path = f'populations[{i}]'
        try:
            params = MODEL_PARAMS[pop['model']](**pop['params'])
            pops[pop['name']] = net.add_population(pop['name'], pop['size'],
                                                   model=pop['model'], params=params)
        except (TypeError, ValueError) as error:
            raise NetfileError(f'{source}: {path}.params: {error}') from error
    for src in spec['sources']:
        srcs[src['name']] = net.add_source(src['name'], src['size'], model=src['kind'],
                                           rate_hz=src.get('rate_hz'),
                                           grid_s=src.get('grid_s'))
        if src['kind'] == 'poisson':
            drives.append((srcs[src['name']], src['rate_hz']))
    nodes = {**pops, **srcs}
    for i, proj in enumerate(spec['projections']):
        path = f'projections[{i}]'
        pre, post = nodes[proj['pre']], nodes[proj['post']]
        weight, delay = _per_synapse(proj['weight_mV']), _per_synapse(proj['delay_s'])
        rule = None
        if proj.get('plasticity') is not None:
            rule = _rule_params(proj['plasticity'], f'{source}: {path}.plasticity')
        try:
            if proj['pattern'] == 'lateral_inhibition':
                projs[proj['name']] = net.add_lateral_inhibition(pre, weight, delay,
                                                                 name=proj['name'],
                                                                 plasticity=rule)
                continue
            args = dict(proj['args'])
            for key in ('pre_idx', 'post_idx'):
                if key in args:
                    args[key] = np.asarray(args[key], dtype=np.int64)
            projs[proj['name']] = net.connect(pre, post, proj['pattern'], weight, delay,
                                              rng=rng, name=proj['name'], plasticity=rule,
                                              **args)
        except (TypeError, ValueError) as error:
            raise NetfileError(f'{source}: {path}: {error}') from error
    return BuiltNetwork(net, pops, srcs, projs, drives, spec)


def load_network(path, rng=None, extra_keys=()):
    """Load, validate and build the network described in the YAML file at ``path``."""
    spec = load_spec(path, extra_keys=extra_keys)
    return build_network(spec, rng=rng, source=str(path))
