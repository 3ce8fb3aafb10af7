"""
A worker thread that runs the network while its caller maps the next input.

A controller's work per event packet has two stages: decoding and mapping the
events to input spikes (``Controller.map_events``), and running the network
through them (``Controller.feed_spikes``). The numba kernels of both release
the GIL, so a caller (a ROS node's executor thread) that hands each mapped batch
to a ``FeedWorker`` maps the next packet while the worker runs the network on the
last ones: the two stages use two cores. Batches that queued up while the worker
was busy are fed together, in order, with one call.

Everything else that touches the controller (commands, reward, services) holds
``lock``, which the worker holds while it feeds.
"""

import threading

import numpy as np


class FeedWorker:
    """
    Feed mapped input spikes to ``controller`` on a thread of its own.

    ``submit(spikes, stamp_ns, newest_ns, n_events)`` queues a batch; the worker
    feeds all queued batches at once, then calls ``on_fed(n_events, late,
    newest_ns)`` (still holding ``lock``) with their event count, the late spikes
    and the newest event time. A batch whose stamp is older than ``now_ns() -
    max_lag_ns`` when its turn comes is not fed: ``on_stale(n_events, age_ns)``
    counts it, so a worker beyond its capacity sheds load instead of lagging
    (``max_lag_ns`` 0: never). An error in a feed goes to ``on_error(error)``, and
    the worker goes on with the next batches.
    """

    def __init__(self, controller, lock, on_fed, on_stale, on_error, now_ns, max_lag_ns):
        self.controller = controller
        self.lock = lock
        self._on_fed = on_fed
        self._on_stale = on_stale
        self._on_error = on_error
        self._now_ns = now_ns
        self.max_lag_ns = int(max_lag_ns)
        self._queue = []  # (spikes, stamp_ns, n_events), oldest first
        self._cond = threading.Condition()
        self._busy = False
        self._stopping = False
        self.feeds = 0  # calls of feed_spikes
        self.batches = 0  # batches fed
        self._thread = threading.Thread(target=self._run, name='feed_worker', daemon=True)
        self._thread.start()

    @property
    def backlog(self):
        """Return the number of batches waiting."""
        return len(self._queue)

    def submit(self, spikes, stamp_ns, newest_ns, n_events):
        """Queue the input spikes (``Controller.map_events``) of ``n_events`` events."""
        with self._cond:
            if self._stopping:
                raise RuntimeError('the feed worker is stopped')
            self._queue.append((spikes, int(stamp_ns), int(newest_ns), int(n_events)))
            self._cond.notify_all()

    def flush(self):
        """Return once every batch submitted so far has been fed (or dropped as stale)."""
        with self._cond:
            self._cond.wait_for(lambda: not self._queue and not self._busy)

    def stop(self):
        """Feed what is queued, then end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()

    def _run(self):
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if not self._queue:
                    return
                batches, self._queue = self._queue, []
                self._busy = True
            try:
                self._feed(batches)
            except Exception as error:  # the thread must outlive a bad batch
                self._on_error(error)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _feed(self, batches):
        if self.max_lag_ns:
            now_ns = self._now_ns()
            fresh = []
            for batch in batches:
                age_ns = now_ns - batch[1]
                if age_ns > self.max_lag_ns:
                    self._on_stale(batch[3], age_ns)
                else:
                    fresh.append(batch)
            batches = fresh
        if not batches:
            return
        spikes = batches[0][0] if len(batches) == 1 else np.concatenate([b[0] for b in batches])
        with self.lock:
            late = self.controller.feed_spikes(spikes)
            self.feeds += 1
            self.batches += len(batches)
            self._on_fed(sum(b[3] for b in batches), late, max(b[2] for b in batches))
