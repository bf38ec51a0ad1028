"""The whole training step in one compiled call: zero_grad, forward, loss, backward, SGD.

Its loss and the parameters after it are bit-identical to the five public calls
(``net.zero_grad(); loss = loss_fn(net(x), target); net.backward(loss_fn.backward());
optimizer.step()``) because it runs the very kernels those calls run -- memset for
zero_grad, ``dense_forward``/``dense_backward``, ``activation_forward``/``activation_backward``,
the loss's ``*_value_grad``, ``sgd_update`` -- in the same order, with the same
arguments, on buffers of the same sizes.  (One exception to the order: the gradients are
zeroed after the forward, which reads none of them, so that BCELoss's check of the Net's
output can raise with the gradients untouched.)  The loss's arguments are prepared by the
same ``_validate`` functions ``functional`` calls, so a bad target raises the same error,
here before anything is changed.  The size-based dispatch (plain loop or BLAS) lives
inside the kernels, so both paths take the same branch.  What the fused step removes is
the Python around them: validation of arrays that are already valid, and allocation (the
workspaces persist between calls, sized for one batch size).

Shape letters: N batch, I in_features, O out_features (C, the classes, for the class losses).
"""

cimport numpy as cnp
from cython cimport floating
from libc.stdint cimport int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

from fastbp._activations cimport IDENTITY, activation_backward, activation_forward
from fastbp._dense cimport dense_backward, dense_forward
from fastbp._losses cimport (BINARY_CROSS_ENTROPY, BINARY_CROSS_ENTROPY_WITH_LOGITS,
                             HUBER_LOSS, L1_LOSS, MSE_LOSS, REDUCTION_MEAN, REDUCTION_SUM,
                             SMOOTH_L1_LOSS, cross_entropy_probs_value_grad,
                             cross_entropy_value_grad, elementwise_loss_value_grad,
                             nll_loss_value_grad)
from fastbp._optim cimport sgd_update

import numpy as np

from fastbp import _validate as v
from fastbp.losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss,
                           MSELoss, NLLLoss, SmoothL1Loss)
from fastbp.optim import SGD

cnp.import_array()

cdef Py_ssize_t MAX_DIM = v.MAX_DIM  # BLAS's 32-bit dimensions


# --- losses -------------------------------------------------------------------------------
# Adding a loss to the fused step: its class in FUSED_LOSSES with a code (an ElementwiseLoss
# code for an elementwise loss: it then runs through elementwise_loss_value_grad, as
# functional does), a case in loss_value_grad calling the loss's C-level kernel if it is
# not elementwise, and a case in TrainStep.prepare_loss that reads the loss's options and
# prepares its arguments with the _validate function that functional uses.

# The class losses, numbered after the ElementwiseLoss codes
cdef enum:
    CROSS_ENTROPY = 100
    CROSS_ENTROPY_PROBS = 101  # chosen per call, by the target (class probabilities)
    NLL_LOSS = 102

# Exact classes only: a subclass may compute something else, so it takes the unfused path.
cdef dict fused_losses = {L1Loss: L1_LOSS, MSELoss: MSE_LOSS, SmoothL1Loss: SMOOTH_L1_LOSS,
                          HuberLoss: HUBER_LOSS, BCELoss: BINARY_CROSS_ENTROPY,
                          BCEWithLogitsLoss: BINARY_CROSS_ENTROPY_WITH_LOGITS,
                          CrossEntropyLoss: CROSS_ENTROPY, NLLLoss: NLL_LOSS}

# reduction='none' makes the loss an array, which train_step returns as the unfused path does.
cdef dict fused_reductions = {name: code for name, code in v.REDUCTIONS.items()
                              if code in (REDUCTION_MEAN, REDUCTION_SUM)}

# The same dicts for Python (C-level dicts make run's lookups direct)
FUSED_LOSSES, FUSED_REDUCTIONS = fused_losses, fused_reductions


cdef struct LossArgs:
    # a loss kernel's arguments besides the Net's output and its gradient, as functional
    # prepares them
    int kind                     # a code of FUSED_LOSSES, or CROSS_ENTROPY_PROBS
    int reduction
    const void* target           # floats (N, O), or int64 class indices (N,)
    const void* weight           # NULL or floats: periodic (elementwise losses), (C,) (class)
    Py_ssize_t weight_period
    const void* pos_weight       # NULL or periodic floats (BCEWithLogitsLoss)
    Py_ssize_t pos_weight_period
    double param                 # beta (SmoothL1Loss), delta (HuberLoss)
    int64_t ignore_index
    double label_smoothing


