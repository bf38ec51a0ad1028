"""Every check of user input, in one place.

The compiled kernels trust what they are given (no bounds checks), so each
public entry point passes its arguments through these functions first.  A
message always names the argument, what was expected and what was given,
e.g. ``target: expected shape (32,), got (32, 10)``.  ValueError is for values
and shapes, TypeError for types.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
from collections.abc import Mapping

import numpy as np

from fastbp._activations import Activation
from fastbp._losses import (LossArgs, LossKind, Reduction, count_outside_unit_interval,
                            ready_pair)

FLOAT32 = np.dtype(np.float32)
FLOAT64 = np.dtype(np.float64)

# BLAS takes 32-bit int dimensions (scipy.linalg.cython_blas is LP64).
MAX_DIM = 2**31 - 1

REDUCTIONS = {"none": Reduction.REDUCTION_NONE, "mean": Reduction.REDUCTION_MEAN,
              "sum": Reduction.REDUCTION_SUM}
_BCE = int(LossKind.BINARY_CROSS_ENTROPY)
ACTIVATIONS = {None: Activation.IDENTITY, "sigmoid": Activation.SIGMOID, "relu": Activation.RELU,
               "tanh": Activation.TANH, "softmax": Activation.SOFTMAX,
               "log_softmax": Activation.LOG_SOFTMAX}


def shape_str(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def float_dtype(value, name: str) -> np.dtype:
    """The dtype fastbp computes in for an array of ``value``'s dtype.

    float32 and float64 stay; float16, integers and bool become float32;
    longdouble becomes float64 (BLAS has no wider type).  Anything else
    (complex, object, strings, datetimes) is a TypeError naming the argument.
    """
    dt = value.dtype
    if dt.kind == "f":
        if dt.itemsize == 4:
            return FLOAT32
        if dt.itemsize == 8:
            return FLOAT64
        return FLOAT32 if dt.itemsize < 4 else FLOAT64
    if dt.kind in "biu":
        return FLOAT32
    raise TypeError(f"{name}: expected a real numeric array, got dtype {dt}")


def _as_ndarray(value, name: str) -> np.ndarray:
    if type(value) is np.ndarray:
        return value
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name}: expected an array without a mask, got a masked array (its "
                        f"mask would be ignored); pass {name}.filled(value) or {name}.data")
    if isinstance(value, np.ndarray):  # np.matrix and other subclasses: the plain array
        return np.asarray(value)
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{name}: expected an array, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists, odd objects
        raise TypeError(f"{name}: expected an array, got {type(value).__name__} ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a real numeric array, got "
                        f"{type(value).__name__} of dtype {arr.dtype}")
    return arr


def as_float_array(value, name: str, dtype=None) -> np.ndarray:
    """``value`` as a C-contiguous, native-byte-order float32/float64 ndarray.

    ``dtype=None`` picks it from the value (see :func:`float_dtype`); otherwise
    the value is converted to ``dtype``.  The result is the caller's own array
    when nothing needs converting: kernels only ever read it.
    """
    arr = _as_ndarray(value, name)
    target = float_dtype(arr, name) if dtype is None else np.dtype(dtype)
    flags = arr.flags
    if type(arr) is np.ndarray and arr.dtype == target and flags.c_contiguous and flags.aligned:
        return arr  # nothing to convert (a dtype equal to a native one is native), fast
    if dtype is not None:
        float_dtype(arr, name)  # still refuse complex/object/str
    # A float64 value beyond float32's range becomes inf, silently, as torch's .float() does.
    # A misaligned buffer (np.frombuffer at an odd offset) is copied: SIMD loops and BLAS
    # may assume element alignment on some platforms.
    with np.errstate(over="ignore"):
        return np.require(arr, dtype=target, requirements=("C", "A"))


def as_index_array(value, name: str) -> np.ndarray:
    """Class indices: any integer dtype, returned as C-contiguous int64."""
    arr = _as_ndarray(value, name)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer class indices, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > 2**63 - 1:
        raise ValueError(f"{name}: class index {arr.max()} is out of range")
    return np.require(arr, dtype=np.int64, requirements=("C", "A"))


def check_ndim(arr: np.ndarray, name: str, ndim: int, what: str) -> None:
    """``what`` names the axes, e.g. '(N, in_features)'."""
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array {what}, got shape {shape_str(arr.shape)}")


def check_shape(arr: np.ndarray, name: str, expected: tuple) -> None:
    if arr.shape != tuple(expected):
        raise ValueError(f"{name}: expected shape {shape_str(expected)}, got {shape_str(arr.shape)}")


def check_same_shape(a: np.ndarray, a_name: str, b: np.ndarray, b_name: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{b_name}: expected the shape of {a_name} {shape_str(a.shape)}, "
                         f"got {shape_str(b.shape)}")


def check_blas_dims(arr: np.ndarray, name: str) -> None:
    """BLAS dimensions are 32-bit: refuse any axis that would not fit, before any kernel."""
    for axis, size in enumerate(arr.shape):
        if size > MAX_DIM:
            raise ValueError(f"{name}: axis {axis} has {size} elements, more than the "
                             f"2**31 - 1 that BLAS can index (shape {shape_str(arr.shape)})")


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: let the allocator decide
        return 2**63


PHYSICAL_MEMORY = _physical_memory()


def check_allocation(shape, dtype, what: str) -> None:
    """Refuse an output larger than the machine's memory before anything is allocated.

    An output can be far larger than its inputs (linear: x (N, 1) and weight (O, 1) give
    (N, O)); with Linux's overcommit such an allocation may "succeed" and the kernel that
    fills it is then killed by the OOM killer, so we check against physical memory first.
    """
    nbytes = np.dtype(dtype).itemsize
    for size in shape:
        nbytes *= size
    if nbytes > PHYSICAL_MEMORY:
        raise MemoryError(f"{what}: an array of shape {shape_str(shape)} and dtype "
                          f"{np.dtype(dtype)} needs {nbytes / 2**30:.1f} GiB, more than this "
                          f"machine's {PHYSICAL_MEMORY / 2**30:.1f} GiB of memory")


def reduction_code(reduction) -> int:
    try:
        return REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise ValueError(f"reduction: expected 'none', 'mean' or 'sum', got {reduction!r}") from None


def activation_code(activation) -> int:
    try:
        return ACTIVATIONS[activation]
    except (KeyError, TypeError):
        names = ", ".join(repr(a) for a in ACTIVATIONS)
        raise ValueError(f"activation: expected one of {names}, got {activation!r}") from None


# --- the v2 activations (backward from the forward input) ------------------------------
# name -> {option: default}, in the order of torch.nn.functional's signature
ACTIVATION_OPTIONS = {"gelu": {"approximate": "none"}, "silu": {},
                      "leaky_relu": {"negative_slope": 0.01}, "elu": {"alpha": 1.0},
                      "softplus": {"beta": 1.0, "threshold": 20.0}}
GELU_APPROXIMATIONS = {"none": Activation.GELU, "tanh": Activation.GELU_TANH}
INPUT_ACTIVATIONS = {Activation.GELU, Activation.GELU_TANH, Activation.SILU,
                     Activation.LEAKY_RELU, Activation.ELU, Activation.SOFTPLUS}
_V2_CODES = {"silu": Activation.SILU, "leaky_relu": Activation.LEAKY_RELU,
             "elu": Activation.ELU, "softplus": Activation.SOFTPLUS}


def gelu_approximate(approximate) -> int:
    """gelu's approximate: 'none' or 'tanh' (torch: "approximate argument must be either
    none or tanh"); returns the activation code."""
    if not isinstance(approximate, str):
        raise TypeError(f"approximate: expected 'none' or 'tanh', got {approximate!r}")
    return GELU_APPROXIMATIONS[choice(approximate, "approximate", tuple(GELU_APPROXIMATIONS))]


