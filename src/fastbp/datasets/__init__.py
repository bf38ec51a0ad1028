"""Small data sets shipped with fastbp (see README.md in this folder for sources and licences)."""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

__all__ = ["load_digits"]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI Optical Recognition of Handwritten Digits test set: 1,797 images of 8x8
    pixels (integer counts 0..16) and their digits 0..9.

    Returns
    -------
    x : float32 array (1797, 64), the pixels row by row
    y : int64 array (1797,), the digit of each image

    Source: E. Alpaydin, C. Kaynak, UCI Machine Learning Repository,
    https://doi.org/10.24432/C50P49, CC BY 4.0 (the copy scikit-learn ships as
    ``sklearn/datasets/data/digits.csv.gz``).

    scikit-learn equivalent: ``sklearn.datasets.load_digits(return_X_y=True)``.
    """
    with resources.files(__package__).joinpath("digits.csv.gz").open("rb") as raw:
        with gzip.open(raw, "rt") as text:
            data = np.loadtxt(text, delimiter=",", dtype=np.float32)
    return np.ascontiguousarray(data[:, :-1]), data[:, -1].astype(np.int64)
