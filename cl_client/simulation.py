"""The consensus-learning simulation behind `make demo`: real participants, a real local chain.

    python -m cl_client.simulation                       # defaults: digits, N=10, R=5, Q=100, 30% Byzantine
    python -m cl_client.simulation --participants 4 --rounds 1 --queries 20 --byzantine 0.25
    python -m cl_client.simulation --sweep byzantine=0,0.1,0.2,0.3,0.4,0.5
    python -m cl_client.simulation --dataset synthetic-beta   # the paper's theory check (off-chain)
    python -m cl_client.simulation --measure-threshold        # agreement distributions for the default threshold

One run starts its own local chain (cl_client.node.LocalNode), deploys the contract, gives every participant
a non-IID Dirichlet shard of the training data and a model, deposits their stake and plays R rounds. Each
round the requester writes the query batch file, opens the round with its file:// URI and a reward, and
every participant -- a cl_client Participant sending real transactions -- commits, reveals, finalizes and
claims, while the simulation moves the dev chain's clock between phases. The simulation alone holds the
ground truth; it scores the on-chain consensus against it, against the best honest participant, against
the same predictions voted off-chain, and against one model trained on all shards pooled. It writes
report.json, report.md and plots (cl_client.report) to reports/<timestamp>/.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .protocol import LIMITS

DATASETS = ("digits", "breast_cancer", "wine", "synthetic-beta")
DEFAULT_MODELS = ("logistic_regression", "random_forest", "knn", "mlp", "naive_bayes", "decision_tree")
DEFAULT_STRATEGIES = ("random", "flip", "collude")
HONEST = "honest"
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
    beta_a: float = 3.0  # synthetic-beta only
    beta_b: float = 2.0
    beta_draws: int = 10000

    def validate(self) -> "SimConfig":
        from .strategies import make_strategy

        if self.dataset not in DATASETS:
            raise SimulationError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}")
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
        if self.backend not in ("ganache", "anvil"):
            raise SimulationError(f"--backend must be ganache or anvil, got {self.backend!r}")
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


def assign_roles(config: SimConfig) -> list[Role]:
    """Models cycle over the mix by index; the Byzantine ones are a prefix of a seeded permutation.

    Because the Byzantine set for share s is a prefix of the same permutation, a sweep over the share
    turns honest participants Byzantine one by one without reshuffling anyone else.
    """
    order = np.random.default_rng([config.seed, 7]).permutation(config.participants)
    strategy = {int(p): HONEST for p in order}
    for rank, p in enumerate(order[: config.n_byzantine]):
        strategy[int(p)] = config.strategies[rank % len(config.strategies)]
    return [Role(i, strategy[i], config.models[i % len(config.models)]) for i in range(config.participants)]


# ---------------------------------------------------------------------------------------------- data


def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(X, y, K) of one of sklearn's bundled data sets (no download)."""
    from sklearn import datasets

    loaders = {"digits": datasets.load_digits, "breast_cancer": datasets.load_breast_cancer,
               "wine": datasets.load_wine}
    if name not in loaders:
        raise SimulationError(f"dataset {name!r} has no feature data; choose one of {', '.join(loaders)}")
    bunch = loaders[name]()
    X, y = np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64)
    return X, y, int(y.max()) + 1


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
    pooled: dict  # model name -> Learner fitted on all shards pooled
    batches: list[np.ndarray]  # per round: indices into the query pool
    predictions: list[np.ndarray] = field(default_factory=list)  # per round: (N, Q) honest predictions
    pooled_predictions: list[dict] = field(default_factory=list)  # per round: model -> (Q,)
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


def prepare(config: SimConfig, on_trained: Callable[[], None] | None = None, pooled: bool = True) -> World:
    """Split the data, partition the training part, train every participant's model and the pooled ones."""
    from sklearn.model_selection import train_test_split

    from .data import dirichlet_partition
    from .models import Learner

    X, y, k = load_dataset(config.dataset)
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
    pooled_models = {}
    for model in dict.fromkeys(config.models) if pooled else ():
        pooled_models[model] = Learner(model, random_state=config.seed).fit(X_train, y_train)
        if on_trained:
            on_trained()
    world = World(config, X_train, y_train, X_pool, y_pool, k, shards, learners, pooled_models, batches)
    for b in batches:
        Xq = X_pool[b]
        world.predictions.append(np.stack([np.asarray(l.predict(Xq), dtype=np.int64) for l in learners]))
        world.pooled_predictions.append({m: np.asarray(l.predict(Xq), dtype=np.int64)
                                         for m, l in pooled_models.items()})
    world.train_seconds = time.perf_counter() - t0
    return world


