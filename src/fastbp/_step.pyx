"""The whole training step in one compiled call: zero_grad, forward, loss, backward, update.

Its loss and the parameters after it are bit-identical to the five public calls
(``net.zero_grad(); loss = loss_fn(net(x), target); net.backward(loss_fn.backward());
optimizer.step()``) because it runs the kernels those calls run, in the same order, on the
records those calls use (a ReLU runs inside its layer's bias pass, forward and backward:
the same floats, in one pass over the (N, O) array instead of two): each Layer's
(``layer._fused_record()``), the loss's (``loss_fn._fused_args(output, target)``, made by
the _validate function the loss's own call uses, so a bad target raises the same error,
here before anything is changed) and the optimizer's (``optimizer._fused_record()``, which
``optimizer.step()`` runs too). The gradients are written after the forward, which reads
none of them, so that BCELoss's check of the Net's output can raise with the gradients
untouched; zero_grad is no pass of its own: each layer's backward overwrites its gradients
instead of adding to zeros. What the step removes is the Python around the kernels and the
allocations: the workspaces persist between calls, sized for one batch size.

Shape letters: N batch, I in_features, O out_features.
"""

cimport numpy as cnp
from cython cimport floating
from libc.stdlib cimport calloc, free
from libc.stdint cimport int64_t
from libc.string cimport memcpy
from cpython.exc cimport PyErr_CheckSignals

from fastbp._activations cimport IDENTITY, RELU, act_backward, act_forward, act_needs_input
from fastbp._clip cimport clip_coefficient, scale, vector_norm
from fastbp._dense cimport (ForwardCache, LayerArgs, LayerRecord, bias_grad, dense_backward,
                            dense_forward)
from fastbp._losses cimport (LossArgs, LossGrad, LossRecord, int64_indices_in_range,
                             loss_value_grad)
from fastbp._optim cimport OptimizerState, OptimRecord, ParamSlot, optimizer_step

import time

import numpy as np

from fastbp import _validate as v

cnp.import_array()

cdef Py_ssize_t MAX_DIM = v.MAX_DIM  # BLAS's 32-bit dimensions


cdef struct DenseSlot:
    # one Layer: its record and the workspaces TrainStep owns for it
    LayerRecord L
    char* x       # (N, I) the layer's input: a copy of the caller's x for layer 0, else the
                  # previous layer's y
    char* z       # (N, O) x Wᵀ + b, kept only when the activation's backward reads it
                  # (act_needs_input); else the same buffer as y
    char* y       # (N, O) the layer's output
    char* gy      # (N, O) d loss / d y: the loss gradient for the last layer, else the next
                  # layer's grad_x
    char* gz      # (N, O) d loss / d z; the same buffer as gy for IDENTITY


cdef struct NetParam:
    # one (value, grad) pair of Net.parameters()
    char* p
    char* g
    Py_ssize_t n


# The parts of the step fused_step runs (bit flags): the forward alone comes first when the
# loss checks the Net's output (BCELoss) before the rest may run; a data-parallel rank's
# step stops before the update, which waits for the other ranks' gradients.
cdef enum:
    FORWARD = 1
    LOSS_BACKWARD = 2
    UPDATE = 4


