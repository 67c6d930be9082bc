"""commit: effects, timing, every revert, and what a commitment is bound to."""
import brownie
import pytest
from brownie import chain
from eth_utils import keccak

from conftest import STD_K, STD_Q, TRUTH
from contract_helpers import (
    CONSTANTS,
    ETHER,
    Phase,
    Status,
    account,
    commit,
    commitment_for,
    err,
    num_classes,
    open_round,
    pack_labels,
    plain,
    reveal,
    round_info,
    submission,
    the_event,
    to_reveal_phase,
    transact_at,
    wire,
)
from cl_client.commitment import commitment, new_salt

MIN_STAKE = 10**16


def test_commit_locks_the_whole_free_stake(cl, round_id, alice):
    commit(cl, round_id, alice, TRUTH)
    assert account(cl, alice) == {"free": 0, "locked": ETHER, "unbonding": 0, "unbondingReadyAt": 0, "withdrawable": 0}


def test_commit_records_the_submission(cl, round_id, alice):
    ballot = commit(cl, round_id, alice, TRUTH)
    assert submission(cl, round_id, alice) == {
        "hash": commitment_for(cl, round_id, alice.address, TRUTH, ballot.salt), "stake": ETHER, "matches": 0,
        "auditHits": 0, "status": Status.COMMITTED, "claimed": False,
        "reputation": CONSTANTS["REPUTATION_START"]}  # a fresh address's, snapshotted


def test_commit_counts_participant_and_stake(cl, round_id, alice, bob):
    commit(cl, round_id, alice, TRUTH)
    commit(cl, round_id, bob, TRUTH)
    info = round_info(cl, round_id)
    assert (info["commitCount"], info["committedStake"]) == (2, 2 * ETHER)


def test_commit_emits_committed(cl, round_id, alice):
    c = keccak(b"anything non-zero")
    tx = cl.commit(round_id, c, {"from": alice})
    assert the_event(tx, "Committed") == {"roundId": round_id, "participant": alice.address, "commitment": c,
                                          "stake": ETHER, "reputation": CONSTANTS["REPUTATION_START"]}


def test_commit_at_the_last_second_of_the_commit_phase_succeeds(cl, round_id, alice):
    deadline = round_info(cl, round_id)["commitDeadline"]
    tx = transact_at(deadline, cl.commit, round_id, keccak(b"c"), sender=alice)
    assert tx.status == 1
    assert submission(cl, round_id, alice)["status"] == Status.COMMITTED


def test_commit_one_second_after_the_commit_phase_reverts(cl, round_id, alice):
    deadline = round_info(cl, round_id)["commitDeadline"]
    tx = transact_at(deadline + 1, cl.commit, round_id, keccak(b"c"), sender=alice)
    assert tx.status == 0
    assert tx.revert_msg == err("WrongPhase", round_id, Phase.COMMIT, Phase.REVEAL)


@pytest.mark.parametrize("rid", [0, 2])
def test_commit_to_unknown_round_reverts(cl, round_id, alice, rid):
    with brownie.reverts(err("UnknownRound", rid)):
        cl.commit(rid, keccak(b"c"), {"from": alice})


def test_commit_of_zero_commitment_reverts(cl, round_id, alice):
    with brownie.reverts(err("ZeroCommitment")):
        cl.commit(round_id, b"\x00" * 32, {"from": alice})


def test_commit_twice_reverts(cl, round_id, alice):
    commit(cl, round_id, alice, TRUTH)
    cl.deposit({"from": alice, "value": ETHER})
    with brownie.reverts(err("AlreadyCommitted", round_id, alice)):
        commit(cl, round_id, alice, TRUTH)


def test_commit_below_minimum_stake_reverts(cl, round_id, outsider):
    cl.deposit({"from": outsider, "value": MIN_STAKE - 1})
    with brownie.reverts(err("StakeBelowMinimum", MIN_STAKE - 1, MIN_STAKE)):
        commit(cl, round_id, outsider, TRUTH)


def test_commit_without_stake_reverts(cl, round_id, outsider):
    with brownie.reverts(err("StakeBelowMinimum", 0, MIN_STAKE)):
        commit(cl, round_id, outsider, TRUTH)


def test_commit_with_exactly_the_minimum_stake_succeeds(cl, round_id, outsider):
    cl.deposit({"from": outsider, "value": MIN_STAKE})
    commit(cl, round_id, outsider, TRUTH)
    assert submission(cl, round_id, outsider)["stake"] == MIN_STAKE