def training_steps(config: SimConfig) -> int:
    return config.participants + len(dict.fromkeys(config.models))


# ---------------------------------------------------------------------------------------------- scoring


def accuracy(labels, truth) -> float:
    return float(np.mean(np.asarray(labels) == np.asarray(truth))) if len(truth) else 0.0


def strategy_labels(world: World, roles: list[Role], round_index: int, round_id: int) -> np.ndarray:
    """The labels each participant would submit in a round, computed off-chain with cl_client.strategies.

    Used by --measure-threshold only; on chain, each Participant applies its own strategy.
    """
    from .strategies import make_strategy

    preds = world.predictions[round_index]
    out = np.empty_like(preds)
    for role in roles:
        strat = make_strategy(role.strategy)
        rng = np.random.default_rng([world.config.seed, role.index, round_id])
        out[role.index] = np.asarray(strat.labels(preds[role.index], world.num_classes, round_id=round_id, rng=rng),
                                     dtype=np.int64)
    return out


def percentiles(values) -> dict:
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return {"n": 0}
    q = np.percentile(v, [1, 5, 25, 50, 75, 95, 99])
    return {"n": int(v.size), "min": float(v.min()), "p1": float(q[0]), "p5": float(q[1]), "p25": float(q[2]),
            "median": float(q[3]), "p75": float(q[4]), "p95": float(q[5]), "p99": float(q[6]), "max": float(v.max()),
            "mean": float(v.mean())}


# ---------------------------------------------------------------------------------------------- threshold


def measure_threshold(seeds: Sequence[int] = (0, 1, 2), alphas: Sequence[float] = (0.1, 0.3, 0.5, 1.0),
                      base: SimConfig | None = None, on_config: Callable[[int, float], None] | None = None,
                      candidates_bps: Sequence[int] = (1000, 1500, 2000, 2200, 2400, 2500, 2600, 2700, 2800, 3000,
                                                       3500, 4000)) -> dict:
    """Agreement (matches with the equal-weight plurality / Q) per participant and round, off-chain.

    For every seed x alpha, the base configuration (defaults: digits, N=10, R=5, Q=100, 30% Byzantine)
    is prepared exactly as a simulation run would be, each participant's labels are made with its strategy,
    the plurality is taken with equal weights (the first round, before any slashing: the hardest case for
    honest participants) and every participant's agreement is recorded by group. Also returns, for each
    candidate threshold, how many participant-rounds of each group it would slash, and the recommended
    threshold (`choose_threshold`).
    """
    from .protocol import agrees, matches, plurality

    base = base or SimConfig()
    by_alpha: dict[str, dict[str, list]] = {}
    honest_detail = []
    for alpha in alphas:
        for seed in seeds:
            if on_config:
                on_config(seed, alpha)
            config = replace(base, seed=int(seed), alpha=float(alpha)).validate()
            world = prepare(config, pooled=False)
            roles = assign_roles(config)
            for r in range(config.rounds):
                labels = strategy_labels(world, roles, r, round_id=r + 1)
                consensus = plurality(labels, world.num_classes)
                counts = matches(labels, consensus)
                agree = counts / config.queries
                truth = world.y_pool[world.batches[r]]
                for role in roles:
                    by_alpha.setdefault(f"{alpha:g}", {}).setdefault(role.strategy, []).append(float(agree[role.index]))
                    if not role.byzantine:
                        honest_detail.append({
                            "seed": seed, "alpha": alpha, "round": r + 1, "participant": role.index,
                            "model": role.model, "agreement": float(agree[role.index]),
                            "accuracy": accuracy(labels[role.index], truth),
                            "consensus_accuracy": accuracy(consensus, truth),
                            "classes_in_shard": int((np.bincount(world.y_train[world.shards[role.index]],
                                                                 minlength=world.num_classes) > 0).sum())})
    pooled: dict[str, list] = {}
    for groups in by_alpha.values():
        for g, v in groups.items():
            pooled.setdefault(g, []).extend(v)
    # the contract's agreement rule (protocol.agrees) on the match counts behind each share
    slashed = {str(bps): {a: {g: [int(sum(not agrees(round(x * base.queries), base.queries, bps) for x in v)), len(v)]
                              for g, v in sorted(groups.items())}
                          for a, groups in by_alpha.items()} for bps in candidates_bps}
    return {
        "seeds": list(seeds), "alphas": list(alphas),
        "config": {k: v for k, v in config_dict(base).items() if k not in ("seed", "alpha")},
        "groups": {g: percentiles(v) for g, v in sorted(pooled.items())},
        "by_alpha": {a: {g: percentiles(v) for g, v in sorted(d.items())} for a, d in by_alpha.items()},
        "slashed_by_threshold": slashed,  # bps -> alpha -> group -> [slashed, participant-rounds]
        "worst_honest": [d for a in alphas for d in sorted((d for d in honest_detail if d["alpha"] == a),
                                                             key=lambda d: d["agreement"])[:3]],
        "consensus_accuracy_by_alpha": {
            f"{a:g}": percentiles(sorted({(d["seed"], d["round"]): d["consensus_accuracy"]
                                          for d in honest_detail if d["alpha"] == a}.values()))
            for a in alphas},
        "recommended_bps": choose_threshold(by_alpha),
        "samples": {a: {g: v for g, v in sorted(d.items())} for a, d in by_alpha.items()},
    }


