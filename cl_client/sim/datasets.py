"""The data sets a simulation can run on: the one place to add one.

A data set is a name and a loader returning (X, y) with integer labels 0..K-1. The bundled ones are
scikit-learn's (no download). `--dataset synthetic-beta` is not a data set but the off-chain theory check
(cl_client.sim.theory); it is accepted by the command line under that name for compatibility.

    X, y, k = load_dataset("digits")
"""
from __future__ import annotations

from typing import Callable

import numpy as np


class DatasetError(ValueError):
    """An unknown data set (one line, fit for a user)."""


def _sklearn(name: str) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    def load() -> tuple[np.ndarray, np.ndarray]:
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")()
        return bunch.data, bunch.target

    return load


def _synthetic() -> tuple[np.ndarray, np.ndarray]:
    """40,000 samples of a 10-class problem (scikit-learn's make_classification, seed 0): enough queries for
    optimistic rounds of Q = 10,000 and shards for 1,000 participants."""
    from sklearn.datasets import make_classification

    return make_classification(n_samples=40_000, n_features=20, n_informative=12, n_redundant=4, n_classes=10,
                               n_clusters_per_class=1, class_sep=1.5, random_state=0)


DATASETS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    "digits": _sklearn("digits"),  # 1,797 8x8 images, K = 10
    "breast_cancer": _sklearn("breast_cancer"),  # 569 samples, K = 2
    "wine": _sklearn("wine"),  # 178 samples, K = 3
    "synthetic": _synthetic,  # 40,000 samples, K = 10: large optimistic rounds
}
THEORY = "synthetic-beta"  # the theory-check mode's name on the command line (not a data set)


def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(X, y, K) of a registered data set."""
    if name not in DATASETS:
        raise DatasetError(f"dataset {name!r} has no feature data; choose one of {', '.join(DATASETS)}")
    X, y = DATASETS[name]()
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)
    return X, y, int(y.max()) + 1
