"""Shared test settings: the tolerance table (one place, keyed by dtype) and helpers."""

import numpy as np
import pytest

# float64: ~1e-12 relative, far above the ~1e-16 rounding of one operation yet tight
# enough to catch any wrong term.  float32: ~1e-5 relative, ~100 ulps of float32.
TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
DTYPES = [np.float32, np.float64]

# torch.optim.SGD option sets the training tests run: each option alone and combined.
SGD_OPTIONS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.5},
    {"momentum": 0.9, "nesterov": True},
    {"weight_decay": 0.01},
    {"maximize": True},
    {"momentum": 0.7, "dampening": 0.2, "weight_decay": 0.005, "maximize": True},
    {"momentum": 0.6, "nesterov": True, "weight_decay": 0.02},
]


def tol(dtype):
    return TOL[np.dtype(dtype)]


def assert_close(actual, expected, dtype, scale=1.0):
    """|actual - expected| <= tol·(|expected| + scale), elementwise.

    ``scale`` is the size of the terms that were summed (e.g. Σ|x||w| for a matrix
    product): rounding error is relative to those, not to a result that cancels
    to near zero.
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    t = tol(dtype)
    np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64),
                               rtol=t, atol=t * scale, equal_nan=True)


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)


def layouts(arr):
    """The same values in every memory layout the API must accept."""
    a = np.ascontiguousarray(arr)
    fortran = np.asfortranarray(a)
    readonly = a.copy()
    readonly.flags.writeable = False
    swapped = a.astype(a.dtype.newbyteorder())
    out = {"c": a, "fortran": fortran, "readonly": readonly, "byteswapped": swapped}
    if a.size and a.dtype.itemsize > 1:
        raw = np.zeros(a.nbytes + 1, np.uint8)  # at an odd byte address
        misaligned = np.frombuffer(raw.data, dtype=a.dtype, count=a.size, offset=1)
        misaligned = misaligned.reshape(a.shape)
        misaligned[...] = a
        out["misaligned"] = misaligned
    if a.ndim >= 1 and a.shape[-1] > 0:
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
        wide[..., ::2] = a
        out["strided"] = wide[..., ::2]
        flipped = np.ascontiguousarray(a[..., ::-1])
        out["negative_stride"] = flipped[..., ::-1]
    return out
