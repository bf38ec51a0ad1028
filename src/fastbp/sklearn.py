"""scikit-learn's MLPClassifier and MLPRegressor, trained on fastbp's compiled kernels.

The estimators are scikit-learn's own classes in everything but the arithmetic: they
subclass sklearn's BaseMultilayerPerceptron (parameter validation, input checks, the
initialization draws, the fit driver, early stopping's bookkeeping and lbfgs through
scipy.optimize are sklearn's code) and replace the three places where it does array math
-- an epoch of the stochastic solvers, the lbfgs loss and gradient, the forward pass of
predict -- by one compiled call each (``fastbp._sk_solvers``).  The random draws,
shuffles, batches, loss, L2 term and update rules are sklearn's, so a float64 fit gives
sklearn's coefs_, loss_curve_ and n_iter_ within rounding.

Needs scikit-learn (``pip install fastbp[sklearn]``); ``import fastbp`` never imports it.
"""

try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without scikit-learn only
    raise ImportError("fastbp.sklearn needs scikit-learn: pip install fastbp[sklearn]") from exc

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as _SkMLPClassifier
from sklearn.neural_network import MLPRegressor as _SkMLPRegressor
from sklearn.neural_network._multilayer_perceptron import BaseMultilayerPerceptron
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
from sklearn.utils._param_validation import Options, StrOptions
from sklearn.utils.validation import validate_data

from fastbp import _sk_solvers, _validate
from fastbp._activations import Activation
from fastbp._sk_solvers import Loss, OutputActivation

__all__ = ["MLPClassifier", "MLPRegressor"]

HIDDEN_ACTIVATIONS = {"identity": Activation.IDENTITY, "logistic": Activation.SIGMOID,
                      "tanh": Activation.TANH, "relu": Activation.RELU}
OUTPUT_ACTIVATIONS = {"identity": Activation.IDENTITY, "logistic": Activation.SIGMOID,
                      "softmax": Activation.SOFTMAX, "exp": OutputActivation.EXP}

DTYPE_DOC = """
    dtype : {None, numpy.float32, numpy.float64}, default=None
        fastbp's extra parameter: the dtype training computes in.  None follows
        scikit-learn: float32 input trains in float32, anything else in float64.
        float32 is about twice as fast; float64 gives scikit-learn's numbers.

"""


def _with_dtype_doc(doc, sklearn_name):
    """sklearn's class docstring with the dtype parameter and a PyTorch-equivalent line."""
    head = (f"{sklearn_name}, trained on fastbp's compiled kernels (scikit-learn's numbers).\n\n"
            f"    PyTorch equivalent: none (this is scikit-learn's {sklearn_name}).\n\n    ")
    doc = doc or ""
    return head + doc.replace("\n    Attributes\n", DTYPE_DOC + "    Attributes\n", 1)


