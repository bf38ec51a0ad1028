"""_blas.gemm (row-major over scipy's BLAS) against NumPy, through its test-only twin."""

import numpy as np
import pytest
from conftest import DTYPES, assert_close, tol

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


# ---- the small-product kernel (csrc/fastbp_small_gemm.c) ---------------------------------

# Every variant this build holds and this CPU runs (x86-64-v4, v3, 16-byte vectors, plain C).
VARIANTS = [v for v in range(8) if _blas.small_gemm_variant(v) is not None]
MAX_K = 256  # FASTBP_SMALL_GEMM_MAX_K
# 1, odd sizes, sizes around the vector widths (4, 8, 16 lanes) and the row blocks
# (16 = 8 + 8, 19, 28, 37 after 12-, 16-, 8- and 6-row tiles), k from 1 to MAX_K.
SHAPES = [(1, 1, 1), (1, 7, 3), (5, 1, 9), (2, 3, 1), (3, 17, 5), (7, 31, 2), (8, 16, 8),
          (9, 33, 13), (12, 10, 64), (13, 47, 11), (16, 32, 3), (19, 15, 21), (28, 50, 7),
          (37, 64, 17), (40, 100, 33), (6, 24, MAX_K)]


def operands(rng, dtype, m, n, k, trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    return a, b


def reference(a, b, trans_a, trans_b, c0, beta):
    """op(A) op(B) + beta C in float64, and the sum of |terms| each element's error scales with."""
    op_a = (a.T if trans_a else a).astype(np.float64)
    op_b = (b.T if trans_b else b).astype(np.float64)
    expected = op_a @ op_b + (beta * c0.astype(np.float64) if beta else 0)
    scale = np.abs(op_a) @ np.abs(op_b) + (np.abs(c0.astype(np.float64)) if beta else 0)
    return expected, scale


def assert_within(actual, expected, scale, dtype):
    """|actual - expected| <= tol · Σ|terms|, element by element (tol from conftest's table)."""
    err = np.abs(actual.astype(np.float64) - expected)
    worst = np.unravel_index(np.argmax(err - tol(dtype) * scale), err.shape)
    assert (err <= tol(dtype) * scale).all(), (worst, actual[worst], expected[worst], scale[worst])


def strided(arr, ld, offset=0):
    """arr's values in rows ld elements apart, starting offset elements into a fresh buffer;
    the padding holds 7.0, so a write outside the rows shows."""
    rows, cols = arr.shape
    buf = np.full(offset + rows * ld, 7.0, arr.dtype)
    view = buf[offset:].reshape(rows, ld)[:, :cols]
    view[...] = arr
    return view, buf


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: _blas.small_gemm_variant(v))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_small_kernel_matches_numpy(rng, variant, dtype, trans_a, trans_b):
    """Every shape, beta 0 (C full of NaN: it must never be read) and 1, each operand with
    rows further apart than their length; A, B and the padding of every array unchanged."""
    for m, n, k in SHAPES:
        a0, b0 = operands(rng, dtype, m, n, k, trans_a, trans_b)
        for beta in (0.0, 1.0):
            c0 = rng.standard_normal((m, n)).astype(dtype) if beta else np.full((m, n), np.nan, dtype)
            a, a_buf = strided(a0, a0.shape[1] + 3, offset=1)
            b, b_buf = strided(b0, b0.shape[1] + 5, offset=2)
            c, c_buf = strided(c0, n + 2, offset=3)
            a_before, b_before = a_buf.copy(), b_buf.copy()
            assert _blas.gemm_strided("small", trans_a, trans_b, 1.0, a, b, beta, c, variant=variant)
            expected, scale = reference(a0, b0, trans_a, trans_b, c0, beta)
            assert np.isfinite(c).all(), (m, n, k, beta)
            assert_within(c, expected, scale, dtype)
            np.testing.assert_array_equal(a_buf, a_before)
            np.testing.assert_array_equal(b_buf, b_before)
            padding = np.ones(c_buf.shape, bool)
            padding[3:].reshape(m, n + 2)[:, :n] = False
            assert (c_buf[padding] == 7.0).all(), (m, n, k, beta)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: _blas.small_gemm_variant(v))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_small_kernel_element_does_not_depend_on_block_alignment_or_strides(
        rng, variant, dtype, trans_a, trans_b):
    """Each element is the same fixed sequence of operations wherever it sits: a sub-block
    computed alone (other tiles, other panels, an edge or not) and the whole product at
    other addresses and leading dimensions give the same bits."""
    m, n, k = 37, 45, 29
    a0, b0 = operands(rng, dtype, m, n, k, trans_a, trans_b)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    for beta in (0.0, 1.0):
        whole = c0.copy()
        assert _blas.gemm_strided("small", trans_a, trans_b, 1.0, a0, b0, beta, whole,
                                  variant=variant)
        for i0, i1, j0, j1 in [(0, 1, 0, 1), (5, 6, 17, 18), (3, 20, 1, 40), (13, 37, 19, 45),
                               (30, 37, 0, 45), (0, 37, 33, 45), (8, 24, 16, 32)]:
            sub_a = a0[:, i0:i1] if trans_a else a0[i0:i1]
            sub_b = b0[j0:j1] if trans_b else b0[:, j0:j1]
            block = c0[i0:i1, j0:j1].copy()
            assert _blas.gemm_strided("small", trans_a, trans_b, 1.0, sub_a, sub_b, beta, block,
                                      variant=variant)
            assert block.tobytes() == whole[i0:i1, j0:j1].tobytes(), (i0, i1, j0, j1, beta)
        for offset in (1, 2, 3, 5):  # 4 to 40 bytes past a 64-byte aligned block
            a, _ = strided(a0, a0.shape[1] + offset, offset)
            b, _ = strided(b0, b0.shape[1], offset)
            c, _ = strided(c0, n + 1, offset)
            assert _blas.gemm_strided("small", trans_a, trans_b, 1.0, a, b, beta, c,
                                      variant=variant)
            assert c.tobytes() == whole.tobytes(), (offset, beta)


