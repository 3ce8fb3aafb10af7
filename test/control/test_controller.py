"""The Controller: events in, network run in continuous time, input refractory period."""

import copy

import numpy as np
import pytest

from snn_ros.control.controller import Controller
from snn_ros.core import netfile
from snn_ros.core.types import EVENT_DTYPE
from snn_ros.ros.controller_node import resolve_config

W = H = 128


def _spec(**input_map):
    spec = netfile.load_spec(resolve_config('lane_keeping.yaml'),
                             extra_keys=('input_map', 'readout', 'reward'))
    spec = copy.deepcopy(spec)
    spec['input_map'].update(input_map)
    return spec


def _events(n, seed=0, span_ns=200_000_000):
    """Events on the whole sensor, time-sorted, with ties at whole microseconds."""
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, EVENT_DTYPE)
    ev['x'] = rng.integers(0, W, n)
    ev['y'] = rng.integers(0, H, n)
    ev['p'] = rng.integers(0, 2, n)
    ev['t'] = 1_000_000 + np.sort(rng.integers(0, span_ns // 1000, n)) * 1000
    return ev


def test_feeding_in_packets_equals_feeding_at_once():
    """How the stream is cut into packets changes nothing: spikes, traces, weights."""
    events = _events(20000)
    whole, cut = Controller(_spec()), Controller(_spec())
    whole.feed(events, W, H)
    for chunk in np.array_split(events, 37):
        cut.feed(chunk, W, H)
    assert whole.t_ns == cut.t_ns
    np.testing.assert_allclose(whole.rates_hz(), cut.rates_hz(), rtol=1e-12)  # float decays
    for key, value in whole.sim.state_arrays().items():
        np.testing.assert_array_equal(value, cut.sim.state_arrays()[key], err_msg=key)
    assert whole.stats()['input_spikes'] == cut.stats()['input_spikes'] > 0


def test_spike_times_stay_exact_on_the_ros_clock():
    """Events stamped in ROS time (1.8e18 ns) give the network what stamps near 0 give."""
    ros_epoch = 1_795_908_911_234_386_901  # odd: a float64 holds only multiples of 256 here
    events = _events(20000, seed=2)
    near_zero, ros = Controller(_spec()), Controller(_spec())
    shifted = events.copy()
    shifted['t'] += ros_epoch
    for chunk, chunk_ros in zip(np.array_split(events, 7), np.array_split(shifted, 7)):
        near_zero.feed(chunk, W, H)
        ros.feed(chunk_ros, W, H)
    near_zero.reward(1.0, int(events['t'][-1]) + 5_000_000)
    ros.reward(1.0, int(shifted['t'][-1]) + 5_000_000)
    assert ros.t_ns - near_zero.t_ns == ros_epoch
    assert near_zero.stats()['input_spikes'] == ros.stats()['input_spikes'] > 0
    np.testing.assert_array_equal(near_zero.rates_hz(), ros.rates_hz())
    assert np.any(near_zero.rates_hz() > 0)
    np.testing.assert_array_equal(
        near_zero.raster(int(events['t'][0]), int(events['t'][-1])),
        ros.raster(int(shifted['t'][0]), int(shifted['t'][-1])))
    for key in ('weight', 'plastic_w', 'plastic_c'):
        np.testing.assert_array_equal(near_zero.sim.state_arrays()[key],
                                      ros.sim.state_arrays()[key], err_msg=key)


def test_a_clock_sent_back_goes_on_from_the_network_time():
    """After ``rebase``, a replay of the stream is taken whole, as input after the first."""
    events = _events(5000, seed=3)
    ctl = Controller(_spec())
    ctl.feed(events, W, H)
    first, t_net = ctl.stats()['input_spikes'], ctl.sim.t_ns
    ctl.rebase(int(events['t'][0]))
    assert ctl.feed(events, W, H) == 0  # none late
    assert ctl.stats()['input_spikes'] == 2 * first  # none merged with the first pass either
    assert ctl.sim.t_ns > t_net


def test_input_refractory_period_merges_and_counts_events():
    events = _events(20000, seed=1)
    free, limited = Controller(_spec(refractory_s=0.0)), Controller(_spec(refractory_s=0.001))
    free.feed(events, W, H)
    limited.feed(events, W, H)
    merged = limited.stats()['refractory_merged_events']
    assert merged > 0 and free.stats()['refractory_merged_events'] == 0
    assert limited.stats()['input_spikes'] + merged == free.stats()['input_spikes']


def test_bad_refractory_period_is_refused_naming_the_field():
    with pytest.raises(netfile.NetfileError, match=r'input_map\.refractory_s'):
        Controller(_spec(refractory_s=-1.0))
    with pytest.raises(netfile.NetfileError, match=r'input_map: unknown keys \[.refractory.\]'):
        Controller(_spec(refractory=0.1))
