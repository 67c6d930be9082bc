"""Scoring a simulated round from what the chain says, against the ground truth only the simulation holds.

`score_round` takes the on-chain facts of one round (consensus, each participant's submission, revealed
labels, claims) and returns the round's row of the report: accuracy of the consensus, of the same labels
voted off-chain (equal weights and stake-weighted, with cl_client.protocol's rule), of the honest
participants and of the pooled model; who was slashed; stake and rewards per strategy. `run_checks` and
`sweep_point` summarise rounds.
"""
from __future__ import annotations

import numpy as np

from ..protocol import Status, penalty, plurality, slash_bps, tally_reputation, tally_weight
from . import rules
from .config import HONEST
from .world import World, accuracy

SWEEP_ROUND_KEYS = ("round", "consensus_accuracy", "centralised_accuracy", "honest_mean_accuracy",
                    "honest_best_accuracy", "pooled_accuracy", "false_slashes", "caught", "excluded",
                    "honest_excluded", "byzantine", "groups")
EXCLUDED = getattr(Status, "EXCLUDED", None)  # contract v2
CHEATS = ("random", "flip")  # the strategies a threshold must catch; colluders are a plurality question


def score_round(world: World, roles: list, r: int, info, consensus: np.ndarray, observed: list[dict],
                audit_indices=()) -> dict:
    """The report row of round r (0-based). `info` is the round's RoundInfo after settlement; `observed`
    has, per participant in role order: address, submission, revealed labels (or None), reward/penalty
    from its Claimed event, stake after the round and its drive states.

    Accuracies are measured on the queries that were not audit queries (the requester knew the audit
    queries' labels; scoring on them would count what it told the contract)."""
    batch = world.batches[r]
    plain = np.setdiff1d(np.arange(len(batch)), np.asarray(audit_indices, dtype=np.int64))
    truth = world.y_pool[batch][plain]
    consensus_all = consensus
    consensus = consensus[plain]
    mode = rules.mode_count(consensus_all, world.num_classes)
    equal = info.params.equal_weights
    g = len(audit_indices) if info.audit_revealed else 0  # the tally's reputation moves by a revealed audit
    rows, rev_labels, rev_weights = [], [], []
    for i, (role, seen) in enumerate(zip(roles, observed)):
        sub, labels = seen["submission"], seen["labels"]
        excluded = EXCLUDED is not None and sub.status == EXCLUDED
        if labels is not None and not excluded:  # the tally is over the audit-passers only
            rev_labels.append(labels)
            rev_weights.append(tally_weight(sub.stake, tally_reputation(sub.reputation, sub.audit_hits, g), equal))
        rows.append({
            "index": i, "address": seen["address"], "strategy": role.strategy, "model": role.model,
            "status": sub.status.name, "weight_wei": int(sub.stake), "reputation": int(sub.reputation),
            "matches": int(sub.matches),
            "agreement": sub.matches / len(batch) if labels is not None else None,
            "kappa": float(rules.kappa(int(np.sum(labels == consensus_all)), len(batch), mode))
            if labels is not None else None,
            "audit_hits": int(getattr(sub, "audit_hits", 0)) if info.audit_count else None,
            "excluded": bool(excluded),
            "slashed": penalty(sub.stake, slash_bps(info.params, sub.status, info.audit_revealed)) > 0,
            "penalty_wei": seen["penalty_wei"],
            "reward_wei": seen["reward_wei"], "stake_after_wei": seen["stake_after_wei"],
            "submitted_accuracy": accuracy(labels[plain], truth) if labels is not None else None,
            "model_accuracy": accuracy(world.predictions[r][i][plain], truth),
            "states": seen["states"],
        })
    rev_labels = np.stack(rev_labels) if rev_labels else np.empty((0, len(batch)), dtype=np.int64)
    centralised = plurality(rev_labels, world.num_classes)
    weighted = plurality(rev_labels, world.num_classes, rev_weights)
    all_labels = np.stack([o["labels"] for o in observed if o["labels"] is not None]) \
        if any(o["labels"] is not None for o in observed) else rev_labels
    vote_all = plurality(all_labels, world.num_classes)  # the off-chain vote of everyone, no audit
    honest_acc = [row["submitted_accuracy"] for row in rows
                  if row["strategy"] == HONEST and row["submitted_accuracy"] is not None]
    pooled = accuracy(world.pooled_predictions[r][plain], truth) if world.pooled is not None else None
    return {
        "round": r + 1, "queries": len(batch),
        "consensus_accuracy": accuracy(consensus, truth), "audit_count": int(len(audit_indices)),
        "audit_indices": [int(i) for i in audit_indices], "consensus_mode": int(mode),
        "honest_mean_accuracy": float(np.mean(honest_acc)) if honest_acc else None,
        "honest_best_accuracy": float(np.max(honest_acc)) if honest_acc else None,
        "centralised_accuracy": accuracy(vote_all[plain], truth),
        "pooled_accuracy": pooled,
        "pooled_model": world.pooled.model if world.pooled is not None else None,
        "equal_weights_round": len(set(rev_weights)) <= 1,
        "consensus_equals_plurality": bool(np.array_equal(consensus_all, centralised)),
        "consensus_equals_weighted_vote": bool(np.array_equal(consensus_all, weighted)),
        "revealers": int(info.reveal_count), "committers": int(info.commit_count),
        "false_slashes": sum(row["slashed"] for row in rows if row["strategy"] == HONEST),
        "caught": sum(row["slashed"] or row["excluded"] for row in rows if row["strategy"] != HONEST),
        "byzantine": sum(1 for row in rows if row["strategy"] != HONEST),
        "excluded": sum(row["excluded"] for row in rows if row["strategy"] != HONEST),
        "honest_excluded": sum(row["excluded"] for row in rows if row["strategy"] == HONEST),
        "pool_wei": int(info.pool), "groups": group_totals(rows), "participants": rows,
        "consensus": consensus_all.tolist(), "truth": world.y_pool[batch].tolist(),
    }