class _FastMLP(BaseMultilayerPerceptron):
    """The compiled math shared by MLPClassifier and MLPRegressor (see the module doc)."""

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "dtype": [None, Options(type, {np.float32, np.float64}),
                  StrOptions({"float32", "float64"})],
    }

    def _store_parameters(self, args):
        """Keep the constructor's arguments as they are, as every scikit-learn estimator."""
        BaseMultilayerPerceptron.__init__(self, **{
            name: value for name, value in args.items() if name not in ("self", "dtype")})
        self.dtype = args["dtype"]

    # -- dtype and input ---------------------------------------------------------------
    def _train_dtype(self, X, reset):
        """The dtype of training: the existing coefs_' when continuing a fit, else dtype's."""
        if not reset and hasattr(self, "coefs_"):
            return self.coefs_[0].dtype
        if self.dtype is None:
            return np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)
        return np.dtype(self.dtype)

    def _dense_input(self, X, y, reset):
        """X dense, C-contiguous, in the training dtype (the kernels take dense rows)."""
        dtype = self._train_dtype(X, reset)
        if sp.issparse(X):
            X = X.toarray()
        return np.ascontiguousarray(X, dtype=dtype), y

    def _kernel_codes(self):
        if self.out_activation_ == "exp":
            loss = Loss.POISSON
        elif self.loss == "squared_error":
            loss = Loss.SQUARED
        elif self.out_activation_ == "logistic":
            loss = Loss.BINARY_LOG  # sklearn's log_loss with a logistic output
        else:
            loss = Loss.LOG
        return (int(HIDDEN_ACTIVATIONS[self.activation]),
                int(OUTPUT_ACTIVATIONS[self.out_activation_]), int(loss))

    def _checked_parameters(self, layer_units, dtype):
        self.coefs_, self.intercepts_ = _validate.mlp_parameters(
            self.coefs_, self.intercepts_, layer_units, dtype)

    @staticmethod
    def _workspaces(layer_units, rows, dtype):
        """Activations and deltas (rows, units[l+1]) and the gradients' arrays."""
        acts = [np.empty((rows, u), dtype) for u in layer_units[1:]]
        deltas = [np.empty((rows, u), dtype) for u in layer_units[1:]]
        coef_grads = [np.empty((i, o), dtype) for i, o in zip(layer_units, layer_units[1:])]
        intercept_grads = [np.empty(o, dtype) for o in layer_units[1:]]
        return acts, deltas, coef_grads, intercept_grads

    @staticmethod
    def _targets(y, sample_weight, dtype):
        y = np.ascontiguousarray(y, dtype=dtype)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
        return y, sample_weight

    # -- the stochastic solvers: sklearn's _fit_stochastic, each epoch one compiled call --
    def _fit_stochastic(self, X, y, sample_weight, activations, deltas, coef_grads,
                        intercept_grads, layer_units, incremental):
        dtype = X.dtype
        self._checked_parameters(layer_units, dtype)
        params = self.coefs_ + self.intercepts_
        if not incremental or not hasattr(self, "_optimizer"):
            if self.solver == "sgd":
                self._optimizer = SGDOptimizer(params, self.learning_rate_init,
                                               self.learning_rate, self.momentum,
                                               self.nesterovs_momentum, self.power_t)
            elif self.solver == "adam":
                self._optimizer = AdamOptimizer(params, self.learning_rate_init, self.beta_1,
                                                self.beta_2, self.epsilon)

        # early_stopping in partial_fit doesn't make sense
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping:
            # don't stratify in multilabel classification
            should_stratify = is_classifier(self) and self.n_outputs_ == 1
            stratify = y if should_stratify else None
            if sample_weight is None:
                X_train, X_val, y_train, y_val = train_test_split(
                    X, y, random_state=self._random_state,
                    test_size=self.validation_fraction, stratify=stratify)
                sample_weight_train = sample_weight_val = None
            else:
                (X_train, X_val, y_train, y_val, sample_weight_train,
                 sample_weight_val) = train_test_split(
                    X, y, sample_weight, random_state=self._random_state,
                    test_size=self.validation_fraction, stratify=stratify)
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset.")
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)
            X_train = np.ascontiguousarray(X_train)
        else:
            X_train, y_train, sample_weight_train = X, y, sample_weight
            X_val = y_val = sample_weight_val = None
        y_train, sample_weight_train = self._targets(y_train, sample_weight_train, dtype)

        n_samples = X_train.shape[0]
        sample_idx = np.arange(n_samples, dtype=np.intp)

        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        acts, deltas, coef_grads, intercept_grads = self._workspaces(layer_units, batch_size,
                                                                     dtype)
        X_batch = np.empty((batch_size, X_train.shape[1]), dtype)
        Y_batch = np.empty((batch_size, y_train.shape[1]), dtype)
        sw_batch = np.empty(batch_size, dtype)
        act, out_act, loss = self._kernel_codes()
        adam = self.solver == "adam"
        opt = self._optimizer
        state_1, state_2 = (opt.ms, opt.vs) if adam else (opt.velocities, opt.velocities)

        try:
            self.n_iter_ = 0
            for it in range(self.max_iter):
                if self.shuffle:
                    # sklearn.utils.shuffle(sample_idx, random_state=...)'s own draws, without
                    # its input checks (a quarter of a millisecond per epoch)
                    order = np.arange(n_samples)
                    self._random_state.shuffle(order)
                    sample_idx = sample_idx[order]

                accumulated_loss, t, lr = _sk_solvers.epoch(
                    X_train, y_train, sample_weight_train,
                    sample_idx if self.shuffle else None, batch_size,
                    self.coefs_, self.intercepts_, state_1, state_2,
                    coef_grads, intercept_grads, acts, deltas, X_batch, Y_batch, sw_batch,
                    act, out_act, loss, self.alpha, adam,
                    opt.learning_rate_init if adam else opt.learning_rate,
                    self.momentum, self.nesterovs_momentum, self.beta_1, self.beta_2,
                    self.epsilon, opt.t if adam else 0)
                if adam:
                    opt.t, opt.learning_rate = t, lr

                self.n_iter_ += 1
                self.loss_ = accumulated_loss / X_train.shape[0]

                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))

                # update no_improvement_count based on training loss or
                # validation score according to early_stopping
                self._update_no_improvement_count(early_stopping, X_val, y_val,
                                                  sample_weight_val)

                # for learning rate that needs to be updated at iteration end
                self._optimizer.iteration_ends(self.t_)

                if self._no_improvement_count > self.n_iter_no_change:
                    # not better than last `n_iter_no_change` iterations by tol
                    # stop or decrease learning rate
                    if early_stopping:
                        msg = ("Validation score did not improve more than "
                               "tol=%f for %d consecutive epochs."
                               % (self.tol, self.n_iter_no_change))
                    else:
                        msg = ("Training loss did not improve more than tol=%f"
                               " for %d consecutive epochs."
                               % (self.tol, self.n_iter_no_change))

                    is_stopping = self._optimizer.trigger_stopping(msg, self.verbose)
                    if is_stopping:
                        break
                    else:
                        self._no_improvement_count = 0

                if incremental:
                    break

                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet."
                        % self.max_iter,
                        ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")

        if early_stopping:
            # restore best weights
            self.coefs_ = self._best_coefs
            self.intercepts_ = self._best_intercepts

    # -- lbfgs: sklearn's _fit_lbfgs (scipy's L-BFGS-B), the loss and gradient compiled --
    def _fit_lbfgs(self, X, y, sample_weight, activations, deltas, coef_grads,
                   intercept_grads, layer_units):
        dtype = X.dtype
        self._checked_parameters(layer_units, dtype)
        y, sample_weight = self._targets(y, sample_weight, dtype)
        acts, deltas, coef_grads, intercept_grads = self._workspaces(layer_units, X.shape[0],
                                                                     dtype)
        super()._fit_lbfgs(X, y, sample_weight, acts, deltas, coef_grads, intercept_grads,
                           layer_units)
        # scipy works in float64: a float32 fit keeps float32 parameters
        self.coefs_, self.intercepts_ = _validate.mlp_parameters(
            self.coefs_, self.intercepts_, layer_units, dtype)

    def _loss_grad_lbfgs(self, packed_coef_inter, X, y, sample_weight, activations, deltas,
                         coef_grads, intercept_grads):
        """sklearn's (loss, packed gradient) at packed_coef_inter, from one compiled call."""
        dtype = X.dtype
        packed = np.ascontiguousarray(packed_coef_inter, dtype=dtype)
        self._unpack(packed)
        grad = np.empty(packed.shape[0], dtype)
        coef_grads = [grad[s:e].reshape(shape) for s, e, shape in self._coef_indptr]
        intercept_grads = [grad[s:e] for s, e in self._intercept_indptr]
        act, out_act, loss_kind = self._kernel_codes()
        loss = _sk_solvers.loss_grad(X, y, sample_weight, self.coefs_, self.intercepts_,
                                     coef_grads, intercept_grads, activations, deltas,
                                     act, out_act, loss_kind, self.alpha)
        return loss, grad.astype(np.float64, copy=False)

    # -- predict ---------------------------------------------------------------------
    def _forward_pass_fast(self, X, check_input=True):
        """The output layer's activations for X (sklearn's _forward_pass_fast), compiled."""
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        # NumPy's promotion, as sklearn's X @ coefs_: float32 only when both are
        dtype = (np.float32 if X.dtype == np.float32 and self.coefs_[0].dtype == np.float32
                 else np.float64)
        if sp.issparse(X):
            X = X.toarray()
        X = np.ascontiguousarray(X, dtype=dtype)
        layer_units = [X.shape[1]] + [b.shape[0] for b in self.intercepts_]
        coefs, intercepts = _validate.mlp_parameters(self.coefs_, self.intercepts_,
                                                     layer_units, dtype)
        outs = [np.empty((X.shape[0], u), dtype) for u in layer_units[1:]]
        act, out_act, _ = self._kernel_codes()
        _sk_solvers.forward(X, coefs, intercepts, outs, act, out_act)
        return outs[-1]


