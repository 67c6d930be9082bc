"""What a simulation run is: its configuration (validated against the contract's limits) and the roles.

    config = SimConfig(participants=16, byzantine=0.4).validate()
    config = SimConfig(mix=parse_mix("collude:0.2,constant:0.2"))   # Byzantine groups by share
    roles = assign_roles(config)        # who is honest, who runs which Byzantine strategy, which model
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..node import BACKENDS
from ..protocol import LIMITS, optimistic_seats
from ..strategies import STRATEGIES, make_strategy
from .datasets import DATASETS, THEORY

DEFAULT_MODELS = ("logistic_regression", "random_forest", "knn", "mlp", "naive_bayes", "decision_tree")
DEFAULT_STRATEGIES = ("collude",)  # the default demo: one colluding group of 4 in 10
HONEST = "honest"
BYZANTINE_STRATEGIES = tuple(name for name in STRATEGIES if name != HONEST)
ETHER = 10**18
# Round phases are long in chain time; the simulation jumps the dev chain's clock instead of waiting.
COMMIT_SECONDS = 3600
REVEAL_SECONDS = 3600
AUDIT_SECONDS = 3600
DEFAULT_AUDIT_PER_100 = 10  # hidden known-label audit queries per 100 queries (the setting)
SWEEPABLE = ("byzantine", "alpha", "audit")


class SimulationError(ValueError):
    """A configuration or run problem, with a one-line message for the user."""


# ---------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class SimConfig:
    participants: int = 10
    rounds: int = 5
    queries: int = 100
    byzantine: float = 0.4
    strategies: tuple[str, ...] = DEFAULT_STRATEGIES
    mix: tuple[tuple[str, float], ...] = ()  # Byzantine groups (strategy, share); when given, overrides the two above
    audit: int = DEFAULT_AUDIT_PER_100  # audit queries per 100 queries; 0: no audit
    audit_bound_bps: int | None = None  # None: keep the contract's default
    baseline: bool = False  # also play the same run without audits, beside (the demo's comparison)
    scored_as_audit: int = 0  # a baseline without audits scores on the queries an audit of this many per 100 leaves
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
    settle: str = "finalize"  # "post": rounds without an audit are settled by a keeper's post (optimistic)
    optimistic: bool = False  # optimistic-only rounds (no audit; up to MAX_OPTIMISTIC_* participants and queries)
    wrong_posts: bool = False  # the requester posts a wrong consensus first each round; the participants refute it
    hardfork: str = "shanghai"  # the chain's rules (anvil also runs prague: EIP-7623's calldata floor)

    def validate(self) -> "SimConfig":
        if self.dataset not in DATASETS and self.dataset != THEORY:
            raise SimulationError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)} "
                                  f"(or {THEORY} for the off-chain theory check)")
        if self.hardfork != "shanghai" and self.backend != "anvil":
            raise SimulationError(f"--hardfork {self.hardfork} needs --backend anvil")
        if self.settle not in ("finalize", "post"):
            raise SimulationError(f"--settle must be finalize or post, got {self.settle!r}")
        if self.optimistic and self.audit:
            raise SimulationError("--optimistic rounds take no audit: add --audit 0")
        if self.wrong_posts and not self.posts:
            raise SimulationError("--wrong-posts needs rounds settled by posts: add --settle post (or --optimistic)")
        max_q = LIMITS.max_queries
        if self.optimistic:  # K is the data set's: the packed bound, the larger one (the chain refuses the rest)
            max_q = LIMITS.max_optimistic_queries
        max_n = optimistic_seats(self.queries, 10) if self.optimistic else LIMITS.max_participants
        if not 1 <= self.participants <= max_n:
            raise SimulationError(f"--participants must be 1..{max_n} (the contract's "
                                  f"{'optimisticSeats(Q, K)' if self.optimistic else 'MAX_PARTICIPANTS'}), "
                                  f"got {self.participants}")
        if self.rounds < 1:
            raise SimulationError(f"--rounds must be at least 1, got {self.rounds}")
        if not 1 <= self.queries <= max_q:
            raise SimulationError(f"--queries must be 1..{max_q} (the contract's "
                                  f"{'MAX_OPTIMISTIC_QUERIES' if self.optimistic else 'MAX_QUERIES'}), got {self.queries}")
        if not self.optimistic and self.participants * self.queries > LIMITS.max_labels:
            raise SimulationError(f"participants x queries must be at most {LIMITS.max_labels} (the contract's "
                                  "MAX_LABELS; larger rounds: --optimistic)")
        if not self.mix and not 0.0 <= self.byzantine <= 1.0:
            raise SimulationError(f"--byzantine must be a share in 0..1, got {self.byzantine}")
        if not self.alpha > 0:
            raise SimulationError(f"--alpha must be positive, got {self.alpha}")
        if not self.strategies:
            raise SimulationError("--strategies needs at least one Byzantine strategy")
        for name in (*self.strategies, *(g for g, _ in self.mix)):
            if name == HONEST:
                raise SimulationError("--strategies lists Byzantine strategies; 'honest' is what the others do")
            try:
                make_strategy(name)
            except (ValueError, KeyError) as exc:
                raise SimulationError(f"--strategies: {exc}") from None
        if self.mix and not 0.0 <= sum(share for _, share in self.mix) <= 1.0:
            raise SimulationError(f"--byzantine group shares must add up to at most 1, got {self.mix}")
        if not 0 <= self.audit <= 100:
            raise SimulationError(f"--audit is audit queries per 100 queries, 0..100, got {self.audit}")
        if self.audit and self.audit_count < 1:
            raise SimulationError(f"--audit {self.audit} per 100 of {self.queries} queries hides no query; use 0")
        if self.audit_bound_bps is not None and not 0 <= self.audit_bound_bps <= 10_000:
            raise SimulationError(f"--audit-bound-bps must be 0..10000, got {self.audit_bound_bps}")
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
    def posts(self) -> bool:
        """Whether rounds without an audit are settled by a post (optimistic) rather than by finalize."""
        return self.optimistic or self.settle == "post"

    @property
    def groups(self) -> tuple[tuple[str, int], ...]:
        """The Byzantine groups as (strategy, members): from `mix`, or `byzantine` x N cycled over `strategies`.

        Group sizes round the cumulative shares, so they add up to round(total share x N)."""
        if not self.mix:
            n = int(round(self.byzantine * self.participants))
            counts: dict[str, int] = {}
            for rank in range(n):
                name = self.strategies[rank % len(self.strategies)]
                counts[name] = counts.get(name, 0) + 1
            return tuple(counts.items())
        out, total, placed = [], 0.0, 0
        for name, share in self.mix:
            total += share
            upto = int(round(total * self.participants))
            out.append((name, upto - placed))
            placed = upto
        return tuple(out)

    @property
    def n_byzantine(self) -> int:
        return sum(n for _, n in self.groups)

    @property
    def byzantine_share(self) -> float:
        return sum(s for _, s in self.mix) if self.mix else self.byzantine

    @property
    def audit_count(self) -> int:
        """G: hidden audit queries per round (audit per 100 x Q / 100, rounded)."""
        return int(round(self.audit * self.queries / 100))

    @property
    def unscored_count(self) -> int:
        """Queries left out of accuracy: the audit's, or those of the audited run this one is the baseline of."""
        return int(round(max(self.audit, self.scored_as_audit) * self.queries / 100))

    def label(self) -> str:
        """A short name of the Byzantine mix, e.g. 'collude 40%' or 'collude 20% + constant 20%'."""
        groups = self.mix or tuple((g, n / self.participants) for g, n in self.groups)
        return " + ".join(f"{g} {share:.0%}" for g, share in groups) or "none"


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
    if config.mix:
        names = [g for g, n in config.groups for _ in range(n)]
    else:
        names = [config.strategies[rank % len(config.strategies)] for rank in range(config.n_byzantine)]
    for name, p in zip(names, order):
        strategy[int(p)] = name
    return [Role(i, strategy[i], config.models[i % len(config.models)]) for i in range(config.participants)]




