"""Participant: one address's lifecycle in a round -- commit, reveal, finalize, claim.

`step` is non-blocking: it looks at the chain (at its block time) and the journal, does the one action
possible now, and returns the resulting state. `run_round` loops over `step`, waiting on block time
between actions. Everything needed to resume is in the journal and on chain, so a participant restarted
after a crash at any point carries on: it never commits twice, never loses its salt, and still reveals
while the reveal window is open.

    p = Participant(gateway, Learner("knn").fit(X, y))
    summary = p.run_round(round_id)      # {"state": "claimed", "status": "agreed", "reward": ..., ...}

`step` returns a `State` (cl_client.journal.State, re-exported here; members are strings):
COMMITTED, REVEALED, NOT_REVEALED, WAITING_FINALIZE, WATCHING, FINALIZED, CLAIMED, DONE or MISSED. In a round with an
audit, REVEALED / NOT_REVEALED last through the Audit phase too (the requester reveals its audit then; the
participant has nothing to do and finalizes once the round is finalizable). `claim` credits the stake and the
reward to the free stake (no ETH is sent), so the next commit of the same address weighs more.

Optimistic settlement (docs/protocol.md): a round settled by a post is watched. While a post is live, `step`
checks it with the `Watcher` (cl_client.watcher) against the consensus and match counts recomputed from the
Revealed events, refutes it at once if it is wrong (then the round is finalizable again), and otherwise
returns WATCHING until the challenge window ends; the claim after it confirms the post. An optimistic-only
round (or any round without an audit, with `settle="post"`) is settled by posting the honest consensus
(`finalize=True` and enough free stake for the bond) instead of by finalize.

`step_rounds(round_ids)` steps several live rounds at once (pipelined rounds: r in reveal while r + 1 is
in commit): the claim, reveal and commit ready now, in different rounds, go in ONE `Gateway.submit` (the
merged path); a lone action keeps its single call, and a submit that reverts is sent again as single calls.
Each action has one prepare part (`_next` / `_plan_commit` / `_plan_reveal`: decide, and journal a commit's
labels and salt PREPARED before anything is sent) and one finish part (`_finish_*`: journal the result from
the receipt), shared by both paths; a crash between any two merged steps resumes through the same
reconciliation of journal and chain as a crash between single calls.

`drive_rounds(participants, round_ids, clock)` is the scheduler: each pass it steps every participant over
all its pending rounds and, when nobody can act now, moves block time with `clock` -- a `JumpClock` on a dev
chain (simulations, tests) or a `WaitClock` that waits for real blocks (`cl-client participate`).
`drive(participants, round_id, clock)` drives one round with single calls (`run_round` uses it).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .chain import ChainError, ContractError, Gateway, RoundInfo, _one_line
from .commitment import commitment, encode_labels, new_salt
from .data import fetch_queries
from .identity import binding
from .journal import COMMIT_DONE, REVEAL_DONE, TERMINAL_STATES, Journal, State
from .protocol import Phase, Status
from .strategies import Honest, Strategy, make_strategy
from .watcher import Watch, Watcher

__all__ = ["COMMIT_DONE", "REVEAL_DONE", "SUBMIT", "TERMINAL_STATES", "JumpClock", "Participant", "ParticipantError",
           "ProgressEvent", "State", "WaitClock", "drive", "drive_rounds"]

DEFAULT_JOURNAL_DIR = Path(os.environ.get("CL_JOURNAL_DIR", "~/.cl-client/journal")).expanduser()

FINALIZE_STAGGER_SECONDS = 5
"""Participants that wait for the reveal deadline wake 0-4 s after it (by address), so that live processes
do not all race to finalize in the same block; `step` itself always acts at once."""


class ParticipantError(RuntimeError):
    """The participant cannot go on safely (the message is one line, fit for a user)."""


@dataclass(frozen=True)
class ProgressEvent:
    """What a participant just did; `str(event)` is a one-line message (so `progress=print` works)."""

    round_id: int
    address: str
    state: State
    message: str
    tx_hash: str | None = None
    gas_used: int | None = None

    def __str__(self) -> str:
        return self.message


SUBMIT = "submit"
"""The journal's op name (gas, fees, tx) of a merged transaction (`Gateway.submit`)."""
KINDS = ("claim", "reveal", "commit")
"""The actions `submit` merges, in its order: the claim first, so its stake is in the free stake the commit locks."""


@dataclass(eq=False)
class _Action:
    """A transaction step this participant can take now in one round, prepared by `Participant._next` (a
    commit's labels and salt are already journaled PREPARED): `kind` is "claim", "reveal" or "commit"."""

    kind: str
    info: RoundInfo
    journal: Journal
    labels: bytes = b""
    salt: bytes = bytes(32)
    commitment: bytes = bytes(32)

    @property
    def round_id(self) -> int:
        return self.info.round_id


