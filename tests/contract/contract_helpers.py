"""Helpers shared by the ConsensusLearning Brownie tests.

One job each:
    constants / enums    Phase and the bounds from cl_client.protocol; Status, Params, DEFAULTS from tests/oracle
    err()                the exact string Brownie 1.22 reports for a custom error
    transact_at()        a transaction mined alone in a block with an exact timestamp
    Ballot, commit() ... drive a round: commit, reveal, finalize (commitments via cl_client)
    settle()             re-exported from tests/oracle.py: the independent model of finalize + claim
    assert_books()       the contract's liabilities equal its balance

How Brownie 1.22 reports custom errors: `VirtualMachineError.revert_msg` is
`brownie.exceptions.decode_typed_error(revert_data)`, i.e. "<ErrorName>: <arg>, <arg>" with each
ABI-decoded argument passed through str() -- addresses come out lower-case, bytes32 as a bytes repr,
enums as integers, and an error without arguments as "<ErrorName>: " (trailing space).
`brownie.reverts(msg)` compares that string for equality. `err()` builds the expected string by
ABI-encoding the expected arguments and running them through the same decoder, so the comparison is
exact (name, argument types and every value) without re-implementing Brownie's formatting.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from brownie import ConsensusLearning, chain, web3
from brownie.exceptions import decode_typed_error
from eth_abi import encode
from eth_utils import keccak

from cl_client.commitment import new_salt
from oracle import (  # noqa: F401 - re-exported to the tests
    BPS, CONSTANTS, DEFAULT_BOUNDS, DEFAULTS, GAS_CAP, Bounds, Outcome, Params, Phase, Status, agrees, audit_hits,
    audit_passes, ceil_penalty, check_params, commitment, min_matches, mode_count, pack_labels, plurality, settle,
)

# --------------------------------------------------------------------------- contract constants


# Phase, Status, Params, Bounds, the constants and the rules are the independent oracle's (tests/oracle.py),
# pinned against the contract's public constants in test_protocol_constants.py.
MAX_QUERIES = CONSTANTS["MAX_QUERIES"]
MAX_PARTICIPANTS = CONSTANTS["MAX_PARTICIPANTS"]
MAX_LABELS = CONSTANTS["MAX_LABELS"]
MIN_PHASE = CONSTANTS["MIN_PHASE_DURATION"]
MAX_PHASE = CONSTANTS["MAX_PHASE_DURATION"]
MAX_AUDIT_QUERIES = CONSTANTS["MAX_AUDIT_QUERIES"]
AUDIT_FORFEIT_BPS = CONSTANTS["AUDIT_FORFEIT_BPS"]
ABANDON_DELAY = CONSTANTS["ABANDON_DELAY"]
BOUNDS_DELAY = CONSTANTS["BOUNDS_DELAY"]
MAX_PENDING_WITHDRAWALS = CONSTANTS["MAX_PENDING_WITHDRAWALS"]
MIN_QUORUM_BPS = CONSTANTS["MIN_QUORUM_BPS"]
MAX_AGREEMENT_BPS = CONSTANTS["MAX_AGREEMENT_BPS"]
MAX_SLASH_BPS = CONSTANTS["MAX_SLASH_BPS"]
MAX_MIN_STAKE = CONSTANTS["MAX_MIN_STAKE"]
MAX_UNBONDING_DELAY = CONSTANTS["MAX_UNBONDING_DELAY"]
DEFAULT_UNBONDING_DELAY = 24 * 3600
UINT96_MAX = 2**96 - 1

ETHER = 10**18
BLOCK_GAS_LIMIT = 30_000_000
COMMIT_S = 600  # phase durations used by the tests (long enough that wall-clock time never matters)
REVEAL_S = 600
QHASH = keccak(b"query batch 1")
URI = "ipfs://bafy-query-batch-1"



# RoundInfo / SubmissionInfo / AccountInfo field positions (getRound etc. return plain tuples)
ROUND_FIELDS = ("requester", "reward", "finalizerFee", "queriesHash", "numQueries", "numClasses",
                "commitDeadline", "revealDeadline", "auditDeadline", "auditCount", "auditRevealed", "phase",
                "commitCount", "revealCount", "committedStake", "revealedStake", "pool", "agreedWeight",
                "refundable", "params", "optimistic")
SUBMISSION_FIELDS = ("hash", "stake", "matches", "auditHits", "status", "claimed", "reputation")
ACCOUNT_FIELDS = ("free", "locked", "unbonding", "unbondingReadyAt", "withdrawable")
BOOK_FIELDS = ("totalStake", "rewardsOwed", "refundsOwed", "burned", "surplus")


def plain(value):
    """Brownie return values / event data as plain Python (tuples, int, bool, bytes, str).

    Brownie's ReturnValue and Wei are mypyc classes whose == refuses plain ints inside tuples.
    """
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return str(value)
    return value


def as_dict(values, fields) -> dict:
    return dict(zip(fields, plain(values)))


def round_info(cl, rid) -> dict:
    return as_dict(cl.getRound(rid), ROUND_FIELDS)


def submission(cl, rid, who) -> dict:
    return as_dict(cl.getSubmission(rid, who), SUBMISSION_FIELDS)


def account(cl, who) -> dict:
    return as_dict(cl.getAccount(who), ACCOUNT_FIELDS)


# --------------------------------------------------------------------------- errors


def _error_abi(name: str) -> dict:
    for item in ConsensusLearning.abi:
        if item["type"] == "error" and item["name"] == name:
            return item
    raise KeyError(f"ConsensusLearning's ABI has no error {name!r}")


def error_data(name: str, *args) -> bytes:
    """The revert data of custom error `name(args)`: selector + ABI-encoded arguments."""
    types = [i["type"] for i in _error_abi(name)["inputs"]]
    if len(types) != len(args):
        raise TypeError(f"{name} takes {len(types)} arguments, got {len(args)}")
    values = []
    for t, v in zip(types, args):
        if t == "address":
            v = str(v)
        elif t == "bytes32" and isinstance(v, str):
            v = v.encode().ljust(32, b"\0")  # Solidity's bytes32("name") literal
        elif t.startswith("uint"):
            v = int(v)
        values.append(v)
    selector = keccak(f"{name}({','.join(types)})".encode())[:4]
    return selector + encode(types, values)


def err(name: str, *args) -> str:
    """The revert message Brownie reports for custom error `name(args)` (see the module docstring)."""
    return decode_typed_error("0x" + error_data(name, *args).hex())


# --------------------------------------------------------------------------- time


def _rpc(method: str, params: list):
    response = web3.provider.make_request(method, params)
    return response.get("result"), response.get("error")


def _on_anvil() -> bool:
    return web3.client_version.lower().startswith("anvil")


def set_balance(address: str, wei: int) -> None:
    """Give `address` exactly `wei` (Ganache: evm_setAccountBalance; Anvil: anvil_setBalance)."""
    _, error = _rpc("anvil_setBalance" if _on_anvil() else "evm_setAccountBalance", [address, hex(wei)])
    assert error is None, error


def transact_at(timestamp: int, method, *args, sender, value: int = 0, gas: int = BLOCK_GAS_LIMIT):
    """Mine `method(*args)` sent by `sender`, alone, in a block whose timestamp is exactly `timestamp`.

    Automatic mining stamps a block with the wall clock plus an offset, so a transaction sent "right
    after" chain.mine(timestamp=t) can land on t or t + 1. Here automatic mining is stopped, the
    transaction is queued, and one block is mined at `timestamp` (Ganache: miner_stop + evm_setTime, as
    Ganache 7 ignores evm_mine's timestamp for its clock; Anvil: evm_setAutomine + evm_mine(timestamp)).
    Returns Brownie's receipt; a reverted transaction has status 0 and its decoded custom error in
    `revert_msg`.
    """
    anvil = _on_anvil()
    _rpc("evm_setAutomine", [False]) if anvil else _rpc("miner_stop", [])
    try:
        txid = web3.eth.send_transaction({
            "from": sender.address, "to": method._address, "value": value, "gas": gas,
            "data": method.encode_input(*args),
        })
        if anvil:
            _rpc("evm_mine", [timestamp])
        else:
            _rpc("evm_setTime", [timestamp * 1000])
            _rpc("evm_mine", [])  # returns the revert as an RPC error if the transaction reverted
            _rpc("evm_setTime", [(timestamp + 1) * 1000])
    finally:
        _rpc("evm_setAutomine", [True]) if anvil else _rpc("miner_start", [])
    chain._set_time_offset_from_block()
    receipt = chain.get_transaction(txid)
    assert receipt.timestamp == timestamp, "the block was not mined at the requested time"
    return receipt


def gas_cost(tx) -> int:
    return tx.gas_used * tx.gas_price


# --------------------------------------------------------------------------- rounds


@dataclass
class Ballot:
    """One participant's vote in one round: `labels` one byte per query, `wire` as reveal sends them (packed
    for K <= 16; `num_classes` is the round's K)."""

    account: object
    labels: bytes
    salt: bytes = field(default_factory=new_salt)
    num_classes: int | None = None

    @property
    def address(self) -> str:
        return self.account.address

    @property
    def wire(self) -> bytes:
        if self.num_classes is None:
            raise AssertionError("Ballot.wire needs the round's num_classes")
        return pack_labels(self.labels, self.num_classes)


def open_round(cl, requester, q: int, k: int, reward: int = 0, commit_s: int = COMMIT_S,
               reveal_s: int = REVEAL_S, qhash: bytes = QHASH, uri: str = URI) -> int:
    """openRound (the 6-argument form: defaults(), no audit, no fee)."""
    tx = cl.openRound(qhash, uri, q, k, commit_s, reveal_s, {"from": requester, "value": reward})
    return tx.events["RoundOpened"]["roundId"]


@dataclass(frozen=True)
class Audit:
    """A requester's hidden audit: G query indices (ascending), their known labels and a salt."""

    indices: tuple
    labels: tuple
    salt: bytes = field(default_factory=new_salt)

    def indices_bytes(self) -> bytes:
        return b"".join(int(i).to_bytes(2, "big") for i in self.indices)

    def labels_bytes(self) -> bytes:
        return bytes(self.labels)

    def commitment(self, cl, requester, qhash: bytes = QHASH) -> bytes:
        """keccak256(abi.encode(chainid, contract, requester, queriesHash, keccak(indices), keccak(labels), salt))."""
        return audit_commitment(cl, requester, qhash, self.indices_bytes(), self.labels_bytes(), self.salt)

    def reveal_args(self) -> tuple:
        return (self.indices_bytes(), self.labels_bytes(), self.salt)

    def oracle(self) -> tuple:
        """(indices, labels) as oracle.settle(audit=...) takes them."""
        return (tuple(self.indices), tuple(self.labels))


def audit_commitment(cl, requester, qhash: bytes, indices: bytes, labels: bytes, salt: bytes) -> bytes:
    return keccak(encode(["uint256", "address", "address", "bytes32", "bytes32", "bytes32", "bytes32"],
                         [chain.id, str(cl.address), str(getattr(requester, "address", requester)), qhash,
                          keccak(indices), keccak(labels), salt]))


def audit_of(truth: bytes, indices) -> Audit:
    """An audit of `indices` whose known labels are `truth`'s."""
    indices = tuple(sorted(indices))
    return Audit(indices, tuple(truth[i] for i in indices))


def round_spec(cl, requester, q: int, k: int, *, params: Params = DEFAULTS, audit: Audit | None = None,
               audit_s: int = 0, fee: int = 0, commit_s: int = COMMIT_S, reveal_s: int = REVEAL_S,
               qhash: bytes = QHASH, audit_count: int | None = None, audit_commitment: bytes | None = None,
               optimistic: bool = False) -> tuple:
    """A RoundSpec tuple (ABI order). An audit without audit_s gets REVEAL_S."""
    if audit is not None and not audit_s:
        audit_s = REVEAL_S
    g = len(audit.indices) if audit is not None else 0
    c = audit.commitment(cl, requester, qhash) if audit is not None else bytes(32)
    return (qhash, q, k, commit_s, reveal_s, audit_s, g if audit_count is None else audit_count,
            c if audit_commitment is None else audit_commitment, fee, params.astuple(), optimistic)


def open_round_with(cl, requester, q: int, k: int, reward: int = 0, *, params: Params = DEFAULTS,
                    audit: Audit | None = None, audit_s: int = 0, fee: int = 0, commit_s: int = COMMIT_S,
                    reveal_s: int = REVEAL_S, qhash: bytes = QHASH, uri: str = URI, optimistic: bool = False) -> int:
    """openRoundWith: msg.value = reward + fee."""
    spec = round_spec(cl, requester, q, k, params=params, audit=audit, audit_s=audit_s, fee=fee,
                      commit_s=commit_s, reveal_s=reveal_s, qhash=qhash, optimistic=optimistic)
    tx = cl.openRoundWith(spec, uri, {"from": requester, "value": reward + fee})
    return tx.events["RoundOpened"]["roundId"]


def reveal_audit(cl, rid: int, audit: Audit, sender):
    return cl.revealAudit(rid, *audit.reveal_args(), {"from": sender})


def num_classes(cl, rid: int) -> int:
    """Round `rid`'s K (0 for a round that does not exist)."""
    return int(round_info(cl, rid)["numClasses"])


def wire(cl, rid: int, labels: bytes) -> bytes:
    """`labels` (one byte per query) as reveal sends them in round `rid` (packed for K <= 16)."""
    return pack_labels(labels, num_classes(cl, rid))


def commitment_for(cl, rid: int, who: str, labels: bytes, salt: bytes) -> bytes:
    """The commitment to `labels` (one byte per query) in round `rid`, by the oracle's encoding."""
    return commitment(chain.id, cl.address, rid, who, labels, salt, num_classes(cl, rid))


def ballot_for(cl, rid: int, acct, labels, salt: bytes | None = None) -> Ballot:
    return Ballot(acct, bytes(labels), salt if salt is not None else new_salt(), num_classes(cl, rid))


def commit(cl, rid: int, acct, labels, salt: bytes | None = None) -> Ballot:
    """Commit `labels` for `acct` (its whole free stake) and return the ballot to reveal later."""
    ballot = ballot_for(cl, rid, acct, labels, salt)
    cl.commit(rid, commitment_for(cl, rid, acct.address, ballot.labels, ballot.salt), {"from": acct})
    return ballot


def reveal(cl, rid: int, ballots) -> list:
    return [cl.reveal(rid, b.wire, b.salt, {"from": b.account}) for b in ballots]


def to_reveal_phase(cl, rid: int) -> None:
    chain.mine(timestamp=round_info(cl, rid)["commitDeadline"] + 1)


def to_finalizable(cl, rid: int) -> None:
    """Past the reveal deadline: Finalizable, or Audit if the round has an unrevealed audit."""
    chain.mine(timestamp=round_info(cl, rid)["revealDeadline"] + 1)


def to_audit_over(cl, rid: int) -> None:
    """Past the audit deadline: Finalizable whether or not the audit was revealed."""
    chain.mine(timestamp=round_info(cl, rid)["auditDeadline"] + 1)


def by_address(ballots) -> list:
    """Ballots sorted ascending by address."""
    return sorted(ballots, key=lambda b: int(b.address, 16))


_COMMITTED_TOPIC = None


def committers_of(cl, rid: int) -> list[str]:
    """Every committer of round `rid`, from its Committed events (participant is the second indexed topic)."""
    global _COMMITTED_TOPIC
    if _COMMITTED_TOPIC is None:
        _COMMITTED_TOPIC = "0x" + keccak(b"Committed(uint256,address,bytes32,uint256,uint256)").hex()
    logs = web3.eth.get_logs({"address": cl.address, "fromBlock": 0, "toBlock": "latest",
                              "topics": [_COMMITTED_TOPIC, "0x" + int(rid).to_bytes(32, "big").hex()]})
    return [web3.to_checksum_address(bytes(log["topics"][2])[12:]) for log in logs]


def finalize_args(cl, rid: int, revealed) -> tuple[list, list]:
    """finalize()'s arrays: EVERY committer of the round (from its Committed events), sorted ascending,
    with the labels of the `revealed` ballots and empty bytes for everyone else."""
    labels = {b.address: b.wire for b in revealed}
    order = sorted(committers_of(cl, rid), key=lambda a: int(a, 16))
    return order, [labels.get(a, b"") for a in order]


def finalize(cl, rid: int, revealed, sender):
    """finalize() with every committer: `revealed` gives the labels, the other committers get b''."""
    addresses, labels = finalize_args(cl, rid, revealed)
    return cl.finalize(rid, addresses, labels, {"from": sender})


def play_round(cl, requester, ballots_spec, q: int, k: int, reward: int, reveal_mask=None, finalizer=None,
               **open_with):
    """Open, commit, reveal (those with a true mask) and finalize one round.

    `ballots_spec` is a list of (account, labels); keyword arguments (params=, audit=, fee=, ...) open the
    round with openRoundWith (an audit is revealed by the requester unless reveal_audit=False).
    Returns (round id, ballots, revealed ballots, finalize tx).
    """
    do_reveal_audit = open_with.pop("reveal_audit", True)
    if open_with:
        rid = open_round_with(cl, requester, q, k, reward, **open_with)
    else:
        rid = open_round(cl, requester, q, k, reward)
    ballots = [commit(cl, rid, a, labels) for a, labels in ballots_spec]
    mask = reveal_mask or [True] * len(ballots)
    revealed = [b for b, m in zip(ballots, mask) if m]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, revealed)
    to_finalizable(cl, rid)
    audit = open_with.get("audit")
    if audit is not None:
        if do_reveal_audit:
            reveal_audit(cl, rid, audit, requester)
        else:
            to_audit_over(cl, rid)
    tx = finalize(cl, rid, revealed, finalizer or requester)
    return rid, ballots, revealed, tx


