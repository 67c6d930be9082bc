"""A contract participant whose receive() calls back into claim / withdraw / claimRefund gains nothing,
and a participant that refuses payment cannot settle (TransferFailed) until it accepts it."""
import brownie
import pytest
from eth_utils import keccak

from contract_helpers import (
    ETHER,
    Ballot,
    assert_books,
    commitment_for,
    err,
    open_round,
    plain,
    reveal,
    submission,
    the_event,
    to_finalizable,
    to_reveal_phase,
)
from cl_client.commitment import new_salt

NONE, CLAIM, WITHDRAW, CLAIM_REFUND, REJECT = range(5)
REENTRANT_CALL = keccak(b"ReentrancyGuardReentrantCall()")[:4]


@pytest.fixture(scope="module")
def claimer(ReentrantClaimer, cl, owner):
    return ReentrantClaimer.deploy(cl, {"from": owner})


@pytest.fixture(scope="module")
def claimer_round(cl, requester, claimer, alice, bob):
    """A finalized round in which the claimer contract, Alice and Bob (1 ether each) all agreed."""
    labels = bytes([1, 0, 1])
    rid = open_round(cl, requester, 3, 2, reward=ETHER + 1)
    claimer.deposit({"from": alice, "value": ETHER})
    salt = new_salt()
    claimer.commit(rid, commitment_for(cl, rid, claimer.address, labels, salt), {"from": alice})
    ballots = []
    for a in (alice, bob):
        cl.deposit({"from": a, "value": ETHER})
        ballots.append(Ballot(a, labels))
        cl.commit(rid, commitment_for(cl, rid, a.address, labels, ballots[-1].salt), {"from": a})
    to_reveal_phase(cl, rid)
    claimer.reveal(rid, labels, salt, {"from": alice})
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    order = sorted([claimer.address, alice.address, bob.address], key=lambda x: int(x, 16))
    cl.finalize(rid, order, [labels] * 3, {"from": requester})
    return rid


def test_reentrant_claim_is_refused(cl, claimer, claimer_round, alice):
    claimer.setAttack(CLAIM, claimer_round, {"from": alice})
    claimer.claim(claimer_round, {"from": alice})
    assert (claimer.reentryAttempts(), claimer.reentrySuccesses()) == (1, 0)
    assert plain(claimer.lastReentryError()) == REENTRANT_CALL


def test_reentrant_claim_is_paid_exactly_once(cl, claimer, claimer_round, alice):
    share = plain(cl.claimable(claimer_round, claimer))[0]
    assert share == (ETHER + 1) // 3
    claimer.setAttack(CLAIM, claimer_round, {"from": alice})
    tx = claimer.claim(claimer_round, {"from": alice})
    assert claimer.received() == share
    assert claimer.balance() == share
    assert the_event(tx, "Claimed")["reward"] == share
    assert submission(cl, claimer_round, claimer)["claimed"] is True
    assert_books(cl)


def test_claim_after_a_reentrant_claim_reverts(cl, claimer, claimer_round, alice):
    claimer.setAttack(CLAIM, claimer_round, {"from": alice})
    claimer.claim(claimer_round, {"from": alice})
    with brownie.reverts(err("AlreadyClaimed", claimer_round, claimer)):
        claimer.claim(claimer_round, {"from": alice})


def test_reentrant_withdraw_is_refused_and_paid_once(cl, owner, claimer, alice):
    cl.setUnbondingDelay(0, {"from": owner})
    claimer.deposit({"from": alice, "value": ETHER})
    claimer.requestWithdrawal(ETHER, {"from": alice})
    claimer.setAttack(WITHDRAW, 0, {"from": alice})
    before = cl.balance()
    claimer.withdraw({"from": alice})
    assert (claimer.reentryAttempts(), claimer.reentrySuccesses()) == (1, 0)
    assert plain(claimer.lastReentryError()) == REENTRANT_CALL
    assert claimer.received() == ETHER
    assert before - cl.balance() == ETHER
    assert_books(cl)


def test_reentrant_claim_refund_is_refused_and_paid_once(cl, claimer, alice):
    tx = claimer.openRound(b"\x01" * 32, 2, 2, 60, 60, {"from": alice, "value": ETHER})
    rid = tx.events["RoundOpened"]["roundId"]
    to_finalizable(cl, rid)
    cl.finalize(rid, [], [], {"from": alice})
    claimer.setAttack(CLAIM_REFUND, rid, {"from": alice})
    claimer.claimRefund(rid, {"from": alice})
    assert (claimer.reentryAttempts(), claimer.reentrySuccesses()) == (1, 0)
    assert plain(claimer.lastReentryError()) == REENTRANT_CALL
    assert claimer.received() == ETHER
    assert_books(cl)


def test_claim_by_a_participant_refusing_payment_reverts(cl, claimer, claimer_round, alice):
    share = plain(cl.claimable(claimer_round, claimer))[0]
    claimer.setAttack(REJECT, 0, {"from": alice})
    with brownie.reverts(err("TransferFailed", claimer, share)):
        claimer.claim(claimer_round, {"from": alice})
    assert submission(cl, claimer_round, claimer)["claimed"] is False


def test_claim_succeeds_once_the_participant_accepts_payment(cl, claimer, claimer_round, alice):
    share = plain(cl.claimable(claimer_round, claimer))[0]
    claimer.setAttack(REJECT, 0, {"from": alice})
    with brownie.reverts():
        claimer.claim(claimer_round, {"from": alice})
    claimer.setAttack(NONE, 0, {"from": alice})
    claimer.claim(claimer_round, {"from": alice})
    assert claimer.received() == share