class MLPClassifier(ClassifierMixin, _FastMLP):
    __doc__ = _with_dtype_doc(_SkMLPClassifier.__doc__, "sklearn.neural_network.MLPClassifier")

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
    ):
        self._store_parameters(dict(locals(), loss="log_loss"))

    def _validate_input(self, X, y, incremental, reset):
        X, y = _SkMLPClassifier._validate_input(self, X, y, incremental, reset)
        return self._dense_input(X, y, reset)

    # sklearn's own methods (no arithmetic of their own: they call the compiled forward)
    predict = _SkMLPClassifier.predict
    _predict = _SkMLPClassifier._predict
    partial_fit = _SkMLPClassifier.__dict__["partial_fit"]
    predict_proba = _SkMLPClassifier.predict_proba
    predict_log_proba = _SkMLPClassifier.predict_log_proba

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight=sample_weight,
                                         score_function=accuracy_score)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _FastMLP):
    __doc__ = _with_dtype_doc(_SkMLPRegressor.__doc__, "sklearn.neural_network.MLPRegressor")

    _parameter_constraints: dict = {
        **_FastMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype=None,
    ):
        self._store_parameters(locals())

    def _validate_input(self, X, y, incremental, reset):
        X, y = _SkMLPRegressor._validate_input(self, X, y, incremental, reset)
        return self._dense_input(X, y, reset)

    predict = _SkMLPRegressor.predict
    _predict = _SkMLPRegressor._predict
    partial_fit = _SkMLPRegressor.__dict__["partial_fit"]

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight=sample_weight,
                                         score_function=r2_score)
