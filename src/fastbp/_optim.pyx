"""Optimizer update rules (torch.optim's single-tensor paths), one parameter at a time.

Trusts: the slots' buffers hold n elements of the slot's dtype and do not overlap; the
hyperparameters were checked by the optimizer's constructor.
"""

cimport numpy as cnp
from cython cimport floating
from libc.math cimport pow, sqrt, sqrtf
from libc.stdint cimport uint32_t
from libc.stdlib cimport calloc, free
from cython.parallel cimport prange

from fastbp._options cimport OptionWatch, immutable_options, unchanged_since

import numpy as np

cnp.import_array()

# the state buffer index of each rule's buffers (see _optim.pxd)
cdef enum:
    SGD_MOMENTUM = 0
    ADAM_EXP_AVG = 0
    ADAM_EXP_AVG_SQ = 1
    ADAM_MAX_EXP_AVG_SQ = 2
    RMSPROP_SQUARE_AVG = 0
    RMSPROP_MOMENTUM = 1
    RMSPROP_GRAD_AVG = 2
    ADAGRAD_SUM = 0

# torch counts steps in a float32 tensor: the count stops at 2**24 (2**24 + 1 rounds to it)
cdef double MAX_STEP = 16777216.0
# An update streams 3 to 6 arrays: from 4 blocks of 16384 elements, the second core's
# bandwidth (and L2) pays for an OpenMP region.
cdef enum:
    UPDATE_BLOCK = 16384
    PARALLEL_MIN_UPDATE = 65536
cdef double TINY_POWER = 2.0 ** -56


cdef extern from "fastbp_sgd.h" nogil:
    void fastbp_sgd_f32(float* p, const float* g, float* buf, Py_ssize_t n, double lr,
                        double momentum, double dampening, double weight_decay, int nesterov,
                        int maximize, int first_step)
    void fastbp_sgd_f64(double* p, const double* g, double* buf, Py_ssize_t n, double lr,
                        double momentum, double dampening, double weight_decay, int nesterov,
                        int maximize, int first_step)


cdef void sgd_update(floating* p, const floating* g, floating* buf, Py_ssize_t n,
                     double lr, double momentum, double dampening, double weight_decay,
                     bint nesterov, bint maximize, bint first_step) noexcept nogil:
    """One SGD step, exactly torch.optim.SGD's order of operations (csrc/fastbp_sgd.h).
    IN g; IN/OUT p, buf (buf unused when momentum == 0)."""
    if floating is float:
        fastbp_sgd_f32(p, g, buf, n, lr, momentum, dampening, weight_decay, nesterov,
                       maximize, first_step)
    else:
        fastbp_sgd_f64(p, g, buf, n, lr, momentum, dampening, weight_decay, nesterov,
                       maximize, first_step)


cdef extern from "fastbp_subnormal.h" nogil:
    enum: FASTBP_SUBNORMAL_BLOCK
    double fastbp_opaque(double x)
    uint32_t fastbp_tiny_bound_f32(const double* factors, int count)
    bint fastbp_block_is_tiny(const float** arrays, int count, Py_ssize_t lo, Py_ssize_t n,
                              uint32_t bound, Py_ssize_t stride)


# The update rules below multiply, divide and take square roots through these: with
# ``wide`` (float32 blocks whose state is tiny) in double, then rounded to float, which is
# the float the float operation gives (the double result of two floats' product, quotient
# or root rounds to it), without the subnormal assist (csrc/fastbp_subnormal.h).  ``one``
# is 1.0 from fastbp_opaque: without it GCC turns the double operation back into the float
# one.

cdef inline floating _mul(floating x, floating y, double one, bint wide) noexcept nogil:
    if floating is float:
        if wide:
            return <float>((<double>x * one) * <double>y)
    return x * y


cdef inline floating _div(floating x, floating y, double one, bint wide) noexcept nogil:
    if floating is float:
        if wide:
            return <float>((<double>x * one) / <double>y)
    return x / y


