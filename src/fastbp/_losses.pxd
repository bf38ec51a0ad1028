# Loss kernels: point functions (value, gradient) on one element, in double, and one kernel
# per loss that computes the reduced value and the gradient in a single pass.
# The point functions and the loops live in csrc/fastbp_kernels.h/.c (plain C, so the loops
# vectorize); this file gives them their Cython names.  _step.pyx calls the same kernels.
from cython cimport floating

from fastbp._options cimport OptionWatch
from libc.stdint cimport int64_t

cpdef enum Reduction:
    REDUCTION_NONE = 0
    REDUCTION_MEAN = 1
    REDUCTION_SUM = 2

# Which loss (LossRecord.kind); the elementwise ones first (elementwise_loss_value_grad's
# `loss`).  CROSS_ENTROPY_PROBS is cross entropy with class-probability targets.
cpdef enum LossKind:
    L1_LOSS = 0
    MSE_LOSS = 1
    SMOOTH_L1_LOSS = 2
    HUBER_LOSS = 3
    BINARY_CROSS_ENTROPY = 4
    BINARY_CROSS_ENTROPY_WITH_LOGITS = 5
    CROSS_ENTROPY = 6
    CROSS_ENTROPY_PROBS = 7
    NLL_LOSS = 8


# A loss call's arguments besides its input: what _validate prepared from the target and
# the options.  The public functions and the fused training step run the same record.
cdef struct LossRecord:
    int kind                     # LossKind
    int reduction                # Reduction
    const void* target           # floats (rows, cols), or int64 class indices (rows,)
    const void* weight           # NULL or floats: periodic (elementwise), (C,) (class losses)
    Py_ssize_t weight_period
    const void* pos_weight       # NULL or periodic floats (binary_cross_entropy_with_logits)
    Py_ssize_t pos_weight_period
    double param                 # beta (smooth_l1_loss), delta (huber_loss)
    int64_t ignore_index
    double label_smoothing
    Py_ssize_t rows, cols        # the input as (N, C) for the class losses, (n, 1) otherwise


cdef extern from "fastbp_kernels.h" nogil:
    # point functions: value of one element and its derivative d(value)/dx
    double c_l1 "fastbp_l1"(double x, double t) noexcept
    double c_l1_grad "fastbp_l1_grad"(double x, double t) noexcept
    double c_mse "fastbp_mse"(double x, double t) noexcept
    double c_mse_grad "fastbp_mse_grad"(double x, double t) noexcept
    double c_smooth_l1 "fastbp_smooth_l1"(double x, double t, double beta) noexcept
    double c_smooth_l1_grad "fastbp_smooth_l1_grad"(double x, double t, double beta) noexcept
    double c_huber "fastbp_huber"(double x, double t, double delta) noexcept
    double c_huber_grad "fastbp_huber_grad"(double x, double t, double delta) noexcept
    double c_bce "fastbp_bce"(double p, double t) noexcept
    double c_bce_grad "fastbp_bce_grad"(double p, double t) noexcept
    # log_weight = 1 + (pos_weight - 1) t, or 1 without pos_weight
    double c_bce_logits "fastbp_bce_logits"(double x, double t, double log_weight) noexcept
    double c_bce_logits_grad "fastbp_bce_logits_grad"(double x, double t,
                                                     double log_weight) noexcept
    # exp / log / log1p that vectorize (within 1 ulp of libm)
    double c_exp "fastbp_exp"(double x) noexcept
    double c_log "fastbp_log"(double x) noexcept
    double c_log1p "fastbp_log1p"(double x) noexcept
    double c_log1p_unit "fastbp_log1p_unit"(double z) noexcept  # z in [0, 1] or nan


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
#   equal to ignore_index; options valid (beta >= 0, delta > 0, 0 <= label_smoothing <= 1);
#   out and grad overlap neither each other nor the inputs (the loops use restrict).
#   IN x, t, weights.  OUT out: NULL or per-element (per-row for the class losses) values,
#   written for reduction 'none' only;  OUT grad: NULL or d(loss)/d(x), x's size ('none':
#   of the sum).
#   Returns the reduced value ('mean' of nothing is nan, 'sum' 0; 'none' returns 0); for
#   'mean'/'sum' it is computed even when only grad is wanted.
#   No allocation, no Python, no BLAS; OpenMP inside above a size threshold, and the result
#   is the same for any number of threads.
# Python-side arguments, as functional.py prepares them: reduction = _validate.reduction_code,
# class targets = _validate.class_indices (int64), class weight (C,) in x's dtype,
# elementwise weights = _validate.periodic_weight(weight, name, input.shape, dtype).
# Elementwise losses: (x, t, out, grad, n, reduction, <options>), all of n elements.
# Class losses:       (x_nc, target, out_n, grad_nc, N, C, reduction, <options>).

