"""Chain access: a web3.py gateway to a deployed ConsensusLearning contract.

Everything that talks JSON-RPC lives here: connecting, checking the chain and the contract code, nonces,
EIP-1559 fees, gas estimation, retries with backoff on transient RPC errors, receipts with confirmations,
custom-error decoding, and waiting on block timestamps. Works with any node; Brownie is not needed.

Retry policy (one layer, owned here; web3's provider-level retry is switched off in `connect`):
    what      transient failures only: connection errors (refused, reset), timeouts, HTTP 429/502/503/504 and
              node messages such as "header not found" (`_is_transient`). Reverts and any other error are
              raised at once.
    where     every read goes through `_Sender._rpc`; sending a raw transaction has its own loop in
              `_Sender._send_signed` (it re-signs after a nonce or fee change, and treats "already known" /
              "nonce too low" for its own hash as success, so a retried send is never sent twice).
    how long  an outage is waited out until the caller's deadline (`Gateway.deadline(ts)`; commit and reveal
              set the round's deadline themselves), else for `outage` seconds (default 300); `retries`, if
              given, also caps the number of tries (`connect` probes 3 times).
    backoff   `backoff * 2**i` seconds before retry i + 1 (0.5, 1, 2, 4, 8, 15, 15, ...: capped at
              `max_backoff`), never past the deadline; `on_retry(line)` gets one line per backoff.
    timeouts  HTTP connect 5 s, read 10 s (`connect`): a node that accepts the connection but never answers is
              reported after 10 s, not after minutes.
Transactions (`_Sender._submit`): a transaction not mined within `replace_after_blocks` blocks or
`replace_after_seconds` s is replaced (same nonce, fees +12.5 %, up to `max_fee_multiple` x the first fee; at
the cap it is re-broadcast); after `confirmations` blocks the receipt's block must still be the canonical one
at that height, else (a reorg) it is waited for again and re-broadcast. Sent transactions with a deadline
are re-checked while `wait_for_timestamp` waits, and re-sent if a reorg dropped them before the deadline. When
the node's next nonce falls below the client's (a reorg dropped several of its transactions), the dropped ones it
still holds are sent again in nonce order before the next one, or before waiting on (`_repair_nonce`).
Node errors a user can cause (funds, nonces, gas limits, fees) are put into words (`explain_node_error`).
Provider economy: waits sleep until about the target block time instead of polling; the poll interval
follows the node's block interval (receipts and new rounds: one look per block); settled rounds, the code
check and the deployment block are cached;
eth_getLogs windows shrink to a provider's cap.
Structs (getRound, getSubmission, getAccount, defaults, bounds) are decoded by ABI field name, never by position.
"""
from __future__ import annotations

import json
import re
import threading
import time
import typing
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping

import requests
from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.logs import DISCARD
from web3.exceptions import (ContractCustomError, ContractLogicError, TimeExhausted, TransactionNotFound,
                             Web3RPCError)

from .commitment import pack_labels, unpack_labels
from .optimistic import labels_root
from .protocol import LIMITS, Audit, Bounds, Params, Phase, Status, agrees, tally_weight  # noqa: F401 - re-exported (cl_client.chain.Phase ...)

GWEI = 10**9
DEFAULT_RETRIES = None  # no cap on the number of tries: an outage is bounded by time (see "Retry policy")
DEFAULT_BACKOFF = 0.5  # seconds before the first retry, doubled each time
DEFAULT_MAX_BACKOFF = 15.0  # the longest sleep between two tries
DEFAULT_OUTAGE = 300.0  # seconds an outage is waited out when the caller gave no deadline
CONNECT_TIMEOUT = 5.0  # HTTP connect timeout, seconds
READ_TIMEOUT = 10.0  # HTTP read timeout, seconds: a silent node is reported after this long
MAX_SLEEP = 60.0  # the longest sleep of a wait between two looks at the chain
MAX_POLL = 15.0  # the longest time between two looks for a receipt or a new round


class ChainError(Exception):
    """A problem reaching or using the node (the message is one line, fit for a user)."""


class ContractError(ChainError):
    """The contract reverted with one of its custom errors."""

    def __init__(self, name: str, args: tuple, fn: str = ""):
        self.name, self.args_, self.fn = name, tuple(args), fn
        shown = ", ".join(_fmt(a) for a in args)
        super().__init__(f"{fn + ': ' if fn else ''}contract reverted with {name}({shown})")


def _fmt(v: Any) -> str:
    if isinstance(v, (bytes, bytearray)):
        return "0x" + bytes(v).hex()
    return str(v)


def _one_line(exc: BaseException) -> str:
    """The first line of an exception's message (node errors can span many lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class RoundInfo:
    round_id: int
    requester: str
    reward: int  # net of the finalizer fee (less an audit forfeit once settled)
    finalizer_fee: int
    queries_hash: bytes
    num_queries: int
    num_classes: int
    commit_deadline: int
    reveal_deadline: int
    audit_deadline: int  # == reveal_deadline without an audit
    audit_count: int  # G
    audit_revealed: bool
    phase: Phase
    commit_count: int
    reveal_count: int
    committed_stake: int
    revealed_stake: int
    pool: int
    agreed_weight: int
    refundable: bool  # the reward is owed back to the requester (failed, or nobody agreed)
    params: Params
    optimistic: bool = False  # optimistic-only: settled by a post (propose), never by finalize


@dataclass(frozen=True)
class PostInfo:
    """getPost: a round's live post (proposer set), or the one it was confirmed with."""

    proposer: str  # the zero address: no live post (never posted, or the last post was refuted)
    challenge_ends: int  # last second a challenge is accepted
    serial: int  # posts made in the round so far; the live one is number `serial`
    consensus_root: bytes
    tally_weight: int  # W: the revealers' total tally weight
    bond: int
    mode: int  # M of the posted consensus

    @property
    def live(self) -> bool:
        return int(self.proposer, 16) != 0


@dataclass(frozen=True)
class Submission:
    hash: bytes
    stake: int
    matches: int
    audit_hits: int
    status: Status
    claimed: bool
    reputation: int  # bps, at commit


@dataclass(frozen=True)
class Account:
    free: int
    locked: int
    unbonding: int
    unbonding_ready_at: int  # when the last pending request matures
    withdrawable: int  # the part of `unbonding` that withdraw() would send now


def _camel(name: str) -> str:
    """Python field name -> ABI field name: `unbonding_ready_at` -> `unbondingReadyAt`."""
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


@lru_cache(maxsize=None)
def _abi_fields(cls: type) -> tuple[tuple[str, str, Any], ...]:
    """(python name, ABI name, type) per field of dataclass `cls`; `cls.ABI_NAMES` overrides camelCase."""
    names = getattr(cls, "ABI_NAMES", {})
    hints = typing.get_type_hints(cls)
    return tuple((f.name, names.get(f.name) or _camel(f.name), hints[f.name]) for f in fields(cls))


def _from_abi(cls: type, value: Any, what: str, **given: Any) -> Any:
    """Build dataclass `cls` from a struct decoded by name (a named tuple from `decode_tuples=True`, or a mapping).

    Fields in `given` are not in the struct (e.g. RoundInfo.round_id). Nested dataclasses are decoded the same
    way; enums, ints, bools, bytes and addresses are cast by the field's type. The struct must have exactly the
    expected field names, so a field renamed, added or dropped in the contract's interface raises ChainError
    instead of landing in the wrong Python field; the order of the fields does not matter.
    """
    if isinstance(value, Mapping):
        got, get = set(value), value.__getitem__
    elif hasattr(value, "_fields"):
        got, get = set(value._fields), (lambda name: getattr(value, name))
    else:
        raise ChainError(f"{what}: expected a struct decoded by field name, got {type(value).__name__}")
    wanted = [(py, abi, kind) for py, abi, kind in _abi_fields(cls) if py not in given]
    missing = sorted({abi for _, abi, _ in wanted} - got)
    unexpected = sorted(got - {abi for _, abi, _ in wanted})
    if missing or unexpected:
        raise ChainError(f"{what}: the contract's struct does not match cl_client's {cls.__name__} "
                         f"(missing {missing}, unexpected {unexpected}); is the packaged ABI out of date?")
    out = dict(given)
    for py, abi, kind in wanted:
        raw = get(abi)
        try:
            out[py] = _from_abi(kind, raw, f"{what}.{abi}") if is_dataclass(kind) else kind(raw)
        except (TypeError, ValueError) as exc:
            kind_name = getattr(kind, "__name__", kind)
            raise ChainError(f"{what}.{abi}: cannot read {raw!r} as {kind_name} ({_one_line(exc)})") from None
    return cls(**out)


@lru_cache(maxsize=1)
def artifact() -> dict:
    """ABI, creation bytecode and runtime-code hash packaged with cl_client (tools/export_abi.py)."""
    return json.loads((Path(__file__).resolve().parent / "abi" / "ConsensusLearning.json").read_text())


def settlement_address(address: str) -> str:
    """Where ConsensusLearning's constructor creates its settlement half: the contract's first CREATE, nonce 1,
    at keccak256(rlp([address, 1]))[12:] = keccak256(0xd6 0x94 ++ address ++ 0x01)[12:]."""
    return to_checksum_address(keccak(b"\xd6\x94" + bytes.fromhex(address[2:]) + b"\x01")[12:])