CHEATS = ("random", "flip")  # the strategies a threshold must catch; colluders are a plurality question


def choose_threshold(by_alpha: dict[str, dict[str, list]], round_to_bps: int = 100) -> dict:
    """A threshold between the honest and the random-label / label-flip agreements.

    An alpha is separable when its lowest honest agreement is above its highest random/flip agreement.
    Over the separable alphas the thresholds that slash no honest participant and every cheat form the
    interval (highest cheat agreement, lowest honest agreement]; the recommendation is its midpoint,
    rounded to `round_to_bps`. Alphas that are not separable are listed: no threshold serves them.
    """
    separable, not_separable = [], []
    for a, groups in by_alpha.items():
        honest = min(groups.get(HONEST, [1.0]))
        cheat = max([v for g in CHEATS for v in groups.get(g, [])] or [0.0])
        (separable if cheat < honest else not_separable).append(a)
    if not separable:
        return {"bps": None, "separable_alphas": [], "not_separable_alphas": not_separable}
    honest_min = min(v for a in separable for v in by_alpha[a].get(HONEST, [1.0]))
    cheat_max = max([v for a in separable for g in CHEATS for v in by_alpha[a].get(g, [])] or [0.0])
    if cheat_max >= honest_min:  # each alpha separates, but not with one common threshold
        return {"bps": None, "honest_min": honest_min, "random_flip_max": cheat_max,
                "separable_alphas": separable, "not_separable_alphas": not_separable}
    bps = int(round((honest_min + cheat_max) / 2 * 10000 / round_to_bps)) * round_to_bps
    return {"bps": bps, "honest_min": honest_min, "random_flip_max": cheat_max,
            "separable_alphas": separable, "not_separable_alphas": not_separable,
            "margin_below_honest": honest_min - bps / 10000, "margin_above_cheats": bps / 10000 - cheat_max}


# ---------------------------------------------------------------------------------------------- chain


