"""Calibrating agreementBps and auditBoundBps, off-chain, with the v2 rules (cl_client.sim.rules) over the
same worlds (data, shards, trained models, query batches) the chain runs use.

    python -m cl_client.sim.calibrate --seeds 0-19 --out docs/data/calibration.json

For each seed and Byzantine mix, R rounds are settled as the contract would: the requester hides G audit
queries drawn from the batch (it knows their labels), revealers with hits * 10000 < bound * G or struck out by
the crowd rule (protocol.crowd_strikes, the default crowdBps) are Excluded,
the plurality weighted by stake x reputation is taken over the others, the chance-corrected rule marks each
Agreed or Deviated, the default penalties (`protocol.slash_bps`: an audited round slashes no audit-passer) and
the reward move stake, and the audit accuracy moves reputation, for the next round (`--no-reputation`: stake
alone). Recorded per participant-round: kappa = (matches - M) / (Q - M) against the consensus, audit accuracy
hits / G, the status, whether it lost stake; per round: consensus accuracy on the non-audit queries. Then each
(agreementBps, auditBoundBps) candidate is scored: honest participant-rounds slashed (stake lost) and excluded
(reward lost), Byzantine participant-rounds excluded or slashed, round-1 accuracy.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..protocol import (DEFAULT_PARAMS, LIMITS, Status, crowd_passes, crowd_size, crowd_strikes, next_reputation,
                        next_struck_out, penalty, plurality, reputation_score, reward_share, slash_bps,
                        tally_reputation, tally_weight, vote_weight)
from . import rules
from .config import ETHER, HONEST, SimConfig, assign_roles, parse_mix, role_strategy
from .world import World, accuracy, prepare

MIXES = ("none", "collude:0.1", "collude:0.2", "collude:0.3", "collude:0.4", "collude:0.5", "collude:0.6",
         "adaptive:0.4", "adaptive:0.5", "audit-aware:0.4", "audit-aware:0.5", "crowd-aware:0.4", "crowd-aware:0.5", "constant:0.4", "constant:0.5",
         "collude:0.2,constant:0.2", "random:0.2,flip:0.2", "random:0.1,flip:0.1,collude:0.1")
AGREEMENT_BPS = (0, 250, 500, 1000, 1500, 2000, 3000)
SAMPLE_BPS = 500  # kappa / audit-accuracy samples are kept for this agreementBps (the current default)
AUDIT_BOUND_BPS = (0, 1000, 2000, 3000, 4000)
MIN_STAKE = DEFAULT_PARAMS.min_stake
_STATUS = {"excluded": Status.EXCLUDED, "deviated": Status.DEVIATED}


def audit_indices(seed: int, round_index: int, q: int, g: int) -> np.ndarray:
    """The requester's hidden audit queries of a round (sorted positions in the batch)."""
    if g == 0:
        return np.empty(0, dtype=np.int64)
    return np.sort(np.random.default_rng([seed, round_index, 13]).choice(q, size=g, replace=False))


_LABELS: dict = {}


def round_labels(world: World, roles, r: int, round_id: int, bound_bps: int) -> np.ndarray:
    """What every participant submits in round r: its model's predictions through its strategy (cached:
    only audit-aware and crowd-aware colluders depend on the bound)."""
    aware = any(role.strategy in ("audit-aware", "crowd-aware") for role in roles)
    key = (id(world), world.config.seed, tuple(role.strategy for role in roles), r, bound_bps if aware else None)
    if key not in _LABELS:
        _LABELS[key] = _round_labels(world, roles, r, round_id, bound_bps)
    return _LABELS[key]


def _round_labels(world: World, roles, r: int, round_id: int, bound_bps: int) -> np.ndarray:
    preds = world.predictions[r]
    out = np.empty_like(preds)
    for role in roles:
        if role.strategy == HONEST:
            out[role.index] = preds[role.index]
            continue
        strat = role_strategy(role.strategy, bound_bps, world.num_classes)
        rng = np.random.default_rng([world.config.seed, role.index, round_id])
        out[role.index] = strat.labels(preds[role.index], world.num_classes, round_id=round_id, rng=rng)
    return out