def activation_options(name: str, options: dict) -> tuple:
    """(code, p1, p2, full options) of a v2 activation ``name`` given ``options`` (a dict of
    some of its options); an unknown option is a ValueError naming it, a non-numeric one a
    TypeError.  p1, p2 are what the kernels take (see _activations.pxd)."""
    defaults = ACTIVATION_OPTIONS[name]
    if not isinstance(options, Mapping):
        raise TypeError(f"activation: the options of {name!r} must be a dict, got "
                        f"{type(options).__name__}")
    for key in options:
        if key not in defaults:
            known = ", ".join(repr(k) for k in defaults) or "none"
            raise ValueError(f"activation: {name!r} has no option {key!r} (its options: {known})")
    full = {}
    for key, default in defaults.items():
        value = options.get(key, default)
        full[key] = value if key == "approximate" else real_number(value, key)
    if name == "gelu":
        return gelu_approximate(full["approximate"]), 0.0, 0.0, full
    params = list(full.values()) + [0.0, 0.0]
    return _V2_CODES[name], params[0], params[1], full


def activation_spec(activation) -> tuple:
    """A Layer's activation: None, a name, or (name, {options}) (a list [name, {options}],
    as a model file holds it, too).  Returns (code, p1, p2, options): options is None for
    the v1 activations, else every option of the activation, defaults filled in."""
    if isinstance(activation, (tuple, list)):
        if len(activation) != 2 or not isinstance(activation[0], str):
            raise ValueError(f"activation: expected a name or a (name, {{options}}) pair, "
                             f"got {activation!r}")
        name, options = activation
        if name not in ACTIVATION_OPTIONS:
            if name in ACTIVATIONS and isinstance(options, Mapping) and not options:
                return activation_code(name), 0.0, 0.0, None
            if name in ACTIVATIONS:
                raise ValueError(f"activation: {name!r} takes no options, got {options!r}")
            activation = name  # unknown: the message below names it
        else:
            return activation_options(name, options)
    if isinstance(activation, str) and activation in ACTIVATION_OPTIONS:
        return activation_options(activation, {})
    try:
        return ACTIVATIONS[activation], 0.0, 0.0, None
    except (KeyError, TypeError):
        names = ", ".join(repr(a) for a in (*ACTIVATIONS, *ACTIVATION_OPTIONS))
        raise ValueError(f"activation: expected one of {names}, or (name, {{options}}), "
                         f"got {activation!r}") from None


