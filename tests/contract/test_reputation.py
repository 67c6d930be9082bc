"""Reputation (issue 13, deliverable 2): per address, updated at finalize towards the revealer's audit
accuracy when the round's audit was revealed (0 if excluded by the audit; a non-revealer towards 0; without
a revealed audit a revealer does not move), REPUTATION_RATE of the way per round, never below the floor;
a round's tally weight is stake x reputation at commit, and so is the weight admission compares.

The attack it answers: a Sybil army with more stake than the established participants, arriving fresh,
writes the consensus (v2 without reputation: the 4 fresh ETH below beat the 3 established ETH on every
query). Checked against tests/oracle.py's independent statement of the rule (reputations, consensus, scores).
"""
import brownie

from contract_helpers import (
    BPS,
    DEFAULTS,
    ETHER,
    Status,
    audit_of,
    err,
    events,
    open_round,
    play_round,
    plain,
    quick,
    commitment_for,
    settle,
    stakes_of,
    submission,
)
from cl_client.commitment import new_salt
from cl_client.protocol import LIMITS, next_reputation, reputation_score as client_score
from oracle import CONSTANTS, next_reputation as oracle_next, reputation_score

START, FLOOR, RATE = (CONSTANTS[k] for k in ("REPUTATION_START", "REPUTATION_FLOOR", "REPUTATION_RATE"))
Q, K = 20, 4
TRUTH = bytes(i % K for i in range(Q))  # M = 5
LIE = bytes((t + 1) % K for t in TRUTH)  # wrong everywhere
AUDIT = audit_of(TRUTH, [0, 7, 13])  # passed by TRUTH: score 10000


def test_the_constants_and_a_fresh_address(cl, alice, outsider):
    assert (cl.REPUTATION_START(), cl.REPUTATION_FLOOR(), cl.REPUTATION_RATE()) == (START, FLOOR, RATE)
    assert (LIMITS.reputation_start, LIMITS.reputation_floor, LIMITS.reputation_rate) == (START, FLOOR, RATE)
    assert FLOOR < START < BPS
    assert cl.reputationOf(outsider) == START  # never scored


def test_finalize_updates_every_committer_by_the_rule(cl, requester, staked):
    """With a revealed audit, passers move towards their audit accuracy (carol: 4 of 5), a non-revealer and
    an audit-excluded revealer towards 0; the events, the views and the oracle say the same."""
    alice, bob, carol, dave, erin = staked
    near = bytes((t + 1) % K if i < 2 else t for i, t in enumerate(TRUTH))  # 18 / 20
    audit = audit_of(TRUTH, [1, 2, 3, 5, 6])  # truth 1, 2, 3, 1, 2
    lazy = bytes(Q)  # all zeros: 5 matches = M; fails the audit (0 / 5 < 30 %)
    votes = [(alice, TRUTH), (bob, TRUTH), (carol, near), (dave, lazy), (erin, LIE)]
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, ETHER, reveal_mask=[1, 1, 1, 1, 0],
                                            params=DEFAULTS, audit=audit)
    model = settle(DEFAULTS, Q, K, ETHER, 0, stakes_of(cl, rid, ballots), {b.address: b.labels for b in revealed},
                   audit=audit.oracle())
    for b in ballots:
        assert submission(cl, rid, b.account)["reputation"] == START  # the snapshot at commit
    updates = {e["participant"]: (e["previous"], e["current"]) for e in events(tx, "ReputationUpdated")}
    assert set(updates) == {b.address for b in ballots}
    assert {a: cur for a, (_, cur) in updates.items()} == model.reputation
    assert all(prev == START for prev, _ in updates.values())
    assert model.status[dave.address] == Status.EXCLUDED and model.status[carol.address] == Status.AGREED
    want = {alice: oracle_next(START, BPS), bob: oracle_next(START, BPS),
            carol: oracle_next(START, reputation_score(4, 5)), dave: oracle_next(START, 0),
            erin: oracle_next(START, 0)}
    for who, value in want.items():
        assert cl.reputationOf(who) == value == model.reputation[who.address]
    assert cl.reputationOf(alice) == START + (BPS - START) * RATE // BPS  # 3700
    assert cl.reputationOf(erin) == START - START * RATE // BPS  # 700 (exact: no rounding)
    assert cl.reputationOf(carol) == START + (8_000 - START) * RATE // BPS  # audit accuracy 80 %, not 18 / 20
    # the client's statement of the rule agrees with the oracle's
    assert next_reputation(START, client_score(4, 5)) == cl.reputationOf(carol)


def test_without_an_audit_revealers_keep_their_reputation_and_non_revealers_lose(cl, requester, staked):
    """Agreement with the consensus is not evidence (a cartel holding the consensus would earn trust from it):
    without a revealed audit only the non-revealers move."""
    alice, bob, carol, dave, erin = staked
    votes = [(alice, TRUTH), (bob, TRUTH), (carol, TRUTH), (dave, LIE), (erin, TRUTH)]
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, ETHER, reveal_mask=[1, 1, 1, 1, 0])
    model = settle(DEFAULTS, Q, K, ETHER, 0, stakes_of(cl, rid, ballots), {b.address: b.labels for b in revealed})
    assert not model.failed and model.status[dave.address] == Status.DEVIATED
    updates = {e["participant"]: e["current"] for e in events(tx, "ReputationUpdated")}
    assert updates == model.reputation == {erin.address: oracle_next(START, 0)}
    assert [cl.reputationOf(a) for a in (alice, bob, carol, dave)] == [START] * 4
    assert client_score(0, 0) is None


