"""Every loss, value and gradient, functional and class, against PyTorch itself.

Skipped cleanly when torch is absent.  The cases (losses x options, data with the edges
torch is particular about) are those of test_losses.py.
"""

import numpy as np
import pytest
import reference as ref
from conftest import DTYPES, assert_close
from test_losses import (CROSS_ENTROPY_CASES, ELEMENTWISE_CASES, NLL_CASES, REDUCTIONS,
                         case_id, class_case_id, class_data, class_kwargs, class_target,
                         elementwise_data, materialize)

import fastbp
from fastbp import functional as F

torch = pytest.importorskip("torch")

CLASSES = {
    "l1_loss": fastbp.L1Loss, "mse_loss": fastbp.MSELoss, "smooth_l1_loss": fastbp.SmoothL1Loss,
    "huber_loss": fastbp.HuberLoss, "cross_entropy": fastbp.CrossEntropyLoss,
    "nll_loss": fastbp.NLLLoss, "binary_cross_entropy": fastbp.BCELoss,
    "binary_cross_entropy_with_logits": fastbp.BCEWithLogitsLoss,
}


def torch_value_and_grad(name, x, target, reduction, **kwargs):
    """torch.nn.functional.<name>: the value and d(sum of the value)/d(input)."""
    tx = torch.tensor(x, requires_grad=True)
    kw = {k: torch.tensor(np.asarray(v, dtype=x.dtype)) if isinstance(v, np.ndarray) else v
          for k, v in kwargs.items()}
    loss = getattr(torch.nn.functional, name)(tx, torch.tensor(target), reduction=reduction, **kw)
    loss.sum().backward()
    return loss.detach().numpy(), tx.grad.numpy()


def check_against_torch(name, x, target, reduction, dtype, **kwargs):
    expected, expected_grad = torch_value_and_grad(name, x, target, reduction, **kwargs)
    assert_close(getattr(F, name)(x, target, reduction=reduction, **kwargs), expected, dtype)
    assert_close(getattr(F, name + "_grad")(x, target, reduction=reduction, **kwargs),
                 expected_grad, dtype)
    loss_fn = CLASSES[name](reduction=reduction, **kwargs)
    assert_close(loss_fn(x, target), expected, dtype)
    assert_close(loss_fn.backward(), expected_grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (6, 5), (2, 3, 4)])
@pytest.mark.parametrize("case", ELEMENTWISE_CASES, ids=case_id)
def test_elementwise_losses(rng, case, shape, reduction, dtype):
    name, options = case
    x, t = elementwise_data(name, shape, dtype, rng)
    check_against_torch(name, x, t, reduction, dtype, **materialize(options, shape, rng))


CLASS_LOSS_CASES = ([("cross_entropy", o) for o in CROSS_ENTROPY_CASES]
                    + [("nll_loss", o) for o in NLL_CASES])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("n,c", [(1, 1), (5, 1), (8, 3), (30, 7)])
@pytest.mark.parametrize("loss,options", CLASS_LOSS_CASES,
                         ids=lambda a: a if isinstance(a, str) else class_case_id(a))
def test_class_losses(rng, loss, options, n, c, reduction, dtype):
    x, y = class_data(n, c, dtype, rng)
    kwargs = class_kwargs(options, n, c, rng)
    target = class_target(options, y, c, dtype, rng, kwargs)
    check_against_torch(loss, x, target, reduction, dtype, **kwargs)


