"""fastbp.sklearn against scikit-learn's own MLPClassifier / MLPRegressor, computed here.

Tolerances: float64 fits are compared with rtol 1e-6 (what the estimators promise): the
same operations in the same order, except the order of BLAS/NumPy summations and the
libm-vs-NumPy tanh/exp, whose last-bit differences grow over the training steps (a few
epochs here give ~1e-14; the looser bound leaves room for other BLAS builds).
"""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import scipy.sparse as sp  # noqa: E402
from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastbp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

RTOL = 1e-6


def digits(n=300):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def fit_both(sk_cls, fb_cls, X, y, method="fit", calls=1, fit_kwargs=None, **params):
    """The same fit (or repeated partial_fit) by scikit-learn and by fastbp."""
    fit_kwargs = fit_kwargs or {}
    pair = sk_cls(**params), fb_cls(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in pair:
            for _ in range(calls):
                getattr(est, method)(X, y, **fit_kwargs)
    return pair


def assert_same_fit(sk, fb, X):
    """fastbp's fitted state and predictions are scikit-learn's."""
    assert fb.n_iter_ == sk.n_iter_
    assert fb.t_ == sk.t_
    assert fb.n_layers_ == sk.n_layers_ and fb.n_outputs_ == sk.n_outputs_
    assert fb.out_activation_ == sk.out_activation_
    assert fb.n_features_in_ == sk.n_features_in_
    for ours, theirs in zip(fb.coefs_ + fb.intercepts_, sk.coefs_ + sk.intercepts_):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=RTOL * np.abs(theirs).max())
    np.testing.assert_allclose(fb.loss_, sk.loss_, rtol=RTOL)
    if hasattr(sk, "loss_curve_"):
        np.testing.assert_allclose(fb.loss_curve_, sk.loss_curve_, rtol=RTOL)
        assert (fb.best_loss_ is None) == (sk.best_loss_ is None)
        if sk.best_loss_ is not None:
            np.testing.assert_allclose(fb.best_loss_, sk.best_loss_, rtol=RTOL)
        for ours, theirs in ((fb.validation_scores_, sk.validation_scores_),
                             (fb.best_validation_score_, sk.best_validation_score_)):
            assert (ours is None) == (theirs is None)  # None without early stopping
            if theirs is not None:
                assert ours == pytest.approx(theirs, rel=RTOL)
    else:
        assert not hasattr(fb, "loss_curve_")
    if hasattr(sk, "classes_"):
        np.testing.assert_array_equal(fb.predict(X), sk.predict(X))
    else:
        np.testing.assert_allclose(fb.predict(X), sk.predict(X), rtol=RTOL, atol=1e-12)
    if hasattr(sk, "predict_proba"):
        np.testing.assert_array_equal(fb.classes_, sk.classes_)
        np.testing.assert_allclose(fb.predict_proba(X), sk.predict_proba(X), rtol=RTOL,
                                   atol=1e-12)
        np.testing.assert_allclose(fb.predict_log_proba(X), sk.predict_log_proba(X),
                                   rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(fb.score(X, _targets(sk, X)),
                               sk.score(X, _targets(sk, X)), rtol=RTOL)


def _targets(sk, X):
    """Targets to score against: scikit-learn's own predictions, perturbed for regressors."""
    pred = sk.predict(X)
    return pred if hasattr(sk, "classes_") else pred + np.linspace(-1, 1, pred.shape[0]).reshape(
        (-1,) + (1,) * (pred.ndim - 1))


# -- scikit-learn's estimator checks (its own MLPs run them with max_iter=100) ---------

@parametrize_with_checks([MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- parity with scikit-learn -----------------------------------------------------------

@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_classifier_matches_sklearn_every_solver_and_activation(solver, activation):
    X, y = digits()
    params = dict(hidden_layer_sizes=(16, 8), activation=activation, solver=solver,
                  max_iter=6, random_state=0, batch_size=64, learning_rate_init=0.01)
    sk, fb = fit_both(sk_nn.MLPClassifier, MLPClassifier, X, y, **params)
    assert_same_fit(sk, fb, X)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_layers_wider_than_a_block_of_intercept_sums_match_sklearn(solver):
    """Hidden layers of 300 and 530 units: the intercept gradients are summed 256 columns
    at a time, so these take a second and a third, partial, block."""
    X, y = digits(150)
    sk, fb = fit_both(sk_nn.MLPClassifier, MLPClassifier, X, y, hidden_layer_sizes=(300, 530),
                      solver=solver, max_iter=3, random_state=4, batch_size=50,
                      learning_rate_init=0.01)
    assert_same_fit(sk, fb, X)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("task", ["binary", "multilabel"])
def test_classifier_binary_and_multilabel_match_sklearn(solver, task):
    X, y = make_classification(200, 12, n_informative=6, random_state=1)
    if task == "multilabel":
        y = np.stack([y, X[:, 0] > 0, X[:, 1] + X[:, 2] > 0.5], axis=1).astype(int)
    sk, fb = fit_both(sk_nn.MLPClassifier, MLPClassifier, X, y, hidden_layer_sizes=(10,),
                      solver=solver, max_iter=8, random_state=3, learning_rate_init=0.01)
    assert fb.out_activation_ == "logistic"
    assert_same_fit(sk, fb, X)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("n_targets", [1, 3])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor_matches_sklearn(solver, n_targets, loss):
    X, y = make_regression(150, 8, n_targets=n_targets, noise=0.1, random_state=2)
    y = y / np.abs(y).max()
    if loss == "poisson":
        y = np.abs(y)
    sk, fb = fit_both(sk_nn.MLPRegressor, MLPRegressor, X, y, loss=loss,
                      hidden_layer_sizes=(12, 6), activation="tanh", solver=solver,
                      max_iter=7, random_state=4, batch_size=40, learning_rate_init=0.003)
    assert_same_fit(sk, fb, X)


@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("momentum, nesterov", [(0.9, True), (0.9, False), (0.0, False)])
def test_sgd_schedules_and_momentum_match_sklearn(learning_rate, momentum, nesterov):
    X, y = digits(200)
    # adaptive with tol=0.5 and n_iter_no_change=1 divides the rate by 5 during the fit
    sk, fb = fit_both(sk_nn.MLPClassifier, MLPClassifier, X, y, solver="sgd",
                      hidden_layer_sizes=(20,), learning_rate=learning_rate, momentum=momentum,
                      nesterovs_momentum=nesterov, power_t=0.3, learning_rate_init=0.05,
                      tol=0.5, n_iter_no_change=1, max_iter=12, random_state=5)
    assert_same_fit(sk, fb, X)
    assert fb._optimizer.learning_rate == sk._optimizer.learning_rate


@pytest.mark.parametrize("cls", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_early_stopping_matches_sklearn(cls, solver):
    if cls == "classifier":
        X, y = digits(400)
        pair = sk_nn.MLPClassifier, MLPClassifier
    else:
        X, y = make_regression(300, 10, noise=1.0, random_state=6)
        y = y / np.abs(y).max()
        pair = sk_nn.MLPRegressor, MLPRegressor
    sk, fb = fit_both(*pair, X, y, solver=solver, early_stopping=True, n_iter_no_change=2,
                      tol=1e-2, hidden_layer_sizes=(15,), max_iter=60, random_state=7,
                      learning_rate_init=0.01, validation_fraction=0.2)
    assert sk.n_iter_ < 60  # it stopped early, and fastbp at the same epoch
    assert_same_fit(sk, fb, X)


def test_unshuffled_sample_weighted_fits_match_sklearn():
    X, y = digits(250)
    w = np.random.default_rng(0).uniform(0.1, 3.0, X.shape[0])
    for solver in ["adam", "lbfgs"]:
        sk, fb = fit_both(sk_nn.MLPClassifier, MLPClassifier, X, y, fit_kwargs=dict(
            sample_weight=w), solver=solver, shuffle=False, hidden_layer_sizes=(12,),
            max_iter=5, random_state=8, batch_size=70)
        assert_same_fit(sk, fb, X)


def test_warm_start_matches_sklearn():
    X, y = digits(200)
    sk, fb = fit_both(sk_nn.MLPClassifier, MLPClassifier, X, y, calls=3, warm_start=True,
                      hidden_layer_sizes=(10,), max_iter=3, random_state=9)
    assert_same_fit(sk, fb, X)


def test_partial_fit_matches_sklearn():
    X, y = digits(300)
    params = dict(hidden_layer_sizes=(10,), random_state=10, solver="sgd")
    sk, fb = sk_nn.MLPClassifier(**params), MLPClassifier(**params)
    for est in (sk, fb):
        for part in np.array_split(np.arange(300), 4):
            est.partial_fit(X[part], y[part], classes=np.arange(10))
    assert_same_fit(sk, fb, X)
    Xr, yr = make_regression(120, 5, random_state=11)
    sk, fb = fit_both(sk_nn.MLPRegressor, MLPRegressor, Xr, yr / 100, method="partial_fit",
                      calls=4, hidden_layer_sizes=(7,), random_state=12)
    assert_same_fit(sk, fb, Xr)


def test_sparse_input_matches_dense_sklearn():
    X, y = digits(200)
    Xs = sp.csr_matrix(X)
    for solver in ["adam", "lbfgs"]:
        sk, fb = fit_both(sk_nn.MLPClassifier, MLPClassifier, Xs, y, solver=solver,
                          hidden_layer_sizes=(10,), max_iter=4, random_state=13)
        assert_same_fit(sk, fb, Xs)


def test_convergence_warning_as_sklearn():
    X, y = digits(100)
    for est in (sk_nn.MLPClassifier(max_iter=2), MLPClassifier(max_iter=2)):
        with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(2\\) reached"):
            est.fit(X, y)


def test_batch_size_larger_than_data_warns_and_clips_as_sklearn():
    X, y = digits(50)
    params = dict(batch_size=80, max_iter=3, random_state=0, hidden_layer_sizes=(5,))
    for cls in (sk_nn.MLPClassifier, MLPClassifier):
        with pytest.warns(UserWarning, match="It is going to be clipped"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                cls(**params).fit(X, y)


# -- dtype ------------------------------------------------------------------------------

def test_dtype_none_follows_the_input_and_forcing_float64_equals_sklearn_in_float64():
    X, y = digits(200)
    X32 = X.astype(np.float32)
    params = dict(hidden_layer_sizes=(10,), max_iter=4, random_state=14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert MLPClassifier(**params).fit(X32, y).coefs_[0].dtype == np.float32
        assert MLPClassifier(**params).fit(X, y).coefs_[0].dtype == np.float64
        fb = MLPClassifier(dtype=np.float64, **params).fit(X32, y)
        sk = sk_nn.MLPClassifier(**params).fit(X32.astype(np.float64), y)
    assert_same_fit(sk, fb, X32.astype(np.float64))


def test_float32_fit_is_close_to_sklearns():
    X, y = digits(300)
    params = dict(hidden_layer_sizes=(20,), max_iter=5, random_state=15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fb = MLPClassifier(dtype="float32", **params).fit(X, y)
        sk = sk_nn.MLPClassifier(**params).fit(X, y)
    for ours, theirs in zip(fb.coefs_, sk.coefs_):
        assert ours.dtype == np.float32
        # float32 rounding (~6e-8) amplified by 5 epochs of 2 batches of adam: measured 1e-6
        np.testing.assert_allclose(ours, theirs, atol=1e-4 * np.abs(theirs).max())
    assert np.mean(fb.predict(X) == sk.predict(X)) > 0.98


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_softmax_and_relu_outputs_are_sklearns_at_saturating_logits(dtype, rtol):
    """predict_proba of one set of coefficients, scaled so that the logits reach ±1e3 and
    most rows' softmax saturates to 0 and 1, against scikit-learn's own forward pass on
    the same coefficients (its inplace_relu and inplace_softmax).  float64: the exp and
    the row sum differ from NumPy's in the last bit only; float32: float32 rounding."""
    X, y = digits(203)  # 203 rows: the softmax's blocks of 8 rows end in a partial one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fb = MLPClassifier(hidden_layer_sizes=(30,), max_iter=3, random_state=0,
                           dtype=dtype).fit(X, y)
    sk = sk_nn.MLPClassifier(hidden_layer_sizes=(30,), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.fit(X, y)
    base_coefs, base_intercepts = fb.coefs_, fb.intercepts_
    Xd = X.astype(dtype)
    for scale in (1.0, 40.0, 300.0):
        for est in (sk, fb):
            est.coefs_ = [(c * scale).astype(dtype) for c in base_coefs]
            est.intercepts_ = [(b * scale).astype(dtype) for b in base_intercepts]
        theirs = sk.predict_proba(Xd)
        ours = fb.predict_proba(Xd)
        assert ours.dtype == theirs.dtype == dtype
        if scale == 300.0:  # saturated: exact zeros and ones on most rows
            assert np.mean(theirs.max(axis=1) == 1.0) > 0.5
        # atol: NumPy's exp gives subnormals where fastbp's flushes to 0 (below 2^-1022)
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=np.finfo(dtype).tiny)


def test_bad_dtype_is_rejected_as_sklearn_rejects_parameters():
    X, y = digits(50)
    with pytest.raises(InvalidParameterError, match="dtype"):
        MLPClassifier(dtype=np.int32).fit(X, y)


# -- errors -----------------------------------------------------------------------------

def test_errors_as_sklearn():
    X, y = digits(60)
    for cls in (sk_nn.MLPClassifier, MLPClassifier):
        with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
            cls(solver="lbfgs").partial_fit(X, y, classes=np.arange(10))
        with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
            cls(early_stopping=True).partial_fit(X, y, classes=np.arange(10))
        with pytest.raises(ValueError, match="X has 10 features, but MLPClassifier is expecting 64"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                cls(max_iter=2).fit(X, y).predict(X[:, :10])


def test_user_set_coefs_of_a_wrong_shape_are_rejected():
    X, y = digits(60)
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        est.coefs_[0] = np.zeros((64, 6))
        with pytest.raises(ValueError, match=r"coefs_\[0\]: expected shape \(64, 5\), got \(64, 6\)"):
            est.fit(X, y)
        with pytest.raises(ValueError, match=r"coefs_\[0\]: expected shape \(64, 5\)"):
            est.predict(X)


# -- scikit-learn's machinery -----------------------------------------------------------

def test_pipeline_gridsearch_clone_and_pickle():
    X, y = digits(300)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=30, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(8,), (16,)],
                               "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
        sk_grid = GridSearchCV(make_pipeline(StandardScaler(), sk_nn.MLPClassifier(
            max_iter=30, random_state=0)), grid.param_grid, cv=3).fit(X, y)
    np.testing.assert_allclose(grid.cv_results_["mean_test_score"],
                               sk_grid.cv_results_["mean_test_score"], rtol=RTOL)
    best = grid.best_estimator_
    copy = clone(best)
    assert copy[-1].get_params() == best[-1].get_params() and not hasattr(copy[-1], "coefs_")
    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(restored.predict_proba(X), best.predict_proba(X))


def test_parameters_are_sklearns_plus_dtype():
    for ours, theirs in [(MLPClassifier(), sk_nn.MLPClassifier()),
                         (MLPRegressor(), sk_nn.MLPRegressor())]:
        params = ours.get_params()
        assert params.pop("dtype") is None
        assert params == theirs.get_params()


def test_import_fastbp_does_not_import_sklearn_and_missing_sklearn_names_the_extra():
    code = ("import sys, fastbp; assert 'sklearn' not in sys.modules\n"
            "sys.modules['sklearn'] = None\n"
            "try:\n    import fastbp.sklearn\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "pip install fastbp[sklearn]" in out