def input_activation_backward_args(grad_y, x):
    """A v2 activation backward's grad_y and forward input x: same shape, grad_y's dtype."""
    grad_y = as_float_array(grad_y, "grad_y")
    x = as_float_array(x, "x", grad_y.dtype)
    check_same_shape(grad_y, "grad_y", x, "x")
    return grad_y, x


def dtype_option(dtype, name: str = "dtype") -> np.dtype:
    """A Layer's dtype: float32 or float64 only (None is refused: NumPy reads it as float64)."""
    if dtype is None:
        raise TypeError(f"{name}: expected float32 or float64, got None")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: expected float32 or float64, got {dtype!r}") from None
    if dt not in (FLOAT32, FLOAT64):
        raise ValueError(f"{name}: expected float32 or float64, got {dt}")
    return dt


def positive_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected a positive integer, got {value!r}")
    value = operator.index(value)
    if value < 1 or value > MAX_DIM:
        raise ValueError(f"{name}: expected a positive integer below 2**31, got {value}")
    return value


def real_number(value, name: str, *, minimum=None, strict=False) -> float:
    """A real option (lr, beta, ...): finite or not, but a number; optional lower bound."""
    if type(value) is not float:  # float, the common case, skips the slower ABC checks
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name}: expected a real number, got {value!r}")
        value = float(value)
    if value != value:
        raise ValueError(f"{name}: expected a number, got nan")
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        bound = ">" if strict else ">="
        raise ValueError(f"{name}: expected a value {bound} {minimum}, got {value}")
    return value


def seed_option(seed):
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed: expected None or a non-negative integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed: expected None or a non-negative integer, got {seed}")
    return int(seed)


def choice(value, name: str, choices: tuple) -> str:
    """One of a fixed set of string options (show_config's mode, ...)."""
    if value not in choices:
        names = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: expected one of {names}, got {value!r}")
    return value


def non_negative_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected a non-negative integer, got {value!r}")
    value = operator.index(value)
    if value < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {value}")
    return value


# --- optimizers (torch.optim's checks: ValueError where torch raises one) -------------

def flag_option(flag, name: str) -> bool:
    if not isinstance(flag, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {flag!r}")
    return bool(flag)


def betas_option(betas) -> tuple:
    """Adam's ``betas``: a pair of reals (checked by :func:`adam_options`)."""
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise TypeError(f"betas: expected a pair (beta1, beta2), got {betas!r}") from None
    return beta1, beta2


def non_negative_reals(**values) -> dict:
    """Real options that torch requires >= 0 (lr, eps, weight_decay, ...), by name."""
    return {name: real_number(value, name, minimum=0.0) for name, value in values.items()}


def flags(**values) -> dict:
    return {name: flag_option(value, name) for name, value in values.items()}


def sgd_options(lr, momentum, dampening, weight_decay, nesterov, maximize) -> dict:
    options = {**non_negative_reals(lr=lr, momentum=momentum),
               "dampening": real_number(dampening, "dampening"),
               **non_negative_reals(weight_decay=weight_decay),
               **flags(nesterov=nesterov, maximize=maximize)}
    if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
        raise ValueError("nesterov: Nesterov momentum requires momentum > 0 and dampening == 0, "
                         f"got momentum={options['momentum']}, dampening={options['dampening']}")
    return options


def adam_options(lr, beta1, beta2, eps, weight_decay, amsgrad, maximize) -> dict:
    options = {"lr": real_number(lr, "lr", minimum=0.0),
               "beta1": real_number(beta1, "betas[0]", minimum=0.0),
               "beta2": real_number(beta2, "betas[1]", minimum=0.0),
               **non_negative_reals(eps=eps, weight_decay=weight_decay),
               **flags(amsgrad=amsgrad, maximize=maximize)}
    for k in (0, 1):
        if not options[f"beta{k + 1}"] < 1.0:
            raise ValueError(f"betas[{k}]: expected a value in [0, 1), "
                             f"got {options[f'beta{k + 1}']}")
    return options


def rmsprop_options(lr, alpha, eps, weight_decay, momentum, centered, maximize) -> dict:
    return {**non_negative_reals(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                 momentum=momentum),
            **flags(centered=centered, maximize=maximize)}


def adagrad_options(lr, lr_decay, weight_decay, initial_accumulator_value, eps,
                    maximize) -> dict:
    return {**non_negative_reals(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                 initial_accumulator_value=initial_accumulator_value, eps=eps),
            **flags(maximize=maximize)}


def optimizer_state(state, option_names: tuple, scalar_names: tuple) -> tuple:
    """An optimizer's load_state_dict argument, first part: a mapping holding every option
    and scalar (step count) by name.  Returns (options, scalars) as dicts; the options are
    checked by the optimizer's own options function, the scalars here."""
    if not isinstance(state, Mapping):
        raise TypeError(f"state_dict: expected a mapping, got {type(state).__name__}")
    for key in option_names + scalar_names:
        if key not in state:
            raise ValueError(f"state_dict: missing key {key!r}")
    scalars = {key: non_negative_int(state[key], f"state_dict[{key!r}]") for key in scalar_names}
    return {key: state[key] for key in option_names}, scalars


def optimizer_buffers(state, known: tuple, expected: dict, dtypes: dict) -> dict:
    """load_state_dict's buffers: exactly the keys of ``expected`` (name -> shape) besides
    ``known`` (options and scalars), each converted to its dtype and copied."""
    for key in expected:
        if key not in state:
            raise ValueError(f"state_dict: missing key {key!r} (expected shape "
                             f"{shape_str(expected[key])})")
    arrays = {}
    for key, value in state.items():
        if key in known:
            continue
        if key not in expected:
            raise ValueError(f"state_dict: unexpected key {key!r}")
        arr = as_float_array(value, f"state_dict[{key!r}]", dtypes[key])
        if arr.shape != tuple(expected[key]):
            raise ValueError(f"state_dict[{key!r}]: expected shape {shape_str(expected[key])}, "
                             f"got {shape_str(arr.shape)}")
        arrays[key] = np.array(arr, copy=True)
    return arrays


def clip_norm_options(max_norm, norm_type, error_if_nonfinite) -> tuple:
    """clip_grad_norm_'s options; norm_type may be a string such as 'inf', as torch's float()."""
    if isinstance(norm_type, str):
        try:
            norm_type = float(norm_type)
        except ValueError:
            raise ValueError(f"norm_type: expected a number or 'inf', got {norm_type!r}") from None
    return (real_number(max_norm, "max_norm"), real_number(norm_type, "norm_type"),
            flag_option(error_if_nonfinite, "error_if_nonfinite"))


# --- learning-rate schedulers (torch.optim.lr_scheduler's checks) ------------------

def scheduled_optimizer(optimizer):
    """A scheduler's optimizer: anything with a writable float ``lr`` and a ``step()``."""
    if not (isinstance(getattr(optimizer, "lr", None), numbers.Real)
            and callable(getattr(optimizer, "step", None))):
        raise TypeError(f"optimizer: {type(optimizer).__name__} is not an Optimizer "
                        "(expected an object with an lr and a step())")
    return optimizer


def int_list(values, name: str) -> list:
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"{name}: expected a list of integers, got {type(values).__name__}") from None
    for k, value in enumerate(values):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name}[{k}]: expected an integer, got {value!r}")
    return [operator.index(value) for value in values]


