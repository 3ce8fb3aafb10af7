"""
Fixtures of the multi-process ROS tier: real nodes in real processes over DDS.

Nodes are started with exactly the command lines their launch files give them
(``launch_shim``); the test talks to them from its own rclpy node.
"""

import os
from pathlib import Path
import signal
import subprocess
import time

import pytest
import rclpy
from rclpy.node import Node

from . import launch_shim

REPO = Path(__file__).resolve().parents[2]


class Received(list):
    """Messages received on one subscription, in order."""


class Probe:
    """The test's own node, with helpers to publish, collect and wait."""

    def __init__(self, node):
        self.node = node

    def collect(self, msg_type, topic, qos):
        """Subscribe to ``topic``; return the list its messages go to (``.subscription`` too)."""
        received = Received()
        received.subscription = self.node.create_subscription(msg_type, topic,
                                                              received.append, qos)
        return received

    def spin_for(self, seconds):
        """Process callbacks for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rclpy.spin_once(self.node, timeout_sec=0.01)

    def wait_for(self, predicate, timeout_s=30.0, what='condition'):
        """Spin until ``predicate()`` is true; fail naming ``what`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                pytest.fail(f'timed out after {timeout_s} s waiting for {what}')
            rclpy.spin_once(self.node, timeout_sec=0.01)

    def wait_for_subscriber(self, publisher, timeout_s=60.0):
        """Wait until ``publisher`` is matched with at least one subscription."""
        self.wait_for(lambda: publisher.get_subscription_count() > 0, timeout_s,
                      f'a subscriber on {publisher.topic_name}')

    def wait_for_publisher(self, subscription, timeout_s=60.0):
        """Wait until ``subscription`` is matched with at least one publisher."""
        self.wait_for(lambda: subscription.get_publisher_count() > 0, timeout_s,
                      f'a publisher on {subscription.topic_name}')


@pytest.fixture
def probe():
    """Yield a :class:`Probe` in a fresh rclpy context."""
    rclpy.init()
    node = Node(f'test_probe_{os.getpid()}')
    yield Probe(node)
    node.destroy_node()
    rclpy.shutdown()


class Processes:
    """Start node processes from launch files; stop them all at teardown."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.running = []

    def launch(self, launch_file, executable, extra_ros_args=(), **launch_arguments):
        """Start ``executable`` as ``launch/<launch_file>`` would, plus ``extra_ros_args``."""
        matches = [p for p in launch_shim.processes(REPO / 'launch' / launch_file,
                                                    **launch_arguments)
                   if p.executable == executable]
        assert len(matches) == 1, f'{launch_file} starts {len(matches)} {executable}'
        return self.start(matches[0].command + list(extra_ros_args), executable)

    def start(self, command, label):
        """Start ``command``; its output goes to a log file shown if the test fails."""
        log = open(self.log_dir / f'{label}-{len(self.running)}.log', 'w')
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.running.append((process, log))
        return process

    def stop(self, process, sig=signal.SIGINT, timeout_s=20):
        """Stop ``process`` with ``sig``; kill it if it does not exit in time."""
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def logs(self):
        """Return every process's output so far."""
        text = []
        for process, log in self.running:
            log.flush()
            text.append(f'--- {log.name} (exit {process.poll()})\n'
                        + open(log.name).read()[-4000:])
        return '\n'.join(text)


@pytest.fixture
def processes(tmp_path, request):
    """Yield a :class:`Processes`; print their logs if the test failed."""
    started = Processes(tmp_path)
    yield started
    for process, _ in started.running:
        started.stop(process)
    report = getattr(request.node, 'rep_call', None)
    if report is not None and report.failed:
        print(started.logs())
    for _, log in started.running:
        log.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, for the log dump above."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f'rep_{report.when}', report)
