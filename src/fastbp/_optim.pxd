# Optimizers as data: a record of the hyperparameters (read fresh at every step) and one
# slot per parameter with its state buffers.  optimizer.step() and the fused training step
# both run optimizer_step over the same record, so their floats are the same.
from cython cimport floating
from libc.stdint cimport int64_t

from fastbp._options cimport OptionWatch

# Which update rule (OptimRecord.kind).  A new optimizer: a code here, its update kernel
# and a case in optimizer_update (_optim.pyx), and its record filling in optim.py.
cpdef enum OptimizerKind:
    OPTIM_SGD = 0
    OPTIM_ADAM = 1
    OPTIM_ADAMW = 2
    OPTIM_RMSPROP = 3
    OPTIM_ADAGRAD = 4

# Up to three state buffers per parameter (ParamSlot.state), in this order:
#   SGD: momentum_buffer;  Adam/AdamW: exp_avg, exp_avg_sq, max_exp_avg_sq;
#   RMSprop: square_avg, momentum_buffer, grad_avg;  Adagrad: sum.


cdef struct OptimRecord:
    int kind
    double lr, momentum, dampening, weight_decay
    double beta1, beta2, eps, alpha, lr_decay, initial_accumulator_value
    bint nesterov, maximize, amsgrad, centered
    int64_t step      # steps taken, counted before each update (torch's state['step'])
    # Adam's 1 - beta1**step and (1 - beta2**step)**0.5, set by optimizer_step from
    # beta1**step and beta2**step, which it keeps (1.0: not computed for these betas yet)
    double bias_correction1, bias_correction2_sqrt
    double beta1_power, beta2_power


cdef struct ParamSlot:
    char* p           # the parameter's n values
    char* g           # its gradient
    char* state[3]    # NULL until the optimizer's record filling makes the buffer
    int ready         # bit k: state[k] holds a value (SGD's first step copies into it)
    Py_ssize_t n
    bint is_double    # float64, else float32


# The update rules, over one flattened parameter (the def twins in _optim.pyx take arrays)
cdef void sgd_update(floating* p, const floating* g, floating* buf, Py_ssize_t n,
                     double lr, double momentum, double dampening, double weight_decay,
                     bint nesterov, bint maximize, bint first_step) noexcept nogil

cdef void adam_update(floating* p, const floating* g, floating* exp_avg, floating* exp_avg_sq,
                      floating* max_exp_avg_sq, Py_ssize_t n, double lr, double beta1,
                      double beta2, double eps, double weight_decay, bint decoupled,
                      bint amsgrad, bint maximize, double bias_correction1,
                      double bias_correction2_sqrt) noexcept nogil

cdef void rmsprop_update(floating* p, const floating* g, floating* square_avg,
                         floating* grad_avg, floating* momentum_buffer, Py_ssize_t n,
                         double lr, double alpha, double eps, double weight_decay,
                         double momentum, bint centered, bint maximize) noexcept nogil

cdef void adagrad_update(floating* p, const floating* g, floating* state_sum, Py_ssize_t n,
                         double lr, double lr_decay, double weight_decay, double eps,
                         bint maximize, double step) noexcept nogil


# One parameter's update by the record's rule; sets the bits of the buffers it filled.
cdef void optimizer_update(const OptimRecord* rec, ParamSlot* slot) noexcept nogil

# The whole step: count it, then update every slot in order.
cdef void optimizer_step(OptimRecord* rec, ParamSlot* slots, Py_ssize_t n) noexcept nogil


cdef class OptimizerState:
    """An optimizer's record, its parameter slots and the arrays they point at."""
    cdef OptimRecord rec
    cdef ParamSlot* slots
    cdef readonly Py_ssize_t n_params
    cdef readonly list params  # the optimizer's (value, grad) pairs, kept alive here
    cdef list buffers  # [[buffer or None] * 3] per parameter
    cdef list pending  # need_buffer's requests, for prepare
    cdef OptionWatch watch   # remember_options's optimizer's, and its count then
    cdef unsigned long long changes

    cdef void set_buffer(self, Py_ssize_t k, int index, buf) except *
    cpdef bint configured(self) noexcept
    cpdef prepare(self)