def role_strategy(name: str, audit_bound_bps: int, num_classes: int):
    """The Strategy a Byzantine role runs; audit-aware (and crowd-aware) colluders are told the round's (public)
    audit bound."""
    if name in ("audit-aware", "crowd-aware"):
        return make_strategy(name, audit_bound_bps=int(audit_bound_bps), num_classes=int(num_classes))
    return make_strategy(name)


def parse_mix(text: str) -> tuple[tuple[str, float], ...]:
    """'collude:0.4' or 'collude:0.2,constant:0.2' (shares of N; '40%' also reads) -> ((name, share), ...)."""
    out = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        name, sep, share = part.rpartition(":")
        try:
            value = float(share.rstrip("%")) / (100 if share.endswith("%") else 1)
        except ValueError:
            value = None
        if not sep or not name or value is None or not 0 <= value <= 1:
            raise SimulationError(f"--byzantine wants a share (0.4) or groups name:share,... "
                                  f"(collude:0.2,constant:0.2), got {text!r}")
        out.append((name.strip().lower(), value))
    return tuple(out)


def config_dict(config: SimConfig) -> dict:
    d = asdict(config)
    d["strategies"], d["models"] = list(config.strategies), list(config.models)
    d["mix"] = [list(g) for g in config.mix]
    d["groups"] = [list(g) for g in config.groups]
    return d
