"""Playing a simulation on a local chain: deploy, fund real participants, open and drive rounds, sweep.

    report = simulate(SimConfig(), Path("reports/x"))     # what `cl-client simulate` runs

One run starts its own local chain (cl_client.node.LocalNode), deploys the contract, gives every participant
a non-IID Dirichlet shard and a model (cl_client.sim.world), deposits their stake and plays R rounds. Each
round the requester writes the query batch file, opens the round with its file:// URI and a reward, and
every participant -- a cl_client Participant sending real transactions -- commits, reveals, finalizes and
claims, driven by cl_client.participant.drive_rounds on the dev chain's jumping clock. The chain's results
are scored by cl_client.sim.metrics.

The merged path is the default: a participant claims round r in the same `submit` transaction that commits
to round r + 1 (the rounds are sequential, so there is no reveal to add), then reveals alone; the last round
is claimed alone. A round is scored before it is claimed, from the contract's `claimable` view (what the
claim credits). `single_calls=True` (`--single-calls`) sends claim, reveal and commit one by one, as before.
"""
from __future__ import annotations

import time
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .config import AUDIT_SECONDS, COMMIT_SECONDS, ETHER, HONEST, REVEAL_SECONDS, SWEEPABLE, SimConfig, \
    SimulationError, assign_roles, config_dict, role_strategy
from . import gossip

BOND_FUNDS = 10 * ETHER  # free stake of the keeper (and of a lying requester): bonds for many rounds
from .metrics import SWEEP_ROUND_KEYS, run_checks, score_round, sweep_point
from .world import World, dataset_summary, prepare, training_steps