def check_code_at(get_code: Callable[[str], bytes], address: str, where: str = "") -> str:
    """Raise ChainError unless `address` holds this version of ConsensusLearning and its settlement half
    (both runtime codes, by the packaged hashes: the main contract's code alone does not fix the settlement
    code its constructor created). Returns the main contract's code hash."""
    code = get_code(address)
    if not code:
        raise ChainError(f"no contract code at {address}{where}")
    code_hash = "0x" + keccak(code).hex()
    if code_hash != artifact()["deployedBytecodeHash"]:
        raise ChainError(f"the code at {address}{where} is not this version of ConsensusLearning")
    half = settlement_address(address)
    if "0x" + keccak(get_code(half)).hex() != artifact()["settlementBytecodeHash"]:
        raise ChainError(f"the contract at {address}{where} has the right code but its settlement half at {half} "
                         "is not this version's ConsensusLearningSettlement (deployed by another constructor)")
    return code_hash


@lru_cache(maxsize=1)
def _error_table() -> dict[bytes, tuple[str, list[str]]]:
    table = {}
    for item in artifact()["abi"]:
        if item["type"] == "error":
            types = [i["type"] if i["type"] != "tuple" else _tuple_type(i) for i in item["inputs"]]
            table[keccak(text=f"{item['name']}({','.join(types)})")[:4]] = (item["name"], types)
    # OpenZeppelin errors not in our ABI's own list are still in the compiled ABI (inherited).
    table[bytes.fromhex("08c379a0")] = ("Error", ["string"])
    table[bytes.fromhex("4e487b71")] = ("Panic", ["uint256"])
    return table


def _tuple_type(item: dict) -> str:
    return "(" + ",".join(c["type"] for c in item["components"]) + ")"


def decode_revert(data: bytes | str | None) -> tuple[str, tuple] | None:
    """(error name, args) for revert data of one of the contract's errors, else None."""
    if data is None:
        return None
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x")) if data.startswith("0x") else None
        if data is None:
            return None
    if len(data) < 4:
        return None
    entry = _error_table().get(bytes(data[:4]))
    if entry is None:
        return None
    name, types = entry
    try:
        return name, tuple(abi_decode(types, bytes(data[4:])))
    except Exception:  # malformed payload: report the name at least
        return name, ()


def _revert_data(exc: BaseException) -> str | bytes | None:
    """Find the revert payload in whatever shape the node / web3 put it (geth, ganache, anvil differ)."""

    def search(obj: Any, depth: int = 0) -> str | bytes | None:
        if depth > 4:
            return None
        if isinstance(obj, bytes) and len(obj) >= 4:
            return obj
        if isinstance(obj, str):
            return obj if obj.startswith("0x") and len(obj) >= 10 else None
        if isinstance(obj, dict):
            for key in ("data", "result", "return", "error"):
                if key in obj and (found := search(obj[key], depth + 1)) is not None:
                    return found
            for value in obj.values():
                if isinstance(value, dict) and (found := search(value, depth + 1)) is not None:
                    return found
        if isinstance(obj, (tuple, list)):
            for item in obj:
                if (found := search(item, depth + 1)) is not None:
                    return found
        return None

    return search(getattr(exc, "data", None)) or search(getattr(exc, "args", ()))


def _node_message(exc: BaseException) -> str:
    """The node's own error message, without Ganache's JS stack or web3's dict wrapping (one line)."""
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        text = str(response["error"].get("message", ""))
    else:
        arg = exc.args[0] if getattr(exc, "args", None) else None
        text = str(arg.get("message", "")) if isinstance(arg, dict) else str(exc)
    text = _one_line(Exception(text)) if text.strip() else type(exc).__name__
    return re.sub(r"^(VM Exception while processing transaction: |Error: |RuntimeError: )", "", text).strip()


def _eth(wei: int) -> str:
    return f"{wei / 10**18:.6g} ETH"


def _gwei(wei: int) -> str:
    return f"{wei / GWEI:.4g} gwei"


def _fee(tx: Mapping) -> int:
    return int(tx.get("maxFeePerGas") or tx.get("gasPrice") or 0)


def _ints(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"(?<![0-9a-fA-Fx])(\d+)(?![0-9a-fA-Fx])", text)]


def explain_node_error(message: str, tx: Mapping | None = None, balance: int | None = None) -> str | None:
    """Words for a node error a user can cause (geth, Anvil, Ganache and Hardhat formats), else None.

    `tx` (the transaction sent) and `balance` (the sender's, in wei) fill in the figures the node left out.
    """
    m, tx = message.lower(), tx or {}
    sender = tx.get("from", "the account")
    gas, fee, value = int(tx.get("gas", 0) or 0), _fee(tx), int(tx.get("value", 0) or 0)
    if re.search(r"insufficient funds|enough funds|lackoffund|insufficient balance", m):
        # geth: "have X want Y"; Hardhat: "upfront cost is: X and the sender's account only has: Y"
        have = want = None
        if (g := re.search(r"have (\d+) want (\d+)", m)):
            have, want = int(g[1]), int(g[2])
        elif (h := re.search(r"upfront cost is: (\d+).*only has: (\d+)", m)):
            want, have = int(h[1]), int(h[2])
        have = balance if have is None else have
        want = (gas * fee + value) if want is None and gas and fee else want
        figures = "".join([f"; it needs up to {_eth(want)}" if want is not None else "",
                           f" and holds {_eth(have)}" if have is not None else ""])
        return (f"{sender} cannot pay gas * price + value{figures}: send it some ETH, or lower the amount")
    if re.search(r"nonce too low|nonce has already been used|nonce is too low|correct nonce|old nonce", m):
        return (f"nonce {tx.get('nonce', '?')} of {sender} was already used by another transaction (is the key "
                "used by another client or wallet at the same time?)")
    if re.search(r"nonce too high|nonce is too high|future nonce", m):
        return (f"nonce {tx.get('nonce', '?')} of {sender} is ahead of the account's next one (a transaction "
                "before it is missing; is the node in sync?)")
    if re.search(r"exceeds block gas limit|gas_limit > env\.block\.gas_limit|intrinsic gas too high|"
                 r"exceeds the block gas limit|gas limit reached", m):
        numbers = _ints(m) if "block gas limit of" in m else []
        limit = f" of {numbers[-1]:,}" if numbers else ""
        return f"the transaction's gas limit {gas:,} is above the block gas limit{limit}"
    if re.search(r"intrinsic gas too low|requires at least \d+ gas|gas too low|base fee exceeds gas limit", m):
        need = re.search(r"at least (\d+) gas", m)
        return (f"the transaction's gas limit {gas:,} is below what it costs before running any code"
                f"{f' ({int(need[1]):,} gas)' if need else ''}")
    if re.search(r"replacement (transaction )?underpriced|replacement fee too low|transaction underpriced|"
                 r"gas price too low to replace|fee too low", m):
        return (f"the node refused to replace the pending transaction with nonce {tx.get('nonce', '?')} of "
                f"{sender} at {_gwei(fee)}: a replacement must pay at least 10-12.5 % more")
    if re.search(r"less than (the )?block('s)? base ?fee|fee cap less than block base fee|"
                 r"max fee per gas less than block base fee|maxfeepergas .*basefeepergas", m):
        return f"the fee cap {_gwei(fee)} is below the block's base fee: the network is busier than estimated"
    return None


TRANSIENT = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, TimeoutError, ConnectionError)


def _is_range_error(exc: BaseException) -> bool:
    """True for a provider's refusal of an eth_getLogs range as too large (Alchemy, Infura, QuickNode, ...)."""
    msg = _node_message(exc).lower()
    return any(s in msg for s in ("range", "too large", "limit exceeded", "exceed", "more than", "too many blocks",
                                  "max block", "query returned", "-32005", "response size", "is limited to"))