def linear_lr_factors(start_factor, end_factor) -> tuple:
    start = real_number(start_factor, "start_factor")
    end = real_number(end_factor, "end_factor")
    if start > 1.0 or start <= 0:
        raise ValueError(f"start_factor: expected a value in (0, 1], got {start}")
    if end > 1.0 or end < 0:
        raise ValueError(f"end_factor: expected a value in [0, 1], got {end}")
    return start, end


def plateau_factor(factor) -> float:
    factor = real_number(factor, "factor")
    if factor >= 1.0:
        raise ValueError(f"factor: expected a value < 1.0, got {factor}")
    return factor


def scheduler_state(state, current: dict) -> dict:
    """A scheduler's load_state_dict argument: a mapping whose keys its state_dict has."""
    if not isinstance(state, Mapping):
        raise TypeError(f"state_dict: expected a mapping, got {type(state).__name__}")
    for key in state:
        if key not in current:
            raise ValueError(f"state_dict: unexpected key {key!r}; expected the keys "
                             f"{', '.join(repr(k) for k in current)}")
    return dict(state)


# --- composite checks used by functional.py and the classes -------------------------

def linear_args(x, weight, bias):
    """x (N, I), weight (O, I), bias (O,) or None, all in x's float dtype."""
    x = as_float_array(x, "x")
    weight = as_float_array(weight, "weight", x.dtype)
    check_ndim(x, "x", 2, "(N, in_features)")
    check_ndim(weight, "weight", 2, "(out_features, in_features)")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"x: expected shape (N, {weight.shape[1]}) to match weight "
                         f"{shape_str(weight.shape)}, got {shape_str(x.shape)}")
    check_blas_dims(x, "x")
    check_blas_dims(weight, "weight")
    if bias is not None:
        bias = as_float_array(bias, "bias", x.dtype)
        check_shape(bias, "bias", (weight.shape[0],))
    check_allocation((x.shape[0], weight.shape[0]), x.dtype, "linear output (N, out_features)")
    return x, weight, bias


def linear_backward_args(grad_y, x, weight, bias):
    grad_y = as_float_array(grad_y, "grad_y")
    x = as_float_array(x, "x", grad_y.dtype)
    weight = as_float_array(weight, "weight", grad_y.dtype)
    check_ndim(grad_y, "grad_y", 2, "(N, out_features)")
    check_ndim(x, "x", 2, "(N, in_features)")
    check_ndim(weight, "weight", 2, "(out_features, in_features)")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"x: expected shape (N, {weight.shape[1]}) to match weight "
                         f"{shape_str(weight.shape)}, got {shape_str(x.shape)}")
    check_shape(grad_y, "grad_y", (x.shape[0], weight.shape[0]))
    for arr, name in ((grad_y, "grad_y"), (x, "x"), (weight, "weight")):
        check_blas_dims(arr, name)
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias: expected True or False, got {bias!r}")
    return grad_y, x, weight, bool(bias)


def activation_backward_args(grad_y, y):
    grad_y = as_float_array(grad_y, "grad_y")
    y = as_float_array(y, "y", grad_y.dtype)
    check_same_shape(y, "y", grad_y, "grad_y")
    return grad_y, y


