"""deposit / requestWithdrawal / withdraw and the unbonding delay."""
import brownie
import pytest
from brownie import chain

from brownie import ZERO_ADDRESS

from contract_helpers import (
    DEFAULT_UNBONDING_DELAY,
    ETHER,
    MAX_PENDING_WITHDRAWALS,
    MAX_UNBONDING_DELAY,
    UINT96_MAX,
    set_balance,
    account,
    assert_books,
    commit,
    err,
    gas_cost,
    open_round,
    the_event,
    transact_at,
)


@pytest.fixture
def funded(cl, alice):
    """Alice has 3 ether of free stake."""
    cl.deposit({"from": alice, "value": 3 * ETHER})
    return alice


# ------------------------------------------------------------------------ deposit


def test_deposit_adds_to_free_stake(cl, alice):
    cl.deposit({"from": alice, "value": 5})
    cl.deposit({"from": alice, "value": 7})
    assert account(cl, alice) == {"free": 12, "locked": 0, "unbonding": 0, "unbondingReadyAt": 0, "withdrawable": 0}


def test_deposit_emits_deposited_with_new_free_stake(cl, funded):
    tx = cl.deposit({"from": funded, "value": 2})
    assert the_event(tx, "Deposited") == {"participant": funded.address, "amount": 2, "free": 3 * ETHER + 2}


def test_deposit_moves_ether_into_the_contract_and_total_stake(cl, alice):
    before = alice.balance()
    tx = cl.deposit({"from": alice, "value": ETHER})
    assert before - alice.balance() == ETHER + gas_cost(tx)
    assert cl.balance() == ETHER
    assert assert_books(cl) == (ETHER, 0, 0, 0, 0)


def test_deposit_of_zero_reverts(cl, alice):
    with brownie.reverts(err("ZeroDeposit")):
        cl.deposit({"from": alice, "value": 0})


# ------------------------------------------------------------------------ requestWithdrawal


def test_request_withdrawal_moves_free_stake_to_unbonding(cl, funded):
    tx = cl.requestWithdrawal(ETHER, {"from": funded})
    ready = tx.timestamp + DEFAULT_UNBONDING_DELAY
    assert account(cl, funded) == {"free": 2 * ETHER, "locked": 0, "unbonding": ETHER, "unbondingReadyAt": ready, "withdrawable": 0}
    assert the_event(tx, "WithdrawalRequested") == {
        "participant": funded.address, "amount": ETHER, "unbonding": ETHER, "readyAt": ready}


def test_request_withdrawal_keeps_total_stake(cl, funded):
    cl.requestWithdrawal(ETHER, {"from": funded})
    assert assert_books(cl) == (3 * ETHER, 0, 0, 0, 0)


def test_second_request_adds_up_and_keeps_its_own_time(cl, funded):
    first = cl.requestWithdrawal(ETHER, {"from": funded}).timestamp + DEFAULT_UNBONDING_DELAY
    chain.sleep(100)
    tx = cl.requestWithdrawal(ETHER, {"from": funded})
    ready = tx.timestamp + DEFAULT_UNBONDING_DELAY
    assert account(cl, funded)["unbonding"] == 2 * ETHER
    assert account(cl, funded)["unbondingReadyAt"] == ready  # the latest request's time
    assert the_event(tx, "WithdrawalRequested")["unbonding"] == 2 * ETHER
    paid = transact_at(first, cl.withdraw, sender=funded)  # the first matured: it alone is paid
    assert the_event(paid, "Withdrawn")["amount"] == ETHER
    assert account(cl, funded)["unbonding"] == ETHER


def test_request_withdrawal_above_free_stake_reverts(cl, funded):
    with brownie.reverts(err("InsufficientFreeStake", 3 * ETHER + 1, 3 * ETHER)):
        cl.requestWithdrawal(3 * ETHER + 1, {"from": funded})


def test_request_withdrawal_of_zero_reverts(cl, funded):
    with brownie.reverts(err("InsufficientFreeStake", 0, 3 * ETHER)):
        cl.requestWithdrawal(0, {"from": funded})


