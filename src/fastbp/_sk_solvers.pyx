"""scikit-learn's MLP training math (sklearn.neural_network, 1.9) on fastbp's kernels.

sklearn keeps coefs_[l] as (fan_in, fan_out): a layer is A[l+1] = A[l] @ W[l] + b[l],
so the GEMMs here are the transposes of ``_dense``'s (which keeps torch's (out, in)).
The loss, its L2 term, the output delta, the gradients and the sgd/adam updates follow
sklearn's _multilayer_perceptron.py, _base.py and _stochastic_optimizers.py in their order
of operations, so float64 results equal sklearn's within rounding.

Trusts (every function here): C-contiguous arrays of one dtype whose shapes agree with
``units`` (the layer sizes) and batch buffers of at least ``batch_size`` rows; indices in
range.  fastbp/sklearn.py builds all of them and ``_validate.check_mlp_parameters``
checks the user-settable coefs_/intercepts_.
"""

cimport cython
cimport numpy as cnp
from cython cimport floating
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.math cimport exp, log, pow, sqrt
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from fastbp._activations cimport RELU, SOFTMAX, activation_backward, activation_forward
from fastbp._blas cimport gemm
from fastbp._dense cimport add_bias, bias_grad
from scipy.linalg.cython_blas cimport ddot, sdot

cnp.import_array()

cdef inline void* data_of(object a):
    return cnp.PyArray_DATA(<cnp.ndarray>a)


@cython.auto_pickle(False)  # internal: no pickling methods (nor their stubs)
cdef class _Pointers:
    """The data pointers of a list of arrays, after `lead` empty slots (freed with it)."""
    cdef void** p

    def __cinit__(self, list arrays, Py_ssize_t lead=0):
        cdef Py_ssize_t i
        self.p = <void**>malloc((lead + len(arrays) + 1) * sizeof(void*))
        if self.p == NULL:
            raise MemoryError()
        for i in range(len(arrays)):
            self.p[lead + i] = data_of(arrays[i])

    def __dealloc__(self):
        free(self.p)


@cython.auto_pickle(False)
cdef class _Layers:
    """A network's pointers: L weight layers, units u[0..L], W, b, and activations A[0..L]
    (A[0], the input rows, is set by the caller)."""
    cdef Py_ssize_t L
    cdef Py_ssize_t* u
    cdef _Pointers W, b, A

    def __cinit__(self, Py_ssize_t n_features, list coefs, list intercepts, list activations):
        cdef Py_ssize_t l
        self.L = len(coefs)
        self.W, self.b, self.A = _Pointers(coefs), _Pointers(intercepts), _Pointers(activations, 1)
        self.u = <Py_ssize_t*>malloc((self.L + 1) * sizeof(Py_ssize_t))
        if self.u == NULL:
            raise MemoryError()
        self.u[0] = n_features
        for l in range(self.L):
            self.u[l + 1] = (<cnp.ndarray>intercepts[l]).shape[0]

    def __dealloc__(self):
        free(self.u)


cdef extern from "sk_solvers.h" nogil:
    void fastbp_sk_softmax_f32(float* y, Py_ssize_t N, Py_ssize_t C)
    void fastbp_sk_softmax_f64(double* y, Py_ssize_t N, Py_ssize_t C)
    void fastbp_sk_finish_coef_grad_f32(float* g, const float* w, Py_ssize_t n, float alpha,
                                        float sw_sum)
    void fastbp_sk_finish_coef_grad_f64(double* g, const double* w, Py_ssize_t n,
                                        double alpha, double sw_sum)