class ChainRun:
    """One deployment on a running LocalNode, its funded participants, and the rounds played on it."""

    def __init__(self, config: SimConfig, world: World, node, out_dir: Path, progress=None, tasks=None):
        from eth_account import Account

        from .chain import Gateway, deploy
        from .participant import Participant
        from .strategies import make_strategy

        self.config, self.world, self.node, self.out_dir = config, world, node, out_dir
        self.progress, self.tasks = progress, tasks
        self.roles = assign_roles(config)
        if len(node.keys) < config.participants + 1:
            raise SimulationError(f"the node has {len(node.keys)} keys; need {config.participants + 1}")
        self.w3 = self._web3()
        self.owner = Account.from_key(node.keys[0])
        address, block = deploy(self.w3, self.owner)
        self.address, self.deploy_block = address, block
        gw_kwargs = dict(poll_interval=0.05, backoff=0.2, from_block=block)
        self.requester = Gateway(self.w3, address, self.owner, **gw_kwargs)
        defaults = self.requester.defaults()
        wanted = replace(defaults, equal_weights=bool(config.equal_weights) or defaults.equal_weights,
                         agreement_bps=defaults.agreement_bps if config.agreement_bps is None else config.agreement_bps)
        if wanted != defaults:
            self.requester.set_defaults(wanted)
        self.params = self.requester.defaults()
        self.gateways, self.participants = [], []
        journal_root = out_dir / "journals"
        for role in self.roles:
            acct = Account.from_key(node.keys[role.index + 1])
            gw = Gateway(self.w3, address, acct, **gw_kwargs)
            gw.deposit(int(config.stake_eth * ETHER))
            strategy = None if role.strategy == HONEST else make_strategy(role.strategy)
            self.gateways.append(gw)
            self.participants.append(Participant(gw, world.learners[role.index], strategy=strategy,
                                                 journal_dir=journal_root, finalize=True,
                                                 rng=np.random.default_rng([config.seed, role.index, 3])))
        self.addresses = [gw.sender for gw in self.gateways]

    def _web3(self):
        from .chain import connect

        w3 = connect(self.node.url)
        # web3 asks eth_chainId before most calls; the dev chain's id never changes, so cache that one answer.
        w3.provider.cacheable_requests = {"eth_chainId"}
        w3.provider.cache_allowed_requests = True
        return w3

    # ------------------------------------------------------------------ driving

    def _drive(self, round_id: int, done: frozenset, until: int, task=None) -> dict:
        """cl_client.participant.drive over every participant on the dev chain's jumping clock, up to the
        end of the phase being driven; returns the last state of each, by participant index."""
        from .participant import JumpClock, drive

        on_done = None if task is None else (lambda p, state: self.progress.advance(task))
        history = drive(self.participants, round_id, JumpClock(self.node, self.requester), done=done, until=until,
                        timeout=600.0, on_done=on_done)
        return {i: history[p.address][-1] for i, p in enumerate(self.participants)}

    def _advance_past(self, deadline: int) -> None:
        now = self.requester.latest_timestamp()
        if now <= deadline:
            self.node.increase_time(deadline - now + 1)

    def play_round(self, r: int) -> dict:
        """Open round r (0-based) on chain, drive every participant through it, and score it."""
        from .data import write_queries
        from .protocol import SLASHED_STATUSES, Phase, plurality, vote_weight

        cfg, world = self.config, self.world
        batch = world.batches[r]
        X_q, truth = world.X_pool[batch], world.y_pool[batch]
        qpath = (self.out_dir / "queries" / f"round-{r + 1}.npz").resolve()
        qhash = write_queries(qpath, X_q)
        t0 = time.perf_counter()
        round_id = self.requester.open_round(qhash, qpath.as_uri(), len(batch), world.num_classes,
                                             COMMIT_SECONDS, REVEAL_SECONDS, int(cfg.reward_eth * ETHER))

        info = self.requester.round(round_id)
        tasks = self.tasks or {}
        from .participant import COMMIT_DONE, REVEAL_DONE, TERMINAL_STATES

        commit_states = self._drive(round_id, COMMIT_DONE, info.commit_deadline, tasks.get("commit"))
        self._advance_past(info.commit_deadline)
        reveal_states = self._drive(round_id, REVEAL_DONE, info.reveal_deadline, tasks.get("reveal"))
        self._advance_past(info.reveal_deadline)
        final_states = self._drive(round_id, TERMINAL_STATES, 2**63, tasks.get("final"))
        seconds = time.perf_counter() - t0

        info = self.requester.round(round_id)
        if info.phase != Phase.FINALIZED:
            raise SimulationError(f"round {round_id} ended {info.phase.name}, not FINALIZED "
                                  f"({info.reveal_count} revealers of {info.commit_count})")
        consensus = np.frombuffer(self.requester.consensus(round_id), dtype=np.uint8).astype(np.int64)
        revealed = self.requester.revealed(round_id)
        claims = {e["args"]["participant"]: e["args"] for e in self.requester.events("Claimed", round_id)}
        equal = info.params.equal_weights
        rows, rev_idx, rev_labels, rev_weights = [], [], [], []
        for i, role in enumerate(self.roles):
            addr = self.addresses[i]
            sub = self.requester.submission(round_id, addr)
            acct = self.requester.account_info(addr)
            labels = np.frombuffer(revealed[addr], dtype=np.uint8).astype(np.int64) if addr in revealed else None
            if labels is not None:
                rev_idx.append(i)
                rev_labels.append(labels)
                rev_weights.append(vote_weight(sub.stake, equal))
            claim = claims.get(addr)
            slashed = sub.status in SLASHED_STATUSES
            rows.append({
                "index": i, "address": addr, "strategy": role.strategy, "model": role.model,
                "status": sub.status.name, "weight_wei": int(sub.stake), "matches": int(sub.matches),
                "agreement": sub.matches / len(batch) if labels is not None else None,
                "slashed": bool(slashed), "penalty_wei": int(claim["penalty"]) if claim else None,
                "reward_wei": int(claim["reward"]) if claim else None,
                "stake_after_wei": int(acct.free + acct.locked),
                "submitted_accuracy": accuracy(labels, truth) if labels is not None else None,
                "model_accuracy": accuracy(world.predictions[r][i], truth),
                "states": [commit_states[i], reveal_states[i], final_states[i]],
            })
        rev_labels = np.stack(rev_labels) if rev_labels else np.empty((0, len(batch)), dtype=np.int64)
        centralised = plurality(rev_labels, world.num_classes)
        weighted = plurality(rev_labels, world.num_classes, rev_weights)
        equal_weight_round = len(set(rev_weights)) <= 1
        honest_rows = [row for row in rows if row["strategy"] == HONEST]
        honest_acc = [row["submitted_accuracy"] for row in honest_rows if row["submitted_accuracy"] is not None]
        pooled = {m: accuracy(p, truth) for m, p in world.pooled_predictions[r].items()}
        groups: dict[str, dict] = {}
        for row in rows:
            g = groups.setdefault(row["strategy"], {"participants": 0, "stake_wei": 0, "reward_wei": 0,
                                                     "penalty_wei": 0, "slashed": 0})
            g["participants"] += 1
            g["stake_wei"] += row["stake_after_wei"]
            g["reward_wei"] += row["reward_wei"] or 0
            g["penalty_wei"] += row["penalty_wei"] or 0
            g["slashed"] += int(row["slashed"])
        return {
            "round": r + 1, "round_id": round_id, "queries": len(batch),
            "consensus_accuracy": accuracy(consensus, truth),
            "honest_mean_accuracy": float(np.mean(honest_acc)) if honest_acc else None,
            "honest_best_accuracy": float(np.max(honest_acc)) if honest_acc else None,
            "centralised_accuracy": accuracy(centralised, truth),
            "pooled_accuracy": max(pooled.values()) if pooled else None,
            "pooled_best_model": max(pooled, key=pooled.get) if pooled else None,
            "pooled_accuracy_by_model": pooled,
            "equal_weights_round": bool(equal_weight_round),
            "consensus_equals_plurality": bool(np.array_equal(consensus, centralised)),
            "consensus_equals_weighted_vote": bool(np.array_equal(consensus, weighted)),
            "revealers": int(info.reveal_count), "committers": int(info.commit_count),
            "false_slashes": sum(row["slashed"] for row in rows if row["strategy"] == HONEST),
            "caught": sum(row["slashed"] for row in rows if row["strategy"] != HONEST),
            "byzantine": sum(1 for row in rows if row["strategy"] != HONEST),
            "pool_wei": int(info.pool), "groups": groups, "participants": rows,
            "gas": self._gas(round_id), "seconds": seconds,
            "consensus": consensus.tolist(), "truth": truth.tolist(),
        }

    def _gas(self, round_id: int) -> dict:
        """Gas used per operation in this round, from the receipts of the round's events."""
        out = {}
        for op, event in (("open_round", "RoundOpened"), ("commit", "Committed"), ("reveal", "Revealed"),
                          ("finalize", "RoundFinalized"), ("claim", "Claimed")):
            used = [self.w3.eth.get_transaction_receipt(e["transactionHash"])["gasUsed"]
                    for e in self.requester.events(event, round_id)]
            if used:
                out[op] = {"count": len(used), "mean": float(np.mean(used)), "max": int(max(used)),
                           "total": int(sum(used))}
        return out

    def initial_groups(self) -> dict:
        groups: dict[str, dict] = {}
        for i, role in enumerate(self.roles):
            acct = self.requester.account_info(self.addresses[i])
            g = groups.setdefault(role.strategy, {"participants": 0, "stake_wei": 0})
            g["participants"] += 1
            g["stake_wei"] += int(acct.free + acct.locked)
        return groups

    def accounting_ok(self) -> bool:
        return sum(self.requester.accounting()) == self.requester.balance(self.address)