def _is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: the node or the network, not the request (see "Retry policy")."""
    if isinstance(exc, TRANSIENT):
        return True
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return exc.response.status_code in (429, 502, 503, 504)
    msg = str(exc).lower()
    return any(s in msg for s in ("timed out", "connection reset", "too many requests", "header not found"))


def _transport_reason(exc: BaseException) -> str:
    """A short reason for a transient failure: a silent node is named as such."""
    if isinstance(exc, (requests.exceptions.ReadTimeout, TimeoutError)) or "read timed out" in str(exc).lower():
        return "the node accepted the connection but did not answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "cannot connect (refused or reset)"
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    return _one_line(exc)


def _retrying(call: Callable[[], Any], retries: int | None, backoff: float, *, until: float | None = None,
              max_backoff: float = DEFAULT_MAX_BACKOFF, on_retry: Callable[[str], None] | None = None) -> Any:
    """`call()`, retried on transient failures until monotonic time `until` (and at most `retries` times if
    not None), sleeping backoff * 2**i (capped at `max_backoff`, never past `until`) before retry i + 1.

    Contract reverts and other errors propagate at once; when time or tries run out, ChainError (one line).
    `on_retry(line)` is told of each backoff.
    """
    delay, started, attempt = backoff, time.monotonic(), 0
    while True:
        try:
            return call()
        except (ContractCustomError, ContractLogicError):
            raise
        except Exception as exc:  # noqa: BLE001
            if not _is_transient(exc):
                raise
            attempt += 1
            now = time.monotonic()
            if (retries is not None and attempt > retries) or (until is not None and now >= until):
                raise ChainError(f"node did not answer after {attempt} tries over {now - started:.0f} s: "
                                 f"{_transport_reason(exc)}") from None
            sleep = delay if until is None else max(0.0, min(delay, until - now))
            if on_retry is not None:
                left = "" if until is None else f", giving up in {until - now:.0f} s"
                on_retry(f"node not answering ({_transport_reason(exc)}); try {attempt + 1} in {sleep:.1f} s"
                         f"{left}")
            time.sleep(sleep)
            delay = min(delay * 2, max_backoff)


def connect(rpc_url: str, timeout: float = READ_TIMEOUT, retries: int = 2, backoff: float = DEFAULT_BACKOFF,
            connect_timeout: float = CONNECT_TIMEOUT) -> Web3:
    """A Web3 for `rpc_url` (http(s) or ws(s)); raises ChainError if nothing answers there.

    HTTP requests time out after `connect_timeout` s to connect and `timeout` s to read, so a node that
    accepts the connection but never answers is reported after `timeout` s (it is not tried again here).
    web3's own HTTP retry (5 tries with backoff, even for eth_sendRawTransaction) is switched off: the
    Gateway retries instead (module docstring, "Retry policy"), so waits do not compound. The legacy
    websocket provider has no retry of its own. The first eth_chainId is tried `retries + 1` times.
    """
    if rpc_url.startswith(("ws://", "wss://")):
        w3 = Web3(Web3.LegacyWebSocketProvider(rpc_url, websocket_timeout=timeout))
    elif rpc_url.startswith(("http://", "https://")):
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": (connect_timeout, timeout)},
                                    exception_retry_configuration=None))
    else:
        raise ChainError(f"RPC URL must start with http(s):// or ws(s)://, got {rpc_url!r}")

    def probe() -> int:
        try:
            return w3.eth.chain_id
        except requests.exceptions.ReadTimeout:
            raise _Silent() from None

    try:
        _retrying(probe, retries, backoff)
        _cache_chain_id(w3)
    except _Silent:
        raise ChainError(f"the node at {rpc_url} accepted the connection but did not answer within "
                         f"{timeout:.0f} s") from None
    except Exception as exc:  # noqa: BLE001 - any failure here means "unreachable"
        raise ChainError(f"cannot reach an Ethereum node at {rpc_url} ({type(exc).__name__})") from None
    return w3


def _cache_chain_id(w3: Web3) -> None:
    """Let the provider answer eth_chainId from memory: web3 asks for it twice per eth_call and per
    transaction built (2 of every 3 requests of an idle client). Nothing else is cached there (blocks can
    be reorged)."""
    provider = w3.provider
    if hasattr(provider, "cacheable_requests"):
        provider.cacheable_requests = {"eth_chainId"}
        provider.cache_allowed_requests = True


class _Silent(Exception):
    """connect's probe timed out reading: not worth retrying."""


@dataclass
class _Sent:
    """A transaction this client sent and saw mined: re-checked while waits run (reorgs), up to `until`."""
    raw: bytes
    hash: bytes
    label: str
    block_number: int | None
    block_hash: bytes | None
    until: int | None  # chain time after which re-sending is pointless (the phase's deadline), None: watch briefly
    nonce: int | None = None


