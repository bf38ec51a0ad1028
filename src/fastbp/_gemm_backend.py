"""Which BLAS the kernels' large products run on: MKL when the ``mkl`` extra is
installed, scipy's OpenBLAS otherwise (and always for the small products).

MKL is loaded from the ``mkl`` wheel at import, never linked: the wheels of fastbp
build and run on every platform without it.  It is set up before its first product:
32-bit integers (what fastbp passes), GNU OpenMP threads (the kernels' own pool when they
were built against the system's GNU OpenMP; a wheel vendors a copy of its own), and strict
conditional numerical reproducibility, without which its results depend on the thread
count and on the arrays' alignment, and ``train_step`` could not be the same floats as
the public calls it fuses.

``FASTBP_GEMM=openblas`` keeps MKL off: every product on scipy's OpenBLAS, but for the
small x·Wᵀ ones fastbp's own kernel wins (``_blas.small_route``), as the tiniest run on
_dense's plain loop whatever the library; ``FASTBP_GEMM=mkl`` makes a missing or unusable
MKL an ImportError instead of a quiet fallback.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import os
import sys
from collections.abc import Iterator
from typing import Any

from fastbp import _blas, _build_info, _optim

__all__ = ["configure", "openblas_only", "state"]

# From m·n·k = 2**20 multiply-adds MKL beats OpenBLAS on every training shape measured
# (bench/bench_gemm.py, table in bench/README.md); below, its call overhead loses.
MIN_MNK = 1 << 20

# mkl_service.h and mkl_cbwr.h
_INTERFACE_LP64 = 0
_THREADING_GNU = 3
_CBWR_AUTO = 2
_CBWR_STRICT = 0x10000
_CBWR_SUCCESS = 0

_state: dict[str, Any] = {"library": "openblas", "reason": "not configured"}
_loaded: list[ctypes.CDLL] = []  # keeps the library mapped while its addresses are in use


def _mkl_runtime_path() -> str | None:
    """The ``mkl`` wheel's single dynamic library (libmkl_rt), from the wheel's record."""
    try:
        files = importlib.metadata.distribution("mkl").files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name.startswith("libmkl_rt.so"):
            return os.path.realpath(str(file.locate()))
    return None


def _load_mkl(path: str) -> tuple[ctypes.CDLL, str, bool] | str:
    """The library set up for fastbp, its version and whether its threads are the
    kernels' OpenMP pool; or why it cannot be used."""
    try:
        # MKL's GNU threading layer finds GNU OpenMP by its soname; when it cannot, MKL
        # ends the process at its first product, so a missing one is found out here.
        gomp = ctypes.CDLL("libgomp.so.1")
        lib = ctypes.CDLL(path)
    except OSError as exc:
        return f"cannot load MKL with GNU OpenMP: {exc}"
    for setter, value, name in ((lib.MKL_Set_Interface_Layer, _INTERFACE_LP64, "interface LP64"),
                                (lib.MKL_Set_Threading_Layer, _THREADING_GNU, "GNU threads")):
        setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
        if setter(value) != value:
            return f"MKL refused {name}: another library in this process set it up first"
    lib.MKL_CBWR_Set.argtypes, lib.MKL_CBWR_Set.restype = [ctypes.c_int], ctypes.c_int
    if lib.MKL_CBWR_Set(_CBWR_AUTO | _CBWR_STRICT) != _CBWR_SUCCESS:
        return "MKL refused strict reproducibility (MKL_CBWR): it ran before fastbp's import"
    buffer = ctypes.create_string_buffer(256)
    lib.MKL_Get_Version_String(buffer, ctypes.c_int(len(buffer)))
    # (a wheel's kernels use a vendored copy of GNU OpenMP: a pool of their own)
    one_pool = (ctypes.cast(gomp.omp_get_max_threads, ctypes.c_void_p).value
                == _build_info.openmp_function_address())
    return lib, buffer.value.decode(errors="replace").strip(), one_pool


def configure() -> None:
    """Pick the large-product GEMM (see the module's docstring); runs once, when
    ``import fastbp`` imports this module, before any kernel."""
    choice = os.environ.get("FASTBP_GEMM", "auto").strip().lower()
    if choice not in ("auto", "mkl", "openblas"):
        raise ImportError(f"FASTBP_GEMM must be 'auto', 'mkl' or 'openblas', got {choice!r}")
    if choice == "openblas":
        _set_openblas("FASTBP_GEMM=openblas")
        return
    path = _mkl_runtime_path() if sys.platform == "linux" else None
    if path:
        loaded = _load_mkl(path)
    elif sys.platform == "linux":
        loaded = "the mkl package is not installed (pip install fastbp[mkl], x86-64)"
    else:
        loaded = "fastbp uses MKL on Linux only"
    if isinstance(loaded, str):
        if choice == "mkl":
            raise ImportError(f"FASTBP_GEMM=mkl, but {loaded}")
        _set_openblas(loaded)
        return
    lib, version, one_pool = loaded
    _loaded.append(lib)
    addresses = tuple(ctypes.cast(fn, ctypes.c_void_p).value or 0 for fn in (lib.sgemm, lib.dgemm))
    _blas.set_large_gemm(*addresses, MIN_MNK)
    _optim.set_parallel_updates(one_pool)
    _state.clear()
    _state.update(library="mkl", version=version, path=path, min_mnk=MIN_MNK, addresses=addresses,
                  one_openmp_pool=one_pool)


def _set_openblas(reason: str) -> None:
    _blas.set_large_gemm(0, 0, 0)
    _optim.set_parallel_updates(False)
    _state.clear()
    _state.update(library="openblas", reason=reason)


def state() -> dict[str, Any]:
    """The choice, for show_config: library, then version, path, min_mnk and
    one_openmp_pool (MKL's threads are the kernels') for MKL, or the reason for OpenBLAS;
    and small_kernel, the small kernel's variant when it takes products (else None)."""
    small = _blas.small_gemm_variant() if _blas.small_gemm_max_mnk() else None
    return {**{key: value for key, value in _state.items() if key != "addresses"},
            "small_kernel": small}


@contextlib.contextmanager
def openblas_only() -> Iterator[None]:
    """Every product on scipy's OpenBLAS inside the block, the small kernel's too
    (benchmarks and tests compare the libraries in one process); the choice made at
    import comes back after it."""
    small = _blas.small_gemm_max_mnk()
    _blas.set_large_gemm(0, 0, 0)
    _blas.set_small_gemm(0)
    _optim.set_parallel_updates(False)
    try:
        yield
    finally:
        _blas.set_small_gemm(small)
        if _state["library"] == "mkl":
            _blas.set_large_gemm(*_state["addresses"], _state["min_mnk"])
            _optim.set_parallel_updates(_state["one_openmp_pool"])


configure()
