"""Sybil-resistant admission: a full round admits a larger weight (stake x reputation) by evicting a smaller
one; every address here is fresh (same reputation), so weights compare as stakes. (An established
participant against fresh stake: test_reputation.py.)

The attack (issue 13, audit finding 1): right after openRound, 64 min-stake addresses fill every seat, and
every later commit reverts RoundFull. With commitReplacing, a participant with free stake s takes the seat
of any committer with less stake, who is unlocked without penalty; so keeping it out needs every one of the
maxParticipants(Q) seats to hold at least s -- 64 x 1 ETH = 64 ETH for an honest 1 ETH participant at
Q <= 832, measured below by filling the seats with exactly the stake that still keeps it out.
"""
import brownie
import pytest
from eth_utils import keccak, to_checksum_address

from contract_helpers import (
    CONSTANTS,
    ETHER,
    MAX_PARTICIPANTS,
    account,
    assert_books,
    commitment_for,
    err,
    open_round,
    quick,
    round_info,
    set_balance,
    submission,
    the_event,
)
from cl_client.commitment import new_salt

START = CONSTANTS["REPUTATION_START"]  # every seat holder here is a fresh address: weight = stake x START
Q = 832  # maxParticipants(832) = 64 = MAX_LABELS // 832
MIN_STAKE = 10**16  # the default 0.01 ETH


@pytest.fixture(scope="module")
def seats(accounts):
    """MAX_PARTICIPANTS + 2 impersonated accounts with 200 ETH of gas and stake money each."""
    members = []
    for i in range(MAX_PARTICIPANTS + 2):
        address = to_checksum_address(keccak(f"seat holder {i}".encode())[12:])
        member = accounts.at(address, force=True)
        set_balance(address, 200 * ETHER)
        members.append(member)
    return members


def _commit(cl, rid, member, method="commit", *extra):
    labels = bytes(Q)
    salt = new_salt()
    c = commitment_for(cl, rid, member.address, labels, salt)
    return getattr(cl, method)(rid, c, *extra, {"from": member})


def _fill(cl, rid, members, stake):
    for m in members:
        quick(cl.deposit, sender=m, value=stake)
        quick(cl.commit, rid, commitment_for(cl, rid, m.address, bytes(Q), new_salt()), sender=m)


def test_a_full_round_admits_a_larger_stake_in_place_of_a_smaller_one(cl, requester, seats):
    rid = open_round(cl, requester, Q, 10)
    sybils, honest = seats[:MAX_PARTICIPANTS], seats[MAX_PARTICIPANTS]
    _fill(cl, rid, sybils, MIN_STAKE)
    quick(cl.deposit, sender=honest, value=ETHER)
    with brownie.reverts(err("RoundFull", rid, MAX_PARTICIPANTS)):
        _commit(cl, rid, honest)  # the attack as it worked before

    victim = sybils[7]
    tx = _commit(cl, rid, honest, "commitReplacing", victim)
    assert the_event(tx, "Evicted") == {"roundId": rid, "victim": victim.address, "by": honest.address,
                                        "victimStake": MIN_STAKE}
    assert the_event(tx, "Committed")["stake"] == ETHER
    info = round_info(cl, rid)
    assert info["commitCount"] == MAX_PARTICIPANTS
    assert info["committedStake"] == (MAX_PARTICIPANTS - 1) * MIN_STAKE + ETHER
    # the victim is unlocked without penalty and is no longer a committer
    assert account(cl, victim)["free"] == MIN_STAKE and account(cl, victim)["locked"] == 0
    assert submission(cl, rid, victim)["status"] == 0
    assert_books(cl)


