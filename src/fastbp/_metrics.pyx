"""Classification accuracy counts and per-column standardization, for Net.fit/evaluate and
the command line.

Trusts: arrays are C-contiguous with the shapes the docstrings name (checked by
fastbp._validate / fastbp.training), class indices already checked to be in range
(the loss that ran on the same target checked them).
"""

from cython cimport floating
from libc.math cimport sqrt
from libc.stdint cimport int64_t


def count_argmax_correct(const floating[:, ::1] out_nc, const int64_t[::1] target_n,
                         int64_t ignore_index):
    """(correct, counted): rows whose first maximal output column is the target index,
    and rows whose target is not ``ignore_index``.  A row with a NaN output never counts
    as correct (NumPy's argmax would pick the NaN).  IN out_nc, target_n."""
    cdef Py_ssize_t n, N = out_nc.shape[0], C = out_nc.shape[1]
    cdef Py_ssize_t correct = 0, counted = 0
    with nogil:
        for n in range(N):
            if target_n[n] == ignore_index:
                continue
            counted += 1
            if _argmax_row(&out_nc[n, 0], C) == target_n[n]:
                correct += 1
    return correct, counted


def count_argmax_agree(const floating[:, ::1] out_nc, const floating[:, ::1] target_nc):
    """(correct, counted) for class-probability targets: rows whose output argmax equals
    the target's argmax (first maximum each).  IN out_nc, target_nc."""
    cdef Py_ssize_t n, N = out_nc.shape[0], C = out_nc.shape[1]
    cdef Py_ssize_t correct = 0
    with nogil:
        for n in range(N):
            if _argmax_row(&out_nc[n, 0], C) == _argmax_row(&target_nc[n, 0], C):
                correct += 1
    return correct, N


cdef inline Py_ssize_t _argmax_row(const floating* row, Py_ssize_t C) noexcept nogil:
    """Index of the first maximum; -1 when the row holds a NaN."""
    cdef Py_ssize_t c, best = 0
    cdef floating top = row[0]
    for c in range(C):
        if row[c] != row[c]:
            return -1
        if row[c] > top:
            top = row[c]
            best = c
    return best


def count_threshold_correct(const floating[::1] out, const floating[::1] target,
                            double threshold):
    """(correct, counted): elements where (out > threshold) equals the target read as a
    0/1 label (target == 1), as Keras's binary_accuracy.  IN out, target (same length)."""
    cdef Py_ssize_t i, n = out.shape[0], correct = 0
    cdef bint predicted
    with nogil:
        for i in range(n):
            predicted = out[i] > threshold
            if (predicted and target[i] == 1) or (not predicted and target[i] == 0):
                correct += 1
    return correct, n


def column_mean_std(const double[:, ::1] x_nf, double[::1] mean_f, double[::1] std_f):
    """Per-column mean and population standard deviation (ddof 0, as scikit-learn's
    StandardScaler), two passes; a column with std 0 gets std 1 (StandardScaler's rule),
    so a constant feature becomes 0.  IN x_nf; OUT mean_f, std_f.  Needs N >= 1."""
    cdef Py_ssize_t n, f, N = x_nf.shape[0], F = x_nf.shape[1]
    cdef double d
    with nogil:
        for f in range(F):
            mean_f[f] = 0.0
            std_f[f] = 0.0
        for n in range(N):
            for f in range(F):
                mean_f[f] += x_nf[n, f]
        for f in range(F):
            mean_f[f] /= N
        for n in range(N):
            for f in range(F):
                d = x_nf[n, f] - mean_f[f]
                std_f[f] += d * d
        for f in range(F):
            std_f[f] = sqrt(std_f[f] / N)
            if std_f[f] == 0.0:
                std_f[f] = 1.0


def standardize(const double[:, ::1] x_nf, const double[::1] mean_f, const double[::1] std_f,
                floating[:, ::1] out_nf):
    """out = (x - mean) / std per column, computed in double and rounded once to out's
    dtype.  IN x_nf, mean_f, std_f; OUT out_nf (same shape as x_nf)."""
    cdef Py_ssize_t n, f, N = x_nf.shape[0], F = x_nf.shape[1]
    with nogil:
        for n in range(N):
            for f in range(F):
                out_nf[n, f] = <floating>((x_nf[n, f] - mean_f[f]) / std_f[f])


def argmax_rows(const floating[:, ::1] out_nc, int64_t[::1] index_n):
    """index_n[n] = the first maximal column of row n (-1 for a row holding a NaN).
    IN out_nc; OUT index_n (N,)."""
    cdef Py_ssize_t n, N = out_nc.shape[0], C = out_nc.shape[1]
    with nogil:
        for n in range(N):
            index_n[n] = _argmax_row(&out_nc[n, 0], C)
