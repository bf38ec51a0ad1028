"""_blas.gemm (row-major over scipy's BLAS) against NumPy, through its test-only twin."""

import numpy as np
import pytest
from conftest import DTYPES, assert_close

from fastbp import _blas


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (3, 5, 7), (64, 33, 17)])
def test_gemm_matches_numpy(rng, dtype, trans_a, trans_b, m, n, k):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    c = rng.standard_normal((m, n)).astype(dtype)
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    expected = 1.5 * op_a.astype(np.float64) @ op_b.astype(np.float64) - 0.5 * c
    _blas.gemm_memview(trans_a, trans_b, 1.5, a, b, -0.5, c)
    scale = float((np.abs(op_a.astype(np.float64)) @ np.abs(op_b.astype(np.float64))).max()) + 1
    assert_close(c, expected, dtype, scale=scale)
