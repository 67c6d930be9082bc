"""Fixtures for the ConsensusLearning Brownie tests.

Run on a private Ganache: `python tools/brownie_net.py run -- brownie test tests/contract` (what `make test`
does), or with a plain `brownie test` on Brownie's default network (Anvil).
The contract is deployed once per module; `fn_isolation` snapshots the chain after the module fixtures
and reverts it after every test, so tests never see each other's transactions.
Phase fixtures (`committed`, `revealed`, ...) are module-scoped: a module should use one of them (or
several that build on each other), because once created their state is part of every later snapshot.
"""
import pytest
from brownie import network

from contract_helpers import (
    BLOCK_GAS_LIMIT,
    ETHER,
    Ballot,
    commit,
    finalize,
    open_round,
    reveal,
    to_finalizable,
    to_reveal_phase,
)


def pytest_configure(config):
    # Brownie's own chain.sleep/mine/revert call its deprecated rpc.* helpers: noise, not our warnings.
    config.addinivalue_line("filterwarnings", "ignore:rpc\\..* should not be called directly:FutureWarning")


@pytest.fixture(scope="session", autouse=True)
def fixed_gas_limit():
    """Send every transaction with a fixed gas limit instead of eth_estimateGas.

    Brownie 1.22.2 crashes (AttributeError: 'NoneType' object has no attribute 'startswith') when it
    parses Ganache 7's revert payload from eth_estimateGas, whose transaction hash is null. Without the
    estimate, a reverting transaction is mined and Brownie decodes its custom error from the trace, which
    is what `brownie.reverts(...)` compares. Gas actually used is unaffected.
    """
    network.gas_limit(BLOCK_GAS_LIMIT)
    yield
    network.gas_limit("auto")


@pytest.fixture(scope="session", autouse=True)
def anvil_mine_at_timestamp():
    """Let `chain.mine(timestamp=...)` work on Brownie's default network (Anvil) too.

    Brownie 1.22.2's Anvil backend sends `evm_mine` with the bare timestamp as its JSON-RPC params
    (brownie/network/rpc/anvil.py: `_request("evm_mine", blocks)`), which Anvil rejects as
    "Invalid request"; its Ganache backend sends a one-element list, which is what Anvil expects too.
    """
    from brownie.network.rpc import anvil

    brownie_mine = anvil.mine

    def mine(timestamp=None):
        anvil._request("evm_mine", [] if timestamp is None else [timestamp])

    anvil.mine = mine
    yield
    anvil.mine = brownie_mine


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


# --------------------------------------------------------------------------- accounts


@pytest.fixture(scope="module")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def requester(accounts):
    return accounts[1]


@pytest.fixture(scope="module")
def alice(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def bob(accounts):
    return accounts[3]


@pytest.fixture(scope="module")
def carol(accounts):
    return accounts[4]


@pytest.fixture(scope="module")
def dave(accounts):
    return accounts[5]


@pytest.fixture(scope="module")
def erin(accounts):
    return accounts[6]


@pytest.fixture(scope="module")
def frank(accounts):
    return accounts[7]


@pytest.fixture(scope="module")
def outsider(accounts):
    """Never deposits or commits."""
    return accounts[19]


@pytest.fixture(scope="module")
def voters(alice, bob, carol, dave, erin):
    return [alice, bob, carol, dave, erin]


# --------------------------------------------------------------------------- contracts


@pytest.fixture(scope="module")
def cl(ConsensusLearning, owner):
    return ConsensusLearning.deploy({"from": owner})


@pytest.fixture(scope="module")
def staked(cl, voters, frank):
    """Every voter and Frank have deposited 1 ether of free stake."""
    for v in voters + [frank]:
        cl.deposit({"from": v, "value": ETHER})
    return voters


# --------------------------------------------------------------------------- a standard round
# Q = 8 queries, K = 4 classes, reward 1 ether; six voters with 1 ether each. Alice, Bob and Carol vote
# TRUTH, so it is the consensus. Agreement is chance-corrected and must beat luck: TRUTH's modal label occurs
# M = 2 times, so with the default 500 bps a revealer agrees iff matches >= 2, (matches - 2) * 10000 >= 500 * 6
# and (matches - 2)^2 * 8 >= 2^2 * 2 * 6 (AGREEMENT_SIGMAS = 2), i.e. matches >= 5 (oracle.min_matches(8, 500, 2),
# checked in test_finalize.py): Dave matches 5 of 8 (agrees), Erin 4 of 8 (deviates, just below). Frank commits
# and never reveals.

STD_Q, STD_K, STD_REWARD = 8, 4, ETHER
TRUTH = bytes([0, 1, 2, 3, 0, 1, 2, 3])
DAVE = bytes([0, 1, 2, 3, 0, 2, 3, 0])  # matches the first five
ERIN = bytes([0, 1, 2, 3, 1, 2, 3, 0])  # matches the first four
FRANK = bytes([3, 3, 3, 3, 3, 3, 3, 3])  # committed, never revealed


@pytest.fixture(scope="module")
def round_id(cl, requester, staked):
    """An open round in its Commit phase with nobody committed yet."""
    return open_round(cl, requester, STD_Q, STD_K, STD_REWARD)


@pytest.fixture(scope="module")
def committed(cl, round_id, alice, bob, carol, dave, erin, frank) -> list[Ballot]:
    """All six committed (Frank last); still in the Commit phase."""
    votes = [(alice, TRUTH), (bob, TRUTH), (carol, TRUTH), (dave, DAVE), (erin, ERIN), (frank, FRANK)]
    return [commit(cl, round_id, a, labels) for a, labels in votes]


@pytest.fixture(scope="module")
def reveal_phase(cl, round_id, committed) -> list[Ballot]:
    """All six committed; the round is in its Reveal phase, nobody revealed yet."""
    to_reveal_phase(cl, round_id)
    return committed


@pytest.fixture(scope="module")
def revealed(cl, round_id, reveal_phase) -> list[Ballot]:
    """Everyone but Frank revealed; the round is Finalizable. Returns the five revealed ballots."""
    reveal(cl, round_id, reveal_phase[:5])
    to_finalizable(cl, round_id)
    return reveal_phase[:5]


@pytest.fixture(scope="module")
def finalized(cl, round_id, requester, revealed):
    """The standard round finalized by the requester. Returns the finalize transaction."""
    return finalize(cl, round_id, revealed, requester)
