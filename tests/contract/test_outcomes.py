"""Whole rounds of different shapes, checked against the reference model (contract_helpers.settle):
ties, stake vs equal weights, quorum failures, a single revealer, nobody agreeing (refund), K = 2 / 256, Q = 1.
(v1's treasury bonus tests are gone with the treasury; test_attacks.py shows nothing flows to a next round.)"""
import random

import pytest

from contract_helpers import (
    claim_all,
    stakes_of,
    DEFAULTS,
    ETHER,
    Phase,
    gas_cost,
    assert_books,
    ceil_penalty,
    open_round,
    plain,
    play_round,
    settle,
    submission,
    the_event,
    to_finalizable,
)


def set_defaults(cl, owner, **changes):
    params = DEFAULTS.replace(**changes)
    cl.setDefaults(params.astuple(), {"from": owner})
    return params


# ------------------------------------------------------------------------ plurality


def test_tie_goes_to_the_smallest_label(cl, requester, staked):
    alice, bob, carol, dave = staked[:4]
    votes = [(alice, bytes([4, 3, 2])), (bob, bytes([4, 2, 2])), (carol, bytes([1, 1, 3])),
             (dave, bytes([1, 0, 3]))]
    rid, *_ = play_round(cl, requester, votes, q=3, k=5, reward=ETHER)
    assert plain(cl.consensus(rid)) == bytes([1, 0, 2])


def test_heavier_stake_outweighs_more_revealers(cl, requester, staked):
    alice, bob, carol = staked[:3]
    cl.deposit({"from": alice, "value": 2 * ETHER})  # 3 ether against 1 + 1
    votes = [(alice, bytes([4])), (bob, bytes([1])), (carol, bytes([1]))]
    rid, *_ = play_round(cl, requester, votes, q=1, k=5, reward=ETHER)
    assert plain(cl.consensus(rid)) == bytes([4])


def test_equal_weights_count_each_revealer_once(cl, owner, requester, staked):
    set_defaults(cl, owner, equalWeights=True, deviatorSlashBps=0)
    alice, bob, carol = staked[:3]
    cl.deposit({"from": alice, "value": 2 * ETHER})
    votes = [(alice, bytes([4])), (bob, bytes([1])), (carol, bytes([1]))]
    rid, *_ = play_round(cl, requester, votes, q=1, k=5, reward=ETHER)
    assert plain(cl.consensus(rid)) == bytes([1])


