"""Participant: one address's lifecycle in a round -- commit, reveal, finalize, claim.

`step` is non-blocking: it looks at the chain (at its block time) and the journal, does the one action
possible now, and returns the resulting state. `run_round` loops over `step`, waiting on block time
between actions. Everything needed to resume is in the journal and on chain, so a participant restarted
after a crash at any point carries on: it never commits twice, never loses its salt, and still reveals
while the reveal window is open.

    p = Participant(gateway, Learner("knn").fit(X, y))
    summary = p.run_round(round_id)      # {"state": "claimed", "status": "agreed", "reward": ..., ...}

`step` returns a `State` (cl_client.journal.State, re-exported here; members are strings):
COMMITTED, REVEALED, NOT_REVEALED, WAITING_FINALIZE, FINALIZED, CLAIMED, DONE or MISSED. In a round with an
audit, REVEALED / NOT_REVEALED last through the Audit phase too (the requester reveals its audit then; the
participant has nothing to do and finalizes once the round is finalizable). `claim` credits the stake and the
reward to the free stake (no ETH is sent), so the next commit of the same address weighs more.

`drive(participants, round_id, clock)` is the one round scheduler: it steps every participant and, when
nobody can act now, moves block time with `clock` -- a `JumpClock` on a dev chain (simulations, tests) or
a `WaitClock` that waits for real blocks (the `cl-client participate` process, via `run_round`).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .chain import ChainError, ContractError, Gateway, RoundInfo
from .commitment import commitment, encode_labels, new_salt
from .data import fetch_queries
from .identity import binding
from .journal import COMMIT_DONE, REVEAL_DONE, TERMINAL_STATES, Journal, State
from .protocol import Phase, Status
from .strategies import Honest, Strategy, make_strategy

__all__ = ["COMMIT_DONE", "REVEAL_DONE", "TERMINAL_STATES", "JumpClock", "Participant", "ParticipantError",
           "ProgressEvent", "State", "WaitClock", "drive"]

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


class Participant:
    """Drive one account (the gateway's) through rounds of the ConsensusLearning contract.

    Parameters
    ----------
    gateway : Gateway with an account (the participant's key).
    learner : fitted model with ``predict(X)`` (e.g. a fitted `Learner`); may be None if the strategy
        does not use a model (``strategy.uses_model`` is False).
    strategy : Strategy or strategy name, default Honest().
    journal_dir : where the per-round journals live (default $CL_JOURNAL_DIR or ~/.cl-client/journal).
    finalize : finalize the round itself once it is finalizable (else wait for someone else to).
    progress : callable receiving a ProgressEvent after each action.
    rng : numpy Generator or seed for strategies that draw random labels.
    """

    def __init__(self, gateway: Gateway, learner: Any = None, strategy: Strategy | str | None = None,
                 journal_dir: str | os.PathLike | None = None, *, finalize: bool = True,
                 progress: Callable[[ProgressEvent], None] | None = None, rng=None, poll_seconds: int = 2):
        self.gateway = gateway
        self.learner = learner
        self.strategy = make_strategy(strategy) if isinstance(strategy, str) else (strategy or Honest())
        self.journal_dir = Path(journal_dir if journal_dir is not None else DEFAULT_JOURNAL_DIR).expanduser()
        self.finalize = bool(finalize)
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
                return self._commit(info, j, queries)
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
                return self._reveal(info, j)
            if j.state == State.COMMITTED:  # reveal window closed without a reveal
                j.record(State.NOT_REVEALED, reveal_error=j.get("reveal_error") or "reveal window closed")
        if phase == Phase.REVEAL:
            return State.REVEALED
        if phase == Phase.AUDIT:  # nothing to do while the requester may reveal its audit
            return State.REVEALED if sub.status == Status.REVEALED else State.NOT_REVEALED
        if phase == Phase.FINALIZABLE:
            return self._finalize(info, j)
        return self._claim(info, j)  # FINALIZED or FAILED

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

    def _commit(self, info: RoundInfo, j: Journal, queries) -> State:
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
        failure: ChainError | None = None
        try:
            receipt = gw.commit(round_id, c)
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
            j.record(State.COMMITTED)
        else:
            self._record_tx(j, State.COMMITTED, "commit", receipt)
        self._emit(round_id, State.COMMITTED, f"round {round_id}: {self.address} committed "
                                          f"{info.num_queries} labels ({self.strategy.name})", receipt)
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

    def _reveal(self, info: RoundInfo, j: Journal) -> State:
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
        try:
            receipt = gw.reveal(round_id, labels, j.salt)
        except ContractError as exc:
            if exc.name == "AlreadyRevealed":
                receipt = None
            elif exc.name in ("CommitmentMismatch", "WrongLabelCount", "LabelOutOfRange", "WrongPhase"):
                j.record(State.NOT_REVEALED, reveal_error=str(exc))
                self._emit(round_id, State.NOT_REVEALED, f"round {round_id}: reveal refused: {exc}")
                return State.NOT_REVEALED
            else:
                raise
        except ChainError:
            if gw.submission(round_id, self.address).status != Status.REVEALED:
                raise
            receipt = None
        if receipt is None:
            j.record(State.REVEALED)
        else:
            self._record_tx(j, State.REVEALED, "reveal", receipt)
        self._emit(round_id, State.REVEALED, f"round {round_id}: {self.address} revealed", receipt)
        return State.REVEALED

    def _finalize(self, info: RoundInfo, j: Journal) -> State:
        gw, round_id = self.gateway, info.round_id
        if not self.finalize:
            return State.WAITING_FINALIZE
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

    def _claim(self, info: RoundInfo, j: Journal) -> State:
        gw, round_id = self.gateway, info.round_id
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
        reward, penalty = gw.claimed_amounts(receipt)
        j.record(State.CLAIMED, reward=reward, penalty=penalty, **self._tx_fields(j, "claim", receipt))
        self._emit(round_id, State.CLAIMED, f"round {round_id}: {self.address} claimed: reward {reward} wei, "
                                        f"penalty {penalty} wei", receipt)
        return State.CLAIMED

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
        return None

    @staticmethod
    def _tx_fields(j: Journal, op: str, receipt: dict) -> dict:
        gas = int(receipt["gasUsed"])
        price = int(receipt.get("effectiveGasPrice", 0) or 0)
        return {
            "gas": dict(j.get("gas", {}), **{op: gas}),
            "fees": dict(j.get("fees", {}), **{op: gas * price}),
            "tx": dict(j.get("tx", {}), **{op: _tx_hash(receipt)}),
        }

    def _record_tx(self, j: Journal, state: State, op: str, receipt: dict) -> None:
        j.record(state, **self._tx_fields(j, op, receipt))

    def _emit(self, round_id: int, state: State, message: str, receipt: dict | None = None) -> None:
        if self.progress is None:
            return
        tx_hash = gas = None
        if receipt is not None:
            tx_hash, gas = _tx_hash(receipt), int(receipt["gasUsed"])
        self.progress(ProgressEvent(round_id, self.address, state, message, tx_hash, gas))


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

    def advance(self, target: int, state: State, timeout: float | None = None) -> None:
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

    def now(self) -> int:
        """The latest block's timestamp; within 1 s of the last look (a wait's or this one's), that one's."""
        if self._reached is not None and time.monotonic() - self._reached[1] < 1.0:
            return self._reached[0]
        now = self.gateway.latest_timestamp()
        self._reached = (now, time.monotonic())
        return now

    def advance(self, target: int, state: State, timeout: float | None = None) -> None:
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
    """Step every participant until each returns a state in `done`; move block time when nobody can act.

    Participants step in list order, one pass at a time (a copier placed last sees the others' reveals).
    After a pass, if someone can act at once it passes again; otherwise `clock.advance` moves block time to
    the earliest `wake_at` of those still pending, but never past `until` (the end of the phase being
    driven, if given). `on_done(participant, state)` is called when one reaches `done`. Returns each
    participant's states, in order, by address. Raises ChainError after `timeout` wall seconds, or after
    `max_passes` passes, naming who is stuck in which state.
    """
    round_id = int(round_id)
    history: dict[str, list[State]] = {p.address: [] for p in participants}
    pending = list(participants)
    started, passes = time.monotonic(), 0

    def stuck(why: str) -> ChainError:
        where = ", ".join(f"{p.address} {history[p.address][-1]}" for p in pending)
        return ChainError(f"round {round_id}: still {where} {why}")

    while True:
        for p in list(pending):
            state = p.step(round_id, queries)
            history[p.address].append(state)
            if state in done:
                pending.remove(p)
                if on_done is not None:
                    on_done(p, state)
        passes += 1
        if not pending:
            return history
        if max_passes is not None and passes >= max_passes:
            raise stuck(f"after {passes} passes")
        wakes = [p.wake_at(round_id, history[p.address][-1]) for p in pending]
        if None in wakes:
            continue  # someone can act at once
        target = min(wakes)
        if until is not None:
            target = min(target, int(until))
        remaining = None if timeout is None else timeout - (time.monotonic() - started)
        if remaining is not None and remaining <= 0:  # the same words as a wait that runs out (Gateway)
            raise stuck(f"after {timeout:.0f} s: chain time {clock.now()} did not reach {target}")
        if target <= clock.now():
            if until is not None and min(wakes) > int(until):  # they wait past the phase being driven
                raise stuck(f"at the end of the driven phase ({until})")
            time.sleep(0.05)  # a wake time already reached: the next block is due
            continue
        first = pending[wakes.index(min(wakes))]
        clock.advance(target, history[first.address][-1], timeout=remaining)  # ChainError if time stands still
