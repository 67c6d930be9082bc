"""Models: the participant's learner, trained only on its private shard.

Estimators follow scikit-learn conventions (``__init__`` stores parameters, ``fit`` returns self, learned
state ends in ``_``, randomness through ``random_state``); each participant gets its own clone.

    learner = Learner("random_forest", random_state=3).fit(X_shard, y_shard)
    labels = learner.predict(X_queries)          # int labels, always among the classes seen in fit
"""
from __future__ import annotations

import importlib
import warnings
from typing import Any, Callable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y
from threadpoolctl import threadpool_limits


def _scaled(estimator) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), estimator)


def _logistic_regression(random_state=None):
    from sklearn.linear_model import LogisticRegression

    return _scaled(LogisticRegression(max_iter=500, random_state=random_state))


def _random_forest(random_state=None):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=50, random_state=random_state)


def _extra_trees(random_state=None):
    from sklearn.ensemble import ExtraTreesClassifier

    return ExtraTreesClassifier(n_estimators=50, random_state=random_state)


def _knn(random_state=None):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=5)


def _mlp(random_state=None):
    from sklearn.neural_network import MLPClassifier

    return _scaled(MLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=random_state))


def _naive_bayes(random_state=None):
    from sklearn.naive_bayes import GaussianNB

    return GaussianNB()


def _decision_tree(random_state=None):
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(random_state=random_state)


def _svm(random_state=None):
    from sklearn.svm import SVC

    return _scaled(SVC(random_state=random_state))


def _linear_svm(random_state=None):
    from sklearn.svm import LinearSVC

    return _scaled(LinearSVC(random_state=random_state))


def _nearest_centroid(random_state=None):
    from sklearn.neighbors import NearestCentroid

    return NearestCentroid()


ESTIMATORS: dict[str, Callable[..., Any]] = {
    "logistic_regression": _logistic_regression,
    "random_forest": _random_forest,
    "extra_trees": _extra_trees,
    "knn": _knn,
    "mlp": _mlp,
    "naive_bayes": _naive_bayes,
    "decision_tree": _decision_tree,
    "svm": _svm,
    "linear_svm": _linear_svm,
    "nearest_centroid": _nearest_centroid,
}
"""Name -> factory(random_state=None) returning a fresh, unfitted scikit-learn classifier."""


def _set_random_state(estimator, random_state) -> Any:
    """Set every `random_state` parameter of `estimator` (and of its nested estimators)."""
    if random_state is None:
        return estimator
    keys = [k for k in estimator.get_params(deep=True) if k == "random_state" or k.endswith("__random_state")]
    if keys:
        estimator.set_params(**{k: random_state for k in keys})
    return estimator


def _import(path: str) -> Any:
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"bad estimator import path {path!r}: use 'package.module:Class' or 'package.module.Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} for estimator {path!r}: {exc}") from None
    try:
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise ValueError(f"module {module_name!r} has no attribute {attr!r} (estimator {path!r})") from None
    return obj


def make_estimator(spec="logistic_regression", random_state=None) -> Any:
    """A fresh unfitted estimator from a name in ESTIMATORS, an import path or an estimator instance.

    An instance is cloned (never fitted in place). An import path ("sklearn.svm:SVC" or "sklearn.svm.SVC")
    names a class built with its default parameters. `random_state`, when given, is set on every
    random_state parameter (nested ones included).
    """
    if hasattr(spec, "fit") and hasattr(spec, "get_params") and not isinstance(spec, type):
        return _set_random_state(clone(spec), random_state)
    if isinstance(spec, str):
        if spec in ESTIMATORS:
            return ESTIMATORS[spec](random_state=random_state)
        if "." in spec or ":" in spec:
            cls = _import(spec)
            if not callable(cls):
                raise ValueError(f"{spec!r} is not a class")
            try:
                est = cls()
            except TypeError as exc:
                raise ValueError(f"cannot build {spec!r} with default parameters: {exc}") from None
            if not hasattr(est, "fit") or not hasattr(est, "predict"):
                raise ValueError(f"{spec!r} is not an estimator (it has no fit/predict)")
            return _set_random_state(est, random_state) if hasattr(est, "get_params") else est
    if isinstance(spec, type):
        raise ValueError(f"give an estimator instance or a name, not the class {spec.__name__}")
    raise ValueError(f"unknown estimator {spec!r}; choose one of {', '.join(ESTIMATORS)} "
                     "or give an import path like 'sklearn.svm:SVC'")


class Learner(ClassifierMixin, BaseEstimator):
    """The participant's model: fit on the private shard, predict labels for the round's queries.

    Parameters
    ----------
    estimator : str or estimator, default="logistic_regression"
        A name in ESTIMATORS, an import path, or a scikit-learn classifier (cloned at fit).
    random_state : int, numpy RandomState or None
        Seeds the estimator.
    blas_threads : int or None, default=1
        BLAS/OpenMP threads used inside fit and predict. One thread is much faster for shard-sized data
        (and many learners share one process in simulations); None keeps the libraries' own setting.

    Attributes
    ----------
    estimator_ : the fitted estimator (None if the shard held a single class)
    classes_ : ndarray of the labels seen in fit
    n_features_in_ : int
    """

    def __init__(self, estimator="logistic_regression", random_state=None, blas_threads=1):
        self.estimator = estimator
        self.random_state = random_state
        self.blas_threads = blas_threads

    def _threads(self):
        return threadpool_limits(limits=self.blas_threads)

    def fit(self, X, y) -> "Learner":
        X, y = check_X_y(X, y, dtype=np.float64)
        if not np.all(np.equal(np.mod(y, 1), 0)) or (len(y) and y.min() < 0):
            raise ValueError("y must hold integer class labels 0..K-1")
        y = y.astype(np.int64)
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        if len(self.classes_) == 1:  # most classifiers refuse a one-class shard: predict that class
            self.estimator_ = None
            return self
        est = make_estimator(self.estimator, random_state=self.random_state)
        if hasattr(est, "get_params") and "n_neighbors" in est.get_params():
            k = est.get_params()["n_neighbors"]
            if k > len(X):
                est.set_params(n_neighbors=len(X))
        with warnings.catch_warnings(), self._threads():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.estimator_ = est.fit(X, y)
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "classes_")
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but the learner was fitted with {self.n_features_in_}")
        if self.estimator_ is None:
            return np.full(len(X), self.classes_[0], dtype=np.int64)
        with self._threads():
            return np.asarray(self.estimator_.predict(X)).astype(np.int64).reshape(len(X))
