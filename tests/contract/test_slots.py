"""Recycled submission slots (issue 14): round r uses a participant's slot r % SUBMISSION_SLOTS, reused once
the round it holds is claimed. A steady participant's commit then overwrites two words of its own instead
of writing two fresh ones (2 x 22,100 gas)."""
import brownie
import pytest

from contract_helpers import (
    CONSTANTS,
    ETHER,
    Status,
    commit,
    err,
    finalize,
    open_round,
    reveal,
    submission,
    to_finalizable,
    to_reveal_phase,
)

SLOTS = CONSTANTS["SUBMISSION_SLOTS"]
Q, K = 8, 4
LABELS = bytes([0, 1, 2, 3, 0, 1, 2, 3])


def _open_until(cl, requester, rid):
    """Open rounds until round `rid` exists; returns it."""
    while cl.roundCount() < rid:
        open_round(cl, requester, Q, K)
    return rid


@pytest.fixture(scope="module")
def settled(cl, requester, voters):
    """Round A played by every voter and finalized (nobody claimed); returns A."""
    for v in voters:
        cl.deposit({"from": v, "value": ETHER})
    a = open_round(cl, requester, Q, K, reward=ETHER)
    ballots = [commit(cl, a, v, LABELS) for v in voters]
    to_reveal_phase(cl, a)
    reveal(cl, a, ballots)
    to_finalizable(cl, a)
    finalize(cl, a, ballots, requester)
    return a


def test_a_commit_reuses_the_slot_of_a_claimed_round_and_costs_less_than_a_fresh_slot(cl, requester, voters,
                                                                                      settled):
    alice, bob = voters[0], voters[1]
    fresh_rid = _open_until(cl, requester, settled + 1)  # slot (A + 1) % SLOTS: never used
    cl.claim(settled, {"from": bob})
    fresh = cl.commit(fresh_rid, b"\x01" * 32, {"from": bob})
    cl.claim(settled, {"from": alice})
    rid = _open_until(cl, requester, settled + SLOTS)  # slot A % SLOTS: A's, claimed
    assert tuple(cl.slotOf(alice, rid)) == (settled, False)
    reused = cl.commit(rid, b"\x02" * 32, {"from": alice})
    assert submission(cl, rid, alice)["status"] == Status.COMMITTED
    assert submission(cl, rid, alice)["matches"] == 0 and not submission(cl, rid, alice)["claimed"]
    assert submission(cl, settled, alice)["status"] == Status.NONE  # the history is in the events now
    # two words at 5,000 instead of 22,100 each
    assert fresh.gas_used - reused.gas_used >= 30_000, (fresh.gas_used, reused.gas_used)


def test_a_commit_into_a_slot_holding_an_unclaimed_round_reverts_until_it_is_claimed(cl, requester, voters,
                                                                                    settled):
    alice = voters[0]
    rid = _open_until(cl, requester, settled + SLOTS)
    cl.deposit({"from": alice, "value": ETHER})
    assert tuple(cl.slotOf(alice, rid)) == (settled, True)
    with brownie.reverts(err("SubmissionSlotBusy", rid, settled)):
        cl.commit(rid, b"\x01" * 32, {"from": alice})
    cl.claim(settled, {"from": alice})
    cl.commit(rid, b"\x01" * 32, {"from": alice})
    with brownie.reverts(err("NothingToClaim", settled, alice.address)):  # claimed, and its slot reused
        cl.claim(settled, {"from": alice})


def test_an_open_round_holds_its_slot(cl, requester, voters):
    """A round not yet settled cannot be claimed, so a commit that needs its slot waits for it."""
    alice = voters[0]
    cl.deposit({"from": alice, "value": 2 * ETHER})
    a = open_round(cl, requester, Q, K)
    cl.commit(a, b"\x01" * 32, {"from": alice})
    cl.deposit({"from": alice, "value": ETHER})
    rid = _open_until(cl, requester, a + SLOTS)
    with brownie.reverts(err("SubmissionSlotBusy", rid, a)):
        cl.commit(rid, b"\x02" * 32, {"from": alice})
    assert tuple(cl.slotOf(alice, a + 1)) == (0, False)  # the neighbouring slot is free