# ---------------------------------------------------------------------------------------------- runs


def run_rounds(config: SimConfig, world: World, node, out_dir: Path, progress=None, label: str = "") -> dict:
    """Deploy on `node` and play config.rounds rounds; returns the chain part of the report."""
    tasks = None
    if progress is not None:
        total = config.participants * config.rounds
        tasks = {key: progress.add_task(f"{name}{label}", total=total)
                 for key, name in (("commit", "commit"), ("reveal", "reveal"), ("final", "finalize + claim"))}
    run = ChainRun(config, world, node, out_dir, progress, tasks)
    initial = run.initial_groups()
    rounds = [run.play_round(r) for r in range(config.rounds)]
    first = rounds[0]
    first_round_slashed = {row["strategy"]: [] for row in first["participants"] if row["strategy"] != HONEST}
    for row in first["participants"]:
        if row["strategy"] != HONEST:
            first_round_slashed[row["strategy"]].append(row["slashed"])
    checks = {
        "consensus_equals_plurality_when_weights_equal": all(
            r["consensus_equals_plurality"] for r in rounds if r["equal_weights_round"]),
        "rounds_with_equal_weights": [r["round"] for r in rounds if r["equal_weights_round"]],
        "consensus_equals_weighted_vote_every_round": all(r["consensus_equals_weighted_vote"] for r in rounds),
        "no_honest_participant_slashed": all(r["false_slashes"] == 0 for r in rounds),
        "random_and_flip_slashed_in_first_round": all(
            all(v) for g, v in first_round_slashed.items() if g in CHEATS)
        if any(g in CHEATS for g in first_round_slashed) else None,
        "first_round_slashed_by_strategy": {g: sum(v) for g, v in first_round_slashed.items()},
        "accounting_balanced": run.accounting_ok(),
    }
    return {
        "chain": {"backend": config.backend, "chain_id": run.requester.chain_id, "contract": run.address,
                  "deploy_block": run.deploy_block, "params": asdict(run.params)},
        "participants": [{"index": r.index, "address": run.addresses[r.index], "strategy": r.strategy,
                          "model": r.model, "byzantine": r.byzantine} for r in run.roles],
        "initial_groups": initial,
        "rounds": rounds,
        "checks": checks,
    }