class ChainRun:
    """One deployment on a running LocalNode, its funded participants, and the rounds played on it.

    `ChainRun(...)` only connects; `deploy()` deploys and sets the owner's defaults, `fund()` deposits
    every participant's stake (in participant order), and `play_round(r)` plays round r.
    """

    def __init__(self, config: SimConfig, world: World, node, out_dir: Path, progress=None, tasks=None,
                 single_calls: bool = False):
        from eth_account import Account

        self.config, self.world, self.node, self.out_dir = config, world, node, out_dir
        self.single_calls = bool(single_calls)
        self.unclaimed: int | None = None  # merged path: the round whose claim rides with the next commit
        self.progress, self.tasks = progress, tasks
        self.roles = assign_roles(config)
        if len(node.keys) < config.participants + 2:
            raise SimulationError(f"the node has {len(node.keys)} keys; need {config.participants + 2}")
        self.w3 = self._web3()
        self.owner = Account.from_key(node.keys[0])
        self.gateways, self.participants, self.addresses = [], [], []
        self.checked: dict = {}  # posts found honest: one recomputation per post for all in-process watchers
        # a pass over N in-process participants takes about N x their RPC round trips
        self.drive_timeout = 600.0 + 2.0 * config.participants

    def _web3(self):
        from ..chain import connect

        w3 = connect(self.node.url)
        # web3 asks eth_chainId before most calls; the dev chain's id never changes, so cache that one answer.
        w3.provider.cacheable_requests = {"eth_chainId"}
        w3.provider.cache_allowed_requests = True
        return w3

    def _gateway(self, account):
        from ..chain import Gateway

        return Gateway(self.w3, self.address, account, poll_interval=0.05, backoff=0.2, from_block=self.deploy_block)

    def deploy(self) -> "ChainRun":
        """Deploy the contract; the owner sets equal weights / the agreement threshold if configured."""
        from ..chain import deploy

        cfg = self.config
        self.address, self.deploy_block = deploy(self.w3, self.owner)
        self.requester = self._gateway(self.owner)
        defaults = self.requester.defaults()
        changes = {"equal_weights": bool(cfg.equal_weights) or defaults.equal_weights}
        if cfg.equal_weights:
            changes["deviator_slash_bps"] = 0  # v2: equal weights need deviatorSlashBps == 0
        if cfg.agreement_bps is not None:
            changes["agreement_bps"] = cfg.agreement_bps
        if cfg.audit_bound_bps is not None:
            changes["audit_bound_bps"] = cfg.audit_bound_bps
        wanted = replace(defaults, **{k: v for k, v in changes.items() if hasattr(defaults, k)})
        if wanted != defaults:
            self.requester.set_defaults(wanted)
        self.params = self.requester.defaults()
        return self

    def fund(self) -> "ChainRun":
        """Every participant deposits its stake and gets a Participant (journals under out_dir/journals)."""
        from eth_account import Account

        from ..participant import Participant
        cfg = self.config
        bound = getattr(self.params, "audit_bound_bps", 0)
        self.min_stake_roles = set()
        for role in self.roles:
            gw = self._gateway(Account.from_key(self.node.keys[role.index + 1]))
            strategy = None if role.strategy == HONEST else role_strategy(role.strategy, bound, self.world.num_classes)
            if strategy is not None and strategy.min_stake:  # a Sybil: the minimum stake, topped up every round
                self.min_stake_roles.add(role.index)
                gw.deposit(int(self.params.min_stake))
            else:
                gw.deposit(int(cfg.stake_eth * ETHER))
            self.gateways.append(gw)
            self.participants.append(Participant(gw, self.world.learners[role.index], strategy=strategy,
                                                 journal_dir=self.out_dir / "journals", finalize=True,
                                                 rng=np.random.default_rng([cfg.seed, role.index, 3]),
                                                 settle="post" if cfg.posts else "finalize", checked=self.checked))
        self.addresses = [gw.sender for gw in self.gateways]
        self.keeper = None
        if cfg.posts:  # a keeper posts the rounds' consensus (the participants' stake is all committed)
            from ..watcher import Keeper

            self.keeper = Keeper(self._gateway(Account.from_key(self.node.keys[cfg.participants + 1])),
                                 checked=self.checked)
            self.keeper.gateway.deposit(BOND_FUNDS)
            if cfg.wrong_posts:
                self.requester.deposit(BOND_FUNDS)  # the self-dealing requester's bonds
        self.wrong_posts: dict[int, int] = {}  # round -> wrong posts made (and refuted)
        return self

    # ------------------------------------------------------------------ driving

    def _drive(self, round_id: int, done: frozenset, until: int, task=None, claim_alone: bool = True,
               settle: bool = False) -> dict:
        """cl_client.participant.drive_rounds over every participant on the dev chain's jumping clock, up to
        the end of the phase being driven; returns the last state of each in `round_id`, by participant index.
        On the merged path the previous round, if still unclaimed, is driven along to its claim (which then
        rides with this round's commit in one submit)."""
        from ..participant import TERMINAL_STATES, JumpClock, drive_rounds

        rounds, dones = [round_id], {round_id: done}
        if self.unclaimed is not None and not self.single_calls:
            rounds.insert(0, self.unclaimed)
            dones[self.unclaimed] = TERMINAL_STATES
        on_done = None if task is None else (
            lambda p, rid, state: self.progress.advance(task) if rid == round_id and p is not self.keeper else None)
        # The keeper steps last: the participants' watchers meet a wrong post before anyone re-posts.
        drivers = self.participants + ([self.keeper] if self.keeper is not None and settle else [])
        history = drive_rounds(drivers, rounds, JumpClock(self.node, self.requester), done=dones, until=until,
                               timeout=self.drive_timeout, on_done=on_done, merge=not self.single_calls, claim_alone=claim_alone)
        if len(rounds) > 1:
            self.unclaimed = None
        return {i: history[round_id][p.address][-1] for i, p in enumerate(self.participants)}

    def claim_last(self) -> dict:
        """Merged path: after the last round, claim it (alone: there is no next commit to ride with); returns
        each participant's last state in it, by index."""
        from ..participant import TERMINAL_STATES, JumpClock, drive_rounds

        rid, self.unclaimed = self.unclaimed, None
        history = drive_rounds(self.participants, [rid], JumpClock(self.node, self.requester), done=TERMINAL_STATES,
                               timeout=self.drive_timeout)
        return {i: history[rid][p.address][-1] for i, p in enumerate(self.participants)}

    def _advance_past(self, deadline: int) -> None:
        now = self.requester.latest_timestamp()
        if now <= deadline:
            self.node.increase_time(deadline - now + 1)

    def _top_up(self) -> None:
        """Sybils keep exactly the round's minimum stake: each tops its free stake up after a slash (on the merged
        path, the free stake its pending claim will leave, which the same submit's commit then locks)."""
        for i in sorted(self.min_stake_roles):
            free = self.requester.account_info(self.addresses[i]).free + self._pending_claim(i)
            if free < self.params.min_stake:
                self.gateways[i].deposit(int(self.params.min_stake - free))

    def _pending_claim(self, i: int) -> int:
        """What participant i's claim of the unclaimed previous round will credit to its free stake (0 if none)."""
        from ..protocol import Status

        if self.unclaimed is None:
            return 0
        sub = self.requester.submission(self.unclaimed, self.addresses[i])
        if sub.status == Status.NONE or sub.claimed:
            return 0
        reward, penalty = self.requester.claimable(self.unclaimed, self.addresses[i])
        return int(sub.stake) - int(penalty) + int(reward)

    def audit_for(self, r: int):
        """The requester's hidden audit of round r: G batch positions it knows the labels of (it holds the
        test set's labels), the same positions the off-chain calibration uses, and a fresh salt."""
        from ..protocol import Audit
        from .calibrate import audit_indices

        cfg, batch = self.config, self.world.batches[r]
        if not cfg.audit_count:
            return None
        idx = audit_indices(cfg.seed, r, len(batch), cfg.audit_count)
        truth = self.world.y_pool[batch]
        salt = np.random.default_rng([cfg.seed, r, 17]).bytes(32)
        return Audit(indices=tuple(int(i) for i in idx), labels=tuple(int(truth[i]) for i in idx), salt=salt)

    def play_round(self, r: int) -> dict:
        """Open round r (0-based) on chain, drive every participant through it, and score what the chain says."""
        from ..data import write_queries
        from ..participant import COMMIT_DONE, REVEAL_DONE, TERMINAL_STATES, State
        from ..protocol import Phase, Status

        cfg, world = self.config, self.world
        batch = world.batches[r]
        qpath = (self.out_dir / "queries" / f"round-{r + 1}.npz").resolve()
        qhash = write_queries(qpath, world.X_pool[batch])
        self._top_up()
        audit = self.audit_for(r)
        t0 = time.perf_counter()
        extra = {} if audit is None else {"audit": audit, "audit_duration": AUDIT_SECONDS}
        if cfg.optimistic:
            extra["optimistic"] = True
        round_id = self.requester.open_round(qhash, qpath.as_uri(), len(batch), world.num_classes,
                                             COMMIT_SECONDS, REVEAL_SECONDS, int(cfg.reward_eth * ETHER), **extra)
        info = self.requester.round(round_id)
        tasks = self.tasks or {}
        commit_states = self._drive(round_id, COMMIT_DONE, info.commit_deadline, tasks.get("commit"))
        self._advance_past(info.commit_deadline)
        reveal_states = self._drive(round_id, REVEAL_DONE, info.reveal_deadline, tasks.get("reveal"))
        self._advance_past(info.reveal_deadline)
        if audit is not None:  # the Audit phase: the requester reveals what it hid, through the production client
            self.requester.reveal_audit(round_id, audit)
        elif cfg.wrong_posts:  # a self-dealing requester posts first, a wrong consensus
            self.wrong_posts[round_id] = self._post_wrong(round_id)
        if self.single_calls:
            final_states = self._drive(round_id, TERMINAL_STATES, 2**63, tasks.get("final"), settle=True)
        else:  # settle, and leave the claim to the next round's submit
            final_states = self._drive(round_id, TERMINAL_STATES | {State.FINALIZED}, 2**63, tasks.get("final"),
                                       claim_alone=False, settle=True)
            self.unclaimed = round_id
            if r == cfg.rounds - 1:
                final_states = self.claim_last()
        seconds = time.perf_counter() - t0

        info = self.requester.round(round_id)
        if self.wrong_posts.get(round_id) and self.requester.post(round_id).serial < 2:
            raise SimulationError(f"round {round_id}: the wrong post was not refuted")
        if info.phase != Phase.FINALIZED:
            raise SimulationError(f"round {round_id} ended {info.phase.name}, not FINALIZED "
                                  f"({info.reveal_count} revealers of {info.commit_count})")
        revealed = self.requester.revealed(round_id)
        claims = {e["args"]["participant"]: e["args"] for e in self.requester.events("Claimed", round_id)}
        observed = []
        for i, addr in enumerate(self.addresses):
            claim = claims.get(addr)
            acct = self.requester.account_info(addr)
            sub = self.requester.submission(round_id, addr)
            sub = replace(sub, status=self.requester.settled_status(round_id, addr))  # a post scores at claim
            credit = 0
            if claim is None and sub.status != Status.NONE and not sub.claimed:  # merged path: claimed later
                reward, penalty = self.requester.claimable(round_id, addr)
                claim, credit = {"reward": reward, "penalty": penalty}, int(reward) - int(penalty)
            observed.append({
                "address": addr, "submission": sub,
                "labels": np.frombuffer(revealed[addr], dtype=np.uint8).astype(np.int64) if addr in revealed else None,
                "penalty_wei": int(claim["penalty"]) if claim else None,
                "reward_wei": int(claim["reward"]) if claim else None,
                "stake_after_wei": int(acct.free + acct.locked) + credit,
                "states": [commit_states[i], reveal_states[i], final_states[i]],
            })
        consensus = np.frombuffer(self.requester.consensus(round_id), dtype=np.uint8).astype(np.int64)
        from .calibrate import audit_indices

        unscored = audit.indices if audit is not None else audit_indices(cfg.seed, r, len(batch), cfg.unscored_count)
        out = score_round(world, self.roles, r, info, consensus, observed, audit_indices=unscored)
        out["audit_count"] = 0 if audit is None else len(audit.indices)
        committed = [p.journal(round_id).labels for p in self.participants]  # Byzantine rows: their lie
        snowball = None if any(c is None for c in committed) else gossip.per_round(
            world, self.roles, np.stack([np.frombuffer(c, dtype=np.uint8).astype(np.int64) for c in committed]),
            consensus, r)
        out.update({"round_id": round_id, "gas": self._gas(round_id), "seconds": seconds, "snowball": snowball,
                    "settled_by": "post" if self.requester.post(round_id).serial else "finalize",
                    "wrong_posts": self.wrong_posts.get(round_id, 0),
                    "refuted": sum(1 for _ in self.requester.events("Refuted", round_id))})
        return out

    def _post_wrong(self, round_id: int) -> int:
        """The requester's attack: the honest post with one query's label moved to its least-supported label
        (and every match count recounted against it, so that only a query proof can refute it). Returns 1."""
        from ..commitment import pack_labels
        from ..optimistic import matches_bytes
        from ..protocol import matches as count_matches
        from ..watcher import Watcher

        gw = self.requester
        honest = Watcher(gw).honest_post(round_id)
        revealed, weights, k = gw.revealed(round_id), gw.tally_weights(round_id), self.world.num_classes
        tally = [sum(weights[a] for a, row in revealed.items() if row[0] == label) for label in range(k)]
        consensus = bytes([min(range(k), key=lambda label: (tally[label], label))]) + honest.consensus[1:]
        rows = [np.frombuffer(revealed[a], dtype=np.uint8) for a in honest.committers if a in revealed]
        counted = iter(count_matches(rows, np.frombuffer(consensus, dtype=np.uint8)).tolist()) if rows else iter(())
        matches = [next(counted) if a in revealed else 0 for a in honest.committers]
        gw.propose(round_id, pack_labels(consensus, k), list(honest.committers), matches_bytes(matches))
        return 1

    def _gas(self, round_id: int) -> dict:
        """Gas used per operation in this round, from the receipts of the round's events. A merged transaction
        (`submit`: on the merged path, the claim of the previous round and this round's commit) counts once,
        as op "submit", in the round it commits to."""
        out, submits = {}, {}
        settled_by_post = self.requester.post(round_id).serial != 0
        for op, event in (("open_round", "RoundOpened"), ("commit", "Committed"), ("reveal", "Revealed"),
                          ("reveal_audit", "AuditRevealed"), ("propose", "Proposed"), ("refute", "Refuted"),
                          ("confirm" if settled_by_post else "finalize", "RoundFinalized"), ("claim", "Claimed")):
            used = []
            for e in self.requester.events(event, round_id):
                tx_hash = bytes(e["transactionHash"])
                if self._is_submit(tx_hash):
                    if op == "commit":
                        submits[tx_hash] = self.requester.receipt(e["transactionHash"])["gasUsed"]
                    continue
                used.append(self.requester.receipt(e["transactionHash"])["gasUsed"])
            if op == "reveal" and submits:  # the table's order: open_round, commit, submit, reveal, ...
                used_s = list(submits.values())
                out["submit"] = {"count": len(used_s), "mean": float(np.mean(used_s)), "max": int(max(used_s)),
                                 "total": int(sum(used_s))}
            if used:
                out[op] = {"count": len(used), "mean": float(np.mean(used)), "max": int(max(used)),
                           "total": int(sum(used))}
        return out

    def _is_submit(self, tx_hash: bytes) -> bool:
        """Whether the transaction called `submit` (its 4-byte selector)."""
        selector = bytes(self.w3.eth.get_transaction(tx_hash)["input"])[:4]
        return self.requester.contract.get_function_by_selector(selector).fn_name == "submit"

    def groups(self) -> dict:
        """Participants and stake (free + locked) per strategy, now."""
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