class _Sender:
    """The transaction path shared by `Gateway` and `deploy`: retried reads, gas estimation with revert
    decoding, EIP-1559 fees, nonces with recovery, signing and sending, stuck-transaction replacement,
    receipts after `confirmations` blocks on the canonical chain.
    """

    def __init__(self, w3: Web3, account: LocalAccount | None, *, confirmations: int = 1,
                 retries: int | None = DEFAULT_RETRIES, backoff: float = DEFAULT_BACKOFF,
                 poll_interval: float | None = None, tx_timeout: float = 300.0, outage: float = DEFAULT_OUTAGE,
                 max_backoff: float = DEFAULT_MAX_BACKOFF, on_retry: Callable[[str], None] | None = None,
                 replace_after_blocks: int = 3, replace_after_seconds: float = 60.0,
                 max_fee_multiple: float = 4.0, watch_blocks: int = 12):
        self.w3 = w3
        self.account = account
        self.confirmations = max(1, int(confirmations))
        self.retries = None if retries is None else int(retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.outage = float(outage)
        self.on_retry = on_retry  # one line per backoff, per replaced / re-sent transaction, per log window cut
        self._poll_interval = None if poll_interval is None else float(poll_interval)
        self.tx_timeout = float(tx_timeout)
        self.replace_after_blocks = max(1, int(replace_after_blocks))
        self.replace_after_seconds = float(replace_after_seconds)
        self.max_fee_multiple = max(1.0, float(max_fee_multiple))
        self.watch_blocks = int(watch_blocks)
        self._nonce: int | None = None
        self._until: float | None = None  # monotonic deadline set by `deadline()`
        self._deadline_ts: int | None = None
        self._seen: tuple[int, float] | None = None  # (latest block timestamp, monotonic time it was read)
        self._interval: tuple[float, float] | None = None  # (seconds per block, monotonic time measured)
        self._sent: list[_Sent] = []
        self._jumpy = False
        self._lock = threading.RLock()
        self.chain_id = self._rpc(lambda: w3.eth.chain_id)
        _cache_chain_id(w3)

    # ------------------------------------------------------------------ retries, deadlines, time

    def _say(self, line: str) -> None:
        if self.on_retry is not None:
            self.on_retry(line)

    def _rpc(self, call: Callable[[], Any], retries: int | None = None) -> Any:
        """Run an RPC call with the retry policy (module docstring): until the deadline, else `outage` s."""
        until = self._until if self._until is not None else time.monotonic() + self.outage
        tries = self.retries if retries is None else retries
        return _retrying(call, tries, self.backoff, until=until, max_backoff=self.max_backoff,
                         on_retry=self.on_retry)

    def _chain_now(self) -> int:
        """Chain time now, estimated from the last block seen and the wall clock (no request if recent)."""
        if self._seen is None:
            self._latest_block()
        ts, at = self._seen
        return int(ts + (time.monotonic() - at))

    def _latest_block(self) -> Any:
        block = self._rpc(lambda: self.w3.eth.get_block("latest"))
        self._seen = (int(block["timestamp"]), time.monotonic())
        return block

    @contextmanager
    def deadline(self, timestamp: int | None = None, *, seconds: float | None = None):
        """Within the block, ride out RPC outages (and keep trying to get a transaction in) until chain time
        `timestamp` (mapped to the wall clock from the last block seen) or for `seconds`; innermost wins."""
        if timestamp is None and seconds is None:
            yield self
            return
        saved = self._until, self._deadline_ts
        if timestamp is not None:
            self._until = time.monotonic() + max(0, int(timestamp) - self._chain_now())
            self._deadline_ts = int(timestamp)
        else:
            self._until = time.monotonic() + float(seconds)
        try:
            yield self
        finally:
            self._until, self._deadline_ts = saved

    def block_interval(self) -> float:
        """Seconds per block, from the latest 20 blocks (measured at most every 10 minutes; at least 1 s)."""
        if self._interval is not None and time.monotonic() - self._interval[1] < 600:
            return self._interval[0]
        latest = self._latest_block()
        n = min(20, int(latest["number"]))
        seconds = 12.0
        if n > 0:
            old = self._rpc(lambda: self.w3.eth.get_block(int(latest["number"]) - n))
            seconds = (int(latest["timestamp"]) - int(old["timestamp"])) / n
        self._interval = (max(1.0, seconds), time.monotonic())
        return self._interval[0]

    @property
    def poll_interval(self) -> float:
        """Seconds between two looks at the chain: as given, else half the node's block interval (0.5-15 s)."""
        if self._poll_interval is not None:
            return self._poll_interval
        return min(MAX_POLL, max(0.5, self.block_interval() / 2))

    @poll_interval.setter
    def poll_interval(self, value: float | None) -> None:
        self._poll_interval = None if value is None else float(value)

    @property
    def idle_interval(self) -> float:
        """Seconds between two looks while nothing is due (waiting for a round to be opened): the poll interval
        if one was given, else one block interval (a new round cannot appear between two blocks), at most MAX_POLL
        (a dev chain whose clock was moved ahead measures a long block interval)."""
        return self._poll_interval if self._poll_interval is not None else min(MAX_POLL, self.block_interval())

    # ------------------------------------------------------------------ errors

    def _as_contract_error(self, exc: BaseException, fn_name: str, tx: Mapping | None = None) -> ChainError:
        """ContractError if `exc` carries one of the contract's errors, else a one-line ChainError in words."""
        decoded = decode_revert(_revert_data(exc))
        if decoded:
            return ContractError(decoded[0], decoded[1], fn_name)
        words = self._words(exc, tx)
        if words:
            return ChainError(f"{fn_name}: {words}")
        if isinstance(exc, (ContractCustomError, ContractLogicError)):
            return ChainError(f"{fn_name}: transaction would revert ({_one_line(exc)})")
        return ChainError(f"{fn_name}: {_node_message(exc)}")

    def _words(self, exc: BaseException, tx: Mapping | None) -> str | None:
        message = _node_message(exc)
        if explain_node_error(message, tx) is None:
            return None
        balance = None
        if tx and tx.get("from"):
            try:
                balance = int(_retrying(lambda: self.w3.eth.get_balance(tx["from"]), 1, self.backoff))
            except Exception:  # noqa: BLE001 - the figure is a courtesy
                balance = None
        return explain_node_error(message, tx, balance)

    @property
    def sender(self) -> str:
        """The account's address (ChainError if this gateway is read-only)."""
        if self.account is None:
            raise ChainError("this action sends a transaction: give a key (CL_PRIVATE_KEY or --keystore)")
        return self.account.address

    # ------------------------------------------------------------------ sending

    def _fees(self, block: Any) -> dict:
        """EIP-1559 fees over `block`'s base fee (tip from the node, else 1 gwei); gasPrice before London."""
        base = block.get("baseFeePerGas")
        if base is None:  # pre-london chain
            return {"gasPrice": self._rpc(lambda: self.w3.eth.gas_price)}
        try:
            tip = int(self._rpc(lambda: self.w3.eth.max_priority_fee, retries=1))
        except Exception:  # noqa: BLE001 - some nodes lack eth_maxPriorityFeePerGas
            tip = GWEI
        tip = max(tip, 1)
        return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * int(base) + tip}

    def _submit(self, fn: Any, label: str, value: int = 0) -> dict:
        """Send `fn` (a bound contract function or a constructor) and return its receipt after `confirmations`.

        Reverts are found by gas estimation before anything is sent and raised as ContractError.
        """
        sender = self.sender
        try:
            gas = self._rpc(lambda: fn.estimate_gas({"from": sender, "value": value}))
        except (ContractCustomError, ContractLogicError, ValueError, Web3RPCError) as exc:
            # web3 raises reverts as Contract*Error; some nodes report them as plain RPC errors
            raise self._as_contract_error(exc, label, {"from": sender, "value": value}) from None
        latest = self._latest_block()
        fees = self._fees(latest)
        gas = int(gas * 1.2) + 10_000
        if latest.get("gasLimit"):
            gas = min(gas, int(latest["gasLimit"]))  # the margin must not push a big deployment over the block
        pending = self._rpc(lambda: self.w3.eth.get_transaction_count(sender, "pending"))
        if self._nonce is not None and pending < self._nonce:  # sent transactions are gone (a reorg)
            pending, self._nonce = self._repair_nonce(sender, pending, self._nonce), None
        if self._nonce is None or pending > self._nonce:  # first use, or another client used the key
            self._nonce = pending
        tx = self._rpc(lambda: fn.build_transaction({
            "from": sender, "value": value, "gas": gas, "nonce": self._nonce, "chainId": self.chain_id, **fees,
        }))
        tx_hash = self._send_signed(tx, label)
        self._nonce = tx["nonce"] + 1
        receipt = self._wait_receipt(tx_hash, tx, label)
        if receipt["status"] != 1:
            raise ChainError(f"{label}: transaction 0x{bytes(receipt['transactionHash']).hex()} reverted on chain "
                             "(state changed since estimation); retry")
        return receipt

    def _send_signed(self, tx: dict, label: str = "transaction", replacing: bool = False) -> bytes | None:
        """Sign and send; handle 'nonce too low', 'replacement underpriced', 'already known', timeouts.

        This is the retry loop for eth_sendRawTransaction (the `_rpc` policy: until the deadline, else
        `outage` s). `replacing`: `tx` replaces one already sent with its nonce; 'nonce too low' then means an
        earlier version was mined (None is returned) and the nonce is never changed.
        """
        delay, started, attempt, bumps = self.backoff, time.monotonic(), 0, 0
        until = self._until if self._until is not None else started + self.outage
        while True:
            signed = self.account.sign_transaction(tx)
            self._last_raw = bytes(signed.raw_transaction)
            try:
                return bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction))
            except Exception as exc:  # noqa: BLE001
                msg = str(exc).lower()
                if "already known" in msg or "known transaction" in msg:
                    return bytes(signed.hash)
                if "nonce too low" in msg or "nonce has already been used" in msg:
                    # Either this very transaction got in (a retried send) or another one used the nonce.
                    try:
                        self._rpc(lambda: self.w3.eth.get_transaction(signed.hash))
                        return bytes(signed.hash)
                    except TransactionNotFound:
                        if replacing:
                            return None
                        nonce = self._rpc(lambda: self.w3.eth.get_transaction_count(tx["from"], "pending"))
                        if nonce == tx["nonce"]:  # the node says too low, yet offers the same: give up in words
                            raise ChainError(f"{label}: {self._words(exc, tx) or _node_message(exc)}") from None
                        tx["nonce"] = nonce
                elif "underpriced" in msg or "fee too low" in msg:
                    bumps += 1
                    if replacing or bumps > 4:  # +60 % did not do: the pending one pays far more
                        raise ChainError(f"{label}: {self._words(exc, tx) or _node_message(exc)}") from None
                    _bump(tx)
                elif not _is_transient(exc):
                    words = self._words(exc, tx) or _node_message(exc)
                    raise ChainError(f"{label}: sending the transaction failed: {words}") from None
                attempt += 1
                now = time.monotonic()
                if (self.retries is not None and attempt > self.retries) or now >= until:
                    why = _transport_reason(exc) if _is_transient(exc) else (self._words(exc, tx)
                                                                            or _node_message(exc))
                    raise ChainError(f"{label}: could not send the transaction after {attempt} tries: {why}"
                                     ) from None
                sleep = max(0.0, min(delay, until - now))
                if _is_transient(exc):
                    self._say(f"{label}: node not answering ({_transport_reason(exc)}); try {attempt + 1} in "
                              f"{sleep:.1f} s")
                time.sleep(sleep)
                delay = min(delay * 2, self.max_backoff)

    def _receipt_of(self, tx_hash: bytes) -> dict | None:
        try:
            receipt = self._rpc(lambda: self.w3.eth.get_transaction_receipt(tx_hash))
        except (TransactionNotFound, TimeExhausted):
            return None
        return None if receipt is None or receipt.get("blockNumber") is None else dict(receipt)

    def _canonical(self, number: int, block_hash: bytes) -> bool:
        """True if `block_hash` is still the canonical block at height `number`."""
        block = self._rpc(lambda: self.w3.eth.get_block(int(number)))
        return bytes(block["hash"]) == bytes(block_hash)

    def _wait_receipt(self, tx_hash: bytes, tx: dict | None = None, label: str = "transaction") -> dict:
        """The receipt once `confirmations` blocks include the transaction's block, which must still be the
        canonical block at its height (ChainError after tx_timeout).

        With `tx` (what was sent): if no version of it is mined within `replace_after_blocks` blocks or
        `replace_after_seconds` s, it is replaced (same nonce, fees +12.5 %, capped at `max_fee_multiple` x
        the first fee; at the cap the last version is re-broadcast, for a node that lost it). A receipt
        whose block was reorged away is waited for again the same way.
        """
        hashes = [tx_hash]
        raws = {tx_hash: getattr(self, "_last_raw", None)}
        first_fee = _fee(tx) if tx else 0
        deadline = time.monotonic() + self.tx_timeout
        since_block, since_time = None, time.monotonic()
        while True:
            receipt = next(filter(None, (self._receipt_of(h) for h in reversed(hashes))), None)
            if receipt is not None and self.confirmations == 1:
                head = int(receipt["blockNumber"])  # its own block is the one confirmation: no need to ask
            else:
                head = self._rpc(lambda: self.w3.eth.block_number)
            since_block = head if since_block is None else since_block
            if receipt is not None:
                if head - receipt["blockNumber"] + 1 >= self.confirmations:
                    if self._canonical(receipt["blockNumber"], receipt["blockHash"]):
                        if tx is not None:
                            self._watch(receipt, raws.get(bytes(receipt["transactionHash"])), label, int(tx["nonce"]))
                        return receipt
                    self._say(f"{label}: block {receipt['blockNumber']} of transaction "
                              f"0x{bytes(receipt['transactionHash']).hex()} was replaced by a reorg; waiting for "
                              "it to be mined again")
                    since_block, since_time = head, time.monotonic()
                    self._rebroadcast(raws.get(bytes(receipt["transactionHash"])))
            elif tx is not None and (head - since_block >= self.replace_after_blocks
                                     or time.monotonic() - since_time >= self.replace_after_seconds):
                pending = self._rpc(lambda: self.w3.eth.get_transaction_count(tx["from"], "pending"))
                if pending < tx["nonce"]:  # not stuck on its fee: a reorg dropped transactions below it
                    self._repair_nonce(tx["from"], pending, tx["nonce"])
                    self._rebroadcast(raws.get(hashes[-1]))
                else:
                    new_hash = self._replace(tx, label, first_fee, raws.get(hashes[-1]))
                    if new_hash is not None and new_hash not in hashes:
                        hashes.append(new_hash)
                        raws[new_hash] = self._last_raw
                since_block, since_time = head, time.monotonic()
            if time.monotonic() > deadline:
                raise ChainError(f"transaction 0x{tx_hash.hex()} not confirmed within {self.tx_timeout:.0f} s")
            # one look per block unless a poll interval was given (a receipt cannot come between two blocks)
            time.sleep(self.idle_interval)

    def _replace(self, tx: dict, label: str, first_fee: int, last_raw: bytes | None) -> bytes | None:
        """Replace stuck `tx` with the same nonce and fees +12.5 % (capped); re-broadcast it at the cap."""
        cap = int(first_fee * self.max_fee_multiple)
        bumped = dict(tx)
        _bump(bumped)
        if _fee(bumped) > cap:
            self._say(f"{label}: transaction with nonce {tx['nonce']} still not mined at the fee cap "
                      f"{_gwei(_fee(tx))}; sending it again")
            self._rebroadcast(last_raw)
            return None
        self._say(f"{label}: transaction with nonce {tx['nonce']} not mined yet; replacing it with fee cap "
                  f"{_gwei(_fee(bumped))} (was {_gwei(_fee(tx))})")
        new_hash = self._send_signed(bumped, label, replacing=True)
        if new_hash is not None:
            tx.update(bumped)
        return new_hash

    def _rebroadcast(self, raw: bytes | None) -> None:
        """Send signed bytes again (same hash): for a node that lost the transaction, or after a reorg."""
        if raw is None:
            return
        try:
            self._rpc(lambda: self.w3.eth.send_raw_transaction(raw))
        except ChainError:
            raise
        except Exception:  # noqa: BLE001 - "already known", "nonce too low" (mined meanwhile): nothing to do
            pass

    # ------------------------------------------------------------------ reorg watch

    def _watch(self, receipt: dict, raw: bytes | None, label: str, nonce: int | None = None) -> None:
        if raw is None:
            return
        with self._lock:
            self._sent.append(_Sent(raw, bytes(receipt["transactionHash"]), label, int(receipt["blockNumber"]),
                                    bytes(receipt["blockHash"]), self._deadline_ts, nonce))

    def _repair_nonce(self, sender: str, pending: int, upto: int) -> int:
        """The node's next nonce `pending` is below `upto`, the one this client would use next (or that of a
        transaction it waits for): the transactions it sent with nonces pending..upto-1 were dropped (a reorg of
        several of its transactions, or a node that lost its pool). Those it still holds are sent again, in
        nonce order, and waited for, so that no transaction sits behind a nonce gap forever; the rest are
        given up. Returns the node's next nonce after that."""
        with self._lock:
            lost = sorted((s for s in self._sent if s.nonce is not None and pending <= s.nonce < upto),
                          key=lambda s: s.nonce)
        self._say(f"nonces {pending}..{upto - 1} of {sender} are no longer on chain (a reorg?); "
                  f"sending {len(lost)} of those transactions again")
        for s in lost:
            self._rebroadcast(s.raw)
        back = self._rpc(lambda: self.w3.eth.get_transaction_count(sender, "pending"))
        for s in lost:
            if s.nonce >= back:  # the node did not take it again (its nonce was used otherwise): given up
                continue
            try:
                receipt = self._wait_receipt(s.hash, None, s.label)
            except ChainError:  # not mined again: given up, the next transaction takes its nonce
                continue
            s.block_number, s.block_hash = int(receipt["blockNumber"]), bytes(receipt["blockHash"])
        return self._rpc(lambda: self.w3.eth.get_transaction_count(sender, "pending"))

    def check_sent(self, head: int | None = None, now: int | None = None) -> None:
        """Re-check this client's mined transactions: one whose block was reorged away and that is not mined
        again is re-sent (same signed bytes) while its deadline has not passed. Called by the waits."""
        with self._lock:
            if not self._sent:
                return
            head = self._rpc(lambda: self.w3.eth.block_number) if head is None else head
            now = self._chain_now() if now is None else now
            keep = []
            # A reorg that replaced a block replaced every block above it too: if the highest block holding a
            # watched transaction is still canonical, so are the lower ones (one request instead of one each).
            mined = [s for s in self._sent if s.block_number is not None]
            newest = max(mined, key=lambda s: s.block_number, default=None)
            all_there = (len(mined) == len(self._sent) and newest is not None
                         and self._canonical(newest.block_number, newest.block_hash))
            for s in self._sent:
                if s.until is not None and now > s.until:
                    continue  # the phase is over: nothing to gain by re-sending
                if s.until is None and s.block_number is not None and head - s.block_number >= self.watch_blocks:
                    continue
                if s.block_number is not None and (all_there or self._canonical(s.block_number, s.block_hash)):
                    keep.append(s)
                    continue
                receipt = self._receipt_of(s.hash)
                if receipt is not None and self._canonical(receipt["blockNumber"], receipt["blockHash"]):
                    s.block_number, s.block_hash = int(receipt["blockNumber"]), bytes(receipt["blockHash"])
                else:
                    if s.block_number is not None:
                        self._say(f"{s.label}: transaction 0x{s.hash.hex()} was dropped by a reorg; sending it "
                                  "again")
                    s.block_number = s.block_hash = None
                    self._rebroadcast(s.raw)
                keep.append(s)
            self._sent = keep

    def _watching(self) -> bool:
        return bool(self._sent)


