"""``python -m fastbp train | predict | evaluate``, run as a user runs them: real processes."""

import csv
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fastbp
from fastbp import Net

# the folder holding the fastbp these tests import (the source tree, or site-packages)
SRC = os.path.dirname(os.path.dirname(os.path.abspath(fastbp.__file__)))


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fastbp", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": SRC + os.pathsep
                               + os.environ.get("PYTHONPATH", "")})


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def animals(path, n=240, seed=0):
    """Three separable classes with string labels; the features on very different scales
    (so the standardization matters); the label column in the middle."""
    rng = np.random.default_rng(seed)
    labels = np.array(["cat", "dog", "bird"])
    k = rng.integers(0, 3, n)
    centers = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    pts = centers[k] + rng.normal(scale=0.5, size=(n, 2))
    rows = [[f"{1000 * a:.6g}", labels[c], f"{b / 100:.6g}"] for (a, b), c in zip(pts, k)]
    return write_csv(path, ["weight_g", "animal", "height_m"], rows), labels[k]


def table(stdout):
    """{"train": (loss, accuracy%), "validation": ...} from train's table."""
    found = {}
    for name in ("train", "validation"):
        m = re.search(rf"^{name}\s+([\d.e+-]+)(?:\s+([\d.]+)%)?", stdout, re.M)
        if m:
            found[name] = (float(m.group(1)), None if m.group(2) is None else float(m.group(2)))
    return found


def test_train_predict_evaluate_round_trip_with_string_labels(tmp_path):
    data, truth = animals(tmp_path / "animals.csv")
    model, plot, preds = tmp_path / "m.npz", tmp_path / "curve.png", tmp_path / "p.csv"
    r = run("train", data, "--target", "animal", "--epochs", "40", "--hidden", "16,8",
            "--save", model, "--plot", plot)
    assert r.returncode == 0, r.stderr
    assert "classification, 3 classes" in r.stdout
    results = table(r.stdout)
    assert results["validation"][1] >= 90.0, r.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The model file: pickle-free, readable by Net.load, with what predict needs.
    with np.load(model, allow_pickle=False) as archive:
        classes = archive["extra.classes"]
        mean, std = archive["extra.mean"], archive["extra.std"]
    assert classes.dtype.kind == "U" and sorted(classes.tolist()) == ["bird", "cat", "dog"]
    net = Net.load(model)
    assert [layer.out_features for layer in net] == [16, 8, 3]

    r = run("predict", model, data, "--out", preds)
    assert r.returncode == 0, r.stderr
    with open(preds, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["animal"] and len(rows) == len(truth) + 1
    predicted = np.array([row[0] for row in rows[1:]])
    # The same predictions from the model file by hand: (x - mean) / std, Net, argmax.
    with open(data, newline="") as f:
        cells = list(csv.reader(f))[1:]
    x = np.array([[float(c[0]), float(c[2])] for c in cells])
    by_hand = classes[np.argmax(net.forward(((x - mean) / std).astype(np.float32)), axis=1)]
    assert np.array_equal(predicted, by_hand)
    accuracy = np.mean(predicted == truth)
    assert accuracy >= 0.9

    r = run("evaluate", model, data)
    assert r.returncode == 0, r.stderr
    assert f"accuracy {100 * accuracy:.2f}%" in r.stdout

    r = run("predict", model, data)  # to standard output, the target column ignored
    assert r.returncode == 0 and r.stdout.splitlines()[1:] == predicted.tolist()


def test_numeric_labels_and_feature_only_predict_file(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(150, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int) * 5 + 2  # labels 2 and 7
    data = write_csv(tmp_path / "d.csv", ["a", "b", "c", "label"],
                     [[*(repr(float(v)) for v in row), str(t)] for row, t in zip(x, y)])
    features = write_csv(tmp_path / "f.csv", ["a", "b", "c"], [[repr(float(v)) for v in row] for row in x])
    model = tmp_path / "m.npz"
    r = run("train", data, "--save", model, "--epochs", "30", "--optimizer", "sgd", "--lr", "0.05")
    assert r.returncode == 0, r.stderr
    assert "classification, 2 classes" in r.stdout
    r = run("predict", model, features)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "label" and set(out[1:]) <= {"2", "7"}
    assert np.mean(np.array(out[1:]).astype(int) == y) > 0.9


def test_regression(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 2))
    y = 0.5 * x[:, 0] - 0.3 * x[:, 1] + 0.1
    data = write_csv(tmp_path / "r.csv", ["u", "v", "y"],
                     [[repr(float(a)), repr(float(b)), repr(float(t))] for (a, b), t in zip(x, y)])
    model, preds = tmp_path / "r.npz", tmp_path / "p.csv"
    r = run("train", data, "--save", model, "--epochs", "40", "--dtype", "float64")
    assert r.returncode == 0, r.stderr
    assert "(regression)" in r.stdout
    assert table(r.stdout)["validation"][0] < 0.01, r.stdout
    r = run("predict", model, data, "--out", preds)
    assert r.returncode == 0, r.stderr
    with open(preds, newline="") as f:
        predicted = np.array([float(row[0]) for row in list(csv.reader(f))[1:]])
    mse = np.mean((predicted - y) ** 2)
    r = run("evaluate", model, data)
    assert r.returncode == 0, r.stderr
    reported = float(re.search(r"loss \(MSELoss\) (\S+)", r.stdout).group(1))
    assert reported == pytest.approx(mse, rel=1e-5)  # printed with 6 digits
    r = run("train", data, "--task", "classification", "--epochs", "1")  # 300 classes: allowed
    assert r.returncode == 0 and "300 classes" in r.stdout


def test_train_without_data_learns_the_digits(tmp_path):
    r = run("train", "--save", tmp_path / "digits.npz")
    assert r.returncode == 0, r.stderr
    assert "1797 rows, 64 features" in r.stdout and "10 classes" in r.stdout
    assert table(r.stdout)["validation"][1] >= 95.0, r.stdout
    assert Net.load(tmp_path / "digits.npz").in_features == 64


def bad(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def trained(tmp_path):
    data = write_csv(tmp_path / "good.csv", ["x1", "x2", "y"],
                     [["1", "2", "a"], ["2", "1", "b"], ["3", "3", "a"], ["0", "1", "b"]])
    model = tmp_path / "good.npz"
    r = run("train", data, "--epochs", "1", "--save", model)
    assert r.returncode == 0, r.stderr
    return data, model


def check_one_line(r, *parts):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])