def test_teaching_text_snippets_match_torch():
    tf = torch.nn.functional
    pred, true = [1.0, 2.0, 3.0], [1.5, 2.5, 3.5]
    f32 = lambda a: np.array(a, np.float32)  # noqa: E731
    assert F.l1_loss(f32(pred), f32(true)) == tf.l1_loss(torch.tensor(pred), torch.tensor(true)).item()
    assert F.mse_loss(f32(pred), f32(true)) == tf.mse_loss(torch.tensor(pred), torch.tensor(true)).item()
    pred, true = [1.0, 2.0, 3.0, 6.0], [1.5, 2.5, 3.5, 4.5]
    assert F.smooth_l1_loss(f32(pred), f32(true)) == tf.smooth_l1_loss(
        torch.tensor(pred), torch.tensor(true)).item()
    y, t = [[0.7], [0.2], [0.9], [0.7]], [[1.0], [0.0], [1.0], [0.0]]
    expected = tf.binary_cross_entropy(torch.tensor(y), torch.tensor(t)).item()
    assert abs(F.binary_cross_entropy(f32(y), f32(t)) - expected) <= 1e-7 * expected
    logits = [[1.5, 2.0, 0.5], [0.5, 1.0, 1.5]]
    expected = tf.cross_entropy(torch.tensor(logits), torch.tensor([1, 2])).item()
    assert expected == 0.6422001123428345
    assert F.cross_entropy(f32(logits), np.array([1, 2])) == expected


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_finite_values(dtype):
    nan, inf = np.nan, np.inf
    x = np.array([nan, inf, -inf, 1.0, 2.0, 0.5], dtype)
    t = np.array([0.0, inf, 0.0, inf, 2.0, 0.0], dtype)
    for reduction in REDUCTIONS:
        check_against_torch("l1_loss", x, t, reduction, dtype)
        check_against_torch("mse_loss", x, t, reduction, dtype)
        check_against_torch("smooth_l1_loss", x, t, reduction, dtype, beta=0.0)
        check_against_torch("smooth_l1_loss", x, t, reduction, dtype, beta=0.7)
        check_against_torch("huber_loss", x, t, reduction, dtype, delta=0.7)
    x = np.array([inf, -inf, inf, -inf, nan, 1e4, -1e4, 0.0, 88.0, -88.0, 800.0, -800.0], dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.5, 0.0, 1.0, 0.25, 0.75], dtype)
    for reduction in REDUCTIONS:
        check_against_torch("binary_cross_entropy_with_logits", x, t, reduction, dtype)
        check_against_torch("binary_cross_entropy_with_logits", x, t, reduction, dtype,
                            pos_weight=np.array([3.0]), weight=np.linspace(0.5, 2, 12))
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 1e-30, 1 - 1e-7], dtype)
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.3, 1.0, 0.0], dtype)
    for reduction in REDUCTIONS:
        check_against_torch("binary_cross_entropy", p, t, reduction, dtype)
    x = np.array([[inf, 0.0, 1.0], [-inf, 0.0, 1.0], [-inf, -inf, -inf], [nan, 0.0, 0.0],
                  [1e4, -1e4, 0.0], [-1e30, 1e30, 0.0]], dtype)
    y = np.array([1, 0, 1, 2, 0, 1])
    q = np.array([[0.0, 0.5, 0.5]] * 6, dtype)
    for reduction in REDUCTIONS:
        check_against_torch("cross_entropy", x, y, reduction, dtype)
        check_against_torch("cross_entropy", x, y, reduction, dtype, label_smoothing=0.1)
        check_against_torch("cross_entropy", x, q, reduction, dtype)
        check_against_torch("nll_loss", x, y, reduction, dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_edge_cases(reduction):
    x = np.array([[1.5, 2.0, 0.5], [0.5, 1.0, 1.5]])
    ignored = np.array([-100, -100])
    w = np.array([1.0, 0.0, 0.0])
    for kwargs in ({}, {"weight": w}, {"label_smoothing": 0.2}, {"weight": w, "label_smoothing": 0.2}):
        check_against_torch("cross_entropy", x, ignored, reduction, np.float64, **kwargs)
        check_against_torch("cross_entropy", x, np.array([1, 2]), reduction, np.float64, **kwargs)
    for kwargs in ({}, {"weight": w}):
        check_against_torch("nll_loss", x, ignored, reduction, np.float64, **kwargs)
        check_against_torch("nll_loss", x, np.array([1, 2]), reduction, np.float64, **kwargs)
    check_against_torch("nll_loss", x, np.array([1, 5]), reduction, np.float64, ignore_index=5)
    empty = np.zeros((0, 3))
    check_against_torch("cross_entropy", empty, np.zeros(0, np.int64), reduction, np.float64)
    check_against_torch("cross_entropy", empty, empty, reduction, np.float64)
    # no classes: torch's 'mean' of class probabilities divides by numel / C = 0 / 0
    check_against_torch("cross_entropy", np.zeros((3, 0)), np.zeros((3, 0)), reduction,
                        np.float64)
    with np.errstate(invalid="ignore"):  # and so does the fuzzing's oracle
        assert_close(ref.cross_entropy(np.zeros((3, 0)), np.zeros((3, 0)), reduction=reduction),
                     torch_value_and_grad("cross_entropy", np.zeros((3, 0)), np.zeros((3, 0)),
                                          reduction)[0], np.float64)
    check_against_torch("nll_loss", empty, np.zeros(0, np.int64), reduction, np.float64)
    for name in ("l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
                 "binary_cross_entropy_with_logits"):
        check_against_torch(name, empty, empty, reduction, np.float64)


def test_invalid_options_are_errors_in_torch_too():
    """The options fastbp refuses are those torch refuses (torch raises RuntimeError)."""
    tf = torch.nn.functional
    one = torch.ones(2)
    for call in (lambda: tf.smooth_l1_loss(one, one, beta=-1.0),
                 lambda: tf.huber_loss(one, one, delta=0.0),
                 lambda: tf.cross_entropy(torch.ones(2, 3), torch.tensor([0, 1]), label_smoothing=1.5),
                 lambda: tf.cross_entropy(torch.ones(2, 3), torch.tensor([0, 3])),
                 lambda: tf.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0])),
                 lambda: tf.binary_cross_entropy(torch.tensor([0.5]), torch.tensor([1.5])),
                 lambda: tf.binary_cross_entropy(torch.tensor([0.5]), one, weight=torch.ones(3))):
        with pytest.raises((RuntimeError, IndexError, ValueError)):
            call()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_ignored_rows_with_non_finite_logits(dtype, label_smoothing, reduction):
    """torch backpropagates through log_softmax even on ignored rows: 0 - p * 0 is nan where
    the row holds nan or +inf or is all -inf, and 0 elsewhere."""
    inf, nan = np.inf, np.nan
    x = np.array([[nan, 0.0, 1.0], [inf, 0.0, 1.0], [-inf, -inf, -inf], [-inf, 2.0, 1.0],
                  [0.5, 0.0, 1.0]], dtype=dtype)
    target = np.array([-100, -100, -100, -100, 2])
    check_against_torch("cross_entropy", x, target, reduction, dtype,
                        label_smoothing=label_smoothing)


