"""Measure complete consensus-learning rounds through Brownie (shared by gas_report.py, benchmark.py and
tests/contract/test_bench_quick.py, so the benchmark code is exercised by `make test`).

One call of `run_round` drives every given contract through the same round -- same participants, stakes,
labels and salts -- and records the gas of each transaction:

    deposit -> openRound -> commit (each participant) -> reveal (each) -> finalize -> claim (each)

`Ours` drives ConsensusLearning (one reveal and one finalize transaction). `Naive` drives the reference
NaiveConsensusLearning, whose reveal and finalize do not fit a 30M block at large Q and are therefore sent
as resumable batches (revealBatch / finalizeBatch with a 30M gas limit) until done; the batches are counted.

Optimistic settlement (`OptimisticRounds`, `run_optimistic_pipelined`, `worst_case_optimistic`) has rounds of
up to optimisticSeats(Q, K) participants (at most 1,677), so its transactions go out in bulk (`Bulk`: signed by
their senders, sent in JSON-RPC batches, mined together) instead of one Brownie call each; every one is recorded
(gas used, input size, EIP-7623's calldata floor) and checked against EIP-7825's gas cap and 128 KB less the
transaction's envelope (`check_caps`).

The results are tools/benchdoc.py's RoundResult (and FraudResult); rendering them (tables, docs/benchmarks.md,
the plot) is that module's job, not this one's.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import re
import time
from dataclasses import dataclass

import numpy as np
from brownie import accounts, chain, web3
from brownie.exceptions import TransactionError
from brownie.network.transaction import TransactionReceipt
from eth_utils import keccak

from cl_client.commitment import commitment, pack_labels
from cl_client.protocol import LIMITS
from tools.benchdoc import (
    BLOCK_GAS_LIMIT,
    GAS_CAP,
    INPUT_CAP,
    FraudResult,
    OpGas,
    RoundResult,
    TxRecord,
)

K = 10
PHASE_SECONDS = 86_400  # long phases: real time spent sending transactions never crosses a deadline
HONEST_SHARE = 0.75  # share of participants that label well
HONEST_ACCURACY = 0.8  # how often a good participant agrees with the hidden truth
REWARD = 10**18
QUERIES_HASH = keccak(b"consensus-learning benchmark queries")
MAX_BATCHES = 64  # a batched call that needs more than this is a bug, not a slow contract
_FUND_WEI = 50 * 10**18  # what a local account gets whenever it falls below half of it
_TX_BASE_GAS = 21_000


def _field_index(contract, function: str, field: str) -> int:
    """Position of `field` in the struct `function` returns (the two contracts' structs differ)."""
    abi = next(a for a in contract.abi if a.get("name") == function)
    return [c["name"] for c in abi["outputs"][0]["components"]].index(field)


@contextlib.contextmanager
def quiet():
    """Silence Brownie's per-transaction printing (its contract calls ignore the `silent` setting)."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


def stake_of(index: int) -> int:
    """Deposit of the index-th participant: unequal, so that stake weighting matters."""
    return 10**18 + index * 125 * 10**15


def make_labels(n: int, q: int, k: int = K, seed: int = 0) -> tuple[bytes, list[bytes]]:
    """A hidden truth and n label vectors (one byte per query, each < k).

    The first round(HONEST_SHARE * n) participants agree with the truth with probability HONEST_ACCURACY
    (otherwise a uniform label); the others label uniformly at random.
    """
    if n < 1 or q < 1 or not 2 <= k <= 256:
        raise ValueError(f"need n >= 1, q >= 1 and 2 <= k <= 256, got n={n}, q={q}, k={k}")
    rng = random.Random(seed)
    truth = bytes(rng.randrange(k) for _ in range(q))
    honest = max(1, round(HONEST_SHARE * n))
    rows = []
    for i in range(n):
        if i < honest:
            rows.append(bytes(t if rng.random() < HONEST_ACCURACY else rng.randrange(k) for t in truth))
        else:
            rows.append(bytes(rng.randrange(k) for _ in range(q)))
    return truth, rows


def bench_salt(seed: int, index: int) -> bytes:
    """A reproducible 32-byte salt, so that repeated runs send the same bytes and measure the same gas.
    Benchmarks only: a real participant uses cl_client.commitment.new_salt() (a secret)."""
    return keccak(b"cl-bench-salt-%d-%d" % (seed, index))


def _on_anvil() -> bool:
    return web3.client_version.lower().startswith("anvil")


def participants(n: int) -> list:
    """n funded accounts other than accounts[0] (the owner, requester and finalizer). The node's own
    accounts come first; deterministic local accounts are added (and funded) when there are too few.
    On Anvil an account is funded by anvil_setBalance (one request, no transaction: fast enough for the
    optimistic rounds' thousand and more participants); elsewhere by a transfer from a rich account."""
    i = 0
    while len(accounts) < n + 1:
        accounts.add(keccak(b"cl-bench-participant-%d" % i))
        i += 1
    chosen = list(accounts)[1 : n + 1]
    needy = [a for a in chosen if a.balance() < _FUND_WEI // 2]
    if needy and _on_anvil():
        for who in needy:
            web3.provider.make_request("anvil_setBalance", [who.address, hex(_FUND_WEI)])
    elif needy:
        funders = [a for a in accounts if a.balance() > 4 * _FUND_WEI]
        if not funders:
            raise RuntimeError("no account has enough ether left to fund the benchmark participants")
        for j, who in enumerate(needy):
            funder = funders[j % len(funders)]
            _outlast_drop(lambda: funder.transfer(who, _FUND_WEI), "funding a participant")
    return chosen


def intrinsic_gas(tx) -> int:
    """21000 plus calldata gas (16 per non-zero byte, 4 per zero byte) of a receipt's transaction."""
    data = bytes.fromhex(str(tx.input)[2:])
    zeros = data.count(0)
    return _TX_BASE_GAS + 16 * (len(data) - zeros) + 4 * zeros


def _outlast_drop(transact, what: str):
    """Run `transact` (any Brownie call that sends a transaction) and return what it returns, or, if Brownie
    reported the transaction dropped while the node was still mining it, its receipt (a TransactionReceipt,
    once mined; RuntimeError if it reverted).

    Brownie 1.22 can report "Tx dropped without known replacement" for a transaction the node is still
    mining: its nonce-vs-lookup check races the node. Seen on Anvil under load: a 30M-gas naive batch, a
    deployment, an ether transfer. Every transaction `make bench` sends goes through here."""
    try:
        return transact()
    except TransactionError as exc:
        found = re.search(r"0x[0-9a-fA-F]{64}", str(exc))
        if "dropped" not in str(exc) or not found:
            raise
        web3.eth.wait_for_transaction_receipt(found.group(0), timeout=600)
        tx = TransactionReceipt(found.group(0), silent=True)
        if tx.status != 1:
            raise RuntimeError(f"{what} reverted: {tx.revert_msg}") from None
        return tx


def send(method, *args):
    """Call a Brownie contract method (a transaction) and return its receipt (`_outlast_drop`)."""
    *args, params = args
    # Brownie snapshots the chain after every transaction (for chain.undo) in a background thread: an
    # extra RPC per transaction that is no part of the protocol, so the measurements skip it.
    params = {**params, "_skip_undo": True}
    return _outlast_drop(lambda: method(*args, params), method._name)


def deploy(container, owner):
    """Deploy `container` afresh from `owner` (`_outlast_drop`)."""
    out = _outlast_drop(lambda: container.deploy({"from": owner}), f"deploying {container._name}")
    if isinstance(out, TransactionReceipt):  # the race: the receipt, not the contract
        if not out.contract_address:
            raise RuntimeError(f"deploying {container._name} created no contract")
        return container.at(out.contract_address)
    return out


def _cool_down(tx) -> None:
    """After a block fuller than the EIP-1559 target, mine an empty one so that the base fee does not
    compound over consecutive full naive batches: from 1 gwei it would pass Ganache's fixed 2 gwei gas
    price after six of them, and transactions would stop being mined. Changes no measured gas."""
    if tx.gas_used > BLOCK_GAS_LIMIT // 2:
        chain.mine()


def record(op: OpGas, txs: list) -> None:
    """Add one participant's receipts (several for a batched operation) to an operation's gas."""
    op.add([t.gas_used for t in txs], [intrinsic_gas(t) for t in txs])


class Ours:
    """Drives ConsensusLearning: one reveal and one finalize transaction."""

    name = "ours"
    packs = True  # labels travel 4 bits each when K <= 16 (cl_client.commitment)

    def __init__(self, container):
        self.container = container
        self.contract = None

    def deploy(self, owner) -> None:
        self.contract = deploy(self.container, owner)

    def wire(self, labels: bytes, k: int) -> bytes:
        """`labels` (one byte per query) as this contract's reveal takes them."""
        return pack_labels(labels, k) if self.packs else bytes(labels)

    def commitment(self, rid: int, who: str, labels: bytes, salt: bytes, k: int) -> bytes:
        # the naive contract hashes one byte a label: the encoding cl_client uses for K > 16
        return commitment(chain.id, self.contract.address, rid, who, labels, salt, k if self.packs else 256)

    def reveal(self, rid: int, who, labels: bytes, salt: bytes) -> list:
        return [send(self.contract.reveal, rid, labels, salt, {"from": who})]

    def finalize(self, rid: int, order: list[str], rows: list[bytes], caller) -> list:
        tx = send(self.contract.finalize, rid, order, rows, {"from": caller, "gas_limit": BLOCK_GAS_LIMIT})
        _cool_down(tx)
        return [tx]


class Naive(Ours):
    """Drives NaiveConsensusLearning: batched reveal and finalize, each batch up to a 30M block."""

    name = "naive"
    packs = False  # one byte a label, always

    def reveal(self, rid: int, who, labels: bytes, salt: bytes) -> list:
        txs = []
        while True:
            tx = send(self.contract.revealBatch, rid, labels, salt, {"from": who, "gas_limit": BLOCK_GAS_LIMIT})
            txs.append(tx)
            _cool_down(tx)
            if "Revealed" in tx.events:
                return txs
            if len(txs) >= MAX_BATCHES or self.contract.revealedUpTo(rid, who) == 0:
                raise RuntimeError(f"naive revealBatch made no progress after {len(txs)} batches")

    def finalize(self, rid: int, order: list[str], rows: list[bytes], caller) -> list:
        txs = []
        while True:
            tx = send(self.contract.finalizeBatch, rid, {"from": caller, "gas_limit": BLOCK_GAS_LIMIT})
            txs.append(tx)
            _cool_down(tx)
            if "RoundFinalized" in tx.events or "RoundFailed" in tx.events:
                return txs
            if len(txs) >= MAX_BATCHES:
                raise RuntimeError(f"naive finalizeBatch not done after {len(txs)} batches")


def _read_outcome(res: RoundResult, c, rid: int, people: list) -> None:
    """Record round `rid`'s consensus and each participant's matches and status (before any claim)."""
    res.consensus = bytes(c.consensus(rid))
    matches_at, status_at = (_field_index(c, "getSubmission", f) for f in ("matches", "status"))
    for p in people:
        info = c.getSubmission(rid, p)
        res.matches.append(int(info[matches_at]))
        res.statuses.append(int(info[status_at]))


def run_round(drivers: list, n: int, q: int, k: int = K, seed: int = 0, labels=None) -> dict[str, RoundResult]:
    """Deploy each driver's contract afresh and drive one complete round on it with n participants and q
    queries; returns {driver.name: RoundResult}. `labels` = (truth, rows) replaces make_labels(n, q, k, seed).
    The round must reach quorum (it does with these labels)."""
    owner = accounts[0]
    people = participants(n)
    truth, rows = labels if labels is not None else make_labels(n, q, k, seed)
    if len(rows) != n or any(len(r) != q for r in rows):
        raise ValueError(f"labels must be {n} rows of {q} bytes")
    salts = [bench_salt(seed, i) for i in range(n)]
    results = {d.name: RoundResult(d.name, n, q, k, truth=truth) for d in drivers}
    rids = {}
    clock = {d.name: 0.0 for d in drivers}

    def timed(d, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        clock[d.name] += time.perf_counter() - t0
        return out

    for d in drivers:
        d.deploy(owner)
        for i, p in enumerate(people):
            send(d.contract.deposit, {"from": p, "value": stake_of(i)})
    for d in drivers:
        timed(d, send, d.contract.openRound, QUERIES_HASH, "file://bench", q, k, PHASE_SECONDS, PHASE_SECONDS,
                   {"from": owner, "value": REWARD})
        rids[d.name] = d.contract.roundCount()
    for d in drivers:
        c, rid = d.contract, rids[d.name]
        for i, p in enumerate(people):
            h = d.commitment(rid, p.address, rows[i], salts[i], k)
            record(results[d.name].commit, [timed(d, send, c.commit, rid, h, {"from": p})])
    chain.sleep(PHASE_SECONDS + 1)
    chain.mine()
    for d in drivers:
        for i, p in enumerate(people):
            record(results[d.name].reveal, timed(d, d.reveal, rids[d.name], p, d.wire(rows[i], k), salts[i]))
    chain.sleep(PHASE_SECONDS + 1)
    chain.mine()
    order = sorted(range(n), key=lambda i: int(people[i].address, 16))
    for d in drivers:
        txs = timed(d, d.finalize, rids[d.name], [people[i].address for i in order],
                    [d.wire(rows[i], k) for i in order], owner)
        record(results[d.name].finalize, txs)
    for d in drivers:
        c, rid, res = d.contract, rids[d.name], results[d.name]
        _read_outcome(res, c, rid, people)
        for p in people:
            record(res.claim, [timed(d, send, c.claim, rid, {"from": p})])
        res.seconds = clock[d.name]
        res.contract_address = c.address
    return results


# The measured round's commit reuses a submission slot: with SUBMISSION_SLOTS = 16, round 18 takes round 2's.
PIPELINE_ROUNDS = LIMITS.submission_slots + 2


def run_pipelined(container, n: int, q: int, k: int = K, seed: int = 0, rounds: int = PIPELINE_ROUNDS) -> RoundResult:
    """The merged path in its steady state: `rounds` rounds run back to back (each opened when the one before
    enters its Reveal phase, after the one before that is finalized) and every participant holds two lots.
    Step t (t >= 1): finalize round t - 2, open round t, and every participant sends submit(claim t - 2,
    reveal t - 1, commit t). Measured: the last step's submits and the finalize of the round they reveal,
    i.e. one participant-round. With the default PIPELINE_ROUNDS its commit reuses an old submission slot, as
    a steady participant's does. Deploys afresh."""
    if rounds < 3:
        raise ValueError(f"a steady state needs at least 3 rounds, got {rounds}")
    owner = accounts[0]
    people = participants(n)
    truth, rows = make_labels(n, q, k, seed)
    wire = [pack_labels(r, k) for r in rows]
    res = RoundResult("ours (submit)", n, q, k, truth=truth)
    c = deploy(container, owner)
    order = sorted(range(n), key=lambda i: int(people[i].address, 16))

    def open_round():
        send(c.openRound, QUERIES_HASH, "file://bench", q, k, PHASE_SECONDS, PHASE_SECONDS, {"from": owner, "value": REWARD})
        return int(c.roundCount())

    def salt(rid, i):
        return bench_salt(seed * 1000 + rid, i)

    def h(rid, i):
        return commitment(chain.id, c.address, rid, people[i].address, rows[i], salt(rid, i), k)

    def deadline(rid, field):
        return int(c.getRound(rid)[_field_index(c, "getRound", field)])

    def finalize(rid):
        return send(c.finalize, rid, [people[i].address for i in order], [wire[i] for i in order],
                    {"from": owner, "gas_limit": BLOCK_GAS_LIMIT})

    rids = [open_round()]
    for i, p in enumerate(people):  # two lots: commit locks all that is free, so the second comes after
        send(c.deposit, {"from": p, "value": stake_of(i)})
        send(c.commit, rids[0], h(rids[0], i), {"from": p})
        send(c.deposit, {"from": p, "value": stake_of(i)})
    for t in range(1, rounds):
        due = [deadline(rids[t - 1], "commitDeadline")] + ([deadline(rids[t - 2], "revealDeadline")] if t >= 2 else [])
        chain.sleep(max(due) - chain.time() + 1)
        chain.mine()
        claim_round = rids[t - 2] if t >= 2 else 0
        if claim_round:
            finalize(claim_round)
        rids.append(open_round())
        for i, p in enumerate(people):
            tx = send(c.submit, claim_round, rids[t - 1], wire[i], salt(rids[t - 1], i), rids[t], h(rids[t], i),
                      {"from": p})
            if t == rounds - 1:
                record(res.submit, [tx])
    measured = rids[-2]
    chain.sleep(deadline(measured, "revealDeadline") - chain.time() + 1)
    chain.mine()
    record(res.finalize, [finalize(measured)])
    _read_outcome(res, c, measured, people)
    res.contract_address = c.address
    return res


# ------------------------------------------------------------------------------------------ worst case


def adversarial(n: int, q: int, k: int) -> list[bytes]:
    """Worst-case labels for finalize: row i, query j is (7j + 13i + j // 32) % k -- for k >= n every query
    has n distinct labels, so the tally keeps min(n, k) label rows per query (tests/contract/test_gas_cap.py
    and `make bench` both use these)."""
    return [bytes((j * 7 + i * 13 + j // 32) % k for j in range(q)) for i in range(n)]


def worst_case_audit(rows: list[bytes], q: int, max_audit: int):
    """The largest audit a round of q queries can hide (G = min(max_audit, q) evenly spread indices), with row
    0's labels as its truth: the other rows answer it wrong, so the crowd rule scores every revealer."""
    from cl_client.protocol import Audit

    g = min(max_audit, q)
    step = q // g
    indices = tuple(range(0, step * g, step))
    return Audit(indices, tuple(rows[0][i] for i in indices), keccak(b"cl-bench-worst-case-audit"))


def worst_case_round(container, n: int, q: int, k: int) -> dict[str, int]:
    """One round of ConsensusLearning at (n, q, k) built to cost the most: adversarial labels, the largest
    audit, revealed, with auditBoundBps 0 (every revealer passes the bound, stays in the tally and is scored by
    the crowd rule). Returns {transaction: the most gas one of its kind used}; the caller compares with
    GAS_CAP. Deploys afresh; needs n participants (see `participants`)."""
    from cl_client.protocol import DEFAULT_PARAMS
    from dataclasses import replace

    owner = accounts[0]
    people = participants(n)
    c = deploy(container, owner)
    rows = adversarial(n, q, k)
    wire = [pack_labels(r, k) for r in rows]
    audit = worst_case_audit(rows, q, int(c.MAX_AUDIT_QUERIES()))
    params = replace(DEFAULT_PARAMS, audit_bound_bps=0)
    spec = (QUERIES_HASH, q, k, PHASE_SECONDS, PHASE_SECONDS, PHASE_SECONDS, len(audit.indices),
            audit.commitment(chain.id, c.address, owner.address, QUERIES_HASH), 1, params.as_tuple(), False)
    used: dict[str, int] = {}

    def note(name, tx):
        used[name] = max(used.get(name, 0), int(tx.gas_used))

    note("openRoundWith", send(c.openRoundWith, spec, "file://bench-worst-case", {"from": owner, "value": REWARD + 1}))
    rid = c.roundCount()
    salts = [bench_salt(1, i) for i in range(n)]
    for i, p in enumerate(people):
        note("deposit", send(c.deposit, {"from": p, "value": stake_of(i)}))
        note("commit", send(c.commit, rid, commitment(chain.id, c.address, rid, p.address, rows[i], salts[i], k),
                            {"from": p}))
    chain.sleep(PHASE_SECONDS + 1)
    chain.mine()
    for i, p in enumerate(people):
        note("reveal", send(c.reveal, rid, wire[i], salts[i], {"from": p}))
    chain.sleep(PHASE_SECONDS + 1)
    chain.mine()
    note("revealAudit", send(c.revealAudit, rid, audit.indices_bytes(), audit.labels_bytes(), audit.salt,
                             {"from": owner}))
    order = sorted(range(n), key=lambda i: int(people[i].address, 16))
    note("finalize", send(c.finalize, rid, [people[i].address for i in order], [wire[i] for i in order],
                          {"from": owner, "gas_limit": BLOCK_GAS_LIMIT}))
    for p in (people[0], people[-1]):
        note("claim", send(c.claim, rid, {"from": p}))
    return used


# ------------------------------------------------------------------------------------ optimistic rounds
#
# Optimistic settlement (docs/protocol.md, "Optimistic settlement"): after the reveals a keeper posts the
# consensus and every committer's match count with a bond (propose), and the round settles by that post once
# its challenge window is over (the first claim confirms it). cl_client.optimistic builds the posts and the
# fraud proofs; nothing here re-implements a rule of the protocol.
#
# These rounds have up to optimisticSeats(Q, K) committers (1,677 at most: the post's gas budget binds before
# MAX_OPTIMISTIC_PARTICIPANTS = 2,048 does), so their transactions go through `Bulk` (all of a step's
# transactions sent before any receipt is awaited) rather than one Brownie call each.
#
# The input cap: geth's pool takes a transaction of at most CALLDATA_CAP = 128 KB encoded, TX_ENVELOPE of which
# its other fields, signature and RLP headers take, so INPUT_CAP bytes of input (tools/benchdoc).
CHALLENGE_WINDOW = 3_600  # the local chain's terms: an hour (PHASE_SECONDS is a day, so a window ends inside a phase)
BOND_BASE = 3 * 10**16  # the constructor's bonds, kept: only the window is shortened
BOND_PER_REVEALER = 10**15
STAKE_CYCLE = 64  # participant i stakes stake_of(i % STAKE_CYCLE): unequal, and bounded at any N
QUERY_PROOF_BYTES = 120_000  # a query proof transaction's input, at most (cl_client.optimistic.find_fraud's default)
PHASE_FINALIZABLE, PHASE_FINALIZED, PHASE_PROPOSED = 3, 4, 7  # IConsensusLearning.Phase


def optimistic_stake(index: int) -> int:
    """Deposit of the index-th participant of an optimistic round: stake_of(index % STAKE_CYCLE). With
    stake_of itself the last quarter (the random labellers) would hold most of the weight at N = 1,000."""
    return stake_of(index % STAKE_CYCLE)


def _topic(contract, event: str) -> str:
    """Topic 0 of `event` of `contract`, as a lower-case hex string."""
    t = contract.topics[event]
    return (t if isinstance(t, str) else "0x" + bytes(t).hex()).lower()


@dataclass
class Sent:
    """A mined transaction sent by `Bulk`."""

    op: str
    sender: str
    gas_used: int
    calldata: int
    intrinsic: int  # 21000 + 16 per non-zero and 4 per zero byte of input (as `intrinsic_gas`)
    logs: list  # the receipt's logs as the node sent them: {"topics": [hex, ...], "data": hex, ...}
    tx_hash: str

    @property
    def floor(self) -> int:
        """EIP-7623's calldata floor: 21000 + 10 per zero and 40 per non-zero byte of input (from `intrinsic`)."""
        nonzero = (self.intrinsic - _TX_BASE_GAS - 4 * self.calldata) // 12
        return _TX_BASE_GAS + 10 * (self.calldata - nonzero) + 40 * nonzero

    def record(self) -> TxRecord:
        return TxRecord(self.op, self.gas_used, self.calldata, self.floor)

    def has(self, topic: str) -> bool:
        """Whether the transaction emitted an event with this topic 0."""
        return any(log["topics"] and log["topics"][0].lower() == topic for log in self.logs)


class Bulk:
    """Transactions sent many at a time, as many participants' own clients would send them: each signed by
    its sender (locally for a Brownie LocalAccount, by the node for one of its own accounts), nonces counted
    here, every transaction of a step sent (in JSON-RPC batches) before any receipt is asked for. Brownie's
    one call at a time (a gas estimate, the receipt, its event decoding: ~20 ms a transaction) would take most
    of the run at N = 1,000. A transaction's gas limit is its own (`call`'s gas) or its calldata floor plus
    EXECUTION_MARGIN (gas used does not depend on it; the caller checks gas used against GAS_CAP). Keeps `log`:
    a TxRecord of every transaction sent."""

    BATCH = 200  # requests per JSON-RPC batch, at most ...
    BATCH_BYTES = 2_000_000  # ... and about this many bytes (Anvil refuses a body of 10 MB)
    EXECUTION_MARGIN = 500_000  # a transaction's default gas limit: its calldata floor plus this

    def __init__(self, gas_limit: int = BLOCK_GAS_LIMIT):
        import requests
        from brownie.network.account import LocalAccount

        self._local = LocalAccount
        self.gas_limit = gas_limit
        self.chain_id = web3.eth.chain_id
        self.nonces: dict[str, int] = {}
        self.keys: dict[str, object] = {}  # address -> eth_keys PrivateKey (parsing a key costs an EC multiply)
        self.log: list[TxRecord] = []
        self.url = web3.provider.endpoint_uri
        self.anvil = _on_anvil()
        self.http = requests.Session()
        self._id = 0

    def rpc(self, requests_: list[tuple[str, list]]) -> list:
        """Results of JSON-RPC requests [(method, params)], in order, sent in batches (BATCH, BATCH_BYTES);
        RuntimeError on an error answer."""
        out = []
        chunks_, size = [[]], 0
        for method, params in requests_:
            weight = len(json.dumps(params)) + 100
            if chunks_[-1] and (len(chunks_[-1]) >= self.BATCH or size + weight > self.BATCH_BYTES):
                chunks_.append([])
                size = 0
            chunks_[-1].append((method, params))
            size += weight
        for chunk in chunks_:
            if not chunk:
                continue
            body = []
            for method, params in chunk:
                self._id += 1
                body.append({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
            answers = self.http.post(self.url, json=body, timeout=600).json()
            if isinstance(answers, dict):  # one error for the whole batch
                raise RuntimeError(f"JSON-RPC batch of {len(body)} ({body[0]['method']}, ...) refused: {answers}")
            by_id = {a["id"]: a for a in answers}
            for b in body:
                a = by_id[b["id"]]
                if "error" in a:
                    raise RuntimeError(f"{b['method']} failed: {a['error']} ({str(b['params'])[:120]})")
                out.append(a["result"])
        return out

    def _nonce(self, address: str) -> int:
        if address not in self.nonces:
            self.nonces[address] = web3.eth.get_transaction_count(address, "pending")
        n = self.nonces[address]
        self.nonces[address] = n + 1
        return n

    def _key(self, who):
        if who.address not in self.keys:
            from eth_keys import keys

            self.keys[who.address] = keys.PrivateKey(bytes(who._acct.key))
        return self.keys[who.address]

    def _limit(self, data: bytes, gas: int | None) -> int:
        """A transaction's gas limit: `gas` if given, else its calldata floor (EIP-7623: 10 per zero byte, 40 per
        other byte) plus EXECUTION_MARGIN, at most `gas_limit`. Small limits let a block hold many."""
        if gas is not None:
            return int(gas)
        zeros = bytes(data).count(0)
        return min(self.gas_limit, _TX_BASE_GAS + 10 * zeros + 40 * (len(data) - zeros) + self.EXECUTION_MARGIN)

    def _mine_all(self, base_fee: int) -> None:
        """Mine blocks until the node's pool is empty (RuntimeError if five blocks in a row take nothing). Each
        block's base fee is set back to `base_fee`: full blocks would raise it 12.5 % a block, past the batch's
        fee cap (the pool then drops the rest) and, over hundreds of blocks, past any balance."""
        idle, before = 0, None
        while True:
            status = self.rpc([("txpool_status", [])])[0]
            waiting = int(status["pending"], 16) + int(status["queued"], 16)
            if waiting == 0:
                return
            idle = idle + 1 if waiting == before else 0
            if idle >= 5:
                raise RuntimeError(f"{waiting} transactions stay in the pool (a nonce gap, or a gas limit above "
                                   "the block's)")
            before = waiting
            self.rpc([("anvil_setNextBlockBaseFeePerGas", [hex(base_fee)]), ("evm_mine", [])])

    def _receipts(self, hashes: list[str]) -> list[dict]:
        """The receipts of `hashes` (mined: see send)."""
        got = self.rpc([("eth_getTransactionReceipt", [h]) for h in hashes])
        missing = [h for h, r in zip(hashes, got) if r is None]
        if missing:
            raise RuntimeError(f"{len(missing)} of {len(hashes)} transactions were not mined (dropped from the pool?), "
                               f"e.g. {missing[0]}")
        return got

    def send(self, calls: list) -> list[Sent]:
        """calls: [(op, sender, to, data (bytes), value, gas limit or None)]; returns their Sents in the same
        order. RuntimeError (after all are mined) if one reverted, with its custom error decoded where possible."""
        from eth_account import Account

        # EIP-1559 fees with no tip: a legacy price above the base fee would be a tip, and Anvil's eth_gasPrice
        # (the base fee plus recent tips) would then grow with every batch
        base_fee = int(web3.eth.get_block("latest")["baseFeePerGas"])
        max_fee = 2 * base_fee + 10**9
        unknown = list(dict.fromkeys(c[1].address for c in calls if c[1].address not in self.nonces))
        for address, n in zip(unknown, self.rpc([("eth_getTransactionCount", [a, "pending"]) for a in unknown])):
            self.nonces[address] = int(n, 16)
        requests_ = []
        for op, who, to, data, value, gas in calls:
            tx = {"to": to, "data": bytes(data), "value": int(value), "gas": self._limit(data, gas), "type": 2,
                  "maxFeePerGas": max_fee, "maxPriorityFeePerGas": 0, "nonce": self._nonce(who.address),
                  "chainId": self.chain_id}
            if isinstance(who, self._local):
                raw = Account.sign_transaction(tx, self._key(who)).raw_transaction
                requests_.append(("eth_sendRawTransaction", ["0x" + bytes(raw).hex()]))
            else:
                requests_.append(("eth_sendTransaction", [{
                    "from": who.address, "to": to, "data": "0x" + bytes(data).hex(), "value": hex(tx["value"]),
                    "gas": hex(tx["gas"]), "maxFeePerGas": hex(max_fee), "maxPriorityFeePerGas": "0x0",
                    "nonce": hex(tx["nonce"])}]))
        # On Anvil the batch goes to the pool with automine off and is mined in as few blocks as the gas limits
        # allow: one block per transaction grew Anvil past 11 GB at N = 2,048 (it keeps every block's state), and
        # its automine can leave a transaction behind when many arrive at once. Gas used per transaction does not
        # depend on how transactions share blocks.
        anvil = self.anvil
        if anvil:
            self.rpc([("evm_setAutomine", [False])])
        try:
            hashes = self.rpc(requests_)
            if anvil:
                self._mine_all(base_fee)
            else:
                for h in hashes:
                    web3.eth.wait_for_transaction_receipt(h, timeout=600, poll_latency=0.01)
        finally:
            if anvil:
                self.rpc([("evm_setAutomine", [True])])
        out, failed = [], []
        for (op, who, to, data, value, _gas), h, r in zip(calls, hashes, self._receipts(hashes)):
            zeros = bytes(data).count(0)
            sent = Sent(op, who.address, int(r["gasUsed"], 16), len(data),
                        _TX_BASE_GAS + 16 * (len(data) - zeros) + 4 * zeros, r["logs"], h)
            if int(r["status"], 16) != 1:
                failed.append((sent, to, data, value, int(r["blockNumber"], 16)))
            out.append(sent)
            self.log.append(sent.record())
        if failed:
            sent, to, data, value, block = failed[0]
            raise RuntimeError(f"{len(failed)} of {len(calls)} transactions reverted; the first, {sent.op} from "
                               f"{sent.sender} ({sent.gas_used:,} gas, {sent.calldata:,} bytes): "
                               f"{_revert_reason(sent.sender, to, data, value, block)}")
        return out

    def one(self, op: str, who, method, *args, value: int = 0, gas: int | None = None) -> Sent:
        """Send one contract call (Brownie `method` and its arguments) and return its Sent."""
        return self.send([call(op, who, method, *args, value=value, gas=gas)])[0]

    def sized(self, sent: Sent) -> TxRecord:
        """sent's TxRecord with `size`: its signed transaction's encoded bytes, as the node holds it
        (eth_getRawTransactionByHash; Anvil and geth answer it)."""
        raw = self.rpc([("eth_getRawTransactionByHash", [sent.tx_hash])])[0]
        rec = sent.record()
        rec.size = (len(raw) - 2) // 2
        return rec


def call(op: str, who, method, *args, value: int = 0, gas: int | None = None) -> tuple:
    """A `Bulk.send` entry for Brownie contract method `method` called with `args` (`gas`: its gas limit, else
    Bulk's default)."""
    return (op, who, method._address, bytes.fromhex(method.encode_input(*args)[2:]), value, gas)


def _revert_reason(sender: str, to: str, data: bytes, value: int, block: int) -> str:
    """The reverted call replayed on the state before its block, its custom error decoded (best effort)."""
    return call_error(sender, to, data, value, block - 1) or \
        "no revert on replay (it depended on the state inside its block)"


def revert_of(who, method, *args, value: int = 0) -> str | None:
    """How Brownie contract method `method(*args)` sent by `who` would revert now (eth_call on the latest block):
    its custom error as Brownie decodes it (contract_helpers.err's form), or None if it would not."""
    return call_error(who.address, method._address, bytes.fromhex(method.encode_input(*args)[2:]), value, "latest")


def call_error(sender: str, to: str, data: bytes, value: int, block) -> str | None:
    """The error of an eth_call at `block`, its custom error decoded (best effort); None if it does not revert."""
    from brownie.exceptions import decode_typed_error

    try:
        web3.eth.call({"from": sender, "to": to, "data": "0x" + bytes(data).hex(), "value": value,
                       "gas": BLOCK_GAS_LIMIT}, block)
    except Exception as exc:  # noqa: BLE001 - whatever the provider raises, its revert data is the news
        raw = getattr(exc, "data", None) or (exc.args[1] if len(exc.args) > 1 else exc.args[0] if exc.args else None)
        if isinstance(raw, dict):  # the JSON-RPC error itself: {"code", "message", "data"}
            raw = raw.get("data")
        if isinstance(raw, str) and raw.startswith("0x") and len(raw) >= 10:
            try:
                return decode_typed_error(raw)
            except Exception:  # noqa: BLE001
                return f"revert data {raw[:74]}"
        return str(exc)[:300]
    return None


def check_caps(sent: list[TxRecord], what: str = "") -> None:
    """Fail loudly if a transaction used more than EIP-7825's GAS_CAP (under prague's rules: its calldata floor
    counts) or sent more than INPUT_CAP bytes of input (128 KB less the envelope)."""
    over = [s for s in sent if s.prague_gas > GAS_CAP or s.calldata > INPUT_CAP]
    assert not over, (f"{what}: over the {GAS_CAP:,}-gas or {INPUT_CAP:,}-byte cap: "
                      + "; ".join(f"{s.op} {s.prague_gas:,} gas, {s.calldata:,} bytes" for s in over[:5]))


def set_challenge_terms(c, owner, bulk: Bulk, window: int = CHALLENGE_WINDOW, bond_base: int = BOND_BASE,
                        bond_per_revealer: int = BOND_PER_REVEALER) -> None:
    """The local chain's challenge terms: proposed by the owner, applied BOUNDS_DELAY later (the chain is
    moved on)."""
    bulk.one("proposeChallengeTerms", owner, c.proposeChallengeTerms, (window, bond_base, bond_per_revealer))
    chain.sleep(int(c.BOUNDS_DELAY()) + 1)
    chain.mine()
    bulk.one("applyChallengeTerms", owner, c.applyChallengeTerms)
    if tuple(c.challengeTerms()[0]) != (window, bond_base, bond_per_revealer):
        raise RuntimeError("the challenge terms did not apply")


def optimistic_spec(c, q: int, k: int, commit_s: int = PHASE_SECONDS, reveal_s: int = PHASE_SECONDS) -> tuple:
    """openRoundWith's RoundSpec for an optimistic-only round without an audit or a finalizer fee, with the
    contract's default parameters."""
    return (QUERIES_HASH, q, k, commit_s, reveal_s, 0, 0, bytes(32), 0, tuple(c.defaults()), True)


def committed_weights(c, rid: int, sent: list) -> dict[str, int]:
    """address -> tally weight (stake x reputation at commit) from the Committed events of round `rid` in
    `sent` (cl_client.protocol.tally_weight, the contract's default unequal weights)."""
    from eth_utils import to_checksum_address

    from cl_client.protocol import tally_weight

    topic = _topic(c, "Committed")
    out = {}
    for s in sent:
        for log in s.logs:
            t = log["topics"]
            if not t or t[0].lower() != topic or int(t[1], 16) != rid:
                continue
            data = bytes.fromhex(log["data"][2:])
            out[to_checksum_address("0x" + t[2][-40:])] = tally_weight(int.from_bytes(data[32:64], "big"),
                                                                      int.from_bytes(data[64:96], "big"))
    return out


class OptimisticRounds:
    """One deployment of ConsensusLearning with n participants and their labels, driving optimistic rounds:
    `round` (open, commit, reveal), `settle` (the honest post, the window, every claim) and `frauds` (three
    wrong posts and their refutations). Deploys afresh and sets the local chain's challenge terms."""

    def __init__(self, container, n: int, q: int, k: int = K, seed: int = 0, labels=None):
        self.n, self.q, self.k, self.seed = n, q, k, seed
        self.owner = accounts[0]  # owner, requester and keeper
        self.people = participants(n)
        self.truth, self.rows = labels if labels is not None else make_labels(n, q, k, seed)
        if len(self.rows) != n or any(len(r) != q for r in self.rows):
            raise ValueError(f"labels must be {n} rows of {q} bytes")
        self.wire = [pack_labels(r, k) for r in self.rows]
        self.bulk = Bulk()
        self.c = deploy(container, self.owner)
        self.seats = int(self.c.optimisticSeats(q, k))
        if n > self.seats:
            raise ValueError(f"n={n} is more than the {self.seats} seats of an optimistic round at Q={q}, K={k}")
        set_challenge_terms(self.c, self.owner, self.bulk)
        self.revealed = {p.address: self.rows[i] for i, p in enumerate(self.people)}
        self.weights: dict[int, dict[str, int]] = {}  # round -> committer -> tally weight

    # ------------------------------------------------------------------------------------------ pieces

    def salt(self, rid: int, i: int) -> bytes:
        return bench_salt(self.seed * 1000 + rid, i)

    def commitment(self, rid: int, i: int) -> bytes:
        return commitment(chain.id, self.c.address, rid, self.people[i].address, self.rows[i], self.salt(rid, i),
                          self.k)

    def deadline(self, rid: int, field: str) -> int:
        return int(self.c.getRound(rid)[_field_index(self.c, "getRound", field)])

    def until(self, t: int) -> None:
        """Move the chain past second t."""
        chain.sleep(max(0, t - chain.time()) + 1)
        chain.mine()

    def open(self) -> tuple[int, Sent]:
        tx = self.bulk.one("openRoundWith", self.owner, self.c.openRoundWith, optimistic_spec(self.c, self.q, self.k),
                           "file://bench-optimistic", value=REWARD)
        return int(self.c.roundCount()), tx

    def deposit(self) -> list[Sent]:
        return self.bulk.send([call("deposit", p, self.c.deposit, value=optimistic_stake(i))
                               for i, p in enumerate(self.people)])

    def commit(self, rid: int) -> list[Sent]:
        sent = self.bulk.send([call("commit", p, self.c.commit, rid, self.commitment(rid, i))
                               for i, p in enumerate(self.people)])
        self.weights[rid] = committed_weights(self.c, rid, sent)
        return sent

    def reveal(self, rid: int) -> list[Sent]:
        return self.bulk.send([call("reveal", p, self.c.reveal, rid, self.wire[i], self.salt(rid, i))
                               for i, p in enumerate(self.people)])

    def honest(self, rid: int):
        from cl_client.optimistic import honest_post

        return honest_post(self.weights[rid], self.revealed, self.weights[rid], self.q, self.k)

    def propose(self, rid: int, consensus_wire: bytes, committers, matches_wire: bytes, op: str = "propose") -> Sent:
        """The keeper's deposit of the bond, then its post."""
        self.bulk.one("deposit (keeper)", self.owner, self.c.deposit, value=int(self.c.bondOf(rid)))
        return self.bulk.one(op, self.owner, self.c.propose, rid, consensus_wire, list(committers), matches_wire,
                             gas=BLOCK_GAS_LIMIT)

    def round(self, deposit: bool = True) -> tuple[int, dict[str, list[Sent]]]:
        """Open a round, every participant commits (after depositing, if `deposit`) and reveals; returns the
        round and its transactions by operation, the chain past the reveal deadline."""
        rid, opened = self.open()
        sent = {"openRoundWith": [opened]}
        if deposit:
            sent["deposit"] = self.deposit()
        sent["commit"] = self.commit(rid)
        self.until(self.deadline(rid, "commitDeadline"))
        sent["reveal"] = self.reveal(rid)
        self.until(self.deadline(rid, "revealDeadline"))
        return rid, sent

    # ------------------------------------------------------------------------------------------ settle

    def settle(self) -> RoundResult:
        """One optimistic round on single calls: deposit, open, N commits, N reveals, the keeper's honest post,
        the window, N claims (the first confirms the post). Every transaction within the caps (asserted)."""
        t0 = time.perf_counter()
        res = RoundResult("ours (optimistic)", self.n, self.q, self.k, truth=self.truth)
        first = len(self.bulk.log)
        rid, sent = self.round()
        post = self.honest(rid)
        proposed = self.propose(rid, post.consensus_wire, post.committers, post.matches_wire())
        self.until(int(self.c.getPost(rid)[_field_index(self.c, "getPost", "challengeEnds")]))
        claims = self.bulk.send([call("claim", self.people[0], self.c.claim, rid)])  # confirms the post
        claims += self.bulk.send([call("claim", p, self.c.claim, rid) for p in self.people[1:]])
        if self.c.phase(rid) != PHASE_FINALIZED:
            raise RuntimeError(f"round {rid} is not Finalized after its claims (phase {self.c.phase(rid)})")
        for name, txs in (("commit", sent["commit"]), ("reveal", sent["reveal"]), ("propose", [proposed]),
                          ("claim", claims)):
            for t in txs:
                getattr(res, name).add([t.gas_used], [t.intrinsic])
        res.consensus = post.consensus
        res.matches = list(post.matches)
        res.contract_address = self.c.address
        res.transactions = self.bulk.log[first:]
        res.seconds = time.perf_counter() - t0
        check_caps(res.transactions, f"optimistic round N={self.n} Q={self.q}")
        return res

    # ------------------------------------------------------------------------------------------ frauds

    def frauds(self, max_proof_bytes: int = QUERY_PROOF_BYTES) -> list[FraudResult]:
        """Three wrong posts in one more round (every participant commits and reveals again), each refuted:
        (1) one query flipped to its least-supported label -- the query whose smallest refutation is largest --
        refuted with find_fraud's records (the fewest revealers); (2) the same post again, refuted with every
        revealer whose label there is not the posted one; (3) the honest consensus with one match count off by
        one, refuted by challengeMatches. The watcher (a separate account, with free stake already: a new
        account's first credit would cost 17,100 gas more) sends the proofs. Every transaction within the caps
        (asserted); the round is left Finalizable."""
        from cl_client import protocol
        from cl_client.optimistic import MatchFraud, QueryFraud, find_fraud, matches_bytes

        first = len(self.bulk.log)
        rid, _ = self.round(deposit=False)  # the stakes the claims freed
        post = self.honest(rid)
        committers = list(post.committers)
        watcher = _watcher(self.c, self.bulk)
        refuted = _topic(self.c, "Refuted")
        out = []

        j, posted, worst, median = _hardest_flip(post, self.revealed, self.weights[rid], self.k)
        wrong = bytearray(post.consensus)
        wrong[j] = posted
        wrong_wire = pack_labels(bytes(wrong), self.k)
        order = [a for a in committers if a in self.revealed]
        rows = np.array([np.frombuffer(self.revealed[a], dtype=np.uint8) for a in order], dtype=np.int64)
        counts = dict(zip(order, protocol.matches(rows, np.frombuffer(bytes(wrong), dtype=np.uint8)).tolist()))
        wrong_matches = [counts.get(a, 0) for a in committers]  # consistent with the wrong consensus
        fraud = find_fraud(wrong_wire, committers, wrong_matches, self.revealed, self.weights[rid], self.q, self.k,
                           max_proof_bytes=max_proof_bytes, committers=committers)
        if not isinstance(fraud, QueryFraud) or fraud.query != j or fraud.posted != posted:
            raise RuntimeError(f"find_fraud did not find the flipped query {j}: {fraud!r:.200}")
        for kind, batches in (("query, fewest revealers", fraud.batches),
                              ("query, every differing revealer",
                               _every_differing(fraud, self.revealed, self.q, self.k, max_proof_bytes))):
            proposed = self.propose(rid, wrong_wire, committers, matches_bytes(wrong_matches), op="propose (wrong)")
            res = FraudResult(kind, self.n, self.q, self.k, records=sum(len(b) for b in batches), planned=len(batches),
                              query=j, posted=posted, alt=fraud.alt, fewest_worst=worst, fewest_median=median,
                              propose=proposed.record())
            for batch in batches:
                tx = self.bulk.one("challengeQuery", watcher, self.c.challengeQuery, rid, fraud.query, fraud.alt,
                                   fraud.consensus_chunk, fraud.consensus_proof, [a for a, _, _ in batch],
                                   [chunk for _, chunk, _ in batch], [x for _, _, proof in batch for x in proof],
                                   gas=BLOCK_GAS_LIMIT)
                res.txs.append(tx.record())
                if tx.has(refuted):
                    res.refuted = True
                    break
            if not res.refuted or self.c.phase(rid) != PHASE_FINALIZABLE:
                raise RuntimeError(f"{kind}: the wrong post of round {rid} was not refuted")
            out.append(res)

        honest_matches = list(post.matches)
        at = next(i for i, a in enumerate(committers) if a in self.revealed)
        honest_matches[at] += 1 if honest_matches[at] < self.q else -1
        proposed = self.propose(rid, post.consensus_wire, committers, matches_bytes(honest_matches),
                                op="propose (wrong)")
        fraud = find_fraud(post.consensus_wire, committers, honest_matches, self.revealed, self.weights[rid], self.q,
                           self.k, committers=committers)
        if not isinstance(fraud, MatchFraud) or fraud.committer_index != at:
            raise RuntimeError(f"find_fraud did not find the wrong match count of committer {at}: {fraud!r:.200}")
        tx = self.bulk.one("challengeMatches", watcher, self.c.challengeMatches, rid, fraud.address, fraud.labels_wire,
                           post.consensus_wire, gas=BLOCK_GAS_LIMIT)
        res = FraudResult("matches", self.n, self.q, self.k, records=1, planned=1, propose=proposed.record(),
                          txs=[tx.record()], refuted=tx.has(refuted))
        if not res.refuted:
            raise RuntimeError(f"the wrong match count in round {rid} was not refuted")
        out.append(res)
        check_caps(self.bulk.log[first:], f"fraud proofs N={self.n} Q={self.q}")  # their round's transactions too
        return out


def _watcher(c, bulk: Bulk):
    """The account that sends fraud proofs: a local account with a small deposit (so that its first reward
    credits a non-empty account, as a regular watcher's does)."""
    who = accounts.add(keccak(b"cl-bench-watcher"))
    if who.balance() < _FUND_WEI // 2:
        if _on_anvil():
            web3.provider.make_request("anvil_setBalance", [who.address, hex(_FUND_WEI)])
        else:
            _outlast_drop(lambda: accounts[0].transfer(who, _FUND_WEI), "funding the watcher")
    if int(c.getAccount(who)[0]) == 0:
        bulk.one("deposit (watcher)", who, c.deposit, value=10**15)
    return who


def _hardest_flip(post, revealed: dict, weights: dict, k: int) -> tuple[int, int, int, int]:
    """(query j, its least-supported label, the size of the smallest refutation of a post flipped there, the
    median of that size over all queries): the wrong post of `OptimisticRounds.frauds` flips, among all
    queries, the one whose refutation (cl_client.optimistic.fewest_voters) needs the most revealers."""
    from cl_client.optimistic import fewest_voters

    order = [a for a in post.committers if a in revealed]
    rows = np.array([np.frombuffer(revealed[a], dtype=np.uint8) for a in order], dtype=np.int64)
    w = [int(weights[a]) for a in order]
    wobj = np.array(w, dtype=object)
    best, sizes = None, []
    for j in range(rows.shape[1]):
        votes = rows[:, j]
        support = [int(wobj[votes == c].sum()) if (votes == c).any() else 0 for c in range(k)]
        least = min(range(k), key=lambda c: (support[c], c))
        chosen = fewest_voters(votes.tolist(), w, least, int(post.consensus[j]))
        if chosen is None:
            raise RuntimeError(f"query {j}: a post of label {least} cannot be refuted")
        sizes.append(len(chosen))
        if best is None or len(chosen) > best[2]:
            best = (j, least, len(chosen))
    sizes.sort()
    return best[0], best[1], best[2], sizes[len(sizes) // 2]


def _every_differing(fraud, revealed: dict, q: int, k: int, max_proof_bytes: int) -> list[list]:
    """The records of every revealer whose label at fraud.query is not the posted one (ascending by address),
    split as find_fraud splits its own (cl_client.optimistic.proof_bytes per transaction)."""
    from cl_client.optimistic import chunk_proof, chunks, proof_bytes, query_chunk_index, tree_depth

    at = query_chunk_index(fraud.query, k)
    depth = tree_depth(len(pack_labels(bytes(q), k)))
    records = []
    for a in sorted(revealed, key=lambda a: int(a, 16)):
        if revealed[a][fraud.query] == fraud.posted:
            continue
        w = pack_labels(revealed[a], k)
        records.append((a, chunks(w)[at], chunk_proof(w, at)))
    batches, batch = [], []
    for r in records:
        if batch and proof_bytes(len(batch) + 1, depth) > max_proof_bytes:
            batches.append(batch)
            batch = []
        batch.append(r)
    return batches + [batch]


def run_optimistic(container, n: int, q: int, k: int = K, seed: int = 0, frauds: bool = True):
    """(RoundResult of one optimistic round on single calls, [FraudResult] of its three wrong posts, or [] if
    not `frauds`) at (n, q, k), on a fresh deployment (OptimisticRounds)."""
    o = OptimisticRounds(container, n, q, k, seed)
    res = o.settle()
    return res, (o.frauds() if frauds else [])


def run_optimistic_pipelined(container, n: int, q: int, k: int = K, seed: int = 0,
                             rounds: int = PIPELINE_ROUNDS) -> RoundResult:
    """The merged path of optimistic rounds in its steady state, as run_pipelined: `rounds` rounds back to back,
    every participant holding two lots. Step t (t >= 1): the keeper posts round t - 2 (honest), the window
    passes (an hour, inside round t - 1's reveal phase), round t opens, and every participant sends
    submit(claim t - 2, reveal t - 1, commit t); the step's first claim confirms the post. Measured: the last
    step's submits and the post of the round they reveal, i.e. one participant-round. Deploys afresh; every
    transaction within the caps (asserted)."""
    if rounds < 3:
        raise ValueError(f"a steady state needs at least 3 rounds, got {rounds}")
    t_start = time.perf_counter()
    o = OptimisticRounds(container, n, q, k, seed)
    res = RoundResult("ours (optimistic, submit)", n, q, k, truth=o.truth)
    first = len(o.bulk.log)
    c, people = o.c, o.people
    o.bulk.one("deposit (keeper)", o.owner, c.deposit, value=2 * (BOND_BASE + BOND_PER_REVEALER * n))
    rids = [o.open()[0]]
    o.bulk.send([call("deposit", p, c.deposit, value=optimistic_stake(i)) for i, p in enumerate(people)])
    o.commit(rids[0])
    o.bulk.send([call("deposit", p, c.deposit, value=optimistic_stake(i)) for i, p in enumerate(people)])
    ends = _field_index(c, "getPost", "challengeEnds")
    for t in range(1, rounds):
        due = [o.deadline(rids[t - 1], "commitDeadline")] + ([o.deadline(rids[t - 2], "revealDeadline")] if t >= 2 else [])
        o.until(max(due))
        claim_round = rids[t - 2] if t >= 2 else 0
        if claim_round:
            post = o.honest(claim_round)
            o.bulk.one("propose", o.owner, c.propose, claim_round, post.consensus_wire, list(post.committers),
                       post.matches_wire(), gas=BLOCK_GAS_LIMIT)
            o.until(int(c.getPost(claim_round)[ends]))
        rids.append(o.open()[0])
        sent = o.bulk.send([call("submit", p, c.submit, claim_round, rids[t - 1], o.wire[i], o.salt(rids[t - 1], i),
                                 rids[t], o.commitment(rids[t], i)) for i, p in enumerate(people)])
        o.weights[rids[t]] = committed_weights(c, rids[t], sent)
        if t == rounds - 1:
            for s in sent:
                res.submit.add([s.gas_used], [s.intrinsic])
    measured = rids[-2]
    o.until(o.deadline(measured, "revealDeadline"))
    post = o.honest(measured)
    tx = o.bulk.one("propose", o.owner, c.propose, measured, post.consensus_wire, list(post.committers),
                    post.matches_wire(), gas=BLOCK_GAS_LIMIT)
    res.propose.add([tx.gas_used], [tx.intrinsic])
    res.consensus, res.matches = post.consensus, list(post.matches)
    res.contract_address = c.address
    res.transactions = o.bulk.log[first:]
    res.seconds = time.perf_counter() - t_start
    check_caps(res.transactions, f"optimistic merged path N={n} Q={q}")
    return res


# ------------------------------------------------------------------------ optimistic worst case (caps)


def query_proof_calldata(records: int, depth: int) -> int:
    """The exact input size of a challengeQuery call with `records` revealers and a tree of depth `depth`:
    selector, 8 head words, then the four arrays (length word + elements): consensusProof (d), revealers,
    chunks (one each) and siblings (d each)."""
    return 4 + 8 * 32 + 4 * 32 + 32 * depth + 32 * records * (2 + depth)


def largest_query_batch(depth: int, cap: int = INPUT_CAP) -> int:
    """The most records one challengeQuery call can carry within `cap` bytes of input."""
    return (cap - query_proof_calldata(0, depth)) // (32 * (2 + depth))


GROUPS = 4  # worst_case_optimistic's label vectors; participant i reveals vector i % GROUPS


def _costly_rows(q: int, k: int, seed: int) -> list[bytes]:
    """GROUPS label vectors for a worst-case optimistic round: a random vector of labels 1..K-1 (every wire byte
    non-zero: the calldata floor's dearest bytes), vector g differing from it at query g alone. Each query's
    plurality is the random vector's label (GROUPS - 1 of the GROUPS agree there), so every revealer has
    Q - 1 matches and propose evaluates the whole agreement rule for each (Q matches would short-cut it)."""
    rng = random.Random(seed)
    base = [rng.randrange(1, k) for _ in range(q)]
    rows = []
    for g in range(GROUPS):
        row = list(base)
        if g < q:
            row[g] = base[g] % (k - 1) + 1  # another label in 1..K-1
        rows.append(bytes(row))
    return rows


def worst_case_optimistic(container, shapes: list[tuple[int, int, int]], seed: int = 0) -> tuple[object, dict]:
    """Optimistic rounds of shapes (N, Q, K), all on one fresh deployment: the first N of a common list of
    participants commit to and reveal in a round, built to cost the most (_costly_rows). Returns (the contract,
    {(n, q, k): {...}}) with, per round, the largest transaction of each kind (TxRecord; `size`, the encoded
    transaction, read back from the node):

      reveal            every participant's reveal (the largest): Q labels, every wire byte non-zero
      propose           the round's first post (fresh post storage) of the true plurality, every committer a
                        revealer with Q - 1 matches (each written, each through the whole agreement rule), one
                        count off by one
      challengeQuery    one batch of min(N, largest_query_batch(depth)) revealers (ascending) at query 0 for
                        vector 0's label there, which does not win: the whole batch is checked, its sums stored
      challengeMatches  the refutation of the wrong count (its labels and the consensus, Q labels each)

    and "records" and "depth" of the query proof, "rid", "seats" (optimisticSeats(Q, K)) and "overflow": how a
    commit of participant N + 1 (with a deposit) reverts once the N have committed (None if it would be admitted).

    Transactions are sent with a 30M gas limit and not checked against the caps here: the caller compares
    (tests/contract/test_optimistic_limits.py)."""
    from cl_client import protocol
    from cl_client.optimistic import chunk_proof, chunks, matches_bytes, query_chunk_index, tree_depth

    owner = accounts[0]
    people = participants(max(n for n, _, _ in shapes) + 1)  # one more: the commit past the seats
    bulk = Bulk()
    c = deploy(container, owner)
    set_challenge_terms(c, owner, bulk)
    rounds = []
    for n, q, k in shapes:
        seats = int(c.optimisticSeats(q, k))
        if n > seats:
            raise ValueError(f"n={n} is more than the {seats} seats of an optimistic round at Q={q}, K={k}")
        rows = _costly_rows(q, k, seed + q + k)
        rid = int(c.roundCount()) + 1
        bulk.one("openRoundWith", owner, c.openRoundWith, optimistic_spec(c, q, k), "file://bench-limits", value=REWARD)
        rounds.append({"rid": rid, "n": n, "q": q, "k": k, "seats": seats, "rows": rows,
                       "wire": [pack_labels(r, k) for r in rows]})
    group = [i % GROUPS for i in range(len(people))]
    need = [sum(optimistic_stake(i) for r in rounds if i <= r["n"]) for i in range(len(people))]  # every lot
    if _on_anvil():
        bulk.rpc([("anvil_setBalance", [p.address, hex(need[i] + _FUND_WEI)]) for i, p in enumerate(people)])
    elif any(p.balance() < need[i] + _FUND_WEI // 10 for i, p in enumerate(people)):
        raise RuntimeError(f"the participants' balances do not cover their {len(rounds)} rounds' deposits")

    def ballot(r, i):
        return commitment(chain.id, c.address, r["rid"], people[i].address, r["rows"][group[i]],
                          bench_salt(r["rid"], i), r["k"])

    out = {}
    for r in rounds:  # one lot per round: a commit locks the whole free stake
        n = r["n"]
        bulk.send([call("deposit", p, c.deposit, value=optimistic_stake(i)) for i, p in enumerate(people[:n + 1])])
        sent = bulk.send([call("commit", people[i], c.commit, r["rid"], ballot(r, i)) for i in range(n)])
        r["weights"] = committed_weights(c, r["rid"], sent)
        out[(n, r["q"], r["k"])] = {"rid": r["rid"], "seats": r["seats"],
                                    "overflow": revert_of(people[n], c.commit, r["rid"], ballot(r, n))}
    chain.sleep(PHASE_SECONDS + 1)
    chain.mine()
    for r in rounds:
        n = r["n"]
        sent = bulk.send([call("reveal", people[i], c.reveal, r["rid"], r["wire"][group[i]], bench_salt(r["rid"], i))
                          for i in range(n)])
        out[(n, r["q"], r["k"])]["reveal"] = bulk.sized(max(sent, key=lambda t: (t.gas_used, t.calldata)))
    chain.sleep(PHASE_SECONDS + 1)
    chain.mine()
    for r in rounds:
        rid, n, q, k, wire = r["rid"], r["n"], r["q"], r["k"], r["wire"]
        got = out[(n, q, k)]
        rows = np.array([np.frombuffer(x, dtype=np.uint8) for x in r["rows"]], dtype=np.int64)
        totals = [sum(r["weights"][people[i].address] for i in range(n) if group[i] == g) for g in range(GROUPS)]
        consensus = protocol.plurality(rows, k, totals)
        per_group = protocol.matches(rows, consensus).tolist()
        order = sorted(range(n), key=lambda i: int(people[i].address, 16))
        counts = [per_group[group[i]] for i in order]
        counts[0] += 1 if counts[0] < q else -1  # the wrong count challengeMatches refutes
        consensus_wire = pack_labels(bytes(consensus.astype(np.uint8).tolist()), k)
        bulk.one("deposit (keeper)", owner, c.deposit, value=int(c.bondOf(rid)))
        got["propose"] = bulk.sized(bulk.one("propose", owner, c.propose, rid, consensus_wire,
                                             [people[i].address for i in order], matches_bytes(counts),
                                             gas=BLOCK_GAS_LIMIT))
        depth = tree_depth(len(consensus_wire))
        at = query_chunk_index(0, k)
        proofs = [(chunks(w)[at], chunk_proof(w, at)) for w in wire]
        batch = order[:min(n, largest_query_batch(depth))]
        alt = int(rows[0][0])  # vector 0's label at query 0: a quarter of the weight, not the plurality
        tx = bulk.one("challengeQuery", people[0], c.challengeQuery, rid, 0, alt, chunks(consensus_wire)[at],
                      chunk_proof(consensus_wire, at), [people[i].address for i in batch],
                      [proofs[group[i]][0] for i in batch], [x for i in batch for x in proofs[group[i]][1]],
                      gas=BLOCK_GAS_LIMIT)
        if tx.has(_topic(c, "Refuted")):
            raise RuntimeError(f"the query proof refuted the true plurality of round {rid}")
        if tx.calldata != query_proof_calldata(len(batch), depth):
            raise RuntimeError(f"challengeQuery input is {tx.calldata} bytes, query_proof_calldata says "
                               f"{query_proof_calldata(len(batch), depth)}")
        got.update(challengeQuery=bulk.sized(tx), records=len(batch), depth=depth)
        wrong = order[0]
        tx = bulk.one("challengeMatches", people[1], c.challengeMatches, rid, people[wrong].address,
                      wire[group[wrong]], consensus_wire, gas=BLOCK_GAS_LIMIT)
        if not tx.has(_topic(c, "Refuted")):
            raise RuntimeError(f"challengeMatches did not refute the wrong count in round {rid}")
        got["challengeMatches"] = bulk.sized(tx)
    return c, out
