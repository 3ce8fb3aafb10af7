"""The code parses and compiles on Python 3.10 and 3.12 too (ROS 2 Humble, Jazzy, Kilted)."""

import os
from pathlib import Path
import shutil
import subprocess

import pytest

REPO = Path(__file__).resolve().parents[1]
CODE = [str(REPO / p) for p in ('snn_ros', 'test', 'launch', 'setup.py')]
# Compile to memory only: no .pyc files of other interpreters in the tree.
COMPILE = ('import pathlib, sys\n'
           'for root in sys.argv[1:]:\n'
           "    files = [pathlib.Path(root)] if root.endswith('.py') else "
           "pathlib.Path(root).rglob('*.py')\n"
           '    for f in files:\n'
           "        compile(f.read_text(), str(f), 'exec')\n")


def find_interpreter(version):
    """Return a working ``python<version>`` (on PATH or under pyenv), or None."""
    pyenv = Path(os.environ.get('PYENV_ROOT', Path.home() / '.pyenv')) / 'versions'
    candidates = [shutil.which(f'python{version}')]
    candidates += sorted(str(p) for p in pyenv.glob(f'{version}.*/bin/python{version}'))
    for candidate in filter(None, candidates):
        check = subprocess.run([candidate, '--version'], capture_output=True, text=True)
        if check.returncode == 0 and check.stdout.startswith(f'Python {version}.'):
            return candidate
    return None


@pytest.mark.parametrize('version', ['3.10', '3.12'])
def test_sources_compile_on(version):
    interpreter = find_interpreter(version)
    if interpreter is None:
        pytest.skip(f'python{version} is not installed here')
    result = subprocess.run([interpreter, '-c', COMPILE, *CODE], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