@pytest.mark.parametrize("dtype", DTYPES)
def test_small_kernel_refuses_what_it_does_not_compute(rng, dtype):
    """alpha != 1, beta other than 0 or 1, k beyond its stack copy: it refuses (gemm then
    runs BLAS) and leaves C alone."""
    for alpha, beta, k in [(2.0, 0.0, 8), (1.0, 0.5, 8), (1.0, -1.0, 8), (1.0, 1.0, MAX_K + 1)]:
        a, b = operands(rng, dtype, 4, 5, k, False, True)
        c = np.full((4, 5), 3.0, dtype)
        assert not _blas.gemm_strided("small", False, True, alpha, a, b, beta, c)
        assert (c == 3.0).all()


def test_small_kernel_variant_names():
    chosen = _blas.small_gemm_variant()
    assert chosen == _blas.small_gemm_variant(VARIANTS[0])
    assert _blas.small_gemm_variant(VARIANTS[-1]) == "plain C"  # compiled everywhere
    assert _blas.small_gemm_variant(99) is None
    # routed only where measured to win (bench/README.md)
    assert (_blas.small_gemm_max_mnk() == _blas.SMALL_MAX_MNK) == (chosen in _blas.SMALL_ROUTED_VARIANTS)


# (trans_a, trans_b, m, n, k) on either side of each boundary of the router's rule
ROUTED = [(False, True, 16, 32, 64), (False, True, 128, 10, 64), (False, True, 16, 64, 1023),
          (False, True, 127, 32, 257)]  # (the last: routed, then refused for its k)
NOT_ROUTED = [(False, True, 15, 32, 64), (False, True, 16, 31, 64), (False, True, 127, 10, 64),
              (False, True, 16, 64, 1024),  # m·n·k = 2^20
              (False, False, 64, 64, 64), (True, False, 64, 64, 64), (True, True, 64, 64, 64)]


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_routes_the_small_products_it_wins(rng, dtype):
    """The router's rule at each boundary, and gemm giving exactly the bits of the kernel
    it names: the small kernel's, or (routing off) BLAS's or MKL's.  On a CPU where the
    kernel is not routed (no AVX-512), no shape may reach it."""
    if _blas.small_gemm_max_mnk() == 0:
        assert not any(_blas.small_gemm_routes(*shape) for shape in ROUTED + NOT_ROUTED)
        return
    told_apart = False
    for shape in ROUTED + NOT_ROUTED:
        trans_a, trans_b, m, n, k = shape
        routed = shape in ROUTED
        assert _blas.small_gemm_routes(trans_a, trans_b, m, n, k) == routed, shape
        a, b = operands(rng, dtype, m, n, k, trans_a, trans_b)
        c0 = rng.standard_normal((m, n)).astype(dtype)
        via_gemm, small, other = c0.copy(), c0.copy(), c0.copy()
        _blas.gemm_memview(trans_a, trans_b, 1.0, a, b, 1.0, via_gemm)
        took = _blas.gemm_strided("small", trans_a, trans_b, 1.0, a, b, 1.0, small)
        limit = _blas.small_gemm_max_mnk()
        _blas.set_small_gemm(0)
        try:
            _blas.gemm_memview(trans_a, trans_b, 1.0, a, b, 1.0, other)
        finally:
            _blas.set_small_gemm(limit)
        if routed and took:
            assert via_gemm.tobytes() == small.tobytes(), shape
            told_apart |= small.tobytes() != other.tobytes()
        else:
            assert via_gemm.tobytes() == other.tobytes(), shape
    # BLAS sums some products in the kernel's order (the same bits), not (16, 32, 64): a
    # router that sent nothing to the small kernel would fail above
    assert told_apart


def test_router_switched_off_routes_nothing():
    """set_small_gemm(0) (openblas_only(), a CPU without the routed variant): no shape."""
    limit = _blas.small_gemm_max_mnk()
    _blas.set_small_gemm(0)
    try:
        assert not any(_blas.small_gemm_routes(*shape) for shape in ROUTED + NOT_ROUTED)
    finally:
        _blas.set_small_gemm(limit)
    assert _blas.small_gemm_max_mnk() == limit
