"""
Neuron models of the event-driven engine: parameters, equations and validation.

Potentials are in mV relative to rest (``E_L = 0``), durations in seconds in the
parameters. Every model is integrated exactly between events; ``w`` is a synaptic
weight [mV] and ``t_f`` an arrival time.

``'lif'`` (leaky integrate-and-fire with delta synapses, ``LIFParams``)::

    du/dt = (-u + i_ext) / tau_m + sum_f w_f delta(t - t_f)
    spike when u >= theta, then u <- u_reset and u stays there for t_ref;
    arrivals during [t_spike, t_spike + t_ref) are ignored (as NEST iaf_psc_delta_ps);
    u >= u_min at all times (u is clamped after every jump and during decay).

Arrivals at the same instant are applied in (source id, synapse) order, u clamped
after each, and the threshold is tested once after all of them (as NEST's
``iaf_psc_delta_ps`` sums coincident inputs): an excitatory and an inhibitory
input that coincide cancel whatever their order. The test allows for rounding:
``u - i_ext >= (theta - i_ext)(1 - 1e-12)``, so that inputs summing to theta
exactly (16 x 0.5 mV against 8 mV) fire however the engine rounded their sum.

With ``i_ext <= theta`` the engine holds the state as ``h`` with
``u(t) = i_ext + h exp(-(t - t_b) / tau_m)`` after the refractory period, where
``t_b`` is one base time for the whole network (moved to the start of a window
when ``exp((t - t_b) / tau_m)`` would pass e): an arrival adds
``w exp((t_f - t_b) / tau_m)``, a factor computed once per spike for all its
synapses, and the threshold and floor are compared in the same frame. It is the
same solution as decaying each neuron from its own last event, up to rounding
(1e-16 relative); in Brunel's network the two give the same spike trains.

Between arrivals ``u(t) = i_ext + (u0 - i_ext) exp(-(t - t0) / tau_m)``. With
``i_ext <= theta`` the threshold can only be reached at an arrival; with
``i_ext > theta`` the crossing time is the closed form
``t0 + tau_m ln((i_ext - u0) / (i_ext - theta))``, so a constant drive gives the
period ``t_ref + tau_m ln((i_ext - u_reset) / (i_ext - theta))``.

``'lif_adaptive'`` (homeostatic threshold, ``AdaptiveLIFParams``): as ``'lif'``,
with a moving threshold whose resting value is ``theta_mV`` (written theta_bar)::

    dtheta/dt = -(theta - theta_bar) / tau_theta,   theta <- theta + theta_jump at a spike

(Diehl and Cook 2015, Front. Comput. Neurosci. 9:99, section 2.2 "adaptive
thresholds"). The threshold relaxes while the refractory period runs.

``'lif_exp'`` (alias ``'srm0'``; current-based LIF with exponential synaptic
current, ``ExpLIFParams``, ``tau_s != tau_m``)::

    du/dt = (-u + I + i_ext) / tau_m,   dI/dt = -I / tau_s,   I <- I + w at an arrival
    spike when u reaches theta, then u <- u_reset for t_ref while I keeps integrating.

Between arrivals, with ``K = tau_s / (tau_s - tau_m)`` and ``s = t - t0``::

    u(s) = i_ext + (u0 - i_ext - K I0) exp(-s / tau_m) + K I0 exp(-s / tau_s)

which is the SRM0 form of Gerstner and Kistler (2002, Spiking Neuron Models,
section 4.2) with the kernel ``eps(s) = K (exp(-s/tau_s) - exp(-s/tau_m))``. This
is NEST's ``iaf_psc_exp_ps`` with ``w_mV = w_pA * tau_m / C_m`` and ``E_L = 0``.

Threshold crossings between arrivals (``'lif_exp'``, ``'lif_adaptive'`` and
``'lif'`` with ``i_ext > theta``) are *predicted*: after every change of state the
engine computes the first time ``u - theta`` reaches 0 assuming no further input,
and fires then unless an arrival comes first. ``u - theta`` has the form
``c + a exp(-s/tau_1) + b exp(-s/tau_2)``, whose derivative has at most one zero
``s*`` (closed form), so it is monotone on ``[0, s*]`` and ``[s*, inf)``. A cheap
upper bound on ``u`` (``max(u0, i_ext + max(I0, 0))``) rules most cases out
with no exponential at all; otherwise the monotone piece that changes sign is
bracketed (doubling for the unbounded piece) and the root is found by Newton's
method safeguarded by bisection, to 1e-6 ns or better (much finer where the
crossing is not tangential). The prediction depends only on the neuron's state, not
on window boundaries, so splitting a run never changes a spike. Spike times are
rounded to the nearest ns at the interface; a neuron keeps its exact spike time
internally (reset and refractory period), so rounding never accumulates.
"""

import math
from typing import NamedTuple


