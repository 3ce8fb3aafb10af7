"""ROS 2 style checks over the whole tree, as ament_flake8 and ament_pep257 run them."""

from pathlib import Path

from ament_flake8.main import main_with_errors as flake8_main
from ament_pep257.main import main as pep257_main
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [str(ROOT / p) for p in ('snn_ros', 'test', 'launch', 'setup.py')]
EXCLUDE = [str(ROOT / p) for p in ('.venv', 'build', 'install', 'log')]


@pytest.mark.linter
def test_flake8():
    config = ['--config', str(ROOT / 'setup.cfg')]
    rc, errors = flake8_main(argv=[*config, '--exclude', *EXCLUDE, '--', *SOURCES])
    assert rc == 0, f'{len(errors)} flake8 error(s):\n' + '\n'.join(errors)


@pytest.mark.linter
def test_pep257():
    rc = pep257_main(argv=['--exclude', *EXCLUDE, '--', *SOURCES])
    assert rc == 0, 'docstring style errors (see the output above)'
