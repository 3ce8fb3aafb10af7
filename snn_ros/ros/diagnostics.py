"""
Counters of what a node dropped or did, published on ``/diagnostics``.

Bad input is counted, logged (throttled) and dropped; the counters make every
drop visible in ``rqt_runtime_monitor`` or Foxglove.
"""

from collections import Counter
import math
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

#: Seconds between two warnings of the same kind in a node's log.
WARN_PERIOD_S = 5.0


class DropCounter:
    """
    Count dropped inputs by reason and warn at most once per period per reason.

    It throttles by itself: rclpy's ``throttle_duration_sec`` inspects the caller's
    source file on every call, about 0.7 ms, which an overloaded node cannot spend
    per dropped packet.
    """

    def __init__(self, logger):
        self.counts = Counter()
        self._logger = logger
        self._warned = {}  # reason -> monotonic time of its last warning

    def drop(self, reason, detail, n=1):
        """Count ``n`` inputs dropped for ``reason`` and log ``detail`` (throttled)."""
        self.counts[reason] += n
        now = time.monotonic()
        if now - self._warned.get(reason, -math.inf) >= WARN_PERIOD_S:
            self._warned[reason] = now
            self._logger.warning(f'dropped ({reason}, {self.counts[reason]} so far): {detail}')

    @property
    def total(self):
        """Return the number of inputs dropped for any reason."""
        return sum(self.counts.values())


def status_array(stamp, name, hardware_id, values, warn_if=None):
    """
    Return a ``DiagnosticArray`` with one status made of ``values`` (name -> number).

    The level is WARN with the message ``warn_if`` when that is a non-empty string,
    else OK.
    """
    status = DiagnosticStatus(name=name, hardware_id=hardware_id)
    status.level = DiagnosticStatus.WARN if warn_if else DiagnosticStatus.OK
    status.message = warn_if or 'ok'
    status.values = [KeyValue(key=key, value=f'{value:g}' if isinstance(value, float)
                              else str(value)) for key, value in values.items()]
    array = DiagnosticArray()
    array.header.stamp = stamp
    array.status = [status]
    return array
