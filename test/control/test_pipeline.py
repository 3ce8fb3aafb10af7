"""The feed worker: the network fed on a thread of its own, in order, nothing lost."""

import copy
import threading

import numpy as np

from snn_ros.control.controller import Controller
from snn_ros.control.pipeline import FeedWorker
from snn_ros.core import netfile
from snn_ros.core.types import EVENT_DTYPE
from snn_ros.ros.controller_node import resolve_config

W = H = 128


def _spec():
    return copy.deepcopy(netfile.load_spec(resolve_config('lane_keeping.yaml'),
                                           extra_keys=('input_map', 'readout', 'reward')))


def _events(n, seed, t0_ns=1_000_000, span_ns=200_000_000):
    """Events on the whole sensor, time-sorted."""
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, EVENT_DTYPE)
    ev['x'] = rng.integers(0, W, n)
    ev['y'] = rng.integers(0, H, n)
    ev['p'] = rng.integers(0, 2, n)
    ev['t'] = t0_ns + np.sort(rng.integers(0, span_ns, n))
    return ev


class _Log:
    """What the worker reports, as the node counts it."""

    def __init__(self):
        self.fed = self.late = self.stale = 0
        self.newest = []
        self.errors = []

    def on_fed(self, n_events, late, newest_ns):
        self.fed += n_events
        self.late += late
        self.newest.append(newest_ns)

    def on_stale(self, n_events, age_ns):
        self.stale += n_events

    def on_error(self, error):
        self.errors.append(error)


def _worker(controller, log, now_ns=lambda: 0, max_lag_ns=0):
    return FeedWorker(controller, threading.Lock(), log.on_fed, log.on_stale, log.on_error,
                      now_ns, max_lag_ns)


def test_the_worker_feeds_what_feed_feeds():
    """Packets mapped ahead and fed in merged batches give the weights of ``feed``."""
    events = _events(20000, seed=3)
    packets = np.array_split(events, 40)
    serial, piped = Controller(_spec()), Controller(_spec())
    for packet in packets:
        serial.feed(packet, W, H)
    log = _Log()
    worker = _worker(piped, log)
    with worker.lock:  # the worker waits: the packets queue up and are fed as one batch
        for packet in packets[:20]:
            spikes, late = piped.map_events(packet, W, H)
            worker.submit(spikes, int(packet['t'][0]), int(packet['t'][-1]),
                          packet.shape[0] - late)
    for packet in packets[20:]:
        spikes, late = piped.map_events(packet, W, H)
        worker.submit(spikes, int(packet['t'][0]), int(packet['t'][-1]), packet.shape[0] - late)
    worker.stop()
    assert worker.batches == 40 and worker.feeds < 40  # some batches were merged
    assert log.fed == events.shape[0] and log.late == 0 and not log.errors
    assert log.newest[-1] == events['t'][-1]
    assert piped.t_ns == serial.t_ns
    for key, value in serial.sim.state_arrays().items():
        np.testing.assert_array_equal(value, piped.sim.state_arrays()[key], err_msg=key)
    np.testing.assert_allclose(piped.rates_hz(), serial.rates_hz(), rtol=1e-12)
    assert piped.stats()['input_spikes'] == serial.stats()['input_spikes'] > 0


def test_spikes_the_network_passed_since_they_were_mapped_are_counted_late():
    controller = Controller(_spec())
    spikes, _ = controller.map_events(_events(4000, seed=4), W, H)
    half = spikes.shape[0] // 2
    assert controller.feed_spikes(spikes[:1]) == 0  # the network's time starts here
    assert controller.feed_spikes(spikes[half:]) == 0  # and runs past the first half
    assert controller.feed_spikes(spikes[1:half]) == half - 1
    later, _ = controller.map_events(_events(500, seed=5, t0_ns=300_000_000), W, H)
    fed = controller.stats()['input_spikes']
    assert controller.feed_spikes(np.concatenate([spikes[half - 10:half], later])) == 10
    assert controller.stats()['input_spikes'] == fed + later.shape[0]
    assert controller.stats()['late_events'] == half - 1 + 10


def test_stale_batches_are_dropped_and_counted_and_errors_do_not_stop_the_worker():
    controller = Controller(_spec())
    events = _events(3000, seed=6)
    now = [int(events['t'][-1])]
    log = _Log()
    worker = _worker(controller, log, now_ns=lambda: now[0], max_lag_ns=50_000_000)
    old, bad, fresh = np.array_split(events, 3)
    spikes, _ = controller.map_events(old, W, H)
    worker.submit(spikes, now[0] - 60_000_000, int(old['t'][-1]), old.shape[0])  # stale
    worker.flush()
    assert log.stale == old.shape[0] and log.fed == 0
    spikes, _ = controller.map_events(bad, W, H)
    spikes['neuron'] = 10_000  # no such input neuron: push_spikes refuses the batch
    worker.submit(spikes, now[0], int(bad['t'][-1]), bad.shape[0])
    worker.flush()
    assert len(log.errors) == 1 and isinstance(log.errors[0], ValueError)
    spikes, _ = controller.map_events(fresh, W, H)
    worker.submit(spikes, now[0], int(fresh['t'][-1]), fresh.shape[0])
    worker.stop()
    assert log.fed == fresh.shape[0] and controller.stats()['input_spikes'] > 0