cdef void output_activation(int out_act, floating* y, Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    """sklearn's output activations, in place: identity, logistic, softmax, or exp (poisson)."""
    cdef Py_ssize_t i
    if out_act == EXP:
        for i in range(N * C):
            y[i] = <floating>exp(y[i])
    elif out_act == SOFTMAX:
        if floating is float:
            fastbp_sk_softmax_f32(y, N, C)
        else:
            fastbp_sk_softmax_f64(y, N, C)
    else:
        activation_forward(out_act, y, y, N, C)


cdef void mlp_forward(Py_ssize_t L, const Py_ssize_t* u, floating** W, floating** b,
                      floating** A, Py_ssize_t B, int act, int out_act) noexcept nogil:
    """A[l+1] = f(A[l] @ W[l] + b[l]) for l < L (A[0] is the input batch, B rows)."""
    cdef Py_ssize_t l
    cdef floating* y
    cdef bint hidden
    for l in range(L):
        y = A[l + 1]
        hidden = l + 1 < L
        # the product, then the intercept added to it, as sklearn's two statements (and
        # inplace_relu's np.maximum(y, 0) in the same pass: the floats of torch's relu)
        gemm(False, False, <int>B, <int>u[l + 1], <int>u[l], <floating>1, A[l], <int>u[l],
             W[l], <int>u[l + 1], <floating>0, y, <int>u[l + 1])
        add_bias(y, b[l], B, u[l + 1], hidden and act == RELU)
        if not hidden:
            output_activation(out_act, y, B, u[l + 1])
        elif act != RELU:
            activation_forward(act, y, y, B, u[l + 1])


cdef double data_loss(int loss_kind, const floating* p, const floating* y, const floating* sw,
                      Py_ssize_t B, Py_ssize_t C, double sw_sum) noexcept nogil:
    """sklearn's LOSS_FUNCTIONS[...](y, p, sw) (_base.py): the sample-weighted average over
    the batch, summed over the outputs (averaged for the squared error); probabilities
    clipped to [eps, 1 - eps] for the log losses."""
    cdef Py_ssize_t n, c
    cdef double total = 0, row, w, pc, yc
    cdef floating eps = <floating>(FLT_EPSILON if floating is float else DBL_EPSILON)
    cdef floating one_m_eps = <floating>1 - eps
    cdef floating q
    for n in range(B):
        row = 0
        for c in range(C):
            yc = y[n * C + c]
            if loss_kind == SQUARED:
                pc = yc - p[n * C + c]
                row += pc * pc
            elif loss_kind == POISSON:
                pc = p[n * C + c]
                # xlogy(y, y / p) - y + p, with xlogy(0, .) = 0
                row += (yc * log(yc / pc) if yc != 0 else 0) - yc + pc
            else:
                q = p[n * C + c]
                q = eps if q < eps else (one_m_eps if q > one_m_eps else q)
                if yc != 0:
                    row -= yc * log(q)
                if loss_kind == BINARY_LOG and yc != 1:
                    row -= (1 - yc) * log(<floating>1 - q)
        w = sw[n] if sw != NULL else 1.0
        total += w * row
    total /= sw_sum
    if loss_kind == SQUARED:
        total = 0.5 * total / C
    return total


cdef double mlp_backprop(Py_ssize_t L, const Py_ssize_t* u, floating** W, floating** b,
                         floating** A, floating** D, floating** gW, floating** gb,
                         const floating* Y, const floating* sw, Py_ssize_t B,
                         int act, int out_act, int loss_kind, double alpha) noexcept nogil:
    """sklearn's BaseMultilayerPerceptron._backprop on one batch (A[0] = its rows).

    Returns the loss with its L2 term alpha/2 Σ‖W‖² / Σsw; OUT gW[l], gb[l] (the mean
    gradients with the L2 part), A[1..L] (activations), D[0..L-1] (deltas).
    """
    cdef Py_ssize_t l, n, i, o, C = u[L]
    cdef int n_w, one = 1
    cdef double sw_sum = 0, sq = 0, loss
    cdef floating inv, a = <floating>alpha
    cdef floating* d
    cdef floating* g
    cdef const floating* w
    cdef const floating* relu_z
    mlp_forward(L, u, W, b, A, B, act, out_act)
    if sw != NULL:
        for n in range(B):
            sw_sum += sw[n]
    else:
        sw_sum = B
    loss = data_loss(loss_kind, A[L], Y, sw, B, C, sw_sum)
    for l in range(L):
        # np.dot(s, s) of sklearn's L2 term is BLAS's dot, in the array's dtype
        n_w = <int>(u[l] * u[l + 1])
        if floating is float:
            sq += sdot(&n_w, <float*>W[l], &one, <float*>W[l], &one)
        else:
            sq += ddot(&n_w, <double*>W[l], &one, <double*>W[l], &one)
    loss += (0.5 * alpha) * sq / sw_sum
    # delta[last] = act(z) - y, the canonical-link gradient (times the sample weights)
    d = D[L - 1]
    for i in range(B * C):
        d[i] = A[L][i] - Y[i]
    if sw != NULL:
        for n in range(B):
            for o in range(C):
                d[n * C + o] = d[n * C + o] * sw[n]
    inv = <floating>sw_sum
    for l in range(L - 1, -1, -1):
        d = D[l]
        g = gW[l]
        w = W[l]
        # intercept_grads = delta.sum(axis=0) / sw_sum, the rows summed in NumPy's order;
        # a hidden ReLU's derivative (inplace_relu_derivative: delta[Z == 0] = 0, which is
        # torch's relu backward on relu's output) applied in the same pass
        relu_z = A[l + 1] if l + 1 < L and act == RELU else NULL
        bias_grad(d, relu_z, d, gb[l], B, u[l + 1], False)
        for o in range(u[l + 1]):
            gb[l][o] = gb[l][o] / inv
        # coef_grads = (A[l].T @ delta + alpha W) / sw_sum
        gemm(True, False, <int>u[l], <int>u[l + 1], <int>B, <floating>1, A[l], <int>u[l],
             d, <int>u[l + 1], <floating>0, g, <int>u[l + 1])
        if floating is float:
            fastbp_sk_finish_coef_grad_f32(g, w, u[l] * u[l + 1], a, inv)
        else:
            fastbp_sk_finish_coef_grad_f64(g, w, u[l] * u[l + 1], a, inv)
        if l > 0:
            # delta[l-1] = (delta[l] @ W[l].T) * f'(A[l]) (ReLU's f': at the top of l - 1)
            gemm(False, True, <int>B, <int>u[l], <int>u[l + 1], <floating>1, d, <int>u[l + 1],
                 w, <int>u[l + 1], <floating>0, D[l - 1], <int>u[l])
            if act != RELU:
                activation_backward(act, D[l - 1], A[l], D[l - 1], B, u[l])
    return loss


cdef void sgd_update(floating* p, floating* vel, const floating* g, Py_ssize_t n,
                     floating lr, floating momentum, bint nesterov) noexcept nogil:
    """SGDOptimizer: update = momentum·v - lr·g; v = update; (nesterov: update =
    momentum·v - lr·g); p += update."""
    cdef Py_ssize_t i
    cdef floating up
    for i in range(n):
        up = momentum * vel[i] - lr * g[i]
        vel[i] = up
        if nesterov:
            up = momentum * up - lr * g[i]
        p[i] = p[i] + up


cdef extern from "sk_solvers.h" nogil:
    void fastbp_sk_adam_f32(float* p, float* m, float* v, const float* g, Py_ssize_t n,
                            float neg_lr, float b1, float c1, float b2, float c2, float eps)
    void fastbp_sk_adam_f64(double* p, double* m, double* v, const double* g, Py_ssize_t n,
                            double neg_lr, double b1, double c1, double b2, double c2,
                            double eps)


cdef inline void adam_update(floating* p, floating* m, floating* v, const floating* g,
                             Py_ssize_t n, floating neg_lr, floating beta_1,
                             floating one_m_beta_1, floating beta_2, floating one_m_beta_2,
                             floating eps) noexcept nogil:
    """AdamOptimizer: m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
    p += -lr_t·m / (√v + ε)  (csrc/sk_solvers_passes.h)."""
    if floating is float:
        fastbp_sk_adam_f32(p, m, v, g, n, neg_lr, beta_1, one_m_beta_1, beta_2, one_m_beta_2, eps)
    else:
        fastbp_sk_adam_f64(p, m, v, g, n, neg_lr, beta_1, one_m_beta_1, beta_2, one_m_beta_2, eps)


def forward(const floating[:, ::1] X, list coefs, list intercepts, list outs,
            int activation, int out_activation):
    """outs[l] = the activations of layer l+1 for the rows of X.  OUT outs."""
    cdef _Layers net = _Layers(X.shape[1], coefs, intercepts, outs)
    net.A.p[0] = <void*>&X[0, 0]
    with nogil:
        mlp_forward(net.L, net.u, <floating**>net.W.p, <floating**>net.b.p, <floating**>net.A.p,
                    X.shape[0], activation, out_activation)


def loss_grad(const floating[:, ::1] X, const floating[:, ::1] Y, sample_weight,
              list coefs, list intercepts, list coef_grads, list intercept_grads,
              list activations, list deltas, int activation, int out_activation,
              int loss, double alpha):
    """The loss on all of X (returned) and its gradient (OUT coef_grads, intercept_grads),
    as sklearn's _backprop.  activations[l] (N, units[l+1]) and deltas[l] (N, units[l+1])
    are workspaces; sample_weight is None or an (N,) array."""
    cdef _Layers net = _Layers(X.shape[1], coefs, intercepts, activations)
    cdef _Pointers gW = _Pointers(coef_grads), gb = _Pointers(intercept_grads)
    cdef _Pointers D = _Pointers(deltas)
    cdef void* sw = NULL if sample_weight is None else data_of(sample_weight)
    cdef double value
    net.A.p[0] = <void*>&X[0, 0]
    with nogil:
        value = mlp_backprop(net.L, net.u, <floating**>net.W.p, <floating**>net.b.p,
                             <floating**>net.A.p, <floating**>D.p, <floating**>gW.p,
                             <floating**>gb.p, &Y[0, 0], <floating*>sw, X.shape[0],
                             activation, out_activation, loss, alpha)
    return value


def epoch(const floating[:, ::1] X, const floating[:, ::1] Y, sample_weight, sample_idx,
          Py_ssize_t batch_size, list coefs, list intercepts, list state_1, list state_2,
          list coef_grads, list intercept_grads, list activations, list deltas,
          floating[:, ::1] X_batch, floating[:, ::1] Y_batch, floating[::1] sw_batch,
          int activation, int out_activation, int loss, double alpha,
          bint adam, double learning_rate, double momentum, bint nesterov,
          double beta_1, double beta_2, double epsilon, long long t):
    """One pass of sklearn's _fit_stochastic over the batches gen_batches(N, batch_size)
    of X[sample_idx] (sample_idx None: unshuffled), each batch one _backprop and one
    optimizer update.  state_1/state_2: sgd's velocities (state_2 unused) or adam's ms and
    vs, for coefs then intercepts.  t: adam's step count before the epoch.

    Returns (Σ batch_loss · batch_rows, t after the epoch, adam's last learning rate).
    IN/OUT coefs, intercepts, state_1, state_2; the rest are workspaces.
    """
    cdef Py_ssize_t N = X.shape[0], F = X.shape[1], O = Y.shape[1]
    cdef Py_ssize_t l, start, rows, k, j, n_par
    cdef _Layers net = _Layers(F, coefs, intercepts, activations)
    cdef Py_ssize_t L = net.L
    cdef const Py_ssize_t* u = net.u
    cdef void** W = net.W.p
    cdef void** b = net.b.p
    cdef void** A = net.A.p
    cdef _Pointers gW_ = _Pointers(coef_grads), gb_ = _Pointers(intercept_grads)
    cdef _Pointers D_ = _Pointers(deltas), s1_ = _Pointers(state_1), s2_ = _Pointers(state_2)
    cdef void** gW = gW_.p
    cdef void** gb = gb_.p
    cdef void** D = D_.p
    cdef void** s1 = s1_.p
    cdef void** s2 = s2_.p
    cdef const floating* sw = NULL if sample_weight is None else <floating*>data_of(sample_weight)
    cdef const cnp.npy_intp* idx = NULL if sample_idx is None else <cnp.npy_intp*>data_of(sample_idx)
    cdef const floating* Yb
    cdef const floating* swb
    cdef floating** P
    cdef floating** G
    cdef double total = 0, lr_t = learning_rate
    cdef floating lr = <floating>learning_rate, mom = <floating>momentum
    cdef floating b1 = <floating>beta_1, b2 = <floating>beta_2
    cdef floating c1 = <floating>(1 - beta_1), c2 = <floating>(1 - beta_2)
    cdef floating eps = <floating>epsilon
    with nogil:
        start = 0
        while start < N:
            rows = min(batch_size, N - start)
            if idx != NULL:
                for k in range(rows):
                    j = idx[start + k]
                    memcpy(&X_batch[k, 0], &X[j, 0], F * sizeof(floating))
                    memcpy(&Y_batch[k, 0], &Y[j, 0], O * sizeof(floating))
                    if sw != NULL:
                        sw_batch[k] = sw[j]
                A[0] = &X_batch[0, 0]
                Yb = &Y_batch[0, 0]
                swb = &sw_batch[0] if sw != NULL else NULL
            else:
                A[0] = <void*>&X[start, 0]
                Yb = &Y[start, 0]
                swb = sw + start if sw != NULL else NULL
            total += rows * mlp_backprop(L, u, <floating**>W, <floating**>b, <floating**>A,
                                         <floating**>D, <floating**>gW, <floating**>gb, Yb, swb,
                                         rows, activation, out_activation, loss, alpha)
            if adam:
                t += 1
                lr_t = learning_rate * sqrt(1 - pow(beta_2, <double>t)) / (1 - pow(beta_1, <double>t))
            for l in range(2 * L):
                # params = coefs_ + intercepts_, and their states in the same order
                P = <floating**>(W if l < L else b)
                G = <floating**>(gW if l < L else gb)
                k = l % L
                n_par = u[k] * u[k + 1] if l < L else u[k + 1]
                if adam:
                    adam_update(P[k], <floating*>s1[l], <floating*>s2[l], G[k], n_par,
                                <floating>(-lr_t), b1, c1, b2, c2, eps)
                else:
                    sgd_update(P[k], <floating*>s1[l], G[k], n_par, lr, mom, nesterov)
            start += rows
    return total, t, lr_t
