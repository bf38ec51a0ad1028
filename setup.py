"""Build the compiled core of fastbp; the metadata lives in pyproject.toml.

The kernels trust their inputs (bounds checks off) because every public entry
point validates first, in ``fastbp/_validate.py``.  OpenMP is used when a test
program compiles and links with it; ``FASTBP_NO_OPENMP=1`` forces a serial build.
"""

import os
import sys
import tempfile
import textwrap

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# One entry per compiled module: extra C sources from csrc/ that it links.
MODULES = {
    "_blas": [],
    "_dense": [],
    "_activations": [],
    "_losses": ["fastbp_kernels.c"],
    "_optim": [],
}

# Never -march=native or -ffast-math: wheels must run on any x86-64 and keep
# IEEE semantics (NaN propagation, the BCE log clamp); see build-notes.md.
# -fno-trapping-math (one piece of -ffast-math, and harmless on its own: results, NaN and
# inf stay IEEE; only the exception *flags*, which nothing reads, may differ) lets GCC turn
# the branches of the loss point functions into selects, without which the loops in
# csrc/fastbp_kernels.c do not vectorize ("control flow in loop"; clang already does it).
OPT_FLAGS = {"msvc": ["/O2"], "other": ["-O3", "-fno-trapping-math"]}
OPENMP_FLAGS = {"msvc": (["/openmp"], []), "other": (["-fopenmp"], ["-fopenmp"])}
# Without OpenMP, `#pragma omp simd` still vectorizes the reductions where supported.
SIMD_ONLY_FLAGS = {"msvc": [], "other": ["-fopenmp-simd"]}

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


def compiler_family(compiler):
    return "msvc" if compiler.compiler_type == "msvc" else "other"


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


def openmp_works(compiler, cflags, lflags, probe=OPENMP_PROBE):
    """Compile and link a tiny OpenMP program; any failure means "no OpenMP"."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(probe)
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
            compiler.link_executable(objs, "probe", output_dir=tmp, extra_postargs=lflags)
        except Exception:  # CompileError, LinkError, missing omp.h: all mean serial
            return False
    return True


class BuildExt(build_ext):
    def build_extensions(self):
        family = compiler_family(self.compiler)
        cflags, lflags = OPENMP_FLAGS[family]
        use_openmp = os.environ.get("FASTBP_NO_OPENMP", "") in ("", "0") and openmp_works(
            self.compiler, cflags, lflags
        )
        if not use_openmp:
            cflags, lflags = SIMD_ONLY_FLAGS[family], []
            if cflags and not openmp_works(self.compiler, cflags, [], SIMD_PROBE):
                cflags = []
        opt = OPT_FLAGS[family]
        for ext in self.extensions:
            ext.extra_compile_args = opt + cflags
            ext.extra_link_args = lflags
            ext.define_macros = [
                ("FASTBP_OPENMP", "1" if use_openmp else "0"),
                ("FASTBP_COMPILE_FLAGS", '"%s"' % " ".join(opt + cflags)),
            ]
        print(f"fastbp: OpenMP {'on' if use_openmp else 'off'}; flags {opt + cflags}", file=sys.stderr)
        super().build_extensions()


def extension(name, c_sources):
    return Extension(
        f"fastbp.{name}",
        [f"src/fastbp/{name}.pyx"] + [f"csrc/{c}" for c in c_sources],
        include_dirs=["csrc"],
    )


setup(
    ext_modules=cythonize(
        [extension(name, srcs) for name, srcs in MODULES.items()],
        compiler_directives=CYTHON_DIRECTIVES,
        nthreads=os.cpu_count() or 1,
    ),
    cmdclass={"build_ext": BuildExt},
)
