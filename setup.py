"""Build the compiled core of fastbp; the metadata lives in pyproject.toml.

The kernels trust their inputs (bounds checks off) because every public entry
point validates first, in ``fastbp._validate``.  OpenMP is used when a test
program compiles and links with it; ``FASTBP_NO_OPENMP=1`` forces a serial build.
Every extension gets two macros: ``FASTBP_OPENMP`` (1 or 0) and
``FASTBP_COMPILE_FLAGS`` (the flags added here, as bare tokens: stringify it, as
``_build_info.pyx`` does, because a quoted string does not survive MSVC's
command line).
"""

import glob
import os
import shlex
import sys
import tempfile
import textwrap

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# One entry per compiled module: extra C sources from csrc/ that it links.
MODULES = {
    "_blas": ["fastbp_small_gemm.c"],
    "_dense": ["fastbp_dense.c"],
    "_activations": ["fastbp_activations.c"],
    "_losses": ["fastbp_kernels.c"],
    "_options": [],
    "_optim": ["fastbp_sgd.c"],
    "_clip": [],
    "_step": [],
    "_distributed": [],
    "_metrics": [],
    "_sk_solvers": ["sk_solvers.c"],
    "_build_info": [],
}

# Portable and exact: no host-specific instruction sets and no fast-math, so wheels run on
# any x86-64 and keep IEEE semantics (NaN propagation, the BCE log clamp); see
# check_portable below.
# -fno-trapping-math (one piece of fast-math, and harmless on its own: results, NaN and
# inf stay IEEE; only the exception *flags*, which nothing reads, may differ) lets GCC turn
# the branches of the loss point functions into selects, without which the loops in
# csrc/fastbp_kernels.c do not vectorize ("control flow in loop"; clang already does it).
# -ffp-contract=off: no fused multiply-adds the source does not ask for.  GCC contracts
# a*b - c*d by default wherever FMA exists (the AVX2 target_clones), and the residue of
# the unrounded product turns torch's exact 0 into +-tiny: times an infinite weight, inf
# where torch gives nan (its cost: bench/README.md).
# -fno-math-errno: sqrt need not set errno (nothing reads it; values stay IEEE's), so the
# optimizer loops vectorize; glibc's vector math (libmvec) stays off: it needs fast-math.
OPT_FLAGS = {"msvc": ["/O2"], "other": ["-O3", "-fno-trapping-math", "-ffp-contract=off",
                                        "-fno-math-errno"]}
# Without OpenMP, `#pragma omp simd` still vectorizes the reductions where supported.
SIMD_ONLY_FLAGS = {"msvc": [], "other": ["-fopenmp-simd"]}

# (compile flags, link flags) to try in order; the first whose probe links wins.
# MSVC ships OpenMP 2.0 as /openmp (vcomp140.dll, which delvewheel vendors).
# gcc and LLVM clang take -fopenmp.  Apple clang refuses -fopenmp but accepts it
# through the preprocessor with Homebrew's or conda's libomp found via CPPFLAGS
# and LDFLAGS (scikit-learn's recipe); the v1 macOS wheels skip OpenMP anyway
# (FASTBP_NO_OPENMP=1 in pyproject.toml: vendored libomp copies clash).
OPENMP_CANDIDATES = {
    "msvc": [(["/openmp"], [])],
    "other": [(["-fopenmp"], ["-fopenmp"])]
    + ([(["-Xpreprocessor", "-fopenmp"], ["-lomp"])] if sys.platform == "darwin" else []),
}

# What the compiled code must never be: built beyond the x86-64 baseline instruction set
# (the binary crashes on older CPUs, and auditwheel still tags such a wheel manylinux),
# or under fast-math (NaN, inf and the BCE clamp break).
# The probe is compiled with the very flags the extensions get, CFLAGS included, so the
# compiler's own predefined macros say what those flags did, whatever they were called.
PORTABILITY_PROBE = textwrap.dedent(
    """
    #if defined(__FAST_MATH__) || defined(_M_FP_FAST)
    #error "fast-math is on: NaN/inf handling and the BCE clamp would break"
    #endif
    #if (defined(__x86_64__) || defined(_M_X64)) \\
        && (defined(__AVX__) || defined(__AVX2__) || defined(__AVX512F__))
    #error "code generation beyond the x86-64 baseline: the binary would crash on older CPUs"
    #endif
    int main(void) { return 0; }
    """
)

# `cimport numpy` (the fused step's array checks): no deprecated NumPy C API.
NUMPY_MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]

