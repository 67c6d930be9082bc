"""The crowd rule's memory (issue 13: audit-aware colluders caught in >= 95 % of their participant-rounds at
G = 10). An address the crowd rule struck out in the last round that judged it (`struckOut`) is struck out
again by CROWD_REPEAT_STRIKES = 1 strike; a judged round it passes clears the mark; rounds without an audit
leave it. Without the memory, a pair struck out once passes the next round by lying together on one audit
query in ten (10 % < CROWD_STRIKE_BPS) -- the first test shows the same lie from a fresh pair passing.

Five revealers, G = 10 of Q = 20 audit queries, crowdBps 4000: a crowd is max(2, ceil(0.4 x 5)) = 2.
"""
import random

import pytest

from contract_helpers import (DEFAULTS, ETHER, Status, assert_books, audit_of, claim_all, events, play_round, settle,
                              submission)

Q, K, REWARD = 20, 4, ETHER
rng = random.Random(31)
TRUTH = bytes(rng.randrange(K) for _ in range(Q))
AUDIT10 = tuple(range(0, Q, 2))  # G = 10: the even queries


def lies(queries, shift: int = 1) -> bytes:
    """TRUTH with `queries` answered with the shared wrong label (t + shift) % K."""
    return bytes((t + shift) % K if i in queries else t for i, t in enumerate(TRUTH))


@pytest.fixture
def five(accounts):
    return list(accounts[10:15])


def one_round(cl, requester, votes, struck_before, audited=True):
    """Play a round (each voter deposits 1 ether first), check it against the oracle given the memory
    `struck_before` (a set of addresses), claim; returns (statuses, the oracle's new memory, finalize tx)."""
    for a, _ in votes:
        cl.deposit({"from": a, "value": ETHER})
    at_commit = {a.address: cl.reputationOf(a) for a, _ in votes}
    audit = audit_of(TRUTH, AUDIT10) if audited else None
    kwargs = {"params": DEFAULTS, "audit": audit} if audited else {"params": DEFAULTS}
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, REWARD, **kwargs)
    stakes = {b.address: submission(cl, rid, b.account)["stake"] for b in ballots}
    model = settle(DEFAULTS, Q, K, REWARD, 0, stakes, {b.address: b.labels for b in revealed},
                   audit=None if audit is None else audit.oracle(), reputations=at_commit,
                   struck_out=frozenset(struck_before))
    statuses = {a.address: submission(cl, rid, a)["status"] for a, _ in votes}
    assert statuses == model.status
    memory = set(struck_before)
    for a, struck in model.struck_out.items():
        (memory.add if struck else memory.discard)(a)
    for a, _ in votes:
        assert cl.struckOut(a) == (a.address in memory)
    got = claim_all(cl, rid, ballots)
    assert got == {a: (model.reward[a], model.penalty[a]) for a in stakes}
    assert_books(cl)
    return statuses, memory, tx


def test_a_pair_struck_out_once_is_struck_out_by_one_strike_until_it_answers_clean(cl, requester, five):
    honest, (dave, erin) = five[:3], five[3:]
    votes = lambda pair_labels: [(a, TRUTH) for a in honest] + [(dave, pair_labels), (erin, pair_labels)]  # noqa: E731
    pair = {dave.address, erin.address}
    assert cl.CROWD_REPEAT_STRIKES() == 1

    # Round 1: the pair lies together on 3 of 10 audit queries (30 % >= 25 %): struck out, and remembered.
    statuses, memory, tx = one_round(cl, requester, votes(lies(AUDIT10[:3])), set())
    assert [statuses[a] for a in pair] == [Status.EXCLUDED] * 2 and memory == pair
    assert {(e["participant"], e["struckOut"]) for e in events(tx, "StruckOut")} == {(a, True) for a in pair}

    # A round without an audit judges nobody: the memory stays (and no StruckOut event).
    statuses, memory, tx = one_round(cl, requester, votes(lies(AUDIT10[:3])), memory, audited=False)
    assert memory == pair and not events(tx, "StruckOut")

    # Round 3: one shared lie on an audit query (10 %, under the 25 % share) is one strike: the pair is struck
    # out again, while a fresh pair (Bob and Carol, never struck out) telling another shared lie passes.
    fresh = [(honest[0], TRUTH), (honest[1], lies({AUDIT10[5]}, 2)), (honest[2], lies({AUDIT10[5]}, 2))]
    statuses, memory, tx = one_round(cl, requester, fresh + [(dave, lies({AUDIT10[0]})), (erin, lies({AUDIT10[0]}))],
                                     memory)
    assert [statuses[a] for a in pair] == [Status.EXCLUDED] * 2
    assert statuses[honest[1].address] == statuses[honest[2].address] == Status.AGREED
    assert memory == pair and not events(tx, "StruckOut")  # unchanged marks emit nothing

    # Round 4: the pair answers every audit query right (its lies elsewhere): it passes and the mark clears.
    clean = lies({1, 3})  # odd queries only: not audited
    statuses, memory, tx = one_round(cl, requester, votes(clean), memory)
    assert statuses[dave.address] != Status.EXCLUDED and memory == set()
    assert {(e["participant"], e["struckOut"]) for e in events(tx, "StruckOut")} == {(a, False) for a in pair}
    assert not any(cl.struckOut(a) for a in five)


def test_the_memory_does_not_touch_the_reputation_it_shares_a_slot_with(cl, requester, five):
    """The mark lives in the top bit of the reputation word: reputationOf never shows it, and the reputation a
    struck-out address commits with (its tally weight) is its reputation alone."""
    honest, (dave, erin) = five[:3], five[3:]
    votes = [(a, TRUTH) for a in honest] + [(dave, lies(AUDIT10[:4])), (erin, lies(AUDIT10[:4]))]
    one_round(cl, requester, votes, set())
    assert cl.struckOut(dave) and cl.struckOut(erin)
    rep = cl.reputationOf(dave)
    assert cl.REPUTATION_FLOOR() <= rep <= 10_000 and rep < cl.REPUTATION_START()
