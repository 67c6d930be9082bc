"""cl_client.models: estimators by name / import path / instance, and the Learner wrapper."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from cl_client.models import ESTIMATORS, Learner, make_estimator


@pytest.fixture(scope="module")
def small(digits):
    return digits.X_train[:300], digits.y_train[:300], digits.X_query[:50]


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_every_named_estimator_fits_and_predicts_valid_labels(name, small):
    X, y, Xq = small
    pred = Learner(name, random_state=0).fit(X, y).predict(Xq)
    assert pred.shape == (len(Xq),)
    assert pred.dtype.kind == "i"
    assert set(pred.tolist()) <= set(y.tolist())


@pytest.mark.parametrize("name", ["logistic_regression", "random_forest", "svm", "knn"])
def test_named_estimators_learn_digits(name, small, digits):
    X, y, _ = small
    accuracy = (Learner(name, random_state=0).fit(X, y).predict(digits.X_query) == digits.y_query).mean()
    assert accuracy > 0.8  # chance is 0.1


@pytest.mark.parametrize("spec", ["sklearn.tree:DecisionTreeClassifier", "sklearn.tree.DecisionTreeClassifier"])
def test_make_estimator_accepts_import_paths(spec):
    est = make_estimator(spec, random_state=7)
    assert isinstance(est, DecisionTreeClassifier)
    assert est.random_state == 7


def test_make_estimator_clones_an_instance_and_sets_nested_random_state():
    original = LogisticRegression(C=0.5)
    est = make_estimator(original, random_state=3)
    assert est is not original and est.C == 0.5 and est.random_state == 3
    assert original.random_state is None
    pipeline = make_estimator("logistic_regression", random_state=5)
    assert pipeline.get_params()["logisticregression__random_state"] == 5


def test_unknown_estimator_name_lists_the_choices():
    with pytest.raises(ValueError) as err:
        make_estimator("forest")
    message = str(err.value)
    assert "unknown estimator 'forest'" in message and "\n" not in message
    assert all(name in message for name in ESTIMATORS)


@pytest.mark.parametrize("spec, message", [
    ("nosuchpkg.mod:Thing", "cannot import module 'nosuchpkg.mod'"),
    ("sklearn.tree:NoSuchTree", "has no attribute 'NoSuchTree'"),
    ("collections:OrderedDict", "is not an estimator"),
])
def test_bad_import_paths_give_one_line_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        make_estimator(spec)


def test_learner_with_same_random_state_is_reproducible(small):
    X, y, Xq = small
    a = Learner("random_forest", random_state=1).fit(X, y).predict(Xq)
    b = Learner("random_forest", random_state=1).fit(X, y).predict(Xq)
    assert np.array_equal(a, b)


def test_learner_on_a_single_class_shard_predicts_that_class(small):
    X, _, Xq = small
    pred = Learner("logistic_regression").fit(X[:20], np.full(20, 4)).predict(Xq)
    assert np.array_equal(pred, np.full(len(Xq), 4))


def test_learner_that_saw_some_classes_predicts_only_those(small):
    X, y, Xq = small
    keep = np.isin(y, [1, 7, 9])
    pred = Learner("svm").fit(X[keep], y[keep]).predict(Xq)
    assert set(pred.tolist()) <= {1, 7, 9}


def test_learner_is_a_clonable_sklearn_estimator(small):
    X, y, _ = small
    fitted = Learner("knn").fit(X, y)
    copy = clone(fitted)
    assert copy.get_params() == {"estimator": "knn", "random_state": None, "blas_threads": 1}
    assert not hasattr(copy, "classes_")


def test_learner_knn_works_on_a_shard_smaller_than_k(small):
    X, y, Xq = small
    pred = Learner("knn").fit(X[:3], np.array([0, 1, 2])).predict(Xq)
    assert set(pred.tolist()) <= {0, 1, 2}


def test_learner_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        Learner().predict(np.zeros((1, 64)))


def test_learner_rejects_non_integer_labels(small):
    X, _, _ = small
    with pytest.raises(ValueError, match="integer class labels"):
        Learner().fit(X[:4], np.array([0.5, 1, 2, 3]))


def test_learner_rejects_queries_with_other_feature_count(small):
    X, y, _ = small
    with pytest.raises(ValueError, match="X has 3 features, but the learner was fitted with 64"):
        Learner("naive_bayes").fit(X, y).predict(np.zeros((2, 3)))