def rowwise_activation_input(x):
    """softmax/log_softmax input: a 2-D float array (N, C), normalised over C."""
    x = as_float_array(x, "x")
    check_ndim(x, "x", 2, "(N, C)")
    return x


def rowwise_activation_backward_args(grad_y, y):
    grad_y, y = activation_backward_args(grad_y, y)
    check_ndim(grad_y, "grad_y", 2, "(N, C)")
    return grad_y, y


# --- loss options ---------------------------------------------------------------------

def beta_option(beta) -> float:
    """smooth_l1_loss's beta: >= 0 (torch: "does not support negative values for beta")."""
    return real_number(beta, "beta", minimum=0.0)


def delta_option(delta) -> float:
    """huber_loss's delta: > 0 (torch: "does not support non-positive values for delta")."""
    return real_number(delta, "delta", minimum=0.0, strict=True)


def label_smoothing_option(label_smoothing) -> float:
    """In [0, 1].  (torch raises above 1 but silently treats a negative value as 0; the
    contract makes both a ValueError.)"""
    value = real_number(label_smoothing, "label_smoothing")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"label_smoothing: expected a value in [0, 1], got {value}")
    return value


def ignore_index_option(ignore_index) -> int:
    if type(ignore_index) is int and -2**63 <= ignore_index < 2**63:
        return ignore_index  # the common case, without the slower ABC checks below
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"ignore_index: expected an integer, got {ignore_index!r}")
    value = operator.index(ignore_index)
    if not -2**63 <= value < 2**63:
        raise ValueError(f"ignore_index: expected a 64-bit integer, got {value}")
    return value


def weight_option(weight, name: str):
    """A weight as the user gave it: None, or a real numeric ndarray (its shape is checked
    against the input at each call, its dtype converted to the input's)."""
    if weight is None:
        return None
    arr = _as_ndarray(weight, name)
    float_dtype(arr, name)
    return arr


def class_weight_option(weight):
    """cross_entropy / nll_loss weight: None or a 1-D array (one weight per class)."""
    arr = weight_option(weight, "weight")
    if arr is not None and arr.ndim != 1:
        raise ValueError(f"weight: expected a 1-D array (one weight per class), "
                         f"got shape {shape_str(arr.shape)}")
    return arr


def periodic_weight(weight, name: str, shape: tuple, dtype):
    """A weight broadcast against an input of ``shape`` as torch broadcasts it, returned as
    (values, period): the flat array whose repetition fills the flattened input
    (element i gets values[i % period]), or (None, 1) for no weight.

    A weight that varies along the trailing axes only (a scalar, per-class (C,), the full
    shape) is passed as it is; one with inner axes of length 1 (e.g. (N, 1) against (N, C))
    is expanded over the trailing axes it spans.  A weight that would enlarge the input's
    shape is a ValueError (torch: "doesn't match the broadcast shape").
    """
    if weight is None:
        return None, 1
    w = as_float_array(weight, name, dtype)
    shape = tuple(shape)
    try:
        broadcast = np.broadcast_shapes(w.shape, shape)
    except ValueError:
        broadcast = None
    if broadcast != shape:
        raise ValueError(f"{name}: expected a shape that broadcasts to the input's "
                         f"{shape_str(shape)}, got {shape_str(w.shape)}")
    dims = list(w.shape)
    while dims and dims[0] == 1:  # leading axes of length 1 repeat the whole rest
        dims.pop(0)
    trailing = shape[len(shape) - len(dims):] if dims else ()
    w = w.reshape(dims)
    if tuple(dims) != trailing:
        w = np.broadcast_to(w, trailing)
    w = np.ascontiguousarray(w).reshape(-1)
    return w, w.size


def unit_interval(arr: np.ndarray, name: str) -> None:
    """binary_cross_entropy's input and target: every value in [0, 1], no nan (torch raises
    "all elements of input should be between 0 and 1")."""
    if arr.size == 0:
        return
    if (arr.dtype in (np.float32, np.float64) and arr.dtype.isnative
            and arr.flags.c_contiguous and arr.flags.aligned):
        if count_outside_unit_interval(arr.reshape(-1)) == 0:  # one compiled pass
            return
    low, high = arr.min(), arr.max()  # nan propagates into both
    if not (low >= 0 and high <= 1):
        found = "nan" if np.isnan(low) or np.isnan(high) else f"values from {low} to {high}"
        raise ValueError(f"{name}: expected values in [0, 1], got {found}")