def run_rounds(config: SimConfig, world: World, node, out_dir: Path, progress=None, label: str = "",
               single_calls: bool = False) -> dict:
    """Deploy on `node` and play config.rounds rounds (the merged path unless `single_calls`); returns the
    chain part of the report."""
    tasks = None
    if progress is not None:
        total = config.participants * config.rounds
        tasks = {key: progress.add_task(f"{name}{label}", total=total)
                 for key, name in (("commit", "commit"), ("reveal", "reveal"), ("final", "finalize + claim"))}
    run = ChainRun(config, world, node, out_dir, progress, tasks, single_calls=single_calls).deploy().fund()
    initial = run.groups()
    rounds = [run.play_round(r) for r in range(config.rounds)]
    return {
        "chain": {"backend": config.backend, "transactions": "single calls" if single_calls else "merged (submit)",
                  "chain_id": run.requester.chain_id, "contract": run.address,
                  "deploy_block": run.deploy_block, "params": asdict(run.params)},
        "participants": [{"index": r.index, "address": run.addresses[r.index], "strategy": r.strategy,
                          "model": r.model, "byzantine": r.byzantine} for r in run.roles],
        "initial_groups": initial,
        "rounds": rounds,
        "checks": run_checks(rounds, run.accounting_ok()),
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


def sweep_points(config: SimConfig, sweep: tuple[str, list[float]] | None) -> list[tuple]:
    """The runs of a simulation: (sweep value or None, config, "main" | "baseline").

    With `baseline` and audits on, every run is paired with the same run without audits (audit 0). A sweep
    over `byzantine` turns a group mix into its strategies cycled at each share."""
    if sweep is None:
        runs = [(None, config)]
    else:
        key, values = sweep
        base = config
        if key == "byzantine" and config.mix:
            base = replace(config, mix=(), strategies=tuple(dict.fromkeys(g for g, _ in config.mix)))
        runs = [(v, replace(base, **{key: v}).validate()) for v in values]
    out = []
    for value, cfg in runs:
        out.append((value, cfg, "main"))
        if config.baseline and cfg.audit:
            out.append((value, replace(cfg, audit=0, scored_as_audit=cfg.audit).validate(), "baseline"))
    return out


def default_out_dir(root: str | Path = "reports") -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(root) / stamp
    n = 1
    while out.exists():
        n += 1
        out = Path(root) / f"{stamp}-{n}"
    return out


def simulate(config: SimConfig, out_dir: Path, *, sweep: tuple[str, list[float]] | None = None,
             console=None, show_progress: bool = True, single_calls: bool = False) -> dict:
    """Run the configured simulation (or sweep) end to end and return the report dictionary (participants
    on the merged path, or with `single_calls` one transaction per claim, reveal and commit)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..node import LocalNode
    from .datasets import THEORY

    config = config.validate()
    started = time.perf_counter()
    report: dict = {"tool": "cl_client.sim", "config": config_dict(config), "seed": config.seed,
                    "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    progress = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, disable=not show_progress, transient=False)
    with progress:
        if config.dataset == THEORY:
            from .theory import beta_check

            task = progress.add_task("theory check (off-chain)", total=1)
            ns = sorted({1, 3, 5, 7, 9, 11, 15, 21, 31, config.participants})
            report["theory"] = beta_check(config.beta_a, config.beta_b, ns=ns, draws=config.beta_draws,
                                          queries=config.queries, seed=config.seed).as_dict()
            progress.advance(task)
        else:
            points = sweep_points(config, sweep)
            worlds: dict[float, World] = {}
            with LocalNode(backend=config.backend, accounts=config.participants + 2, block_time=0,
                           hardfork=config.hardfork) as node:
                for value, cfg, role in points:
                    if cfg.alpha not in worlds:
                        task = progress.add_task(f"training (alpha={cfg.alpha:g})", total=training_steps(cfg))
                        worlds[cfg.alpha] = prepare(cfg, on_trained=lambda t=task: progress.advance(t))
                    world = worlds[cfg.alpha]
                    name = "" if value is None else f"{sweep[0]}-{value:g}"
                    if role == "baseline":
                        name = f"{name}-no-audit" if name else "no-audit"
                    sub = out_dir / name if name else out_dir
                    label = "" if value is None else f" ({sweep[0]}={value:g})"
                    label += " no audit" if role == "baseline" else ""
                    chain = run_rounds(cfg, world, node, sub, progress, label, single_calls=single_calls)
                    if value is None and role == "main":
                        report.update(chain)
                        report["dataset"] = dataset_summary(world)
                        report["gossip"] = gossip.degradation(world, cfg)
                    elif value is None:
                        report["baseline"] = dict(chain, config=config_dict(cfg))
                    else:
                        report.setdefault("sweep", {"key": sweep[0], "points": []})
                        report["sweep"]["points"].append(dict(sweep_point(sweep[0], value, chain), audit=cfg.audit))
                        report["sweep"].setdefault("runs", []).append(
                            {"value": value, "audit": cfg.audit, "checks": chain["checks"],
                             "rounds": [{k: r[k] for k in SWEEP_ROUND_KEYS} for r in chain["rounds"]]})
    report["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    report["wall_time_s"] = time.perf_counter() - started
    return report
