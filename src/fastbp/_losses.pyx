"""Loss kernels: one pass computes the value and, when asked, the per-element values and
the gradient.

Trusts: C-contiguous arrays of the stated sizes, one dtype; class indices in range or
equal to ignore_index; valid options.  ``fastbp._validate`` checked all of it.
The loops are plain C (csrc/fastbp_kernels.c) so that they vectorize; the cdef kernels
here pick the float32/float64 one.  The gradient is d(loss)/d(input); for reduction
'none' it is that of the sum, as the contract says.  Reductions sum in double over fixed
blocks: exact enough for float32 at any size (torch's float32 sums are cascade sums, as
exact), and the same floats for any number of threads.
"""

cimport numpy as cnp
cimport cython
from cython cimport floating
from libc.stdint cimport int64_t

from fastbp._options cimport OptionWatch, immutable_options, unchanged_since

import numpy as np

cnp.import_array()


cdef extern from "fastbp_kernels.h" nogil:
    const char* fastbp_kernel_dispatch() noexcept
    double fastbp_loss_f32(const LossRecord* r, const float* x, float* out, float* grad) noexcept
    double fastbp_loss_f64(const LossRecord* r, const double* x, double* out,
                           double* grad) noexcept
    Py_ssize_t fastbp_count_outside_unit_interval_f32(const float* x, Py_ssize_t n) noexcept
    Py_ssize_t fastbp_count_outside_unit_interval_f64(const double* x, Py_ssize_t n) noexcept


cdef floating loss_value_grad(const LossRecord* r, const floating* x, floating* out,
                              floating* grad) noexcept nogil:
    # (the C kernels return the value already rounded to the element type)
    if floating is float:
        return <float>fastbp_loss_f32(r, x, out, grad)
    else:
        return fastbp_loss_f64(r, x, out, grad)


cdef double loss_mean_divisor(const LossRecord* r, const floating* x) noexcept nogil:
    cdef const int64_t* target = <const int64_t*>r.target
    cdef const floating* w = <const floating*>r.weights[0]
    cdef Py_ssize_t i
    cdef double total = 0
    if r.kind == FASTBP_LOSS_CROSS_ENTROPY_PROBS:
        return <double>r.rows
    if r.kind != FASTBP_LOSS_CROSS_ENTROPY and r.kind != FASTBP_LOSS_NLL_LOSS:
        return <double>(r.rows * r.cols)
    for i in range(r.rows):
        if target[i] != r.ignore_index:
            total += 1.0 if w == NULL else <double>w[target[i]]
    return total


cdef inline const void* data_or_null(object arr) noexcept:
    return NULL if arr is None else cnp.PyArray_DATA(<cnp.ndarray>arr)


cdef class LossGrad:
    """A loss's last gradient, which its backward() returns, and whether it is a workspace
    of the compiled step (which the next step overwrites: backward() then returns a copy).
    The compiled step sets it through the loss's record."""

    def __init__(self, grad=None, bint is_workspace=False):
        self.grad, self.is_workspace = grad, is_workspace

    def __reduce__(self):
        return (LossGrad, (self.grad, self.is_workspace))