def group_totals(rows: list[dict]) -> dict:
    """Per strategy: participants, stake after the round, rewards and penalties claimed, slashed count."""
    groups: dict[str, dict] = {}
    for row in rows:
        g = groups.setdefault(row["strategy"], {"participants": 0, "stake_wei": 0, "reward_wei": 0,
                                                 "penalty_wei": 0, "slashed": 0})
        g["participants"] += 1
        g["stake_wei"] += row["stake_after_wei"]
        g["reward_wei"] += row["reward_wei"] or 0
        g["penalty_wei"] += row["penalty_wei"] or 0
        g["slashed"] += int(row["slashed"])
    return groups


def run_checks(rounds: list[dict], accounting_ok: bool) -> dict:
    """The run's checks: the contract's consensus is the plurality, no honest participant slashed, ..."""
    first = rounds[0]
    first_round_unpaid = {row["strategy"]: [] for row in first["participants"] if row["strategy"] != HONEST}
    for row in first["participants"]:
        if row["strategy"] != HONEST:  # Excluded or Deviated (slashed only as slash_bps says)
            first_round_unpaid[row["strategy"]].append(row["status"] in ("EXCLUDED", "DEVIATED"))
    return {
        "consensus_equals_plurality_when_weights_equal": all(
            r["consensus_equals_plurality"] for r in rounds if r["equal_weights_round"]),
        "rounds_with_equal_weights": [r["round"] for r in rounds if r["equal_weights_round"]],
        "consensus_equals_weighted_vote_every_round": all(r["consensus_equals_weighted_vote"] for r in rounds),
        "no_honest_participant_slashed": all(r["false_slashes"] == 0 for r in rounds),
        "honest_slashed": sum(r["false_slashes"] for r in rounds),
        "byzantine_excluded_or_slashed": f"{sum(r['caught'] for r in rounds)}/{sum(r['byzantine'] for r in rounds)}",
        "random_and_flip_unpaid_in_first_round": all(
            all(v) for g, v in first_round_unpaid.items() if g in CHEATS)
        if any(g in CHEATS for g in first_round_unpaid) else None,
        "first_round_unpaid_by_strategy": {g: sum(v) for g, v in first_round_unpaid.items()},
        "accounting_balanced": accounting_ok,
        "every_wrong_post_refuted": all(r.get("refuted", 0) >= r.get("wrong_posts", 0) for r in rounds),
        "wrong_posts": sum(r.get("wrong_posts", 0) for r in rounds),
    }


def sweep_point(key: str, value: float, chain: dict) -> dict:
    """One point of a sweep: mean and first/last-round accuracies, stake shares and slashes of a run."""
    rounds = chain["rounds"]
    last = rounds[-1]
    total = sum(g["stake_wei"] for g in last["groups"].values())
    honest_stake = last["groups"].get(HONEST, {}).get("stake_wei", 0)
    pooled = [r["pooled_accuracy"] for r in rounds if r["pooled_accuracy"] is not None]
    return {
        key: value,
        "consensus_accuracy_mean": float(np.mean([r["consensus_accuracy"] for r in rounds])),
        "consensus_accuracy_first": rounds[0]["consensus_accuracy"],
        "consensus_accuracy_last": last["consensus_accuracy"],
        "centralised_accuracy_mean": float(np.mean([r["centralised_accuracy"] for r in rounds])),
        "honest_mean_accuracy_mean": float(np.mean([r["honest_mean_accuracy"] for r in rounds
                                                    if r["honest_mean_accuracy"] is not None] or [np.nan])),
        "pooled_accuracy_mean": float(np.mean(pooled)) if pooled else None,
        "honest_stake_share_last": honest_stake / total if total else None,
        "byzantine_stake_share_last": (total - honest_stake) / total if total else None,
        "false_slashes": sum(r["false_slashes"] for r in rounds),
        "caught": sum(r["caught"] for r in rounds),
    }


def report_ok(report: dict) -> bool:
    """False when a check that must hold for the protocol failed (equality of the vote, accounting)."""
    checks = report.get("checks", {})
    return bool(checks.get("consensus_equals_plurality_when_weights_equal", True)
                and checks.get("consensus_equals_weighted_vote_every_round", True)
                and checks.get("accounting_balanced", True)
                and checks.get("every_wrong_post_refuted", True)
                and all(run["checks"].get("consensus_equals_weighted_vote_every_round", True)
                        and run["checks"].get("accounting_balanced", True)
                        for run in report.get("sweep", {}).get("runs", [])))
