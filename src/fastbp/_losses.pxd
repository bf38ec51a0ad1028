# Loss kernels: one pass computes a loss's reduced value and its gradient.  Each loss is
# defined by its spec (specs/losses/<name>.py); the loops are plain C (csrc/fastbp_kernels.c
# and the files generated from the specs), so that they vectorize.  The public functions and
# _step.pyx run the same records through loss_value_grad.
from cython cimport floating

from fastbp._options cimport OptionWatch
from libc.stdint cimport int64_t

cdef extern from "fastbp_kernels.h" nogil:
    # LossRecord.kind: the codes of specs/losses/ (csrc/fastbp_loss_specs.h, generated); the
    # elementwise losses come first, the class losses' kernels after them
    enum:
        FASTBP_LOSS_KINDS
        FASTBP_ELEMENTWISE_LOSSES
        FASTBP_MAX_LOSS_PARAMS
        FASTBP_LOSS_CROSS_ENTROPY
        FASTBP_LOSS_CROSS_ENTROPY_PROBS
        FASTBP_LOSS_NLL_LOSS
    # exp / log / log1p that vectorize (within 1 ulp of libm)
    double c_exp "fastbp_exp"(double x) noexcept
    double c_log "fastbp_log"(double x) noexcept
    double c_log1p "fastbp_log1p"(double x) noexcept
    double c_log1p_unit "fastbp_log1p_unit"(double z) noexcept  # z in [0, 1] or nan

    # A loss call's arguments besides its input: what _validate prepared from the target and
    # the options.  The public functions and the fused training step run the same record.
    ctypedef struct LossRecord "fastbp_loss_record":
        int kind                     # FASTBP_LOSS_<NAME>
        int reduction                # Reduction
        const void* target           # floats (rows, cols), or int64 class indices (rows,)
        double params[4]             # the spec's PARAMS (FASTBP_MAX_LOSS_PARAMS)
        const void* weights[2]       # NULL or floats: the spec's WEIGHTS, periodic
        Py_ssize_t weight_periods[2] # (elementwise), or the (C,) class weight
        int64_t ignore_index
        double label_smoothing
        Py_ssize_t rows, cols        # the input as (N, C) for the class losses, (n, 1) otherwise


# LossRecord.reduction
cpdef enum Reduction:
    REDUCTION_NONE = 0
    REDUCTION_MEAN = 1
    REDUCTION_SUM = 2


cdef extern from "fastbp_math32.h" nogil:
    # float32 arithmetic (the float32 binary_cross_entropy): p in [0, 1], not nan
    float c_log_unit_f32 "fastbp_log_unit_f32"(float p) noexcept
    float c_log1m_unit_f32 "fastbp_log1m_unit_f32"(float p) noexcept
    # float32 arithmetic (the float32 bce_with_logits): x <= 0 or nan; z in [0, 1] or nan
    float c_exp_nonpositive_f32 "fastbp_exp_nonpositive_f32"(float x) noexcept
    float c_log1p_unit_f32 "fastbp_log1p_unit_f32"(float z) noexcept


# ---- kernels ------------------------------------------------------------------------------
# Shared contract (fastbp_kernels.h has the details):
#   Trusts: C-contiguous arrays of the stated sizes, one dtype; class indices in [0, C) or
#   equal to ignore_index; options valid (the checks of each loss's spec);
#   out and grad overlap neither each other nor the inputs (the loops use restrict).
#   IN x, target, weights.  OUT out: NULL or per-element (per-row for the class losses)
#   values, written for reduction 'none' only;  OUT grad: NULL or d(loss)/d(x), x's size
#   ('none': of the sum).
#   Returns the reduced value ('mean' of nothing is nan, 'sum' 0; 'none' returns 0); for
#   'mean'/'sum' it is computed even when only grad is wanted.
#   No allocation, no Python, no BLAS; OpenMP inside above a size threshold, and the result
#   is the same for any number of threads.

# The loss of a record: value (reduced; 'none' returns 0), per-element out and grad as above.
cdef floating loss_value_grad(const LossRecord* loss, const floating* x, floating* out,
                              floating* grad) noexcept nogil

# What 'mean' divides by: the element count, N for class-probability targets, or the total
# weight of the targets not ignored (so 'sum' over shards / the summed divisor = 'mean').
# (x only picks the dtype of the weights; it is not read.)
cdef double loss_mean_divisor(const LossRecord* loss, const floating* x) noexcept nogil


# a is an exact, contiguous 1-D int64 ndarray of `length` indices (any for -1), each in
# [0, bound) or equal to `ignore` when has_ignore (a check the compiled paths rerun)
cdef bint int64_indices_in_range(a, Py_ssize_t length, int64_t bound, bint has_ignore,
                                 int64_t ignore) noexcept


cdef class LossGrad:
    cdef public object grad
    cdef public bint is_workspace


cdef class LossArgs:
    cdef LossRecord rec
    cdef readonly object input   # the validated input (its dtype picks the kernels)
    cdef readonly tuple arrays   # every array the record points at, kept alive here
    cdef readonly tuple shape    # the caller's input shape (before the class axis moved last)
    cdef readonly bint input_unchecked  # BCE's input values are still to be checked
    cdef public LossGrad grad_cache  # the loss's, which the compiled step sets
    cdef OptionWatch watch   # remember_options's loss's, and its count then
    cdef unsigned long long changes

    cpdef bint made_for(self, input, target) except -1
    cdef bint class_indices_in_range(self, target) noexcept