def test_keeping_a_1_eth_participant_out_of_a_full_round_costs_64_eth(cl, requester, seats):
    """Seats of exactly 1 ETH keep a 1 ETH participant out; one seat 1 wei lighter lets it in."""
    rid = open_round(cl, requester, Q, 10)
    holders, honest = seats[:MAX_PARTICIPANTS], seats[MAX_PARTICIPANTS]
    _fill(cl, rid, holders[:-1], ETHER)
    _fill(cl, rid, holders[-1:], ETHER - 1)
    quick(cl.deposit, sender=honest, value=ETHER)
    for victim in holders[:-1]:
        with brownie.reverts(err("NotEvictable", rid, victim.address, ETHER * START, ETHER * START)):
            _commit(cl, rid, honest, "commitReplacing", victim)
    cost_to_keep_out = round_info(cl, rid)["committedStake"] + 1  # the lightest seat needed 1 more wei
    assert cost_to_keep_out == MAX_PARTICIPANTS * ETHER
    _commit(cl, rid, honest, "commitReplacing", holders[-1])  # the seat 1 wei short is taken
    assert submission(cl, rid, honest)["status"] == 1


def test_an_evicted_participant_may_take_a_smaller_seat_and_loses_nothing(cl, requester, seats):
    rid = open_round(cl, requester, Q, 10)
    small, mid, big = seats[:MAX_PARTICIPANTS - 1], seats[MAX_PARTICIPANTS - 1], seats[MAX_PARTICIPANTS]
    _fill(cl, rid, small, MIN_STAKE)
    _fill(cl, rid, [mid], ETHER // 2)
    quick(cl.deposit, sender=big, value=ETHER)
    _commit(cl, rid, big, "commitReplacing", mid)
    assert account(cl, mid)["free"] == ETHER // 2
    _commit(cl, rid, mid, "commitReplacing", small[0])  # back in, in place of a smaller seat
    assert submission(cl, rid, mid)["stake"] == ETHER // 2
    assert account(cl, small[0])["free"] == MIN_STAKE
    assert_books(cl)


def test_eviction_is_refused_unless_the_round_is_full_and_the_victim_smaller(cl, requester, seats):
    rid = open_round(cl, requester, Q, 10)
    a, b, c = seats[0], seats[1], seats[2]
    _fill(cl, rid, [a], ETHER)
    quick(cl.deposit, sender=b, value=2 * ETHER)
    with brownie.reverts(err("NotEvictable", rid, a.address, ETHER * START, 2 * ETHER * START)):
        _commit(cl, rid, b, "commitReplacing", a)  # not full
    _fill(cl, rid, seats[3:3 + MAX_PARTICIPANTS - 1], ETHER)
    with brownie.reverts(err("NotEvictable", rid, c.address, 0, 2 * ETHER * START)):
        _commit(cl, rid, b, "commitReplacing", c)  # not a committer
    quick(cl.deposit, sender=c, value=ETHER)
    with brownie.reverts(err("NotEvictable", rid, a.address, ETHER * START, ETHER * START)):
        _commit(cl, rid, c, "commitReplacing", a)  # equal stake is not enough


def test_finalize_takes_the_committers_after_eviction(cl, requester, seats):
    """The evicted address is no committer: a finalize list that still holds it is refused."""
    rid = open_round(cl, requester, Q, 10)
    _fill(cl, rid, seats[:MAX_PARTICIPANTS], MIN_STAKE)
    quick(cl.deposit, sender=seats[MAX_PARTICIPANTS], value=ETHER)
    _commit(cl, rid, seats[MAX_PARTICIPANTS], "commitReplacing", seats[0])
    info = round_info(cl, rid)
    brownie.chain.mine(timestamp=info["revealDeadline"] + 1)
    stale = sorted((m.address for m in seats[:MAX_PARTICIPANTS]), key=lambda a: int(a, 16))
    evicted = seats[0].address
    with brownie.reverts(err("NotACommitter", rid, evicted)):
        cl.finalize(rid, stale, [b""] * len(stale), {"from": requester})
    current = sorted((m.address for m in seats[1:MAX_PARTICIPANTS + 1]), key=lambda a: int(a, 16))
    tx = cl.finalize(rid, current, [b""] * len(current), {"from": requester})
    assert "RoundFailed" in tx.events  # nobody revealed: every committer slashed, the evicted one not
    assert len(tx.events["Slashed"]) == MAX_PARTICIPANTS
    assert evicted not in {e["participant"] for e in tx.events["Slashed"]}
