"""The watcher: optimistic settlement's other half, in every client.

A post (`propose`) puts a round's consensus and every committer's match count on chain; nothing checks it but
its challengers. Every participant already holds every revealed label (the Revealed events), so the watcher
recomputes the honest post from them (`cl_client.optimistic.honest_post`, the one Python statement of the
plurality and the match counts) and, if the live post differs, refutes it at once with the proof
`optimistic.find_fraud` builds: a one-query proof spread over as many transactions as it needs, or a
one-revealer match-count proof. With `propose=True` it is also a keeper: it posts the honest consensus of a
round that nobody posted (it needs `bondOf(round)` of free stake; the bond comes back at confirm).

`Watcher.step(round_id)` does what is due and says what it saw (a `Watch`); `cl-client watch` runs it for
anyone, and `Participant` runs it for its own rounds.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable

from . import optimistic
from .chain import ChainError, ContractError, Gateway, Phase

_EMPTY_POST = (b"", [], b"")  # what propose takes for a round that missed quorum: it fails the round


class Watch(str, enum.Enum):
    """What one watcher step found (and did) in a round."""

    NOT_YET = "not-yet"  # before the end of the reveal (and audit) phase: nothing to check
    UNPOSTED = "unposted"  # finalizable, nobody posted (and this watcher does not post, or cannot afford it)
    ON_CHAIN = "on-chain"  # finalizable by finalize (a round with an audit): not the watcher's business
    PROPOSED = "proposed"  # this watcher posted the honest consensus
    HONEST = "honest"  # the live post is the honest one: wait for the window, then claim confirms it
    REFUTED = "refuted"  # the live post was wrong and this watcher refuted it
    CONFIRMABLE = "confirmable"  # the live post outlived its window (claim or confirm settles the round)
    SETTLED = "settled"  # finalized or failed

    __str__ = str.__str__


@dataclass(frozen=True)
class Seen:
    """A step's result: what was seen, the live post's window end (0 if none) and the transactions sent."""

    watch: Watch
    challenge_ends: int = 0
    receipts: tuple = ()


class Watcher:
    """Checks (and, with `propose`, makes) the posts of rounds through `gateway`.

    say : where one-line reports go (default: nowhere).
    max_proof_bytes : calldata budget of one challengeQuery transaction (geth's pool takes 128 KB).
    checked : where the posts found honest are remembered, {(contract, round): (serial, proposer)}; watchers
        that run in one process on one node (the simulation's participants) may share one dict, so that a post
        is recomputed once rather than once per participant (the result is the same: a pure function of the
        chain's events).
    """

    def __init__(self, gateway: Gateway, *, propose: bool = False, say: Callable[[str], None] | None = None,
                 max_proof_bytes: int = 120_000, checked: dict | None = None):
        self.gateway = gateway
        self.propose = bool(propose)
        self.say = say or (lambda line: None)
        self.max_proof_bytes = int(max_proof_bytes)
        self._honest: dict = {} if checked is None else checked

    # ------------------------------------------------------------------ what the round's events say

    def honest_post(self, round_id: int) -> optimistic.Post:
        """The post an honest proposer makes now, from the round's Committed, Evicted and Revealed events."""
        gw, info = self.gateway, self.gateway.round(round_id)
        return optimistic.honest_post(gw.committers(round_id), gw.revealed(round_id), gw.tally_weights(round_id),
                                      info.num_queries, info.num_classes)

    def check(self, round_id: int):
        """The fraud in round `round_id`'s live post (optimistic.QueryFraud / MatchFraud), or None if it is honest
        (or there is no live post)."""
        gw = self.gateway
        post = gw.post(round_id)
        if not post.live:
            return None
        made = gw.proposal(round_id, post.serial)
        if made is None:  # the node has not served the event yet
            raise ChainError(f"round {round_id}: post {post.serial} is live but its Proposed event is not visible "
                             "yet; try again")
        info, order = gw.round(round_id), gw.committers(round_id)
        return optimistic.find_fraud(made["consensus"], order, optimistic.matches_from_bytes(made["matches"]),
                                     gw.revealed(round_id), gw.tally_weights(round_id), info.num_queries,
                                     info.num_classes, max_proof_bytes=self.max_proof_bytes, committers=order)

    # ------------------------------------------------------------------ acting

    def step(self, round_id: int) -> Seen:
        """Check the round and do what is due: refute a wrong live post; with `propose`, post an unposted one."""
        gw, rid = self.gateway, int(round_id)
        info = gw.round(rid)
        if info.phase in (Phase.FINALIZED, Phase.FAILED):
            return Seen(Watch.SETTLED)
        if info.phase == Phase.PROPOSED:
            post = gw.post(rid)
            if gw.latest_timestamp() > post.challenge_ends:
                return Seen(Watch.CONFIRMABLE, post.challenge_ends)
            if self._honest.get((gw.address, rid)) == (post.serial, post.proposer):
                return Seen(Watch.HONEST, post.challenge_ends)
            fraud = self.check(rid)
            if fraud is None:
                self._honest[(gw.address, rid)] = (post.serial, post.proposer)
                self.say(f"round {rid}: post {post.serial} by {post.proposer} checked: honest")
                return Seen(Watch.HONEST, post.challenge_ends)
            return self.refute(rid, fraud, post.serial)
        if info.phase != Phase.FINALIZABLE:
            return Seen(Watch.NOT_YET)
        if info.audit_count:
            return Seen(Watch.ON_CHAIN)
        if not self.propose:
            return Seen(Watch.UNPOSTED)
        return self.post(rid)

    def post(self, round_id: int) -> Seen:
        """Send the honest post of a finalizable round (the round fails instead if it missed quorum)."""
        gw, rid = self.gateway, int(round_id)
        bond, free = gw.bond_of(rid), gw.account_info().free
        if free < bond:
            self.say(f"round {rid}: not posting: a post locks {bond} wei of free stake, {gw.sender} has {free}")
            return Seen(Watch.UNPOSTED)
        revealed = gw.revealed(rid)
        honest = self.honest_post(rid) if revealed else None
        args = _EMPTY_POST if honest is None else (honest.consensus_wire, list(honest.committers),
                                                   honest.matches_wire())
        try:
            receipt = gw.propose(rid, *args)
        except ContractError as exc:
            if exc.name == "WrongPhase":  # posted (or settled) by someone else first
                return self.step(rid)
            raise
        phase = gw.phase(rid)
        if phase == Phase.FAILED:
            self.say(f"round {rid}: missed quorum; failed by {gw.sender}")
            return Seen(Watch.SETTLED, 0, (receipt,))
        post = gw.post(rid)
        self._honest[(gw.address, rid)] = (post.serial, post.proposer)
        self.say(f"round {rid}: posted the consensus (post {post.serial}, bond {post.bond} wei, challengeable "
                 f"until {post.challenge_ends})")
        return Seen(Watch.PROPOSED, post.challenge_ends, (receipt,))

    def refute(self, round_id: int, fraud, serial: int) -> Seen:
        """Send the proof of `fraud` against post `serial`; stops early if the post falls to someone else's."""
        gw, rid = self.gateway, int(round_id)
        receipts = []
        try:
            if isinstance(fraud, optimistic.MatchFraud):
                made = gw.proposal(rid, serial)  # check() read it: the node shows it
                receipts.append(gw.challenge_matches(rid, fraud.address, fraud.labels_wire, made["consensus"]))
                what = f"{fraud.address}'s match count {fraud.posted_matches} (true {fraud.true_matches})"
            else:
                for batch in fraud.batches:
                    receipts.append(gw.challenge_query(rid, fraud.query, fraud.alt, fraud.consensus_chunk,
                                                       fraud.consensus_proof, batch))
                    now = gw.post(rid)
                    if now.serial != serial or not now.live:  # refuted (by this batch, or by someone else)
                        break
                what = (f"query {fraud.query}: posted label {fraud.posted}, {fraud.alt} outweighs it "
                        f"({len(fraud.records)} revealers in {len(receipts)} transaction(s))")
        except ContractError as exc:
            if exc.name == "WrongPhase" and gw.phase(rid) != Phase.PROPOSED or gw.post(rid).serial != serial:
                self.say(f"round {rid}: post {serial} was refuted by someone else first")
                return Seen(Watch.REFUTED, 0, tuple(receipts))
            raise
        post = gw.post(rid)
        if post.live and post.serial == serial:
            raise ChainError(f"round {rid}: the proof against post {serial} was sent but the post stands; the "
                             "client and the contract disagree on the rules (report this)")
        self.say(f"round {rid}: refuted post {serial}: {what}")
        return Seen(Watch.REFUTED, 0, tuple(receipts))


class Keeper:
    """A keeper as the scheduler (`participant.drive_rounds`) sees a participant: each step it posts the honest
    consensus of a finalizable round nobody posted, refutes a wrong live post, and confirms a post that outlived
    its window; a round is done for it once settled. It takes no part in the rounds themselves (it needs free
    stake for the bonds, not a seat)."""

    def __init__(self, gateway: Gateway, *, say: Callable[[str], None] | None = None, poll_seconds: int = 2,
                 checked: dict | None = None):
        self.gateway = gateway
        self.address = gateway.sender
        self.watcher = Watcher(gateway, propose=True, say=say, checked=checked)
        self.poll_seconds = max(1, int(poll_seconds))

    def step(self, round_id: int, queries=None):
        from .journal import State

        seen = self.watcher.step(round_id)
        if seen.watch == Watch.CONFIRMABLE:
            try:
                self.gateway.confirm(round_id)
            except ContractError as exc:
                if exc.name != "WrongPhase":  # confirmed by someone's claim first
                    raise
            return State.DONE
        if seen.watch in (Watch.SETTLED, Watch.ON_CHAIN):
            return State.DONE
        if seen.watch == Watch.REFUTED:
            return self.step(round_id)
        return State.WATCHING if seen.watch in (Watch.PROPOSED, Watch.HONEST) else State.WAITING_FINALIZE

    def step_rounds(self, round_ids, queries=None, *, merge: bool = True, claim_alone: bool = True) -> dict:
        return {int(rid): self.step(rid) for rid in round_ids}

    def wake_at(self, round_id: int, state) -> int | None:
        """When to look again: past the post's window while one is live, else at the end of the reveal (and
        audit) phase, or the next poll."""
        from .journal import TERMINAL_STATES, State

        if state in TERMINAL_STATES:
            return None
        gw = self.gateway
        if state == State.WATCHING:
            return gw.post(round_id).challenge_ends + 1
        info = gw.round(round_id)
        now = gw.latest_timestamp()
        settles_at = info.reveal_deadline + 1 if info.phase in (Phase.COMMIT, Phase.REVEAL) else info.audit_deadline + 1
        return settles_at if settles_at > now else now + self.poll_seconds