def test_cross_entropy_subnormal_total_weight_follows_torch_order():
    """'mean' with a subnormal total weight: torch forms -(1/total) first (inf), then the
    weight times it; the same nan/inf pattern, not a rescue."""
    x = np.zeros((2, 5))
    weight = np.array([0, 0, 0, 5e-320, 0])
    check_against_torch("cross_entropy", x, np.array([0, 3]), "mean", np.float64, weight=weight)


def test_float32_tiny_total_weight_overflows_as_in_torch():
    """float32 'mean' with a subnormal total weight W: torch's sum/W of the smoothing part
    and its gradient coefficients (1 - eps)/W, (eps/C)/W, 1/W are float32 numbers, inf
    here, though the float64 answers are finite: fastbp and
    tests/reference.py follow torch, inf in the value and nan or inf in the gradient."""
    x = np.array([[-1.0, 0.0]], np.float32)
    y = np.array([0])
    weight = np.array([1e-40, 1.0], np.float32)
    for name, kwargs in [("cross_entropy", {"weight": weight, "label_smoothing": 0.1}),
                         ("cross_entropy", {"weight": weight}), ("nll_loss", {"weight": weight})]:
        expected, expected_grad = torch_value_and_grad(name, x, y, "mean", **kwargs)
        for impl in (F, ref):
            assert_close(getattr(impl, name)(x, y, **kwargs), expected, np.float32)
            assert_close(getattr(impl, name + "_grad")(x, y, **kwargs), expected_grad, np.float32)
        assert not np.isfinite(expected_grad).all() or not np.isfinite(expected)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_exact_zero_times_infinite_weight(reduction):
    """(1 - t) x - lw log_sigmoid(x) is exactly 0 here, so an infinite weight gives nan, as in
    torch; a fused multiply-add would leave a residue and give inf."""
    x = np.array([-1e150, 0.5])
    target = np.array([-2.0, 1.0])
    check_against_torch("binary_cross_entropy_with_logits", x, target, reduction, np.float64,
                        weight=np.array([np.inf, 1.0]), pos_weight=np.array([0.0, 2.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,x,target,weight,kwargs", [
    # zero total weight with label smoothing: torch's 0 * -inf at the targets makes rows nan
    ("cross_entropy", np.zeros((4, 4)), [0, 0, -100, -100], [0.0, 0, 1, -2], {"label_smoothing": 0.1}),
    # infinite weights of both signs in the smoothing term
    ("cross_entropy", np.zeros((2, 3)), [0, 1], [1.0, np.inf, -np.inf], {"label_smoothing": 0.2}),
    # a subnormal total weight: -(1/total) is -inf before the weight multiplies it
    ("nll_loss", np.zeros((2, 3)), [1, -100], [0.0, 5e-320, 0.0], {}),
], ids=["ce-zero-total", "ce-infinite-weights", "nll-subnormal-total"])
def test_degenerate_weights_follow_torch_order(name, x, target, weight, kwargs, reduction):
    """Cases tests/fuzz_api.py found: the nan/inf pattern of torch's own order of operations."""
    check_against_torch(name, x, np.array(target), reduction, np.float64,
                        weight=np.array(weight), **kwargs)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_float32_bce_gradient_is_torchs_to_the_bit(rng, reduction, weighted):
    """float32 binary_cross_entropy runs in float32 arithmetic in torch's order, so its
    gradient equals torch's exactly (its value, through its own log, to within an ulp or
    two: checked by the tolerance tests above)."""
    n = 100_003  # 'mean' divides by n: not a power of two
    p = rng.random(n).astype(np.float32)
    t = rng.random(n).astype(np.float32)
    p[:4], t[:4] = [0, 1, 0, 1], [0, 0, 1, 1]
    t[4:1000] = rng.integers(0, 2, 996)
    kwargs = {"weight": rng.random(n).astype(np.float32) * 3} if weighted else {}
    _, expected_grad = torch_value_and_grad("binary_cross_entropy", p, t, reduction, **kwargs)
    np.testing.assert_array_equal(
        F.binary_cross_entropy_grad(p, t, reduction=reduction, **kwargs), expected_grad)


# torch's other class-loss shapes: unbatched (C,) with a 0-d target, and (N, C, d1, ..., dK)
# with (N, d1, ..., dK) indices or probabilities of the input's shape.
CLASS_SHAPES = {"unbatched": (4,), "K=1": (3, 4, 5), "K=2": (2, 4, 3, 2), "K=3": (2, 4, 1, 3, 2),
                "empty K-dim": (2, 4, 0, 3)}
CLASS_OPTIONS = [{}, {"weight": np.array([0.5, 2.0, 0.25, 1.5])}, {"ignore_index": 1},
                 {"weight": np.array([0.5, 2.0, 0.25, 1.5]), "ignore_index": 2,
                  "label_smoothing": 0.2}]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", CLASS_OPTIONS, ids=str)
@pytest.mark.parametrize("shape", CLASS_SHAPES.values(), ids=CLASS_SHAPES.keys())
def test_class_losses_take_torch_shapes(rng, dtype, reduction, options, shape):
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    lead = shape[:1] + shape[2:] if len(shape) > 1 else ()
    indices = rng.integers(0, 4, lead)
    if "ignore_index" in options and indices.size:
        indices.reshape(-1)[0] = options["ignore_index"]
    nll_options = {k: v for k, v in options.items() if k != "label_smoothing"}
    for name, target, kwargs in (("nll_loss", indices, nll_options),
                                 ("cross_entropy", indices, options)):
        check_against_torch(name, x, target, reduction, dtype, **kwargs)
        value = getattr(F, name)(x, target, reduction=reduction, **kwargs)
        assert np.shape(value) == (lead if reduction == "none" else ())
        # the NumPy reference agrees too (and gives the fuzz oracle these shapes)
        assert_close(value, getattr(ref, name)(x, target, reduction=reduction, **kwargs), dtype)
    if "ignore_index" not in options:  # probabilities: no ignore_index >= 0, as torch
        probs = rng.random(shape).astype(dtype)
        check_against_torch("cross_entropy", x, probs, reduction, dtype, **options)