class Participant:
    """Drive one account (the gateway's) through rounds of the ConsensusLearning contract.

    Parameters
    ----------
    gateway : Gateway with an account (the participant's key).
    learner : fitted model with ``predict(X)`` (e.g. a fitted `Learner`); may be None if the strategy
        does not use a model (``strategy.uses_model`` is False).
    strategy : Strategy or strategy name, default Honest().
    journal_dir : where the per-round journals live (default $CL_JOURNAL_DIR or ~/.cl-client/journal).
    finalize : settle the round itself once it is finalizable (finalize it, or post its consensus), else wait for
        someone else to.
    settle : "finalize" (default): rounds that finalize() can take are finalized on chain; "post": every round
        without an audit is settled by a post (cheaper; claims wait for the challenge window). Optimistic-only
        rounds are always posted. Either way, live posts of the participant's rounds are checked and refuted.
    checked : the Watcher's memory of posts found honest, which in-process participants may share (cl_client.watcher).
    progress : callable receiving a ProgressEvent after each action.
    rng : numpy Generator or seed for strategies that draw random labels.
    """

    def __init__(self, gateway: Gateway, learner: Any = None, strategy: Strategy | str | None = None,
                 journal_dir: str | os.PathLike | None = None, *, finalize: bool = True,
                 progress: Callable[[ProgressEvent], None] | None = None, rng=None, poll_seconds: int = 2,
                 settle: str = "finalize", checked: dict | None = None):
        self.gateway = gateway
        self.learner = learner
        self.strategy = make_strategy(strategy) if isinstance(strategy, str) else (strategy or Honest())
        self.journal_dir = Path(journal_dir if journal_dir is not None else DEFAULT_JOURNAL_DIR).expanduser()
        self.finalize = bool(finalize)
        if settle not in ("finalize", "post"):
            raise ValueError(f"settle must be 'finalize' or 'post', not {settle!r}")
        self.settle = settle
        self.watcher = Watcher(gateway, propose=self.finalize, checked=checked)
        self.progress = progress
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.poll_seconds = max(1, int(poll_seconds))
        self.address = gateway.sender
        self._info: dict[int, RoundInfo] = {}
        self._last_state: dict[int, State] = {}

    def __repr__(self) -> str:
        return f"Participant({self.address}, {self.strategy.name})"

    # ------------------------------------------------------------------ public API

    def journal(self, round_id: int, info: RoundInfo | None = None) -> Journal:
        """This participant's journal for `round_id` (read from disk each time), bound to this chain and
        round (`identity.binding`). A journal of another chain or deployment raises JournalMismatch; a
        version-1 journal is used only if its commitment is the one on chain (then rewritten as version 2)."""
        gw, round_id = self.gateway, int(round_id)
        if info is None:
            info = self._info.get(round_id) or self._round(round_id)
        j = Journal.open(self.journal_dir, gw.chain_id, gw.address, round_id, self.address,
                         binding=binding(gw, info))
        if j.legacy:
            sub = gw.submission(round_id, self.address)
            j.verify_legacy(None if sub.status == Status.NONE else sub.hash)
        return j

    def step(self, round_id: int, queries=None) -> State:
        """Do the next action possible now (at the chain's block time) and return the state (see module doc).

        `queries`: the query matrix (its row count is checked), a local path / URI of the query file (its
        hash is checked), or None to fetch the file from the round's URI and check its on-chain hash.
        """
        state = self._step(int(round_id), queries)
        self._last_state[int(round_id)] = state
        return state

    def step_rounds(self, round_ids, queries=None, *, merge: bool = True, claim_alone: bool = True) -> dict[int, State]:
        """`step` over several live rounds of this participant at once; returns {round id: state}.

        Every round's next action is prepared as `step` would (the same rules; a commit's labels and salt
        journaled PREPARED before anything is sent); of those, at most one claim, one reveal and one commit
        (each the oldest round's) go in ONE `Gateway.submit` when two or more are ready (`merge`), in submit's
        order claim, reveal, commit. A lone action, any further one, and every action with `merge=False`
        are sent as their single calls. A commit into a full round or into a slot held by another unclaimed
        round than the one claimed with it is sent alone (Gateway.commit takes the seat / claims the slot).
        If the submit reverts or its fate is unknown and the chain shows nothing of it, the actions are sent
        one by one, with each single call's handling of its errors. With `claim_alone=False` a claim that
        cannot ride with a reveal or commit is not sent: its round returns FINALIZED (claimable).

        `queries`: as for `step`, or a mapping {round id: queries}."""
        rids = sorted({int(r) for r in round_ids})
        planned: list[_Action] = []
        states: dict[int, State] = {}
        for rid in rids:
            q = queries.get(rid) if isinstance(queries, dict) else queries
            nxt = self._next(rid, q)
            if nxt == State.FINALIZED:  # just finalized: its claim is ready in this same step
                nxt = self._next(rid, q)
            if isinstance(nxt, _Action):
                planned.append(nxt)
            else:
                states[rid] = nxt
        merged: list[_Action] = []
        if merge:
            first = {k: next((a for a in planned if a.kind == k), None) for k in KINDS}
            if first["commit"] is not None and not self._fits_submit(first["commit"], first["claim"]):
                first["commit"] = None
            merged = [a for a in first.values() if a is not None]
            if len(merged) < 2:
                merged = []
        if merged:
            states.update(self._send_merged(merged))
        for a in sorted((a for a in planned if a not in merged), key=lambda a: KINDS.index(a.kind)):
            if a.kind == "claim" and not claim_alone:
                states[a.round_id] = State.FINALIZED
            else:
                states[a.round_id] = self._send(a)
        for rid, state in states.items():
            self._last_state[rid] = state
        return {rid: states[rid] for rid in rids}

    def _fits_submit(self, commit: "_Action", claim: "_Action | None") -> bool:
        """Whether `submit` can take this commit: the round has a free seat and its submission slot is free
        (or held by the round claimed in the same transaction, which the claim empties first)."""
        gw, info = self.gateway, commit.info
        if info.commit_count >= gw.seat_count(info):
            return False
        held, busy = gw.slot_of(commit.round_id)
        return not busy or (claim is not None and int(held) == claim.round_id)

    def _send_merged(self, actions: list["_Action"]) -> dict[int, State]:
        """One `Gateway.submit` for these actions (different kinds, different rounds); each round's journal
        then records its step with the shared transaction's gas, fees and hash under op "submit"."""
        gw = self.gateway
        by = {a.kind: a for a in actions}
        claim, reveal, commit = by.get("claim"), by.get("reveal"), by.get("commit")
        try:
            receipt = gw.submit(claim.round_id if claim else 0, reveal.round_id if reveal else 0,
                                reveal.labels if reveal else b"", reveal.salt if reveal else bytes(32),
                                commit.round_id if commit else 0, commit.commitment if commit else bytes(32))
        except ChainError as exc:  # ContractError included: a step was refused, and nothing of the tx landed
            receipt = None
            if not isinstance(exc, ContractError) and self._submit_landed(claim, reveal, commit):
                return {a.round_id: self._finish(a, None) for a in actions}
            if self.progress is not None:
                rounds = ", ".join(f"{a.kind} {a.round_id}" for a in actions)
                self.progress(ProgressEvent(actions[0].round_id, self.address, self._last_state.get(
                    actions[0].round_id, State.NEW), f"submit ({rounds}) failed: {_one_line(exc)}; "
                    "sending them one by one"))
            return {a.round_id: self._send(a) for a in actions}  # in submit's order: claim, reveal, commit
        return {a.round_id: self._finish(a, receipt) for a in actions}

    def _submit_landed(self, claim, reveal, commit) -> bool:
        """After a submit whose fate is unknown: did it land? (It is all or nothing; one step tells.)"""
        gw = self.gateway
        if commit is not None:
            sub = gw.submission(commit.round_id, self.address)
            return sub.status != Status.NONE and sub.hash == commit.commitment
        if reveal is not None:
            return gw.submission(reveal.round_id, self.address).status == Status.REVEALED
        return gw.submission(claim.round_id, self.address).claimed

    def _finish(self, a: "_Action", receipt: dict | None) -> State:
        """Journal one step of a submit that landed (`receipt` None: landed, receipt unknown)."""
        if a.kind == "claim" and receipt is None:  # the amounts are in the Claimed events
            claimed = self.gateway.claim_of(a.round_id, self.address) or (None, None)
            a.journal.record(State.CLAIMED, reward=claimed[0], penalty=claimed[1])
            return State.CLAIMED
        return {"claim": self._finish_claim, "reveal": self._finish_reveal,
                "commit": self._finish_commit}[a.kind](a, receipt, SUBMIT)

    def run_round(self, round_id: int, queries=None, timeout: float | None = None,
                  on_wait: Callable[[State, int, int, int], None] | None = None) -> dict:
        """Step until the round is over for this participant, waiting on block time between actions.

        `drive([self], round_id, WaitClock(self.gateway, on_wait))`. `on_wait(state, start, target, now)` is
        called on every poll of a wait (block timestamps), e.g. to draw progress. Returns `summary(round_id)`.
        Raises ChainError if `timeout` wall seconds pass first.
        """
        drive([self], round_id, WaitClock(self.gateway, on_wait), queries=queries, timeout=timeout)
        return self.summary(round_id)

    def summary(self, round_id: int) -> dict:
        """Where this participant stands in `round_id`, from the chain and the journal."""
        gw, round_id = self.gateway, int(round_id)
        info = gw.round(round_id)
        sub = gw.submission(round_id, self.address)
        j = self.journal(round_id, info)
        reward, penalty = j.get("reward"), j.get("penalty")
        if sub.claimed and reward is None:
            reward, penalty = gw.claim_of(round_id, self.address) or (None, None)
        elif not sub.claimed and sub.status != Status.NONE:
            reward, penalty = gw.claimable(round_id, self.address)
        labels = j.labels
        return {
            "round_id": round_id,
            "address": self.address,
            "strategy": self.strategy.name,
            "state": self._last_state.get(round_id, j.state),
            "phase": info.phase.name.lower(),
            "status": sub.status.name.lower(),
            "stake": int(sub.stake),
            "num_queries": int(info.num_queries),
            "matches": int(sub.matches),
            "audit_hits": int(sub.audit_hits),
            "audit_count": int(info.audit_count),
            "labels": None if labels is None else list(labels),
            "reveal_error": j.get("reveal_error"),
            "claimed": bool(sub.claimed),
            "reward": int(reward or 0),
            "penalty": int(penalty or 0),
            "gas": dict(j.get("gas", {})),
            "fees": dict(j.get("fees", {})),
            "tx": dict(j.get("tx", {})),
        }

    # ------------------------------------------------------------------ the state machine

    def _round(self, round_id: int) -> RoundInfo:
        info = self.gateway.round(round_id)
        if info.phase == Phase.NONE:
            raise ParticipantError(f"round {round_id} does not exist on contract {self.gateway.address}")
        self._info[round_id] = info
        return info

    def _step(self, round_id: int, queries) -> State:
        nxt = self._next(round_id, queries)
        return self._send(nxt) if isinstance(nxt, _Action) else nxt

    def _next(self, round_id: int, queries) -> "State | _Action":
        """The state machine without the send: reconcile the journal with the chain, then return the state,
        or the commit / reveal / claim to send now as a prepared `_Action` (a commit's labels and salt are
        journaled PREPARED by then). A finalize is sent here (it is never merged)."""
        gw = self.gateway
        info = self._round(round_id)
        j = self.journal(round_id, info)
        sub = gw.submission(round_id, self.address)
        phase = info.phase

        if sub.claimed:
            if j.state != State.CLAIMED:
                j.record(State.CLAIMED)
            return State.DONE
        if sub.status == Status.NONE:
            if phase == Phase.COMMIT:
                return self._plan_commit(info, j, queries)
            if phase in (Phase.FINALIZED, Phase.FAILED) and j.state != State.MISSED:
                # Settled, and no record: its submission slot may have been reused by a later round after a
                # claim (ours, or Gateway.commit's, which claims a settled round holding the slot it needs).
                claimed = gw.claim_of(round_id, self.address)
                if claimed is not None:
                    if j.state != State.CLAIMED:
                        j.record(State.CLAIMED, reward=claimed[0], penalty=claimed[1])
                    return State.DONE
            if j.state != State.MISSED:
                j.record(State.MISSED)
                self._emit(round_id, State.MISSED, f"round {round_id}: commit phase over before "
                                               f"{self.address} committed (phase {phase.name.lower()})")
            return State.MISSED

        self._check_commitment(info, j, sub)
        if j.state == State.PREPARED:  # the commit landed, but we stopped before journaling it
            j.record(State.COMMITTED)
        if sub.status == Status.REVEALED and j.state == State.COMMITTED:  # likewise for the reveal
            j.record(State.REVEALED)
        if sub.status == Status.COMMITTED:
            if phase == Phase.COMMIT:
                return State.COMMITTED
            if phase == Phase.REVEAL:
                return self._plan_reveal(info, j)
            if j.state == State.COMMITTED:  # reveal window closed without a reveal
                j.record(State.NOT_REVEALED, reveal_error=j.get("reveal_error") or "reveal window closed")
        if phase == Phase.REVEAL:
            return State.REVEALED
        if phase == Phase.AUDIT:  # nothing to do while the requester may reveal its audit
            return State.REVEALED if sub.status == Status.REVEALED else State.NOT_REVEALED
        if phase == Phase.FINALIZABLE:
            return self._finalize(info, j)
        if phase == Phase.PROPOSED:
            return self._watch(info, j)
        return _Action("claim", info, j)  # FINALIZED or FAILED

    def _check_commitment(self, info: RoundInfo, j: Journal, sub) -> None:
        """The chain's commitment must be the journal's while a reveal is still possible."""
        if sub.status != Status.COMMITTED or info.phase not in (Phase.COMMIT, Phase.REVEAL):
            return
        if j.salt is None or j.commitment is None:
            raise ParticipantError(
                f"round {info.round_id}: {self.address} committed on chain but journal {j.path} has no salt "
                "for it, so it cannot reveal (was the journal deleted, or is the key used by another client?)")
        if sub.hash != j.commitment:
            raise ParticipantError(
                f"round {info.round_id}: the on-chain commitment 0x{sub.hash.hex()} of {self.address} is not "
                f"the one in journal {j.path} (0x{j.commitment.hex()}); is the key used by another client?")

    def _plan_commit(self, info: RoundInfo, j: Journal, queries) -> "_Action":
        """Prepare the commit: choose labels and salt and journal them PREPARED before anything is sent."""
        gw, round_id = self.gateway, info.round_id
        if j.labels is None:
            labels = self._choose_labels(info, queries)
            salt = new_salt()
            c = commitment(gw.chain_id, gw.address, round_id, self.address, labels, salt, info.num_classes)
            # Durable BEFORE the transaction is sent: a crash from here on never loses the salt.
            j.record(State.PREPARED, labels=labels, salt=salt, commitment=c, strategy=self.strategy.name)
        else:  # a previous attempt chose them (and may have sent them): reuse, never re-draw
            c = commitment(gw.chain_id, gw.address, round_id, self.address, j.labels, j.salt, info.num_classes)
            if c != j.commitment:
                raise ParticipantError(f"journal {j.path}: labels and salt do not match its commitment")
        return _Action("commit", info, j, commitment=c)

    def _send_commit(self, a: "_Action") -> State:
        gw, round_id, j = self.gateway, a.round_id, a.journal
        failure: ChainError | None = None
        try:
            receipt = gw.commit(round_id, a.commitment)
        except ContractError as exc:
            if exc.name not in ("AlreadyCommitted", "WrongPhase"):
                raise
            receipt, failure = None, exc
        except ChainError as exc:  # maybe it got in anyway: ask the chain
            receipt, failure = None, exc
        if receipt is None:
            sub = gw.submission(round_id, self.address)
            if sub.status == Status.NONE:
                if gw.phase(round_id) == Phase.COMMIT:
                    raise failure
                j.record(State.MISSED)
                self._emit(round_id, State.MISSED, f"round {round_id}: commit phase ended before the commit landed")
                return State.MISSED
            self._check_commitment(self._round(round_id), j, sub)
        return self._finish_commit(a, receipt, "commit")

    def _finish_commit(self, a: "_Action", receipt: dict | None, op: str) -> State:
        """Journal the commit that landed (`receipt` None: it is on chain, its receipt unknown)."""
        self._record_tx(a.journal, State.COMMITTED, op, receipt)
        self._emit(a.round_id, State.COMMITTED, f"round {a.round_id}: {self.address} committed "
                                            f"{a.info.num_queries} labels ({self.strategy.name}){_via(op)}", receipt)
        return State.COMMITTED

    def _choose_labels(self, info: RoundInfo, queries) -> bytes:
        q, k = info.num_queries, info.num_classes
        if self.strategy.uses_model:
            if self.learner is None:
                raise ParticipantError(f"strategy {self.strategy.name!r} needs a fitted model (learner=None)")
            X = self._queries(info, queries)
            predictions = np.asarray(self.learner.predict(X)).reshape(-1)
        else:
            predictions = np.zeros(q, dtype=np.int64)
        if len(predictions) != q:
            raise ParticipantError(f"round {info.round_id}: the model gave {len(predictions)} predictions for {q} queries")
        labels = np.asarray(self.strategy.labels(predictions, k, round_id=info.round_id, rng=self.rng)).reshape(-1)
        if len(labels) != q:
            raise ParticipantError(f"strategy {self.strategy.name!r} gave {len(labels)} labels for {q} queries")
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            bad = int(labels[(labels < 0) | (labels >= k)][0])
            raise ParticipantError(f"round {info.round_id}: label {bad} is not in 0..{k - 1} "
                                   f"(the round has K={k} classes; was the model trained on other labels?)")
        return encode_labels(labels.astype(np.int64), num_classes=k)

    def _queries(self, info: RoundInfo, queries) -> np.ndarray:
        if queries is None:
            X = fetch_queries(self.gateway.queries_uri(info.round_id), info.queries_hash)
        elif isinstance(queries, (str, os.PathLike)):
            X = fetch_queries(os.fspath(queries), info.queries_hash)
        else:
            X = np.asarray(queries)
        if X.ndim != 2 or len(X) != info.num_queries:
            raise ParticipantError(f"round {info.round_id} has {info.num_queries} queries, but the query "
                                   f"matrix has shape {X.shape}")
        return X

    def _reveal_at(self, info: RoundInfo) -> int:
        start = info.commit_deadline + 1
        window = info.reveal_deadline - start
        delay = min(max(float(self.strategy.reveal_delay), 0.0), 1.0)
        return start + int(delay * window)

    def _plan_reveal(self, info: RoundInfo, j: Journal) -> "State | _Action":
        """The reveal to send now, or the state if there is none (withheld, refused before, not yet time)."""
        gw, round_id = self.gateway, info.round_id
        if j.state == State.NOT_REVEALED:
            return State.NOT_REVEALED
        if not self.strategy.reveals:
            j.record(State.NOT_REVEALED, reveal_error=f"strategy {self.strategy.name!r} does not reveal")
            self._emit(round_id, State.NOT_REVEALED, f"round {round_id}: {self.address} withholds its reveal "
                                                 f"({self.strategy.name})")
            return State.NOT_REVEALED
        if gw.latest_timestamp() < self._reveal_at(info):
            return State.COMMITTED
        committed = np.frombuffer(j.labels, dtype=np.uint8).astype(np.int64)
        others = {}
        if self.strategy.needs_others:
            others = {a: v for a, v in gw.revealed(round_id).items() if a.lower() != self.address.lower()}
        labels = encode_labels(np.asarray(self.strategy.reveal_labels(committed, others)).reshape(-1),
                               num_classes=info.num_classes)
        return _Action("reveal", info, j, labels=labels, salt=j.salt)

    def _send_reveal(self, a: "_Action") -> State:
        gw, round_id, j = self.gateway, a.round_id, a.journal
        try:
            receipt = gw.reveal(round_id, a.labels, a.salt)
        except ContractError as exc:
            if exc.name == "AlreadyRevealed":
                receipt = None
            elif exc.name in ("CommitmentMismatch", "WrongLabelCount", "LabelOutOfRange", "LabelPaddingNotZero",
                              "WrongPhase"):
                j.record(State.NOT_REVEALED, reveal_error=str(exc))
                self._emit(round_id, State.NOT_REVEALED, f"round {round_id}: reveal refused: {exc}")
                return State.NOT_REVEALED
            else:
                raise
        except ChainError:
            if gw.submission(round_id, self.address).status != Status.REVEALED:
                raise
            receipt = None
        return self._finish_reveal(a, receipt, "reveal")

    def _finish_reveal(self, a: "_Action", receipt: dict | None, op: str) -> State:
        self._record_tx(a.journal, State.REVEALED, op, receipt)
        self._emit(a.round_id, State.REVEALED, f"round {a.round_id}: {self.address} revealed{_via(op)}", receipt)
        return State.REVEALED

    def _watch(self, info: RoundInfo, j: Journal) -> "State | _Action":
        """A live post: check it (refute it if wrong, then settle the round again); past its window, claim."""
        seen = self.watcher.step(info.round_id)
        if seen.watch == Watch.CONFIRMABLE:
            return _Action("claim", info, j)  # claim confirms the post first
        if seen.watch == Watch.REFUTED:
            self._emit(info.round_id, State.WATCHING, f"round {info.round_id}: {self.address} refuted a wrong post",
                       seen.receipts[-1] if seen.receipts else None)
            return self._next(info.round_id, None)
        return State.WATCHING

    def _posts(self, info: RoundInfo) -> bool:
        """Whether this participant settles the round by a post rather than by finalize."""
        return info.audit_count == 0 and (info.optimistic or self.settle == "post")

    def _finalize(self, info: RoundInfo, j: Journal) -> "State | _Action":
        gw, round_id = self.gateway, info.round_id
        if not self.finalize:
            return State.WAITING_FINALIZE
        if self._posts(info):
            seen = self.watcher.step(round_id)
            if seen.watch == Watch.UNPOSTED:
                return State.WAITING_FINALIZE
            if seen.watch == Watch.PROPOSED:
                self._emit(round_id, State.WATCHING, f"round {round_id}: {self.address} posted the consensus",
                           seen.receipts[-1])
            return self._next(round_id, None)
        try:
            receipt = gw.finalize(round_id)
        except ChainError:  # someone else may have finalized first (WrongPhase, or reverted on chain)
            if gw.phase(round_id) not in (Phase.FINALIZED, Phase.FAILED):
                raise
            return State.FINALIZED
        outcome = gw.phase(round_id)
        j.record(State.FINALIZED, outcome=outcome.name.lower(), **self._tx_fields(j, "finalize", receipt))
        self._emit(round_id, State.FINALIZED, f"round {round_id}: finalized by {self.address} "
                                          f"({outcome.name.lower()})", receipt)
        return State.FINALIZED

    def _send_claim(self, a: "_Action") -> State:
        gw, round_id, j = self.gateway, a.round_id, a.journal
        try:
            receipt = gw.claim(round_id)
        except ContractError as exc:
            if exc.name != "AlreadyClaimed":
                raise
            j.record(State.CLAIMED)
            return State.DONE
        except ChainError:
            if not gw.submission(round_id, self.address).claimed:
                raise
            j.record(State.CLAIMED)
            return State.DONE
        return self._finish_claim(a, receipt, "claim")

    def _finish_claim(self, a: "_Action", receipt: dict, op: str) -> State:
        reward, penalty = self.gateway.claimed_amounts(receipt)
        a.journal.record(State.CLAIMED, reward=reward, penalty=penalty, **self._tx_fields(a.journal, op, receipt))
        self._emit(a.round_id, State.CLAIMED, f"round {a.round_id}: {self.address} claimed: reward {reward} wei, "
                                          f"penalty {penalty} wei{_via(op)}", receipt)
        return State.CLAIMED

    def _send(self, a: "_Action") -> State:
        """Send one action as its single call (claim, reveal or commit), with that call's error handling."""
        return {"claim": self._send_claim, "reveal": self._send_reveal, "commit": self._send_commit}[a.kind](a)

    # ------------------------------------------------------------------ helpers

    def wake_at(self, round_id: int, state: State) -> int | None:
        """Block timestamp at which a participant in `state` (as returned by `step`) can act next
        (None: at once, or never for a terminal state). `drive` moves block time to the earliest of these."""
        if state in TERMINAL_STATES:
            return None
        info = self._info.get(round_id) or self._round(round_id)
        if state == State.COMMITTED:
            return max(info.commit_deadline + 1, self._reveal_at(info))
        if state in (State.REVEALED, State.NOT_REVEALED):
            stagger = int(self.address, 16) % FINALIZE_STAGGER_SECONDS
            if info.phase != Phase.AUDIT:
                return info.reveal_deadline + 1 + stagger
            # The requester may reveal its audit at any moment up to the audit deadline, which makes the round
            # finalizable: look again every poll_seconds.
            return min(info.audit_deadline + 1 + stagger, self.gateway.latest_timestamp() + self.poll_seconds)
        if state == State.WAITING_FINALIZE:
            return self.gateway.latest_timestamp() + self.poll_seconds
        if state == State.WATCHING:
            return self.gateway.post(round_id).challenge_ends + 1
        return None

    @staticmethod
    def _tx_fields(j: Journal, op: str, receipt: dict) -> dict:
        """The journal's gas / fees / tx maps with this receipt's under `op`. Op "submit" (a merged
        transaction, shared with the steps of other rounds) adds up: the gas and fees of every submit this
        round took a step in, and the list of their hashes."""
        gas = int(receipt["gasUsed"])
        price = int(receipt.get("effectiveGasPrice", 0) or 0)
        tx_hash: Any = _tx_hash(receipt)
        gas_map, fee_map, tx_map = dict(j.get("gas", {})), dict(j.get("fees", {})), dict(j.get("tx", {}))
        if op == SUBMIT:
            if tx_hash in tx_map.get(op, []):  # the same receipt again (a rerun of the finish): count it once
                return {"gas": gas_map, "fees": fee_map, "tx": tx_map}
            gas, fee, tx_hash = gas_map.get(op, 0) + gas, fee_map.get(op, 0) + gas * price, [*tx_map.get(op, []), tx_hash]
        else:
            fee = gas * price
        return {"gas": dict(gas_map, **{op: gas}), "fees": dict(fee_map, **{op: fee}), "tx": dict(tx_map, **{op: tx_hash})}

    def _record_tx(self, j: Journal, state: State, op: str, receipt: dict | None) -> None:
        j.record(state, **({} if receipt is None else self._tx_fields(j, op, receipt)))

    def _emit(self, round_id: int, state: State, message: str, receipt: dict | None = None) -> None:
        if self.progress is None:
            return
        tx_hash = gas = None
        if receipt is not None:
            tx_hash, gas = _tx_hash(receipt), int(receipt["gasUsed"])
        self.progress(ProgressEvent(round_id, self.address, state, message, tx_hash, gas))


