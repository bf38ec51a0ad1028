"""The loss classes: same floats as functional, backward(), options kept and validated."""

import numpy as np
import pytest

import fastbp
from fastbp import functional as F

REDUCTIONS = ["mean", "sum", "none"]

# class, functional name, constructor options, (input, target) maker
W3 = np.array([0.5, 1.0, 2.0])


def regression(rng):
    return rng.standard_normal((5, 3)), rng.standard_normal((5, 3))


def probabilities(rng):
    return rng.uniform(0, 1, (5, 3)), rng.uniform(0, 1, (5, 3))


def logits_and_labels(rng):
    return rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 2])


def logits_and_probs(rng):
    q = rng.uniform(0, 1, (5, 3))
    return rng.standard_normal((5, 3)), q / q.sum(axis=1, keepdims=True)


CASES = [
    (fastbp.L1Loss, "l1_loss", {}, regression),
    (fastbp.MSELoss, "mse_loss", {}, regression),
    (fastbp.SmoothL1Loss, "smooth_l1_loss", {"beta": 0.5}, regression),
    (fastbp.SmoothL1Loss, "smooth_l1_loss", {"beta": 0.0}, regression),
    (fastbp.HuberLoss, "huber_loss", {"delta": 0.7}, regression),
    (fastbp.CrossEntropyLoss, "cross_entropy", {}, logits_and_labels),
    (fastbp.CrossEntropyLoss, "cross_entropy",
     {"weight": W3, "ignore_index": 1, "label_smoothing": 0.2}, logits_and_labels),
    (fastbp.CrossEntropyLoss, "cross_entropy", {"weight": W3, "label_smoothing": 0.1},
     logits_and_probs),
    (fastbp.NLLLoss, "nll_loss", {"weight": W3}, logits_and_labels),
    (fastbp.NLLLoss, "nll_loss", {"ignore_index": 2}, logits_and_labels),
    (fastbp.BCELoss, "binary_cross_entropy", {"weight": W3}, probabilities),
    (fastbp.BCEWithLogitsLoss, "binary_cross_entropy_with_logits",
     {"weight": np.array([[1.0], [2.0], [0.5], [1.0], [3.0]]), "pos_weight": W3}, regression),
]


def case_id(case):
    cls, _, options, make = case
    return cls.__name__ + "".join(f"-{k}" for k in options) + "-" + make.__name__


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_class_gives_the_functional_floats(rng, case, reduction, dtype):
    cls, name, options, make = case
    x, t = make(rng)
    x = x.astype(dtype)
    loss_fn = cls(reduction=reduction, **options)
    with pytest.raises(RuntimeError, match="before any loss was computed"):
        loss_fn.backward()
    value = loss_fn(x, t)
    expected = getattr(F, name)(x, t, reduction=reduction, **options)
    np.testing.assert_array_equal(value, expected)
    assert type(value) is (np.ndarray if reduction == "none" else float)
    grad = loss_fn.backward()
    assert grad.dtype == dtype and grad.shape == x.shape
    np.testing.assert_array_equal(grad, getattr(F, name + "_grad")(x, t, reduction=reduction, **options))
    # backward() belongs to the most recent call
    x2, t2 = make(rng)
    loss_fn(x2, t2)
    np.testing.assert_array_equal(loss_fn.backward(),
                                  getattr(F, name + "_grad")(x2, t2, reduction=reduction, **options))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_options_are_kept_as_attributes(case):
    cls, _, options, _ = case
    loss_fn = cls(reduction="sum", **options)
    assert loss_fn.reduction == "sum"
    for key, value in options.items():
        np.testing.assert_array_equal(getattr(loss_fn, key), value)


