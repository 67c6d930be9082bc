"""reveal: effects, timing, every revert, and the label range check (including the partial last word)."""
import brownie
import pytest
from brownie import web3
from eth_abi import encode
from eth_utils import keccak

from conftest import STD_K, STD_Q, TRUTH
from oracle import oracle_labels_root
from contract_helpers import (
    CONSTANTS,
    ETHER,
    Phase,
    Status,
    commit,
    err,
    finalize_args,
    open_round,
    pack_labels,
    round_info,
    submission,
    the_event,
    transact_at,
)


def test_reveal_replaces_the_commitment_by_the_labels_root(cl, round_id, reveal_phase):
    alice = reveal_phase[0]
    cl.reveal(round_id, alice.wire, alice.salt, {"from": alice.account})
    assert submission(cl, round_id, alice.account) == {
        "hash": oracle_labels_root(alice.wire), "stake": ETHER, "matches": 0, "auditHits": 0,
        "status": Status.REVEALED, "claimed": False, "reputation": CONSTANTS["REPUTATION_START"]}


def test_reveal_counts_revealer_and_stake(cl, round_id, reveal_phase):
    for b in reveal_phase[:2]:
        cl.reveal(round_id, b.wire, b.salt, {"from": b.account})
    info = round_info(cl, round_id)
    assert (info["revealCount"], info["revealedStake"]) == (2, 2 * ETHER)


def test_reveal_emits_labels_and_salt(cl, round_id, reveal_phase):
    b = reveal_phase[0]
    tx = cl.reveal(round_id, b.wire, b.salt, {"from": b.account})
    assert the_event(tx, "Revealed") == {"roundId": round_id, "participant": b.address, "labels": b.wire,
                                         "salt": b.salt}


def test_reveal_at_the_last_second_of_the_reveal_phase_succeeds(cl, round_id, reveal_phase):
    b = reveal_phase[0]
    deadline = round_info(cl, round_id)["revealDeadline"]
    tx = transact_at(deadline, cl.reveal, round_id, b.wire, b.salt, sender=b.account)
    assert tx.status == 1
    assert submission(cl, round_id, b.account)["status"] == Status.REVEALED


def test_reveal_one_second_after_the_reveal_phase_reverts(cl, round_id, reveal_phase):
    b = reveal_phase[0]
    deadline = round_info(cl, round_id)["revealDeadline"]
    tx = transact_at(deadline + 1, cl.reveal, round_id, b.wire, b.salt, sender=b.account)
    assert tx.status == 0
    assert tx.revert_msg == err("WrongPhase", round_id, Phase.REVEAL, Phase.FINALIZABLE)


def test_finalize_at_the_last_second_of_the_reveal_phase_reverts(cl, round_id, requester, reveal_phase):
    deadline = round_info(cl, round_id)["revealDeadline"]
    tx = transact_at(deadline, cl.finalize, round_id, [], [], sender=requester)
    assert tx.status == 0
    assert tx.revert_msg == err("WrongPhase", round_id, Phase.FINALIZABLE, Phase.REVEAL)


def test_finalize_one_second_after_the_reveal_phase_succeeds(cl, round_id, requester, reveal_phase):
    deadline = round_info(cl, round_id)["revealDeadline"]
    tx = transact_at(deadline + 1, cl.finalize, round_id, *finalize_args(cl, round_id, []), sender=requester)
    assert tx.status == 1
    assert cl.phase(round_id) == Phase.FAILED  # nobody revealed


def test_reveal_in_the_commit_phase_reverts(cl, requester, reveal_phase, outsider):
    rid = open_round(cl, requester, STD_Q, STD_K)
    cl.deposit({"from": outsider, "value": ETHER})
    b = commit(cl, rid, outsider, TRUTH)
    with brownie.reverts(err("WrongPhase", rid, Phase.REVEAL, Phase.COMMIT)):
        cl.reveal(rid, b.wire, b.salt, {"from": outsider})


def test_reveal_in_unknown_round_reverts(cl, reveal_phase):
    b = reveal_phase[0]
    with brownie.reverts(err("UnknownRound", 9)):
        cl.reveal(9, b.wire, b.salt, {"from": b.account})


def test_reveal_without_commitment_reverts(cl, round_id, reveal_phase, outsider):
    b = reveal_phase[0]
    with brownie.reverts(err("NotCommitted", round_id, outsider)):
        cl.reveal(round_id, b.wire, b.salt, {"from": outsider})


def test_reveal_twice_reverts(cl, round_id, reveal_phase):
    b = reveal_phase[0]
    cl.reveal(round_id, b.wire, b.salt, {"from": b.account})
    with brownie.reverts(err("AlreadyRevealed", round_id, b.account)):
        cl.reveal(round_id, b.wire, b.salt, {"from": b.account})


WIRE = (STD_Q + 1) // 2  # the standard round's K packs its labels 4 bits each (test_packed_labels.py)


@pytest.mark.parametrize("length", [0, WIRE - 1, WIRE + 1, STD_Q])
def test_reveal_with_wrong_label_count_reverts(cl, round_id, reveal_phase, length):
    assert STD_K <= CONSTANTS["PACKED_MAX_CLASSES"]
    b = reveal_phase[0]
    with brownie.reverts(err("WrongLabelCount", length, WIRE)):
        cl.reveal(round_id, bytes(length), b.salt, {"from": b.account})


def test_reveal_with_other_labels_reverts(cl, round_id, reveal_phase):
    b = reveal_phase[0]
    other = bytes([(b.labels[0] + 1) % STD_K]) + b.labels[1:]
    with brownie.reverts(err("CommitmentMismatch", round_id, b.account)):
        cl.reveal(round_id, pack_labels(other, STD_K), b.salt, {"from": b.account})


def test_reveal_with_other_salt_reverts(cl, round_id, reveal_phase):
    b = reveal_phase[0]
    with brownie.reverts(err("CommitmentMismatch", round_id, b.account)):
        cl.reveal(round_id, b.wire, bytes(32), {"from": b.account})


def test_reveal_ignores_nonzero_abi_padding_after_the_labels(cl, round_id, reveal_phase):
    """The label check reads whole 32-byte words; bytes past Q in the last word must not count."""
    b = reveal_phase[0]
    selector = keccak(b"reveal(uint256,bytes,bytes32)")[:4]
    body = encode(["uint256", "bytes", "bytes32"], [round_id, b.wire, b.salt])
    assert body[-32:] == b.wire.ljust(32, b"\0")  # the labels' word is last; fill its padding with 0xff
    data = selector + body[:-32] + b.wire + b"\xff" * (32 - len(b.wire))
    txid = web3.eth.send_transaction({"from": b.address, "to": cl.address, "data": data, "gas": 500_000})
    assert web3.eth.wait_for_transaction_receipt(txid).status == 1
    assert submission(cl, round_id, b.account)["status"] == Status.REVEALED
