"""Golden figures on the real recording, .raw and rosbag2 files, ``snn-ros events info``."""

import json

import numpy as np
import pytest

from snn_ros.cli import main as cli_main
from snn_ros.encoding.codecs import Evt3Decoder
from snn_ros.encoding.files import (iter_bag_packets, parse_raw_header, read_bag, read_events,
                                    read_raw, write_bag, write_raw)

from . import naive

# Ground truth from shared/data/event_camera/README.md (upstream event_camera_py test values).
GOLDEN = {'events_on': 125_183, 'events_off': 218_291, 'sum_event_t_us': 2_851_601_611_994,
          'triggers_rising': 2079, 'triggers_falling': 2078,
          'sum_event_and_trigger_t_us': 2_885_601_049_874, 'first_event_t_us': 7_139_845,
          'width': 640, 'height': 480, 'packets': 517}


@pytest.fixture(scope='module')
def bag(shared_data):
    return shared_data / 'event_camera' / 'test_events_1'


@pytest.fixture(scope='module')
def packets(bag):
    return list(iter_bag_packets(bag))


def figures(rec):
    ev, tr = rec.events, rec.triggers
    return {'events_on': int((ev['p'] == 1).sum()), 'events_off': int((ev['p'] == 0).sum()),
            'sum_event_t_us': int((ev['t'] // 1000).sum()),
            'triggers_rising': int((tr['edge'] == 1).sum()),
            'triggers_falling': int((tr['edge'] == 0).sum()),
            'sum_event_and_trigger_t_us': int((ev['t'] // 1000).sum()
                                              + (tr['t'] // 1000).sum()),
            'first_event_t_us': int(ev['t'][0]) // 1000, 'width': rec.width, 'height': rec.height,
            'packets': rec.stats['packets']}


def test_golden_figures_of_the_real_recording(bag):
    rec = read_bag(bag)
    assert figures(rec) == GOLDEN
    assert rec.stats['seq_gaps'] == 0 and rec.stats['unknown_words'] == 0


def test_bulk_decode_equals_message_by_message(packets):
    bulk = np.concatenate([p.data for p in packets])
    ev, tr = Evt3Decoder(640, 480).decode(bulk)
    dec = Evt3Decoder(640, 480)
    parts = [dec.decode(p.data) for p in packets]
    assert np.array_equal(ev, np.concatenate([p[0] for p in parts]))
    assert np.array_equal(tr, np.concatenate([p[1] for p in parts]))


def test_kernel_matches_naive_on_real_packets(packets):
    dec, ref = Evt3Decoder(640, 480), naive.NaiveEvt3(640, 480)
    for p in packets[:40]:
        ev, tr = dec.decode(p.data)
        ref_ev, ref_tr = ref.decode(p.data)
        assert np.array_equal(ev, ref_ev) and np.array_equal(tr, ref_tr)


def test_raw_round_trip_of_the_real_recording(bag, tmp_path):
    rec = read_bag(bag)
    path = tmp_path / 'rec.raw'
    write_raw(path, rec.events, rec.width, rec.height, rec.triggers)
    back = read_raw(path)
    assert figures(back) | {'packets': 517} == GOLDEN
    assert back.stats['header']['geometry'] == '640x480'
    order = np.lexsort((rec.events['x'], rec.events['p'], rec.events['y'], rec.events['t']))
    order_b = np.lexsort((back.events['x'], back.events['p'], back.events['y'],
                          back.events['t']))
    assert np.array_equal(rec.events[order], back.events[order_b])


@pytest.mark.parametrize('header, message', [
    (b'% evt 3.0\n% geometry 640x480\n% end\n', None),
    (b'% format EVT3;height=480;width=640\n', None),
    (b'% evt 3.0\n% geometry 640x48', 'no end of line'),
    (b'% evt 3.0\n% geo\xffmetry 640x480\n', 'not ASCII'),
    (b'% evt 2.0\n% geometry 640x480\n', 'only EVT 3.0'),
    (b'% format EVT21;height=480;width=640\n', 'only EVT 3.0'),
    (b'% evt 3.0\n% geometry 640by480\n', 'geometry'),
    (b'% evt 3.0\n', 'geometry'),
    (b'% evt 3.0\n% geometry 9999x480\n', 'outside'),
    (b'\x00\x80', 'no "%" header'),
])
def test_raw_header_parsing_and_damage(header, message, tmp_path):
    if message is None:
        fields, offset = parse_raw_header(header + b'\x00\x80')
        assert (fields['width'], fields['height'], offset) == (640, 480, len(header))
    else:
        path = tmp_path / 'bad.raw'
        path.write_bytes(header)
        with pytest.raises(ValueError, match=message) as info:
            read_raw(path)
        assert 'bad.raw' in str(info.value)


@pytest.mark.parametrize('storage', ['sqlite3', 'mcap'])
def test_bag_write_and_read_both_storages(packets, tmp_path, storage):
    subset = packets[:30] + packets[32:60]     # two packets lost: one sequence gap
    write_bag(tmp_path / 'bag', subset, storage=storage)
    rec = read_events(tmp_path / 'bag')
    assert rec.stats['seq_gaps'] == 1 and rec.stats['lost_packets'] == 2
    assert rec.stats['seq_gap_at'] == [packets[32].seq]
    dec = Evt3Decoder(640, 480)
    ref = np.concatenate([dec.decode(p.data)[0] for p in subset])
    assert np.array_equal(rec.events, ref)


def test_events_info_cli(bag, tmp_path, capsys):
    assert cli_main(['events', 'info', str(bag), '--json']) == 0
    info = json.loads(capsys.readouterr().out)
    assert {k: info[k] for k in GOLDEN} == GOLDEN
    assert info['seq_gaps'] == 0 and info['events'] == 343_474
    assert abs(info['duration_s'] - 2.078183) < 1e-6
    assert cli_main(['events', 'info', str(bag)]) == 0
    assert '640 x 480' in capsys.readouterr().out
    bad = tmp_path / 'bad.raw'
    bad.write_bytes(b'% evt 9\n')
    assert cli_main(['events', 'info', str(bad)]) == 2
    assert 'only EVT 3.0' in capsys.readouterr().out