def elementwise_loss_args(kind: int, input, target, reduction, param: float = 0.0,
                          weight=None, pos_weight=None, input_values=None) -> LossArgs:
    """The record of an elementwise loss (``kind`` a LossKind code; options already
    checked), its checks in torch's order: the shapes of input and target, BCE's input
    values, BCE's target values, then ``weight`` and ``pos_weight`` (None for the losses
    without them).

    ``input_values``: for the fused training step, whose input (the Net's output) has a
    shape but no values yet: a callable giving those values, called only when a later
    check fails, so that BCE's input error still comes first; the record then says that
    the input's values are left to check.
    """
    if not ready_pair(input, target):  # (the common case needs no conversion)
        input = as_float_array(input, "input")
        target = as_float_array(target, "target", input.dtype)
        check_same_shape(input, "input", target, "target")
    code = reduction_code(reduction)
    bce = kind == _BCE
    if bce and input_values is None:
        unit_interval(input, "input")
    try:
        if bce:
            unit_interval(target, "target")
        if weight is not None or pos_weight is not None:
            weight, _ = periodic_weight(weight, "weight", input.shape, input.dtype)
            pos_weight, _ = periodic_weight(pos_weight, "pos_weight", input.shape, input.dtype)
    except (ValueError, TypeError):
        if bce and input_values is not None:
            unit_interval(input_values(), "input")
        raise
    return LossArgs(kind, code, input, target, weight, pos_weight, param,
                    input_unchecked=bce and input_values is not None)


def class_indices(target, n_rows: int, n_classes: int, ignore_index: int) -> np.ndarray:
    """Class-index targets (N,) of any integer dtype, as int64, each in [0, C) or equal to
    ignore_index (torch raises IndexError "Target 3 is out of bounds"; fastbp a ValueError)."""
    target = as_index_array(target, "target")
    check_shape(target, "target", (n_rows,))
    # Seen as unsigned, a negative index is at least 2**63: one reduction finds whether
    # every index is in [0, C), the common case, faster than the mask below.
    if n_rows == 0 or target.view(np.uint64).max() < n_classes:
        return target
    bad = ((target < 0) | (target >= n_classes)) & (target != ignore_index)
    if bad.any():
        index = int(target[np.argmax(bad)])
        raise ValueError(f"target: class index {index} is out of range for {n_classes} "
                         f"classes (expected 0 <= index < {n_classes}, or ignore_index="
                         f"{ignore_index})")
    return target


def class_loss_input(input, name: str = "input"):
    """A class loss's input, (N, C), unbatched (C,) or (N, C, d1, ..., dK), as the (M, C)
    rows the kernels read (the class axis moved last, the others flattened), and its shape."""
    input = as_float_array(input, name)
    shape = input.shape
    if input.ndim == 0:
        raise ValueError(f"{name}: expected an array (N, C), (C,) or (N, C, d1, ..., dK), "
                         f"got shape ()")
    if input.ndim == 2:
        return input, shape
    rows = math.prod(class_target_shape(shape))
    if input.ndim > 2:
        input = np.moveaxis(input, 1, -1)
    return np.ascontiguousarray(input).reshape(rows, shape[min(1, input.ndim - 1)]), shape


def class_target_shape(shape: tuple) -> tuple:
    """The shape of class-index targets (and of reduction='none') for an input ``shape``."""
    return shape[:1] + shape[2:] if len(shape) != 1 else ()


def class_rows(target, shape: tuple, name: str = "target"):
    """Targets shaped like the input (class probabilities) as the (M, C) rows of
    class_loss_input; (N, C) targets as they are."""
    if len(shape) == 2:
        return target
    return class_loss_input(target, name)[0]


def class_index_rows(target, shape: tuple, n_classes: int, ignore_index: int) -> np.ndarray:
    """Class-index targets of class_target_shape(shape) as the (M,) int64 of the rows."""
    if len(shape) == 2:
        return class_indices(target, shape[0], n_classes, ignore_index)
    target = as_index_array(target, "target")
    expected = class_target_shape(shape)
    if target.shape != expected:
        raise ValueError(f"target: expected class indices of shape {shape_str(expected)} for "
                         f"the input's {shape_str(shape)}, got {shape_str(target.shape)}")
    return class_indices(target.reshape(-1), target.size, n_classes, ignore_index)


def class_weight(weight, n_classes: int, dtype):
    """weight (C,) in the input's dtype, or None."""
    if weight is None:
        return None
    weight = as_float_array(class_weight_option(weight), "weight", dtype)
    if weight.shape != (n_classes,):
        raise ValueError(f"weight: expected shape ({n_classes},) (one weight per class), "
                         f"got {shape_str(weight.shape)}")
    return weight


def cross_entropy_args(input, target, weight, ignore_index, reduction,
                       label_smoothing) -> LossArgs:
    """The record of cross_entropy: target int64 class indices (N,) for an integer target
    (kind CROSS_ENTROPY), or class probabilities (N, C) in the input's dtype for a
    floating-point one (kind CROSS_ENTROPY_PROBS)."""
    input, shape = class_loss_input(input)
    ignore_index = ignore_index_option(ignore_index)
    label_smoothing = label_smoothing_option(label_smoothing)
    code = reduction_code(reduction)
    n_rows, n_classes = input.shape
    weight = class_weight(weight, n_classes, input.dtype)
    arr = _as_ndarray(target, "target")
    if arr.dtype.kind in "iu":
        target = class_index_rows(arr, shape, n_classes, ignore_index)
        return LossArgs(LossKind.CROSS_ENTROPY, code, input, target, weight,
                        ignore_index=ignore_index, label_smoothing=label_smoothing,
                        shape=shape)
    if arr.dtype.kind != "f":
        raise TypeError(f"target: expected integer class indices or floating-point class "
                        f"probabilities, got dtype {arr.dtype}")
    target = as_float_array(arr, "target", input.dtype)
    if target.shape != shape:
        raise ValueError(f"target: expected integer class indices of shape "
                         f"{shape_str(class_target_shape(shape))} or class probabilities of "
                         f"the input's shape {shape_str(shape)}, "
                         f"got {target.dtype} of shape {shape_str(target.shape)}")
    target = class_rows(target, shape)
    if ignore_index >= 0:
        raise ValueError(f"ignore_index: not supported with class-probability targets "
                         f"(as torch), got {ignore_index}")
    return LossArgs(LossKind.CROSS_ENTROPY_PROBS, code, input, target, weight,
                    ignore_index=ignore_index, label_smoothing=label_smoothing, shape=shape)


