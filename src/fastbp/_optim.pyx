"""torch.optim's update rules (the single-tensor paths), one parameter at a time.

Trusts: p, g and the state buffers a rule uses are n-element buffers of one dtype
that do not overlap; the hyper-parameters were checked by the optimizer classes.
"""

from cython cimport floating
from libc.math cimport pow, sqrt, sqrtf


cdef void sgd_update(floating* p, const floating* g, floating* buf, Py_ssize_t n,
                     double lr, double momentum, double dampening, double weight_decay,
                     bint nesterov, bint maximize, bint first_step) noexcept nogil:
    """One SGD step, exactly torch.optim.SGD's order of operations:

        d = -g if maximize else g
        d = d + weight_decay · p                      (weight_decay != 0)
        buf = d  (first step)  |  buf = momentum · buf + (1 - dampening) · d
        d = d + momentum · buf (nesterov)  |  d = buf (momentum != 0)
        p = p + (-lr) · d

    Each operation rounds to the parameter dtype, as torch's tensor ops do;
    the hyper-parameters are cast to it first, as torch casts its Scalar alphas.
    IN g; IN/OUT p, buf (buf unused when momentum == 0).
    """
    cdef Py_ssize_t i
    cdef floating d, b
    cdef floating neg_lr = <floating>(-lr)
    cdef floating wd = <floating>weight_decay
    cdef floating mom = <floating>momentum
    cdef floating keep = <floating>(1.0 - dampening)
    cdef bint decay = weight_decay != 0
    # One loop per momentum state, so that the choices left inside are plain selects and
    # gcc vectorizes every loop.  With all the branches in one loop the momentum case did
    # not vectorize ("control flow in loop"); measured for 200,704 float32 (784x256), 1
    # thread: momentum 185 -> 48 µs, plain 32 -> 26 µs.  Same operations per element in
    # the same order, so the same floats.
    if momentum == 0:
        for i in range(n):
            d = -g[i] if maximize else g[i]
            if decay:
                d = d + wd * p[i]
            p[i] = p[i] + neg_lr * d
    elif first_step:
        for i in range(n):
            d = -g[i] if maximize else g[i]
            if decay:
                d = d + wd * p[i]
            buf[i] = d
            p[i] = p[i] + neg_lr * (d + mom * d if nesterov else d)
    else:
        for i in range(n):
            d = -g[i] if maximize else g[i]
            if decay:
                d = d + wd * p[i]
            b = buf[i] * mom + keep * d
            buf[i] = b
            p[i] = p[i] + neg_lr * (d + mom * b if nesterov else b)


def sgd_step(floating[::1] param, const floating[::1] grad, floating[::1] momentum_buffer,
             double lr, double momentum, double dampening, double weight_decay,
             bint nesterov, bint maximize, bint first_step):
    """Update param in place (and momentum_buffer, None when momentum == 0)."""
    cdef floating* buf = NULL
    if momentum_buffer is not None:
        buf = &momentum_buffer[0]
    with nogil:
        sgd_update(&param[0], &grad[0], buf, param.shape[0], lr, momentum, dampening,
                   weight_decay, nesterov, maximize, first_step)


cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating _lerp(floating start, floating end, floating w, floating one_minus_w,
                           bint small) noexcept nogil:
    """ATen's lerp (start + w·(end - start) for |w| < 0.5, else end - (end - start)·(1 - w))."""
    cdef floating diff = end - start
    return start + w * diff if small else end - diff * one_minus_w


