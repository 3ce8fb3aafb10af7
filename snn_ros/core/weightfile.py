"""
Weight files: named numpy arrays in one ``.npz``, written atomically, read without pickle.

A file is written to a temporary file in the same folder, flushed to disk and
renamed over the target with ``os.replace``, so a crash leaves either the old
file or the new one, never half of one, and the last good file is kept when a
write fails. Loading uses ``allow_pickle=False`` (object arrays are refused) and
checks the key set, so a truncated, corrupted or foreign file is refused with
an error that names the file and what is wrong.

A small ``__format__`` entry records the writer and a format version; it is
checked on load and not returned.
"""

import os
import tempfile
import zipfile

import numpy as np

#: Value of the ``__format__`` entry of every file written here.
FORMAT_TAG = 'snn_ros.weightfile/1'
_FORMAT_KEY = '__format__'


def save_arrays(path, **arrays):
    """
    Write ``arrays`` (name=array) to the ``.npz`` file ``path`` atomically.

    Every value must convert to a numeric or boolean numpy array (no objects,
    no strings); names must be valid identifiers and must not start with two
    underscores. The file is written beside ``path`` under a temporary name,
    synced, and renamed into place. Returns the path written.
    """
    path = os.fspath(path)
    if not path.endswith('.npz'):
        raise ValueError(f'path must end with .npz, got {path!r}')
    if not arrays:
        raise ValueError('save_arrays needs at least one array')
    clean = {}
    for name, value in arrays.items():
        if name.startswith('__'):
            raise ValueError(f'array name {name!r} is reserved (names must not start with __)')
        arr = np.asarray(value)
        if arr.dtype.kind not in 'biuf':
            raise ValueError(f'array {name!r} has dtype {arr.dtype}; only bool, integer and '
                             'float arrays can be saved')
        clean[name] = np.ascontiguousarray(arr)
    clean[_FORMAT_KEY] = np.frombuffer(FORMAT_TAG.encode('ascii'), dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp',
                               dir=folder)
    try:
        with os.fdopen(fd, 'wb') as handle:
            np.savez(handle, **clean)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_arrays(path, expected_keys=None):
    """
    Read a file written by ``save_arrays`` and return a dict name -> array.

    ``expected_keys`` (an iterable of names, or None to accept any set) must
    equal the set of arrays in the file. Raises ``FileNotFoundError`` when the
    file is missing and ``ValueError`` naming the file when it is damaged, was
    not written by ``save_arrays``, or holds other arrays than expected.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f'weight file {path!r} does not exist')
    try:
        with np.load(path, allow_pickle=False) as data:
            out = {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as exc:
        raise ValueError(f'weight file {path!r} is damaged or not an .npz file '
                         f'({type(exc).__name__}: {exc}); keep or restore the last good '
                         'file') from exc
    tag = out.pop(_FORMAT_KEY, None)
    if tag is None or bytes(np.asarray(tag, dtype=np.uint8)).decode('ascii', 'replace') \
            != FORMAT_TAG:
        raise ValueError(f'weight file {path!r} was not written by snn_ros.core.weightfile '
                         f'(missing or wrong {_FORMAT_KEY} entry; expected {FORMAT_TAG!r})')
    if expected_keys is not None:
        expected = set(expected_keys)
        found = set(out)
        if found != expected:
            raise ValueError(f'weight file {path!r} holds arrays {sorted(found)}, expected '
                             f'{sorted(expected)} (missing {sorted(expected - found)}, '
                             f'unexpected {sorted(found - expected)})')
    return out
