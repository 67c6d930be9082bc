"""The paper's communication phase beside the contract: Snowball gossip vs the on-chain plurality.

Consensus learning (Magureanu & Usher, arXiv 2402.16157) lets the participants reach consensus by
gossip; this project anchors it in a contract instead. Both rules sit behind `cl_client.aggregation`'s
seam; this module runs the gossip rule on the labels of a simulated run, so the report can show what the
P2P protocol would have decided, at what cost in gossip rounds and messages, and how it degrades with
the Byzantine share -- against the on-chain consensus of the same labels.

    per_round(world, roles, labels, consensus, r)          one chain round's comparison
    degradation(world, config)                           plurality vs Snowball ("lie" and "split") as
                                                         the Byzantine share grows, off-chain

Peers are sampled uniformly (a P2P network has no stake weighting); the vote the contract takes is
stake-weighted. Byzantine participants gossip what they committed ("lie") in the per-round comparison.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..aggregation import Snowball, compare_under_byzantine
from .config import SimConfig, assign_roles, byzantine_order
from .threshold import strategy_labels
from .world import World, accuracy

SNOWBALL_DEFAULTS = {"k": 6, "alpha": 4, "beta": 8, "max_rounds": 200}
DEGRADATION_SHARES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
DEGRADATION_ADVERSARIES = ("lie", "split")


def snowball_params(n: int) -> dict | None:
    """Snowball's parameters for N participants: the defaults (k=6, alpha=4, beta=8; measured for N=10 in
    cl_client.aggregation.Snowball), or for N < 7 a sample of all N - 1 peers with a strict majority
    quorum. None when N < 3 (nobody to gossip with)."""
    if n < 3:
        return None
    if n - 1 >= SNOWBALL_DEFAULTS["k"]:
        return dict(SNOWBALL_DEFAULTS)
    k = n - 1
    return dict(SNOWBALL_DEFAULTS, k=k, alpha=k // 2 + 1)


def per_round(world: World, roles: list, labels: np.ndarray, consensus: np.ndarray, r: int) -> dict | None:
    """Snowball on round r's committed labels (N, Q) with the run's Byzantine participants, seeded."""
    params = snowball_params(len(roles))
    if params is None:
        return None
    mask = np.array([role.byzantine for role in roles])
    if mask.all():
        return None
    truth = world.y_pool[world.batches[r]]
    out = Snowball(**params, adversary="lie").aggregate(
        labels, world.num_classes, byzantine=mask, rng=np.random.default_rng([world.config.seed, r, 17]))
    s = out.stats
    return {
        "accuracy": accuracy(out.labels, truth),
        "equals_consensus": float(np.mean(out.labels == consensus)),
        **{key: s[key] for key in ("rounds", "rounds_mean", "messages", "messages_per_participant_query",
                                   "undecided", "agreement", "disagreement_queries")},
    }


def degradation(world: World, config: SimConfig, shares=DEGRADATION_SHARES,
                adversaries=DEGRADATION_ADVERSARIES) -> dict | None:
    """Plurality vs Snowball over every round's queries as the Byzantine share grows (off-chain).

    Honest labels are the participants' model predictions; the Byzantine ones are those the configured
    strategies commit (cl_client.sim.threshold.strategy_labels), and the Byzantine set for share s is the
    prefix of the run's seeded permutation (cl_client.sim.config.assign_roles), as in a sweep.
    """
    n = config.participants
    params = snowball_params(n)
    if params is None:
        return None
    all_byzantine = replace(config, byzantine=1.0)
    roles = assign_roles(all_byzantine)
    order = byzantine_order(config)
    honest = np.concatenate(world.predictions, axis=1)
    lies = np.concatenate([strategy_labels(world, roles, r, round_id=r + 1) for r in range(len(world.batches))], axis=1)
    truth = np.concatenate([world.y_pool[b] for b in world.batches])
    counts = sorted({min(n - 1, int(np.floor(s * n + 0.5))) for s in shares})
    table = {a: compare_under_byzantine(honest, truth, world.num_classes, counts, lies, order=order, adversary=a,
                                        snowball_params=params, seed=config.seed) for a in adversaries}
    rows = []
    for i, b in enumerate(counts):
        row = {"byzantine": b, "share": b / n, "plurality_accuracy": table[adversaries[0]][i]["plurality_accuracy"],
               "honest_plurality_accuracy": table[adversaries[0]][i]["honest_plurality_accuracy"]}
        for a in adversaries:
            t = table[a][i]
            row[a] = {key: t[key] for key in ("snowball_accuracy", "snowball_vs_plurality", "rounds", "rounds_mean",
                                              "messages_per_participant_query", "undecided", "disagreement_queries")}
        rows.append(row)
    return {"params": params, "adversaries": list(adversaries), "queries": int(len(truth)),
            "strategies": list(config.strategies), "rows": rows}
