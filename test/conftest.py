"""
Test-session set-up shared by every tier.

DDS stays on this machine: discovery is unicast on loopback, and each test run uses
a domain id of its own so that parallel runs cannot see each other's nodes. Child
processes inherit both.
"""

import os
from pathlib import Path

import pytest

os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_DOMAIN_ID', str(os.getpid() % 100 + 1))
os.environ.setdefault('PYNEST_QUIET', '1')

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / 'shared' / 'data'


@pytest.fixture(scope='session')
def shared_data():
    """Return the folder of real recordings that lies beside the checkout."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f'{SHARED_DATA} is missing: the real recordings must lie beside the checkout')
    return SHARED_DATA