cdef inline floating _root(floating x, double one, bint wide) noexcept nogil:
    if floating is float:
        return <float>sqrt(<double>x * one) if wide else sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating _lerp(floating start, floating end, floating w, floating one_minus_w,
                           bint small, double one, bint wide) noexcept nogil:
    """ATen's lerp (start + w·(end - start) for |w| < 0.5, else end - (end - start)·(1 - w))."""
    cdef floating diff = end - start
    return (start + _mul(w, diff, one, wide) if small
            else end - _mul(diff, one_minus_w, one, wide))


cdef inline floating _adam_moments(floating p, floating g, floating* exp_avg,
                                   floating* exp_avg_sq, floating sign, bint coupled, floating wd,
                                   bint shrink, floating keep, floating w1, floating one_minus_w1,
                                   bint small, floating b2, floating c2, double one,
                                   bint wide) noexcept nogil:
    """adam_update's element step up to the moments: updates *exp_avg and *exp_avg_sq and
    returns p after AdamW's decay."""
    cdef floating d = _mul(g, sign, one, wide)
    d = d + _mul(wd, p, one, wide) if coupled else d
    exp_avg[0] = _lerp(exp_avg[0], d, w1, one_minus_w1, small, one, wide)
    cdef floating v = _mul(exp_avg_sq[0], b2, one, wide)
    exp_avg_sq[0] = v + _mul(_mul(c2, d, one, wide), d, one, wide)
    return _mul(p, keep, one, wide) if shrink else p


cdef void adam_update(floating* p, const floating* g, floating* exp_avg, floating* exp_avg_sq,
                      floating* max_exp_avg_sq, Py_ssize_t n, double lr, double beta1,
                      double beta2, double eps, double weight_decay, bint decoupled,
                      bint amsgrad, bint maximize, double bias_correction1,
                      double bias_correction2_sqrt) noexcept nogil:
    """One Adam (decoupled=False) or AdamW (decoupled=True) step, torch's single-tensor order:

        d = -g if maximize else g
        p = p · (1 - lr·wd)  (AdamW)   |   d = d + wd · p  (Adam)          (wd != 0)
        m = lerp(m, d, 1 - beta1)
        v = v · beta2;  v = v + ((1 - beta2) · d) · d
        vmax = maximum(vmax, v)  (amsgrad; NaN propagates)
        denom = sqrt(v or vmax) / sqrt(1 - beta2**step) + eps
        p = p + (-(lr / (1 - beta1**step)) · m) / denom

    The bias corrections 1 - beta1**step and (1 - beta2**step)**0.5 come in double
    (optimizer_step computes them once a step with pow(), as torch's Python ``**``); every
    tensor operation rounds to the parameter dtype, its scalar operands cast to it first.
    IN g; IN/OUT p, exp_avg, exp_avg_sq and max_exp_avg_sq (only when amsgrad).
    """
    cdef floating neg_step_size = <floating>(-(lr / bias_correction1))
    cdef floating bc2_sqrt = <floating>bias_correction2_sqrt
    cdef floating feps = <floating>eps
    cdef floating sign = -1 if maximize else 1  # d·(-1) is exactly -d
    cdef bint coupled = weight_decay != 0 and not decoupled
    cdef bint shrink = weight_decay != 0 and decoupled
    cdef floating wd = <floating>weight_decay
    cdef floating keep = <floating>(1.0 - lr * weight_decay)
    cdef floating w1 = <floating>(1.0 - beta1)
    cdef floating one_minus_w1 = 1 - w1
    cdef bint small = (w1 if w1 >= 0 else -w1) < <floating>0.5
    cdef floating b2 = <floating>beta2
    cdef floating c2 = <floating>(1.0 - beta2)
    cdef uint32_t bound
    cdef Py_ssize_t lo, hi
    cdef bint wide, wide_next
    cdef double factors[6]
    cdef const float* checked[4]
    if floating is double:
        adam_block(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, n, amsgrad, neg_step_size,
                   bc2_sqrt, feps, sign, coupled, shrink, wd, keep, w1, one_minus_w1, small,
                   b2, c2, False)
    else:
        factors[0], factors[1], factors[2] = neg_step_size, wd, keep
        factors[3], factors[4], factors[5] = w1, one_minus_w1, c2
        bound = fastbp_tiny_bound_f32(factors, 6)
        # (the decaying state; p too under weight decay)
        checked[0], checked[1] = exp_avg, exp_avg_sq
        checked[2] = p if weight_decay != 0 else NULL
        # Each block is checked on its first element of each array (more samples cost the
        # update 10%, this 3%), while the block before it runs, so the loads wait for nothing.
        wide_next = fastbp_block_is_tiny(checked, 3, 0, n, bound, FASTBP_SUBNORMAL_BLOCK)
        lo = 0
        while lo < n:
            hi = lo + min(<Py_ssize_t>FASTBP_SUBNORMAL_BLOCK, n - lo)
            wide = wide_next
            wide_next = fastbp_block_is_tiny(checked, 3, hi, n, bound, FASTBP_SUBNORMAL_BLOCK)
            if wide:  # (two calls: each compiles with its `wide` known)
                adam_block(p + lo, g + lo, exp_avg + lo, exp_avg_sq + lo,
                           max_exp_avg_sq + lo if amsgrad else NULL, hi - lo, amsgrad,
                           neg_step_size, bc2_sqrt, feps, sign, coupled, shrink, wd, keep, w1,
                           one_minus_w1, small, b2, c2, True)
            else:
                adam_block(p + lo, g + lo, exp_avg + lo, exp_avg_sq + lo,
                           max_exp_avg_sq + lo if amsgrad else NULL, hi - lo, amsgrad,
                           neg_step_size, bc2_sqrt, feps, sign, coupled, shrink, wd, keep, w1,
                           one_minus_w1, small, b2, c2, False)
            lo = hi