def parse_sweep(spec: str) -> tuple[str, list[float]]:
    try:
        key, values = spec.split("=", 1)
        key = key.strip()
        numbers = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise SimulationError(f"--sweep wants NAME=v1,v2,... (e.g. byzantine=0,0.1,0.2), got {spec!r}") from None
    if key not in SWEEPABLE:
        raise SimulationError(f"--sweep can vary {' or '.join(SWEEPABLE)}, not {key!r}")
    if not numbers:
        raise SimulationError(f"--sweep {key}= needs at least one value")
    return key, numbers


def sweep_point(key: str, value: float, chain: dict) -> dict:
    rounds = chain["rounds"]
    last = rounds[-1]
    total = sum(g["stake_wei"] for g in last["groups"].values())
    honest_stake = last["groups"].get(HONEST, {}).get("stake_wei", 0)
    return {
        key: value,
        "consensus_accuracy_mean": float(np.mean([r["consensus_accuracy"] for r in rounds])),
        "consensus_accuracy_first": rounds[0]["consensus_accuracy"],
        "consensus_accuracy_last": last["consensus_accuracy"],
        "centralised_accuracy_mean": float(np.mean([r["centralised_accuracy"] for r in rounds])),
        "honest_mean_accuracy_mean": float(np.mean([r["honest_mean_accuracy"] for r in rounds
                                                    if r["honest_mean_accuracy"] is not None] or [np.nan])),
        "pooled_accuracy_mean": float(np.mean([r["pooled_accuracy"] for r in rounds])),
        "honest_stake_share_last": honest_stake / total if total else None,
        "byzantine_stake_share_last": (total - honest_stake) / total if total else None,
        "false_slashes": sum(r["false_slashes"] for r in rounds),
        "caught": sum(r["caught"] for r in rounds),
    }


