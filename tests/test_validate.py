"""Bad input to the functional API: ValueError/TypeError naming the argument and the shapes."""

import numpy as np
import pytest

from fastbp import functional as F


def test_linear_shape_errors():
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 3\) to match weight \(4, 3\), got \(5, 2\)"):
        F.linear(np.ones((5, 2)), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"x: expected a 2-D array \(N, in_features\), got shape \(3,\)"):
        F.linear(np.ones(3), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"weight: expected a 2-D array \(out_features, in_features\), got shape \(3,\)"):
        F.linear(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"bias: expected shape \(4,\), got \(3,\)"):
        F.linear(np.ones((2, 3)), np.ones((4, 3)), np.ones(3))


def test_linear_backward_shape_errors():
    with pytest.raises(ValueError, match=r"grad_y: expected shape \(5, 4\), got \(5, 3\)"):
        F.linear_backward(np.ones((5, 3)), np.ones((5, 3)), np.ones((4, 3)))
    with pytest.raises(TypeError, match="bias: expected True or False"):
        F.linear_backward(np.ones((5, 4)), np.ones((5, 3)), np.ones((4, 3)), bias=np.ones(4))


@pytest.mark.parametrize("bad,kind", [
    (np.ones((2, 2), complex), "dtype complex128"),
    (np.array([["a", "b"]]), "dtype <U1"),
    (np.array([[object(), object()]]), "dtype object"),
    (None, "got NoneType"),
    ("abc", "got str"),
    (np.array(["2020-01-01"], dtype="datetime64[D]").reshape(1, 1), "datetime64"),
])
def test_non_numeric_input_is_a_type_error(bad, kind):
    with pytest.raises(TypeError, match="x: expected .*" + kind.replace("(", r"\(")):
        F.linear(bad, np.ones((2, 2)))
    with pytest.raises(TypeError, match="x: expected"):
        F.sigmoid(bad)


def test_loss_shape_and_option_errors():
    with pytest.raises(ValueError, match=r"target: expected the shape of input \(3,\), got \(3, 1\)"):
        F.mse_loss(np.ones(3), np.ones((3, 1)))
    with pytest.raises(ValueError, match="reduction: expected 'none', 'mean' or 'sum', got 'max'"):
        F.mse_loss_grad(np.ones(3), np.ones(3), reduction="max")
    with pytest.raises(TypeError, match="target: expected a real numeric array, got dtype complex128"):
        F.mse_loss(np.ones(3), np.ones(3, complex))


def test_activation_backward_shape_error():
    with pytest.raises(ValueError, match=r"grad_y: expected the shape of y \(2, 3\), got \(3, 2\)"):
        F.sigmoid_backward(np.ones((3, 2)), np.ones((2, 3)))


def test_lists_are_accepted_as_arrays():
    y = F.linear([[1.0, 2.0]], [[1.0, 0.0], [0.0, 1.0]], [0.5, 0.5])
    np.testing.assert_array_equal(y, [[1.5, 2.5]])
    assert F.mse_loss([1.0, 2.0], [1.0, 4.0]) == 2.0


def test_blas_dimension_limit_is_checked_before_any_kernel():
    # a zero-size view with a huge axis costs no memory yet must not reach 32-bit BLAS
    x = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(2**31, 0), strides=(0, 8))
    with pytest.raises(ValueError, match=r"x: axis 0 has 2147483648 elements, more than the 2\*\*31 - 1"):
        F.linear(x, np.ones((3, 0)))


def test_an_output_larger_than_memory_is_refused_before_allocating():
    # tiny inputs, a 36 TiB output: refused up front, whatever the overcommit policy
    x = np.ones((10**6, 1), np.float32)
    w = np.ones((10**7, 1), np.float32)
    with pytest.raises(MemoryError, match=r"linear output \(N, out_features\): an array of shape "
                                          r"\(1000000, 10000000\) and dtype float32 needs 37252\.9 GiB"):
        F.linear(x, w)