cdef inline void adam_block(floating* p, const floating* g, floating* exp_avg,
                            floating* exp_avg_sq, floating* max_exp_avg_sq, Py_ssize_t n,
                            bint amsgrad, floating neg_step_size, floating bc2_sqrt,
                            floating feps, floating sign, bint coupled, bint shrink,
                            floating wd, floating keep, floating w1, floating one_minus_w1,
                            bint small, floating b2, floating c2, bint wide) noexcept nogil:
    """adam_update's loops over n elements, through double when ``wide``."""
    cdef Py_ssize_t i
    cdef floating pi, v, vm
    cdef double one = fastbp_opaque(1.0)
    # Loop-invariant choices are selects, and amsgrad (which touches a fourth buffer) is a
    # loop of its own (gcc does not unswitch a branch on it), so that both loops vectorize.
    if not amsgrad:
        for i in range(n):
            pi = _adam_moments(p[i], g[i], &exp_avg[i], &exp_avg_sq[i], sign, coupled, wd,
                               shrink, keep, w1, one_minus_w1, small, b2, c2, one, wide)
            p[i] = pi + _div(_mul(neg_step_size, exp_avg[i], one, wide),
                             _div(_root(exp_avg_sq[i], one, wide), bc2_sqrt, one, wide) + feps,
                             one, wide)
    else:
        for i in range(n):
            pi = _adam_moments(p[i], g[i], &exp_avg[i], &exp_avg_sq[i], sign, coupled, wd,
                               shrink, keep, w1, one_minus_w1, small, b2, c2, one, wide)
            v, vm = exp_avg_sq[i], max_exp_avg_sq[i]
            vm = vm if ((vm >= v) | (vm != vm)) else v  # `|`, not `or`: no branch
            max_exp_avg_sq[i] = vm
            p[i] = pi + _div(_mul(neg_step_size, exp_avg[i], one, wide),
                             _div(_root(vm, one, wide), bc2_sqrt, one, wide) + feps, one, wide)


