"""Chain access: a web3.py gateway to a deployed ConsensusLearning contract.

Everything that talks JSON-RPC lives here: connecting, checking the chain and the contract code, nonces,
EIP-1559 fees, gas estimation, retries with backoff on transient RPC errors, receipts with confirmations,
custom-error decoding, and waiting on block timestamps. Works with any node; Brownie is not needed.

Retry policy (one layer, owned here; web3's provider-level retry is switched off in `connect`):
    what      transient failures only: connection errors (refused, reset), timeouts, HTTP 429/502/503/504 and
              node messages such as "header not found" (`_is_transient`). Reverts and any other error are
              raised at once.
    where     every read goes through `_Sender._rpc`; sending a raw transaction has its own loop of the same
              size in `_Sender._send_signed` (it re-signs after a nonce or fee change, and treats "already
              known" / "nonce too low" for its own hash as success, so a retried send is never sent twice).
    how many  `retries + 1` requests per call (Gateway default 6; `connect` probes with 3).
    backoff   `backoff * 2**i` seconds before retry i + 1 (default 0.5, 1, 2, 4, 8: at most 15.5 s of waiting).
Structs (getRound, getSubmission, getAccount, defaults) are decoded by ABI field name, never by position.
"""
from __future__ import annotations

import json
import time
import typing
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

from .protocol import Params, Phase, Status  # noqa: F401 - re-exported (cl_client.chain.Phase ...)

GWEI = 10**9
DEFAULT_RETRIES = 5  # retries after the first try of a call (see "Retry policy" above)
DEFAULT_BACKOFF = 0.5  # seconds before the first retry, doubled each time


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
    reward: int
    bonus: int
    queries_hash: bytes
    num_queries: int
    num_classes: int
    commit_deadline: int
    reveal_deadline: int
    phase: Phase
    commit_count: int
    reveal_count: int
    committed_stake: int
    revealed_stake: int
    pool: int
    agreed_weight: int
    params: Params


@dataclass(frozen=True)
class Submission:
    hash: bytes
    stake: int
    matches: int
    status: Status
    claimed: bool


@dataclass(frozen=True)
class Account:
    free: int
    locked: int
    unbonding: int
    unbonding_ready_at: int


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


TRANSIENT = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, TimeoutError, ConnectionError)