cdef floating fused_step(int parts, DenseSlot* layers, Py_ssize_t n_layers,
                         NetParam* params, Py_ssize_t n_params,
                         const floating* x_ni, const int64_t* rows, Py_ssize_t N,
                         const LossRecord* loss, OptimRecord* opt, ParamSlot* slots,
                         bint clip, double max_norm, double* norms) noexcept nogil:
    """The ``parts`` of one training step; returns the loss value (0 without the loss).

    Trusts: the slots point at live buffers of the sizes they state, for this N and this
    dtype; x_ni is (N, layers[0].I), or with rows (N,) the data whose rows rows[n] make
    the batch; params are the Net's parameters in order, and with UPDATE so are the
    optimizer's slots; loss's arrays are what loss.kind reads; none of them meets a
    workspace or a gradient; norms has room for n_params doubles (clip: clip_grad_norm_
    to max_norm).
    IN x_ni; IN/OUT every parameter, gradient, optimizer state and workspace.
    """
    cdef Py_ssize_t k, I
    cdef DenseSlot* S
    cdef floating* grad
    cdef floating* grad_b
    cdef floating* grad_x
    cdef floating value
    if parts & FORWARD:
        # Net.forward: Layer.forward copies the caller's x, and backward reads that copy
        # (Net.fit's shuffled batch: gathered here, the copy x[rows] would be)
        if rows == NULL:
            memcpy(layers[0].x, x_ni, N * layers[0].L.n_in * sizeof(floating))
        else:
            I = layers[0].L.n_in
            for k in range(N):
                memcpy(<floating*>layers[0].x + k * I, x_ni + rows[k] * I, I * sizeof(floating))
        for k in range(n_layers):
            S = &layers[k]
            # (ReLU: in the bias pass, over y still in cache; z is y)
            dense_forward(<floating*>S.x, <floating*>S.L.w, <floating*>S.L.b,
                          <floating*>S.z, N, S.L.n_in, S.L.n_out, S.L.act.code == RELU)
            if S.L.act.code != IDENTITY and S.L.act.code != RELU:  # in place unless z is kept
                act_forward(&S.L.act, <floating*>S.z, <floating*>S.y, N, S.L.n_out)
    if not parts & LOSS_BACKWARD:
        return 0
    # Net.zero_grad then accumulating: each layer's backward overwrites its gradients
    # loss_fn(output, target), which also computes what loss_fn.backward() returns
    S = &layers[n_layers - 1]
    value = loss_value_grad(loss, <floating*>S.y, <floating*>NULL, <floating*>S.gy)
    # Net.backward: each layer's activation backward, then its dense backward.  Layer 0's
    # grad_x is skipped: dense_backward computes it apart from the parameter gradients.
    for k in range(n_layers - 1, -1, -1):
        S = &layers[k]
        grad = <floating*>S.gy
        grad_b = <floating*>S.L.gb
        if S.L.act.code == RELU and grad_b != NULL:
            # ReLU's backward and the bias gradient in one pass; the same floats
            bias_grad(grad, <floating*>S.y, <floating*>S.gz, grad_b, N, S.L.n_out, False)
            grad, grad_b = <floating*>S.gz, NULL
        elif S.L.act.code != IDENTITY:  # (IDENTITY: Layer._backward passes grad_y on)
            act_backward(&S.L.act, grad, <floating*>S.z, <floating*>S.y, <floating*>S.gz,
                         N, S.L.n_out)
            grad = <floating*>S.gz
        grad_x = <floating*>layers[k - 1].gy if k > 0 else NULL
        dense_backward(grad, <floating*>S.x, <floating*>S.L.w, grad_x, <floating*>S.L.gw,
                       grad_b, N, S.L.n_in, S.L.n_out, False)
    if not parts & UPDATE:
        return value
    if clip:
        clip_by_total_norm(params, n_params, <floating*>NULL, max_norm, norms)
    # optimizer.step(): every parameter in parameters() order
    optimizer_step(opt, slots, n_params)
    return value


cdef void clip_by_total_norm(NetParam* params, Py_ssize_t n_params, floating* dtype,
                             double max_norm, double* norms) noexcept nogil:
    """clip_grad_norm_(params, max_norm): each gradient's 2-norm in its dtype, their
    2-norm (in float32 for float32 gradients), then the gradients scaled by the clamped
    coefficient -- fastbp.clip_grad_norm_'s kernels in its order (dtype: which one)."""
    cdef Py_ssize_t k
    cdef bint single = floating is float
    for k in range(n_params):
        norms[k] = vector_norm(<floating*>params[k].g, params[k].n, 2.0)
        if single:
            norms[k] = <float>norms[k]
    cdef double total = vector_norm(norms, n_params, 2.0)
    if single:
        total = <float>total
    cdef double coefficient = clip_coefficient(total, max_norm, single)
    if coefficient != 1.0:
        for k in range(n_params):
            scale(<floating*>params[k].g, params[k].n, coefficient)


cdef inline char* data(cnp.ndarray arr) noexcept:
    return <char*>cnp.PyArray_DATA(arr)


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


cdef inline bint indices_below(const int64_t* index, Py_ssize_t n, Py_ssize_t bound) noexcept:
    cdef Py_ssize_t k
    for k in range(n):
        if index[k] < 0 or index[k] >= bound:
            return False
    return True


cdef inline bint is_c_array(object a) noexcept:
    """a is an exact ndarray, C-contiguous, aligned, native-order."""
    if not cnp.PyArray_CheckExact(a):
        return False
    return (cnp.PyArray_ISCARRAY_RO(<cnp.ndarray>a)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>a))


