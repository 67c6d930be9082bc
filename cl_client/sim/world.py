"""The world of one simulation run, fixed before the chain starts: data split, non-IID shards, every
participant's trained model, the pooled model, and the query batch of each round.

    world = prepare(config)            # trains N models (+ the pooled one)
    world.predictions[r]               # (N, Q) honest predictions for round r's queries
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .config import SimConfig, SimulationError
from .datasets import DatasetError, load_dataset


@dataclass
class World:
    """Everything fixed before the chain starts: data, shards, roles-independent models, query batches."""

    config: SimConfig
    X_train: np.ndarray
    y_train: np.ndarray
    X_pool: np.ndarray
    y_pool: np.ndarray
    num_classes: int
    shards: list[np.ndarray]
    learners: list  # fitted cl_client.models.Learner, one per participant
    pooled: "PooledModel | None"  # one model on all shards pooled, chosen on a validation split
    batches: list[np.ndarray]  # per round: indices into the query pool
    predictions: list[np.ndarray] = field(default_factory=list)  # per round: (N, Q) honest predictions
    pooled_predictions: list[np.ndarray] = field(default_factory=list)  # per round: (Q,) of the pooled model
    train_seconds: float = 0.0

    def shard_summary(self) -> list[dict]:
        out = []
        for i, idx in enumerate(self.shards):
            counts = np.bincount(self.y_train[idx], minlength=self.num_classes)
            out.append({"index": i, "size": int(len(idx)), "class_counts": counts.tolist(),
                        "classes_present": int((counts > 0).sum())})
        return out


def query_batches(pool_size: int, queries: int, rounds: int, seed: int) -> list[np.ndarray]:
    """R batches of Q distinct pool indices: consecutive chunks of a seeded permutation of the pool, and
    of a fresh permutation once fewer than Q unused indices are left (rounds only repeat queries then)."""
    if queries > pool_size:
        raise SimulationError(f"--queries {queries} is more than the held-out query pool ({pool_size} samples)")
    rng = np.random.default_rng([seed, 11])
    batches, stream = [], np.empty(0, dtype=np.int64)
    for _ in range(rounds):
        if len(stream) < queries:
            stream = rng.permutation(pool_size)
        batches.append(np.sort(stream[:queries]))
        stream = stream[queries:]
    return batches


@dataclass
class PooledModel:
    """The upper bound no participant can reach: one model trained on every shard pooled.

    Its estimator is chosen without looking at any query's label: each candidate is fitted on a stratified
    80 % of the pooled training data and scored on the other 20 %; the best (first on ties) is refitted on
    all of it. The report names it and gives the validation scores.
    """

    model: str
    learner: object
    validation_accuracy: dict[str, float]

    @classmethod
    def choose(cls, X, y, models, seed: int, on_trained: Callable[[], None] | None = None) -> "PooledModel":
        from sklearn.model_selection import train_test_split

        from ..models import Learner

        X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=VALIDATION_SHARE, stratify=y,
                                                      random_state=seed)
        scores = {}
        for model in dict.fromkeys(models):
            scores[model] = accuracy(Learner(model, random_state=seed).fit(X_fit, y_fit).predict(X_val), y_val)
            if on_trained:
                on_trained()
        best = max(scores, key=scores.get)  # max keeps the first of equal scores
        learner = Learner(best, random_state=seed).fit(X, y)
        if on_trained:
            on_trained()
        return cls(best, learner, scores)


VALIDATION_SHARE = 0.2  # of the pooled training data, to choose the pooled model


def prepare(config: SimConfig, on_trained: Callable[[], None] | None = None, pooled: bool = True) -> World:
    """Split the data, partition the training part, train every participant's model and the pooled one."""
    from sklearn.model_selection import train_test_split

    from ..data import dirichlet_partition
    from ..models import Learner

    try:
        X, y, k = load_dataset(config.dataset)
    except DatasetError as exc:
        raise SimulationError(str(exc)) from None
    X_train, X_pool, y_train, y_pool = train_test_split(X, y, test_size=config.query_share, stratify=y,
                                                        random_state=config.seed)
    try:
        shards = dirichlet_partition(y_train, config.participants, config.alpha, random_state=config.seed,
                                     min_size=config.min_shard)
    except ValueError as exc:
        raise SimulationError(f"cannot partition {config.dataset}: {exc}") from None
    batches = query_batches(len(y_pool), config.queries, config.rounds, config.seed)
    t0 = time.perf_counter()
    learners = []
    for i, idx in enumerate(shards):
        model = config.models[i % len(config.models)]
        learners.append(Learner(model, random_state=config.seed * 1000 + i).fit(X_train[idx], y_train[idx]))
        if on_trained:
            on_trained()
    pooled_model = PooledModel.choose(X_train, y_train, config.models, config.seed, on_trained) if pooled else None
    world = World(config, X_train, y_train, X_pool, y_pool, k, shards, learners, pooled_model, batches)
    for b in batches:
        Xq = X_pool[b]
        world.predictions.append(np.stack([np.asarray(l.predict(Xq), dtype=np.int64) for l in learners]))
        if pooled_model is not None:
            world.pooled_predictions.append(np.asarray(pooled_model.learner.predict(Xq), dtype=np.int64))
    world.train_seconds = time.perf_counter() - t0
    return world


def training_steps(config: SimConfig) -> int:
    """Models `prepare` fits: one per participant, each pooled candidate on the split, the chosen one again."""
    return config.participants + len(dict.fromkeys(config.models)) + 1


def accuracy(labels, truth) -> float:
    """Share of labels equal to the truth (0.0 for no queries)."""
    return float(np.mean(np.asarray(labels) == np.asarray(truth))) if len(truth) else 0.0


def dataset_summary(world: World) -> dict:
    out = {"name": world.config.dataset, "classes": world.num_classes, "train_size": int(len(world.y_train)),
           "query_pool_size": int(len(world.y_pool)), "shards": world.shard_summary(),
           "train_seconds": world.train_seconds}
    if world.pooled is not None:
        out["pooled_model"] = {"model": world.pooled.model, "validation_share": VALIDATION_SHARE,
                               "validation_accuracy": world.pooled.validation_accuracy}
    return out
