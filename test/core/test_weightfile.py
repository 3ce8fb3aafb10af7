"""Weight files: round trip, atomic replacement, refusal of damaged or foreign files."""

import os

import numpy as np
import pytest

from snn_ros.core.weightfile import load_arrays, save_arrays


def test_round_trip_keeps_dtypes(tmp_path):
    path = tmp_path / 'w.npz'
    arrays = {'w': np.arange(5, dtype=np.float32), 't': np.array([1, 2], dtype=np.int64),
              'flag': np.array([True, False])}
    save_arrays(path, **arrays)
    back = load_arrays(path, expected_keys=arrays)
    assert set(back) == set(arrays)
    for name, value in arrays.items():
        assert back[name].dtype == value.dtype and np.array_equal(back[name], value)


def test_overwrite_is_atomic_and_leaves_no_temp(tmp_path):
    path = tmp_path / 'w.npz'
    save_arrays(path, w=np.zeros(3))
    save_arrays(path, w=np.ones(3))
    assert np.array_equal(load_arrays(path, ['w'])['w'], np.ones(3))
    assert os.listdir(tmp_path) == ['w.npz']


def test_failed_write_keeps_the_last_good_file(tmp_path):
    path = tmp_path / 'w.npz'
    save_arrays(path, w=np.zeros(3))
    with pytest.raises(ValueError, match='dtype'):
        save_arrays(path, w=np.array(['text']))
    assert np.array_equal(load_arrays(path, ['w'])['w'], np.zeros(3))
    assert os.listdir(tmp_path) == ['w.npz']


@pytest.mark.parametrize('damage', ['truncate', 'garbage', 'empty'])
def test_damaged_file_is_refused(tmp_path, damage):
    path = tmp_path / 'w.npz'
    save_arrays(path, w=np.arange(1000.0))
    data = path.read_bytes()
    path.write_bytes({'truncate': data[:len(data) // 2], 'garbage': b'not a zip' * 10,
                      'empty': b''}[damage])
    with pytest.raises(ValueError, match='damaged'):
        load_arrays(path, ['w'])


def test_foreign_file_and_wrong_keys_are_refused(tmp_path):
    foreign = tmp_path / 'foreign.npz'
    np.savez(foreign, w=np.zeros(2))
    with pytest.raises(ValueError, match='not written by'):
        load_arrays(foreign)
    path = tmp_path / 'w.npz'
    save_arrays(path, w=np.zeros(2))
    with pytest.raises(ValueError, match="missing \\['c'\\]"):
        load_arrays(path, ['w', 'c'])


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / 'obj.npz'
    np.savez(path, w=np.array([{'a': 1}], dtype=object), __format__=np.zeros(1, np.uint8))
    with pytest.raises(ValueError):
        load_arrays(path)


def test_bad_names_and_paths(tmp_path):
    with pytest.raises(ValueError, match='.npz'):
        save_arrays(tmp_path / 'w.bin', w=np.zeros(1))
    with pytest.raises(ValueError, match='reserved'):
        save_arrays(tmp_path / 'w.npz', __format__=np.zeros(1))
    with pytest.raises(FileNotFoundError):
        load_arrays(tmp_path / 'missing.npz')