def test_bad_training_inputs(tmp_path):
    missing = tmp_path / "missing.csv"
    check_one_line(run("train", missing), str(missing), "cannot read")
    empty = bad(tmp_path, "empty.csv", "")
    check_one_line(run("train", empty), str(empty), "empty")
    header_only = bad(tmp_path, "h.csv", "a,b,y\n")
    check_one_line(run("train", header_only), str(header_only), "no data rows")
    ragged = bad(tmp_path, "ragged.csv", "a,b,y\n1,2,x\n3,4\n")
    check_one_line(run("train", ragged), str(ragged), "row 3", "2 cells", "3 columns")
    text = bad(tmp_path, "text.csv", "a,b,y\n1,2,x\n3,four,y\n")
    check_one_line(run("train", text), str(text), "row 3", "column 'b'", "'four' is not a number")
    nan = bad(tmp_path, "nan.csv", "a,b,y\n1,2,x\n\n3,4,y\nnan,1,x\n")
    check_one_line(run("train", nan), str(nan), "row 5", "column 'a'", "NaN")
    blank = bad(tmp_path, "blank.csv", "a,b,y\n1,,x\n")
    check_one_line(run("train", blank), str(blank), "row 2", "column 'b'", "empty cell")
    good = bad(tmp_path, "ok.csv", "a,b,y\n1,2,x\n3,4,y\n")
    check_one_line(run("train", good, "--target", "z"), str(good), "row 1", "no target column 'z'",
                   "a, b, y")
    labels = bad(tmp_path, "labels.csv", "a,y\n1,x\n2,y\n")
    check_one_line(run("train", labels, "--task", "regression"), str(labels), "row 2", "column 'y'",
                   "'x' is not a number")


def test_bad_predict_and_evaluate_inputs(tmp_path, trained):
    data, model = trained
    fewer = bad(tmp_path, "fewer.csv", "x1\n1\n")
    check_one_line(run("predict", model, fewer), str(fewer), "row 1", "1 feature columns",
                   f"{model} was trained on 2")
    more = bad(tmp_path, "more.csv", "p,q,r,y\n1,2,3,a\n")
    check_one_line(run("evaluate", model, more), str(more), "row 1", "3 feature columns")
    unknown = bad(tmp_path, "unknown.csv", "x1,x2,y\n1,2,zebra\n")
    check_one_line(run("evaluate", model, unknown), str(unknown), "row 2", "column 'y'", "'zebra'")
    text = bad(tmp_path, "text.csv", "x1,x2\n1,2\n1,two\n")
    check_one_line(run("predict", model, text), str(text), "row 3", "column 'x2'")
    not_a_model = bad(tmp_path, "model.npz", "hello")
    check_one_line(run("predict", not_a_model, data), str(not_a_model), "not a fastbp model")
    missing = tmp_path / "none.npz"
    check_one_line(run("evaluate", missing, data), str(missing), "cannot read")
    check_one_line(run("evaluate", model, data, "--target", "nope"), "no target column 'nope'")