cdef inline floating _rmsprop_square(floating p, floating g, floating* square_avg,
                                     floating sign, bint decay, floating wd, floating alpha,
                                     floating one_minus_alpha, double one,
                                     bint wide) noexcept nogil:
    """rmsprop_update's element step up to the squared average: updates *square_avg and
    returns the (negated, decayed) gradient d."""
    cdef floating d = _mul(g, sign, one, wide)
    d = d + _mul(wd, p, one, wide) if decay else d
    cdef floating s = _mul(square_avg[0], alpha, one, wide)
    square_avg[0] = s + _mul(_mul(one_minus_alpha, d, one, wide), d, one, wide)
    return d


cdef inline floating _rmsprop_centered(floating d, floating square_avg, floating* grad_avg,
                                       floating w, floating one_minus_w, bint small,
                                       floating eps, double one, bint wide) noexcept nogil:
    """Centered RMSprop's denominator sqrt(s - a·a) + eps, a = lerp(a, d, w) updated."""
    cdef floating a = _lerp(grad_avg[0], d, w, one_minus_w, small, one, wide)
    grad_avg[0] = a
    return _root(square_avg + _mul(_mul(<floating>(-1), a, one, wide), a, one, wide), one,
                 wide) + eps


cdef void rmsprop_update(floating* p, const floating* g, floating* square_avg,
                         floating* grad_avg, floating* momentum_buffer, Py_ssize_t n,
                         double lr, double alpha, double eps, double weight_decay,
                         double momentum, bint centered, bint maximize) noexcept nogil:
    """One RMSprop step, torch's single-tensor order:

        d = -g if maximize else g;  d = d + wd · p                      (wd != 0)
        s = s · alpha;  s = s + ((1 - alpha) · d) · d
        avg = sqrt(s - a·a) with a = lerp(a, d, 1 - alpha)  (centered)  |  sqrt(s)
        avg = avg + eps
        buf = buf · momentum;  buf = buf + d / avg;  p = p + (-lr) · buf   (momentum > 0)
        p = p + ((-lr) · d) / avg                                        (otherwise)

    IN g; IN/OUT p, square_avg, grad_avg (centered only), momentum_buffer (momentum > 0).
    """
    cdef floating sign = -1 if maximize else 1
    cdef bint decay = weight_decay != 0
    cdef floating wd = <floating>weight_decay
    cdef floating fa = <floating>alpha
    cdef floating ca = <floating>(1.0 - alpha)
    cdef floating neg_lr = <floating>(-lr)
    cdef floating mom = <floating>momentum
    cdef bint use_momentum = momentum > 0
    cdef uint32_t bound
    cdef Py_ssize_t lo, hi
    cdef bint wide, wide_next
    cdef double factors[6]
    cdef const float* checked[4]
    if floating is double:
        rmsprop_block(p, g, square_avg, grad_avg, momentum_buffer, n, eps, centered,
                      use_momentum, sign, decay, wd, fa, ca, neg_lr, mom, False)
    else:
        factors[0], factors[1], factors[2], factors[3], factors[4] = neg_lr, wd, fa, ca, mom
        bound = fastbp_tiny_bound_f32(factors, 5)
        checked[0] = square_avg  # (the decaying state; p too under weight decay)
        checked[1] = momentum_buffer if use_momentum else NULL
        checked[2] = grad_avg if centered else NULL
        checked[3] = p if decay else NULL
        # (each block checked as adam_update's are)
        wide_next = fastbp_block_is_tiny(checked, 4, 0, n, bound, FASTBP_SUBNORMAL_BLOCK)
        lo = 0
        while lo < n:
            hi = lo + min(<Py_ssize_t>FASTBP_SUBNORMAL_BLOCK, n - lo)
            wide = wide_next
            wide_next = fastbp_block_is_tiny(checked, 4, hi, n, bound, FASTBP_SUBNORMAL_BLOCK)
            if wide:  # (two calls: each compiles with its `wide` known)
                rmsprop_block(p + lo, g + lo, square_avg + lo,
                              grad_avg + lo if centered else NULL,
                              momentum_buffer + lo if use_momentum else NULL, hi - lo, eps,
                              centered, use_momentum, sign, decay, wd, fa, ca, neg_lr, mom, True)
            else:
                rmsprop_block(p + lo, g + lo, square_avg + lo,
                              grad_avg + lo if centered else NULL,
                              momentum_buffer + lo if use_momentum else NULL, hi - lo, eps,
                              centered, use_momentum, sign, decay, wd, fa, ca, neg_lr, mom,
                              False)
            lo = hi


