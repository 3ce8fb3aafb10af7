"""evt3 and mono codecs: every word type, state across packets, wraps, bad input."""

import numpy as np
import pytest

from snn_ros.core.types import EVENT_DTYPE
from snn_ros.encoding.codecs import (decode_mono, encode_evt3, encode_mono, Evt3Decoder,
                                     PacketDecoder, TRIGGER_DTYPE)

from . import naive


def words(*ws):
    """Return EVT 3.0 words as bytes."""
    return np.array(ws, dtype='<u2').tobytes()


def th(v):
    return 0x8000 | v


def tl(v):
    return 0x6000 | v


def test_every_word_type():
    data = words(
        0x2005,                  # ADDR_X before any time: dropped
        0xA001,                  # EXT_TRIGGER before any time: dropped
        tl(0x001),               # TIME_LOW without TIME_HIGH: still no time
        0x0003,                  # ADDR_Y y=3
        th(0x002), tl(0x345),    # time = 0x002345 us
        0x2800 | 7,              # ADDR_X x=7 p=1
        0x3000 | 10,             # VECT_BASE_X x=10 p=0
        0x4000 | 0b100000000101,  # VECT_12: x=10, 12, 21; base -> 22
        0x5000 | 0b10000001,     # VECT_8: x=22, 29; base -> 30
        0xA000 | (5 << 8) | 1,   # EXT_TRIGGER id 5 rising
        0x1234, 0x9000, 0xB000, 0xC000, 0xD000,  # unknown codes: skipped and counted
        0xE019, 0x7000, 0xF000,  # OTHERS and CONTINUED: ignored
        tl(0x346), 0x0000 | 9,   # new time, y=9
        0x3800 | 600, 0x4FFF,    # VECT_BASE_X 600 p=1 + 12 bits: x 600..611, 5 beyond width
    )
    dec = Evt3Decoder(606, 480)
    ev, tr = dec.decode(data)
    t0 = 0x002345 * 1000
    expect = [(7, 3, 1, t0), (10, 3, 0, t0), (12, 3, 0, t0), (21, 3, 0, t0), (22, 3, 0, t0),
              (29, 3, 0, t0)] + [(x, 9, 1, t0 + 1000) for x in range(600, 606)]
    assert ev.tolist() == expect
    assert tr.tolist() == [(5, 1, t0)]
    assert dec.unknown_words == 5
    assert dec.dropped_before_time == 2
    assert dec.out_of_range == 6
    ref_ev, ref_tr = naive.NaiveEvt3(606, 480).decode(data)
    assert ev.tolist() == ref_ev.tolist() and tr.tolist() == ref_tr.tolist()


def test_time_high_wrap_and_small_backward_step():
    dec = Evt3Decoder(64, 64)
    ev, _ = dec.decode(words(th(0xFFF), tl(0xFFF), 0x0000, 0x2001,
                             th(0xFF9), 0x2002,            # back 6 counts: not a wrap
                             th(0x001), tl(0x000), 0x2003))  # back 4088 counts: a wrap
    assert ev['t'].tolist() == [0xFFFFFF * 1000, 0xFF9FFF * 1000, (1 << 24 | 0x001000) * 1000]
    assert dec.wraps == 1


def random_stream(rng, n):
    """Random words of every type, time moving forward with wraps now and then."""
    codes = rng.choice([0x0, 0x2, 0x3, 0x4, 0x5, 0x6, 0x8, 0xA, 0xE, 0x1, 0x9], size=n,
                       p=[.1, .2, .07, .15, .08, .15, .1, .05, .04, .03, .03])
    payload = rng.integers(0, 4096, size=n)
    high = np.cumsum(rng.integers(0, 3, size=n)) % 4096
    payload = np.where(codes == 0x8, high, payload)
    return ((codes << 12) | payload).astype('<u2')


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_kernel_matches_naive_on_random_streams_split_anywhere(seed):
    rng = np.random.default_rng(seed)
    stream = random_stream(rng, 3000)
    ref = naive.NaiveEvt3(500, 400)
    ref_ev, ref_tr = ref.decode(stream.tobytes())
    cuts = np.sort(rng.choice(np.arange(1, 3000), size=40, replace=False))
    dec = Evt3Decoder(500, 400)
    parts = [dec.decode(p.tobytes()) for p in np.split(stream, cuts)]
    ev = np.concatenate([p[0] for p in parts])
    tr = np.concatenate([p[1] for p in parts])
    assert ev.tolist() == ref_ev.tolist()
    assert tr.tolist() == ref_tr.tolist()
    assert dec.unknown_words == ref.s['unknown'] > 0
    assert dec.out_of_range == ref.s['out'] > 0
    assert dec.wraps == ref.s['wraps']


