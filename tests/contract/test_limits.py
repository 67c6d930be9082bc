"""The largest round: Q = MAX_QUERIES = 4096 with maxParticipants(4096) = MAX_LABELS // 4096 = 13 revealers
and K = 256. It must accept exactly that many participants and finalize under EIP-7825's transaction cap
(the worst-case labels are test_gas_cap.py's; these are noisy copies of one vector)."""
import random

import brownie
import pytest

from contract_helpers import (
    BLOCK_GAS_LIMIT,
    DEFAULTS,
    ETHER,
    GAS_CAP,
    MAX_LABELS,
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

Q, K = MAX_QUERIES, 256
N = MAX_LABELS // MAX_QUERIES  # 13


@pytest.fixture(scope="module")
def crowd(cl, accounts):
    """N participants with 1 ether each, plus one more."""
    members = list(accounts[2:2 + N + 1])
    for a in members:
        cl.deposit({"from": a, "value": ETHER})
    return members


@pytest.fixture(scope="module")
def big_round(cl, requester, crowd):
    """A Q = 4096, K = 256 round with the first N committed to noisy copies of one label vector."""
    rng = random.Random(4096)
    truth = [rng.randrange(K) for _ in range(Q)]
    rid = open_round(cl, requester, Q, K, reward=ETHER)
    ballots = []
    for i, a in enumerate(crowd[:N]):
        accuracy = 0.3 + 0.04 * i
        labels = bytes(t if rng.random() < accuracy else rng.randrange(K) for t in truth)
        ballots.append(commit(cl, rid, a, labels))
    return rid, ballots


def test_max_participants_of_the_largest_batch_is_max_labels_over_q(cl):
    assert cl.maxParticipants(Q) == N


def test_one_participant_more_is_refused(cl, big_round, crowd):
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
    assert tx.gas_used < min(BLOCK_GAS_LIMIT, GAS_CAP)
    model = settle(DEFAULTS, Q, K, ETHER, 0, {b.address: ETHER for b in ballots},
                   {b.address: b.labels for b in ballots})
    assert plain(cl.consensus(rid)) == model.consensus
    assert the_event(tx, "RoundFinalized")["agreedWeight"] == model.agreed_weight
    assert [submission(cl, rid, b.account)["matches"] for b in ballots] == [model.matches[b.address]
                                                                              for b in ballots]
    assert_books(cl)
