"""Shared fixtures for the plain-pytest client tests (run: pytest -p no:pytest-brownie tests/client).

Data (no chain, session scope):
    digits            Digits(X_train, y_train, X_query, y_query, num_classes): sklearn's load_digits
                      (ships with scikit-learn, no download), split once with a fixed seed.
    fitted_learners   fitted_learners(n, estimator="logistic_regression", alpha=1.0) -> n Learners, each fitted
                      on its own Dirichlet shard of digits' training part. Learners are fitted once per
                      (estimator, alpha) for max(n, 6) shards and shared: treat them as read-only.

Chain (module scope: one local Ganache per test module that asks for it, stopped by PID at the end):
    local_node        LocalNode(backend=BACKEND, accounts=ACCOUNTS, block_time=0): instant mining (a block per
                      transaction), block timestamps follow the wall clock plus any jump. Jump phases with
                      `local_node.increase_time(s)` or the `advance_to` fixture; never sleep. BACKEND is
                      $CL_TEST_BACKEND or "ganache", the chain users run (CL_TEST_BACKEND=anvil runs the
                      same tests several times faster).
    contract_address  a fresh ConsensusLearning deployed by account 0 (the requester / owner).
    gateway_for       gateway_for(i, **kw) -> Gateway of account i with fast polling and short backoff
                      (each call builds its own Web3, so gateways can be used from different threads).
    requester         gateway_for(0): opens rounds, owns the contract.
    accounts          AccountPool: accounts.take(n, deposit=10**18) -> n Gateways of accounts not used before
                      in this module (1..ACCOUNTS-1), each with `deposit` wei of free stake. Since commit()
                      locks the whole free stake, a fresh account per participant keeps tests independent.
    open_round        open_round(X, num_classes=10, commit=36, reveal=36, reward=10**18, uri=None, **kw) -> round id;
                      writes X as the query file in a temp dir and opens the round with its file:// URI; `kw`
                      (params=, audit=, audit_duration=, finalizer_fee_wei=) go to Gateway.open_round
                      (openRoundWith). 36 s is the contract's MIN_PHASE_DURATION.

Helpers (fixtures returning functions, so that no test imports conftest by module name):
    advance_to        advance_to(timestamp) -> mines a block whose timestamp is >= `timestamp` (block time)
    drive             drive(participants, round_id, queries=None) -> {address: [states]}: steps every
                      participant (in list order) until all are in a terminal state, jumping chain time to
                      the next moment one of them can act.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from eth_account import Account

from cl_client.chain import Gateway, connect, deploy
from cl_client.data import dirichlet_partition, save_shard, write_queries
from cl_client.models import Learner
from cl_client.node import LocalNode
from cl_client.participant import JumpClock, State
from cl_client.participant import drive as drive_round  # `drive` is the fixture below

ACCOUNTS = 80
BACKEND = os.environ.get("CL_TEST_BACKEND", "ganache")
ETH = 10**18
FAST = {"poll_interval": 0.05, "backoff": 0.05}


# ------------------------------------------------------------------ data


@dataclass(frozen=True)
class Digits:
    X_train: np.ndarray
    y_train: np.ndarray
    X_query: np.ndarray
    y_query: np.ndarray
    num_classes: int = 10


@lru_cache(maxsize=1)
def _digits() -> Digits:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order].astype(np.float64), y[order].astype(np.int64)
    return Digits(X[:1400], y[:1400], X[1400:1600], y[1400:1600])


@pytest.fixture
def journal_dir(tmp_path):
    return tmp_path / "journal"


@pytest.fixture
def queries(digits):
    """The first 64 query rows of `digits`."""
    return digits.X_query[:64]


@pytest.fixture(scope="session")
def digits() -> Digits:
    return _digits()


@lru_cache(maxsize=16)
def _learners(n: int, estimator: str, alpha: float) -> tuple[Learner, ...]:
    d = _digits()
    parts = dirichlet_partition(d.y_train, n, alpha, random_state=1, min_size=30)
    return tuple(Learner(estimator, random_state=i).fit(d.X_train[idx], d.y_train[idx]) for i, idx in enumerate(parts))


@pytest.fixture(scope="session")
def fitted_learners():
    def make(n: int, estimator: str = "logistic_regression", alpha: float = 1.0) -> list[Learner]:
        n = int(n)
        return list(_learners(max(n, 6), estimator, float(alpha))[:n])

    return make


# ------------------------------------------------------------------ chain


@pytest.fixture(scope="module")
def shard(tmp_path_factory, digits) -> Path:
    """A private shard of 200 training digits, saved as a shard file."""
    path = tmp_path_factory.mktemp("shard") / "shard.npz"
    save_shard(path, digits.X_train[:200], digits.y_train[:200])
    return path


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No CL_* settings leak in from the caller's shell, and no .cl-node.json from the repo is seen."""
    for name in list(os.environ):
        if name.startswith("CL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def local_node():
    with LocalNode(backend=BACKEND, accounts=ACCOUNTS, block_time=0) as node:
        yield node


@pytest.fixture(scope="module")
def contract_address(local_node) -> str:
    w3 = connect(local_node.url)
    address, _block = deploy(w3, Account.from_key(local_node.keys[0]))
    return address


@pytest.fixture(scope="module")
def gateway_for(local_node, contract_address):
    def make(index: int, **kwargs) -> Gateway:
        options = dict(FAST, **kwargs)
        w3 = options.pop("w3", None) or connect(local_node.url)
        return Gateway(w3, contract_address, Account.from_key(local_node.keys[index]), **options)

    return make


@pytest.fixture(scope="module")
def requester(gateway_for) -> Gateway:
    return gateway_for(0)


class AccountPool:
    """Hands out accounts 1..ACCOUNTS-1 of the module's node, each at most once."""

    def __init__(self, gateway_for):
        self._gateway_for = gateway_for
        self._next = 1

    def take(self, n: int, deposit: int = ETH, **gateway_kwargs) -> list[Gateway]:
        if self._next + n > ACCOUNTS:
            raise RuntimeError(f"the test node has only {ACCOUNTS} accounts; raise ACCOUNTS in conftest.py")
        gateways = []
        for i in range(self._next, self._next + n):
            gw = self._gateway_for(i, **gateway_kwargs)
            if deposit:
                gw.deposit(deposit)
            gateways.append(gw)
        self._next += n
        return gateways

    def index_of(self, gateway: Gateway, node: LocalNode) -> int:
        return node.addresses.index(gateway.sender)


@pytest.fixture(scope="module")
def accounts(gateway_for) -> AccountPool:
    return AccountPool(gateway_for)


@pytest.fixture(scope="module")
def query_dir():
    path = Path(tempfile.mkdtemp(prefix="cl-queries-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def open_round(requester, query_dir):
    counter = iter(range(10**6))

    def make(X, num_classes: int = 10, commit: int = 36, reveal: int = 36, reward: int = ETH,
             uri: str | None = None, **keywords) -> int:
        path = query_dir / f"queries-{next(counter)}.npz"
        queries_hash = write_queries(path, X)
        return requester.open_round(queries_hash, uri or path.as_uri(), len(X), num_classes, commit, reveal, reward,
                                    **keywords)

    return make


# ------------------------------------------------------------------ helpers


def _advance_to(node: LocalNode, gateway: Gateway, timestamp: int) -> int:
    """Mine a block whose timestamp is >= `timestamp`; returns the new latest block timestamp."""
    JumpClock(node, gateway).advance(timestamp, State.NEW)
    return gateway.latest_timestamp()


def _drive(participants, round_id: int, node: LocalNode, queries=None, max_steps: int = 50) -> dict[str, list[str]]:
    """cl_client.participant.drive on the test node (list order: a copier placed last sees the others' reveals)."""
    return drive_round(participants, round_id, JumpClock(node, participants[0].gateway), queries=queries,
                       max_passes=max_steps)


@pytest.fixture(scope="module")
def advance_to(local_node, requester):
    return lambda timestamp: _advance_to(local_node, requester, timestamp)


@pytest.fixture(scope="module")
def drive(local_node):
    return lambda participants, round_id, queries=None, max_steps=50: _drive(
        participants, round_id, local_node, queries, max_steps)