def _bump(tx: dict) -> None:
    """Fees +12.5 % (+1 wei): what nodes require of a replacement with the same nonce."""
    for key in ("maxFeePerGas", "maxPriorityFeePerGas", "gasPrice"):
        if key in tx:
            tx[key] = tx[key] * 1125 // 1000 + 1


_CODE_CHECKED: set[tuple[int, str]] = set()  # (chain id, address) whose code matched: it cannot change
_DEPLOYED_AT: dict[tuple[int, str], int] = {}  # (chain id, address) -> deployment block


class Gateway(_Sender):
    """The ConsensusLearning contract at `address`, used by `account` (None for read-only use).

    Parameters follow web3 conventions: amounts in wei, timestamps in seconds, labels as bytes.
    `confirmations` blocks must be mined on top of a transaction's block before it counts.
    Transient RPC failures (connection errors, timeouts, HTTP 429/5xx) are retried with backoff until the
    caller's deadline (`deadline(ts)`) or for `outage` s; `retries`, if given, caps the tries at `retries + 1`
    (module docstring). Further options (`_Sender`): `outage`, `max_backoff`, `on_retry(line)`,
    `replace_after_blocks`, `replace_after_seconds`, `max_fee_multiple`, `watch_blocks`.
    `from_block` None or 0: log scans start at the deployment block (`find_deployment_block`).
    """

    def __init__(
        self,
        w3: Web3,
        address: str,
        account: LocalAccount | None = None,
        *,
        expected_chain_id: int | None = None,
        confirmations: int = 1,
        retries: int | None = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        poll_interval: float | None = None,
        tx_timeout: float = 300.0,
        from_block: int | None = None,
        check_code: bool = True,
        log_window: int = 5_000,
        **options: Any,
    ):
        super().__init__(w3, account, confirmations=confirmations, retries=retries, backoff=backoff,
                         poll_interval=poll_interval, tx_timeout=tx_timeout, **options)
        self._from_block = int(from_block) if from_block else None  # None / 0: found on first use
        self.log_window = max(1, int(log_window))
        self._rounds: dict[int, RoundInfo] = {}  # settled rounds (they cannot change) and open ones' deadlines
        self._identity: dict | None = None  # chain_identity(), read once
        self._max_participants: dict[int, int] = {}  # Q -> maxParticipants(Q): a pure function of Q, read once per Q
        self._optimistic_seats: dict[tuple[int, int], int] = {}  # (Q, K) -> optimisticSeats(Q, K)
        if expected_chain_id is not None and int(expected_chain_id) != self.chain_id:
            raise ChainError(f"wrong chain: the node is on chain id {self.chain_id}, expected {expected_chain_id}")
        try:
            self.address = to_checksum_address(address)
        except ValueError:
            raise ChainError(f"not an address: {address!r}") from None
        if check_code and (self.chain_id, self.address) not in _CODE_CHECKED:
            check_code_at(lambda a: bytes(self._rpc(lambda: w3.eth.get_code(a))), self.address,
                          f" on chain {self.chain_id}")
            _CODE_CHECKED.add((self.chain_id, self.address))
        # decode_tuples: structs come back as named tuples with the ABI's field names (read by `_from_abi`)
        self.contract = w3.eth.contract(address=self.address, abi=artifact()["abi"], decode_tuples=True)

    @property
    def from_block(self) -> int:
        """The first block log scans read: as given, else the contract's deployment block (found once)."""
        if self._from_block is None:
            self._from_block = self.find_deployment_block()
        return self._from_block

    @from_block.setter
    def from_block(self, value: int | None) -> None:
        self._from_block = int(value) if value else None

    def find_deployment_block(self) -> int:
        """The block the contract was created in: a binary search on eth_getCode over block numbers
        (O(log n) requests, cached per process). 0 if the node keeps no state that old (a pruned node)."""
        key = (self.chain_id, self.address)
        if key in _DEPLOYED_AT:
            return _DEPLOYED_AT[key]
        head = int(self._rpc(lambda: self.w3.eth.block_number))

        def has_code(number: int) -> bool:
            return bool(bytes(self._rpc(lambda: self.w3.eth.get_code(self.address, number), retries=2)))

        lo, hi = 0, head
        try:
            if not has_code(hi):
                raise ChainError(f"no contract code at {self.address} on chain {self.chain_id}")
            while lo < hi:
                mid = (lo + hi) // 2
                if has_code(mid):
                    hi = mid
                else:
                    lo = mid + 1
        except ChainError:
            raise
        except Exception as exc:  # noqa: BLE001 - historic state pruned ("missing trie node", ...)
            self._say(f"cannot find the deployment block of {self.address} ({_node_message(exc)}); "
                      "reading logs from block 0 (pass --from-block to skip that)")
            return 0
        _DEPLOYED_AT[key] = lo
        return lo

    # ------------------------------------------------------------------ plumbing

    def _call(self, fn_name: str, *args) -> Any:
        """eth_call `fn_name(*args)` with the retry policy; reverts raise ContractError."""
        fn = getattr(self.contract.functions, fn_name)(*args)
        try:
            return self._rpc(lambda: fn.call())
        except (ContractCustomError, ContractLogicError) as exc:
            raise self._as_contract_error(exc, fn_name) from None

    def transact(self, fn_name: str, *args, value: int = 0) -> dict:
        """Send `fn_name(*args)` from the account and return the receipt after `confirmations` blocks.

        Reverts are found by gas estimation before anything is sent and raised as ContractError.
        """
        self.sender  # noqa: B018 - a read-only gateway fails here, before anything is built
        return self._submit(getattr(self.contract.functions, fn_name)(*args), fn_name, value)

    # ------------------------------------------------------------------ time

    def chain_identity(self) -> dict:
        """{"genesis", "code_hash"} (0x-hex): the hash of block 0 and of the contract's runtime code, which tell
        this chain and deployment from another with the same chain id and address (a restarted dev chain).
        Read once per Gateway."""
        if self._identity is None:
            genesis = self._rpc(lambda: self.w3.eth.get_block(0))["hash"]
            code = bytes(self._rpc(lambda: self.w3.eth.get_code(self.address)))
            self._identity = {"genesis": "0x" + bytes(genesis).hex(), "code_hash": "0x" + keccak(code).hex()}
        return dict(self._identity)

    def latest_timestamp(self) -> int:
        """The latest block's timestamp (chain time, seconds)."""
        return int(self._latest_block()["timestamp"])

    def wait_for_timestamp(self, target: int, on_tick: Callable[[int], None] | None = None,
                           timeout: float | None = None) -> int:
        """Block until the latest block's timestamp is >= `target` (block time, not wall clock).

        Sleeps until about the time the target block is due (chain time follows the wall clock), at most
        MAX_SLEEP s at a time, then looks every `poll_interval` s; while a transaction sent before a deadline is
        watched (`check_sent`), it looks at least every two blocks so that a reorg is noticed in time. An RPC
        outage inside is waited out until `timeout` (if given) or the gateway's deadline / outage bound.
        """
        start = time.monotonic()
        ctx = self.deadline(seconds=timeout) if timeout is not None and self._until is None else self.deadline()
        prev = None
        with ctx:
            while True:
                block = self._latest_block()
                now = int(block["timestamp"])
                if prev is not None and now - prev[0] > time.monotonic() - prev[1] + 2 * self.block_interval():
                    self._jumpy = True  # chain time jumps ahead of the wall clock (a dev chain): poll instead
                prev = (now, time.monotonic())
                self.check_sent(int(block["number"]), now)
                if on_tick:
                    on_tick(now)
                if now >= target:
                    return now
                elapsed = time.monotonic() - start
                if timeout is not None and elapsed > timeout:
                    raise ChainError(f"chain time {now} did not reach {target} within {timeout:.0f} s "
                                     "(is the node mining blocks?)")
                if self._poll_interval is not None or self._jumpy:  # polling as asked, or on a jumpy chain
                    sleep = self.poll_interval
                else:  # chain time follows the wall clock: sleep until about the target
                    sleep = min(max(float(target - now), self.poll_interval), MAX_SLEEP)
                if self._watching():
                    sleep = min(sleep, max(self.poll_interval, 2 * self.block_interval()))
                if timeout is not None:
                    sleep = min(sleep, max(0.0, timeout - elapsed) + 0.01)
                time.sleep(sleep)

    # ------------------------------------------------------------------ reads

    def round(self, round_id: int) -> RoundInfo:
        """getRound, decoded by field name (a finalized or failed round is read once: it cannot change)."""
        rid = int(round_id)
        cached = self._rounds.get(rid)
        if cached is not None and cached.phase in (Phase.FINALIZED, Phase.FAILED):
            return cached
        info = _from_abi(RoundInfo, self._call("getRound", rid), "getRound", round_id=rid)
        if info.phase != Phase.NONE:
            self._rounds[rid] = info  # its deadlines bound commit's and reveal's retries
        return info

    def _phase_end(self, round_id: int, which: str) -> int:
        """The round's commit, reveal or audit deadline (chain time), read once."""
        info = self._rounds.get(int(round_id)) or self.round(round_id)
        return int(getattr(info, which))

    def phase(self, round_id: int) -> Phase:
        return Phase(self._call("phase", int(round_id)))

    def submission(self, round_id: int, participant: str | None = None) -> Submission:
        """getSubmission (of the account by default), decoded by field name."""
        s = self._call("getSubmission", int(round_id), to_checksum_address(participant or self.sender))
        return _from_abi(Submission, s, "getSubmission")

    def settled_status(self, round_id: int, participant: str | None = None) -> Status:
        """The participant's status once the round is settled. A round settled by a post scores a revealer only
        at its claim (the status stays REVEALED until then): its status is the agreement rule on the posted
        match count (protocol.agrees), as claim will record it."""
        sub = self.submission(round_id, participant)
        if sub.status != Status.REVEALED or self.phase(round_id) not in (Phase.FINALIZED, Phase.PROPOSED):
            return sub.status
        post, info = self.post(round_id), self.round(round_id)
        if post.serial == 0:
            return sub.status
        agreed = agrees(sub.matches, info.num_queries, info.params.agreement_bps, post.mode)
        return Status.AGREED if agreed else Status.DEVIATED

    def account_info(self, participant: str | None = None) -> Account:
        """getAccount (of the account by default), decoded by field name."""
        return _from_abi(Account, self._call("getAccount", to_checksum_address(participant or self.sender)),
                         "getAccount")

    def seat_count(self, info: RoundInfo) -> int:
        """How many may commit to the round: optimisticSeats(Q, K) if optimistic-only, else maxParticipants(Q)
        (the contract's `_seats`; read once per shape)."""
        if not info.optimistic:
            return self.max_participants(info.num_queries)
        key = (info.num_queries, info.num_classes)
        if key not in self._optimistic_seats:
            self._optimistic_seats[key] = int(self._call("optimisticSeats", *key))
        return self._optimistic_seats[key]

    def max_participants(self, num_queries: int) -> int:
        """maxParticipants(Q), read once per Q (it depends on Q and the contract's constants only)."""
        q = int(num_queries)
        if q not in self._max_participants:
            self._max_participants[q] = int(self._call("maxParticipants", q))
        return self._max_participants[q]

    def reputation(self, participant: str | None = None) -> int:
        """reputationOf (of the account by default): basis points of full trust; a tally weight is stake x
        reputation at commit (cl_client.protocol.next_reputation is the update rule)."""
        return int(self._call("reputationOf", to_checksum_address(participant or self.sender)))

    def struck_out(self, participant: str | None = None) -> bool:
        """struckOut (of the account by default): the crowd rule struck it out the last time it judged it, so
        one strike (CROWD_REPEAT_STRIKES) excludes it next time (cl_client.protocol.crowd_passes)."""
        return bool(self._call("struckOut", to_checksum_address(participant or self.sender)))

    def defaults(self) -> Params:
        """The parameters `openRound` gives a round (and `open_round`'s default), decoded by field name."""
        return _from_abi(Params, self._call("defaults"), "defaults")

    def bounds(self) -> Bounds:
        """The owner's bounds in force on the parameters a requester may choose."""
        return _from_abi(Bounds, self._call("bounds"), "bounds")

    def pending_bounds(self) -> tuple[Bounds, int] | None:
        """(proposed bounds, when they may be applied), or None without a proposal."""
        proposal, effective_at = self._call("pendingBounds")
        return None if int(effective_at) == 0 else (_from_abi(Bounds, proposal, "pendingBounds"), int(effective_at))

    def audit_of(self, round_id: int) -> Audit | None:
        """The round's revealed audit (its salt from the AuditRevealed event), or None before it is revealed
        or without one."""
        indices, labels = self._call("audit", int(round_id))
        if not indices:
            return None
        (event, *_) = self.events("AuditRevealed", round_id) or [None]
        salt = bytes(event["args"]["salt"]) if event is not None else bytes(32)
        return Audit.from_bytes(bytes(indices), bytes(labels), salt)

    def consensus(self, round_id: int) -> bytes:
        """The finalized consensus, one byte per query. A round settled by a post that nobody published
        (ConsensusNotPublished) is read from the confirmed post's Proposed event, checked against its root."""
        try:
            return bytes(self._call("consensus", int(round_id)))
        except ContractError as exc:
            if exc.name != "ConsensusNotPublished":
                raise
        post, info = self.post(round_id), self.round(round_id)
        made = self.proposal(round_id, post.serial)
        if made is None or labels_root(made["consensus"]) != post.consensus_root:
            raise ChainError(f"round {round_id}: no Proposed event of its confirmed post {post.serial} matches the "
                             "stored root (is --from-block past the post?)")
        return unpack_labels(made["consensus"], info.num_classes, info.num_queries)

    def post(self, round_id: int) -> PostInfo:
        """getPost, decoded by field name."""
        return _from_abi(PostInfo, self._call("getPost", int(round_id)), "getPost")

    def bond_of(self, round_id: int) -> int:
        """The free stake a post of the round would lock now."""
        return int(self._call("bondOf", int(round_id)))

    def proposals(self, round_id: int) -> list[dict]:
        """The round's Proposed events, oldest first, each as {serial, proposer, consensus (wire), matches
        (2 bytes per committer), root, challenge_ends}: what a watcher checks."""
        return [{"serial": int(e["args"]["serial"]), "proposer": e["args"]["proposer"],
                 "consensus": bytes(e["args"]["consensus"]), "matches": bytes(e["args"]["matches"]),
                 "root": bytes(e["args"]["consensusRoot"]), "challenge_ends": int(e["args"]["challengeEnds"])}
                for e in self.events("Proposed", round_id)]

    def proposal(self, round_id: int, serial: int) -> dict | None:
        """The Proposed event of the round's post number `serial` (as `proposals` gives it), or None if the node
        does not show it."""
        made = [p for p in self.proposals(round_id) if p["serial"] == int(serial)]
        return made[-1] if made else None

    def propose(self, round_id: int, consensus_wire: bytes, committers: list[str], matches_wire: bytes) -> dict:
        """Post the round's consensus (wire form), every committer (ascending) and their match counts (2 bytes
        each); locks bond_of(round_id) of the sender's free stake until confirm (or loses it to a refutation)."""
        order = [to_checksum_address(a) for a in committers]
        return self.transact("propose", int(round_id), bytes(consensus_wire), order, bytes(matches_wire))

    def challenge_query(self, round_id: int, query: int, alt: int, consensus_chunk: bytes, consensus_proof: list,
                        records: list) -> dict:
        """One batch of a query fraud proof: `records` are (revealer, chunk, proof) strictly ascending."""
        order = [to_checksum_address(a) for a, _, _ in records]
        chunks = [bytes(c) for _, c, _ in records]
        siblings = [bytes(x) for _, _, proof in records for x in proof]
        return self.transact("challengeQuery", int(round_id), int(query), int(alt), bytes(consensus_chunk),
                             [bytes(x) for x in consensus_proof], order, chunks, siblings)

    def challenge_matches(self, round_id: int, revealer: str, labels_wire: bytes, consensus_wire: bytes) -> dict:
        """Refute the live post's match count of `revealer` (its revealed labels and the posted consensus)."""
        return self.transact("challengeMatches", int(round_id), to_checksum_address(revealer), bytes(labels_wire),
                             bytes(consensus_wire))

    def confirm(self, round_id: int) -> dict:
        """Settle the round by its post once the challenge window is over (claim does it too)."""
        return self.transact("confirm", int(round_id))

    def publish_consensus(self, round_id: int, consensus_wire: bytes) -> dict:
        """Store a confirmed post's consensus for consensus() / consensusLabel()."""
        return self.transact("publishConsensus", int(round_id), bytes(consensus_wire))

    def claimable(self, round_id: int, participant: str | None = None) -> tuple[int, int]:
        """(reward, penalty) a claim would pay and take."""
        return tuple(self._call("claimable", int(round_id), to_checksum_address(participant or self.sender)))

    def round_count(self) -> int:
        return int(self._call("roundCount"))

    def unbonding_delay(self) -> int:
        """Seconds between requestWithdrawal and withdraw for a request made now."""
        return int(self._call("unbondingDelay"))

    def accounting(self) -> tuple[int, int, int, int, int]:
        """(totalStake, rewardsOwed, refundsOwed, burned, surplus): their sum is the contract's balance."""
        return tuple(int(x) for x in self._call("accounting"))

    def balance(self, address: str | None = None) -> int:
        return int(self._rpc(lambda: self.w3.eth.get_balance(to_checksum_address(address or self.sender))))

    def receipt(self, tx_hash) -> dict:
        """The receipt of a mined transaction (through the retry policy); ChainError if it is not mined."""
        receipt = self._receipt_of(tx_hash)
        if receipt is None:
            raise ChainError(f"transaction {_fmt(tx_hash)} is not mined")
        return receipt

    def events(self, name: str, round_id: int | None = None, from_block: int | None = None) -> list:
        """Decoded logs of event `name` (optionally for one round), oldest first.

        Asked in windows of `log_window` blocks; a provider that refuses a window as too large ("range too
        large", "limit exceeded", ...) gets half of it, and the gateway keeps the smaller window.
        """
        event = getattr(self.contract.events, name)
        filters = {"roundId": int(round_id)} if round_id is not None else None
        start = self.from_block if from_block is None else from_block
        head = self._rpc(lambda: self.w3.eth.block_number)
        logs, lo = [], start
        while lo <= head:
            hi = min(lo + self.log_window - 1, head)
            try:
                logs += self._rpc(lambda: event.get_logs(from_block=lo, to_block=hi, argument_filters=filters))
            except (ValueError, Web3RPCError) as exc:
                if not _is_range_error(exc):
                    raise ChainError(f"eth_getLogs for {name}: {_node_message(exc)}") from None
                if hi == lo:
                    raise ChainError(f"the node refuses eth_getLogs even for a single block ({_node_message(exc)}); "
                                     "use another RPC provider") from None
                self.log_window = max(1, (hi - lo + 1) // 2)
                self._say(f"the node caps eth_getLogs ({_node_message(exc)}); asking for {self.log_window} blocks "
                          "at a time")
                continue
            lo = hi + 1
        return sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"]))

    def revealed(self, round_id: int) -> dict[str, bytes]:
        """participant -> revealed labels (one byte per query), from the round's Revealed events."""
        info = self.round(round_id)
        return {a: unpack_labels(wire, info.num_classes, info.num_queries)
                for a, wire in self._revealed_wire(round_id).items()}

    def _revealed_wire(self, round_id: int) -> dict[str, bytes]:
        """participant -> revealed labels as sent (packed when K <= 16): what finalize resends."""
        return {e["args"]["participant"]: bytes(e["args"]["labels"]) for e in self.events("Revealed", round_id)}

    def _wire(self, round_id: int, labels: bytes) -> bytes:
        """`labels` (one byte per query) as reveal sends them in round `round_id` (cl_client.commitment)."""
        return pack_labels(labels, self.round(round_id).num_classes)

    def _seat_terms(self, round_id: int) -> dict[str, tuple[int, int]]:
        """committer -> (stake, reputation) at its commit, replaying the round's Committed and Evicted events in
        chain order (an evicted address leaves; it may come back by taking another seat)."""
        held: dict[str, tuple[int, int]] = {}
        logs = self.events("Committed", round_id) + self.events("Evicted", round_id)
        for e in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"])):
            if e["event"] == "Committed":
                held[e["args"]["participant"]] = (int(e["args"]["stake"]), int(e["args"]["reputation"]))
            else:
                held.pop(e["args"]["victim"], None)
        return held

    def seats(self, round_id: int) -> dict[str, int]:
        """committer -> admission weight (stake x reputation at commit, what commitReplacing compares)."""
        return {a: stake * rep for a, (stake, rep) in self._seat_terms(round_id).items()}

    def tally_weights(self, round_id: int) -> dict[str, int]:
        """committer -> tally weight without an audit (protocol.tally_weight of its stake and reputation at
        commit, under the round's equalWeights): what a post's plurality and a query proof weigh."""
        equal = self.round(round_id).params.equal_weights
        return {a: tally_weight(stake, rep, equal) for a, (stake, rep) in self._seat_terms(round_id).items()}

    def committers(self, round_id: int) -> list[str]:
        """Every committer of the round, sorted ascending by address (finalize's order)."""
        return sorted(self.seats(round_id), key=lambda a: int(a, 16))

    def audit_commitment(self, round_id: int) -> bytes:
        """The round's audit commitment (32 zero bytes without an audit), from its RoundTerms event."""
        terms = self.events("RoundTerms", round_id)
        if not terms:
            raise ChainError(f"round {round_id} has no RoundTerms event since block {self.from_block}")
        return bytes(terms[0]["args"]["auditCommitment"])

    def queries_uri(self, round_id: int) -> str:
        opened = self.events("RoundOpened", round_id)
        if not opened:
            raise ChainError(f"round {round_id} has no RoundOpened event since block {self.from_block}")
        return opened[0]["args"]["queriesURI"]

    # ------------------------------------------------------------------ writes

    def deposit(self, amount_wei: int) -> dict:
        return self.transact("deposit", value=int(amount_wei))

    def request_withdrawal(self, amount_wei: int) -> dict:
        return self.transact("requestWithdrawal", int(amount_wei))

    def withdraw(self) -> dict:
        """Send every matured withdrawal request to the sender."""
        return self.transact("withdraw")

    def withdraw_to(self, to: str) -> dict:
        """Send every matured withdrawal request to `to`."""
        return self.transact("withdrawTo", to_checksum_address(to))

    def open_round(self, queries_hash: bytes, queries_uri: str, num_queries: int, num_classes: int,
                   commit_duration: int, reveal_duration: int, reward_wei: int = 0, *, params: Params | None = None,
                   audit: Audit | None = None, audit_duration: int = 0, finalizer_fee_wei: int = 0,
                   optimistic: bool = False) -> int:
        """Open a round; returns its id. Without keywords: `openRound` (the contract's defaults, no audit, no
        fee). With any: `openRoundWith` -- `params` (default: the contract's `defaults()`), checked against the
        `bounds()` in force; `audit` hidden for `audit_duration` s after the reveal deadline (its commitment is
        sent, the audit itself stays with the caller until `reveal_audit`); `finalizer_fee_wei` paid on top of
        `reward_wei` to whoever settles the round; `optimistic`: an optimistic-only round (up to
        MAX_OPTIMISTIC_PARTICIPANTS seats and MAX_OPTIMISTIC_QUERIES queries, no audit, settled by a post). Bad
        parameters raise ValueError (one line) before sending."""
        if optimistic and audit is not None:
            raise ValueError("an optimistic round takes no audit (audited rounds are finalized on chain)")
        if params is None and audit is None and not audit_duration and not finalizer_fee_wei and not optimistic:
            receipt = self.transact("openRound", bytes(queries_hash), queries_uri, int(num_queries),
                                    int(num_classes), int(commit_duration), int(reveal_duration),
                                    value=int(reward_wei))
        else:
            params = (params or self.defaults()).check(self.bounds())
            commitment, count = bytes(32), 0
            if audit is not None:
                audit.check(num_queries, num_classes)
                if not LIMITS.min_phase_duration <= int(audit_duration) <= LIMITS.max_phase_duration:
                    raise ValueError(f"audit duration {int(audit_duration)} s is outside the allowed "
                                     f"{LIMITS.min_phase_duration}..{LIMITS.max_phase_duration} s")
                commitment, count = audit.commitment(self.chain_id, self.address, self.sender, queries_hash), \
                    len(audit.indices)
                expected = bytes(self._call("auditCommitmentOf", self.sender, bytes(queries_hash),
                                            audit.indices_bytes(), audit.labels_bytes(), bytes(audit.salt)))
                if commitment != expected:  # an audit that could never be revealed would forfeit the reward
                    raise ChainError(f"the audit commitment 0x{commitment.hex()} is not the contract's "
                                     f"auditCommitmentOf (0x{expected.hex()}); not opening the round")
            elif audit_duration:
                raise ValueError("an audit duration needs an audit")
            if int(finalizer_fee_wei) < 0 or int(reward_wei) < 0:
                raise ValueError("the reward and the finalizer fee must be >= 0")
            spec = {"queriesHash": bytes(queries_hash), "numQueries": int(num_queries),
                    "numClasses": int(num_classes), "commitDuration": int(commit_duration),
                    "revealDuration": int(reveal_duration), "auditDuration": int(audit_duration),
                    "auditCount": count, "auditCommitment": commitment, "finalizerFee": int(finalizer_fee_wei),
                    "params": params.to_abi(), "optimistic": bool(optimistic)}
            receipt = self.transact("openRoundWith", spec, queries_uri,
                                    value=int(reward_wei) + int(finalizer_fee_wei))
        (event,) = self.contract.events.RoundOpened().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["roundId"])

    def commit(self, round_id: int, commitment: bytes) -> dict:
        """Send the commitment; outages are waited out, and a dropped commit re-sent, until the commit deadline.

        A full round is entered with commitReplacing in place of the committer with the least weight (stake x
        reputation), if that is less than ours (it is unlocked without penalty); otherwise a one-line ChainError
        says so."""
        info = self.round(round_id)
        args = (int(round_id), bytes(commitment))
        self.free_slot(round_id)
        if info.commit_count >= self.seat_count(info):
            seats = self.seats(round_id)
            weight = self.account_info().free * self.reputation()
            victim = min(seats, key=lambda a: (seats[a], int(a, 16)), default=None)
            if victim is None or seats[victim] >= weight:
                raise ChainError(f"round {round_id} is full: its {len(seats)} seats each weigh at least "
                                 f"{min(seats.values(), default=0)} (stake in wei x reputation in bps), not less "
                                 f"than your {weight}")
            self._say(f"round {round_id} is full: taking the seat of {victim} (weight {seats[victim]} < {weight})")
            method, args = "commitReplacing", (*args, victim)
        else:
            method = "commit"
        with self.deadline(None if self._until is not None else self._phase_end(round_id, "commit_deadline")):
            return self.transact(method, *args)

    def reveal(self, round_id: int, labels: bytes, salt: bytes) -> dict:
        """Send the reveal of `labels` (one byte per query; sent packed when K <= 16); outages are waited out,
        and a dropped reveal re-sent, until the reveal deadline."""
        wire = self._wire(round_id, labels)
        with self.deadline(None if self._until is not None else self._phase_end(round_id, "reveal_deadline")):
            return self.transact("reveal", int(round_id), wire, bytes(salt))

    def slot_of(self, round_id: int) -> tuple[int, bool]:
        """(round held, busy) of the sender's submission slot that a commit to `round_id` uses (`slotOf`):
        busy iff it holds another round not claimed yet."""
        held, busy = self._call("slotOf", self.sender, int(round_id))
        return int(held), bool(busy)

    def free_slot(self, round_id: int) -> None:
        """Before a commit: the submission slot it uses (round id mod SUBMISSION_SLOTS) must not hold another
        unclaimed round. A settled one is claimed now (its stake and reward join the free stake, as any claim);
        an unsettled one is a one-line ChainError (the commit would revert SubmissionSlotBusy)."""
        held, busy = self.slot_of(round_id)
        if not busy:
            return
        if self.phase(held) not in (Phase.FINALIZED, Phase.FAILED):
            raise ChainError(f"round {round_id} uses the same submission slot as your round {held}, which is not "
                             f"settled yet (slot = round id mod {LIMITS.submission_slots}); finalize or wait for "
                             f"round {held} first")
        self._say(f"round {round_id}: claiming round {held} first (it holds the submission slot this commit uses)")
        self.claim(held)

    def submit(self, claim_round: int, reveal_round: int, labels: bytes, salt: bytes, commit_round: int,
               commitment: bytes) -> dict:
        """One transaction for back-to-back rounds: claim `claim_round`, reveal `reveal_round`, commit to
        `commit_round` (0 skips a step; `labels`, one byte per query, and `salt` are ignored without a reveal).
        Any step that fails
        undoes the others (then send them one by one to learn which). Outages are waited out, and a dropped
        transaction re-sent, until the earliest deadline of the steps given (a reveal's or a commit's)."""
        if not (claim_round or reveal_round or commit_round):
            raise ChainError("submit: give at least one of claim_round, reveal_round, commit_round")
        ends = [self._phase_end(reveal_round, "reveal_deadline")] if reveal_round else []
        ends += [self._phase_end(commit_round, "commit_deadline")] if commit_round else []
        until = None if self._until is not None or not ends else min(ends)
        wire = self._wire(reveal_round, labels) if reveal_round else b""
        with self.deadline(until):
            return self.transact("submit", int(claim_round), int(reveal_round), wire, bytes(salt),
                                 int(commit_round), bytes(commitment))

    def reveal_audit(self, round_id: int, audit: Audit) -> dict:
        """Requester: reveal the round's audit (Audit phase); outages are waited out until the audit deadline."""
        with self.deadline(None if self._until is not None else self._phase_end(round_id, "audit_deadline")):
            return self.transact("revealAudit", int(round_id), audit.indices_bytes(), audit.labels_bytes(),
                                 bytes(audit.salt))

    def finalize(self, round_id: int) -> dict:
        """Finalize with every committer (Committed events) sorted by address, each with its revealed labels
        (Revealed events) or empty bytes for a non-revealer. The finalizer fee goes to the sender's free stake."""
        revealed = {a.lower(): wire for a, wire in self._revealed_wire(round_id).items()}
        order = self.committers(round_id)
        return self.transact("finalize", int(round_id), order, [revealed.get(a.lower(), b"") for a in order])

    def abandon(self, round_id: int) -> dict:
        """Fail a round nobody finalized, ABANDON_DELAY after its audit deadline (anyone; earns the fee)."""
        return self.transact("abandon", int(round_id))

    def claim(self, round_id: int) -> dict:
        """Send claim(roundId); the receipt (`claimed_amounts(receipt)` reads what it credited and took). No ETH
        is sent: stake - penalty + reward return to the free stake (withdraw it with request_withdrawal)."""
        return self.transact("claim", int(round_id))

    def claimed_amounts(self, receipt: dict) -> tuple[int, int]:
        """(reward, penalty) of the Claimed event in a claim's receipt; (0, 0) if it has none."""
        for event in self.contract.events.Claimed().process_receipt(receipt, errors=DISCARD):
            return int(event["args"]["reward"]), int(event["args"]["penalty"])
        return 0, 0

    def claim_of(self, round_id: int, participant: str) -> tuple[int, int] | None:
        """(reward, penalty) that `participant` claimed in `round_id`, from the Claimed events; None if not yet."""
        for event in self.events("Claimed", round_id):
            if event["args"]["participant"].lower() == participant.lower():
                return int(event["args"]["reward"]), int(event["args"]["penalty"])
        return None

    def claim_refund(self, round_id: int, to: str | None = None) -> dict:
        """Requester: take back the refundable reward (failed round, or nobody agreed), to `to` if given."""
        if to is not None:
            return self.transact("claimRefundTo", int(round_id), to_checksum_address(to))
        return self.transact("claimRefund", int(round_id))

    # ------------------------------------------------------------------ owner actions (docs/protocol.md)

    def set_defaults(self, params: Params) -> dict:
        """Owner: the parameters future rounds take (encoded by ABI field name; bounds as Params.check)."""
        return self.transact("setDefaults", params.to_abi())

    def propose_bounds(self, bounds: Bounds) -> dict:
        """Owner: new bounds, applicable BOUNDS_DELAY from now (`apply_bounds`)."""
        return self.transact("proposeBounds", bounds.to_abi())

    def apply_bounds(self) -> dict:
        """Anyone: apply the proposed bounds once their delay has passed."""
        return self.transact("applyBounds")

    def set_unbonding_delay(self, seconds: int) -> dict:
        """Owner: the delay between requestWithdrawal and withdraw, for requests made from now on."""
        return self.transact("setUnbondingDelay", int(seconds))

    def pause(self) -> dict:
        """Owner: stop openRound (rounds already open run to the end; stakes and claims are untouched)."""
        return self.transact("pause")

    def unpause(self) -> dict:
        """Owner: allow openRound again."""
        return self.transact("unpause")


def deploy(w3: Web3, account: LocalAccount, *, confirmations: int = 1, tx_timeout: float = 300.0) -> tuple[str, int]:
    """Deploy ConsensusLearning from the packaged bytecode; returns (address, block number).

    Sent on the Gateway's path (`_Sender._submit`): estimated gas, EIP-1559 fees, nonce recovery, the retry
    policy, and `confirmations` blocks before it returns.
    """
    art = artifact()
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    sender = _Sender(w3, account, confirmations=confirmations, tx_timeout=tx_timeout, poll_interval=0.1)
    receipt = sender._submit(factory.constructor(), "deploy")
    _DEPLOYED_AT[(sender.chain_id, to_checksum_address(receipt["contractAddress"]))] = int(receipt["blockNumber"])
    return receipt["contractAddress"], receipt["blockNumber"]