def test_a_failed_round_updates_only_its_non_revealers(cl, requester, staked):
    alice, bob, carol, dave, erin = staked
    votes = [(a, TRUTH) for a in staked]
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, ETHER, reveal_mask=[1, 1, 0, 0, 0])
    assert "RoundFailed" in tx.events
    updates = {e["participant"]: e["current"] for e in events(tx, "ReputationUpdated")}
    assert updates == {a.address: oracle_next(START, 0) for a in (carol, dave, erin)}
    assert cl.reputationOf(alice) == cl.reputationOf(bob) == START  # revealers were not judged


def test_a_fresh_sybil_army_with_more_stake_cannot_outvote_established_participants(cl, requester, staked,
                                                                                        accounts):
    """Three participants pass three audited rounds perfectly (reputation 1000 -> 3700 -> 5590 -> 6913); then
    four fresh addresses with 1 ETH each (weight 4 x 1000) vote one lie against the three (3 x 6913) in a round
    without an audit: the consensus is the truth. Without reputation (every weight its stake: 4 ETH against 3)
    the lie wins every query."""
    alice, bob, carol, _dave, _erin = staked
    honest = [alice, bob, carol]
    rep = START
    for _ in range(3):
        rid, ballots, _, _ = play_round(cl, requester, [(a, TRUTH) for a in honest], Q, K, 0,  # stakes stay 1 ETH
                                        params=DEFAULTS, audit=AUDIT)
        for b in ballots:
            cl.claim(rid, {"from": b.account})
        rep = oracle_next(rep, BPS)
    assert [cl.reputationOf(a) for a in honest] == [rep] * 3 == [6913] * 3
    sybils = list(accounts)[8:12]
    for s in sybils:
        cl.deposit({"from": s, "value": ETHER})
    votes = [(a, TRUTH) for a in honest] + [(s, LIE) for s in sybils]
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, ETHER)
    stakes = stakes_of(cl, rid, ballots)
    assert sum(stakes[s.address] for s in sybils) > sum(stakes[a.address] for a in honest)  # more stake ...
    assert plain(cl.consensus(rid)) == TRUTH  # ... and still the truth
    reps = {b.address: submission(cl, rid, b.account)["reputation"] for b in ballots}
    model = settle(DEFAULTS, Q, K, ETHER, 0, stakes, {b.address: b.labels for b in revealed}, reputations=reps)
    assert model.consensus == TRUTH
    assert settle(DEFAULTS, Q, K, ETHER, 0, stakes, {b.address: b.labels for b in revealed}).consensus == LIE
    assert all(submission(cl, rid, s)["status"] == Status.DEVIATED for s in sybils)
    assert all(cl.reputationOf(s) == START for s in sybils)  # no audit: revealers keep their reputation


def test_admission_compares_stake_times_reputation(cl, requester, staked, accounts, owner):
    """At Q = 4096 a round seats 13. An established participant (reputation 3700 after one audited round) holds
    a seat with 1 ETH; a
    fresh address with 2 ETH (weight 2 x 1000 < 1 x 3700) cannot evict it, but can evict a fresh 1 ETH seat."""
    alice = staked[0]
    rid, ballots, _, _ = play_round(cl, requester, [(a, TRUTH) for a in staked[:3]], Q, K, 0, params=DEFAULTS,
                                    audit=AUDIT)
    cl.claim(rid, {"from": alice})  # its 1 ETH is free again (no reward)
    assert cl.reputationOf(alice) == 3700
    q = 4096
    rid = open_round(cl, requester, q, 2)
    seats = cl.maxParticipants(q)
    assert seats == 13
    fresh = [accounts.add() for _ in range(seats)]
    for m in fresh:
        owner.transfer(m, 3 * ETHER)
    quick(cl.commit, rid, commitment_for(cl, rid, alice.address, bytes(q), new_salt()), sender=alice)
    for m in fresh[:seats - 1]:
        cl.deposit({"from": m, "value": ETHER})
        cl.commit(rid, commitment_for(cl, rid, m.address, bytes(q), new_salt()), {"from": m})
    newcomer = fresh[seats - 1]
    cl.deposit({"from": newcomer, "value": 2 * ETHER})
    c = commitment_for(cl, rid, newcomer.address, bytes(q), new_salt())
    with brownie.reverts(err("NotEvictable", rid, alice.address, ETHER * 3700, 2 * ETHER * START)):
        cl.commitReplacing(rid, c, alice, {"from": newcomer})
    tx = cl.commitReplacing(rid, c, fresh[0], {"from": newcomer})
    assert tx.events["Evicted"]["victim"] == fresh[0]
    assert submission(cl, rid, alice)["status"] == Status.COMMITTED