def nll_loss_args(input, target, weight, ignore_index, reduction) -> LossArgs:
    input, shape = class_loss_input(input)
    ignore_index = ignore_index_option(ignore_index)
    code = reduction_code(reduction)
    weight = class_weight(weight, input.shape[1], input.dtype)
    target = class_index_rows(target, shape, input.shape[1], ignore_index)
    return LossArgs(LossKind.NLL_LOSS, code, input, target, weight, ignore_index=ignore_index,
                    shape=shape)


def layer_input(x, name: str, in_features: int, dtype) -> np.ndarray:
    """A Layer's input: converted to the layer's dtype, shape (N, in_features)."""
    x = as_float_array(x, name, dtype)
    check_ndim(x, name, 2, f"(N, {in_features})")
    if x.shape[1] != in_features:
        raise ValueError(f"{name}: expected shape (N, {in_features}), got {shape_str(x.shape)}")
    check_blas_dims(x, name)
    return x


def net_layers(layers, layer_type) -> tuple:
    """A Net's layers: Layer objects, distinct, consecutive sizes agreeing, one dtype."""
    if isinstance(layers, layer_type):
        raise TypeError("layers: expected a list of Layer, got a single Layer (wrap it in a list)")
    try:
        layers = tuple(layers)
    except TypeError:
        raise TypeError(f"layers: expected a list of Layer, got {type(layers).__name__}") from None
    if not layers:
        raise ValueError("layers: expected at least one Layer, got an empty list")
    for k, layer in enumerate(layers):
        if not isinstance(layer, layer_type):
            raise TypeError(f"layers[{k}]: expected a Layer, got {type(layer).__name__}")
        for j in range(k):
            if layers[j] is layer:
                raise ValueError(f"layers[{k}]: the same Layer object as layers[{j}]; "
                                 "each position needs its own Layer")
    for k in range(len(layers) - 1):
        a, b = layers[k], layers[k + 1]
        if a.out_features != b.in_features:
            raise ValueError(f"layers: layers[{k}] has out_features {a.out_features} but "
                             f"layers[{k + 1}] has in_features {b.in_features}")
        if a.dtype != b.dtype:
            raise ValueError(f"layers: layers[{k}] is {a.dtype} but layers[{k + 1}] is {b.dtype}; "
                             "a Net computes in one dtype")
    return layers


def parameter_pairs(params) -> list:
    """An optimizer's parameters: (value, grad) pairs of writable, C-contiguous float arrays."""
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"params: expected a Net or a list of (value, grad) pairs, "
                        f"got {type(params).__name__}") from None
    pairs = []
    for k, pair in enumerate(params):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"params[{k}]: expected a (value, grad) pair of arrays, "
                            f"got {type(pair).__name__}")
        value, grad = pair
        for arr, what in ((value, "value"), (grad, "grad")):
            if not isinstance(arr, np.ndarray):
                raise TypeError(f"params[{k}] {what}: expected an ndarray, got {type(arr).__name__}")
            if arr.dtype not in (FLOAT32, FLOAT64):
                raise TypeError(f"params[{k}] {what}: expected float32 or float64, got {arr.dtype}")
            if not (arr.flags.c_contiguous and arr.flags.writeable and arr.dtype.isnative):
                raise ValueError(f"params[{k}] {what}: expected a writable, C-contiguous, "
                                 "native-byte-order array (the optimizer updates it in place)")
        if value.shape != grad.shape or value.dtype != grad.dtype:
            raise ValueError(f"params[{k}]: value {shape_str(value.shape)} {value.dtype} and grad "
                             f"{shape_str(grad.shape)} {grad.dtype} differ")
        if np.shares_memory(value, grad):
            raise ValueError(f"params[{k}]: value and grad share memory")
        pairs.append((value, grad))
    return pairs


def state_dict_arrays(state, expected: dict, dtype) -> dict:
    """load_state_dict's argument: exactly the keys of ``expected`` (name -> shape), each
    an array of that shape, returned converted to ``dtype``.  Checks everything before
    the caller copies anything, so a bad state_dict leaves the Net as it was."""
    if not isinstance(state, Mapping):
        raise TypeError(f"state_dict: expected a mapping of name -> array, got {type(state).__name__}")
    for key, shape in expected.items():
        if key not in state:
            raise ValueError(f"state_dict: missing key {key!r} (expected shape {shape_str(shape)}, "
                             "got no array)")
    arrays = {}
    for key, value in state.items():
        name = f"state_dict[{key!r}]"
        arr = as_float_array(value, name, dtype)
        if key not in expected:
            raise ValueError(f"state_dict: unexpected key {key!r} (shape {shape_str(arr.shape)}); "
                             f"expected the keys {', '.join(repr(k) for k in expected)}")
        if arr.shape != tuple(expected[key]):
            raise ValueError(f"{name}: expected shape {shape_str(expected[key])}, "
                             f"got {shape_str(arr.shape)}")
        arrays[key] = arr
    return arrays



