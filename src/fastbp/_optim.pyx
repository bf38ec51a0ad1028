"""Optimizer update rules (torch.optim's single-tensor paths), one parameter at a time.

Trusts: the slots' buffers hold n elements of the slot's dtype and do not overlap; the
hyperparameters were checked by the optimizer's constructor.
"""

cimport numpy as cnp
from cython cimport floating
from libc.stdlib cimport calloc, free

import numpy as np

cnp.import_array()

# the state buffer index of each rule's buffers (see _optim.pxd)
cdef enum:
    SGD_MOMENTUM = 0


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
    # gcc vectorizes every loop (bench/README.md has the timings).
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


cdef inline void sgd_slot(const OptimRecord* r, ParamSlot* s, floating* p) noexcept nogil:
    sgd_update(p, <const floating*>s.g, <floating*>s.state[SGD_MOMENTUM], s.n, r.lr,
               r.momentum, r.dampening, r.weight_decay, r.nesterov, r.maximize,
               not (s.ready & (1 << SGD_MOMENTUM)))
    if r.momentum != 0:
        s.ready |= 1 << SGD_MOMENTUM


cdef void optimizer_update(const OptimRecord* rec, ParamSlot* slot) noexcept nogil:
    # (the float* / double* argument only picks the dtype's specialisation)
    if rec.kind == OPTIM_SGD:
        if slot.is_double:
            sgd_slot(rec, slot, <double*>slot.p)
        else:
            sgd_slot(rec, slot, <float*>slot.p)
    # OPTIM_ADAM, OPTIM_ADAMW, OPTIM_RMSPROP, OPTIM_ADAGRAD: a case each, as SGD's


cdef void optimizer_step(OptimRecord* rec, ParamSlot* slots, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    rec.step += 1
    for k in range(n):
        optimizer_update(rec, &slots[k])


cdef class OptimizerState:
    """The record of one optimizer over ``params`` ((value, grad) pairs, trusted: validated
    by _validate.parameter_pairs).  Before each step the optimizer writes its
    hyperparameters with ``configure`` and asks for its state buffers with ``need_buffer``."""

    def __cinit__(self, int kind, list params):
        self.rec.kind = kind
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
        self.pending = []

    def need_buffer(self, int index, double fill_value=float("nan"), bint ready=False):
        """Ask for state buffer ``index`` of every parameter, made by the next ``prepare``
        for the parameters that have none yet, as torch makes its state lazily: filled
        with fill_value, or left empty for nan (SGD's momentum buffer, which the first
        update writes); ``ready`` marks it as holding a value."""
        self.pending.append((index, fill_value, ready))

    def prepare(self):
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