def test_equal_weights_split_the_pool_equally(cl, owner, requester, staked):
    set_defaults(cl, owner, equalWeights=True, deviatorSlashBps=0)
    alice, bob, carol = staked[:3]
    cl.deposit({"from": alice, "value": 2 * ETHER})
    votes = [(a, bytes([1, 2])) for a in (alice, bob, carol)]
    rid, ballots, _, tx = play_round(cl, requester, votes, q=2, k=3, reward=ETHER)
    assert the_event(tx, "RoundFinalized")["agreedWeight"] == 3
    claims = claim_all(cl, rid, ballots)
    assert {r for r, _ in claims.values()} == {ETHER // 3}


def test_equal_weights_quorum_counts_revealers(cl, owner, requester, staked):
    set_defaults(cl, owner, equalWeights=True, deviatorSlashBps=0)
    alice, bob, carol, dave = staked[:4]
    cl.deposit({"from": dave, "value": 10 * ETHER})  # by stake only 3 of 14 ether reveal
    votes = [(a, bytes([1])) for a in (alice, bob, carol, dave)]
    rid, *_ = play_round(cl, requester, votes, q=1, k=2, reward=ETHER, reveal_mask=[True, True, True, False])
    assert cl.phase(rid) == Phase.FINALIZED  # 3 of 4 revealers >= 50 %


# ------------------------------------------------------------------------ failed rounds (see also test_failed_round.py)


def test_too_few_revealers_fail_the_round_despite_full_weight(cl, requester, staked):
    votes = [(a, bytes([1])) for a in staked[:2]]
    rid, _, _, tx = play_round(cl, requester, votes, q=1, k=2, reward=ETHER)
    assert cl.phase(rid) == Phase.FAILED
    assert the_event(tx, "RoundFailed")["revealedWeight"] == 2 * ETHER


def test_round_where_nobody_reveals_fails_and_slashes_everyone(cl, requester, staked):
    votes = [(a, bytes([1])) for a in staked]
    rid, ballots, _, tx = play_round(cl, requester, votes, q=1, k=2, reward=ETHER, reveal_mask=[False] * 5)
    assert the_event(tx, "RoundFailed") == {"roundId": rid, "revealedWeight": 0, "committedWeight": 5 * ETHER,
                                            "slashed": 5 * ceil_penalty(ETHER, 2_000)}
    assert set(claim_all(cl, rid, ballots).values()) == {(0, ceil_penalty(ETHER, 2_000))}


def test_round_without_committers_fails(cl, requester):
    rid = open_round(cl, requester, 1, 2, reward=ETHER)
    to_finalizable(cl, rid)
    tx = cl.finalize(rid, [], [], {"from": requester})
    assert the_event(tx, "RoundFailed") == {"roundId": rid, "revealedWeight": 0, "committedWeight": 0,
                                            "slashed": 0}


# ------------------------------------------------------------------------ single revealer, nobody agreeing


def test_single_revealer_takes_the_pool_when_one_revealer_suffices(cl, owner, requester, staked):
    set_defaults(cl, owner, minRevealers=1)
    alice, bob, carol = staked[:3]
    cl.deposit({"from": alice, "value": 2 * ETHER})  # 3 of 5 committed ether reveal
    votes = [(alice, bytes([2, 0, 1])), (bob, bytes([1, 1, 1])), (carol, bytes([0, 0, 0]))]
    rid, ballots, _, tx = play_round(cl, requester, votes, q=3, k=3, reward=ETHER, reveal_mask=[True, False, False])
    assert plain(cl.consensus(rid)) == bytes([2, 0, 1])
    pool = ETHER + 2 * ceil_penalty(ETHER, 2_000)
    assert the_event(tx, "RoundFinalized")["pool"] == pool
    assert claim_all(cl, rid, ballots)[alice.address] == (pool, 0)


# Three equal stakes, each label once per query: every query ties, the consensus is [0, 0, 0] (M = 3 = Q),
# so nobody can agree (matches >= M is needed) whatever agreementBps -- no 9000 bps needed (and v2 forbids it).
NOBODY_AGREES = [bytes([0, 1, 2]), bytes([1, 2, 0]), bytes([2, 0, 1])]


def test_nobody_agreeing_refunds_the_reward_and_burns_the_pooled_penalties(cl, requester, staked):
    """v1 sent the pool (reward included) to the treasury; v2 refunds the requester (issue 13, item 7)."""
    votes = list(zip(staked[:3], NOBODY_AGREES))
    stake, rewards, refunds, burned, surplus = assert_books(cl)
    rid, ballots, revealed, tx = play_round(cl, requester, votes, q=3, k=3, reward=ETHER)
    model = settle(DEFAULTS, 3, 3, ETHER, 0, stakes_of(cl, rid, ballots), {b.address: b.labels for b in revealed})
    assert model.consensus == bytes(3) and model.refundable and model.agreed_weight == 0
    penalties = 3 * ceil_penalty(ETHER, 1_000)  # every revealer deviates
    ev = the_event(tx, "RoundFinalized")
    assert (ev["pool"], ev["agreedWeight"], ev["dust"]) == (0, 0, 0)
    assert the_event(tx, "RewardRefundable") == {"roundId": rid, "amount": ETHER}
    assert the_event(tx, "Burned")["amount"] == penalties == model.burned
    # the reward came in at opening and now sits in refundsOwed; rewardsOwed is back where it was
    assert assert_books(cl) == (stake - penalties, rewards, refunds + ETHER, burned + penalties, surplus)
    assert plain(cl.getRound(rid))[18] is True  # refundable
    assert set(claim_all(cl, rid, ballots).values()) == {(0, ceil_penalty(ETHER, 1_000))}
    before = requester.balance()
    refund = cl.claimRefund(rid, {"from": requester})
    assert requester.balance() - before == ETHER - gas_cost(refund)
    assert assert_books(cl) == (stake - penalties, rewards, refunds, burned + penalties, surplus)


# ------------------------------------------------------------------------ shapes vs the reference model

SHAPES = [  # (q, k, reveal mask over six voters, extra stake in wei per voter)
    (45, 2, [True] * 6, [0, 1, 2, 3, 5, 8]),
    (45, 256, [True, True, True, True, False, True], [7 * 10**17, 0, 3, 10**18, 0, 11]),
    (1, 3, [True, True, True, False, False, True], [0, 0, 0, 0, 0, 0]),
    (33, 10, [True, False, True, True, True, True], [123456789, 0, 10**18, 1, 0, 99]),
]


@pytest.mark.parametrize("q,k,mask,extra", SHAPES, ids=["Q45-K2", "Q45-K256", "Q1-K3", "Q33-K10"])
def test_round_settles_as_the_reference_model(cl, requester, staked, frank, q, k, mask, extra):
    rng = random.Random(q * 1000 + k)
    voters = staked + [frank]
    truth = [rng.randrange(k) for _ in range(q)]
    votes = []
    for i, (v, x) in enumerate(zip(voters, extra)):
        if x:
            cl.deposit({"from": v, "value": x})
        accuracy = [0.9, 0.8, 0.7, 0.6, 0.3, 0.1][i]
        votes.append((v, bytes(t if rng.random() < accuracy else rng.randrange(k) for t in truth)))
    reward = 10**18 + 7
    rid, ballots, revealed, tx = play_round(cl, requester, votes, q=q, k=k, reward=reward, reveal_mask=mask)
    model = settle(DEFAULTS, q, k, reward, 0, stakes_of(cl, rid, ballots), {b.address: b.labels for b in revealed})
    assert not model.failed
    assert plain(cl.consensus(rid)) == model.consensus
    ev = the_event(tx, "RoundFinalized")
    assert (ev["pool"], ev["agreedWeight"], ev["dust"]) == (model.pool, model.agreed_weight, model.dust)
    assert the_event(tx, "RoundSlashes") == {"roundId": rid, "pooled": model.pooled, "burned": model.slash_burned}
    for b in ballots:
        s = submission(cl, rid, b.account)
        assert (s["status"], s["matches"]) == (model.status[b.address], model.matches.get(b.address, 0))
    assert claim_all(cl, rid, ballots) == {a: (model.reward[a], model.penalty[a]) for a in model.reward}
