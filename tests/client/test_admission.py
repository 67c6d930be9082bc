"""Gateway.commit into a full round: it takes the seat of the committer with the least stake if that is less
than its own (commitReplacing), and says in one line why not otherwise; seats() and committers() follow the
Committed and Evicted events, so finalize is given the committers after eviction."""
from __future__ import annotations

import numpy as np
import pytest

from web3.logs import DISCARD

from cl_client.chain import ChainError
from cl_client.commitment import commitment, new_salt
from cl_client.protocol import LIMITS

ETH = 10**18
Q = 4096  # maxParticipants(4096) = MAX_LABELS // 4096 = 13 seats


def _commit(gw, rid):
    return gw.commit(rid, commitment(gw.w3.eth.chain_id, gw.address, rid, gw.sender, bytes(Q), new_salt(), 2))


@pytest.fixture(scope="module")
def full_round(requester, accounts, open_round):
    seats = int(requester._call("maxParticipants", Q))
    rid = open_round(np.zeros((Q, 2)), num_classes=2, commit=3600, reveal=3600)
    holders = accounts.take(seats, deposit=ETH // 10)
    holders[3].deposit(ETH // 10)  # one seat holds 0.2 ETH; the rest 0.1 ETH
    for gw in holders:
        _commit(gw, rid)
    return rid, holders


def test_a_larger_stake_takes_the_smallest_seat_and_committers_follow(requester, accounts, full_round):
    rid, holders = full_round
    newcomer, = accounts.take(1, deposit=ETH)
    receipt = _commit(newcomer, rid)
    (evicted,) = newcomer.contract.events.Evicted().process_receipt(receipt, errors=DISCARD)
    smallest = min((gw.sender for gw in holders if gw is not holders[3]), key=lambda a: int(a, 16))
    assert evicted["args"]["victim"] == smallest  # least stake, ties to the lowest address
    seats = requester.seats(rid)
    assert smallest not in seats and seats[newcomer.sender] == ETH * LIMITS.reputation_start  # weight
    assert requester.committers(rid) == sorted(seats, key=lambda a: int(a, 16))
    assert requester.account_info(smallest).free == ETH // 10  # unlocked, no penalty
    assert requester.round(rid).commit_count == len(holders)


def test_a_stake_no_larger_than_every_seat_is_refused_in_one_line(accounts, full_round):
    rid, _ = full_round
    small, = accounts.take(1, deposit=ETH // 10)
    with pytest.raises(ChainError) as exc_info:
        _commit(small, rid)
    message = str(exc_info.value)
    assert "\n" not in message and f"round {rid} is full" in message and "not less than your" in message
