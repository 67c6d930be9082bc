"""What a simulation run is: its configuration (validated against the contract's limits) and the roles.

    config = SimConfig(participants=16, byzantine=0.4).validate()
    roles = assign_roles(config)        # who is honest, who runs which Byzantine strategy, which model
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..node import BACKENDS
from ..protocol import LIMITS
from ..strategies import STRATEGIES, make_strategy
from .datasets import DATASETS, THEORY

DEFAULT_MODELS = ("logistic_regression", "random_forest", "knn", "mlp", "naive_bayes", "decision_tree")
DEFAULT_STRATEGIES = ("random", "flip", "collude")
HONEST = "honest"
BYZANTINE_STRATEGIES = tuple(name for name in STRATEGIES if name != HONEST)
ETHER = 10**18
# Round phases are long in chain time; the simulation jumps the dev chain's clock instead of waiting.
COMMIT_SECONDS = 3600
REVEAL_SECONDS = 3600
SWEEPABLE = ("byzantine", "alpha")


class SimulationError(ValueError):
    """A configuration or run problem, with a one-line message for the user."""


# ---------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class SimConfig:
    participants: int = 10
    rounds: int = 5
    queries: int = 100
    byzantine: float = 0.3
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    models: tuple[str, ...] = DEFAULT_MODELS
    alpha: float = 0.5
    dataset: str = "digits"
    seed: int = 0
    backend: str = "ganache"
    equal_weights: bool = False
    agreement_bps: int | None = None  # None: keep the contract's default
    stake_eth: float = 1.0
    reward_eth: float = 0.1
    query_share: float = 0.3  # held-out share of the data set that queries are drawn from
    min_shard: int = 10
    beta_a: float = 3.0  # theory check (--dataset synthetic-beta) only
    beta_b: float = 2.0
    beta_draws: int = 10000

    def validate(self) -> "SimConfig":
        if self.dataset not in DATASETS and self.dataset != THEORY:
            raise SimulationError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)} "
                                  f"(or {THEORY} for the off-chain theory check)")
        if not 1 <= self.participants <= LIMITS.max_participants:
            raise SimulationError(f"--participants must be 1..{LIMITS.max_participants} (the contract's MAX_PARTICIPANTS), "
                                  f"got {self.participants}")
        if self.rounds < 1:
            raise SimulationError(f"--rounds must be at least 1, got {self.rounds}")
        if not 1 <= self.queries <= LIMITS.max_queries:
            raise SimulationError(f"--queries must be 1..{LIMITS.max_queries} (the contract's MAX_QUERIES), got {self.queries}")
        if self.participants * self.queries > LIMITS.max_labels:
            raise SimulationError(f"participants x queries must be at most {LIMITS.max_labels} (the contract's MAX_LABELS)")
        if not 0.0 <= self.byzantine <= 1.0:
            raise SimulationError(f"--byzantine must be a share in 0..1, got {self.byzantine}")
        if not self.alpha > 0:
            raise SimulationError(f"--alpha must be positive, got {self.alpha}")
        if not self.strategies:
            raise SimulationError("--strategies needs at least one Byzantine strategy")
        for name in self.strategies:
            if name == HONEST:
                raise SimulationError("--strategies lists Byzantine strategies; 'honest' is what the others do")
            try:
                make_strategy(name)
            except (ValueError, KeyError) as exc:
                raise SimulationError(f"--strategies: {exc}") from None
        if not self.models:
            raise SimulationError("--models needs at least one estimator")
        if self.backend not in BACKENDS:
            raise SimulationError(f"--backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.agreement_bps is not None and not 0 <= self.agreement_bps <= LIMITS.max_agreement_bps:
            raise SimulationError(f"--agreement-bps must be 0..{LIMITS.max_agreement_bps} (the contract's "
                                  f"MAX_AGREEMENT_BPS), got {self.agreement_bps}")
        if self.stake_eth <= 0 or self.reward_eth < 0:
            raise SimulationError("--stake must be positive and --reward non-negative")
        if not 0 < self.query_share < 1:
            raise SimulationError(f"query share must be in (0, 1), got {self.query_share}")
        return self

    @property
    def n_byzantine(self) -> int:
        return int(round(self.byzantine * self.participants))


@dataclass(frozen=True)
class Role:
    index: int
    strategy: str  # "honest" or a Byzantine strategy name
    model: str

    @property
    def byzantine(self) -> bool:
        return self.strategy != HONEST


def byzantine_order(config: SimConfig) -> np.ndarray:
    """The seeded permutation of participants whose prefix is the Byzantine set at every share."""
    return np.random.default_rng([config.seed, 7]).permutation(config.participants)


def assign_roles(config: SimConfig) -> list[Role]:
    """Models cycle over the mix by index; the Byzantine ones are a prefix of a seeded permutation.

    Because the Byzantine set for share s is a prefix of the same permutation, a sweep over the share
    turns honest participants Byzantine one by one without reshuffling anyone else.
    """
    order = byzantine_order(config)
    strategy = {int(p): HONEST for p in order}
    for rank, p in enumerate(order[: config.n_byzantine]):
        strategy[int(p)] = config.strategies[rank % len(config.strategies)]
    return [Role(i, strategy[i], config.models[i % len(config.models)]) for i in range(config.participants)]




def config_dict(config: SimConfig) -> dict:
    d = asdict(config)
    d["strategies"], d["models"] = list(config.strategies), list(config.models)
    return d