def settle(labels, stakes, truth, audit_idx, num_classes: int, agreement_bps: int, bound_bps: int,
           equal_weights: bool = False, reputations=None, crowd_bps: int = DEFAULT_PARAMS.crowd_bps,
           struck=None, memory: bool = True) -> dict:
    """One round as the contract settles it (every participant reveals). Returns statuses, kappas, ...
    `reputations` (bps, at commit; default REPUTATION_START each) weigh the tally with the stakes; the result's
    "reputations" are the updated ones (unchanged if the round failed: every participant revealed). `struck`:
    the crowd rule's memory of each address (default none struck out; `memory=False` ignores it, the rule
    before memory); the result's "struck" is the memory after the round."""
    n, q = labels.shape
    reps = [LIMITS.reputation_start] * n if reputations is None else list(reputations)
    before = np.zeros(n, dtype=bool) if struck is None or not memory else np.asarray(struck, dtype=bool)
    after_struck = before.copy()
    g = len(audit_idx)
    hits = rules.audit_hits(labels, audit_idx, truth[audit_idx]) if g else np.zeros(n, dtype=np.int64)
    passes = rules.audit_passes(hits, g, bound_bps) if g else np.ones(n, dtype=bool)
    passes = np.atleast_1d(np.asarray(passes, dtype=bool))
    if g:  # the crowd rule (crowd_bps 0: off)
        strikes = crowd_strikes(labels[:, audit_idx], truth[audit_idx], crowd_size(crowd_bps, n))
        crowd_ok = np.atleast_1d(crowd_passes(strikes, g, before))
        passes &= crowd_ok
        after_struck = np.atleast_1d(next_struck_out(before, bool(crowd_bps), crowd_ok))
    status = np.array(["excluded"] * n, dtype=object)
    if not passes.any():
        return {"failed": True, "status": np.array(["failed"] * n, dtype=object), "hits": hits, "kappa": None,
                "slashed": np.zeros(n, dtype=bool),
                "consensus": None, "stakes": list(stakes), "reputations": list(reps), "struck": before}
    w = [vote_weight(s, equal_weights) for s in stakes]
    tally = [tally_weight(s, tally_reputation(r, h, g), equal_weights) for s, r, h in zip(stakes, reps, hits)]
    idx = np.flatnonzero(passes)
    consensus = plurality(labels[idx], num_classes, [tally[i] for i in idx])
    mode = rules.mode_count(consensus, num_classes)
    m = (labels == consensus[None, :]).sum(axis=1)
    agreed = np.asarray(rules.agrees(m, q, agreement_bps, mode), dtype=bool) & passes
    status[passes] = "deviated"
    status[agreed] = "agreed"
    new = list(stakes)
    pool = 0
    slashed = np.zeros(n, dtype=bool)
    for i in range(n):
        if status[i] in _STATUS:  # the default slash rates (an audited round slashes no audit-passer)
            cut = penalty(stakes[i], slash_bps(DEFAULT_PARAMS, _STATUS[status[i]], audited=g > 0))
            new[i] -= cut
            slashed[i] = cut > 0
            pool += cut if status[i] == "deviated" else 0  # audit penalties are burned
    scores = [reputation_score(hits[i], g, excluded=not passes[i]) for i in range(n)]
    after = [reps[i] if s is None else next_reputation(reps[i], s) for i, s in enumerate(scores)]
    return {"failed": False, "status": status, "hits": hits, "kappa": rules.kappa(m, q, mode), "mode": mode,
            "consensus": consensus, "pool_penalties": pool, "agreed": agreed, "slashed": slashed,
            "stakes": new, "weights": w, "reputations": after, "struck": after_struck}