def default_out_dir(root: str | Path = "reports") -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(root) / stamp
    n = 1
    while out.exists():
        n += 1
        out = Path(root) / f"{stamp}-{n}"
    return out


def config_dict(config: SimConfig) -> dict:
    d = asdict(config)
    d["strategies"], d["models"] = list(config.strategies), list(config.models)
    return d


def simulate(config: SimConfig, out_dir: Path, *, sweep: tuple[str, list[float]] | None = None,
             console=None, show_progress: bool = True) -> dict:
    """Run the configured simulation (or sweep) end to end and return the report dictionary."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .node import LocalNode

    config = config.validate()
    started = time.perf_counter()
    report: dict = {"tool": "cl_client.simulation", "config": config_dict(config), "seed": config.seed,
                    "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    progress = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, disable=not show_progress, transient=False)
    with progress:
        if config.dataset == "synthetic-beta":
            from .theory import beta_check

            task = progress.add_task("theory check (off-chain)", total=1)
            ns = sorted({1, 3, 5, 7, 9, 11, 15, 21, 31, config.participants})
            report["theory"] = beta_check(config.beta_a, config.beta_b, ns=ns, draws=config.beta_draws,
                                          queries=config.queries, seed=config.seed).as_dict()
            progress.advance(task)
        else:
            points = [(None, config)] if sweep is None else [
                (v, replace(config, **{sweep[0]: v}).validate()) for v in sweep[1]]
            nodes_needed = config.participants + 1
            worlds: dict[float, World] = {}
            with LocalNode(backend=config.backend, accounts=nodes_needed, block_time=0) as node:
                for value, cfg in points:
                    key = cfg.alpha
                    if key not in worlds:
                        task = progress.add_task(f"training (alpha={cfg.alpha:g})", total=training_steps(cfg))
                        worlds[key] = prepare(cfg, on_trained=lambda t=task: progress.advance(t))
                    world = worlds[key]
                    sub = out_dir if value is None else out_dir / f"{sweep[0]}-{value:g}"
                    label = "" if value is None else f" ({sweep[0]}={value:g})"
                    chain = run_rounds(cfg, world, node, sub, progress, label)
                    if value is None:
                        report.update(chain)
                        report["dataset"] = dataset_summary(world)
                    else:
                        report.setdefault("sweep", {"key": sweep[0], "points": []})
                        report["sweep"]["points"].append(sweep_point(sweep[0], value, chain))
                        report["sweep"].setdefault("runs", []).append(
                            {"value": value, "checks": chain["checks"],
                             "rounds": [{k: r[k] for k in SWEEP_ROUND_KEYS} for r in chain["rounds"]]})
    report["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report["wall_time_s"] = time.perf_counter() - started
    return report


SWEEP_ROUND_KEYS = ("round", "consensus_accuracy", "centralised_accuracy", "honest_mean_accuracy",
                    "honest_best_accuracy", "pooled_accuracy", "false_slashes", "caught", "groups")


def dataset_summary(world: World) -> dict:
    return {"name": world.config.dataset, "classes": world.num_classes, "train_size": int(len(world.y_train)),
            "query_pool_size": int(len(world.y_pool)), "shards": world.shard_summary(),
            "train_seconds": world.train_seconds}


# ---------------------------------------------------------------------------------------------- CLI


def build_parser(prog: str = "python -m cl_client.simulation") -> argparse.ArgumentParser:
    d = SimConfig()
    p = argparse.ArgumentParser(prog=prog,
                                description="Consensus learning on a local chain it starts: train, commit, "
                                            "reveal, finalize, claim; then report.")
    p.add_argument("--participants", "-n", type=int, default=d.participants, help="participants N (default %(default)s)")
    p.add_argument("--rounds", "-r", type=int, default=d.rounds, help="rounds R (default %(default)s)")
    p.add_argument("--queries", "-q", type=int, default=d.queries, help="queries per round Q (default %(default)s)")
    p.add_argument("--byzantine", type=float, default=d.byzantine, help="Byzantine share of participants (default %(default)s)")
    p.add_argument("--strategies", default=",".join(d.strategies),
                   help="Byzantine strategies, cycled: random, flip, constant, collude, nonreveal, copier "
                        "(default %(default)s)")
    p.add_argument("--models", default=",".join(d.models), help="estimators, cycled over participants")
    p.add_argument("--alpha", type=float, default=d.alpha, help="Dirichlet label-skew alpha (default %(default)s)")
    p.add_argument("--dataset", choices=DATASETS, default=d.dataset)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--backend", choices=("ganache", "anvil"), default=d.backend)
    p.add_argument("--out", help="report directory (default reports/<timestamp>/)")
    p.add_argument("--equal-weights", action="store_true", help="owner sets equal weights before the rounds")
    p.add_argument("--agreement-bps", type=int, default=None,
                   help="owner sets this agreement threshold before the rounds (default: the contract's)")
    p.add_argument("--stake", type=float, default=d.stake_eth, help="ETH each participant deposits (default %(default)s)")
    p.add_argument("--reward", type=float, default=d.reward_eth, help="ETH reward per round (default %(default)s)")
    p.add_argument("--sweep", help="vary one setting over values, e.g. byzantine=0,0.1,0.2,0.3,0.4,0.5")
    p.add_argument("--measure-threshold", action="store_true",
                   help="off-chain: agreement distributions of honest vs Byzantine over seeds x alphas")
    p.add_argument("--seeds", default="0,1,2", help="--measure-threshold seeds (default %(default)s)")
    p.add_argument("--alphas", default="0.1,0.3,0.5,1.0", help="--measure-threshold alphas (default %(default)s)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--quiet", action="store_true", help="no progress bars or tables")
    return p


def _csv(text: str, kind=str) -> tuple:
    return tuple(kind(x.strip()) for x in text.split(",") if x.strip())


def main(argv: Sequence[str] | None = None, prog: str = "python -m cl_client.simulation") -> int:
    from rich.console import Console

    from . import report as rep
    from .chain import ChainError
    from .node import NodeError
    from .participant import ParticipantError

    args = build_parser(prog).parse_args(argv)
    console = Console(quiet=args.quiet, width=None if sys.stdout.isatty() else 120)
    err = Console(stderr=True)
    try:
        config = SimConfig(
            participants=args.participants, rounds=args.rounds, queries=args.queries, byzantine=args.byzantine,
            strategies=_csv(args.strategies), models=_csv(args.models), alpha=args.alpha, dataset=args.dataset,
            seed=args.seed, backend=args.backend, equal_weights=args.equal_weights,
            agreement_bps=args.agreement_bps, stake_eth=args.stake, reward_eth=args.reward).validate()
        out_dir = Path(args.out) if args.out else default_out_dir()
        out_dir.mkdir(parents=True, exist_ok=True)
        if args.measure_threshold:
            seeds, alphas = _csv(args.seeds, int), _csv(args.alphas, float)
            with console.status("measuring agreement off-chain") as status:
                result = measure_threshold(seeds, alphas, base=config,
                                           on_config=lambda s, a: status.update(f"measuring: alpha={a:g} seed={s}"))
            report = {"tool": "cl_client.simulation --measure-threshold", "config": config_dict(config),
                      "seed": config.seed, "threshold": result}
            paths = rep.write_threshold_report(report, out_dir, plots=not args.no_plots)
            rep.print_threshold(result, console)
        else:
            sweep = parse_sweep(args.sweep) if args.sweep else None
            report = simulate(config, out_dir, sweep=sweep, console=console, show_progress=not args.quiet)
            paths = rep.write_report(report, out_dir, plots=not args.no_plots)
            rep.print_summary(report, console)
    except SimulationError as exc:
        err.print(f"error: {exc}", highlight=False)
        return 2
    except (ChainError, NodeError, ParticipantError) as exc:
        err.print(f"error: {type(exc).__name__}: {exc}", highlight=False)
        return 1
    except KeyboardInterrupt:
        err.print("interrupted", highlight=False)
        return 130
    console.print(f"report: {paths['md']}", highlight=False)
    return 0 if report_ok(report) else 1


def report_ok(report: dict) -> bool:
    """False when a check that must hold for the protocol failed (equality of the vote, accounting)."""
    checks = report.get("checks", {})
    return bool(checks.get("consensus_equals_plurality_when_weights_equal", True)
                and checks.get("consensus_equals_weighted_vote_every_round", True)
                and checks.get("accounting_balanced", True)
                and all(run["checks"].get("consensus_equals_weighted_vote_every_round", True)
                        and run["checks"].get("accounting_balanced", True)
                        for run in report.get("sweep", {}).get("runs", [])))


if __name__ == "__main__":
    sys.exit(main())