cdef inline void rmsprop_block(floating* p, const floating* g, floating* square_avg,
                               floating* grad_avg, floating* momentum_buffer, Py_ssize_t n,
                               double eps, bint centered, bint use_momentum, floating sign,
                               bint decay, floating wd, floating fa, floating ca,
                               floating neg_lr, floating mom, bint wide) noexcept nogil:
    """rmsprop_update's loops over n elements, through double when ``wide``."""
    cdef Py_ssize_t i
    cdef floating one_minus_ca = 1 - ca
    cdef bint small = (ca if ca >= 0 else -ca) < <floating>0.5
    cdef floating feps = <floating>eps
    cdef floating d, avg
    cdef double one = fastbp_opaque(1.0)
    # One loop per (centered, momentum) case, since those touch other buffers; within a
    # loop the choices are selects, so that every loop vectorizes.
    if not centered and not use_momentum:
        for i in range(n):
            d = _rmsprop_square(p[i], g[i], &square_avg[i], sign, decay, wd, fa, ca, one, wide)
            p[i] = p[i] + _div(_mul(neg_lr, d, one, wide),
                               _root(square_avg[i], one, wide) + feps, one, wide)
    elif not centered:
        for i in range(n):
            d = _rmsprop_square(p[i], g[i], &square_avg[i], sign, decay, wd, fa, ca, one, wide)
            avg = _root(square_avg[i], one, wide) + feps
            momentum_buffer[i] = (_mul(momentum_buffer[i], mom, one, wide)
                                  + _div(d, avg, one, wide))
            p[i] = p[i] + _mul(neg_lr, momentum_buffer[i], one, wide)
    elif not use_momentum:
        for i in range(n):
            d = _rmsprop_square(p[i], g[i], &square_avg[i], sign, decay, wd, fa, ca, one, wide)
            avg = _rmsprop_centered(d, square_avg[i], &grad_avg[i], ca, one_minus_ca, small,
                                    feps, one, wide)
            p[i] = p[i] + _div(_mul(neg_lr, d, one, wide), avg, one, wide)
    else:
        for i in range(n):
            d = _rmsprop_square(p[i], g[i], &square_avg[i], sign, decay, wd, fa, ca, one, wide)
            avg = _rmsprop_centered(d, square_avg[i], &grad_avg[i], ca, one_minus_ca, small,
                                    feps, one, wide)
            momentum_buffer[i] = (_mul(momentum_buffer[i], mom, one, wide)
                                  + _div(d, avg, one, wide))
            p[i] = p[i] + _mul(neg_lr, momentum_buffer[i], one, wide)


