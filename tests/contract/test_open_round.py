"""openRound: the round it creates, its event, the reward it holds, and every argument check."""
import brownie
import pytest

from contract_helpers import (
    DEFAULTS,
    ETHER,
    MAX_PHASE,
    MAX_QUERIES,
    MIN_PHASE,
    QHASH,
    UINT96_MAX,
    URI,
    Phase,
    assert_books,
    err,
    gas_cost,
    open_round,
    round_info,
    set_balance,
    the_event,
)


def test_round_ids_start_at_one_and_count_up(cl, requester):
    assert cl.openRound(QHASH, URI, 4, 2, 60, 60, {"from": requester}).return_value == 1
    assert open_round(cl, requester, 4, 2) == 2
    assert cl.roundCount() == 2


def test_open_round_emits_round_opened(cl, requester):
    tx = cl.openRound(QHASH, URI, 7, 3, 100, 200, {"from": requester, "value": 5})
    assert the_event(tx, "RoundOpened") == {
        "roundId": 1, "requester": requester.address, "queriesHash": QHASH, "queriesURI": URI,
        "numQueries": 7, "numClasses": 3, "commitDeadline": tx.timestamp + 100,
        "revealDeadline": tx.timestamp + 300, "reward": 5, "finalizerFee": 0}
    assert the_event(tx, "RoundTerms") == {"roundId": 1, "params": DEFAULTS.astuple(), "auditCount": 0,
                                           "auditDeadline": tx.timestamp + 300, "auditCommitment": bytes(32)}


def test_open_round_stores_the_round_with_frozen_defaults(cl, requester):
    tx = cl.openRound(QHASH, URI, 7, 3, 100, 200, {"from": requester, "value": 5})
    assert round_info(cl, 1) == {
        "requester": requester.address, "reward": 5, "finalizerFee": 0, "queriesHash": QHASH, "numQueries": 7,
        "numClasses": 3, "commitDeadline": tx.timestamp + 100, "revealDeadline": tx.timestamp + 300,
        "auditDeadline": tx.timestamp + 300, "auditCount": 0, "auditRevealed": False,
        "phase": Phase.COMMIT, "commitCount": 0, "revealCount": 0, "committedStake": 0, "revealedStake": 0,
        "pool": 0, "agreedWeight": 0, "refundable": False, "params": DEFAULTS.astuple(),
        "optimistic": False}


def test_open_round_holds_the_reward(cl, requester):
    before = requester.balance()
    tx = cl.openRound(QHASH, URI, 4, 2, 60, 60, {"from": requester, "value": ETHER})
    assert before - requester.balance() == ETHER + gas_cost(tx)
    assert assert_books(cl) == (0, ETHER, 0, 0, 0)


def test_open_round_without_reward_is_allowed(cl, requester):
    rid = open_round(cl, requester, 4, 2, reward=0)
    assert round_info(cl, rid)["reward"] == 0


def test_open_round_with_empty_queries_hash_reverts(cl, requester):
    with brownie.reverts(err("EmptyQueriesHash")):
        cl.openRound(b"\x00" * 32, URI, 4, 2, 60, 60, {"from": requester})


@pytest.mark.parametrize("q", [0, MAX_QUERIES + 1])
def test_open_round_with_query_count_out_of_range_reverts(cl, requester, q):
    with brownie.reverts(err("InvalidQueryCount", q, MAX_QUERIES)):
        cl.openRound(QHASH, URI, q, 2, 60, 60, {"from": requester})


@pytest.mark.parametrize("k", [0, 1, 257])
def test_open_round_with_class_count_out_of_range_reverts(cl, requester, k):
    with brownie.reverts(err("InvalidClassCount", k)):
        cl.openRound(QHASH, URI, 4, k, 60, 60, {"from": requester})


@pytest.mark.parametrize("duration", [MIN_PHASE - 1, MAX_PHASE + 1])
def test_open_round_with_commit_duration_out_of_bounds_reverts(cl, requester, duration):
    with brownie.reverts(err("InvalidDuration", duration, MIN_PHASE, MAX_PHASE)):
        cl.openRound(QHASH, URI, 4, 2, duration, 60, {"from": requester})


@pytest.mark.parametrize("duration", [MIN_PHASE - 1, MAX_PHASE + 1])
def test_open_round_with_reveal_duration_out_of_bounds_reverts(cl, requester, duration):
    with brownie.reverts(err("InvalidDuration", duration, MIN_PHASE, MAX_PHASE)):
        cl.openRound(QHASH, URI, 4, 2, 60, duration, {"from": requester})


@pytest.mark.parametrize("q,k,commit_s,reveal_s", [
    (1, 2, MIN_PHASE, MIN_PHASE), (MAX_QUERIES, 256, MAX_PHASE, MAX_PHASE)], ids=["lower", "upper"])
def test_open_round_at_the_argument_bounds_is_accepted(cl, requester, q, k, commit_s, reveal_s):
    tx = cl.openRound(QHASH, URI, q, k, commit_s, reveal_s, {"from": requester})
    info = round_info(cl, 1)
    assert (info["numQueries"], info["numClasses"]) == (q, k)
    assert info["revealDeadline"] == tx.timestamp + commit_s + reveal_s


@pytest.fixture
def whale(requester):
    """The requester holds more than 2^96 wei."""
    set_balance(requester.address, 2**97)
    return requester


def test_open_round_with_reward_above_uint96_reverts(cl, whale):
    with brownie.reverts(err("RewardTooLarge", UINT96_MAX + 1)):
        cl.openRound(QHASH, URI, 4, 2, 60, 60, {"from": whale, "value": UINT96_MAX + 1})


def test_open_round_with_the_largest_uint96_reward_is_accepted(cl, whale):
    rid = open_round(cl, whale, 4, 2, reward=UINT96_MAX)
    assert round_info(cl, rid)["reward"] == UINT96_MAX
    assert assert_books(cl) == (0, UINT96_MAX, 0, 0, 0)


@pytest.mark.parametrize("duration", [10, 12, 35])
def test_phases_shorter_than_three_slots_revert(cl, requester, duration):
    """v1 accepted 10 s (under one 12 s slot: committable only in the opening block); v2's minimum is 36 s."""
    assert MIN_PHASE == 36
    with brownie.reverts(err("InvalidDuration", duration, 36, MAX_PHASE)):
        cl.openRound(QHASH, URI, 4, 2, duration, 60, {"from": requester})
    with brownie.reverts(err("InvalidDuration", duration, 36, MAX_PHASE)):
        cl.openRound(QHASH, URI, 4, 2, 60, duration, {"from": requester})