# --------------------------------------------------------------------------- books


def assert_books(cl) -> tuple:
    """sum(accounting()) == balance: the contract owes exactly what it holds. Returns accounting()."""
    books = plain(cl.accounting())
    assert sum(books) == cl.balance(), f"accounting {books} sums to {sum(books)}, balance {cl.balance()}"
    return books


def the_event(tx, name: str) -> dict:
    """The one `name` event of `tx`, as a dict (fails if there is none or more than one)."""
    assert name in tx.events, f"no {name} event; events: {list(tx.events.keys())}"
    items = list(tx.events[name])
    assert len(items) == 1, f"{len(items)} {name} events"
    return {k: plain(v) for k, v in items[0].items()}


def events(tx, name: str) -> list[dict]:
    return [{k: plain(v) for k, v in e.items()} for e in tx.events[name]] if name in tx.events else []


def quick(method, *args, sender, value: int = 0):
    """Send method(*args) without Brownie's receipt handling (for bulk set-up, not for the behaviour
    under test): about half the round trips. Fails loudly if the transaction reverts."""
    txid = web3.eth.send_transaction({"from": sender.address, "to": method._address, "value": value,
                                      "gas": BLOCK_GAS_LIMIT, "data": method.encode_input(*args)})
    receipt = web3.eth.wait_for_transaction_receipt(txid, timeout=120)  # Anvil may answer before it mines
    if receipt.status != 1:
        raise AssertionError(f"set-up transaction {method.abi['name']}{args} reverted")
    return receipt


def quick_commit(cl, rid: int, acct, labels, salt: bytes | None = None) -> Ballot:
    ballot = ballot_for(cl, rid, acct, labels, salt)
    quick(cl.commit, rid, commitment_for(cl, rid, acct.address, ballot.labels, ballot.salt), sender=acct)
    return ballot


def quick_reveal(cl, rid: int, ballots) -> None:
    for b in ballots:
        quick(cl.reveal, rid, b.wire, b.salt, sender=b.account)


def books(cl) -> dict:
    """accounting() by field name (after checking it sums to the balance)."""
    return dict(zip(BOOK_FIELDS, assert_books(cl)))


def stakes_of(cl, rid, ballots) -> dict:
    """{address: stake committed in round rid}."""
    return {b.address: submission(cl, rid, b.account)["stake"] for b in ballots}


def claim_all(cl, rid, ballots) -> dict:
    """Claim for everyone, checking the books after each claim; {address: (reward, penalty)} from Claimed."""
    out = {}
    for b in ballots:
        ev = the_event(cl.claim(rid, {"from": b.account}), "Claimed")
        out[b.address] = (ev["reward"], ev["penalty"])
        assert_books(cl)
    return out