def random_events(rng, n, width=640, height=480, t_span_us=1 << 26):
    t = np.sort(rng.integers(0, t_span_us, size=n)) * 1000
    t[n // 2:n // 2 + 50] = t[n // 2]            # a burst at one time: vector words
    ev = np.empty(n, dtype=EVENT_DTYPE)
    ev['t'] = t
    ev['y'] = rng.integers(0, height, size=n)
    ev['x'] = rng.integers(0, width, size=n)
    ev['p'] = rng.integers(0, 2, size=n)
    burst = slice(n // 2, n // 2 + 50)
    ev['y'][burst] = 7
    ev['p'][burst] = 1
    ev['x'][burst] = 100 + np.arange(50) * 2 % 40 + np.arange(50) // 20 * 40
    return ev


@pytest.mark.parametrize('seed', [3, 4])
def test_evt3_round_trip_with_vectors_triggers_and_wraps(seed):
    rng = np.random.default_rng(seed)
    ev = random_events(rng, 2000)
    tr = np.zeros(30, dtype=TRIGGER_DTYPE)
    tr['t'] = np.sort(rng.integers(0, 1 << 26, size=30)) * 1000
    tr['id'] = rng.integers(0, 16, size=30)
    tr['edge'] = rng.integers(0, 2, size=30)
    data = encode_evt3(ev, tr)
    w = data.view('<u2')
    assert np.any(w >> 12 == 0x4)             # vector words were used
    dec = Evt3Decoder(640, 480)
    out_ev, out_tr = dec.decode(data)
    # The decoder's event order within one time follows the words (vectors sort by x).
    key = np.lexsort((ev['x'], ev['p'], ev['y'], ev['t']))
    key_out = np.lexsort((out_ev['x'], out_ev['p'], out_ev['y'], out_ev['t']))
    assert out_ev[key_out].tolist() == ev[key].tolist()
    assert out_tr.tolist() == tr.tolist()
    assert dec.wraps == 3
    ref_ev, _ = naive.NaiveEvt3(640, 480).decode(data.tobytes())
    assert ref_ev.tolist() == out_ev.tolist()


def test_evt3_encode_rejects_unsorted_and_large_addresses():
    ev = np.zeros(2, dtype=EVENT_DTYPE)
    ev['t'] = [2000, 1000]
    with pytest.raises(ValueError, match='sorted'):
        encode_evt3(ev)
    ev['t'] = [1000, 2000]
    ev['x'][0] = 4000
    with pytest.raises(ValueError, match='2048'):
        encode_evt3(ev)


def test_mono_layout_and_round_trip():
    rng = np.random.default_rng(5)
    ev = random_events(rng, 1000, width=1280, height=720, t_span_us=1000)
    ev['t'] += 123_456_789
    data, base = encode_mono(ev)
    assert base == int(ev['t'][0])
    w = data.view('<u8')
    e = ev[10]
    assert int(w[10]) == naive.mono_word(e['x'], e['y'], e['p'], e['t'] - base)
    back = decode_mono(data, base)
    assert back.tolist() == ev.tolist()
    # Upstream bit layout, by hand: p=1, y=0x7FFF, x=0xABCD, dt=0x12345678.
    raw = np.array([(1 << 63) | (0x7FFF << 48) | (0xABCD << 32) | 0x12345678], '<u8')
    one = decode_mono(raw.view(np.uint8), 1000)
    assert one.tolist() == [(0xABCD, 0x7FFF, 1, 1000 + 0x12345678)]


def test_mono_time_outside_packet_span_or_wide_y_is_refused():
    ev = np.zeros(2, dtype=EVENT_DTYPE)
    ev['t'] = [0, 1 << 33]
    with pytest.raises(ValueError, match='split the events'):
        encode_mono(ev)
    ev['t'] = [5, 4]
    with pytest.raises(ValueError, match='event 1 has t=4'):
        encode_mono(ev)
    ev['t'] = [0, (1 << 32) - 1]
    assert encode_mono(ev)[0].view('<u8')[1] == (1 << 32) - 1
    ev['y'] = [0, 1 << 15]
    with pytest.raises(ValueError, match='event 1 has y=32768'):
        encode_mono(ev)


def test_bad_input_errors_and_tolerant_counts():
    with pytest.raises(ValueError, match='even'):
        Evt3Decoder(640, 480).decode(b'\x00\x80\x01')
    dec = Evt3Decoder(640, 480, tolerant=True)
    dec.decode(b'\x00\x80\x01')
    assert dec.truncated_packets == 1
    with pytest.raises(ValueError, match='multiple of 8'):
        decode_mono(b'\x00' * 12)
    assert decode_mono(b'\x00' * 12, tolerant=True).shape == (1,)
    for w, h in ((0, 480), (640, 5000), (640.0, 480)):
        with pytest.raises(ValueError, match='width|height'):
            Evt3Decoder(w, h)
    with pytest.raises(ValueError, match="'evt2'.*supported"):
        PacketDecoder().decode('evt2', b'', 640, 480)
    with pytest.raises(ValueError, match='height'):
        PacketDecoder().decode('evt3', b'', 640, 0)
    strict = PacketDecoder()
    strict.decode('evt3', words(th(1), tl(2)), 640, 480, seq=1)
    with pytest.raises(ValueError, match='changed'):
        strict.decode('evt3', b'', 320, 240, seq=2)
    tolerant = PacketDecoder(tolerant=True)
    packets = [('evt3', words(th(1), tl(2), 0x2001), 640, 480), ('evt3', b'\x01', 640, 480),
               ('evt4', b'', 640, 480), ('evt3', b'', 320, 240)]
    for seq, (enc, data, w, h) in enumerate(packets):
        ev, _ = tolerant.decode(enc, data, w, h, seq=seq * 2)
    assert tolerant.dropped_packets == 2
    assert tolerant.evt3.truncated_packets == 1
    assert tolerant.seq_gaps == 3 and tolerant.lost_packets == 3
    mono = PacketDecoder()
    with pytest.raises(ValueError, match='outside 10x10'):
        data, _ = encode_mono(random_events(np.random.default_rng(0), 100, t_span_us=1000))
        mono.decode('mono', data, 10, 10)


@pytest.mark.parametrize('large_bytes', [1 << 20, 100])
def test_large_and_small_packets_match_naive_and_belong_to_the_caller(monkeypatch, large_bytes):
    # Packets above EVT3_LARGE_BYTES are decoded into a buffer numpy allocates.
    import snn_ros.encoding.codecs as codecs
    monkeypatch.setattr(codecs, 'EVT3_LARGE_BYTES', large_bytes)
    rng = np.random.default_rng(11)
    stream = random_stream(rng, 4000)
    ref = naive.NaiveEvt3(500, 400)
    ref_ev, ref_tr = ref.decode(stream.tobytes())
    dec = Evt3Decoder(500, 400)
    parts = [dec.decode(p.view(np.uint8)) for p in np.split(stream, [5, 30, 300, 310, 2000])]
    copies = [(ev.copy(), tr.copy()) for ev, tr in parts]
    dec.decode(stream.view(np.uint8))
    for (ev, tr), (ev0, tr0) in zip(parts, copies):   # later calls leave them alone
        assert np.array_equal(ev, ev0) and np.array_equal(tr, tr0)
        assert ev.flags.writeable and (tr.flags.writeable or len(tr) == 0)
    assert np.concatenate([p[0] for p in parts]).tolist() == ref_ev.tolist()
    assert np.concatenate([p[1] for p in parts]).tolist() == ref_tr.tolist()


def test_any_byte_container_and_strided_arrays_decode_alike():
    stream = camera_like_stream(np.random.default_rng(12), 500)
    ref_ev, ref_tr = naive.NaiveEvt3(640, 480).decode(stream.tobytes())
    doubled = np.repeat(stream.view(np.uint8), 2)[::2]   # a strided uint8 view
    for data in (stream.tobytes(), bytearray(stream.tobytes()), stream.view(np.uint8),
                 doubled, stream.view(np.uint8).reshape(2, -1), memoryview(stream.tobytes())):
        ev, tr = Evt3Decoder(640, 480).decode(data)
        assert ev.tolist() == ref_ev.tolist() and tr.tolist() == ref_tr.tolist()


def test_thousands_of_wraps_in_one_packet():
    highs = np.tile([0x800, 0xFFF, 0x000], 3000)
    stream = np.empty(4 * highs.shape[0], dtype='<u2')
    stream[0::4] = 0x8000 | highs
    stream[1::4] = tl(5)
    stream[2::4] = 0x0000 | 3
    stream[3::4] = 0x2000 | 9
    dec = Evt3Decoder(64, 64)
    ev, _ = dec.decode(stream.tobytes())
    ref = naive.NaiveEvt3(64, 64)
    ref_ev, _ = ref.decode(stream.tobytes())
    assert dec.wraps == ref.s['wraps'] == 3000 and ev.tolist() == ref_ev.tolist()
    assert ev['t'][-1] == (3000 << 24 | 5) * 1000


def test_wraps_before_the_first_complete_time_are_counted():
    # TIME_HIGH words wrap twice before the first TIME_LOW: both wraps count.
    dec = Evt3Decoder(64, 64)
    ev, _ = dec.decode(words(th(0xFFF), th(0x001), th(0xFFE), th(0x002), tl(7), 0x0003,
                             0x2005))
    assert dec.wraps == 2
    assert ev['t'].tolist() == [(2 << 24 | 0x002007) * 1000]


def camera_like_stream(rng, n_events):
    """
    Return words as a camera writes them, for ``n_events`` ADDR_X words.

    Mostly ADDR_Y, ADDR_X, TIME_LOW, with runs of repeated TIME_HIGH words, and now
    and then a changing TIME_HIGH (wraps included), triggers, vectors,
    OTHERS/CONTINUED and unknown words.
    """
    out = []
    high = int(rng.integers(0, 4096))
    for _ in range(n_events):
        r = rng.random()
        if r < 0.3:
            out += [0x8000 | high] * int(rng.integers(1, 8))
        if r < 0.02:
            high = int(rng.integers(0, 4096)) if r < 0.005 else (high + 1) % 4096
            out.append(0x8000 | high)
        if rng.random() < 0.8:
            out.append(0x6000 | int(rng.integers(0, 4096)))
        k = rng.random()
        if k < 0.03:
            out.append(0xA000 | int(rng.integers(0, 16)) << 8 | int(rng.integers(0, 2)))
        elif k < 0.05:
            out += [0x3000 | int(rng.integers(0, 4096)), 0x4000 | int(rng.integers(0, 4096))]
        elif k < 0.06:
            out += [0xE000 | int(rng.integers(0, 4096)), 0x7000, 0xF000]
        elif k < 0.065:
            out.append(int(rng.choice([0x1, 0x9, 0xB, 0xC, 0xD])) << 12)
        if rng.random() < 0.9:
            out.append(int(rng.integers(0, 500)))       # ADDR_Y, some beyond the height
        out.append(0x2000 | int(rng.integers(0, 4096)))  # ADDR_X, some beyond the width
    return np.array(out, dtype='<u2')


@pytest.mark.parametrize('seed', [5, 6, 7, 8])
def test_camera_like_streams_match_naive(seed):
    # The decoder's branch-free path handles the common gaps between two ADDR_X words;
    # these streams mix them with every other case, cut into packets anywhere.
    rng = np.random.default_rng(seed)
    stream = camera_like_stream(rng, 3000)
    ref = naive.NaiveEvt3(640, 480)
    ref_ev, ref_tr = ref.decode(stream.tobytes())
    cuts = np.sort(rng.choice(np.arange(1, stream.shape[0]), size=25, replace=False))
    dec = Evt3Decoder(640, 480)
    parts = [dec.decode(p.tobytes()) for p in np.split(stream, cuts)]
    assert np.concatenate([p[0] for p in parts]).tolist() == ref_ev.tolist()
    assert np.concatenate([p[1] for p in parts]).tolist() == ref_tr.tolist()
    assert (dec.unknown_words, dec.out_of_range, dec.wraps, dec.dropped_before_time) == (
        ref.s['unknown'], ref.s['out'], ref.s['wraps'], ref.s['before'])
    assert len(ref_ev) > 800 and len(ref_tr) > 10 and ref.s['wraps'] > 0


def gap_stream(rng, n_events, width, height):
    """
    Return ADDR_X words separated by gaps of the kinds the decoder tells apart.

    Its fast path takes an event after equal TIME_HIGH words, TIME_LOW, ADDR_Y (the
    run of TIME_HIGH right after the previous ADDR_X), or right after ADDR_X,
    ADDR_Y. The other gaps (no ADDR_Y, words in another order, other words before
    the TIME_HIGH run, a TIME_HIGH that changes and often comes back within the
    same 64 words, triggers, vectors, unknown words) and addresses outside the
    sensor take other paths and must decode alike.
    """
    out = []
    high = int(rng.integers(0, 4096))
    for _ in range(n_events):
        y, low = int(rng.integers(0, height + 8)), tl(int(rng.integers(0, 4096)))
        kind = int(rng.integers(0, 12))
        if kind == 7:
            high = int(rng.integers(0, 4096)) if rng.random() < 0.2 else \
                (high + int(rng.integers(-2, 3))) % 4096
        other = [0xA000 | int(rng.integers(0, 16)) << 8, int(rng.choice([1, 7, 9, 14])) << 12]
        gap = [[], [y], [th(high), low, y], [th(high)] * 2 + [low, y], [low], [y, low],
               [low, th(high), y], [th(high), low, y], [other[0], y],
               [0x3000 | int(rng.integers(0, 4096)), 0x4000 | int(rng.integers(0, 4096)), y],
               [other[kind & 1], th(high), low, y], [low, y]][kind]
        out += gap + [0x2000 | int(rng.integers(0, 2)) << 11 | int(rng.integers(0, width + 8))]
    return np.array(out, dtype='<u2')


@pytest.mark.parametrize('seed', [20, 21, 22])
def test_every_kind_of_gap_in_packets_of_any_size_matches_naive(seed):
    rng = np.random.default_rng(seed)
    stream = gap_stream(rng, 4000, 300, 200)
    ref = naive.NaiveEvt3(300, 200)
    ref_ev, ref_tr = ref.decode(stream.tobytes())
    for sizes in (rng.integers(1, 140, size=stream.shape[0]), [stream.shape[0]]):
        cuts = np.cumsum(sizes)
        dec = Evt3Decoder(300, 200)
        parts = [dec.decode(p.tobytes()) for p in np.split(stream, cuts[cuts < stream.shape[0]])]
        assert np.concatenate([p[0] for p in parts]).tolist() == ref_ev.tolist()
        assert np.concatenate([p[1] for p in parts]).tolist() == ref_tr.tolist()
        assert (dec.unknown_words, dec.out_of_range, dec.wraps) == (
            ref.s['unknown'], ref.s['out'], ref.s['wraps'])
    assert ref.s['out'] > 50 and len(ref_tr) > 100 and ref.s['wraps'] > 0


def test_kernel_record_layouts_match_the_dtypes():
    # The evt3 kernel writes records into byte buffers by these offsets.
    from snn_ros.encoding import _codec_kernels as k
    assert EVENT_DTYPE.itemsize == k.EVENT_BYTES and TRIGGER_DTYPE.itemsize == k.TRIGGER_BYTES
    assert [EVENT_DTYPE.fields[f][1] for f in 'xypt'] == [0, 2, 4, 5]
    assert [TRIGGER_DTYPE.fields[f][1] for f in ('id', 'edge', 't')] == [0, 1, 2]
    assert all(EVENT_DTYPE[f].byteorder in '<|=' for f in 'xypt')


def events_of(rows):
    """Return an EVENT_DTYPE array of (x, y, p, t) rows."""
    return np.array([tuple(r) for r in rows], dtype=EVENT_DTYPE).reshape(-1)


def triggers_of(rows):
    return np.array([tuple(r) for r in rows], dtype=TRIGGER_DTYPE).reshape(-1)


def crowded_events(rng, n, n_ticks, x_max, rows, tick_ns):
    """Events on few ticks, rows and columns, sorted by (t, y, p, x): vector runs."""
    ev = np.empty(n, dtype=EVENT_DTYPE)
    ev['t'] = (rng.integers(0, n_ticks, n) * tick_ns
               + (rng.random(n) < 0.3) * rng.integers(0, 1000, n) % tick_ns)
    ev['y'] = rng.integers(0, rows, n)
    ev['p'] = rng.integers(0, 2, n)
    ev['x'] = rng.integers(0, x_max, n)
    return ev[np.lexsort((ev['x'], ev['p'], ev['y'], ev['t']))]


ENCODER_EDGE_CASES = {
    'empty': (events_of([]), triggers_of([])),
    'one event': (events_of([(5, 6, 1, 777_777)]), triggers_of([])),
    'one event at 0': (events_of([(0, 0, 0, 0)]), triggers_of([])),
    'only triggers': (events_of([]), triggers_of([(0, 1, 5), (15, 0, 5000), (3, 1, 1 << 40)])),
    # Jumps of 2**23 ticks and more (the 24-bit counter wraps every 2**24 us).
    'time jumps': (events_of([(k, 3, k % 2, t * 1000) for k, t in enumerate(
        [0, 1, 1 << 23, (1 << 23) + 4095, (1 << 24) + 5, 1 << 30, (1 << 30) + 4096,
         1 << 40, (1 << 40) + (1 << 23) + 1])]), triggers_of([(2, 1, (1 << 35) * 1000)])),
    # One time, one row: x runs (vectors), runs cut by 12 columns, by a repeated or
    # decreasing x, by the polarity, and the last columns of the sensor.
    'shared time': (events_of(
        [(x, 4, 1, 9000) for x in (0, 1, 2, 5, 11, 12, 13, 13, 14, 30, 29, 31, 33)]
        + [(x, 4, 0, 9000) for x in (40, 41)] + [(x, 4, 1, 9000) for x in (42, 43, 44)]
        + [(x, 5, 1, 9000) for x in range(2036, 2048)]), triggers_of([(1, 1, 9000)])),
    'triggers between events': (events_of([(1, 1, 1, 1000), (2, 1, 1, 1999), (3, 1, 1, 2000)]),
                                triggers_of([(0, 1, 0), (1, 0, 1000), (2, 1, 1500),
                                             (3, 1, 2500), (4, 0, 10 ** 9)])),
    'int64 limit': (events_of([(1, 2, 1, 2**63 - 2000), (2, 2, 1, 2**63 - 1500),
                               (3, 2, 1, 2**63 - 1)]), triggers_of([])),
}


@pytest.mark.parametrize('case', sorted(ENCODER_EDGE_CASES))
@pytest.mark.parametrize('time_mult_ns', [1, 7, 1000])
def test_evt3_encoder_matches_naive_on_edge_cases(case, time_mult_ns):
    ev, tr = ENCODER_EDGE_CASES[case]
    if case == 'time jumps':   # the same jumps in ticks (the naive twin writes each word)
        ev, tr = ev.copy(), tr.copy()
        ev['t'] = ev['t'] // 1000 * time_mult_ns
        tr['t'] = tr['t'] // 1000 * time_mult_ns
    data = encode_evt3(ev, tr, time_mult_ns=time_mult_ns)
    assert data.dtype == np.uint8
    assert data.tobytes() == naive.encode_evt3(ev, tr, time_mult_ns).tobytes()
    out_ev, out_tr = Evt3Decoder(2048, 2048, time_mult_ns=time_mult_ns).decode(data)
    assert len(out_ev) == len(ev) and len(out_tr) == len(tr)
    if time_mult_ns == 1000 and case != 'int64 limit':   # times below 2**24 us wraps
        ticks = ev['t'] // 1000 * 1000
        assert sorted(out_ev['t'].tolist()) == sorted(ticks.tolist())


def test_evt3_encoder_vectors_and_wraps():
    ev, _ = ENCODER_EDGE_CASES['shared time']
    w = encode_evt3(ev).view('<u2')
    assert (w >> 12 == 0x4).sum() == (w >> 12 == 0x3).sum() == 4
    ev, _ = ENCODER_EDGE_CASES['time jumps']
    dec = Evt3Decoder(64, 64)
    out, _ = dec.decode(encode_evt3(ev))
    assert out['t'].tolist() == ev['t'].tolist() and dec.wraps == (1 << 40) >> 24


@pytest.mark.parametrize('seed', range(6))
def test_evt3_encoder_matches_naive_on_crowded_and_random_streams(seed):
    rng = np.random.default_rng(seed)
    ev = crowded_events(rng, int(rng.integers(1, 3000)), int(rng.integers(1, 30)),
                        int(rng.choice([3, 14, 40, 2048])), int(rng.integers(1, 5)),
                        int(rng.choice([1, 700, 1000, 4_096_000])))
    n_tr = int(rng.integers(0, 20))
    tr = np.zeros(n_tr, dtype=TRIGGER_DTYPE)
    candidates = np.concatenate([ev['t'], rng.integers(0, ev['t'][-1] + 2, n_tr)])
    tr['t'] = np.sort(rng.choice(candidates, n_tr))
    tr['id'] = rng.integers(0, 16, n_tr)
    tr['edge'] = rng.integers(-1, 2, n_tr)
    ev['p'][::7] = rng.integers(-128, 128, ev[::7].shape[0])   # p != 0 is ON
    for mult in (1, 1000):
        assert (encode_evt3(ev, tr, time_mult_ns=mult).tobytes()
                == naive.encode_evt3(ev, tr, mult).tobytes())
    ev = random_events(rng, 3000)
    assert encode_evt3(ev).tobytes() == naive.encode_evt3(ev, tr[:0]).tobytes()
    # A strided view is copied first; the bytes are the same.
    assert encode_evt3(ev[::2]).tobytes() == naive.encode_evt3(ev[::2], tr[:0]).tobytes()


@pytest.mark.parametrize('bad, match', [
    # The kernel checks each record as it goes; the message is the first of the rules.
    (lambda ev, tr: ev['t'].__setitem__(5, ev['t'][4] - 1), 'events times'),
    (lambda ev, tr: ev['t'].__setitem__(0, -1), 'events times'),
    (lambda ev, tr: ev['t'].__setitem__(slice(10, 13), [10_000, 10_999, 10_500]), 'events times'),
    (lambda ev, tr: ev['t'].__setitem__(-1, ev['t'][-2] - 1), 'events times'),
    (lambda ev, tr: tr['t'].__setitem__(2, tr['t'][1] - 1), 'triggers times'),
    (lambda ev, tr: tr['t'].__setitem__(0, -5), 'triggers times'),
    (lambda ev, tr: ev['x'].__setitem__(7, 2048), 'x and y'),
    (lambda ev, tr: ev['y'].__setitem__(-1, 4000), 'x and y'),
    # x beyond 2047 inside a vector run (same time, row and polarity).
    (lambda ev, tr: ev.__setitem__(slice(20, 23), events_of(
        [(2045, 1, 1, 20_000), (2046, 1, 1, 20_000), (2050, 1, 1, 20_000)])), 'x and y'),
    (lambda ev, tr: tr['id'].__setitem__(-1, 16), 'trigger id'),
    (lambda ev, tr: (tr['id'].__setitem__(0, 99), ev['x'].__setitem__(3, 5000)), 'x and y'),
])
def test_evt3_encoder_refuses_bad_records(bad, match):
    ev = np.zeros(40, dtype=EVENT_DTYPE)
    ev['t'] = np.arange(40) * 1000
    ev['t'][20:23] = 20_000
    tr = np.zeros(4, dtype=TRIGGER_DTYPE)
    tr['t'] = [0, 3000, 3000, 50_000]
    bad(ev, tr)
    with pytest.raises(ValueError, match=match):
        encode_evt3(ev, tr)


def test_evt3_encoder_argument_errors():
    ev = np.zeros(3, dtype=EVENT_DTYPE)
    for events in (np.zeros(3, 'u8'), [1, 2], np.zeros((2, 2), dtype=EVENT_DTYPE)):
        with pytest.raises(ValueError, match='1-D EVENT_DTYPE'):
            encode_evt3(events)
    with pytest.raises(ValueError, match='TRIGGER_DTYPE'):
        encode_evt3(ev, np.zeros(2))
    for mult in (0, -1000, 1000.0):
        with pytest.raises(ValueError, match='time_mult_ns'):
            encode_evt3(ev, time_mult_ns=mult)
    assert encode_evt3(ev, time_mult_ns=np.int32(1000)).tobytes() == encode_evt3(ev).tobytes()