def play(world: World, config: SimConfig, agreement_bps: int, bound_bps: int, reputation: bool = True,
         memory: bool = True) -> list[dict]:
    """config.rounds rounds with stake (and, unless `reputation` is False, reputation) carried over (rewards to
    the agreeing, penalties off), and the crowd rule's memory (unless `memory` is False). reputation=False
    weighs every round like a first one (the rule before reputation: stake alone)."""
    roles = assign_roles(config)
    sybil = [role_strategy(r.strategy, bound_bps, world.num_classes).min_stake if r.byzantine else False
             for r in roles]
    stakes = [MIN_STAKE if sy else int(config.stake_eth * ETHER) for sy in sybil]
    reward = int(config.reward_eth * ETHER)
    reps = [LIMITS.reputation_start] * len(roles)  # every address is new in round 1
    struck = np.zeros(len(roles), dtype=bool)
    out = []
    for r in range(config.rounds):
        stakes = [max(s, MIN_STAKE) if sy else s for s, sy in zip(stakes, sybil)]  # Sybils top up to the minimum
        batch = world.batches[r]
        truth = world.y_pool[batch]
        q = len(batch)
        audit = audit_indices(config.seed, r, q, config.audit_count)
        labels = round_labels(world, roles, r, r + 1, bound_bps)
        res = settle(labels, stakes, truth, audit, world.num_classes, agreement_bps, bound_bps, config.equal_weights,
                     reps, struck=struck, memory=memory)
        if reputation:
            reps = res["reputations"]
        struck = res["struck"]
        plain = np.setdiff1d(np.arange(q), audit)
        if not res["failed"]:
            agreed_w = sum(w for w, a in zip(res["weights"], res["agreed"]) if a)
            pool = reward + res["pool_penalties"]
            stakes = [s + (reward_share(pool, w, agreed_w) if a else 0)
                      for s, w, a in zip(res["stakes"], res["weights"], res["agreed"])]
        acc = accuracy(res["consensus"][plain], truth[plain]) if not res["failed"] else None
        out.append({"round": r + 1, "failed": res["failed"], "consensus_accuracy": acc,
                    "participants": [{"strategy": role.strategy, "status": str(res["status"][i]),
                                      "slashed": bool(res["slashed"][i]),
                                      "kappa": None if res["kappa"] is None else float(res["kappa"][i]),
                                      "audit_accuracy": float(res["hits"][i] / len(audit)) if len(audit) else None,
                                      "model_accuracy": accuracy(world.predictions[r][i][plain], truth[plain])}
                                     for i, role in enumerate(roles)]})
    return out


def config_for(base: SimConfig, mix: str, seed: int) -> SimConfig:
    return replace(base, seed=seed, mix=() if mix == "none" else parse_mix(mix), byzantine=0.0).validate()


def calibrate(seeds, mixes=MIXES, agreement=AGREEMENT_BPS, bounds=AUDIT_BOUND_BPS, base: SimConfig | None = None,
              progress=None, reputation: bool = True, memory: bool = True) -> dict:
    base = base or SimConfig()
    grid: dict[str, dict] = {}
    samples: dict[str, dict] = {}
    worlds: dict[int, World] = {}
    for seed in seeds:
        if progress:
            progress(f"seed {seed}")
        worlds[seed] = prepare(config_for(base, "none", seed), pooled=False)
    for mix in mixes:
        for bound in bounds:
            for bps in agreement:
                cell = {"honest_rounds": 0, "honest_slashed": 0, "honest_excluded": 0, "honest_deviated": 0,
                        "byz_rounds": 0, "byz_caught": 0, "failed_rounds": 0, "seeds_with_honest_slashed": 0,
                        "round1_accuracy": [], "accuracy": []}
                for seed in seeds:
                    cfg = config_for(base, mix, seed)
                    world = worlds[seed]
                    world.config = cfg
                    slashed_here = 0
                    for rnd in play(world, cfg, bps, bound, reputation, memory):
                        cell["failed_rounds"] += rnd["failed"]
                        if rnd["consensus_accuracy"] is not None:
                            cell["accuracy"].append(rnd["consensus_accuracy"])
                            if rnd["round"] == 1:
                                cell["round1_accuracy"].append(rnd["consensus_accuracy"])
                        for p in rnd["participants"]:
                            if p["strategy"] == HONEST:
                                cell["honest_rounds"] += 1
                                cell["honest_slashed"] += p["slashed"]  # lost stake
                                cell["honest_excluded"] += p["status"] == "excluded"
                                cell["honest_deviated"] += p["status"] == "deviated"
                                slashed_here += p["slashed"]
                            else:
                                cell["byz_rounds"] += 1
                                cell["byz_caught"] += p["status"] == "excluded" or p["slashed"]
                            if bps == SAMPLE_BPS:
                                if True:
                                    key = f"{mix}|{bound}"
                                    d = samples.setdefault(key, {}).setdefault(p["strategy"], {"kappa": [], "audit": []})
                                    if p["kappa"] is not None and p["status"] != "excluded":  # passers only
                                        d["kappa"].append(round(p["kappa"], 4))
                                    if p["audit_accuracy"] is not None:
                                        d["audit"].append(round(p["audit_accuracy"], 4))
                    cell["seeds_with_honest_slashed"] += slashed_here > 0
                acc, acc1 = cell.pop("accuracy"), cell.pop("round1_accuracy")
                cell["accuracy_mean"] = float(np.mean(acc)) if acc else None
                cell["round1_accuracy_mean"] = float(np.mean(acc1)) if acc1 else None
                cell["round1_accuracy_min"] = float(np.min(acc1)) if acc1 else None
                cell["byz_caught_share"] = cell["byz_caught"] / cell["byz_rounds"] if cell["byz_rounds"] else None
                grid.setdefault(mix, {}).setdefault(str(bound), {})[str(bps)] = cell
    return {"seeds": list(seeds), "mixes": list(mixes), "agreement_bps": list(agreement), "audit_bound_bps": list(bounds),
            "config": {"dataset": base.dataset, "participants": base.participants, "queries": base.queries,
                       "rounds": base.rounds, "alpha": base.alpha, "audit_per_100": base.audit,
                       "audit_count": base.audit_count, "deviator_slash_bps": DEFAULT_PARAMS.deviator_slash_bps,
                       "audit_slash_bps": DEFAULT_PARAMS.audit_slash_bps,
                       "reputation": reputation, "crowd_memory": memory},
            "grid": grid, "samples": samples}


