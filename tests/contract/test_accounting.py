"""Rounding and conservation with wei-sized stakes and many participants: after every transaction the
contract owes exactly what it holds, and what came in equals what went out plus what is still held."""
import random

import brownie
import pytest
from eth_utils import keccak, to_checksum_address

from brownie import chain

from contract_helpers import (
    BOUNDS_DELAY,
    DEFAULT_BOUNDS,
    DEFAULTS,
    finalize_args,
    MAX_PARTICIPANTS,
    Phase,
    assert_books,
    by_address,
    commit,
    err,
    gas_cost,
    open_round,
    quick,
    quick_commit,
    quick_reveal,
    plain,
    set_balance,
    settle,
    the_event,
    to_finalizable,
    to_reveal_phase,
)

TINY = DEFAULTS.replace(minStake=1)


@pytest.fixture(scope="module")
def tiny_defaults(cl, owner):
    """Bounds with a 1-wei stake floor (proposed, applied 28 days later), then defaults with minStake 1."""
    at = cl.proposeBounds(DEFAULT_BOUNDS.replace(minStakeFloor=1).astuple(), {"from": owner}).timestamp
    chain.mine(timestamp=at + BOUNDS_DELAY)
    cl.applyBounds({"from": owner})
    cl.setDefaults(TINY.astuple(), {"from": owner})
    cl.setUnbondingDelay(0, {"from": owner})
    return TINY


class Ledger:
    """Every wei in and out of the contract, with the books checked after each transaction."""

    def __init__(self, cl):
        self.cl, self.came_in, self.went_out = cl, 0, 0

    def send(self, method, *args, sender, value=0):
        before = sender.balance()
        tx = method(*args, {"from": sender, "value": value})
        received = sender.balance() - before + gas_cost(tx) + value
        self.came_in += value
        self.went_out += received
        assert_books(self.cl)
        assert self.came_in == self.went_out + self.cl.balance()
        return tx


def test_wei_sized_round_keeps_the_books_balanced_at_every_step(cl, tiny_defaults, requester, voters, frank):
    ledger = Ledger(cl)
    voters = voters + [frank]
    stakes = [1, 2, 3, 5, 7, 11]
    labels = [b"\x01\x00\x01", b"\x01\x00\x01", b"\x01\x00\x00", b"\x01\x00\x01", b"\x00\x01\x00", b"\x01\x01\x01"]
    for v, s in zip(voters, stakes):
        ledger.send(cl.deposit, sender=v, value=s)
    rid = ledger.send(cl.openRound, b"\x05" * 32, "", 3, 2, 60, 60, sender=requester, value=7).events[
        "RoundOpened"]["roundId"]
    ballots = []
    for v, lab in zip(voters, labels):
        ballots.append(commit(cl, rid, v, lab))
        assert_books(cl)
    revealed = ballots[:5]  # the 11-wei voter never reveals
    to_reveal_phase(cl, rid)
    for b in revealed:
        ledger.send(cl.reveal, rid, b.wire, b.salt, sender=b.account)
    to_finalizable(cl, rid)
    tx = ledger.send(cl.finalize, rid, *finalize_args(cl, rid, revealed), sender=requester)
    model = settle(TINY, 3, 2, 7, 0, {b.address: s for b, s in zip(ballots, stakes)},
                   {b.address: b.labels for b in revealed})
    assert the_event(tx, "RoundFinalized")["dust"] == model.dust
    for b in ballots:
        ev = the_event(ledger.send(cl.claim, rid, sender=b.account), "Claimed")
        assert (ev["reward"], ev["penalty"]) == (model.reward[b.address], model.penalty[b.address])
    for v in voters:
        free = cl.getAccount(v)[0]
        if free:
            ledger.send(cl.requestWithdrawal, free, sender=v)
            ledger.send(cl.withdraw, sender=v)
    assert model.burned == model.dust  # the 11-wei non-revealer's penalty was pooled, not burned
    assert plain(cl.accounting()) == (0, 0, 0, model.dust, 0)  # only the rounding dust stays, burned
    assert ledger.came_in == ledger.went_out + model.dust