def _via(op: str) -> str:
    return " (in one submit transaction)" if op == SUBMIT else ""


def _tx_hash(receipt: dict) -> str:
    """A receipt's transaction hash as 0x-hex, whatever form web3 returned it in."""
    h = receipt["transactionHash"]
    return "0x" + (h.hex() if isinstance(h, (bytes, bytearray)) else str(h)).removeprefix("0x")


# ---------------------------------------------------------------------------------------------- scheduler


class JumpClock:
    """Block time on a dev chain that can jump (`node.increase_time`): simulations and tests."""

    def __init__(self, node, gateway: Gateway):
        self.node, self.gateway = node, gateway

    def now(self) -> int:
        return self.gateway.latest_timestamp()

    def advance(self, target: int, state: State, timeout: float | None = None, round_id: int | None = None) -> None:
        """Mine a block whose timestamp is >= `target` (a block mined in the same second may lag by one)."""
        now = self.now()
        if now < target:
            self.node.increase_time(target - now)
        while self.now() < target:
            self.node.increase_time(1)


RECHECK_BLOCKS = 3
"""A participant waiting with its commit (reveal) on chain looks again every this many blocks while the commit
(reveal) phase lasts (`WaitClock`): a reorg that dropped it is then found, and the step sends it again from the
journal, even in a process that did not send it (a restart)."""