cdef floating loss_value_grad(const LossArgs* loss, const floating* out_no, floating* grad_no,
                              Py_ssize_t N, Py_ssize_t O) noexcept nogil:
    """value = loss(out, target); grad = d value / d out -- the loss class's own kernel call
    (its loss_fn(...) computes no per-element output for 'mean' and 'sum': NULL).

    IN out_no (N, O); OUT grad_no (N, O).
    """
    cdef const floating* weight = <const floating*>loss.weight
    if loss.kind == CROSS_ENTROPY:  # CrossEntropyLoss -> _losses.cross_entropy
        return cross_entropy_value_grad(out_no, <const int64_t*>loss.target, NULL, grad_no, N,
                                        O, loss.reduction, weight, loss.ignore_index,
                                        loss.label_smoothing)
    if loss.kind == CROSS_ENTROPY_PROBS:  # CrossEntropyLoss -> _losses.cross_entropy_probs
        return cross_entropy_probs_value_grad(out_no, <const floating*>loss.target, NULL,
                                              grad_no, N, O, loss.reduction, weight,
                                              loss.label_smoothing)
    if loss.kind == NLL_LOSS:  # NLLLoss -> _losses.nll_loss
        return nll_loss_value_grad(out_no, <const int64_t*>loss.target, NULL, grad_no, N, O,
                                   loss.reduction, weight, loss.ignore_index)
    # L1Loss, MSELoss, ... -> functional._elementwise -> _losses.elementwise_loss
    return elementwise_loss_value_grad(loss.kind, out_no, <const floating*>loss.target, NULL,
                                       grad_no, N * O, loss.reduction, loss.param, weight,
                                       loss.weight_period,
                                       <const floating*>loss.pos_weight,
                                       loss.pos_weight_period)


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


# The parts of the step fused_step runs (bit flags): the forward alone comes first when the
# loss checks the Net's output (BCELoss) before the rest may run.
cdef enum:
    FORWARD = 1
    LOSS_BACKWARD_UPDATE = 2
    WHOLE_STEP = 3


cdef floating fused_step(int parts, DenseSlot* layers, Py_ssize_t n_layers,
                         ParamSlot* params, Py_ssize_t n_params,
                         const floating* x_ni, Py_ssize_t N,
                         const LossArgs* loss, const SgdArgs* sgd) noexcept nogil:
    """The ``parts`` of one training step; returns the loss value (0 without the loss).

    Trusts: the slots point at live buffers of the sizes they state, for this N and
    this dtype; x_ni is (N, layers[0].I); loss's arrays are what loss.kind reads; none of
    them meets a workspace or a gradient.
    IN x_ni; IN/OUT every parameter, gradient, momentum buffer and workspace.
    """
    cdef Py_ssize_t k
    cdef DenseSlot* L
    cdef floating* grad
    cdef floating* grad_x
    cdef floating value
    if parts & FORWARD:
        # Net.forward: Layer.forward copies the caller's x, and backward reads that copy
        memcpy(layers[0].x, x_ni, N * layers[0].I * sizeof(floating))
        for k in range(n_layers):
            L = &layers[k]
            dense_forward(<floating*>L.x, <floating*>L.w, <floating*>L.b, <floating*>L.y,
                          N, L.I, L.O)
            if L.act != IDENTITY:  # Layer._forward applies its activation in place
                activation_forward(L.act, <floating*>L.y, <floating*>L.y, N, L.O)
    if not parts & LOSS_BACKWARD_UPDATE:
        return 0
    # Net.zero_grad: Layer.zero_grad fills each gradient with +0.0 (all-zero bytes)
    for k in range(n_params):
        memset(params[k].g, 0, params[k].n * sizeof(floating))
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


cdef inline const void* data_or_null(object arr) noexcept:
    if arr is None:
        return NULL
    return <const void*>data(<cnp.ndarray>arr)


cdef inline bint is_ready(object a, int typenum, Py_ssize_t rows, Py_ssize_t cols) noexcept:
    """a is already exactly what the kernels read: a C-contiguous, aligned, native-order
    2-D ndarray (not a subclass) of typenum with ``cols`` columns (and ``rows`` rows
    unless rows < 0).  Anything else goes through _validate, which converts or raises
    (a masked array, say: its mask would be ignored)."""
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if cnp.PyArray_NDIM(arr) != 2 or cnp.PyArray_TYPE(arr) != typenum:
        return False
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(arr)
    return (dims[1] == cols and (dims[0] == rows or (rows < 0 and dims[0] <= MAX_DIM))
            and cnp.PyArray_ISCARRAY_RO(arr) and cnp.PyArray_ISNOTSWAPPED(arr))


cdef inline bint meets(const char* start, const char* end, const char* other,
                       Py_ssize_t other_bytes) noexcept:
    return start < other + other_bytes and other < end