class LIFParams(NamedTuple):
    """Parameters of ``'lif'`` (see the module docstring for the equations)."""

    tau_m_s: float = 0.02
    theta_mV: float = 20.0
    u_reset_mV: float = 10.0
    t_ref_s: float = 0.002
    u_min_mV: float = -math.inf
    u_init_mV: float = 0.0
    i_ext_mV: float = 0.0


class AdaptiveLIFParams(NamedTuple):
    """Parameters of ``'lif_adaptive'``; ``theta_mV`` is the resting threshold."""

    tau_m_s: float = 0.02
    theta_mV: float = 20.0
    u_reset_mV: float = 10.0
    t_ref_s: float = 0.002
    u_min_mV: float = -math.inf
    u_init_mV: float = 0.0
    i_ext_mV: float = 0.0
    tau_theta_s: float = 1.0
    theta_jump_mV: float = 0.5


class ExpLIFParams(NamedTuple):
    """Parameters of ``'lif_exp'`` / ``'srm0'``; ``u_min_mV`` must stay ``-inf``."""

    tau_m_s: float = 0.02
    tau_s_s: float = 0.005
    theta_mV: float = 20.0
    u_reset_mV: float = 10.0
    t_ref_s: float = 0.002
    u_min_mV: float = -math.inf
    u_init_mV: float = 0.0
    i_ext_mV: float = 0.0


#: Model name -> parameter class.
MODELS = {
    'lif': LIFParams,
    'lif_adaptive': AdaptiveLIFParams,
    'lif_exp': ExpLIFParams,
    'srm0': ExpLIFParams,
}


def _finite(name, value, model):
    if not math.isfinite(value):
        raise ValueError(f'{model}: {name}={value!r} must be a finite number')


def validate_params(model, params=None):
    """
    Check ``params`` for ``model`` and return them (the defaults when None).

    Raises ``ValueError`` naming the parameter and the allowed range.
    """
    if model not in MODELS:
        raise ValueError(f'model={model!r} is unknown; allowed: {sorted(MODELS)}')
    cls = MODELS[model]
    if params is None:
        params = cls()
    elif isinstance(params, dict):
        params = cls(**params)
    elif not isinstance(params, cls):
        raise ValueError(f'params for model {model!r} must be a {cls.__name__} '
                         f'(or a dict of its fields), not {type(params).__name__}')
    for name in ('tau_m_s', 'theta_mV', 'u_reset_mV', 't_ref_s', 'u_init_mV', 'i_ext_mV'):
        _finite(name, float(getattr(params, name)), model)
    if not params.tau_m_s > 0:
        raise ValueError(f'{model}: tau_m_s={params.tau_m_s} must be > 0 [s]')
    if not params.t_ref_s >= 0:
        raise ValueError(f'{model}: t_ref_s={params.t_ref_s} must be >= 0 [s]')
    if not params.u_reset_mV < params.theta_mV:
        raise ValueError(f'{model}: u_reset_mV={params.u_reset_mV} must be < theta_mV='
                         f'{params.theta_mV}')
    if not params.u_init_mV < params.theta_mV:
        raise ValueError(f'{model}: u_init_mV={params.u_init_mV} must be < theta_mV='
                         f'{params.theta_mV}')
    if math.isnan(params.u_min_mV) or params.u_min_mV == math.inf:
        raise ValueError(f'{model}: u_min_mV={params.u_min_mV} must be a number or -inf')
    if not (params.u_min_mV <= params.u_reset_mV and params.u_min_mV <= params.u_init_mV):
        raise ValueError(f'{model}: u_min_mV={params.u_min_mV} must be <= u_reset_mV and '
                         '<= u_init_mV')
    if cls is AdaptiveLIFParams:
        _finite('tau_theta_s', params.tau_theta_s, model)
        _finite('theta_jump_mV', params.theta_jump_mV, model)
        if not params.tau_theta_s > 0:
            raise ValueError(f'{model}: tau_theta_s={params.tau_theta_s} must be > 0 [s]')
        if not params.theta_jump_mV >= 0:
            raise ValueError(f'{model}: theta_jump_mV={params.theta_jump_mV} must be >= 0')
    if cls is ExpLIFParams:
        _finite('tau_s_s', params.tau_s_s, model)
        if not params.tau_s_s > 0:
            raise ValueError(f'{model}: tau_s_s={params.tau_s_s} must be > 0 [s]')
        if abs(params.tau_s_s - params.tau_m_s) <= 1e-9 * params.tau_m_s:
            raise ValueError(f'{model}: tau_s_s={params.tau_s_s} must differ from tau_m_s='
                             f'{params.tau_m_s} (the solution has tau_s/(tau_s - tau_m))')
        if params.u_min_mV != -math.inf:
            raise ValueError(f'{model}: u_min_mV={params.u_min_mV} is not supported for '
                             'exponential-current neurons; allowed: -inf')
    return params
