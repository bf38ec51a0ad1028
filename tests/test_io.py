"""Net.save / Net.load (the _io module): exact round trips, atomic writes, clear errors."""

import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from conftest import DTYPES

from fastbp import Layer, Net
from fastbp import _io


def sample_net(dtype):
    return Net([Layer(5, 7, "relu", dtype=dtype, seed=1),
                Layer(7, 4, "tanh", bias=False, dtype=dtype, seed=2),
                Layer(4, 3, None, dtype=dtype, seed=3),
                Layer(3, 3, "log_softmax", dtype=dtype, seed=4)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_is_exact(tmp_path, rng, dtype):
    net = sample_net(dtype)
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = Net.load(path)
    assert repr(loaded) == repr(net) and loaded.dtype == dtype
    assert [layer.activation for layer in loaded] == ["relu", "tanh", None, "log_softmax"]
    assert loaded[1].bias is None
    for (p, _), (q, _) in zip(net.parameters(), loaded.parameters()):
        assert q.dtype == dtype
        np.testing.assert_array_equal(p, q)
    x = rng.standard_normal((6, 5))
    np.testing.assert_array_equal(loaded(x), net(x))


def test_file_is_plain_npz_without_pickle(tmp_path):
    net = sample_net(np.float32)
    path = str(tmp_path / "m.npz")
    net.save(path)
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == sorted(["0.weight", "0.bias", "1.weight", "2.weight",
                                                "2.bias", "3.weight", "3.bias",
                                                "fastbp_architecture"])
        record = json.loads(archive["fastbp_architecture"].item())
        np.testing.assert_array_equal(archive["1.weight"], net[1].weight)
    assert record == {"format": "fastbp.Net", "version": 1, "dtype": "float32",
                      "layers": [{"in_features": 5, "out_features": 7, "activation": "relu", "bias": True},
                                 {"in_features": 7, "out_features": 4, "activation": "tanh", "bias": False},
                                 {"in_features": 4, "out_features": 3, "activation": None, "bias": True},
                                 {"in_features": 3, "out_features": 3, "activation": "log_softmax",
                                  "bias": True}]}


def test_save_uses_the_path_as_given_and_overwrites(tmp_path):
    path = tmp_path / "model"  # no .npz appended, unlike np.savez
    sample_net(np.float64).save(path)
    other = Net([Layer(2, 1, dtype=np.float64, seed=9)])
    other.save(str(path))
    assert os.listdir(tmp_path) == ["model"]
    np.testing.assert_array_equal(Net.load(path)[0].weight, other[0].weight)


def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = sample_net(np.float32)
    old.save(path)
    before = path.read_bytes()

    def crash(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")  # the crash comes mid-write
        raise KeyboardInterrupt

    monkeypatch.setattr(_io.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        Net([Layer(2, 2, seed=0)]).save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_missing_file_is_an_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        Net.load(tmp_path / "absent.npz")


def error_for(path):
    with pytest.raises(ValueError) as info:
        Net.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not a fastbp model file: "), message
    return message


@pytest.mark.parametrize("cut", [0, 10, 100, 0.5, -30])
def test_truncated_file(tmp_path, cut):
    path = tmp_path / "model.npz"
    sample_net(np.float32).save(path)
    data = path.read_bytes()
    size = int(len(data) * cut) if isinstance(cut, float) else cut % len(data)
    path.write_bytes(data[:size])
    message = error_for(path)
    assert "empty" in message if size == 0 else ("truncated or corrupted" in message
                                                 or "not an .npz archive" in message)


def test_corrupted_array_data(tmp_path):
    path = tmp_path / "model.npz"
    net = Net([Layer(50, 40, seed=0)])
    net.save(path)
    data = bytearray(path.read_bytes())
    start = data.index(b"0.weight.npy") + 200  # inside the stored weight bytes
    data[start:start + 16] = bytes(16)
    path.write_bytes(bytes(data))
    assert "truncated or corrupted" in error_for(path)  # zip's CRC check


def test_foreign_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert "not an .npz archive (it starts with b'hello')" in error_for(text)
    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))
    assert "single .npy array" in error_for(npy)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.ones(2), b=np.zeros(3))
    assert "no 'fastbp_architecture' record (the archive holds ['a', 'b'])" in error_for(foreign)
    plain_zip = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("fastbp_architecture.txt", "{}")
    assert "no 'fastbp_architecture' record" in error_for(plain_zip)


def test_pickles_are_refused(tmp_path):
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"0.weight": np.ones((2, 2))}))
    assert "looks like a pickle" in error_for(pickled)
    # an .npz of the right shape whose extra member is a pickled object array
    path = tmp_path / "model.npz"
    net = Net([Layer(2, 2, seed=0)])
    np.savez(path, **net.state_dict(), fastbp_architecture=np.array(json.dumps(net._architecture())),
             payload=np.array([{"evil": 1}], dtype=object))
    assert "pickled data" in error_for(path)


def write_archive(path, record, arrays):
    np.savez(path, **arrays, fastbp_architecture=np.array(json.dumps(record)))