cdef void adagrad_update(floating* p, const floating* g, floating* state_sum, Py_ssize_t n,
                         double lr, double lr_decay, double weight_decay, double eps,
                         bint maximize, double step) noexcept nogil:
    """One Adagrad step, torch's single-tensor order (step already incremented):

        d = -g if maximize else g;  d = d + wd · p                      (wd != 0)
        clr = lr / (1 + (step - 1) · lr_decay)                          (double)
        sum = sum + (1 · d) · d
        p = p + ((-clr) · d) / (sqrt(sum) + eps)

    IN g; IN/OUT p, state_sum.
    """
    cdef Py_ssize_t i
    cdef floating sign = -1 if maximize else 1
    cdef bint decay = weight_decay != 0
    cdef floating wd = <floating>weight_decay
    cdef floating neg_clr = <floating>(-(lr / (1 + (step - 1) * lr_decay)))
    cdef floating feps = <floating>eps
    cdef floating d, s
    for i in range(n):
        d = g[i] * sign
        d = d + wd * p[i] if decay else d
        s = state_sum[i] + d * d
        state_sum[i] = s
        p[i] = p[i] + neg_clr * d / (_sqrt(s) + feps)


# Whether updates may use the OpenMP threads (set_parallel_updates).
cdef bint parallel_updates = False


def set_parallel_updates(bint allowed):
    """Let large updates run on the OpenMP threads: only when the matrix products share
    the kernels' OpenMP pool (fastbp._gemm_backend decides).  Beside a BLAS with a pool of
    its own, an OpenMP region right after a threaded product makes the two pools' spinning
    threads fight over the cores: an epoch ran 15x slower at 2 threads."""
    global parallel_updates
    parallel_updates = allowed


def parallel_updates_allowed():
    return parallel_updates


cdef void optimizer_update(const OptimRecord* rec, ParamSlot* slot) noexcept nogil:
    """One parameter's update; above PARALLEL_MIN_UPDATE elements (and when allowed) its
    blocks run on the OpenMP threads (each element's update reads only that element: the
    same floats)."""
    cdef bint first_sgd = not (slot.ready & (1 << SGD_MOMENTUM))
    cdef Py_ssize_t b, n_blocks = (slot.n + UPDATE_BLOCK - 1) // UPDATE_BLOCK
    if parallel_updates and slot.n >= PARALLEL_MIN_UPDATE:
        for b in prange(n_blocks, schedule="static"):
            update_range(rec, slot, b * UPDATE_BLOCK, min((b + 1) * UPDATE_BLOCK, slot.n),
                         first_sgd)
    else:
        update_range(rec, slot, 0, slot.n, first_sgd)
    if rec.kind == OPTIM_SGD and rec.momentum != 0:
        slot.ready |= 1 << SGD_MOMENTUM


cdef inline void update_range(const OptimRecord* rec, const ParamSlot* slot, Py_ssize_t lo,
                              Py_ssize_t hi, bint first_sgd) noexcept nogil:
    # (the float* / double* argument only picks the dtype's specialisation)
    if slot.is_double:
        update_slot(rec, slot, <double*>slot.p, lo, hi, first_sgd)
    else:
        update_slot(rec, slot, <float*>slot.p, lo, hi, first_sgd)


cdef inline floating* state_at(const ParamSlot* s, int k, floating* dtype,
                               Py_ssize_t lo) noexcept nogil:
    """State buffer k from element lo (NULL when the rule made no such buffer)."""
    return NULL if s.state[k] == NULL else <floating*>s.state[k] + lo


