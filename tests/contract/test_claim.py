"""claim and claimable on the finalized standard round (see conftest), claimRefund on failed rounds."""
import brownie
import pytest
from brownie import chain

from conftest import STD_K, STD_Q, STD_REWARD, TRUTH
from contract_helpers import (
    DEFAULT_UNBONDING_DELAY,
    DEFAULTS,
    ETHER,
    Phase,
    account,
    assert_books,
    commit,
    err,
    gas_cost,
    open_round,
    plain,
    settle,
    submission,
    the_event,
    to_finalizable,
)


@pytest.fixture(scope="module")
def expected(revealed, frank, finalized):
    stakes = {b.address: ETHER for b in revealed}
    stakes[frank.address] = ETHER
    return settle(DEFAULTS, STD_Q, STD_K, STD_REWARD, 0, stakes, {b.address: b.labels for b in revealed})


def test_agreed_revealer_is_credited_its_share_in_free_stake_not_sent(cl, round_id, alice, expected):
    before = alice.balance()
    tx = cl.claim(round_id, {"from": alice})
    share = expected.reward[alice.address]
    assert share == (STD_REWARD + ETHER // 10 + ETHER // 5) // 4  # reward + Erin's and Frank's penalties
    assert alice.balance() - before == -gas_cost(tx)  # v2: no ETH leaves at claim
    assert account(cl, alice)["free"] == ETHER + share
    assert tx.return_value == share


def test_agreed_revealer_gets_its_stake_and_share_back_free(cl, round_id, alice, expected):
    cl.claim(round_id, {"from": alice})
    assert account(cl, alice) == {"free": ETHER + expected.reward[alice.address], "locked": 0, "unbonding": 0,
                                  "unbondingReadyAt": 0, "withdrawable": 0}


def test_claim_emits_claimed(cl, round_id, alice, expected):
    tx = cl.claim(round_id, {"from": alice})
    assert the_event(tx, "Claimed") == {"roundId": round_id, "participant": alice.address,
                                        "reward": expected.reward[alice.address], "penalty": 0}


def test_deviator_loses_its_slash_and_gets_no_reward(cl, round_id, erin):
    before = erin.balance()
    tx = cl.claim(round_id, {"from": erin})
    assert the_event(tx, "Claimed") == {"roundId": round_id, "participant": erin.address, "reward": 0,
                                        "penalty": ETHER // 10}
    assert account(cl, erin)["free"] == ETHER - ETHER // 10
    assert erin.balance() - before == -gas_cost(tx)


def test_non_revealer_loses_its_slash(cl, round_id, frank):
    tx = cl.claim(round_id, {"from": frank})
    assert the_event(tx, "Claimed") == {"roundId": round_id, "participant": frank.address, "reward": 0,
                                        "penalty": ETHER // 5}
    assert account(cl, frank) == {"free": ETHER - ETHER // 5, "locked": 0, "unbonding": 0, "unbondingReadyAt": 0,
                                  "withdrawable": 0}


def test_claim_marks_the_submission_claimed(cl, round_id, alice):
    cl.claim(round_id, {"from": alice})
    assert submission(cl, round_id, alice)["claimed"] is True


def test_claim_moves_the_share_from_rewards_owed_to_stake(cl, round_id, alice, expected):
    stake, rewards, refunds, burned, surplus = assert_books(cl)
    cl.claim(round_id, {"from": alice})
    share = expected.reward[alice.address]
    assert assert_books(cl) == (stake + share, rewards - share, refunds, burned, surplus)


def test_claim_twice_reverts(cl, round_id, alice):
    cl.claim(round_id, {"from": alice})
    with brownie.reverts(err("AlreadyClaimed", round_id, alice)):
        cl.claim(round_id, {"from": alice})


def test_claim_by_non_participant_reverts(cl, round_id, outsider):
    with brownie.reverts(err("NothingToClaim", round_id, outsider)):
        cl.claim(round_id, {"from": outsider})


def test_claim_of_unknown_round_reverts(cl, alice):
    with brownie.reverts(err("NothingToClaim", 5, alice)):
        cl.claim(5, {"from": alice})


def test_claim_before_finalization_reverts(cl, requester, outsider):
    rid = open_round(cl, requester, STD_Q, STD_K)
    cl.deposit({"from": outsider, "value": ETHER})
    commit(cl, rid, outsider, TRUTH)
    with brownie.reverts(err("WrongPhase", rid, Phase.FINALIZED, Phase.COMMIT)):
        cl.claim(rid, {"from": outsider})
    to_finalizable(cl, rid)
    with brownie.reverts(err("WrongPhase", rid, Phase.FINALIZED, Phase.FINALIZABLE)):
        cl.claim(rid, {"from": outsider})


def test_everyone_claiming_empties_rewards_owed(cl, round_id, revealed, frank, expected):
    paid = 0
    for acct in [b.account for b in revealed] + [frank]:
        paid += cl.claim(round_id, {"from": acct}).return_value
    assert paid == expected.pool - expected.dust
    stake, rewards, refunds, burned, surplus = assert_books(cl)
    assert (rewards, refunds, burned, surplus) == (0, 0, expected.dust, 0)
    assert stake == 6 * ETHER - expected.slashed + paid


def test_claimed_stake_can_be_withdrawn(cl, round_id, erin):
    cl.claim(round_id, {"from": erin})
    cl.requestWithdrawal(ETHER - ETHER // 10, {"from": erin})
    chain.sleep(DEFAULT_UNBONDING_DELAY)
    tx = cl.withdraw({"from": erin})
    assert the_event(tx, "Withdrawn") == {"participant": erin.address, "amount": ETHER - ETHER // 10,
                                          "to": erin.address}


def test_claimed_reward_can_be_withdrawn(cl, round_id, alice, expected):
    cl.claim(round_id, {"from": alice})
    amount = ETHER + expected.reward[alice.address]
    cl.requestWithdrawal(amount, {"from": alice})
    chain.sleep(DEFAULT_UNBONDING_DELAY)
    before = alice.balance()
    tx = cl.withdraw({"from": alice})
    assert alice.balance() - before == amount - gas_cost(tx)


# ------------------------------------------------------------------------ claimable


def test_claimable_shows_what_claim_will_do(cl, round_id, alice, erin, frank, expected):
    assert plain(cl.claimable(round_id, alice)) == (expected.reward[alice.address], 0)
    assert plain(cl.claimable(round_id, erin)) == (0, ETHER // 10)
    assert plain(cl.claimable(round_id, frank)) == (0, ETHER // 5)


def test_claimable_is_zero_after_claiming(cl, round_id, alice):
    cl.claim(round_id, {"from": alice})
    assert plain(cl.claimable(round_id, alice)) == (0, 0)


def test_claimable_is_zero_for_non_participant(cl, round_id, outsider):
    assert plain(cl.claimable(round_id, outsider)) == (0, 0)


def test_claimable_is_zero_before_finalization(cl, requester, outsider):
    rid = open_round(cl, requester, STD_Q, STD_K)
    cl.deposit({"from": outsider, "value": ETHER})
    commit(cl, rid, outsider, TRUTH)
    to_finalizable(cl, rid)
    assert plain(cl.claimable(rid, outsider)) == (0, 0)


# ------------------------------------------------------------------------ claimRefund (failed rounds: test_failed_round.py)


def test_claim_refund_of_finalized_round_reverts(cl, round_id, requester):
    with brownie.reverts(err("NoRefund", round_id, requester)):
        cl.claimRefund(round_id, {"from": requester})