class WaitClock:
    """Block time on a real chain: wait for blocks (`Gateway.wait_for_timestamp`), showing the wait with
    `on_wait(state, start, target, now)` if given. A wait in state COMMITTED or REVEALED returns after at most
    `recheck_blocks` blocks (None: never early), so that `drive` steps the participant again (RECHECK_BLOCKS)."""

    def __init__(self, gateway: Gateway, on_wait: Callable[[State, int, int, int], None] | None = None,
                 recheck_blocks: int | None = RECHECK_BLOCKS):
        self.gateway, self.on_wait, self.recheck_blocks = gateway, on_wait, recheck_blocks
        self._shown: tuple[State, int, int] | None = None  # (state, target, start) of the wait on display
        self._reached: tuple[int, float] | None = None  # (block time a wait returned at, monotonic time then)
        self.round_id: int | None = None  # the round of the wait in progress (drive_rounds tells)

    def now(self) -> int:
        """The latest block's timestamp; within 1 s of the last look (a wait's or this one's), that one's."""
        if self._reached is not None and time.monotonic() - self._reached[1] < 1.0:
            return self._reached[0]
        now = self.gateway.latest_timestamp()
        self._reached = (now, time.monotonic())
        return now

    def advance(self, target: int, state: State, timeout: float | None = None, round_id: int | None = None) -> None:
        """Wait for block time `target` (see the class doc); `round_id` (the round waited on) is kept in
        `self.round_id` for `on_wait` to name."""
        self.round_id = round_id
        now = self.now()
        stop = target
        if self.recheck_blocks and state in (State.COMMITTED, State.REVEALED):
            stop = min(target, now + max(1, int(self.recheck_blocks * self.gateway.block_interval())))
        tick = None
        if self.on_wait is not None:
            if self._shown is None or self._shown[:2] != (state, target):  # one display per wait, across rechecks
                self._shown = (state, target, now)
            start = self._shown[2]
            tick = lambda now: self.on_wait(state, start, target, now)  # noqa: E731
        reached = self.gateway.wait_for_timestamp(stop, on_tick=tick, timeout=timeout)
        self._reached = (reached, time.monotonic())


