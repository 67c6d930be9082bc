"""Views: phase, getRound / getSubmission / getAccount of unknown things, consensus, consensusLabel,
maxParticipants. (claimable: test_claim.py; commitmentOf: test_commit.py; defaults: test_owner.py;
accounting: everywhere through assert_books.)"""
import brownie
import pytest
from brownie import ZERO_ADDRESS

from conftest import STD_K, STD_Q, TRUTH
from contract_helpers import (
    ETHER,
    MAX_PARTICIPANTS,
    MAX_QUERIES,
    Phase,
    Status,
    account,
    commit,
    err,
    finalize,
    open_round,
    plain,
    reveal,
    round_info,
    submission,
    to_finalizable,
    to_reveal_phase,
)


def test_phase_follows_the_round_through_its_life(cl, requester, finalized, staked, frank):
    rid = open_round(cl, requester, 2, 2)
    seen = [cl.phase(rid)]
    for a in staked[:3]:
        cl.deposit({"from": a, "value": ETHER})
    ballots = [commit(cl, rid, a, bytes([1, 0])) for a in staked[:3]]
    to_reveal_phase(cl, rid)
    seen.append(cl.phase(rid))
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    seen.append(cl.phase(rid))
    finalize(cl, rid, ballots, requester)
    seen.append(cl.phase(rid))
    assert seen == [Phase.COMMIT, Phase.REVEAL, Phase.FINALIZABLE, Phase.FINALIZED]
    assert round_info(cl, rid)["phase"] == Phase.FINALIZED


def test_phase_of_a_round_that_missed_quorum_is_failed(cl, requester, finalized):
    rid = open_round(cl, requester, 2, 2)
    to_finalizable(cl, rid)
    cl.finalize(rid, [], [], {"from": requester})
    assert cl.phase(rid) == Phase.FAILED


@pytest.mark.parametrize("rid", [0, 2, 2**256 - 1])
def test_phase_of_unknown_round_is_none(cl, finalized, rid):
    assert cl.phase(rid) == Phase.NONE


def test_get_round_of_unknown_round_is_empty(cl, finalized):
    assert round_info(cl, 2) == {
        "requester": ZERO_ADDRESS, "reward": 0, "finalizerFee": 0, "queriesHash": bytes(32), "numQueries": 0,
        "numClasses": 0, "commitDeadline": 0, "revealDeadline": 0, "auditDeadline": 0, "auditCount": 0,
        "auditRevealed": False, "phase": Phase.NONE, "commitCount": 0, "revealCount": 0, "committedStake": 0,
        "revealedStake": 0, "pool": 0, "agreedWeight": 0, "refundable": False,
        "params": (0, 0, 0, 0, 0, 0, 0, 0, False, 0), "optimistic": False}


def test_get_round_counts_commits_and_reveals(cl, round_id, finalized):
    info = round_info(cl, round_id)
    assert (info["commitCount"], info["revealCount"]) == (6, 5)
    assert (info["committedStake"], info["revealedStake"]) == (6 * ETHER, 5 * ETHER)


def test_get_submission_of_non_participant_is_empty(cl, round_id, finalized, outsider):
    assert submission(cl, round_id, outsider) == {"hash": bytes(32), "stake": 0, "matches": 0,
                                                  "auditHits": 0, "status": Status.NONE, "claimed": False,
                                                  "reputation": 0}


def test_get_account_of_stranger_is_empty(cl, finalized, outsider):
    assert account(cl, outsider) == {"free": 0, "locked": 0, "unbonding": 0, "unbondingReadyAt": 0, "withdrawable": 0}


def test_get_account_shows_stake_locked_until_claimed(cl, finalized, alice):
    assert account(cl, alice) == {"free": 0, "locked": ETHER, "unbonding": 0, "unbondingReadyAt": 0, "withdrawable": 0}


def test_audit_of_a_round_without_audit_is_empty(cl, round_id, finalized):
    assert plain(cl.audit(round_id)) == (b"", b"")


def test_consensus_label_reads_each_query(cl, round_id, finalized):
    assert [cl.consensusLabel(round_id, i) for i in range(STD_Q)] == list(TRUTH)


def test_consensus_label_past_the_last_query_reverts(cl, round_id, finalized):
    with brownie.reverts(err("QueryIndexOutOfRange", STD_Q, STD_Q)):
        cl.consensusLabel(round_id, STD_Q)


def test_consensus_of_a_large_batch_reads_back_whole(cl, owner, requester, finalized, staked):
    """Q = 300 crosses several 32-byte words of the SSTORE2 data."""
    q = 300
    labels = bytes((i * 31) % 7 for i in range(q))
    for a in staked[:3]:
        cl.deposit({"from": a, "value": ETHER})
    rid = open_round(cl, requester, q, 7)
    ballots = [commit(cl, rid, a, labels) for a in staked[:3]]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    finalize(cl, rid, ballots, requester)
    assert plain(cl.consensus(rid)) == labels
    assert cl.consensusLabel(rid, q - 1) == labels[-1]


def test_consensus_of_unknown_round_reverts(cl, finalized):
    with brownie.reverts(err("UnknownRound", 2)):
        cl.consensus(2)


def test_consensus_label_of_unknown_round_reverts(cl, finalized):
    with brownie.reverts(err("UnknownRound", 2)):
        cl.consensusLabel(2, 0)


@pytest.mark.parametrize("advance,phase", [(None, Phase.COMMIT), ("reveal", Phase.REVEAL),
                                           ("finalizable", Phase.FINALIZABLE)])
def test_consensus_before_finalization_reverts(cl, requester, finalized, advance, phase):
    rid = open_round(cl, requester, STD_Q, STD_K)
    if advance == "reveal":
        to_reveal_phase(cl, rid)
    elif advance == "finalizable":
        to_finalizable(cl, rid)
    with brownie.reverts(err("WrongPhase", rid, Phase.FINALIZED, phase)):
        cl.consensus(rid)
    with brownie.reverts(err("WrongPhase", rid, Phase.FINALIZED, phase)):
        cl.consensusLabel(rid, 0)


# By hand for MAX_LABELS = 53,248 (pinned in test_protocol_constants.py): 53248 // q, capped at 64.
@pytest.mark.parametrize("q,expected", [
    (0, MAX_PARTICIPANTS), (1, MAX_PARTICIPANTS), (832, MAX_PARTICIPANTS), (833, 63), (1024, 52), (2048, 26),
    (3000, 17), (MAX_QUERIES, 13)])
def test_max_participants_is_min_of_cap_and_label_budget(cl, q, expected):
    assert cl.maxParticipants(q) == expected
