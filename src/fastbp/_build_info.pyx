"""Facts fixed when this binary was compiled, read back from its own C preprocessor.

They describe the build the user has (a wheel, an editable build), not the
source tree: the flags setup.py added, the compiler, OpenMP and the SIMD
baseline.  ``fastbp.show_config()`` prints them.  Every extension is compiled
with the same flags (setup.py applies one list to all), so this module speaks
for all of them.
"""

cdef extern from *:
    """
    #define FASTBP_STR_(x) #x
    #define FASTBP_STR(x) FASTBP_STR_(x)

    /* setup.py passes the flags as bare tokens; a quoted string does not survive
       MSVC's command line, stringifying does (the pybind11 VERSION_INFO idiom). */
    #ifdef FASTBP_COMPILE_FLAGS
    /* the expansion would also expand a flag's tokens that are macros: errno, in
       -fno-math-errno, is one (and linux/unix in GNU C) */
    #pragma push_macro("errno")
    #pragma push_macro("linux")
    #pragma push_macro("unix")
    #undef errno
    #undef linux
    #undef unix
    static const char fastbp_compile_flags[] = FASTBP_STR(FASTBP_COMPILE_FLAGS);
    #pragma pop_macro("unix")
    #pragma pop_macro("linux")
    #pragma pop_macro("errno")
    #else
    static const char fastbp_compile_flags[] = "";
    #endif

    #if defined(__clang__) && defined(__apple_build_version__)
    static const char fastbp_compiler[] = "Apple clang " __clang_version__;
    #elif defined(__clang__)
    static const char fastbp_compiler[] = "clang " __clang_version__;
    #elif defined(__GNUC__)
    static const char fastbp_compiler[] = "gcc " __VERSION__;
    #elif defined(_MSC_VER)
    static const char fastbp_compiler[] = "MSVC " FASTBP_STR(_MSC_FULL_VER);
    #else
    static const char fastbp_compiler[] = "unknown";
    #endif

    /* _OPENMP is defined by the compiler exactly when OpenMP is enabled; its value
       is the date of the supported specification (201511 is OpenMP 4.5). */
    #ifdef _OPENMP
    #include <omp.h>
    static int fastbp_openmp_version(void) { return _OPENMP; }
    static int fastbp_openmp_max_threads(void) { return omp_get_max_threads(); }
    /* where the runtime these extensions bound lives: another library's GNU OpenMP
       shares its thread pool exactly when it resolves this function to the same address */
    static size_t fastbp_openmp_function_address(void) { return (size_t)&omp_get_max_threads; }
    #else
    static int fastbp_openmp_version(void) { return 0; }
    static int fastbp_openmp_max_threads(void) { return 1; }
    static size_t fastbp_openmp_function_address(void) { return 0; }
    #endif

    /* The instruction sets the compiler may use everywhere (not runtime dispatch):
       anything past SSE2 on x86-64 means a -march flag that older CPUs cannot run. */
    static const char fastbp_simd_baseline[] = ""
    #if defined(__x86_64__) || defined(_M_X64)
        " SSE SSE2"
    #endif
    #ifdef __SSE3__
        " SSE3"
    #endif
    #ifdef __SSSE3__
        " SSSE3"
    #endif
    #ifdef __SSE4_1__
        " SSE41"
    #endif
    #ifdef __SSE4_2__
        " SSE42"
    #endif
    #ifdef __AVX__
        " AVX"
    #endif
    #ifdef __FMA__
        " FMA3"
    #endif
    #ifdef __AVX2__
        " AVX2"
    #endif
    #ifdef __AVX512F__
        " AVX512F"
    #endif
    #if defined(__ARM_NEON) || defined(__ARM_NEON__)
        " NEON"
    #endif
    #ifdef __ARM_FEATURE_SVE
        " SVE"
    #endif
        ;
    """
    const char* fastbp_compile_flags
    const char* fastbp_compiler
    const char* fastbp_simd_baseline
    int fastbp_openmp_version() noexcept nogil
    int fastbp_openmp_max_threads() noexcept nogil
    size_t fastbp_openmp_function_address() noexcept nogil


def compile_flags():
    """The flags setup.py added to every extension, e.g. ``'-O3 -fopenmp'``."""
    return fastbp_compile_flags.decode("ascii")


def compiler():
    """The compiler that built the extensions, from its predefined macros."""
    return fastbp_compiler.decode("ascii", "replace")


def openmp_version():
    """The _OPENMP date of the OpenMP the extensions were built with; 0 for a serial build."""
    return fastbp_openmp_version()


def openmp_function_address():
    """The address of omp_get_max_threads in the OpenMP runtime fastbp's kernels use
    (0 in a serial build)."""
    return fastbp_openmp_function_address()


def openmp_max_threads():
    """omp_get_max_threads(): the threads a parallel region would use now (1 when serial)."""
    return fastbp_openmp_max_threads()


def simd_baseline():
    """The SIMD instruction sets every extension may use unconditionally, e.g. ['SSE', 'SSE2']."""
    return fastbp_simd_baseline.decode("ascii").split()
