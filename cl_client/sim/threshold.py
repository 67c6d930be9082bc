"""How the default agreement threshold is measured: agreement distributions of honest and Byzantine
participants, off-chain, over seeds x Dirichlet alphas (`cl-client simulate --measure-threshold`).

docs/agreement-threshold.md is written from this measurement.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import numpy as np

from ..protocol import matches, plurality
from . import rules
from ..strategies import make_strategy
from .config import HONEST, Role, SimConfig, assign_roles, config_dict
from .metrics import CHEATS
from .world import World, accuracy, prepare


def strategy_labels(world: World, roles: list[Role], round_index: int, round_id: int) -> np.ndarray:
    """The labels each participant would submit in a round, computed off-chain with cl_client.strategies.

    Used by --measure-threshold only; on chain, each Participant applies its own strategy.
    """
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
    base = base or SimConfig()
    by_alpha: dict[str, dict[str, list]] = {}
    counts_by_alpha: dict[str, dict[str, list]] = {}  # (matches, M) behind each share, for the v2 rule
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
                    counts_by_alpha.setdefault(f"{alpha:g}", {}).setdefault(role.strategy, []).append(
                        (int(counts[role.index]), rules.mode_count(consensus, world.num_classes)))
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
    # the contract's (v2, chance-corrected) agreement rule on the match counts and modal count behind each share
    slashed = {str(bps): {a: {g: [int(sum(not rules.agrees(m, base.queries, bps, mode) for m, mode in v)), len(v)]
                              for g, v in sorted(groups.items())}
                          for a, groups in counts_by_alpha.items()} for bps in candidates_bps}
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