def _seeds(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m cl_client.sim.calibrate")
    p.add_argument("--seeds", default="0-19")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--audit", type=int, default=10)
    p.add_argument("--mixes", default=";".join(MIXES), help="';'-separated mixes")
    p.add_argument("--out", default="docs/data/calibration.json")
    p.add_argument("--no-reputation", action="store_true",
                   help="weigh by stake alone (every round like a first one), as before reputation")
    p.add_argument("--no-memory", action="store_true",
                   help="the crowd rule without memory (as before struckOut): every round judged alone")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    result = calibrate(_seeds(args.seeds), tuple(args.mixes.split(";")),
                       base=SimConfig(rounds=args.rounds, audit=args.audit),
                       progress=lambda s: print(s, file=sys.stderr, flush=True), reputation=not args.no_reputation,
                       memory=not args.no_memory)
    result["wall_time_s"] = time.perf_counter() - t0
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, separators=(",", ":")))  # compact: ~1 MB of samples
    print(f"wrote {args.out} ({result['wall_time_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())


def _share(mix: str) -> float:
    return 0.0 if mix == "none" else sum(s for _, s in parse_mix(mix))


def summarise(result: dict, max_share: float = 0.5) -> dict:
    """Per (auditBoundBps, agreementBps): honest participant-rounds slashed over every mix up to `max_share`
    Byzantine, the lowest share of Byzantine participant-rounds caught, and round-1 accuracies."""
    rows = []
    for bound in result["audit_bound_bps"]:
        for bps in result["agreement_bps"]:
            cells = {mix: result["grid"][mix][str(bound)][str(bps)] for mix in result["mixes"]}
            within = {m: c for m, c in cells.items() if _share(m) <= max_share + 1e-9}
            caught = {m: c["byz_caught_share"] for m, c in within.items() if c["byz_caught_share"] is not None}
            rows.append({
                "audit_bound_bps": bound, "agreement_bps": bps,
                "honest_slashed": sum(c["honest_slashed"] for c in within.values()),
                "honest_excluded": sum(c["honest_excluded"] for c in within.values()),
                "honest_deviated": sum(c["honest_deviated"] for c in within.values()),
                "honest_rounds": sum(c["honest_rounds"] for c in within.values()),
                "byz_caught_min": min(caught.values()) if caught else None,
                "byz_caught_min_mix": min(caught, key=caught.get) if caught else None,
                "round1": {m: c["round1_accuracy_mean"] for m, c in cells.items()},
                "mean": {m: c["accuracy_mean"] for m, c in cells.items()},
            })
    return {"rows": rows}


def distributions(result: dict, bound: int) -> dict:
    """Percentiles of kappa and audit accuracy per strategy, pooled over mixes, at one bound (SAMPLE_BPS)."""
    from .threshold import percentiles

    out: dict = {}
    for key, groups in result["samples"].items():
        mix, b = key.split("|")
        if int(b) != bound:
            continue
        for strategy, d in groups.items():
            g = out.setdefault(strategy, {"kappa": [], "audit": []})
            g["kappa"] += d["kappa"]
            g["audit"] += d["audit"]
    return {s: {"kappa": percentiles(d["kappa"]), "audit": percentiles(d["audit"])} for s, d in out.items()}