def test_stake_locked_in_one_round_cannot_be_committed_to_another(cl, requester, round_id, alice):
    other = open_round(cl, requester, STD_Q, STD_K)
    commit(cl, round_id, alice, TRUTH)
    with brownie.reverts(err("StakeBelowMinimum", 0, MIN_STAKE)):
        commit(cl, other, alice, TRUTH)


def test_new_deposit_can_be_committed_to_a_second_round(cl, requester, round_id, alice):
    other = open_round(cl, requester, STD_Q, STD_K)
    commit(cl, round_id, alice, TRUTH)
    cl.deposit({"from": alice, "value": 2 * ETHER})
    commit(cl, other, alice, TRUTH)
    assert submission(cl, other, alice)["stake"] == 2 * ETHER
    assert account(cl, alice)["locked"] == 3 * ETHER


# ------------------------------------------------------------------------ what a commitment is bound to


def test_commitment_of_equals_the_python_client_commitment(cl, round_id, alice):
    salt, k = new_salt(), num_classes(cl, round_id)
    assert k <= 16  # the labels travel packed: the client packs them as the contract unpacks them
    assert plain(cl.commitmentOf(round_id, alice, wire(cl, round_id, TRUTH), salt)) == commitment(
        chain.id, cl.address, round_id, alice.address, TRUTH, salt, k)


@pytest.fixture(scope="module")
def other_deployment(ConsensusLearning, owner):
    return ConsensusLearning.deploy({"from": owner})


SALT = bytes(range(32))
CHANGED_LABELS = bytes([1]) + TRUTH[1:]
CHANGED_SALT = bytes([SALT[0] ^ 1]) + SALT[1:]


@pytest.mark.parametrize("field", ["chain id", "contract", "round", "participant", "labels", "salt"])
def test_changing_any_bound_field_changes_the_commitment(cl, other_deployment, round_id, alice, bob, field):
    base = dict(chain_id=chain.id, contract=cl.address, round_id=round_id, participant=alice.address,
                labels=TRUTH, salt=SALT, num_classes=num_classes(cl, round_id))
    changed = dict(base)
    changed.update({"chain id": {"chain_id": chain.id + 1}, "contract": {"contract": other_deployment.address},
                    "round": {"round_id": round_id + 1}, "participant": {"participant": bob.address},
                    "labels": {"labels": CHANGED_LABELS}, "salt": {"salt": CHANGED_SALT}}[field])
    original = commitment(**base)
    assert plain(cl.commitmentOf(round_id, alice, wire(cl, round_id, TRUTH), SALT)) == original
    assert commitment(**changed) != original
    if field != "chain id":  # the chain id is not ours to change on-chain; the others are checked there too
        target = other_deployment if field == "contract" else cl
        on_chain = target.commitmentOf(changed["round_id"], changed["participant"],
                                       pack_labels(changed["labels"], changed["num_classes"]), changed["salt"])
        assert plain(on_chain) == commitment(**changed)


def test_commitment_replayed_by_another_address_cannot_be_revealed(cl, round_id, alice, bob):
    ballot = commit(cl, round_id, alice, TRUTH)
    copied = submission(cl, round_id, alice)["hash"]
    cl.commit(round_id, copied, {"from": bob})
    to_reveal_phase(cl, round_id)
    reveal(cl, round_id, [ballot])  # alice's labels and salt are now public
    with brownie.reverts(err("CommitmentMismatch", round_id, bob)):
        cl.reveal(round_id, ballot.wire, ballot.salt, {"from": bob})


def test_commitment_replayed_in_another_round_cannot_be_revealed(cl, requester, round_id, alice):
    other = open_round(cl, requester, STD_Q, STD_K)
    ballot = commit(cl, round_id, alice, TRUTH)
    cl.deposit({"from": alice, "value": ETHER})
    cl.commit(other, submission(cl, round_id, alice)["hash"], {"from": alice})
    to_reveal_phase(cl, other)
    with brownie.reverts(err("CommitmentMismatch", other, alice)):
        cl.reveal(other, ballot.wire, ballot.salt, {"from": alice})


def test_commitment_replayed_on_another_deployment_cannot_be_revealed(cl, other_deployment, requester, round_id,
                                                                       alice):
    ballot = commit(cl, round_id, alice, TRUTH)
    other_rid = open_round(other_deployment, requester, STD_Q, STD_K)
    assert other_rid == round_id
    other_deployment.deposit({"from": alice, "value": ETHER})
    other_deployment.commit(other_rid, submission(cl, round_id, alice)["hash"], {"from": alice})
    to_reveal_phase(other_deployment, other_rid)
    with brownie.reverts(err("CommitmentMismatch", other_rid, alice)):
        other_deployment.reveal(other_rid, ballot.wire, ballot.salt, {"from": alice})
