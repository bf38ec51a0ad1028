"""Arrays: coercion to the kernels' dtypes and layouts, and shape checks."""

from __future__ import annotations

import os

import numpy as np



FLOAT32 = np.dtype(np.float32)
FLOAT64 = np.dtype(np.float64)
# BLAS takes 32-bit int dimensions (scipy.linalg.cython_blas is LP64).
MAX_DIM = 2**31 - 1


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
