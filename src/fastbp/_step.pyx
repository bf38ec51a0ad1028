"""The whole training step in one compiled call: zero_grad, forward, loss, backward, SGD.

Its loss and the parameters after it are bit-identical to the five public calls
(``net.zero_grad(); loss = loss_fn(net(x), target); net.backward(loss_fn.backward());
optimizer.step()``) because it runs the very kernels those calls run -- memset for
zero_grad, ``dense_forward``/``dense_backward``, ``activation_forward``/``activation_backward``,
the loss's ``*_value_grad``, ``sgd_update`` -- in the same order, with the same
arguments, on buffers of the same sizes.  The size-based dispatch (plain loop or BLAS)
lives inside those kernels, so both paths take the same branch.  What the fused step
removes is the Python around them: validation of arrays that are already valid, and
allocation (the workspaces persist between calls, sized for one batch size).

Shape letters: N batch, I in_features, O out_features.
"""

cimport numpy as cnp
from cython cimport floating
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

from fastbp._activations cimport IDENTITY, activation_backward, activation_forward
from fastbp._dense cimport dense_backward, dense_forward
from fastbp._losses cimport REDUCTION_MEAN, REDUCTION_SUM, mse_loss_value_grad
from fastbp._optim cimport sgd_update

import numpy as np

from fastbp import _validate as v
from fastbp.losses import MSELoss
from fastbp.optim import SGD

cnp.import_array()

cdef Py_ssize_t MAX_DIM = v.MAX_DIM  # BLAS's 32-bit dimensions


# --- losses -------------------------------------------------------------------------------
# Adding a loss to the fused step: a code below, its class in FUSED_LOSSES, a case in
# loss_value_grad calling that loss's C-level kernel, and in TrainStep.prepare_loss the
# target as that kernel reads it (class indices for cross entropy) and the loss's options
# (new LossArgs fields: weight, ignore_index, label_smoothing, beta, ...).

cdef enum LossKind:
    LOSS_MSE = 1

# Exact classes only: a subclass may compute something else, so it takes the unfused path.
FUSED_LOSSES = {MSELoss: LOSS_MSE}

# reduction='none' makes the loss an array, which train_step returns as the unfused path does.
FUSED_REDUCTIONS = {name: code for name, code in v.REDUCTIONS.items()
                    if code in (REDUCTION_MEAN, REDUCTION_SUM)}


cdef struct LossArgs:
    int kind
    int reduction
    const void* target  # float (N, O) for elementwise losses


cdef floating loss_value_grad(const LossArgs* loss, const floating* out_no, floating* grad_no,
                              Py_ssize_t N, Py_ssize_t O) noexcept nogil:
    """value = loss(out, target); grad = d value / d out -- the loss class's own kernel call.

    IN out_no (N, O); OUT grad_no (N, O).
    """
    if loss.kind == LOSS_MSE:
        # MSELoss -> functional.mse_loss_and_grad -> _losses.mse_loss: no per-element output
        return mse_loss_value_grad(out_no, <const floating*>loss.target, NULL, grad_no,
                                   N * O, loss.reduction)
    return 0  # unreachable: TrainStep.run passes only kinds from FUSED_LOSSES


# --- the step -------------------------------------------------------------------------------

cdef struct DenseSlot:
    # one Layer: its parameters (owned by the Layer) and its workspaces (owned by TrainStep)
    Py_ssize_t I "n_in", O "n_out"  # C names: numpy's headers pull in complex.h, whose I is a macro
    int act
    char* w       # (O, I)
    char* b       # (O,), NULL without bias
    char* gw      # (O, I)
    char* gb      # (O,), NULL without bias
    char* x       # (N, I) the layer's input: a copy of the caller's x for layer 0, else the
                  # previous layer's y
    char* y       # (N, O) the layer's output
    char* gy      # (N, O) d loss / d y: the loss gradient for the last layer, else the next
                  # layer's grad_x
    char* gz      # (N, O) d loss / d (x Wᵀ + b); the same buffer as gy for IDENTITY


cdef struct ParamSlot:
    # one (value, grad) pair of Net.parameters(), with its SGD momentum buffer
    char* p
    char* g
    char* buf     # NULL while SGD has made no buffer (momentum == 0)
    Py_ssize_t n
    bint first    # SGD.step's "buf is None": the first step copies the gradient into buf