cdef inline void update_slot(const OptimRecord* r, const ParamSlot* s, floating* p,
                             Py_ssize_t lo, Py_ssize_t hi, bint first_sgd) noexcept nogil:
    """Elements [lo, hi) of the slot's update."""
    cdef const floating* g = <const floating*>s.g + lo
    cdef double step = r.step if r.step < MAX_STEP else MAX_STEP
    cdef Py_ssize_t n = hi - lo
    p = p + lo
    if r.kind == OPTIM_SGD:
        sgd_update(p, g, state_at(s, SGD_MOMENTUM, p, lo), n, r.lr, r.momentum, r.dampening,
                   r.weight_decay, r.nesterov, r.maximize, first_sgd)
    elif r.kind == OPTIM_ADAM or r.kind == OPTIM_ADAMW:
        adam_update(p, g, state_at(s, ADAM_EXP_AVG, p, lo), state_at(s, ADAM_EXP_AVG_SQ, p, lo),
                    state_at(s, ADAM_MAX_EXP_AVG_SQ, p, lo), n, r.lr, r.beta1, r.beta2, r.eps,
                    r.weight_decay, r.kind == OPTIM_ADAMW, r.amsgrad, r.maximize,
                    r.bias_correction1, r.bias_correction2_sqrt)
    elif r.kind == OPTIM_RMSPROP:
        rmsprop_update(p, g, state_at(s, RMSPROP_SQUARE_AVG, p, lo),
                       state_at(s, RMSPROP_GRAD_AVG, p, lo), state_at(s, RMSPROP_MOMENTUM, p, lo),
                       n, r.lr, r.alpha, r.eps, r.weight_decay, r.momentum, r.centered,
                       r.maximize)
    elif r.kind == OPTIM_ADAGRAD:
        adagrad_update(p, g, state_at(s, ADAGRAD_SUM, p, lo), n, r.lr, r.lr_decay,
                       r.weight_decay, r.eps, r.maximize, step)


cdef inline double power_of_beta(double beta, double step, double last) noexcept nogil:
    """beta**step (0 <= beta < 1), given its value ``last`` at an earlier step (1.0 if
    none): below 2**-56, 1 - beta**step is 1.0 in double, and at every later step too, where
    beta**step is smaller still; pow (the step's dearest part in a small net) is then
    skipped, the bias correction staying torch's float."""
    return last if last < TINY_POWER else pow(beta, step)


