"""``fastbp.show_config()``: what a user pastes into a bug report.

The build facts come from the compiled ``_build_info`` module (the binary's own
preprocessor), the thread counts and BLAS libraries from threadpoolctl, which
reads them from the libraries actually loaded in this process.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from fastbp import _blas, _build_info, _gemm_backend, _losses
from fastbp import _validate as v
from fastbp._version import __version__

__all__ = ["show_config"]

# The _OPENMP macro is the release date of the specification the compiler supports.
OPENMP_RELEASES = {200203: "2.0", 200505: "2.5", 200805: "3.0", 201107: "3.1", 201307: "4.0",
                   201511: "4.5", 201811: "5.0", 202011: "5.1", 202111: "5.2", 202411: "6.0"}

# Environment variables that change thread counts or BLAS kernels; shown when set.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                   "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "FASTBP_NO_OPENMP")


def _version_of(module_name: str) -> str | None:
    try:
        return str(importlib.import_module(module_name).__version__)
    except ImportError:
        return None


def _package_dirs(module_name: str) -> list[str]:
    """Where a package's own shared libraries live: its folder and the '<name>.libs'
    folder beside it (auditwheel, delvewheel; delocate uses '<name>/.dylibs')."""
    file = getattr(importlib.import_module(module_name), "__file__", None)
    if not file:
        return []
    pkg_dir = os.path.realpath(os.path.dirname(file))
    return [pkg_dir, pkg_dir + ".libs"]


def _is_under(path: str, dirs: list[str]) -> bool:
    path = os.path.realpath(path)
    return any(path.startswith(d + os.sep) for d in dirs)


def _blas_of(package: str, loaded: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The loaded BLAS library that ``package`` (numpy or scipy) ships, if any.

    A wheel vendors its BLAS into its own folders.  When neither wheel does (conda,
    Linux distributions), a single BLAS outside numpy's and scipy's folders is the
    one both link.
    """
    own = [lib for lib in loaded if _is_under(lib["filepath"], _package_dirs(package))]
    if own:
        return own[0]
    vendored = _package_dirs("numpy") + _package_dirs("scipy")
    shared = [lib for lib in loaded if not _is_under(lib["filepath"], vendored)]
    return shared[0] if len(shared) == 1 else None


def _scipy_build_blas() -> dict[str, Any]:
    """Name and version of the BLAS scipy was built against, from scipy's own record."""
    import scipy

    try:
        blas = scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # the record's layout is scipy's, not ours: degrade, never fail
        return {}
    return {"name": blas.get("name"), "version": blas.get("version")}


def _library_entry(lib: dict[str, Any] | None) -> dict[str, Any]:
    if lib is None:
        return {"name": None, "version": None, "architecture": None, "threads": None,
                "threading_layer": None, "filepath": None}
    return {"name": lib.get("internal_api"), "version": lib.get("version"),
            "architecture": lib.get("architecture"), "threads": lib.get("num_threads"),
            "threading_layer": lib.get("threading_layer"), "filepath": lib.get("filepath")}


def _thread_policy(gemm: dict[str, Any], openmp_runtimes: list[str]) -> str:
    """How the products' threads and the kernels' OpenMP threads share the cores.  Every
    count follows OMP_NUM_THREADS / threadpoolctl, and no product runs inside an OpenMP
    region: the pools take turns."""
    if not openmp_runtimes:
        return "the products on their BLAS's threads; the kernels serial (no OpenMP)"
    if gemm["library"] == "mkl" and gemm["one_openmp_pool"]:
        return ("one GNU OpenMP pool for MKL's products, the kernels and the optimizer "
                "updates; the small products take turns with it on scipy's BLAS threads")
    return ("the products on their BLAS's own pool, the kernels on OpenMP's, taking turns; "
            "the optimizer updates on one thread")


def config() -> dict[str, Any]:
    """Everything ``show_config`` prints, as nested dicts of plain values."""
    import platform  # here, not at module level: 6 ms that `import fastbp` need not pay

    try:
        from threadpoolctl import threadpool_info
        libraries = threadpool_info()
        threadpoolctl_note = None
    except ImportError:
        libraries = []
        threadpoolctl_note = "threadpoolctl is not installed: thread counts unknown"
    blas_libraries = [lib for lib in libraries if lib.get("user_api") == "blas"]

    scipy_blas = _library_entry(_blas_of("scipy", blas_libraries))
    build_blas = _scipy_build_blas()
    # scipy's record names the build-time library (e.g. 'scipy-openblas', 'accelerate')
    scipy_blas["build"] = build_blas
    if scipy_blas["name"] is None:
        scipy_blas["name"], scipy_blas["version"] = build_blas.get("name"), build_blas.get("version")

    gemm = _gemm_backend.state()
    openmp_runtimes = [lib["filepath"] for lib in libraries if lib.get("user_api") == "openmp"]
    if gemm["library"] == "mkl":
        mkl = next((lib for lib in blas_libraries if lib.get("internal_api") == "mkl"
                    and os.path.realpath(lib["filepath"]) == gemm["path"]), None)
        gemm["threads"] = None if mkl is None else mkl.get("num_threads")
        gemm["threading_layer"] = None if mkl is None else mkl.get("threading_layer")
    gemm["thread_policy"] = _thread_policy(gemm, openmp_runtimes)

    omp_version = _build_info.openmp_version()
    return {
        "fastbp": {"version": __version__,
                   "path": os.path.dirname(os.path.abspath(__file__))},
        "build": {
            "compiler": _build_info.compiler(),
            "compile_flags": _build_info.compile_flags(),
            "simd_baseline": _build_info.simd_baseline(),
            "loss_kernels": _losses.kernel_dispatch(),
        },
        "openmp": {
            "enabled": omp_version > 0,
            "version": OPENMP_RELEASES.get(omp_version, str(omp_version)) if omp_version else None,
            "threads": _build_info.openmp_max_threads() if omp_version else 1,
            "runtimes": openmp_runtimes,
        },
        "blas": {
            "gemm": gemm,
            "scipy": scipy_blas,
            "numpy": _library_entry(_blas_of("numpy", blas_libraries)),
            "note": threadpoolctl_note,
        },
        "dependencies": {name: _version_of(name) for name in ("numpy", "scipy", "threadpoolctl")},
        "python": {
            "version": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "platform": platform.platform(),
            "machine": platform.machine(),
        },
        "environment": {name: os.environ[name] for name in THREAD_ENV_VARS if name in os.environ},
    }