cdef inline bint meets(const char* start, const char* end, const char* other,
                       Py_ssize_t other_bytes) noexcept:
    return start < other + other_bytes and other < end


cdef class TrainStep:
    """A Net's fused training step: its Layers' records and the workspaces it owns.

    ``run`` returns the loss of one step, or None when the loss or the optimizer is one
    the fused step does not run (the Net then does the five calls itself).  The
    workspaces are reallocated only when the batch size changes (the dtype is the Net's,
    fixed).  After a step the Layers' forward caches and the loss's gradient refer to
    these workspaces -- the same values the unfused step leaves there -- until the next
    fused step overwrites them.
    """

    cdef tuple layers
    cdef list records         # the Layers' LayerArgs, kept alive here
    cdef Py_ssize_t n_layers, n_params
    cdef object dtype
    cdef int typenum
    cdef Py_ssize_t itemsize
    cdef DenseSlot* slots
    cdef NetParam* params
    cdef Py_ssize_t batch     # the N the workspaces are sized for; -1 before any
    cdef list inputs, outputs, grad_outputs  # per layer: x (N, I), y (N, O), gy (N, O)
    cdef list pre_activations  # per layer: z (N, O), the same array as y unless kept
    cdef double* norms        # clipping's per-parameter norms
    cdef list workspaces      # every workspace, kept alive here
    cdef readonly Py_ssize_t compiled_steps  # steps run compiled (tests prove the path)
    cdef object step_x        # run's validated x while the loss's record is made
    cdef object step_rows     # and its rows
    # The last step's loss and optimizer and their records, run again while each record
    # says it is what its object would make again (LossArgs.made_for,
    # OptimizerState.configured): no Python call to remake them.
    cdef object loss_owner
    cdef LossArgs loss_args
    cdef object optimizer_owner
    cdef OptimizerState optimizer_state

    def __cinit__(self, layers):
        self.layers = tuple(layers)
        self.n_layers = len(self.layers)
        self.records = [layer._fused_record() for layer in self.layers]
        self.dtype = self.layers[0].dtype
        self.typenum = cnp.NPY_DOUBLE if self.dtype == np.float64 else cnp.NPY_FLOAT
        self.itemsize = self.dtype.itemsize
        self.batch = -1
        self.slots = <DenseSlot*>calloc(self.n_layers, sizeof(DenseSlot))
        self.params = <NetParam*>calloc(2 * self.n_layers, sizeof(NetParam))
        self.norms = <double*>calloc(2 * self.n_layers, sizeof(double))
        if self.slots == NULL or self.params == NULL or self.norms == NULL:
            raise MemoryError()
        cdef LayerRecord* L
        self.n_params = 0
        for k in range(self.n_layers):
            L = &self.slots[k].L
            L[0] = (<LayerArgs>self.records[k]).rec
            self.add_param(L.w, L.gw, L.n_out * L.n_in)  # Layer.parameters() order
            if L.b != NULL:
                self.add_param(L.b, L.gb, L.n_out)

    cdef void add_param(self, char* p, char* g, Py_ssize_t n) noexcept:
        self.params[self.n_params].p, self.params[self.n_params].g = p, g
        self.params[self.n_params].n = n
        self.n_params += 1

    def __dealloc__(self):
        free(self.slots)
        free(self.params)
        free(self.norms)

    def __reduce__(self):
        # copy.deepcopy / pickle of a Net: a fresh TrainStep for the copied Layers
        return (TrainStep, (self.layers,))

    def run(self, x, target, loss_fn, optimizer, max_grad_norm=None, rows=None):
        """The loss after one fused step on (x, target), or None if not supported; the
        gradients clipped to max_grad_norm (a float checked by Net.train_step) when given.
        With optimizer None, the step ends with the gradients (zero_grad, forward, loss,
        backward: a data-parallel rank's part).  With rows (int64 indices into x's rows),
        the batch is x[rows], gathered by the step itself (target is then the batch's).

        Invalid x or target raise exactly as the unfused step would, before anything
        is changed (BCELoss's check of the Net's output: after the forward, which the
        Layers' caches then hold, as on the unfused path).
        """
        cdef LossArgs args = self.loss_args
        cdef bint same_loss = args is not None and loss_fn is self.loss_owner
        if not same_loss and getattr(loss_fn, "_fused_args", None) is None:
            return None
        cdef OptimizerState state = None
        if optimizer is not None:
            state = self.optimizer_state
            if (state is None or optimizer is not self.optimizer_owner
                    or not state.configured()):
                fused_record = getattr(optimizer, "_fused_record", None)
                state = fused_record() if fused_record is not None else None
                if state is None:
                    return None
                self.optimizer_owner, self.optimizer_state = optimizer, state
            if not self.drives_these_parameters(state):
                return None
        given_x = x
        if not is_ready(x, self.typenum, -1, self.slots[0].L.n_in):
            x = v.layer_input(x, "x", self.slots[0].L.n_in, self.dtype)
        # (before anything reads their values: a target validated from memory that the
        # public calls zero first could raise what they would not)
        if (self.meets_step_memory(x) or self.meets_step_memory(target)
                or (given_x is not x and self.meets_step_memory(given_x))):
            return None
        cdef Py_ssize_t N = cnp.PyArray_DIMS(<cnp.ndarray>x)[0]
        cdef const int64_t* row_index = NULL
        if rows is not None:
            if not int64_indices_in_range(rows, -1, N, False, 0):
                return None  # (the unfused path's x[rows] raises what NumPy raises)
            N = cnp.PyArray_DIMS(<cnp.ndarray>rows)[0]
            row_index = <const int64_t*>cnp.PyArray_DATA(<cnp.ndarray>rows)
        self.ensure_workspaces(N)
        # Validation reads the shape and dtype of the Net's output, never its values (BCE's
        # check of them waits for the forward), so the output workspace stands in for it.
        output = self.outputs[self.n_layers - 1]
        if not same_loss or not args.made_for(output, target):
            # (for output_elsewhere; a closure would slow all of run)
            self.step_x, self.step_rows = x, rows
            try:
                args = loss_fn._fused_args(output, target, self.output_elsewhere)
            finally:
                self.step_x = self.step_rows = None  # (not kept beyond the call; a reused
                                                     # record keeps its target until the
                                                     # next new one)
            if args is None:
                return None
            self.loss_owner, self.loss_args = loss_fn, args
        for a in args.arrays:
            if self.meets_step_memory(a):
                return None
        cdef int parts = FORWARD | LOSS_BACKWARD | (UPDATE if state is not None else 0)
        if args.input_unchecked:
            # BCELoss checks its input, the Net's output, before it computes anything
            self.run_parts(FORWARD, x, row_index, N, args, None)
            self.publish_forward()
            v.unit_interval_values(output, "input")
            parts &= ~FORWARD
        if state is not None:
            state.prepare()  # the optimizer's state buffers, made as its step() makes them
        value = self.run_parts(parts, x, row_index, N, args, state, max_grad_norm)
        self.compiled_steps += 1
        self.leave_what_the_five_calls_leave(args)
        return value

    def run_batches(self, x, y, order, Py_ssize_t first, Py_ssize_t last,
                    Py_ssize_t batch_size, batch_target, loss_fn, optimizer, max_grad_norm,
                    double loss_sum, double seconds, stop=None):
        """Net.fit's shuffled batches first, first + 1, ... (before last), for about
        ``seconds``: batch b is x[rows], rows = order[b * batch_size:][:batch_size], its
        target y[rows] gathered into batch_target (the array of this batch size, so that
        the loss's record serves again).  Each is the step run() takes on it, the same
        floats; what the Python around run() checks is checked here between the steps.

        Returns (loss_sum + each batch's loss times its size, added in order, the number
        of batches run).  It stops before a batch it does not run (a batch of another
        size, a row out of range, a record to make again, a target that validation must
        see): the caller runs that one by run() or the five calls, which raise what they
        raise; 0 when the first is such a batch.  After each step, pending signal handlers
        run (Ctrl-C) and it stops when ``stop()`` (if given) is true.
        max_grad_norm: None or a float (checked by the caller).
        """
        cdef Py_ssize_t n_in = self.slots[0].L.n_in
        if optimizer is None or not (is_ready(x, self.typenum, -1, n_in) and is_c_array(y)
                                     and is_c_array(order) and is_c_array(batch_target)):
            return loss_sum, 0
        cdef cnp.ndarray xs = <cnp.ndarray>x, ys = <cnp.ndarray>y
        cdef cnp.ndarray targets = <cnp.ndarray>batch_target, rows_all = <cnp.ndarray>order
        cdef Py_ssize_t n_rows = cnp.PyArray_DIMS(xs)[0], n_order = cnp.PyArray_SIZE(rows_all)
        cdef Py_ssize_t N = cnp.PyArray_DIMS(targets)[0] if cnp.PyArray_NDIM(targets) else 0
        if (cnp.PyArray_TYPE(rows_all) != cnp.NPY_INT64 or cnp.PyArray_NDIM(rows_all) != 1
                or cnp.PyArray_TYPE(ys) != cnp.PyArray_TYPE(targets)
                or cnp.PyArray_NDIM(ys) != cnp.PyArray_NDIM(targets)
                or cnp.PyArray_NDIM(ys) == 0 or cnp.PyArray_DIMS(ys)[0] != n_rows or N == 0
                or batch_size <= 0 or not 0 <= first < last):
            return loss_sum, 0
        for d in range(1, cnp.PyArray_NDIM(ys)):
            if cnp.PyArray_DIMS(ys)[d] != cnp.PyArray_DIMS(targets)[d]:
                return loss_sum, 0
        cdef Py_ssize_t row_bytes = cnp.PyArray_NBYTES(targets) // N
        cdef const int64_t* rows
        cdef char* y_data = data(ys)
        cdef char* t_data = data(targets)
        cdef Py_ssize_t b = first, k, lo
        cdef double value
        clock = time.perf_counter
        start = clock()
        try:
            while b < last:
                lo = b * batch_size
                if lo >= n_order or min(batch_size, n_order - lo) != N:
                    break
                rows = <const int64_t*>data(rows_all) + lo
                if not indices_below(rows, N, n_rows):
                    break
                for k in range(N):
                    memcpy(t_data + k * row_bytes, y_data + rows[k] * row_bytes, row_bytes)
                if b == first:
                    # the first by run(): its records made or checked, its workspaces sized
                    value_or_none = self.run(x, batch_target, loss_fn, optimizer,
                                             max_grad_norm, order[lo:lo + N])
                    if value_or_none is None:
                        break
                    value = value_or_none
                    if self.loss_args.input_unchecked:  # BCE checks each output: run() each time
                        last = b + 1
                else:
                    if not (loss_fn is self.loss_owner and optimizer is self.optimizer_owner
                            and self.optimizer_state.configured()
                            and self.loss_args.made_for(self.outputs[self.n_layers - 1],
                                                        batch_target)):
                        break
                    value = self.run_parts(FORWARD | LOSS_BACKWARD | UPDATE, xs, rows, N,
                                           self.loss_args, self.optimizer_state, max_grad_norm)
                    self.compiled_steps += 1
                loss_sum += value * N
                b += 1
                PyErr_CheckSignals()  # Ctrl-C's handler; its exception (if any) propagates
                if (stop is not None and stop()) or clock() - start >= seconds:
                    break
        finally:
            if b > first + 1:  # (run() did it for the first)
                self.leave_what_the_five_calls_leave(self.loss_args)
        return loss_sum, b - first

    cdef double run_parts(self, int parts, cnp.ndarray x, const int64_t* rows, Py_ssize_t N,
                          LossArgs loss, OptimizerState opt, max_grad_norm=None):
        """fused_step's parts (loss None for the forward alone, opt None without UPDATE)."""
        cdef bint clip = max_grad_norm is not None  # clip_grad_norm_ before the update
        cdef double max_norm = max_grad_norm if clip else 0.0
        cdef double value
        cdef char* x_ni = data(x)
        cdef const LossRecord* loss_rec = NULL if loss is None else &loss.rec
        cdef OptimRecord* opt_rec = NULL if opt is None else &opt.rec
        cdef ParamSlot* slots = NULL if opt is None else opt.slots
        with nogil:
            if self.typenum == cnp.NPY_DOUBLE:
                value = fused_step(parts, self.slots, self.n_layers, self.params,
                                   self.n_params, <double*>x_ni, rows, N, loss_rec, opt_rec,
                                   slots, clip, max_norm, self.norms)
            else:
                value = fused_step(parts, self.slots, self.n_layers, self.params,
                                   self.n_params, <float*>x_ni, rows, N, loss_rec, opt_rec,
                                   slots, clip, max_norm, self.norms)
        return value

    cdef void leave_what_the_five_calls_leave(self, LossArgs args) except *:
        """After a step, what the unfused step leaves behind: each Layer's last input and
        output, and the gradient loss_fn.backward() returns."""
        self.publish_forward()
        cdef LossGrad last = args.grad_cache
        if last is not None:
            last.grad, last.is_workspace = self.grad_outputs[self.n_layers - 1], True

    cdef void publish_forward(self):
        """Each Layer's forward cache: the workspaces that hold its last input and output
        (and pre-activation, for the activations whose backward reads it)."""
        cdef ForwardCache cache
        for k in range(self.n_layers):
            cache = (<LayerArgs>self.records[k]).cache
            if cache is None:
                continue
            cache.x, cache.y = self.inputs[k], self.outputs[k]
            if act_needs_input(self.slots[k].L.act.code):
                cache.z = self.pre_activations[k]

    cdef bint drives_these_parameters(self, OptimizerState state):
        """The optimizer's parameters are exactly this Net's (value, grad) arrays, in order."""
        if state.n_params != self.n_params:
            return False
        for k in range(self.n_params):
            if (state.slots[k].p != self.params[k].p or state.slots[k].g != self.params[k].g
                    or state.slots[k].n != self.params[k].n):
                return False
        return True

    cdef bint meets_step_memory(self, a):
        """a is an ndarray whose bytes meet memory the step writes before it has read all
        its inputs: a workspace the Layers or the loss published (layer 0's input copy,
        each layer's output, the loss gradient), or a gradient, which the public calls
        zero before they read anything.  The caller may pass such an array (say
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
            if meets(start, end, self.params[k].g, self.params[k].n * self.itemsize):
                return True
        if self.batch < 0:
            return False
        cdef Py_ssize_t row_bytes = self.batch * self.itemsize
        cdef DenseSlot* last = &self.slots[self.n_layers - 1]
        if meets(start, end, self.slots[0].x, row_bytes * self.slots[0].L.n_in):
            return True
        if meets(start, end, last.gy, row_bytes * last.L.n_out):
            return True
        for k in range(self.n_layers):
            if meets(start, end, self.slots[k].y, row_bytes * self.slots[k].L.n_out):
                return True
        return False

    def output_elsewhere(self):
        """The Net's output for the step's x by the same kernels, in new buffers: the
        workspaces and the Layers' caches stay as they are (an error path: which error
        comes first depends on it)."""
        cdef cnp.ndarray x = (self.step_x if self.step_rows is None
                              else np.ascontiguousarray(self.step_x[self.step_rows]))
        cdef Py_ssize_t N = cnp.PyArray_DIMS(x)[0]
        cdef DenseSlot* saved = self.slots
        cdef DenseSlot* temp = <DenseSlot*>calloc(self.n_layers, sizeof(DenseSlot))
        if temp == NULL:
            raise MemoryError()
        memcpy(temp, saved, self.n_layers * sizeof(DenseSlot))
        self.slots = temp
        try:
            arrays = self.make_workspaces(N, True)
            self.run_parts(FORWARD, x, NULL, N, None, None)
        finally:
            self.slots = saved
            free(temp)
        return arrays[1][self.n_layers - 1]

    cdef tuple make_workspaces(self, Py_ssize_t N, bint forward_only):
        """Point the slots at new workspaces for batch size N (no gradient workspaces when
        forward_only): returns the lists of each layer's x, y, gy, z and of the others."""
        inputs, outputs, grad_outputs, pre_activations, others = [], [], [], [], []
        cdef DenseSlot* S
        x = np.empty((N, self.slots[0].L.n_in), dtype=self.dtype)
        for k in range(self.n_layers):
            S = &self.slots[k]
            y = np.empty((N, S.L.n_out), dtype=self.dtype)
            z = np.empty_like(y) if act_needs_input(S.L.act.code) else y
            gy = gz = None
            if not forward_only:
                gy = np.empty_like(y)
                gz = gy if S.L.act.code == IDENTITY else np.empty_like(y)
                S.gy, S.gz = data(gy), data(gz)
            S.x, S.z, S.y = data(x), data(z), data(y)
            inputs.append(x)
            outputs.append(y)
            grad_outputs.append(gy)
            pre_activations.append(z)
            others.append(gz)
            x = y
        return inputs, outputs, grad_outputs, pre_activations, others

    cdef void ensure_workspaces(self, Py_ssize_t N) except *:
        """Per-layer x, z, y, gy, gz buffers for batch size N (kept while N stays the same)."""
        if N == self.batch:
            return
        (self.inputs, self.outputs, self.grad_outputs, self.pre_activations,
         self.workspaces) = self.make_workspaces(N, False)
        self.batch = N