def test_bad_architecture_records(tmp_path):
    net = Net([Layer(2, 3, "sigmoid", seed=0), Layer(3, 1, seed=1)])
    good = net._architecture()
    path = tmp_path / "m.npz"
    cases = [
        ({**good, "format": "keras"}, "expected format 'fastbp.Net', got 'keras'"),
        ({**good, "version": 2}, "expected format version 1, got 2 (written by a newer fastbp)"),
        ({**good, "layers": []}, "expected a non-empty list of layers"),
        ({**good, "layers": [{"in_features": 2}]}, "layers[0]: expected an object with the fields"),
        ({**good, "dtype": "float16"}, "dtype: expected float32 or float64, got float16"),
        ({**good, "layers": [{**good["layers"][0], "activation": "swish"}, good["layers"][1]]},
         "activation: expected one of"),
        ({**good, "layers": [good["layers"][0], {**good["layers"][1], "in_features": "3"}]},
         "layers[1].in_features: expected a positive integer, got '3'"),
        ({**good, "layers": [{**good["layers"][0], "bias": 1}, good["layers"][1]]},
         "layers[0].bias: expected true or false, got 1"),
        # sizes far beyond the arrays: refused before any Layer is allocated at that size
        ({**good, "layers": [{**good["layers"][0], "out_features": 10**9}, good["layers"][1]]},
         "state_dict['0.weight']: expected shape (1000000000, 2), got (3, 2)"),
    ]
    for record, expected in cases:
        write_archive(path, record, net.state_dict())
        assert expected in error_for(path)
    # a record whose sizes do not chain, with arrays that match it: the Net's own check
    bad_chain = {**good, "layers": [good["layers"][0], {**good["layers"][1], "in_features": 4}]}
    write_archive(path, bad_chain, {**net.state_dict(), "1.weight": np.ones((1, 4))})
    assert "layers[0] has out_features 3 but layers[1] has in_features 4" in error_for(path)
    # JSON that is not an object, and text that is not JSON
    np.savez(path, **net.state_dict(), fastbp_architecture=np.array("[1, 2]"))
    assert "architecture: expected a JSON object, got list" in error_for(path)
    np.savez(path, **net.state_dict(), fastbp_architecture=np.array("{not json"))
    assert "Expecting property name" in error_for(path)
    np.savez(path, **net.state_dict(), fastbp_architecture=np.arange(3))
    assert "record is not text" in error_for(path)


def test_arrays_that_do_not_match_the_architecture(tmp_path):
    net = Net([Layer(2, 3, "sigmoid", seed=0), Layer(3, 1, seed=1)])
    path = tmp_path / "m.npz"
    state = net.state_dict()
    write_archive(path, net._architecture(), {k: a for k, a in state.items() if k != "1.bias"})
    assert "missing key '1.bias' (expected shape (1,), got no array)" in error_for(path)
    write_archive(path, net._architecture(), {**state, "0.weight": np.ones((3, 3))})
    assert "state_dict['0.weight']: expected shape (3, 2), got (3, 3)" in error_for(path)
    write_archive(path, net._architecture(), {**state, "2.weight": np.ones((1, 1))})
    assert "unexpected key '2.weight' (shape (1, 1))" in error_for(path)


# --- a killed save, and random damage ------------------------------------------------------

SAVE_FOREVER = """
import sys
import numpy as np
from fastbp import Layer, Net
net = Net([Layer(1500, 1500, dtype=np.float64, seed=1), Layer(1500, 10, dtype=np.float64, seed=2)])
print("saving", flush=True)
while True:
    net.save(sys.argv[1])
"""


def test_killed_mid_save_leaves_the_old_file_intact(tmp_path):
    """SIGKILL a process while it overwrites a model: the old model (or, once a rename
    has happened, the new one) loads whole -- never a truncated mixture."""
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "model.npz"
    old = sample_net(np.float64)
    old.save(path)
    caught_mid_save = 0
    for delay in (0.0, 0.01, 0.03, 0.06, 0.1):
        proc = subprocess.Popen([sys.executable, "-c", SAVE_FOREVER, str(path)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline() == "saving\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        loaded = Net.load(path)
        if len(loaded) == len(old):  # no rename yet: the old file, unchanged
            for (a, _), (b, _) in zip(loaded.parameters(), old.parameters()):
                np.testing.assert_array_equal(a, b)
        else:  # a complete new file
            assert [layer.in_features for layer in loaded] == [1500, 1500]
        leftovers = [name for name in os.listdir(tmp_path) if name != "model.npz"]
        caught_mid_save += bool(leftovers)
        for name in leftovers:  # the killed writer's temporary, never the model itself
            assert name.startswith(".model.npz.") and name.endswith(".tmp")
            os.unlink(tmp_path / name)
    # each save writes 18 MB; at least one kill must land inside a write to prove anything
    assert caught_mid_save >= 1


def test_random_damage_is_refused_or_harmless(tmp_path):
    """Flip bytes or cut the file anywhere: Net.load raises ValueError, or (when the damage
    missed everything that matters) returns exactly the saved Net."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    path = tmp_path / "model.npz"
    net = sample_net(np.float32)
    net.save(path)
    good = path.read_bytes()
    damaged = tmp_path / "damaged.npz"

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.lists(st.tuples(st.integers(0, len(good) - 1), st.integers(1, 255)),
                    min_size=1, max_size=4), st.integers(1, len(good)))
    def check(flips, keep):
        data = bytearray(good[:keep])
        for pos, xor in flips:
            if pos < len(data):
                data[pos] ^= xor
        damaged.write_bytes(bytes(data))
        try:
            loaded = Net.load(damaged)
        except ValueError as exc:
            assert str(exc).startswith(f"{damaged}: not a fastbp model file: ")
            return
        assert repr(loaded) == repr(net)
        for (a, _), (b, _) in zip(loaded.parameters(), net.parameters()):
            np.testing.assert_array_equal(a, b)

    check()