CYTHON_DIRECTIVES = dict(
    language_level=3,
    boundscheck=False,
    wraparound=False,
    cdivision=True,
    initializedcheck=False,
    embedsignature=True,
)

OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        return n > 0 ? 0 : 1;
    }
    """
)


SIMD_PROBE = textwrap.dedent(
    """
    int main(void) {
        int s = 0;
        #pragma omp simd reduction(+:s)
        for (int i = 0; i < 4; i++)
            s += i;
        return s == 6 ? 0 : 1;
    }
    """
)


def compiler_family(compiler):
    return "msvc" if compiler.compiler_type == "msvc" else "other"


def openmp_works(compiler, cflags, lflags, probe=OPENMP_PROBE):
    """Compile and link a tiny OpenMP program; any failure means "no OpenMP".

    distutils links executables without $LDFLAGS, so they are passed here: that
    is where a non-default libomp (macOS) is found.
    """
    env_ldflags = shlex.split(os.environ.get("LDFLAGS", ""))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(probe)
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
            compiler.link_executable(objs, "probe", output_dir=tmp,
                                     extra_postargs=lflags + env_ldflags)
        except Exception:  # CompileError, LinkError, missing omp.h: all mean serial
            return False
    return True


def simd_only_flags(compiler):
    """Without OpenMP threads, `#pragma omp simd` alone (-fopenmp-simd) where it compiles."""
    cflags = SIMD_ONLY_FLAGS[compiler_family(compiler)]
    return cflags if cflags and openmp_works(compiler, cflags, [], SIMD_PROBE) else []


def openmp_flags(compiler):
    """(cflags, lflags) for OpenMP, or ([], []) for a serial build."""
    if os.environ.get("FASTBP_NO_OPENMP", "") not in ("", "0"):
        print("fastbp: FASTBP_NO_OPENMP is set: serial build", file=sys.stderr)
        return [], []
    for cflags, lflags in OPENMP_CANDIDATES[compiler_family(compiler)]:
        if openmp_works(compiler, cflags, lflags):
            return cflags, lflags
        print(f"fastbp: OpenMP probe with {cflags} {lflags} failed", file=sys.stderr)
    print("fastbp: no working OpenMP: serial build", file=sys.stderr)
    return [], []


def check_portable(compiler, flags):
    """Refuse to build when the flags (ours plus CFLAGS) leave the baseline or IEEE."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "portable.c")
        with open(src, "w") as f:
            f.write(PORTABILITY_PROBE)
        try:
            compiler.compile([src], output_dir=tmp, extra_postargs=flags)
        except Exception as exc:  # CompileError carrying the probe's #error
            sys.exit(f"fastbp: refusing to build with these compiler flags ({exc}); wheels must "
                     "run on any x86-64 and keep IEEE semantics: remove the offending flag "
                     "from CFLAGS")


class BuildExt(build_ext):
    def build_extensions(self):
        family = compiler_family(self.compiler)
        cflags, lflags = openmp_flags(self.compiler)
        use_openmp = bool(cflags)
        if not use_openmp:
            cflags = simd_only_flags(self.compiler)
        flags = OPT_FLAGS[family] + cflags
        check_portable(self.compiler, flags)
        for ext in self.extensions:
            ext.extra_compile_args = flags
            ext.extra_link_args = lflags
            ext.define_macros = NUMPY_MACROS + [
                ("FASTBP_OPENMP", "1" if use_openmp else "0"),
                ("FASTBP_COMPILE_FLAGS", " ".join(flags)),
            ]
        print(f"fastbp: OpenMP {'on' if use_openmp else 'off'}; flags {flags}", file=sys.stderr)
        super().build_extensions()


def generate_sources():
    """Expand the templates (*.tp) with the specs of specs/ (tools/generate.py)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    for path in generate.generate():
        print(f"fastbp: generated {path.relative_to(generate.ROOT)}", file=sys.stderr)


def extension(name, c_sources):
    # depends: setuptools rebuilds an extension when a source is newer, but never looks
    # into headers, and a spec changes a generated header alone
    return Extension(
        f"fastbp.{name}",
        [f"src/fastbp/{name}.pyx"] + [f"csrc/{c}" for c in c_sources],
        include_dirs=["csrc", numpy.get_include()],
        depends=sorted(glob.glob("csrc/*.h")),
    )


generate_sources()
setup(
    ext_modules=cythonize(
        [extension(name, srcs) for name, srcs in MODULES.items()],
        compiler_directives=CYTHON_DIRECTIVES,
        nthreads=os.cpu_count() or 1,
    ),
    cmdclass={"build_ext": BuildExt},
)