def test_one_wei_deviator_loses_its_whole_stake(cl, tiny_defaults, requester, alice, bob, outsider):
    """Penalties round up: ceil(1 wei * 10 %) = 1 wei, so a pool never promises more than was taken."""
    for v, amount in ((alice, 10**18), (bob, 10**18), (outsider, 1)):
        cl.deposit({"from": v, "value": amount})
    votes = [(alice, b"\x00\x00"), (bob, b"\x00\x00"), (outsider, b"\x01\x01")]
    rid = open_round(cl, requester, 2, 2, reward=1)
    ballots = [commit(cl, rid, v, lab) for v, lab in votes]
    to_reveal_phase(cl, rid)
    for b in ballots:
        cl.reveal(rid, b.wire, b.salt, {"from": b.account})
    to_finalizable(cl, rid)
    cl.finalize(rid, *finalize_args(cl, rid, ballots), {"from": requester})
    assert the_event(cl.claim(rid, {"from": outsider}), "Claimed")["penalty"] == 1
    assert cl.getAccount(outsider)[0] == 0


# ------------------------------------------------------------------------ 64 participants of a few wei


@pytest.fixture(scope="module")
def crowd(cl, accounts, tiny_defaults):
    """65 impersonated accounts, each with 1 ether of gas money and a few wei staked."""
    members = []
    for i in range(MAX_PARTICIPANTS + 1):
        address = to_checksum_address(keccak(f"crowd member {i}".encode())[12:])
        member = accounts.at(address, force=True)
        set_balance(address, 10**18)
        quick(cl.deposit, sender=member, value=1 + i % 5)
        members.append(member)
    return members


@pytest.fixture(scope="module")
def crowd_round(cl, requester, crowd):
    """Q = 16 (so 64 may join), K = 3, an odd reward; 64 committed: 48 honest-ish, 8 noisy, 8 silent."""
    rng = random.Random(64)
    truth = [rng.randrange(3) for _ in range(16)]
    rid = open_round(cl, requester, 16, 3, reward=1_000_003)
    ballots = []
    for i, member in enumerate(crowd[:MAX_PARTICIPANTS]):
        accuracy = 0.9 if i < 48 else 0.2
        ballots.append(quick_commit(cl, rid, member, bytes(t if rng.random() < accuracy else rng.randrange(3)
                                                           for t in truth)))
    return rid, ballots


def test_sixty_fifth_participant_is_refused(cl, crowd, crowd_round):
    rid, _ = crowd_round
    assert cl.maxParticipants(16) == MAX_PARTICIPANTS
    with brownie.reverts(err("RoundFull", rid, MAX_PARTICIPANTS)):
        commit(cl, rid, crowd[MAX_PARTICIPANTS], bytes(16))


def test_many_tiny_participants_settle_exactly(cl, requester, crowd_round):
    rid, ballots = crowd_round
    revealed = ballots[:56]
    to_reveal_phase(cl, rid)
    quick_reveal(cl, rid, revealed)
    to_finalizable(cl, rid)
    tx = cl.finalize(rid, *finalize_args(cl, rid, revealed), {"from": requester})
    assert cl.phase(rid) == Phase.FINALIZED
    stakes = {b.address: 1 + i % 5 for i, b in enumerate(ballots)}  # the crowd's deposits
    model = settle(TINY, 16, 3, 1_000_003, 0, stakes, {b.address: b.labels for b in revealed})
    ev = the_event(tx, "RoundFinalized")
    assert (ev["pool"], ev["dust"]) == (model.pool, model.dust)
    assert the_event(tx, "RoundSlashes")["pooled"] == model.slashed
    paid = 0
    for b in ballots:
        claimed = the_event(cl.claim(rid, {"from": b.account}), "Claimed")
        assert (claimed["reward"], claimed["penalty"]) == (model.reward[b.address], model.penalty[b.address])
        paid += claimed["reward"]
        assert_books(cl)
    assert paid + model.dust == model.pool
    assert model.slashed == sum(model.penalty.values())