def _is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: the node or the network, not the request (see "Retry policy")."""
    if isinstance(exc, TRANSIENT):
        return True
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return exc.response.status_code in (429, 502, 503, 504)
    msg = str(exc).lower()
    return any(s in msg for s in ("timed out", "connection reset", "too many requests", "header not found"))


def _retrying(call: Callable[[], Any], retries: int, backoff: float) -> Any:
    """`call()`, retried up to `retries` times on transient failures, sleeping backoff * 2**i before retry i + 1.

    Contract reverts and other errors propagate at once; when the tries run out, ChainError (one line).
    """
    delay = backoff
    for attempt in range(retries + 1):
        try:
            return call()
        except (ContractCustomError, ContractLogicError):
            raise
        except Exception as exc:  # noqa: BLE001
            if not _is_transient(exc):
                raise
            if attempt == retries:
                raise ChainError(f"node did not answer after {retries + 1} tries: {_one_line(exc)}") from None
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def connect(rpc_url: str, timeout: float = 30.0, retries: int = 2, backoff: float = DEFAULT_BACKOFF) -> Web3:
    """A Web3 for `rpc_url` (http(s) or ws(s)); raises ChainError if nothing answers there.

    web3's own HTTP retry (5 tries with backoff, even for eth_sendRawTransaction) is switched off: the
    Gateway retries instead (module docstring, "Retry policy"), so waits do not compound. The legacy
    websocket provider has no retry of its own. The first eth_chainId is tried `retries + 1` times.
    """
    if rpc_url.startswith(("ws://", "wss://")):
        w3 = Web3(Web3.LegacyWebSocketProvider(rpc_url, websocket_timeout=timeout))
    elif rpc_url.startswith(("http://", "https://")):
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None))
    else:
        raise ChainError(f"RPC URL must start with http(s):// or ws(s)://, got {rpc_url!r}")
    try:
        _retrying(lambda: w3.eth.chain_id, retries, backoff)
    except Exception as exc:  # noqa: BLE001 - any failure here means "unreachable"
        raise ChainError(f"cannot reach an Ethereum node at {rpc_url} ({type(exc).__name__})") from None
    return w3


class _Sender:
    """The transaction path shared by `Gateway` and `deploy`: retried reads, gas estimation with revert
    decoding, EIP-1559 fees, nonces with recovery, signing and sending, receipts after `confirmations` blocks.
    """

    def __init__(self, w3: Web3, account: LocalAccount | None, *, confirmations: int = 1,
                 retries: int = DEFAULT_RETRIES, backoff: float = DEFAULT_BACKOFF, poll_interval: float = 0.5,
                 tx_timeout: float = 300.0):
        self.w3 = w3
        self.account = account
        self.confirmations = max(1, int(confirmations))
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.poll_interval = float(poll_interval)
        self.tx_timeout = float(tx_timeout)
        self._nonce: int | None = None
        self.chain_id = self._rpc(lambda: w3.eth.chain_id)

    def _rpc(self, call: Callable[[], Any]) -> Any:
        """Run an RPC call with the retry policy (`retries`, `backoff`; module docstring)."""
        return _retrying(call, self.retries, self.backoff)

    @staticmethod
    def _as_contract_error(exc: BaseException, fn_name: str) -> ChainError:
        """ContractError if `exc` carries one of the contract's errors, else a one-line ChainError."""
        decoded = decode_revert(_revert_data(exc))
        if decoded:
            return ContractError(decoded[0], decoded[1], fn_name)
        if isinstance(exc, (ContractCustomError, ContractLogicError)):
            return ChainError(f"{fn_name}: transaction would revert ({_one_line(exc)})")
        return ChainError(f"{fn_name}: {_one_line(exc)}")

    @property
    def sender(self) -> str:
        """The account's address (ChainError if this gateway is read-only)."""
        if self.account is None:
            raise ChainError("this action sends a transaction: give a key (CL_PRIVATE_KEY or --keystore)")
        return self.account.address

    def _fees(self, block: Any) -> dict:
        """EIP-1559 fees over `block`'s base fee (tip from the node, else 1 gwei); gasPrice before London."""
        base = block.get("baseFeePerGas")
        if base is None:  # pre-london chain
            return {"gasPrice": self._rpc(lambda: self.w3.eth.gas_price)}
        try:
            tip = int(self._rpc(lambda: self.w3.eth.max_priority_fee))
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
            raise self._as_contract_error(exc, label) from None
        latest = self._rpc(lambda: self.w3.eth.get_block("latest"))
        fees = self._fees(latest)
        gas = int(gas * 1.2) + 10_000
        if latest.get("gasLimit"):
            gas = min(gas, int(latest["gasLimit"]))  # the margin must not push a big deployment over the block
        if self._nonce is None:
            self._nonce = self._rpc(lambda: self.w3.eth.get_transaction_count(sender, "pending"))
        tx = self._rpc(lambda: fn.build_transaction({
            "from": sender, "value": value, "gas": gas, "nonce": self._nonce, "chainId": self.chain_id, **fees,
        }))
        tx_hash = self._send_signed(tx, label)
        self._nonce = tx["nonce"] + 1
        receipt = self._wait_receipt(tx_hash)
        if receipt["status"] != 1:
            raise ChainError(f"{label}: transaction 0x{tx_hash.hex()} reverted on chain (state changed since "
                             "estimation); retry")
        return receipt

    def _send_signed(self, tx: dict, label: str = "transaction") -> bytes:
        """Sign and send; handle 'nonce too low', 'replacement underpriced', 'already known', timeouts.

        This is the retry loop for eth_sendRawTransaction (same `retries`/`backoff` as `_rpc`).
        """
        delay = self.backoff
        for attempt in range(self.retries + 1):
            signed = self.account.sign_transaction(tx)
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
                        tx["nonce"] = self._rpc(lambda: self.w3.eth.get_transaction_count(tx["from"], "pending"))
                elif "underpriced" in msg or "fee too low" in msg:
                    for key in ("maxFeePerGas", "maxPriorityFeePerGas", "gasPrice"):
                        if key in tx:
                            tx[key] = tx[key] * 1125 // 1000 + 1  # +12.5 %: the usual replacement rule
                elif not _is_transient(exc):
                    raise ChainError(f"{label}: sending the transaction failed: {_one_line(exc)}") from None
                if attempt == self.retries:
                    raise ChainError(f"{label}: could not send the transaction after {attempt + 1} tries: "
                                     f"{_one_line(exc)}") from None
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _wait_receipt(self, tx_hash: bytes) -> dict:
        """The receipt once `confirmations` blocks include the transaction's block (ChainError after tx_timeout)."""
        deadline = time.monotonic() + self.tx_timeout
        while True:
            try:
                receipt = self._rpc(lambda: self.w3.eth.get_transaction_receipt(tx_hash))
            except (TransactionNotFound, TimeExhausted):
                receipt = None
            if receipt is not None:
                head = self._rpc(lambda: self.w3.eth.block_number)
                if head - receipt["blockNumber"] + 1 >= self.confirmations:
                    return dict(receipt)
            if time.monotonic() > deadline:
                raise ChainError(f"transaction 0x{tx_hash.hex()} not confirmed within {self.tx_timeout:.0f} s")
            time.sleep(self.poll_interval)