def test_defaults_and_repr():
    assert repr(fastbp.MSELoss()) == "MSELoss(reduction='mean')"
    assert repr(fastbp.L1Loss("sum")) == "L1Loss(reduction='sum')"
    assert repr(fastbp.SmoothL1Loss()) == "SmoothL1Loss(reduction='mean', beta=1.0)"
    assert repr(fastbp.HuberLoss(delta=2)) == "HuberLoss(reduction='mean', delta=2.0)"
    assert repr(fastbp.CrossEntropyLoss(weight=W3)) == (
        "CrossEntropyLoss(weight=array of shape (3,), ignore_index=-100, reduction='mean', "
        "label_smoothing=0.0)")
    assert repr(fastbp.NLLLoss()) == "NLLLoss(weight=None, ignore_index=-100, reduction='mean')"
    assert repr(fastbp.BCELoss()) == "BCELoss(weight=None, reduction='mean')"
    assert repr(fastbp.BCEWithLogitsLoss(pos_weight=W3)) == (
        "BCEWithLogitsLoss(weight=None, reduction='mean', pos_weight=array of shape (3,))")
    loss_fn = fastbp.CrossEntropyLoss()
    assert (loss_fn.weight, loss_fn.ignore_index, loss_fn.label_smoothing) == (None, -100, 0.0)
    loss_fn = fastbp.BCEWithLogitsLoss()
    assert (loss_fn.weight, loss_fn.pos_weight) == (None, None)


def test_teaching_text_classes():
    assert fastbp.L1Loss()(np.float32([1, 2, 3]), np.float32([1.5, 2.5, 3.5])) == 0.5
    assert fastbp.MSELoss()(np.float32([1, 2, 3]), np.float32([1.5, 2.5, 3.5])) == 0.25
    logits = np.float32([[1.5, 2.0, 0.5], [0.5, 1.0, 1.5]])
    assert fastbp.CrossEntropyLoss()(logits, np.array([1, 2])) == 0.6422001123428345


def test_invalid_options_raise_at_construction():
    with pytest.raises(ValueError, match="reduction: expected 'none', 'mean' or 'sum', got 'avg'"):
        fastbp.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="reduction: expected 'none', 'mean' or 'sum', got 'elementwise_mean'"):
        fastbp.BCELoss(reduction="elementwise_mean")
    with pytest.raises(ValueError, match=r"beta: expected a value >= 0.0, got -1.0"):
        fastbp.SmoothL1Loss(beta=-1)
    with pytest.raises(ValueError, match=r"delta: expected a value > 0.0, got 0.0"):
        fastbp.HuberLoss(delta=0)
    with pytest.raises(ValueError, match=r"label_smoothing: expected a value in \[0, 1\], got 2.0"):
        fastbp.CrossEntropyLoss(label_smoothing=2)
    with pytest.raises(ValueError, match=r"weight: expected a 1-D array \(one weight per class\)"):
        fastbp.CrossEntropyLoss(weight=np.ones((2, 3)))
    with pytest.raises(TypeError, match="ignore_index: expected an integer, got True"):
        fastbp.NLLLoss(ignore_index=True)
    with pytest.raises(TypeError, match="pos_weight: expected a real numeric array"):
        fastbp.BCEWithLogitsLoss(pos_weight=np.array(["a"]))


def test_call_errors_name_the_argument_and_keep_the_last_gradient(rng):
    loss_fn = fastbp.CrossEntropyLoss(weight=W3)
    x, y = logits_and_labels(rng)
    loss_fn(x, y)
    grad = loss_fn.backward().copy()
    with pytest.raises(ValueError, match="target: class index 3 is out of range"):
        loss_fn(x, np.array([0, 1, 2, 3, 0]))
    with pytest.raises(ValueError, match=r"weight: expected shape \(4,\)"):
        loss_fn(np.zeros((2, 4)), np.array([0, 1]))
    np.testing.assert_array_equal(loss_fn.backward(), grad)
    with pytest.raises(ValueError, match=r"input: expected values in \[0, 1\], got nan"):
        fastbp.BCELoss()(np.array([np.nan]), np.array([1.0]))