cdef floating l1_loss_value_grad(const floating* x, const floating* t, floating* out,
                                 floating* grad, Py_ssize_t n, int reduction) noexcept nogil

cdef floating mse_loss_value_grad(const floating* x, const floating* t, floating* out,
                                  floating* grad, Py_ssize_t n, int reduction) noexcept nogil

# beta >= 0 (0 is L1, as torch)
cdef floating smooth_l1_loss_value_grad(const floating* x, const floating* t, floating* out,
                                        floating* grad, Py_ssize_t n, int reduction,
                                        double beta) noexcept nogil

cdef floating huber_loss_value_grad(const floating* x, const floating* t, floating* out,
                                    floating* grad, Py_ssize_t n, int reduction,
                                    double delta) noexcept nogil

# weight: NULL or weight_period values; element i is weighted by weight[i % weight_period]
# (the weight broadcast over the trailing axes of x; see _validate.periodic_weight).
# x in [0, 1] and not nan (validated).
cdef floating binary_cross_entropy_value_grad(
    const floating* x, const floating* t, floating* out, floating* grad, Py_ssize_t n,
    int reduction, const floating* weight, Py_ssize_t weight_period) noexcept nogil

cdef floating binary_cross_entropy_with_logits_value_grad(
    const floating* x, const floating* t, floating* out, floating* grad, Py_ssize_t n,
    int reduction, const floating* weight, Py_ssize_t weight_period,
    const floating* pos_weight, Py_ssize_t pos_weight_period) noexcept nogil

# Any elementwise loss by its ElementwiseLoss code; `param` is beta or delta (ignored by the
# others), the weights are ignored by the losses that take none.
cdef floating elementwise_loss_value_grad(
    int loss, const floating* x, const floating* t, floating* out, floating* grad,
    Py_ssize_t n, int reduction, double param, const floating* weight,
    Py_ssize_t weight_period, const floating* pos_weight,
    Py_ssize_t pos_weight_period) noexcept nogil

# x_nc logits, target_n class indices, weight_c NULL or (C,)
cdef floating cross_entropy_value_grad(
    const floating* x_nc, const int64_t* target_n, floating* out_n, floating* grad_nc,
    Py_ssize_t N, Py_ssize_t C, int reduction, const floating* weight_c,
    int64_t ignore_index, double label_smoothing) noexcept nogil

# x_nc logits, target_nc class probabilities
cdef floating cross_entropy_probs_value_grad(
    const floating* x_nc, const floating* target_nc, floating* out_n, floating* grad_nc,
    Py_ssize_t N, Py_ssize_t C, int reduction, const floating* weight_c,
    double label_smoothing) noexcept nogil

# x_nc log-probabilities, target_n class indices
cdef floating nll_loss_value_grad(
    const floating* x_nc, const int64_t* target_n, floating* out_n, floating* grad_nc,
    Py_ssize_t N, Py_ssize_t C, int reduction, const floating* weight_c,
    int64_t ignore_index) noexcept nogil


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