class Gateway(_Sender):
    """The ConsensusLearning contract at `address`, used by `account` (None for read-only use).

    Parameters follow web3 conventions: amounts in wei, timestamps in seconds, labels as bytes.
    `confirmations` blocks must be mined on top of a transaction's block before it counts.
    `retries`/`backoff` govern transient RPC failures (connection errors, timeouts, HTTP 429/5xx): each call
    makes at most `retries + 1` requests, waiting backoff * 2**i before retry i + 1 (module docstring).
    """

    def __init__(
        self,
        w3: Web3,
        address: str,
        account: LocalAccount | None = None,
        *,
        expected_chain_id: int | None = None,
        confirmations: int = 1,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        poll_interval: float = 0.5,
        tx_timeout: float = 300.0,
        from_block: int = 0,
        check_code: bool = True,
        log_window: int = 5_000,
    ):
        super().__init__(w3, account, confirmations=confirmations, retries=retries, backoff=backoff,
                         poll_interval=poll_interval, tx_timeout=tx_timeout)
        self.from_block = int(from_block)
        self.log_window = max(1, int(log_window))
        if expected_chain_id is not None and int(expected_chain_id) != self.chain_id:
            raise ChainError(f"wrong chain: the node is on chain id {self.chain_id}, expected {expected_chain_id}")
        try:
            self.address = to_checksum_address(address)
        except ValueError:
            raise ChainError(f"not an address: {address!r}") from None
        if check_code:
            code = bytes(self._rpc(lambda: w3.eth.get_code(self.address)))
            if not code:
                raise ChainError(f"no contract code at {self.address} on chain {self.chain_id}")
            if "0x" + keccak(code).hex() != artifact()["deployedBytecodeHash"]:
                raise ChainError(f"the code at {self.address} is not this version of ConsensusLearning")
        # decode_tuples: structs come back as named tuples with the ABI's field names (read by `_from_abi`)
        self.contract = w3.eth.contract(address=self.address, abi=artifact()["abi"], decode_tuples=True)

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

    def latest_timestamp(self) -> int:
        """The latest block's timestamp (chain time, seconds)."""
        return int(self._rpc(lambda: self.w3.eth.get_block("latest"))["timestamp"])

    def wait_for_timestamp(self, target: int, on_tick: Callable[[int], None] | None = None,
                           timeout: float | None = None) -> int:
        """Block until the latest block's timestamp is >= `target` (block time, not wall clock)."""
        start = time.monotonic()
        while True:
            now = self.latest_timestamp()
            if on_tick:
                on_tick(now)
            if now >= target:
                return now
            if timeout is not None and time.monotonic() - start > timeout:
                raise ChainError(f"chain time {now} did not reach {target} within {timeout:.0f} s "
                                 "(is the node mining blocks?)")
            time.sleep(self.poll_interval)

    # ------------------------------------------------------------------ reads

    def round(self, round_id: int) -> RoundInfo:
        """getRound, decoded by field name."""
        return _from_abi(RoundInfo, self._call("getRound", int(round_id)), "getRound", round_id=int(round_id))

    def phase(self, round_id: int) -> Phase:
        return Phase(self._call("phase", int(round_id)))

    def submission(self, round_id: int, participant: str | None = None) -> Submission:
        """getSubmission (of the account by default), decoded by field name."""
        s = self._call("getSubmission", int(round_id), to_checksum_address(participant or self.sender))
        return _from_abi(Submission, s, "getSubmission")

    def account_info(self, participant: str | None = None) -> Account:
        """getAccount (of the account by default), decoded by field name."""
        return _from_abi(Account, self._call("getAccount", to_checksum_address(participant or self.sender)),
                         "getAccount")

    def defaults(self) -> Params:
        """The parameters the next round will take, decoded by field name."""
        return _from_abi(Params, self._call("defaults"), "defaults")

    def consensus(self, round_id: int) -> bytes:
        return bytes(self._call("consensus", int(round_id)))

    def claimable(self, round_id: int, participant: str | None = None) -> tuple[int, int]:
        """(reward, penalty) a claim would pay and take."""
        return tuple(self._call("claimable", int(round_id), to_checksum_address(participant or self.sender)))

    def round_count(self) -> int:
        return int(self._call("roundCount"))

    def unbonding_delay(self) -> int:
        """Seconds between requestWithdrawal and withdraw for a request made now."""
        return int(self._call("unbondingDelay"))

    def accounting(self) -> tuple[int, int, int, int]:
        """(totalStake, rewardsOwed, refundsOwed, treasury)."""
        return tuple(self._call("accounting"))

    def balance(self, address: str | None = None) -> int:
        return int(self._rpc(lambda: self.w3.eth.get_balance(to_checksum_address(address or self.sender))))

    def receipt(self, tx_hash) -> dict:
        """The receipt of a mined transaction (through the retry policy)."""
        return self._rpc(lambda: self.w3.eth.get_transaction_receipt(tx_hash))

    def events(self, name: str, round_id: int | None = None, from_block: int | None = None) -> list:
        """Decoded logs of event `name` (optionally for one round), oldest first."""
        event = getattr(self.contract.events, name)
        filters = {"roundId": int(round_id)} if round_id is not None else None
        start = self.from_block if from_block is None else from_block
        head = self._rpc(lambda: self.w3.eth.block_number)
        logs = []
        # Many public RPC providers cap eth_getLogs at a few thousand blocks: ask in windows.
        for lo in range(start, head + 1, self.log_window):
            hi = min(lo + self.log_window - 1, head)
            logs += self._rpc(lambda: event.get_logs(from_block=lo, to_block=hi, argument_filters=filters))
        return sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"]))

    def revealed(self, round_id: int) -> dict[str, bytes]:
        """participant -> revealed labels, from the round's Revealed events."""
        return {e["args"]["participant"]: bytes(e["args"]["labels"]) for e in self.events("Revealed", round_id)}

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
        return self.transact("withdraw")

    def open_round(self, queries_hash: bytes, queries_uri: str, num_queries: int, num_classes: int,
                   commit_duration: int, reveal_duration: int, reward_wei: int = 0) -> int:
        receipt = self.transact("openRound", bytes(queries_hash), queries_uri, int(num_queries), int(num_classes),
                                int(commit_duration), int(reveal_duration), value=int(reward_wei))
        (event,) = self.contract.events.RoundOpened().process_receipt(receipt)
        return int(event["args"]["roundId"])

    def commit(self, round_id: int, commitment: bytes) -> dict:
        return self.transact("commit", int(round_id), bytes(commitment))

    def reveal(self, round_id: int, labels: bytes, salt: bytes) -> dict:
        return self.transact("reveal", int(round_id), bytes(labels), bytes(salt))

    def finalize(self, round_id: int) -> dict:
        """Finalize with every revealer's labels, read from the Revealed events and sorted by address."""
        revealed = self.revealed(round_id)
        order = sorted(revealed, key=lambda a: int(a, 16))
        return self.transact("finalize", int(round_id), order, [revealed[a] for a in order])

    def claim(self, round_id: int) -> dict:
        """Send claim(roundId); the receipt (`claimed_amounts(receipt)` reads what it paid and took)."""
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

    def claim_refund(self, round_id: int) -> dict:
        return self.transact("claimRefund", int(round_id))

    # ------------------------------------------------------------------ owner actions (docs/protocol.md)

    def set_defaults(self, params: Params) -> dict:
        """Owner: the parameters future rounds take (encoded by ABI field name; bounds as Params.check)."""
        return self.transact("setDefaults", params.to_abi())

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
    return receipt["contractAddress"], receipt["blockNumber"]