cdef struct SgdArgs:
    double lr, momentum, dampening, weight_decay
    bint nesterov, maximize


cdef floating fused_step(DenseSlot* layers, Py_ssize_t n_layers,
                         ParamSlot* params, Py_ssize_t n_params,
                         const floating* x_ni, Py_ssize_t N,
                         const LossArgs* loss, const SgdArgs* sgd) noexcept nogil:
    """One training step; returns the loss value.

    Trusts: the slots point at live buffers of the sizes they state, for this N and
    this dtype; x_ni is (N, layers[0].I); loss.target is what loss.kind reads.
    IN x_ni; IN/OUT every parameter, gradient, momentum buffer and workspace.
    """
    cdef Py_ssize_t k
    cdef DenseSlot* L
    cdef floating* grad
    cdef floating* grad_x
    cdef floating value
    # Net.zero_grad: Layer.zero_grad fills each gradient with +0.0 (all-zero bytes)
    for k in range(n_params):
        memset(params[k].g, 0, params[k].n * sizeof(floating))
    # Net.forward: Layer.forward copies the caller's x, and backward reads that copy
    memcpy(layers[0].x, x_ni, N * layers[0].I * sizeof(floating))
    for k in range(n_layers):
        L = &layers[k]
        dense_forward(<floating*>L.x, <floating*>L.w, <floating*>L.b, <floating*>L.y,
                      N, L.I, L.O)
        if L.act != IDENTITY:  # Layer._forward applies its activation in place
            activation_forward(L.act, <floating*>L.y, <floating*>L.y, N, L.O)
    # loss_fn(output, target), which also computes what loss_fn.backward() returns
    L = &layers[n_layers - 1]
    value = loss_value_grad(loss, <floating*>L.y, <floating*>L.gy, N, L.O)
    # Net.backward: each layer's activation backward, then its dense backward.  Layer 0's
    # grad_x is skipped: dense_backward computes it apart from the parameter gradients.
    for k in range(n_layers - 1, -1, -1):
        L = &layers[k]
        grad = <floating*>L.gy
        if L.act != IDENTITY:  # IDENTITY: Layer._backward passes grad_y on unchanged
            activation_backward(L.act, grad, <floating*>L.y, <floating*>L.gz, N, L.O)
            grad = <floating*>L.gz
        grad_x = <floating*>layers[k - 1].gy if k > 0 else NULL
        dense_backward(grad, <floating*>L.x, <floating*>L.w, grad_x, <floating*>L.gw,
                       <floating*>L.gb, N, L.I, L.O)
    # SGD.step, parameter by parameter in parameters() order
    for k in range(n_params):
        sgd_update(<floating*>params[k].p, <floating*>params[k].g, <floating*>params[k].buf,
                   params[k].n, sgd.lr, sgd.momentum, sgd.dampening, sgd.weight_decay,
                   sgd.nesterov, sgd.maximize, params[k].first)
    return value


cdef inline char* data(cnp.ndarray arr) noexcept:
    return <char*>cnp.PyArray_DATA(arr)


cdef inline bint meets(const char* start, const char* end, const char* other,
                       Py_ssize_t other_bytes) noexcept:
    return start < other + other_bytes and other < end