cdef void adam_update(floating* p, const floating* g, floating* exp_avg, floating* exp_avg_sq,
                      floating* max_exp_avg_sq, Py_ssize_t n, double lr, double beta1,
                      double beta2, double eps, double weight_decay, bint decoupled,
                      bint amsgrad, bint maximize, double step) noexcept nogil:
    """One Adam (decoupled=False) or AdamW (decoupled=True) step, torch's single-tensor order:

        d = -g if maximize else g
        p = p · (1 - lr·wd)  (AdamW)   |   d = d + wd · p  (Adam)          (wd != 0)
        m = lerp(m, d, 1 - beta1)
        v = v · beta2;  v = v + ((1 - beta2) · d) · d
        vmax = maximum(vmax, v)  (amsgrad; NaN propagates)
        denom = sqrt(v or vmax) / sqrt(1 - beta2**step) + eps
        p = p + (-(lr / (1 - beta1**step)) · m) / denom

    The bias corrections are computed in double from the step count (already incremented)
    with pow(), as torch's Python ``**``; every tensor operation rounds to the parameter
    dtype, its scalar operands cast to it first.  IN g; IN/OUT p, exp_avg, exp_avg_sq and
    max_exp_avg_sq (only when amsgrad).
    """
    cdef Py_ssize_t i
    cdef double bias_correction1 = 1.0 - pow(beta1, step)
    cdef double bias_correction2 = 1.0 - pow(beta2, step)
    cdef floating neg_step_size = <floating>(-(lr / bias_correction1))
    cdef floating bc2_sqrt = <floating>pow(bias_correction2, 0.5)
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
    cdef floating d, pi, m, v, vm
    # Loop-invariant choices are selects, and amsgrad (which touches a fourth buffer) is a
    # loop of its own, so that both loops vectorize.
    if not amsgrad:
        for i in range(n):
            pi = p[i]
            d = g[i] * sign
            d = d + wd * pi if coupled else d
            pi = pi * keep if shrink else pi
            m = _lerp(exp_avg[i], d, w1, one_minus_w1, small)
            exp_avg[i] = m
            v = exp_avg_sq[i] * b2
            v = v + c2 * d * d
            exp_avg_sq[i] = v
            p[i] = pi + neg_step_size * m / (_sqrt(v) / bc2_sqrt + feps)
    else:
        for i in range(n):
            pi = p[i]
            d = g[i] * sign
            d = d + wd * pi if coupled else d
            pi = pi * keep if shrink else pi
            m = _lerp(exp_avg[i], d, w1, one_minus_w1, small)
            exp_avg[i] = m
            v = exp_avg_sq[i] * b2
            v = v + c2 * d * d
            exp_avg_sq[i] = v
            vm = max_exp_avg_sq[i]
            vm = vm if (vm >= v or vm != vm) else v
            max_exp_avg_sq[i] = vm
            p[i] = pi + neg_step_size * m / (_sqrt(vm) / bc2_sqrt + feps)


def adam_step(floating[::1] param, const floating[::1] grad, floating[::1] exp_avg,
              floating[::1] exp_avg_sq, floating[::1] max_exp_avg_sq, double lr, double beta1,
              double beta2, double eps, double weight_decay, bint decoupled, bint amsgrad,
              bint maximize, double step):
    """Update param and the moments in place (max_exp_avg_sq None unless amsgrad)."""
    cdef floating* vmax = NULL
    if max_exp_avg_sq is not None:
        vmax = &max_exp_avg_sq[0]
    with nogil:
        adam_update(&param[0], &grad[0], &exp_avg[0], &exp_avg_sq[0], vmax, param.shape[0],
                    lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize, step)


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
    cdef Py_ssize_t i
    cdef floating sign = -1 if maximize else 1
    cdef bint decay = weight_decay != 0
    cdef floating wd = <floating>weight_decay
    cdef floating fa = <floating>alpha
    cdef floating ca = <floating>(1.0 - alpha)
    cdef floating one_minus_ca = 1 - ca
    cdef bint small = (ca if ca >= 0 else -ca) < <floating>0.5
    cdef floating feps = <floating>eps
    cdef floating neg_lr = <floating>(-lr)
    cdef floating mom = <floating>momentum
    cdef bint use_momentum = momentum > 0
    cdef floating d, s, a, avg, b
    for i in range(n):
        d = g[i] * sign
        if decay:
            d = d + wd * p[i]
        s = square_avg[i] * fa
        s = s + ca * d * d
        square_avg[i] = s
        if centered:
            a = _lerp(grad_avg[i], d, ca, one_minus_ca, small)
            grad_avg[i] = a
            avg = _sqrt(s + <floating>(-1) * a * a)
        else:
            avg = _sqrt(s)
        avg = avg + feps
        if use_momentum:
            b = momentum_buffer[i] * mom
            b = b + d / avg
            momentum_buffer[i] = b
            p[i] = p[i] + neg_lr * b
        else:
            p[i] = p[i] + neg_lr * d / avg


def rmsprop_step(floating[::1] param, const floating[::1] grad, floating[::1] square_avg,
                 floating[::1] grad_avg, floating[::1] momentum_buffer, double lr, double alpha,
                 double eps, double weight_decay, double momentum, bint centered, bint maximize):
    """Update param and the state in place (grad_avg None unless centered, momentum_buffer
    None unless momentum > 0)."""
    cdef floating* avg = NULL
    cdef floating* buf = NULL
    if grad_avg is not None:
        avg = &grad_avg[0]
    if momentum_buffer is not None:
        buf = &momentum_buffer[0]
    with nogil:
        rmsprop_update(&param[0], &grad[0], &square_avg[0], avg, buf, param.shape[0], lr,
                       alpha, eps, weight_decay, momentum, centered, maximize)


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


def adagrad_step(floating[::1] param, const floating[::1] grad, floating[::1] state_sum,
                 double lr, double lr_decay, double weight_decay, double eps, bint maximize,
                 double step):
    """Update param and state_sum in place."""
    with nogil:
        adagrad_update(&param[0], &grad[0], &state_sum[0], param.shape[0], lr, lr_decay,
                       weight_decay, eps, maximize, step)