@cython.auto_pickle(False)  # pointers: never pickled
cdef class LossArgs:
    """The named record of one loss call, made by the _validate function of its loss:
    ``input`` and ``target`` validated, options checked, weights prepared (periodic for
    the elementwise losses, (C,) for the class losses)."""

    def __cinit__(self, int kind, int reduction, input, target, tuple weights=(),
                  tuple params=(), int64_t ignore_index=-100, double label_smoothing=0.0,
                  bint input_unchecked=False, tuple shape=None):
        cdef LossRecord* r = &self.rec
        cdef Py_ssize_t i
        if (not 0 <= kind < FASTBP_LOSS_KINDS or len(params) > FASTBP_MAX_LOSS_PARAMS
                or len(weights) > 2):
            raise ValueError(f"LossArgs: no loss kind {kind} with {len(params)} parameters "
                             f"and {len(weights)} weights")
        r.kind, r.reduction = kind, reduction
        r.ignore_index, r.label_smoothing = ignore_index, label_smoothing
        if kind >= FASTBP_ELEMENTWISE_LOSSES:
            r.rows, r.cols = input.shape[0], input.shape[1]
        else:
            r.rows, r.cols = input.size, 1
        r.target = data_or_null(target)
        for i in range(FASTBP_MAX_LOSS_PARAMS):
            r.params[i] = params[i] if i < len(params) else 0.0
        weights = weights + (None,) * (2 - len(weights))
        for i in range(2):
            r.weights[i] = data_or_null(weights[i])
            r.weight_periods[i] = 1 if weights[i] is None else weights[i].size
        self.input, self.arrays = input, (target,) + weights
        self.input_unchecked = input_unchecked
        self.shape = input.shape if shape is None else shape

    @property
    def kind(self):
        return self.rec.kind

    @property
    def reduction(self):
        return self.rec.reduction

    @property
    def per_row(self):
        """A class loss: one value per row of the (N, C) input (else one per element)."""
        return self.rec.kind >= FASTBP_ELEMENTWISE_LOSSES

    def remember_options(self, OptionWatch watch, loss, tuple names):
        """``loss``'s attributes ``names`` are the options this record was made from, as
        they are now, ``watch`` counts the changes to its attributes, and its validation
        read no values: the record may serve again (made_for).  (For a record made from
        its target unconverted.)"""
        if immutable_options(loss, names):
            self.watch, self.changes = watch, watch.changes

    cpdef bint made_for(self, input, target) except -1:
        """This record is what its loss would make again from ``input`` and ``target``:
        it was made from them (unconverted), no attribute of remember_options's loss was
        set since, and their dtype, shape, layout and address are unchanged.  Their values
        may differ: the kernels read them at each call, and class indices are checked
        again here (any out of range: False, and validation raises its error)."""
        if (input is not self.input or target is not self.arrays[0]
                or not unchanged_since(self.watch, self.changes)):
            return False
        cdef bint indices = (self.rec.kind == FASTBP_LOSS_CROSS_ENTROPY
                             or self.rec.kind == FASTBP_LOSS_NLL_LOSS)
        if not (self.class_indices_in_range(target) if indices
                else is_ready_pair(input, target)):
            return False
        cdef cnp.ndarray x = <cnp.ndarray>input
        cdef int d, ndim = cnp.PyArray_NDIM(x)
        if (ndim != len(self.shape) or cnp.PyArray_DATA(<cnp.ndarray>target) != self.rec.target
                or cnp.PyArray_SIZE(x) != self.rec.rows * self.rec.cols):
            return False
        for d in range(ndim):
            if cnp.PyArray_DIMS(x)[d] != <Py_ssize_t>self.shape[d]:
                return False
        return True

    cdef bint class_indices_in_range(self, target) noexcept:
        """target is what _validate.class_indices returns unconverted: (rows,) int64
        indices in [0, cols) or equal to ignore_index."""
        return int64_indices_in_range(target, self.rec.rows, self.rec.cols, True,
                                      self.rec.ignore_index)

    def mean_divisor(self):
        """What reduction='mean' divides the summed loss by (see loss_mean_divisor)."""
        if cnp.PyArray_TYPE(<cnp.ndarray>self.input) == cnp.NPY_DOUBLE:
            return loss_mean_divisor(&self.rec, <const double*>NULL)
        return loss_mean_divisor(&self.rec, <const float*>NULL)


def value_grad(LossArgs args, out, grad):
    """The loss of ``args`` on args.input: the reduced value; fills ``out`` (per element, or
    per row for the class losses; reduction 'none') and ``grad`` (input's shape) when not
    None.  out and grad: new C-contiguous arrays of the input's dtype."""
    cdef cnp.ndarray x = args.input
    cdef void* out_p = <void*>data_or_null(out)
    cdef void* grad_p = <void*>data_or_null(grad)
    cdef double value
    cdef const void* x_p = cnp.PyArray_DATA(x)
    with nogil:
        if cnp.PyArray_TYPE(x) == cnp.NPY_DOUBLE:
            value = loss_value_grad(&args.rec, <const double*>x_p, <double*>out_p,
                                    <double*>grad_p)
        else:
            value = loss_value_grad(&args.rec, <const float*>x_p, <float*>out_p,
                                    <float*>grad_p)
    return value


def ready_pair(a, b):
    """a and b are already what the kernels read, as they are: exact ndarrays of one
    float dtype (float32 or float64) and one shape, C-contiguous, aligned, native order
    (the validation of an elementwise loss's input and target then changes nothing)."""
    return is_ready_pair(a, b)