cdef inline bint is_ready(object a, int typenum, Py_ssize_t rows, Py_ssize_t cols) noexcept:
    """a is already exactly what the kernels read: a C-contiguous, aligned, native-order
    2-D ndarray of typenum with ``cols`` columns (and ``rows`` rows unless rows < 0).
    Anything else goes through _validate, which converts or raises."""
    if not cnp.PyArray_Check(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if cnp.PyArray_NDIM(arr) != 2 or cnp.PyArray_TYPE(arr) != typenum:
        return False
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(arr)
    return (dims[1] == cols and (dims[0] == rows or (rows < 0 and dims[0] <= MAX_DIM))
            and cnp.PyArray_ISCARRAY_RO(arr) and cnp.PyArray_ISNOTSWAPPED(arr))


cdef class TrainStep:
    """A Net's fused training step: pointers to its parameters and the workspaces it owns.

    ``run`` returns the loss of one step, or None when the loss or the optimizer is one
    the fused step does not support (the Net then does the five calls itself).  The
    workspaces are reallocated only when the batch size changes (the dtype is the Net's,
    fixed).  After a step the Layers' forward caches and ``loss_fn.backward()`` refer to
    these workspaces -- the same values the unfused step leaves there -- until the next
    fused step overwrites them.
    """

    cdef tuple layers
    cdef list params          # [(value, grad)], Net.parameters() order, kept alive here
    cdef Py_ssize_t n_layers, n_params
    cdef object dtype
    cdef int typenum
    cdef Py_ssize_t itemsize
    cdef DenseSlot* slots
    cdef ParamSlot* param_slots
    cdef Py_ssize_t batch     # the N the workspaces are sized for; -1 before any
    cdef list inputs, outputs, grad_outputs  # per layer: x (N, I), y (N, O), gy (N, O)
    cdef list grad_preactivations  # per layer: gz (N, O), or gy itself for IDENTITY
    cdef object checked_optimizer, checked_params

    def __cinit__(self, layers):
        self.layers = tuple(layers)
        self.n_layers = len(self.layers)
        self.params = [pair for layer in self.layers for pair in layer.parameters()]
        self.n_params = len(self.params)
        self.dtype = self.layers[0].dtype
        self.typenum = cnp.NPY_DOUBLE if self.dtype == np.float64 else cnp.NPY_FLOAT
        self.itemsize = self.dtype.itemsize
        self.batch = -1
        self.slots = <DenseSlot*>calloc(self.n_layers, sizeof(DenseSlot))
        self.param_slots = <ParamSlot*>calloc(self.n_params, sizeof(ParamSlot))
        if self.slots == NULL or self.param_slots == NULL:
            raise MemoryError()
        cdef DenseSlot* slot
        for k, layer in enumerate(self.layers):
            slot = &self.slots[k]
            slot.I, slot.O, slot.act = layer.in_features, layer.out_features, layer._act
            slot.w, slot.gw = data(layer.weight), data(layer.grad_weight)
            if layer.bias is not None:
                slot.b, slot.gb = data(layer.bias), data(layer.grad_bias)
        for k, (value, grad) in enumerate(self.params):
            self.param_slots[k].p, self.param_slots[k].g = data(value), data(grad)
            self.param_slots[k].n = value.size

    def __dealloc__(self):
        free(self.slots)
        free(self.param_slots)

    def __reduce__(self):
        # copy.deepcopy / pickle of a Net: a fresh TrainStep for the copied Layers
        return (TrainStep, (self.layers,))

    def run(self, x, target, loss_fn, optimizer):
        """The loss after one fused step on (x, target), or None if unsupported.

        Invalid x or target raise exactly as the unfused step would, before anything
        is changed.
        """
        cdef LossArgs loss
        cdef SgdArgs sgd
        cdef double value
        kind = FUSED_LOSSES.get(type(loss_fn))
        reduction = loss_fn.reduction if kind is not None else None
        if (kind is None or type(reduction) is not str or reduction not in FUSED_REDUCTIONS
                or type(optimizer) is not SGD or not self.drives_these_parameters(optimizer)):
            return None
        cdef DenseSlot* last = &self.slots[self.n_layers - 1]
        if not is_ready(x, self.typenum, -1, self.slots[0].I):
            x = v.layer_input(x, "x", self.slots[0].I, self.dtype)
        cdef Py_ssize_t N = cnp.PyArray_DIMS(<cnp.ndarray>x)[0]
        if self.overlaps_published(x):
            x = x.copy()
        target = self.prepare_loss(kind, loss_fn, target, N, last.O, &loss)
        self.ensure_workspaces(N)
        self.read_sgd(optimizer, &sgd)
        cdef char* x_ni = data(x)
        with nogil:
            if self.typenum == cnp.NPY_DOUBLE:
                value = fused_step(self.slots, self.n_layers, self.param_slots, self.n_params,
                                   <double*>x_ni, N, &loss, &sgd)
            else:
                value = fused_step(self.slots, self.n_layers, self.param_slots, self.n_params,
                                   <float*>x_ni, N, &loss, &sgd)
        # what the unfused step leaves behind: each Layer's last input and output, and
        # the gradient loss_fn.backward() returns
        for k in range(self.n_layers):
            layer = self.layers[k]
            layer._x = self.inputs[k]
            layer._y = self.outputs[k]
        loss_fn._grad = self.grad_outputs[self.n_layers - 1]
        return value

    cdef bint drives_these_parameters(self, optimizer):
        """optimizer.params are exactly this Net's (value, grad) arrays, in order."""
        params = optimizer.params
        if len(params) != self.n_params:
            return False
        if optimizer is self.checked_optimizer and params is self.checked_params:
            return True
        for k in range(self.n_params):
            value, grad = params[k]
            if value is not self.params[k][0] or grad is not self.params[k][1]:
                return False
        # Remembered (a strong reference) so the next call skips the comparison.
        self.checked_optimizer, self.checked_params = optimizer, params
        return True

    cdef bint overlaps_published(self, cnp.ndarray a) noexcept:
        """a's bytes meet those of a workspace that a previous step published: layer 0's
        input copy, every layer's output, the loss gradient.  The caller may pass one of
        those back in (say loss_fn.backward() as the next target); the kernel overwrites
        them, so such an input is read from a copy."""
        if self.batch < 0:
            return False
        cdef char* start = data(a)
        cdef char* end = start + cnp.PyArray_NBYTES(a)
        cdef Py_ssize_t row_bytes = self.batch * self.itemsize
        cdef DenseSlot* last = &self.slots[self.n_layers - 1]
        if meets(start, end, self.slots[0].x, row_bytes * self.slots[0].I):
            return True
        if meets(start, end, last.gy, row_bytes * last.O):
            return True
        for k in range(self.n_layers):
            if meets(start, end, self.slots[k].y, row_bytes * self.slots[k].O):
                return True
        return False

    cdef object prepare_loss(self, int kind, loss_fn, target, Py_ssize_t N, Py_ssize_t O,
                             LossArgs* loss):
        """Fill ``loss`` for this call: the loss's options and its target as the kernel
        reads it, converted (and checked) only when needed.  Returns the target array,
        which the caller keeps alive while the kernel runs."""
        loss.kind = kind
        loss.reduction = FUSED_REDUCTIONS[loss_fn.reduction]
        # LOSS_MSE and every elementwise loss: a float array shaped like the output
        if not is_ready(target, self.typenum, N, O):
            target = v.step_target(target, (N, O), self.dtype)
        if self.overlaps_published(target):
            target = target.copy()
        loss.target = data(target)
        return target

    cdef void ensure_workspaces(self, Py_ssize_t N) except *:
        """Per-layer x, y, gy, gz buffers for batch size N (kept while N stays the same)."""
        if N == self.batch:
            return
        self.inputs, self.outputs, self.grad_outputs, self.grad_preactivations = [], [], [], []
        cdef DenseSlot* slot
        x = np.empty((N, self.slots[0].I), dtype=self.dtype)
        for k in range(self.n_layers):
            slot = &self.slots[k]
            y = np.empty((N, slot.O), dtype=self.dtype)
            gy = np.empty((N, slot.O), dtype=self.dtype)
            gz = gy if slot.act == IDENTITY else np.empty((N, slot.O), dtype=self.dtype)
            slot.x, slot.y, slot.gy, slot.gz = data(x), data(y), data(gy), data(gz)
            self.inputs.append(x)
            self.outputs.append(y)
            self.grad_outputs.append(gy)
            self.grad_preactivations.append(gz)
            x = y
        self.batch = N

    cdef void read_sgd(self, optimizer, SgdArgs* sgd) except *:
        """SGD's options as they are now (a schedule may change lr), and its momentum
        buffers made exactly as SGD.step makes them, so fused and manual steps mix."""
        sgd.lr, sgd.momentum = optimizer.lr, optimizer.momentum
        sgd.dampening, sgd.weight_decay = optimizer.dampening, optimizer.weight_decay
        sgd.nesterov, sgd.maximize = optimizer.nesterov, optimizer.maximize
        buffers = optimizer._buffers
        cdef ParamSlot* slot
        for k in range(self.n_params):
            slot = &self.param_slots[k]
            buf = buffers[k]
            slot.first = buf is None
            if sgd.momentum != 0 and buf is None:
                buf = buffers[k] = np.empty_like(optimizer._flat[k][0])
            slot.buf = data(buf) if buf is not None else NULL