def test_request_withdrawal_of_locked_stake_is_refused(cl, requester, funded):
    rid = open_round(cl, requester, 4, 2)
    commit(cl, rid, funded, bytes(4))  # locks all 3 ether
    cl.deposit({"from": funded, "value": 5})
    assert account(cl, funded)["locked"] == 3 * ETHER
    with brownie.reverts(err("InsufficientFreeStake", 6, 5)):
        cl.requestWithdrawal(6, {"from": funded})


def test_unbonding_stake_cannot_be_committed(cl, requester, funded):
    cl.requestWithdrawal(3 * ETHER, {"from": funded})
    rid = open_round(cl, requester, 4, 2)
    with brownie.reverts(err("StakeBelowMinimum", 0, 10**16)):
        commit(cl, rid, funded, bytes(4))


# ------------------------------------------------------------------------ withdraw


def test_withdraw_without_request_reverts(cl, funded):
    with brownie.reverts(err("NothingToWithdraw")):
        cl.withdraw({"from": funded})


def test_withdraw_one_second_before_the_delay_reverts(cl, funded):
    ready = cl.requestWithdrawal(ETHER, {"from": funded}).timestamp + DEFAULT_UNBONDING_DELAY
    tx = transact_at(ready - 1, cl.withdraw, sender=funded)
    assert tx.status == 0
    assert tx.revert_msg == err("UnbondingNotOver", ready, ready - 1)


def test_withdraw_exactly_when_the_delay_is_over_pays(cl, funded):
    ready = cl.requestWithdrawal(ETHER, {"from": funded}).timestamp + DEFAULT_UNBONDING_DELAY
    before = funded.balance()
    tx = transact_at(ready, cl.withdraw, sender=funded)
    assert tx.status == 1
    assert funded.balance() - before == ETHER - gas_cost(tx)
    assert the_event(tx, "Withdrawn") == {"participant": funded.address, "amount": ETHER, "to": funded.address}


def test_withdraw_clears_unbonding_and_reduces_total_stake(cl, funded):
    cl.requestWithdrawal(ETHER, {"from": funded})
    chain.sleep(DEFAULT_UNBONDING_DELAY + 1)
    cl.withdraw({"from": funded})
    assert account(cl, funded) == {"free": 2 * ETHER, "locked": 0, "unbonding": 0, "unbondingReadyAt": 0, "withdrawable": 0}
    assert assert_books(cl) == (2 * ETHER, 0, 0, 0, 0)


def test_withdraw_twice_reverts(cl, funded):
    cl.requestWithdrawal(ETHER, {"from": funded})
    chain.sleep(DEFAULT_UNBONDING_DELAY + 1)
    cl.withdraw({"from": funded})
    with brownie.reverts(err("NothingToWithdraw")):
        cl.withdraw({"from": funded})


def test_new_unbonding_delay_applies_to_later_requests_only(cl, owner, alice, bob):
    cl.deposit({"from": alice, "value": ETHER})
    cl.deposit({"from": bob, "value": ETHER})
    early = cl.requestWithdrawal(ETHER, {"from": alice})
    cl.setUnbondingDelay(60, {"from": owner})
    late = cl.requestWithdrawal(ETHER, {"from": bob})
    assert account(cl, alice)["unbondingReadyAt"] == early.timestamp + DEFAULT_UNBONDING_DELAY
    assert account(cl, bob)["unbondingReadyAt"] == late.timestamp + 60


def test_zero_unbonding_delay_allows_withdrawal_in_the_next_block(cl, owner, funded):
    cl.setUnbondingDelay(0, {"from": owner})
    cl.requestWithdrawal(ETHER, {"from": funded})
    tx = cl.withdraw({"from": funded})
    assert the_event(tx, "Withdrawn")["amount"] == ETHER


# ------------------------------------------------------------------------ issue 13: per-request times, limits


