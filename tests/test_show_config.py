"""fastbp.show_config() and fastbp.__version__: the facts a bug report needs, read from
the compiled binary and the libraries actually loaded."""

import importlib.metadata
import os
import platform
import sys

import numpy as np
import pytest
import scipy

import threadpoolctl  # a runtime dependency of fastbp: no skip when it is missing

import fastbp
from fastbp import _build_info

OPENMP_FLAGS = ("-fopenmp", "/openmp")
# Flags whose effect setup.py refuses (its portability probe); the build must never carry
# them: they make a binary that is not portable or not IEEE.
UNPORTABLE_FLAGS = ("-march=native", "-mcpu=native", "-ffast-math", "-Ofast", "/fp:fast")


def test_version_is_one_string_everywhere():
    assert fastbp.__version__ == importlib.metadata.version("fastbp")
    assert fastbp.show_config(mode="dicts")["fastbp"]["version"] == fastbp.__version__


def test_dicts_mode_has_every_section():
    cfg = fastbp.show_config(mode="dicts")
    assert set(cfg) == {"fastbp", "build", "openmp", "blas", "dependencies", "python",
                        "environment"}
    assert cfg["dependencies"] == {"numpy": np.__version__, "scipy": scipy.__version__,
                                   "threadpoolctl": threadpoolctl.__version__}
    assert cfg["python"]["version"] == platform.python_version()
    assert cfg["python"]["machine"] == platform.machine()
    assert cfg["python"]["executable"] == sys.executable


def test_build_flags_are_portable_and_match_openmp():
    cfg = fastbp.show_config(mode="dicts")
    flags = cfg["build"]["compile_flags"].split()
    assert flags[0] in ("-O3", "/O2"), flags
    assert all(f.startswith(("-", "/")) and "(" not in f for f in flags), flags  # verbatim
    assert not set(flags) & set(UNPORTABLE_FLAGS)
    assert cfg["openmp"]["enabled"] == any(f in flags for f in OPENMP_FLAGS)
    assert cfg["build"]["compiler"] != "unknown"


def test_simd_baseline_is_the_portable_one():
    """A -march=native build shows here (AVX2/AVX-512 in the baseline): nothing else
    catches it, auditwheel still tags such a wheel manylinux."""
    baseline = _build_info.simd_baseline()
    if platform.machine().lower() in ("x86_64", "amd64"):
        assert baseline[:2] == ["SSE", "SSE2"]
        assert not {"AVX", "AVX2", "FMA3", "AVX512F"} & set(baseline), baseline


def test_openmp_thread_count_is_live():
    cfg = fastbp.show_config(mode="dicts")["openmp"]
    if not cfg["enabled"]:
        assert cfg["threads"] == 1 and cfg["version"] is None
        return
    assert cfg["version"] in fastbp._show_config.OPENMP_RELEASES.values()
    assert cfg["threads"] == _build_info.openmp_max_threads() >= 1
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert fastbp.show_config(mode="dicts")["openmp"]["threads"] == 1
    assert cfg["runtimes"], "OpenMP is on, so its runtime library is loaded"


def test_scipy_blas_is_the_loaded_library_and_its_threads():
    blas = fastbp.show_config(mode="dicts")["blas"]["scipy"]
    assert blas["name"] is not None
    loaded = {lib["filepath"]: lib for lib in threadpoolctl.threadpool_info()}
    if blas["filepath"] is None:  # e.g. Accelerate, which threadpoolctl does not see
        assert blas["build"]["name"] is not None
        return
    lib = loaded[blas["filepath"]]
    assert (blas["name"], blas["version"], blas["threads"]) == (
        lib["internal_api"], lib["version"], lib["num_threads"])
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert fastbp.show_config(mode="dicts")["blas"]["scipy"]["threads"] == 1


def test_without_threadpoolctl_it_still_reports(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import now raises ImportError
    cfg = fastbp.show_config(mode="dicts")
    assert "threadpoolctl is not installed" in cfg["blas"]["note"]
    assert cfg["blas"]["scipy"]["threads"] is None
    assert cfg["blas"]["scipy"]["name"] == cfg["blas"]["scipy"]["build"]["name"]
    assert "threads         unknown" in fastbp._show_config.format_config(cfg)


def test_stdout_mode_prints_the_report(capsys, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert fastbp.show_config() is None
    text = capsys.readouterr().out
    cfg = fastbp.show_config(mode="dicts")
    assert text.startswith(f"fastbp {fastbp.__version__}\n")
    for needle in (f"compile flags   {cfg['build']['compile_flags']}",
                   f"compiler        {cfg['build']['compiler']}",
                   "BLAS behind scipy", f"scipy           {scipy.__version__}",
                   f"numpy           {np.__version__}", "OMP_NUM_THREADS 3"):
        assert needle in text, needle


def test_bad_mode_is_a_value_error():
    with pytest.raises(ValueError, match=r"mode: expected one of 'stdout', 'dicts', got 'json'"):
        fastbp.show_config(mode="json")


def test_loss_kernel_dispatch_names_the_clone_this_cpu_runs():
    """On x86-64 Linux with gcc, the loss loops come in a baseline and an x86-64-v3 build,
    chosen when the module loads: the report says which, as the CPU's own flags decide."""
    running = fastbp.show_config(mode="dicts")["build"]["loss_kernels"]
    assert running in ("x86-64-v3 clone", "baseline clone (no x86-64-v3)",
                       "baseline only (no runtime dispatch in this build)")
    cpu_flags = ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            cpu_flags = f.read()
    if running != "baseline only (no runtime dispatch in this build)" and cpu_flags:
        v3 = all(f" {flag}" in cpu_flags for flag in ("avx2", "fma", "bmi2", "movbe", "f16c"))
        assert (running == "x86-64-v3 clone") == v3
