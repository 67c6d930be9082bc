"""A round that misses quorum: it fails, its reward is refundable to the requester, revealers get their
stake back untouched, non-revealers are slashed and their penalties BURNED (v2: never to a treasury), and
the finalize arrays are still checked (every committer)."""
import brownie
import pytest

from contract_helpers import (
    ETHER,
    by_address,
    events,
    finalize_args,
    Phase,
    Status,
    assert_books,
    ceil_penalty,
    err,
    finalize,
    gas_cost,
    open_round,
    quick,
    quick_commit,
    quick_reveal,
    submission,
    the_event,
    to_finalizable,
    to_reveal_phase,
)

REWARD = 3 * ETHER
SLASHED = 2 * ceil_penalty(ETHER, 2_000) + ceil_penalty(3 * ETHER, 2_000)


@pytest.fixture(scope="module")
def missed_quorum(cl, requester, staked, frank):
    """Frank holds 3 of the 8 committed ether; only Alice, Bob and Carol (3 ether) reveal. Finalizable."""
    quick(cl.deposit, sender=frank, value=2 * ETHER)
    rid = open_round(cl, requester, 2, 2, reward=REWARD)
    ballots = [quick_commit(cl, rid, a, bytes([1, 0])) for a in staked + [frank]]
    to_reveal_phase(cl, rid)
    quick_reveal(cl, rid, ballots[:3])
    to_finalizable(cl, rid)
    return rid, ballots


@pytest.fixture
def failed(cl, requester, missed_quorum):
    rid, ballots = missed_quorum
    finalize(cl, rid, ballots[:3], requester)
    return rid, ballots


def test_missed_quorum_fails_the_round(cl, requester, missed_quorum):
    rid, ballots = missed_quorum
    tx = finalize(cl, rid, ballots[:3], requester)
    assert cl.phase(rid) == Phase.FAILED
    assert the_event(tx, "RoundFailed") == {"roundId": rid, "revealedWeight": 3 * ETHER,
                                            "committedWeight": 8 * ETHER, "slashed": SLASHED}


def test_failed_round_burns_the_non_revealer_penalties(cl, requester, missed_quorum):
    rid, ballots = missed_quorum
    tx = finalize(cl, rid, ballots[:3], requester)
    assert the_event(tx, "Burned") == {"roundId": rid, "amount": SLASHED, "totalBurned": SLASHED}
    assert "TreasuryFunded" not in tx.events


def test_failed_round_emits_slashed_per_non_revealer(cl, requester, missed_quorum, frank):
    rid, ballots = missed_quorum
    tx = finalize(cl, rid, ballots[:3], requester)
    assert sorted(events(tx, "Slashed"), key=lambda e: int(e["participant"], 16)) == [
        {"roundId": rid, "participant": b.address, "penalty": ceil_penalty(3 * ETHER if b.account == frank
                                                                            else ETHER, 2_000),
         "status": Status.COMMITTED} for b in by_address(ballots[3:])]


def test_failed_round_still_checks_the_finalize_arrays(cl, requester, missed_quorum, outsider):
    """v1 ignored the arrays of a failing round; v2 checks them first (they name the slashed non-revealers)."""
    rid, ballots = missed_quorum
    with brownie.reverts(err("RevealerCountMismatch", 1, 6)):
        cl.finalize(rid, [outsider.address], [b"\x07"], {"from": requester})
    addresses, labels = finalize_args(cl, rid, ballots[:3])
    pairs = [(a, v) for a, v in zip(addresses, labels) if a != ballots[4].address] + [(outsider.address, b"")]
    pairs.sort(key=lambda p: int(p[0], 16))
    with brownie.reverts(err("NotACommitter", rid, outsider)):
        cl.finalize(rid, [p[0] for p in pairs], [p[1] for p in pairs], {"from": requester})
    assert cl.phase(rid) == Phase.FINALIZABLE


def test_failed_round_moves_the_reward_to_refunds(cl, requester, missed_quorum):
    rid, ballots = missed_quorum
    stake, rewards, refunds, burned, surplus = assert_books(cl)
    finalize(cl, rid, ballots[:3], requester)
    assert assert_books(cl) == (stake - SLASHED, rewards - REWARD, refunds + REWARD, burned + SLASHED, surplus)


def test_failed_round_has_no_consensus(cl, failed):
    rid, _ = failed
    with brownie.reverts(err("WrongPhase", rid, Phase.FINALIZED, Phase.FAILED)):
        cl.consensus(rid)


def test_revealer_of_a_failed_round_is_not_slashed(cl, failed):
    rid, ballots = failed
    tx = cl.claim(rid, {"from": ballots[0].account})
    assert the_event(tx, "Claimed") == {"roundId": rid, "participant": ballots[0].address, "reward": 0,
                                        "penalty": 0}
    assert submission(cl, rid, ballots[0].account)["status"] == Status.REVEALED
    assert cl.getAccount(ballots[0].account)[0] == ETHER


def test_non_revealer_of_a_failed_round_is_slashed(cl, failed, frank):
    rid, _ = failed
    tx = cl.claim(rid, {"from": frank})
    assert the_event(tx, "Claimed") == {"roundId": rid, "participant": frank.address, "reward": 0,
                                        "penalty": ceil_penalty(3 * ETHER, 2_000)}
    assert cl.getAccount(frank)[0] == 3 * ETHER - ceil_penalty(3 * ETHER, 2_000)


def test_everyone_settling_a_failed_round_leaves_only_the_burned_penalties(cl, requester, failed, staked, frank):
    rid, _ = failed
    for a in staked + [frank]:
        cl.claim(rid, {"from": a})
    cl.claimRefund(rid, {"from": requester})
    assert assert_books(cl) == (8 * ETHER - SLASHED, 0, 0, SLASHED, 0)


# ------------------------------------------------------------------------ claimRefund


def test_claim_refund_returns_the_reward_to_the_requester(cl, requester, failed):
    rid, _ = failed
    before = requester.balance()
    tx = cl.claimRefund(rid, {"from": requester})
    assert requester.balance() - before == REWARD - gas_cost(tx)
    assert the_event(tx, "RefundClaimed") == {"roundId": rid, "requester": requester.address, "amount": REWARD}


def test_claim_refund_settles_refunds_owed(cl, requester, failed):
    rid, _ = failed
    stake, rewards, refunds, burned, surplus = assert_books(cl)
    cl.claimRefund(rid, {"from": requester})
    assert assert_books(cl) == (stake, rewards, refunds - REWARD, burned, surplus)


def test_claim_refund_twice_reverts(cl, requester, failed):
    rid, _ = failed
    cl.claimRefund(rid, {"from": requester})
    with brownie.reverts(err("NoRefund", rid, requester)):
        cl.claimRefund(rid, {"from": requester})


def test_claim_refund_by_someone_else_reverts(cl, failed, alice):
    rid, _ = failed
    with brownie.reverts(err("NoRefund", rid, alice)):
        cl.claimRefund(rid, {"from": alice})


def test_claim_refund_before_finalization_reverts(cl, requester, missed_quorum):
    rid, _ = missed_quorum
    with brownie.reverts(err("NoRefund", rid, requester)):
        cl.claimRefund(rid, {"from": requester})


def test_claim_refund_of_failed_round_without_reward_reverts(cl, requester, missed_quorum):
    rid = open_round(cl, requester, 1, 2, reward=0)
    to_finalizable(cl, rid)
    cl.finalize(rid, [], [], {"from": requester})
    with brownie.reverts(err("NoRefund", rid, requester)):
        cl.claimRefund(rid, {"from": requester})