cdef bint int64_indices_in_range(a, Py_ssize_t length, int64_t bound, bint has_ignore,
                                 int64_t ignore) noexcept:
    """a is an exact, contiguous 1-D int64 ndarray of ``length`` indices (any length < 2**31
    for -1), each in [0, bound) or equal to ``ignore`` (when has_ignore)."""
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray t = <cnp.ndarray>a
    cdef Py_ssize_t i, n = cnp.PyArray_DIMS(t)[0] if cnp.PyArray_NDIM(t) == 1 else -1
    if (cnp.PyArray_TYPE(t) != cnp.NPY_INT64 or n < 0 or (length >= 0 and n != length)
            or n > 2147483647 or not cnp.PyArray_ISCARRAY_RO(t)
            or not cnp.PyArray_ISNOTSWAPPED(t)):
        return False
    cdef const int64_t* index = <const int64_t*>cnp.PyArray_DATA(t)
    for i in range(n):
        if (index[i] < 0 or index[i] >= bound) and not (has_ignore and index[i] == ignore):
            return False
    return True


cdef bint is_ready_pair(a, b) noexcept:
    if not (cnp.PyArray_CheckExact(a) and cnp.PyArray_CheckExact(b)):
        return False
    cdef cnp.ndarray x = <cnp.ndarray>a, t = <cnp.ndarray>b
    cdef int typenum = cnp.PyArray_TYPE(x), d, ndim = cnp.PyArray_NDIM(x)
    if ((typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE)
            or cnp.PyArray_TYPE(t) != typenum or cnp.PyArray_NDIM(t) != ndim):
        return False
    for d in range(ndim):
        if cnp.PyArray_DIMS(x)[d] != cnp.PyArray_DIMS(t)[d]:
            return False
    return (cnp.PyArray_ISCARRAY_RO(x) and cnp.PyArray_ISNOTSWAPPED(x)
            and cnp.PyArray_ISCARRAY_RO(t) and cnp.PyArray_ISNOTSWAPPED(t))


def count_outside_unit_interval(const floating[::1] x):
    """How many elements of x are outside [0, 1] or nan: _validate.unit_interval_values's scan."""
    cdef Py_ssize_t count
    with nogil:
        if floating is float:
            count = fastbp_count_outside_unit_interval_f32(&x[0] if x.shape[0] else NULL,
                                                           x.shape[0])
        else:
            count = fastbp_count_outside_unit_interval_f64(&x[0] if x.shape[0] else NULL,
                                                           x.shape[0])
    return count


cdef inline floating math_point(int which, floating v) noexcept nogil:
    if floating is double:  # exp, log, log1p, log1p_unit
        if which == 0:
            return c_exp(v)
        if which == 1:
            return c_log(v)
        return c_log1p(v) if which == 2 else c_log1p_unit(v)
    else:  # log_unit, log1m_unit, exp_nonpositive, log1p_unit
        if which == 0:
            return c_log_unit_f32(v)
        if which == 1:
            return c_log1m_unit_f32(v)
        return c_exp_nonpositive_f32(v) if which == 2 else c_log1p_unit_f32(v)


def math_function(str name, const floating[::1] x, floating[::1] out):
    """out = f(x) by the vectorizable functions of fastbp_kernels.h (test-only twin: the
    kernels inline them).  float64: "exp", "log", "log1p", "log1p_unit" (x in [0, 1]);
    float32: "log_unit" (log x) and "log1m_unit" (log(1 - x)) for x in [0, 1],
    "exp_nonpositive" for x <= 0, "log1p_unit" for x in [0, 1]."""
    cdef Py_ssize_t i, n = x.shape[0]
    cdef int which
    if floating is double:
        which = ("exp", "log", "log1p", "log1p_unit").index(name)
    else:
        which = ("log_unit", "log1m_unit", "exp_nonpositive", "log1p_unit").index(name)
    with nogil:
        for i in range(n):
            out[i] = math_point(which, x[i])


def kernel_dispatch():
    """Which build of the loss loops runs on this CPU, e.g. 'x86-64-v3 clone' (for show_config)."""
    return fastbp_kernel_dispatch().decode("ascii")
