"""Measure complete consensus-learning rounds through Brownie (shared by gas_report.py, benchmark.py and
tests/contract/test_bench_quick.py, so the benchmark code is exercised by `make test`).

One call of `run_round` drives every given contract through the same round -- same participants, stakes,
labels and salts -- and records the gas of each transaction:

    deposit -> openRound -> commit (each participant) -> reveal (each) -> finalize -> claim (each)

`Ours` drives ConsensusLearning (one reveal and one finalize transaction). `Naive` drives the reference
NaiveConsensusLearning, whose reveal and finalize do not fit a 30M block at large Q and are therefore sent
as resumable batches (revealBatch / finalizeBatch with a 30M gas limit) until done; the batches are counted.

The results are tools/benchdoc.py's RoundResult; rendering them (tables, docs/benchmarks.md, the plot) is
that module's job, not this one's.
"""
from __future__ import annotations

import contextlib
import os
import random
import re
import time

from brownie import accounts, chain, web3
from brownie.exceptions import TransactionError
from brownie.network.transaction import TransactionReceipt
from eth_utils import keccak

from cl_client.commitment import commitment, pack_labels
from cl_client.protocol import LIMITS
from tools.benchdoc import BLOCK_GAS_LIMIT, OpGas, RoundResult

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


def participants(n: int) -> list:
    """n funded accounts other than accounts[0] (the owner, requester and finalizer). The node's own
    accounts come first; deterministic local accounts are added (and funded) when there are too few."""
    i = 0
    while len(accounts) < n + 1:
        accounts.add(keccak(b"cl-bench-participant-%d" % i))
        i += 1
    chosen = list(accounts)[1 : n + 1]
    needy = [a for a in chosen if a.balance() < _FUND_WEI // 2]
    if needy:
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
