"""The largest round: Q = MAX_QUERIES = 4096 with maxParticipants(4096) = 16 revealers and K = 256.
It must accept exactly 16 participants and finalize well inside a 30M-gas block."""
import random

import brownie
import pytest

from contract_helpers import (
    BLOCK_GAS_LIMIT,
    DEFAULTS,
    ETHER,
    MAX_QUERIES,
    assert_books,
    commit,
    err,
    finalize,
    open_round,
    plain,
    reveal,
    settle,
    submission,
    the_event,
    to_finalizable,
    to_reveal_phase,
)

Q, K, N = MAX_QUERIES, 256, 16


@pytest.fixture(scope="module")
def crowd(cl, accounts):
    """Sixteen participants with 1 ether each, plus a seventeenth."""
    members = list(accounts[2:2 + N + 1])
    for a in members:
        cl.deposit({"from": a, "value": ETHER})
    return members


@pytest.fixture(scope="module")
def big_round(cl, requester, crowd):
    """A Q = 4096, K = 256 round with the first sixteen committed to noisy copies of one label vector."""
    rng = random.Random(4096)
    truth = [rng.randrange(K) for _ in range(Q)]
    rid = open_round(cl, requester, Q, K, reward=ETHER)
    ballots = []
    for i, a in enumerate(crowd[:N]):
        accuracy = 0.3 + 0.04 * i
        labels = bytes(t if rng.random() < accuracy else rng.randrange(K) for t in truth)
        ballots.append(commit(cl, rid, a, labels))
    return rid, ballots


def test_max_participants_of_the_largest_batch_is_sixteen(cl):
    assert cl.maxParticipants(Q) == N


def test_seventeenth_participant_is_refused(cl, big_round, crowd):
    rid, _ = big_round
    with brownie.reverts(err("RoundFull", rid, N)):
        commit(cl, rid, crowd[N], bytes(Q))


def test_finalize_of_the_largest_round_fits_in_a_block(cl, requester, big_round):
    rid, ballots = big_round
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    tx = finalize(cl, rid, ballots, requester)
    assert tx.status == 1
    assert tx.gas_used < BLOCK_GAS_LIMIT
    model = settle(DEFAULTS, Q, K, ETHER, 0, {b.address: ETHER for b in ballots},
                   {b.address: b.labels for b in ballots})
    assert plain(cl.consensus(rid)) == model.consensus
    assert the_event(tx, "RoundFinalized")["agreedWeight"] == model.agreed_weight
    assert [submission(cl, rid, b.account)["matches"] for b in ballots] == [model.matches[b.address]
                                                                              for b in ballots]
    assert_books(cl)
