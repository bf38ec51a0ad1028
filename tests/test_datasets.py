"""fastbp.datasets: the bundled digits are scikit-learn's, with their attribution."""

from pathlib import Path

import numpy as np
import pytest

import fastbp.datasets
from fastbp.datasets import load_digits


def test_load_digits_shapes_and_values():
    x, y = load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and x.flags.c_contiguous
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0 and x.max() == 16 and np.array_equal(x, np.round(x))
    assert np.array_equal(np.bincount(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_load_digits_equals_scikit_learn():
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = load_digits()
    x_ref, y_ref = datasets.load_digits(return_X_y=True)
    assert np.array_equal(x, x_ref) and np.array_equal(y, y_ref)


def test_attribution_ships_beside_the_data():
    text = (Path(fastbp.datasets.__file__).parent / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in text and "Alpaydin" in text and "UCI" in text