def _blas_lines(title: str, lib: dict[str, Any]) -> list[str]:
    if lib["name"] is None:
        return [f"{title}", "  not found among the loaded libraries"]
    threads = "unknown" if lib["threads"] is None else str(lib["threads"])
    lines = [title,
             f"  library         {lib['name']} {lib['version'] or ''}".rstrip(),
             f"  architecture    {lib['architecture'] or 'unknown'}",
             f"  threads         {threads}"
             + (f" ({lib['threading_layer']})" if lib.get("threading_layer") else "")]
    if lib["filepath"]:
        lines.append(f"  file            {lib['filepath']}")
    return lines


def _gemm_lines(gemm: dict[str, Any]) -> list[str]:
    small = []
    if gemm.get("small_kernel"):
        small = [f"  small products  fastbp's kernel ({gemm['small_kernel']}) for "
                 f"{_blas.SMALL_ROUTE}"]
    if gemm["library"] != "mkl":
        return ["GEMM (fastbp's matrix products)", *small,
                f"  {'other products' if small else 'every product '}  scipy's BLAS (below)",
                f"  why             {gemm['reason']}",
                f"  thread policy   {gemm['thread_policy']}"]
    threads = "unknown" if gemm["threads"] is None else str(gemm["threads"])
    layer = gemm["threading_layer"]
    return ["GEMM (fastbp's matrix products)", *small,
            f"  library         {gemm['version']}",
            f"  used for        m*n*k >= {gemm['min_mnk']} multiply-adds; smaller products on "
            "scipy's BLAS (below)",
            f"  threads         {threads}" + (f" ({layer} OpenMP)" if layer else "")
            + ", strict reproducibility (MKL_CBWR)",
            f"  thread policy   {gemm['thread_policy']}",
            f"  file            {gemm['path']}"]


def format_config(cfg: dict[str, Any]) -> str:
    """The report ``show_config`` prints, from :func:`config`'s dict."""
    build, omp, blas, py = cfg["build"], cfg["openmp"], cfg["blas"], cfg["python"]
    if omp["enabled"]:
        openmp = f"on (OpenMP {omp['version']}), {omp['threads']} threads"
    else:
        openmp = "off (serial build)"
    lines = [f"fastbp {cfg['fastbp']['version']}",
             f"  location        {cfg['fastbp']['path']}",
             "Build",
             f"  compiler        {build['compiler']}",
             f"  compile flags   {build['compile_flags'] or '(none)'}",
             f"  SIMD baseline   {' '.join(build['simd_baseline']) or '(none)'}",
             f"  loss kernels    {build['loss_kernels']}",
             f"  OpenMP          {openmp}"]
    lines += [f"  OpenMP runtime  {path}" for path in omp["runtimes"]]
    lines += _gemm_lines(blas["gemm"])
    scipy_build = blas["scipy"]["build"]
    lines += _blas_lines("BLAS behind scipy", blas["scipy"])
    if scipy_build.get("name"):
        lines.append(f"  built against   {scipy_build['name']} {scipy_build.get('version') or ''}"
                     .rstrip())
    lines += _blas_lines("BLAS behind numpy", blas["numpy"])
    if blas["note"]:
        lines.append(f"  ({blas['note']})")
    lines += ["Dependencies"]
    lines += [f"  {name:<15} {version or 'not installed'}"
              for name, version in cfg["dependencies"].items()]
    lines += ["Python",
              f"  version         {py['version']} ({py['implementation']})",
              f"  executable      {py['executable']}",
              f"  platform        {py['platform']}",
              f"  machine         {py['machine']}"]
    if cfg["environment"]:
        lines.append("Environment")
        lines += [f"  {name:<15} {value}" for name, value in cfg["environment"].items()]
    return "\n".join(lines)


def show_config(mode: str = "stdout") -> dict[str, Any] | None:
    """Print (or return) fastbp's build and runtime configuration, for bug reports.

    Parameters
    ----------
    mode : {'stdout', 'dicts'}, default 'stdout'
        'stdout' prints a readable report and returns None; 'dicts' returns the
        same facts as nested dicts (keys 'fastbp', 'build', 'openmp', 'blas',
        'dependencies', 'python', 'environment').

    The report gives the fastbp version; the compiler, the flags and the SIMD
    baseline the extensions were built with; whether OpenMP is on and its thread
    count; which library runs fastbp's matrix products (MKL above a size when the
    ``mkl`` extra is installed), the BLAS library behind scipy, its version,
    the CPU kernels it selected and its thread count, and numpy's BLAS likewise;
    the numpy, scipy and threadpoolctl versions; Python and the platform.

    PyTorch equivalent: ``torch.__config__.show()``; NumPy's ``numpy.show_config``.

    >>> import fastbp
    >>> fastbp.show_config()  # doctest: +SKIP
    """
    v.choice(mode, "mode", ("stdout", "dicts"))
    cfg = config()
    if mode == "dicts":
        return cfg
    print(format_config(cfg))
    return None