cdef class TrainStep:
    """A Net's fused training step: pointers to its parameters and the workspaces it owns.

    ``run`` returns the loss of one step, or None when the loss or the optimizer is one
    the fused step does not support (the Net then does the five calls itself).  The
    workspaces are reallocated only when the batch size changes (the dtype is the Net's,
    fixed).  After a step the Layers' forward caches and ``loss_fn._grad`` refer to these
    workspaces -- the same values the unfused step leaves there -- until the next fused
    step overwrites them; ``loss_fn.backward()`` hands out a copy.
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
    cdef tuple loss_arrays    # what prepare_loss made for the loss kernel (see there)

    def __cinit__(self, layers):
        self.layers = tuple(layers)
        self.n_layers = len(self.layers)
        self.params = [pair for layer in self.layers for pair in layer.parameters()]
        self.n_params = len(self.params)
        self.dtype = self.layers[0].dtype
        self.typenum = cnp.NPY_DOUBLE if self.dtype == np.float64 else cnp.NPY_FLOAT
        self.itemsize = self.dtype.itemsize
        self.batch = -1
        self.loss_arrays = ()
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
        is changed (BCELoss's check of the Net's output: after the forward, which the
        Layers' caches then hold, as on the unfused path).
        """
        cdef LossArgs loss
        cdef SgdArgs sgd
        kind = fused_losses.get(type(loss_fn))
        if kind is None:
            return None
        reduction = loss_fn.reduction
        code = fused_reductions.get(reduction) if type(reduction) is str else None
        if (code is None or type(optimizer) is not SGD
                or not self.drives_these_parameters(optimizer)):
            return None
        given_x = x
        if not is_ready(x, self.typenum, -1, self.slots[0].I):
            x = v.layer_input(x, "x", self.slots[0].I, self.dtype)
        # (before anything reads their values: a target validated from memory that the
        # public calls zero first could raise what they would not)
        if (self.meets_step_memory(x) or self.meets_step_memory(target)
                or (given_x is not x and self.meets_step_memory(given_x))):
            return None
        cdef Py_ssize_t N = cnp.PyArray_DIMS(<cnp.ndarray>x)[0]
        self.ensure_workspaces(N)
        loss.reduction = code
        cdef int parts = WHOLE_STEP
        try:
            self.prepare_loss(kind, loss_fn, target, x, &loss)
            for a in self.loss_arrays:
                if self.meets_step_memory(a):
                    return None
            if loss.kind == BINARY_CROSS_ENTROPY:
                # BCELoss checks its input, the Net's output, before it computes anything
                self.run_parts(FORWARD, x, N, &loss, &sgd)
                self.publish_forward()
                v.unit_interval(self.outputs[self.n_layers - 1], "input")
                parts = LOSS_BACKWARD_UPDATE
            self.read_sgd(optimizer, &sgd)
            value = self.run_parts(parts, x, N, &loss, &sgd)
        finally:
            self.loss_arrays = ()  # the caller's arrays are not kept beyond the call
        # what the unfused step leaves behind: each Layer's last input and output, and
        # the gradient loss_fn.backward() returns
        self.publish_forward()
        loss_fn._grad = self.grad_outputs[self.n_layers - 1]
        loss_fn._grad_is_workspace = True
        return value

    cdef double run_parts(self, int parts, cnp.ndarray x, Py_ssize_t N, const LossArgs* loss,
                          const SgdArgs* sgd):
        cdef double value
        cdef char* x_ni = data(x)
        with nogil:
            if self.typenum == cnp.NPY_DOUBLE:
                value = fused_step(parts, self.slots, self.n_layers, self.param_slots,
                                   self.n_params, <double*>x_ni, N, loss, sgd)
            else:
                value = fused_step(parts, self.slots, self.n_layers, self.param_slots,
                                   self.n_params, <float*>x_ni, N, loss, sgd)
        return value

    cdef void publish_forward(self):
        """Each Layer's forward cache: the workspaces that hold its last input and output."""
        for k in range(self.n_layers):
            layer = self.layers[k]
            layer._x = self.inputs[k]
            layer._y = self.outputs[k]

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

    cdef bint meets_step_memory(self, a):
        """a is an ndarray whose bytes meet memory the step writes before it has read all
        its inputs: a workspace the Layers or loss_fn.backward() published (layer 0's input
        copy, each layer's output, the loss gradient), or a gradient, which the public
        calls zero before they read anything.  The caller may pass such an array (say
        loss_fn.backward() as the next target); the unfused path then runs, whose order of
        reads and writes is the public one by definition.  (Checked against the workspaces
        as they are: for a new batch size, new ones will be written instead, and the check
        was merely cautious.)"""
        if not cnp.PyArray_Check(a):
            return False
        cdef cnp.ndarray arr = <cnp.ndarray>a
        cdef int d, ndim = cnp.PyArray_NDIM(arr)
        cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(arr)
        cdef cnp.npy_intp* strides = cnp.PyArray_STRIDES(arr)
        cdef Py_ssize_t low = 0, high = cnp.PyArray_ITEMSIZE(arr), extent
        for d in range(ndim):  # the bytes the array spans, whatever its strides
            if dims[d] == 0:
                return False
            extent = (dims[d] - 1) * strides[d]
            if extent < 0:
                low += extent
            else:
                high += extent
        cdef char* start = data(arr) + low
        cdef char* end = data(arr) + high
        for k in range(self.n_params):
            if meets(start, end, self.param_slots[k].g, self.param_slots[k].n * self.itemsize):
                return True
        if self.batch < 0:
            return False
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

    cdef void prepare_loss(self, int kind, loss_fn, target, cnp.ndarray x,
                           LossArgs* loss) except *:
        """Fill ``loss`` (its reduction is set) from the loss's options and the target,
        prepared by the _validate functions functional uses, which raise what the loss
        would raise.

        Validation reads the shape and dtype of the Net's output, never its values, so the
        output workspace stands in for it.  Arrays made here, and the loss's own weights,
        go into self.loss_arrays: kept alive while the kernel runs, and checked for
        overlaps with the step's memory (as ``target`` is).  Allocating nothing on the
        fast path (a ready target, no options) keeps the step free of garbage collections.
        """
        output = self.outputs[self.n_layers - 1]
        loss.kind = kind
        loss.weight = loss.pos_weight = NULL
        loss.weight_period = loss.pos_weight_period = 1
        if kind == CROSS_ENTROPY:  # functional._cross_entropy
            _, prepared, weight, loss.ignore_index, _, loss.label_smoothing, probs = (
                v.cross_entropy_args(output, target, loss_fn.weight, loss_fn.ignore_index,
                                     loss_fn.reduction, loss_fn.label_smoothing))
            if probs:
                loss.kind = CROSS_ENTROPY_PROBS
        elif kind == NLL_LOSS:  # functional._nll_loss
            _, prepared, weight, loss.ignore_index, _ = v.nll_loss_args(
                output, target, loss_fn.weight, loss_fn.ignore_index, loss_fn.reduction)
        else:
            self.prepare_elementwise(kind, loss_fn, target, x, output, loss)
            return
        loss.target = data(prepared)
        loss.weight = data_or_null(weight)
        self.loss_arrays = (prepared, loss_fn.weight, weight)

    cdef void prepare_elementwise(self, int kind, loss_fn, target, cnp.ndarray x, output,
                                  LossArgs* loss) except *:
        """prepare_loss for the elementwise losses: functional._elementwise's checks, in its
        order, after the options functional.<loss>_and_grad checks first."""
        weight = pos_weight = None
        loss.param = 0
        if kind == SMOOTH_L1_LOSS:
            loss.param = v.beta_option(loss_fn.beta)
        elif kind == HUBER_LOSS:
            loss.param = v.delta_option(loss_fn.delta)
        elif kind == BINARY_CROSS_ENTROPY:
            weight = loss_fn.weight
        elif kind == BINARY_CROSS_ENTROPY_WITH_LOGITS:
            weight, pos_weight = loss_fn.weight, loss_fn.pos_weight
        if (kind != BINARY_CROSS_ENTROPY and weight is None and pos_weight is None
                and is_ready(target, self.typenum, self.batch, self.slots[self.n_layers - 1].O)):
            loss.target = data(target)  # what the checks below would pass on unchanged
            return
        _, prepared, _ = v.elementwise_loss_args(output, target, loss_fn.reduction)
        try:
            (w, w_period), (pw, pw_period) = v.elementwise_loss_weights(
                kind, prepared, weight, pos_weight, output.shape, self.dtype)
        except (ValueError, TypeError):
            if kind == BINARY_CROSS_ENTROPY:  # BCELoss checks its input before these
                v.unit_interval(self.output_without_caching(x), "input")
            raise
        loss.target = data(prepared)
        loss.weight, loss.weight_period = data_or_null(w), w_period
        loss.pos_weight, loss.pos_weight_period = data_or_null(pw), pw_period
        self.loss_arrays = (prepared, weight, pos_weight, w, pw)

    cdef object output_without_caching(self, cnp.ndarray x):
        """The Net's output for x, by the Layers' own forward, cached nowhere (an error
        path: which error comes first depends on it)."""
        for layer in self.layers:
            x = layer._output(x)
        return x

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