cdef void optimizer_step(OptimRecord* rec, ParamSlot* slots, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    cdef double step
    rec.step += 1
    if rec.kind == OPTIM_ADAM or rec.kind == OPTIM_ADAMW:  # the same for every parameter
        step = rec.step if rec.step < MAX_STEP else MAX_STEP
        rec.beta1_power = power_of_beta(rec.beta1, step, rec.beta1_power)
        rec.beta2_power = power_of_beta(rec.beta2, step, rec.beta2_power)
        rec.bias_correction1 = 1.0 - rec.beta1_power
        rec.bias_correction2_sqrt = pow(1.0 - rec.beta2_power, 0.5)
    for k in range(n):
        optimizer_update(rec, &slots[k])


cdef class OptimizerState:
    """The record of one optimizer over ``params`` ((value, grad) pairs, trusted: validated
    by _validate.parameter_pairs).  Before each step the optimizer writes its
    hyperparameters with ``configure`` and asks for its state buffers with ``need_buffer``."""

    def __cinit__(self, int kind, list params):
        self.rec.kind = kind
        self.rec.beta1_power = self.rec.beta2_power = 1.0
        self.params = params
        self.pending = []
        self.n_params = len(self.params)
        self.buffers = [[None, None, None] for _ in range(self.n_params)]
        self.slots = <ParamSlot*>calloc(max(self.n_params, 1), sizeof(ParamSlot))
        if self.slots == NULL:
            raise MemoryError()
        cdef ParamSlot* s
        for k, (p, g) in enumerate(self.params):
            s = &self.slots[k]
            s.p, s.g = array_data(p), array_data(g)
            s.n, s.is_double = p.size, p.dtype == np.float64

    def __dealloc__(self):
        free(self.slots)

    def __reduce__(self):
        # copy.deepcopy / pickle of an optimizer: the copy points at the copied arrays
        ready = [self.slots[k].ready for k in range(self.n_params)]
        return (OptimizerState, (self.rec.kind, self.params),
                (self.rec.step, self.buffers, ready))

    def __setstate__(self, state):
        self.rec.step, buffers, ready = state
        for k in range(self.n_params):
            for j in range(3):
                if buffers[k][j] is not None:
                    self.set_buffer(k, j, buffers[k][j])
            self.slots[k].ready = ready[k]

    def configure(self, double lr, double momentum=0.0, double dampening=0.0,
                  double weight_decay=0.0, double beta1=0.0, double beta2=0.0,
                  double eps=0.0, double alpha=0.0, double lr_decay=0.0,
                  double initial_accumulator_value=0.0, bint nesterov=False,
                  bint maximize=False, bint amsgrad=False, bint centered=False):
        """The hyperparameters the next step uses (a scheduler may have changed lr)."""
        cdef OptimRecord* r = &self.rec
        r.lr, r.momentum, r.dampening, r.weight_decay = lr, momentum, dampening, weight_decay
        r.beta1, r.beta2, r.eps, r.alpha = beta1, beta2, eps, alpha
        r.lr_decay, r.initial_accumulator_value = lr_decay, initial_accumulator_value
        r.nesterov, r.maximize, r.amsgrad, r.centered = nesterov, maximize, amsgrad, centered
        r.beta1_power = r.beta2_power = 1.0  # (for these betas, not computed yet)
        self.pending = []
        self.watch = None

    def remember_options(self, OptionWatch watch, optimizer, tuple names):
        """The optimizer's attributes ``names`` are the options that the ``configure``
        and ``need_buffer`` calls since the last ``configure`` came from, as they are now;
        ``watch`` counts the changes to its attributes (see configured)."""
        if immutable_options(optimizer, names):
            self.watch, self.changes = watch, watch.changes

    cpdef bint configured(self) noexcept:
        """The record is what its optimizer would configure again: since its
        ``remember_options`` neither ``configure`` nor ``reset`` ran, and no attribute of
        the optimizer was set (its options were immutable objects).  Its buffers were then
        asked for too."""
        return unchanged_since(self.watch, self.changes)

    def need_buffer(self, int index, double fill_value=float("nan"), bint ready=False):
        """Ask for state buffer ``index`` of every parameter, made by the next ``prepare``
        for the parameters that have none yet, as torch makes its state lazily: filled
        with fill_value, or left empty for nan (SGD's momentum buffer, which the first
        update writes); ``ready`` marks it as holding a value."""
        self.pending.append((index, fill_value, ready))

    cpdef prepare(self):
        """Make the buffers asked for since the last ``configure``."""
        for index, fill_value, ready in self.pending:
            for k in range(self.n_params):
                if self.buffers[k][index] is not None:
                    continue
                p = self.params[k][0]
                buf = np.empty_like(p) if fill_value != fill_value else np.full_like(p, fill_value)
                self.set_buffer(k, index, buf)
                if ready:
                    self.slots[k].ready |= 1 << index
        self.pending = []

    cdef void set_buffer(self, Py_ssize_t k, int index, buf) except *:
        self.buffers[k][index] = buf
        self.slots[k].state[index] = array_data(buf)

    def reset(self, steps):
        """Forget every buffer and set the step count (load_state_dict, before its buffers)."""
        self.rec.step = steps
        self.rec.beta1_power = self.rec.beta2_power = 1.0
        self.pending = []
        self.watch = None  # the buffers are to be asked for again
        for k in range(self.n_params):
            self.buffers[k] = [None, None, None]
            self.slots[k].state[0] = self.slots[k].state[1] = self.slots[k].state[2] = NULL
            self.slots[k].ready = 0

    def load_buffer(self, Py_ssize_t k, int index, buf):
        """Parameter k's buffer ``index``: ``buf``, a flat array of the parameter's size and
        dtype that the record owns from now on (trusted), holding a value."""
        self.set_buffer(k, index, buf)
        self.slots[k].ready |= 1 << index

    def buffer(self, Py_ssize_t k, int index):
        """Parameter k's state buffer ``index`` (a flat array), or None."""
        return self.buffers[k][index]

    @property
    def steps(self):
        return self.rec.step

    def step(self):
        """One update of every parameter (optimizer.step())."""
        self.prepare()
        with nogil:
            optimizer_step(&self.rec, self.slots, self.n_params)


cdef inline char* array_data(cnp.ndarray arr) noexcept:
    return <char*>cnp.PyArray_DATA(arr)
