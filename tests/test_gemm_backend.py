"""The GEMM library choice (fastbp._gemm_backend): MKL for the large products when the
``mkl`` extra is installed, scipy's OpenBLAS otherwise; both give the NumPy reference's
products within rounding, and MKL's are the same floats whatever the threads or alignment."""

import ctypes
import importlib.metadata
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import threadpoolctl
from conftest import DTYPES, assert_close
from test_step import assert_same_state, compiled_step, manual_step

import fastbp
from fastbp import SGD, CrossEntropyLoss, Layer, Net, _blas, _build_info, _gemm_backend, _optim

MIN_MNK = _gemm_backend.MIN_MNK


def mkl_installed():
    try:
        importlib.metadata.distribution("mkl")
    except importlib.metadata.PackageNotFoundError:
        return False
    return sys.platform == "linux"


needs_mkl = pytest.mark.skipif(
    not mkl_installed() or os.environ.get("FASTBP_GEMM") == "openblas",
    reason="the mkl extra is not installed, or FASTBP_GEMM=openblas keeps it off")


def run_python(code, **env):
    """A fresh interpreter (the library is chosen once, at import)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})


def product(rng, dtype, m, n, k, trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    c = rng.standard_normal((m, n)).astype(dtype)
    return a, b, c


@needs_mkl
def test_mkl_is_chosen_when_installed():
    state = _gemm_backend.state()
    assert state["library"] == "mkl", state
    assert state["min_mnk"] == MIN_MNK == _blas.large_gemm_min_mnk()
    assert "Math Kernel Library" in state["version"]
    loaded = [lib for lib in threadpoolctl.threadpool_info() if lib["internal_api"] == "mkl"]
    assert [os.path.realpath(lib["filepath"]) for lib in loaded] == [state["path"]]
    assert loaded[0]["threading_layer"] == "gnu"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("m,n,k", [(128, 96, 100), (64, 256, 784), (40, 50, 30)])
def test_both_libraries_give_the_reference_product(rng, dtype, trans_a, trans_b, m, n, k):
    """Above MIN_MNK (the first two shapes) the product runs on MKL when it is installed,
    below on OpenBLAS; inside openblas_only() every product runs on OpenBLAS."""
    a, b, c0 = product(rng, dtype, m, n, k, trans_a, trans_b)
    op_a, op_b = (a.T if trans_a else a).astype(np.float64), (b.T if trans_b else b).astype(np.float64)
    expected = 1.5 * op_a @ op_b - 0.5 * c0
    scale = float((np.abs(op_a) @ np.abs(op_b)).max()) + 1
    chosen, openblas = c0.copy(), c0.copy()
    _blas.gemm_memview(trans_a, trans_b, 1.5, a, b, -0.5, chosen)
    with _gemm_backend.openblas_only():
        _blas.gemm_memview(trans_a, trans_b, 1.5, a, b, -0.5, openblas)
    assert_close(chosen, expected, dtype, scale=scale)
    assert_close(openblas, expected, dtype, scale=scale)
    if m * n * k < MIN_MNK or _gemm_backend.state()["library"] == "openblas":
        np.testing.assert_array_equal(chosen, openblas)  # the same library ran both


@needs_mkl
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", [(False, True), (False, False), (True, False)])
def test_mkl_products_do_not_depend_on_threads_or_alignment(rng, dtype, trans_a, trans_b):
    """Strict reproducibility: MKL may split K = 784 across threads and pick kernels by
    alignment; with MKL_CBWR strict it does neither, so train_step can equal its calls."""
    m, n, k = 64, 256, 784
    a, b, c0 = product(rng, dtype, m, n, k, trans_a, trans_b)
    results = []
    for threads in (1, 2):
        for offset in (0, 1, 3):  # operands starting 4, 8 or 12 bytes past an aligned block
            a_off = np.empty(a.size + offset, dtype)[offset:].reshape(a.shape)
            b_off = np.empty(b.size + offset, dtype)[offset:].reshape(b.shape)
            a_off[...], b_off[...] = a, b
            c = c0.copy()
            with threadpoolctl.threadpool_limits(threads):
                _blas.gemm_memview(trans_a, trans_b, 1.0, a_off, b_off, 1.0, c)
            results.append(c)
    for c in results[1:]:
        assert c.tobytes() == results[0].tobytes()


@needs_mkl
@pytest.mark.parametrize("dtype", DTYPES)
def test_train_step_equals_the_five_calls_on_mkl_products(rng, dtype):
    """784-256-10, batch 96: the first layer's three products run on MKL.  The same bytes,
    -0.0 included: zero input columns make all-zero gradient sums, which the step writes
    (GEMM beta = 0) where the five calls add them to zero_grad's +0.0."""
    def make():
        return Net([Layer(784, 256, "relu", dtype=dtype, seed=1), Layer(256, 10, dtype=dtype, seed=2)])
    fused, manual = make(), make()
    opt_f, opt_m = SGD(fused, lr=0.05, momentum=0.9), SGD(manual, lr=0.05, momentum=0.9)
    loss_f, loss_m = CrossEntropyLoss(), CrossEntropyLoss()
    assert 96 * 784 * 256 >= MIN_MNK
    for threads in (1, 2, 1):
        with threadpoolctl.threadpool_limits(threads):
            for _ in range(3):
                x = rng.standard_normal((96, 784)).astype(dtype)
                x[:, :7], x[:, 7:9] = 0.0, -0.0
                t = rng.integers(0, 10, 96)
                assert compiled_step(fused, x, t, loss_f, opt_f) == manual_step(manual, x, t, loss_m, opt_m)
                assert_same_state(fused, manual, opt_f, opt_m)
                for (p, g), (q, h) in zip(fused.parameters(), manual.parameters()):
                    assert p.tobytes() == q.tobytes() and g.tobytes() == h.tobytes()


