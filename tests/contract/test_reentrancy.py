"""A contract participant / requester whose receive() calls back into ConsensusLearning gains nothing, and
one whose receive() reverts is never blocked (issue 13, audit item 8): claim credits free stake (no ETH is
sent, so receive() is never entered), and withdrawTo / claimRefundTo send its money elsewhere."""
import brownie
import pytest
from brownie import chain
from eth_utils import keccak

from contract_helpers import (
    DEFAULT_UNBONDING_DELAY,
    ETHER,
    Ballot,
    account,
    assert_books,
    commitment_for,
    err,
    open_round,
    pack_labels,
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
        ballots.append(Ballot(a, labels, num_classes=2))
        cl.commit(rid, commitment_for(cl, rid, a.address, labels, ballots[-1].salt), {"from": a})
    to_reveal_phase(cl, rid)
    claimer.reveal(rid, pack_labels(labels, 2), salt, {"from": alice})
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    order = sorted([claimer.address, alice.address, bob.address], key=lambda x: int(x, 16))
    cl.finalize(rid, order, [pack_labels(labels, 2)] * 3, {"from": requester})
    return rid


@pytest.fixture(scope="module")
def failed_requested(cl, claimer, alice):
    """A failed round (nobody committed) opened by the claimer contract with a 1 ether reward."""
    tx = claimer.openRound(b"\x01" * 32, 2, 2, 60, 60, {"from": alice, "value": ETHER})
    rid = tx.events["RoundOpened"]["roundId"]
    to_finalizable(cl, rid)
    cl.finalize(rid, [], [], {"from": alice})
    return rid


def test_claim_sends_no_eth_so_a_reentrant_receive_is_never_entered(cl, claimer, claimer_round, alice):
    claimer.setAttack(CLAIM, claimer_round, {"from": alice})
    share = plain(cl.claimable(claimer_round, claimer))[0]
    assert share == (ETHER + 1) // 3
    tx = claimer.claim(claimer_round, {"from": alice})
    assert (claimer.reentryAttempts(), claimer.received(), claimer.balance()) == (0, 0, 0)
    assert the_event(tx, "Claimed")["reward"] == share
    assert account(cl, claimer)["free"] == ETHER + share
    assert submission(cl, claimer_round, claimer)["claimed"] is True
    assert_books(cl)


def test_claim_after_a_claim_reverts(cl, claimer, claimer_round, alice):
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


def test_reentrant_claim_refund_is_refused_and_paid_once(cl, claimer, failed_requested, alice):
    claimer.setAttack(CLAIM_REFUND, failed_requested, {"from": alice})
    claimer.claimRefund(failed_requested, {"from": alice})
    assert (claimer.reentryAttempts(), claimer.reentrySuccesses()) == (1, 0)
    assert plain(claimer.lastReentryError()) == REENTRANT_CALL
    assert claimer.received() == ETHER
    assert_books(cl)


# ------------------------------------------------------------------------ a contract that cannot receive ETH


def test_participant_refusing_eth_can_still_claim(cl, claimer, claimer_round, alice):
    """v1: claim sent the share, so a reverting receive() kept the stake locked forever (TransferFailed)."""
    share = plain(cl.claimable(claimer_round, claimer))[0]
    claimer.setAttack(REJECT, 0, {"from": alice})
    tx = claimer.claim(claimer_round, {"from": alice})
    assert the_event(tx, "Claimed")["reward"] == share
    assert account(cl, claimer) == {"free": ETHER + share, "locked": 0, "unbonding": 0, "unbondingReadyAt": 0,
                                    "withdrawable": 0}


def test_participant_refusing_eth_withdraws_through_withdraw_to(cl, claimer, claimer_round, alice, carol):
    share = plain(cl.claimable(claimer_round, claimer))[0]
    claimer.setAttack(REJECT, 0, {"from": alice})
    claimer.claim(claimer_round, {"from": alice})
    claimer.requestWithdrawal(ETHER + share, {"from": alice})
    chain.sleep(DEFAULT_UNBONDING_DELAY + 1)
    with brownie.reverts(err("TransferFailed", claimer, ETHER + share)):
        claimer.withdraw({"from": alice})
    before = carol.balance()
    tx = claimer.withdrawTo(carol, {"from": alice})
    assert carol.balance() - before == ETHER + share
    assert the_event(tx, "Withdrawn") == {"participant": claimer.address, "amount": ETHER + share,
                                          "to": carol.address}
    assert_books(cl)


def test_requester_refusing_eth_takes_its_refund_through_claim_refund_to(cl, claimer, failed_requested, alice,
                                                                          carol):
    claimer.setAttack(REJECT, 0, {"from": alice})
    with brownie.reverts(err("TransferFailed", claimer, ETHER)):
        claimer.claimRefund(failed_requested, {"from": alice})
    before = carol.balance()
    tx = claimer.claimRefundTo(failed_requested, carol, {"from": alice})
    assert carol.balance() - before == ETHER
    assert the_event(tx, "RefundClaimed") == {"roundId": failed_requested, "requester": claimer.address,
                                              "amount": ETHER}
    assert_books(cl)


def test_claim_refund_to_by_someone_else_reverts(cl, failed_requested, carol):
    with brownie.reverts(err("NoRefund", failed_requested, carol)):
        cl.claimRefundTo(failed_requested, carol, {"from": carol})


def test_claim_refund_to_the_zero_address_reverts(cl, claimer, failed_requested, alice):
    with brownie.reverts(err("ZeroAddress")):
        claimer.claimRefundTo(failed_requested, brownie.ZERO_ADDRESS, {"from": alice})
