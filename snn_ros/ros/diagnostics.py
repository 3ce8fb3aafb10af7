"""
Counters of what a node dropped or did, published on ``/diagnostics``.

Bad input is counted, logged (throttled) and dropped; the counters make every
drop visible in ``rqt_runtime_monitor`` or Foxglove.
"""

from collections import Counter

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

#: Seconds between two warnings of the same kind in a node's log.
WARN_PERIOD_S = 5.0


class DropCounter:
    """Count dropped inputs by reason and warn at most once per period per reason."""

    def __init__(self, logger):
        self.counts = Counter()
        self._logger = logger

    def drop(self, reason, detail, n=1):
        """Count ``n`` inputs dropped for ``reason`` and log ``detail`` (throttled)."""
        self.counts[reason] += n
        self._logger.warning(f'dropped ({reason}, {self.counts[reason]} so far): {detail}',
                             throttle_duration_sec=WARN_PERIOD_S)

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