# --- fastbp.distributed ------------------------------------------------------------------

def instance_of(value, name: str, cls, what: str):
    if not isinstance(value, cls):
        raise TypeError(f"{name}: expected {what}, got {type(value).__name__}")
    return value


def same_on_every_rank(records: list, name: str) -> None:
    """records[r] is rank r's description of its ``name``; all must equal rank 0's.  Every
    rank calls this with the same gathered list, so every rank raises the same error."""
    for rank, record in enumerate(records[1:], 1):
        if record != records[0]:
            raise ValueError(f"{name}: every rank needs the same architecture (layer sizes, "
                             f"activations, bias, dtype), but rank 0 has {records[0]} and "
                             f"rank {rank} has {record}")


def data_parallel_loss(loss_fn, loss_types: tuple) -> bool:
    """A loss DataParallel can split across ranks: one of fastbp's loss classes with
    reduction 'mean' (True) or 'sum' (False)."""
    instance_of(loss_fn, "loss_fn", loss_types, "one of fastbp's loss classes")
    if loss_fn.reduction not in ("mean", "sum"):
        raise ValueError(f"loss_fn: a data-parallel step needs reduction 'mean' or 'sum' "
                         f"(one global loss), got {loss_fn.reduction!r}")
    return loss_fn.reduction == "mean"

# --- Net.fit / predict / evaluate ---------------------------------------------------------

def rows_like(y, name: str, n_rows: int, x_name: str) -> np.ndarray:
    """A target array whose first axis matches the N rows of ``x_name`` (its values are
    the loss's to check); the caller's array itself when it is one."""
    y = _as_ndarray(y, name)
    if y.ndim == 0 or y.shape[0] != n_rows:
        raise ValueError(f"{name}: expected {n_rows} rows (as {x_name} has), got shape "
                         f"{shape_str(y.shape)}")
    return y


def optional_batch_size(batch_size):
    return None if batch_size is None else positive_int(batch_size, "batch_size")


def fit_options(epochs, batch_size, validation_split, patience, callbacks, loss_fn):
    epochs = int(positive_int(epochs, "epochs"))
    batch_size = positive_int(batch_size, "batch_size")
    split = real_number(validation_split, "validation_split", minimum=0.0)
    if not split < 1.0:
        raise ValueError(f"validation_split: expected a value in [0, 1), got {split}")
    if patience is not None:
        patience = positive_int(patience, "patience")
    callbacks = tuple(callbacks)
    for k, cb in enumerate(callbacks):
        if not callable(cb):
            raise TypeError(f"callbacks[{k}]: expected a function cb(epoch, logs), "
                            f"got {type(cb).__name__}")
    if getattr(loss_fn, "reduction", "mean") == "none":
        raise ValueError("loss_fn: fit needs one number per batch: reduction 'mean' or 'sum', "
                         "got 'none'")
    return epochs, batch_size, split, patience, callbacks


def validation_pair(data, in_features: int, dtype):
    """fit's validation_data: a pair (x_val (M, in_features), y_val with M rows)."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError("validation_data: expected a pair (x_val, y_val), got "
                        f"{type(data).__name__}" + (f" of length {len(data)}"
                                                    if isinstance(data, (tuple, list)) else ""))
    x_val = layer_input(data[0], "validation_data[0]", in_features, dtype)
    y_val = rows_like(data[1], "validation_data[1]", x_val.shape[0], "validation_data[0]")
    return x_val, y_val


# --- scikit-learn estimators ------------------------------------------------------------

def mlp_parameters(coefs, intercepts, layer_units, dtype) -> tuple[list, list]:
    """A scikit-learn MLP's coefs_ and intercepts_ (attributes a user may set) as C-contiguous
    ``dtype`` arrays of the shapes the layer sizes give: (units[l], units[l+1]) and
    (units[l+1],).  Arrays already so are returned as they are (training updates them)."""
    n = len(layer_units) - 1
    if len(coefs) != n or len(intercepts) != n:
        raise ValueError(f"coefs_, intercepts_: expected {n} arrays each for the layer sizes "
                         f"{list(layer_units)}, got {len(coefs)} and {len(intercepts)}")
    coefs = [np.ascontiguousarray(c, dtype=dtype) for c in coefs]
    intercepts = [np.ascontiguousarray(b, dtype=dtype) for b in intercepts]
    for k in range(n):
        expected = (layer_units[k], layer_units[k + 1])
        if coefs[k].shape != expected:
            raise ValueError(f"coefs_[{k}]: expected shape {shape_str(expected)}, "
                             f"got {shape_str(coefs[k].shape)}")
        if intercepts[k].shape != expected[1:]:
            raise ValueError(f"intercepts_[{k}]: expected shape {shape_str(expected[1:])}, "
                             f"got {shape_str(intercepts[k].shape)}")
    return coefs, intercepts