def test_one_wei_top_up_never_delays_an_earlier_request_even_after_the_delay_was_raised(cl, owner, funded):
    """v1: a later request (even 1 wei) restarted the whole unbonding, with a delay the owner may have raised."""
    first = cl.requestWithdrawal(2 * ETHER, {"from": funded}).timestamp + DEFAULT_UNBONDING_DELAY
    cl.setUnbondingDelay(MAX_UNBONDING_DELAY, {"from": owner})
    top_up = cl.requestWithdrawal(1, {"from": funded}).timestamp + MAX_UNBONDING_DELAY
    assert account(cl, funded)["unbondingReadyAt"] == top_up
    before = funded.balance()
    tx = transact_at(first, cl.withdraw, sender=funded)
    assert tx.status == 1
    assert funded.balance() - before == 2 * ETHER - gas_cost(tx)
    assert account(cl, funded) == {"free": ETHER - 1, "locked": 0, "unbonding": 1, "unbondingReadyAt": top_up,
                                   "withdrawable": 0}
    late = transact_at(top_up - 1, cl.withdraw, sender=funded)
    assert late.revert_msg == err("UnbondingNotOver", top_up, top_up - 1)


def test_withdrawable_shows_the_matured_requests(cl, owner, funded):
    first = cl.requestWithdrawal(ETHER, {"from": funded}).timestamp + DEFAULT_UNBONDING_DELAY
    cl.setUnbondingDelay(2 * DEFAULT_UNBONDING_DELAY, {"from": owner})
    cl.requestWithdrawal(5, {"from": funded})
    chain.mine(timestamp=first)
    assert account(cl, funded)["withdrawable"] == ETHER


def test_at_most_eight_withdrawal_requests_may_be_pending(cl, funded):
    for _ in range(MAX_PENDING_WITHDRAWALS):
        cl.requestWithdrawal(1, {"from": funded})
    with brownie.reverts(err("TooManyPendingWithdrawals", MAX_PENDING_WITHDRAWALS)):
        cl.requestWithdrawal(1, {"from": funded})
    chain.sleep(DEFAULT_UNBONDING_DELAY + 1)
    cl.withdraw({"from": funded})
    cl.requestWithdrawal(1, {"from": funded})  # a slot is free again
    assert account(cl, funded)["unbonding"] == 1


def test_withdraw_to_sends_to_another_address(cl, funded, bob):
    cl.requestWithdrawal(ETHER, {"from": funded})
    chain.sleep(DEFAULT_UNBONDING_DELAY + 1)
    before = bob.balance()
    tx = cl.withdrawTo(bob, {"from": funded})
    assert bob.balance() - before == ETHER
    assert the_event(tx, "Withdrawn") == {"participant": funded.address, "amount": ETHER, "to": bob.address}
    assert account(cl, funded)["unbonding"] == 0
    assert_books(cl)


def test_withdraw_to_the_zero_address_reverts(cl, funded):
    cl.requestWithdrawal(ETHER, {"from": funded})
    chain.sleep(DEFAULT_UNBONDING_DELAY + 1)
    with brownie.reverts(err("ZeroAddress")):
        cl.withdrawTo(ZERO_ADDRESS, {"from": funded})


@pytest.fixture
def whale(accounts):
    """An account holding more than 2^96 wei (Ganache: evm_setAccountBalance; Anvil: anvil_setBalance)."""
    whale = accounts[9]
    set_balance(whale.address, 2**97)
    return whale


def test_deposit_above_96_bits_of_free_stake_reverts(cl, whale):
    """v1 truncated stake to 96 bits at commit; v2 refuses free stake that commit could not hold."""
    cl.deposit({"from": whale, "value": UINT96_MAX})
    assert account(cl, whale)["free"] == UINT96_MAX
    with brownie.reverts(err("AmountTooLarge", UINT96_MAX + 1, UINT96_MAX)):
        cl.deposit({"from": whale, "value": 1})
    assert_books(cl)


def test_single_deposit_above_96_bits_reverts(cl, whale):
    with brownie.reverts(err("AmountTooLarge", UINT96_MAX + 1, UINT96_MAX)):
        cl.deposit({"from": whale, "value": UINT96_MAX + 1})