def drive(participants, round_id: int, clock, *, done=TERMINAL_STATES, until: int | None = None, queries=None,
          timeout: float | None = None, on_done: Callable[[Participant, State], None] | None = None,
          max_passes: int | None = None) -> dict[str, list[State]]:
    """Step every participant through one round with single calls until each returns a state in `done`;
    move block time when nobody can act.

    Participants step in list order, one pass at a time (a copier placed last sees the others' reveals).
    After a pass, if someone can act at once it passes again; otherwise `clock.advance` moves block time to
    the earliest `wake_at` of those still pending, but never past `until` (the end of the phase being
    driven, if given). `on_done(participant, state)` is called when one reaches `done`. Returns each
    participant's states, in order, by address. Raises ChainError after `timeout` wall seconds, or after
    `max_passes` passes, naming who is stuck in which state. (`drive_rounds` with one round id and
    merge=False.)
    """
    round_id = int(round_id)
    history = drive_rounds(participants, [round_id], clock, done=done, until=until, queries=queries, timeout=timeout,
                           on_done=None if on_done is None else (lambda p, rid, state: on_done(p, state)),
                           max_passes=max_passes, merge=False, _one_step=True)
    return history[round_id]


def drive_rounds(participants, round_ids, clock, *, done=TERMINAL_STATES, until: int | None = None, queries=None,
                 timeout: float | None = None, on_done: Callable[[Participant, int, State], None] | None = None,
                 max_passes: int | None = None, merge: bool = True, claim_alone: bool = True,
                 discover: Callable[[bool], list[int]] | None = None,
                 discover_seconds: int = 2, _one_step: bool = False) -> dict[int, dict[str, list[State]]]:
    """The scheduler: step every participant over all its pending rounds each pass (`Participant.step_rounds`:
    with `merge`, the claim, reveal and commit ready at once go in one `submit`) until each round is in a state
    in `done` for each participant; move block time when nobody can act.

    `done`: a set of states, or {round id: set of states} (e.g. a settled round to claim, and the next round
    only to commit). `queries`: for every round, or {round id: queries}. `claim_alone` as in `step_rounds`
    (False: FINALIZED must be in that round's `done`). `on_done(participant, round_id, state)` is called when a
    round reaches `done` for a participant. `discover(block)`, if given, is called before every pass and
    returns new round ids to drive for every participant (`block`: nothing is pending, so it may wait for
    one; an empty answer then ends the drive; None: no more rounds will come, stop asking); while it is given,
    block time moves at most `discover_seconds`
    at a time. Otherwise as `drive`. Returns {round id: {address: [states]}}.
    """
    rounds = [int(r) for r in dict.fromkeys(round_ids)]
    history: dict[int, dict[str, list[State]]] = {}
    pending: dict[str, list[int]] = {p.address: [] for p in participants}
    started, passes = time.monotonic(), 0

    def add(rids) -> None:
        for rid in rids:
            if int(rid) in history:
                continue
            history[int(rid)] = {p.address: [] for p in participants}
            for p in participants:
                pending[p.address].append(int(rid))

    def done_of(rid: int):
        return done.get(rid, TERMINAL_STATES) if isinstance(done, dict) else done

    def stuck(why: str) -> ChainError:
        live = sorted({rid for rids in pending.values() for rid in rids})
        where = ", ".join(f"{p.address} {history[rid][p.address][-1]}" + (f" in round {rid}" if len(live) > 1 else "")
                          for p in participants for rid in pending[p.address])
        return ChainError(f"round{'s' if len(live) > 1 else ''} {', '.join(map(str, live))}: still {where} {why}")

    # While a wait is cut short only to look for new rounds (`discover`), the passes in between would repeat
    # the last one: they are skipped until a new round appears, the wait's own target is reached, or (on a
    # WaitClock) RECHECK_BLOCKS have passed, so a participant asks the node no more than it did per round.
    idle_until: int | None = None
    add(rounds)
    while True:
        fresh = False
        if discover is not None:
            before = sum(len(r) for r in pending.values())
            found = discover(not any(pending.values()))
            if found is None:  # no more rounds will come: wait as `drive` does
                discover = None
            else:
                add(found)
            fresh = sum(len(r) for r in pending.values()) != before
        if not any(pending.values()):
            return history
        if fresh or idle_until is None or clock.now() >= idle_until:
            idle_until = None
            for p in participants:
                rids = pending[p.address]
                if not rids:
                    continue
                q = {rid: (queries.get(rid) if isinstance(queries, dict) else queries) for rid in rids}
                if _one_step:  # `drive`: one action per round per pass, as it always was
                    states = {rid: p.step(rid, q[rid]) for rid in rids}
                else:
                    states = p.step_rounds(rids, q, merge=merge, claim_alone=claim_alone)
                for rid, state in states.items():
                    history[rid][p.address].append(state)
                    if state in done_of(rid):
                        rids.remove(rid)
                        if on_done is not None:
                            on_done(p, rid, state)
            passes += 1
            if not any(pending.values()):
                if discover is None:
                    return history
                continue
            if max_passes is not None and passes >= max_passes:
                raise stuck(f"after {passes} passes")
            waiting = [(p, rid) for p in participants for rid in pending[p.address]]
            wakes = [p.wake_at(rid, history[rid][p.address][-1]) for p, rid in waiting]
            if None in wakes:
                continue  # someone can act at once
        target = min(wakes)
        if until is not None:
            target = min(target, int(until))
        if discover is not None and clock.now() + max(1, int(discover_seconds)) < target:
            if idle_until is None:
                idle_until = target
                recheck = getattr(clock, "recheck_blocks", None)
                if recheck:
                    idle_until = min(idle_until, clock.now() + max(1, int(recheck * clock.gateway.block_interval())))
            target = clock.now() + max(1, int(discover_seconds))
        remaining = None if timeout is None else timeout - (time.monotonic() - started)
        if remaining is not None and remaining <= 0:  # the same words as a wait that runs out (Gateway)
            raise stuck(f"after {timeout:.0f} s: chain time {clock.now()} did not reach {target}")
        if target <= clock.now():
            if until is not None and min(wakes) > int(until):  # they wait past the phase being driven
                raise stuck(f"at the end of the driven phase ({until})")
            time.sleep(0.05)  # a wake time already reached: the next block is due
            continue
        p, rid = waiting[wakes.index(min(wakes))]
        clock.advance(target, history[rid][p.address][-1], timeout=remaining, round_id=rid)  # ChainError if time stands still