def test_openblas_only_restores_the_choice():
    before = _blas.large_gemm_min_mnk()
    with _gemm_backend.openblas_only():
        assert _blas.large_gemm_min_mnk() is None
    assert _blas.large_gemm_min_mnk() == before


def test_fastbp_gemm_openblas_keeps_every_product_on_openblas():
    done = run_python("""
        import fastbp
        from fastbp import _blas, _gemm_backend
        cfg = fastbp.show_config(mode="dicts")["blas"]["gemm"]
        print(_blas.large_gemm_min_mnk(), cfg["library"], cfg["reason"])
        """, FASTBP_GEMM="openblas")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "openblas", "FASTBP_GEMM=openblas"]


def test_fastbp_gemm_must_be_a_known_library():
    done = run_python("import fastbp", FASTBP_GEMM="atlas")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "ImportError: FASTBP_GEMM must be 'auto', 'mkl' or 'openblas', got 'atlas'")


HIDE_MKL = """
    import importlib.metadata as md
    found = md.distribution
    def distribution(name):
        if name == "mkl":
            raise md.PackageNotFoundError(name)
        return found(name)
    md.distribution = distribution
    """


@pytest.mark.skipif(sys.platform != "linux", reason="MKL is looked for on Linux only")
def test_without_mkl_every_product_runs_on_openblas_and_show_config_says_why():
    done = run_python(HIDE_MKL + """
    import fastbp
    from fastbp import _blas
    assert _blas.large_gemm_min_mnk() is None
    fastbp.show_config()
    """, FASTBP_GEMM="auto")
    assert done.returncode == 0, done.stderr
    assert ("  why             the mkl package is not installed (pip install fastbp[mkl], x86-64)"
            in done.stdout.splitlines())


@pytest.mark.skipif(sys.platform != "linux", reason="MKL is looked for on Linux only")
def test_fastbp_gemm_mkl_without_mkl_is_an_import_error_naming_the_extra():
    done = run_python(HIDE_MKL + "import fastbp", FASTBP_GEMM="mkl")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "ImportError: FASTBP_GEMM=mkl, but the mkl package is not installed "
        "(pip install fastbp[mkl], x86-64)")


def test_show_config_reports_the_choice_and_its_threads():
    """The report against what threadpoolctl finds loaded and what _blas runs."""
    gemm = fastbp.show_config(mode="dicts")["blas"]["gemm"]
    lines = fastbp._show_config.format_config(fastbp.show_config(mode="dicts")).splitlines()
    mkl = [lib for lib in threadpoolctl.threadpool_info() if lib["internal_api"] == "mkl"]
    small = _blas.small_gemm_variant() if _blas.small_gemm_max_mnk() else None
    assert gemm["small_kernel"] == small
    assert (f"  small products  fastbp's kernel ({small}) for {_blas.SMALL_ROUTE}" in lines) == bool(small)
    if _blas.large_gemm_min_mnk() is None:
        assert gemm["library"] == "openblas"
        assert (f"  {'other products' if small else 'every product '}  scipy's BLAS (below)"
                in lines)
        return
    assert gemm["library"] == "mkl" and len(mkl) == 1
    assert (f"  used for        m*n*k >= {_blas.large_gemm_min_mnk()} multiply-adds; smaller "
            "products on scipy's BLAS (below)") in lines
    assert f"  file            {os.path.realpath(mkl[0]['filepath'])}" in lines
    assert gemm["threads"] == mkl[0]["num_threads"]
    with threadpoolctl.threadpool_limits(1):
        assert fastbp.show_config(mode="dicts")["blas"]["gemm"]["threads"] == 1


def test_show_config_names_the_thread_policy_of_the_loaded_runtimes():
    """Optimizer updates use the OpenMP threads only when MKL's products run on the
    kernels' own GNU OpenMP pool (beside another pool the spinning threads fight): the
    pool is shared when a thread count set through MKL's libgomp.so.1 is the kernels'."""
    gemm = fastbp.show_config(mode="dicts")["blas"]["gemm"]
    policy = gemm["thread_policy"]
    shared = False
    if gemm["library"] == "mkl":
        gomp = ctypes.CDLL("libgomp.so.1")
        before = gomp.omp_get_max_threads()
        gomp.omp_set_num_threads(before + 3)
        shared = _build_info.openmp_max_threads() == before + 3
        gomp.omp_set_num_threads(before)
        assert gemm["one_openmp_pool"] == shared
    assert _optim.parallel_updates_allowed() == shared
    if not fastbp.show_config(mode="dicts")["openmp"]["enabled"]:
        assert policy.endswith("the kernels serial (no OpenMP)")
    elif shared:
        assert policy.startswith("one GNU OpenMP pool for MKL's products, the kernels and")
    else:
        assert policy.endswith("taking turns; the optimizer updates on one thread")
    with _gemm_backend.openblas_only():
        assert not _optim.parallel_updates_allowed()
    assert _optim.parallel_updates_allowed() == shared
    printed = fastbp._show_config.format_config(fastbp.show_config(mode="dicts"))
    assert f"  thread policy   {policy}" in printed.splitlines()
