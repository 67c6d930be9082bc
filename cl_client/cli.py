"""`cl-client`: run a consensus-learning participant, requester or local chain from the shell.

    cl-client node                       # a local Ganache on 127.0.0.1 (Ctrl-C stops it)
    eval "$(cl-client node --env 0)"     # CL_RPC_URL and test key 0 of that node, in another shell
    cl-client deploy                     # writes deployments/<chainId>.json, read by every other command
    cl-client stake --amount 1
    cl-client open-round --queries q.npz --classes 10 --commit-seconds 300 --reveal-seconds 300 --reward 0.1 \
        --audit-file known.csv --audit 10 --audit-seconds 300 --finalizer-fee 0.001
    cl-client participate --round 1 --shard shard.npz --model logistic_regression
    cl-client reveal-audit --round 1     # the requester, in the Audit phase (waits for it)
    cl-client status --round 1
    cl-client finalize --round 1 && cl-client claim --round 1

The node is --rpc-url or $CL_RPC_URL (else the node recorded by `cl-client node` in .cl-node.json); the
contract is --contract or $CL_CONTRACT, else deployments/<chainId>.json. The signing key is $CL_PRIVATE_KEY
or an encrypted keystore (--keystore FILE with --password-file FILE or $CL_KEYSTORE_PASSWORD); keys are
never read from the command line. Every user mistake ends with one line `cl-client: error: ...` and a
non-zero exit status (--verbose shows the traceback).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time
import traceback
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

from eth_utils import to_checksum_address

from . import deployments, protocol
from .chain import ChainError, ContractError, Gateway, connect
from .protocol import Phase, Status
from .keys import KeyLoadError, load_account
from .node import BACKENDS, LocalNode, NodeRecord, Supervisor, free_port, port_is_free

PROG = "cl-client"
WEI = 10**18
ENV_RPC, ENV_CONTRACT, ENV_CHAIN_ID = "CL_RPC_URL", "CL_CONTRACT", "CL_CHAIN_ID"
ENV_CONFIRMATIONS, ENV_STATE = "CL_CONFIRMATIONS", "CL_NODE_STATE"
DEFAULT_STATE = ".cl-node.json"
EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class CLIError(Exception):
    """A user mistake or an unmet precondition; printed as one line."""


# ---------------------------------------------------------------------------------------------- helpers


def eth_to_wei(text: str) -> int:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount of ETH: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"amount of ETH must be >= 0, got {text!r}")
    wei = value * WEI
    if wei != wei.to_integral_value():
        raise argparse.ArgumentTypeError(f"{text!r} ETH has more than 18 decimals")
    return int(wei)


def positive_eth(text: str) -> int:
    wei = eth_to_wei(text) if not str(text).strip().startswith("-") else -1
    if wei <= 0:
        raise argparse.ArgumentTypeError(f"amount of ETH must be > 0, got {text!r}")
    return wei


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def positive_int(text: str) -> int:
    value = _integer(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def _bps(text: str) -> int:
    value = _integer(text)
    if not 0 <= value <= protocol.BPS:
        raise argparse.ArgumentTypeError(f"basis points must be 0..{protocol.BPS}, got {text!r}")
    return value


def fmt_eth(wei: int) -> str:
    text = f"{Decimal(int(wei)) / WEI:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} ETH"


def fmt_when(ts: int, now: int) -> str:
    delta = int(ts) - int(now)
    rel = f"in {delta} s" if delta > 0 else ("now" if delta == 0 else f"{-delta} s ago")
    return f"{ts} ({rel})"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


@contextlib.contextmanager
def _reading(what: str):
    """Reading a user's file: CLIErrors pass; any other failure becomes "cannot read WHAT: reason" (one line)."""
    try:
        yield
    except CLIError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise CLIError(f"cannot read {what}: {one_line(exc)}") from None


class Output:
    """Human lines on stdout, or (with --json) one JSON object at the end; notes always on stderr."""

    def __init__(self, as_json: bool, quiet: bool = False):
        self.as_json, self.quiet = as_json, quiet
        self.data: dict[str, Any] = {}

    def line(self, text: str = "") -> None:
        if not self.as_json:
            print(text, flush=True)

    def note(self, text: str) -> None:
        if not self.quiet:
            print(f"{PROG}: {text}", file=sys.stderr, flush=True)

    def put(self, **values: Any) -> None:
        self.data.update(values)

    def flush(self) -> None:
        if self.as_json:
            print(json.dumps(self.data, default=_json_default, indent=1), flush=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "name") and hasattr(value, "value"):  # enums
        return value.name
    raise TypeError(f"cannot encode {type(value).__name__}")


class Waiter:
    """Shows a long wait on block time: a rich progress bar on a terminal, a line now and then otherwise."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._progress = None
        self._task = None
        self._label = None
        self._last_line = 0.0

    def __enter__(self) -> "Waiter":
        if self.tty and not self.quiet:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TextColumn("{task.fields[left]}"), TimeRemainingColumn(),
                                      console=Console(stderr=True), transient=True)
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def message(self, text: str) -> None:
        if self.quiet:
            return
        if self._progress is not None:
            self._progress.console.print(f"{PROG}: {text}")
        else:
            print(f"{PROG}: {text}", file=sys.stderr, flush=True)

    def wait(self, label: str, start: int, target: int, now: int) -> None:
        """Update the display for a wait from block time `start` to `target`; `now` is the latest block."""
        if self.quiet:
            return
        total, left = max(1, target - start), max(0, target - now)
        if self._progress is not None:
            if self._label != label:
                if self._task is not None:
                    self._progress.remove_task(self._task)
                self._task = self._progress.add_task(label, total=total, left="")
                self._label = label
            self._progress.update(self._task, completed=total - left, left=f"{left} s of block time")
            return
        wall = time.monotonic()
        if self._label != label or wall - self._last_line >= 10:
            print(f"{PROG}: {label}: {left} s of block time left", file=sys.stderr, flush=True)
            self._label, self._last_line = label, wall


# ------------------------------------------------------------------------------------------ connection


def _state_path(args) -> Path:
    return Path(getattr(args, "state_file", None) or os.environ.get(ENV_STATE) or DEFAULT_STATE)


def _rpc_url(args) -> str:
    if args.rpc_url:
        return args.rpc_url
    if os.environ.get(ENV_RPC):
        return os.environ[ENV_RPC]
    record = NodeRecord.read(_state_path(args))
    if record and record.url:
        return record.url  # the node started by `cl-client node` in this directory
    raise CLIError(f"no node to talk to: give --rpc-url URL, set {ENV_RPC}, or start one with `cl-client node`")


def gateway(args, out: Output, *, need_key: bool) -> Gateway:
    """Connect, load the key, find the contract, and check the chain id and the contract code."""
    account = load_account(args.keystore, args.password_file)
    if need_key and account is None:
        raise CLIError("this command sends transactions and needs a key: set CL_PRIVATE_KEY, or give "
                       "--keystore FILE with --password-file FILE (or CL_KEYSTORE_PASSWORD)")
    w3 = connect(_rpc_url(args))
    chain_id = _check_chain_id(args, w3)
    address = args.contract or os.environ.get(ENV_CONTRACT)
    from_block = args.from_block
    if not address:
        dep = deployments.load(chain_id, args.deployments_dir)
        deployments.check_chain(dep, w3)
        address = dep.address
        if from_block is None:
            from_block = dep.block
    elif from_block is None:
        try:
            dep = deployments.load(chain_id, args.deployments_dir)
            if dep.address.lower() == address.lower():
                from_block = dep.block
        except deployments.DeploymentError:
            pass
    return Gateway(w3, address, account, expected_chain_id=chain_id, confirmations=_confirmations(args),
                   from_block=from_block or 0, on_retry=out.note)  # outages, replaced / re-sent transactions


def _env_int(name: str) -> int | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise CLIError(f"{name} must be an integer, got {text!r}") from None


def _confirmations(args) -> int:
    value = args.confirmations if args.confirmations is not None else _env_int(ENV_CONFIRMATIONS)
    if value is not None and value < 1:
        raise CLIError(f"confirmations must be >= 1, got {value}")
    return 1 if value is None else value


def _check_chain_id(args, w3) -> int:
    """The node's chain id; CLIError if --chain-id / CL_CHAIN_ID expects another one."""
    chain_id = int(w3.eth.chain_id)
    expected = args.chain_id if args.chain_id is not None else _env_int(ENV_CHAIN_ID)
    if expected is not None and expected != chain_id:
        raise CLIError(f"wrong chain: the node is on chain id {chain_id}, expected {expected}")
    return chain_id


def _round_id(gw: Gateway, rid: int | None) -> int:
    count = gw.round_count()
    if rid is None:
        if count == 0:
            raise CLIError("no round has been opened yet on this contract")
        return count
    if not 1 <= rid <= count:
        raise CLIError(f"round {rid} does not exist (rounds opened so far: {count})")
    return rid


def _phase(value: int) -> str:
    return Phase(value).name.title()


def _b32(value) -> str:
    """A bytes32 name (ParameterOutOfBounds) as text."""
    return bytes(value).rstrip(b"\0").decode(errors="replace") if isinstance(value, (bytes, bytearray)) else str(value)


# Contract error name -> its message: a format string over the error's arguments ({0}, {1}, ...), or a
# function (args, error) -> str. Addresses among the arguments are checksummed first.
EXPLAIN: dict[str, str | Callable[[tuple, ContractError], str]] = {
    "WrongPhase": lambda a, exc: (f"round {a[0]} is in its {_phase(a[2])} phase; {exc.fn or 'this'} needs the "
                                  f"{_phase(a[1])} phase"),
    "StakeBelowMinimum": lambda a, exc: (f"free stake {fmt_eth(a[0])} is below the minimum {fmt_eth(a[1])}: deposit "
                                         "with `cl-client stake --amount ETH` (or `participate --stake ETH`)"),
    "InsufficientFreeStake": lambda a, exc: f"asked for {fmt_eth(a[0])} but only {fmt_eth(a[1])} of stake is free",
    "UnbondingNotOver": "the unbonding delay is not over: withdraw at block time {0} or later (now {1})",
    "NothingToWithdraw": "nothing is unbonding: first request a withdrawal with `cl-client withdraw --amount ETH`",
    "UnknownRound": "round {0} does not exist",
    "NothingToClaim": "{1} did not take part in round {0}, so has nothing to claim there",
    "AlreadyClaimed": "{1} already claimed round {0}",
    "AlreadyCommitted": "{1} already committed in round {0}",
    "NoRefund": "no refund in round {0} for {1} (only the requester of a failed round, or of one in which nobody "
                "agreed, has one)",
    "ParameterOutOfBounds": lambda a, exc: (f"{_b32(a[0])} = {a[1]} is outside the allowed {a[2]}..{a[3]} "
                                            "(the contract's bounds())"),
    "InvalidAudit": "audit of {0} queries with a {1} s window does not fit the round (G <= min(128, Q), and an "
                    "audit needs a window)",
    "NotRequester": "{1} is not the requester of round {0}: only the requester reveals its audit",
    "AuditCommitmentMismatch": "the audit journal does not match round {0}'s audit commitment",
    "FeeExceedsValue": "the finalizer fee {0} wei exceeds the value sent ({1} wei)",
    "TooManyPendingWithdrawals": "{0} withdrawal requests are pending already: complete matured ones with "
                                 "`cl-client withdraw --complete` first",
    "NotStaleYet": "round {0} may be abandoned only after block time {1} (now {2})",
    "AmountTooLarge": "amount {0} wei exceeds the contract's limit {1} wei",
    "EnforcedPause": "the contract is paused: no new rounds can be opened now",
    "InvalidDuration": "phase duration {0} s is outside the allowed {1}..{2} s",
    "InvalidQueryCount": "{0} queries is outside the allowed 1..{1}",
    "InvalidClassCount": "{0} classes is outside the allowed 2..256",
}


def explain(exc: ContractError) -> str:
    """A contract revert, in words (its str() for an error EXPLAIN does not know)."""
    template = EXPLAIN.get(exc.name)
    if template is None:
        return str(exc)
    a = tuple(to_checksum_address(x) if isinstance(x, str) and len(x) == 42 and x.startswith("0x") else x
              for x in exc.args_)
    return template.format(*a) if isinstance(template, str) else template(a, exc)


# ------------------------------------------------------------------------------------------ node


def cmd_node(args, out: Output) -> int:
    path = _state_path(args)
    if args.stop:
        return _stop_node(path, out)
    if args.env is not None:
        return _print_env(path, args.env)
    record = NodeRecord.read(path)
    if record and record.running():
        raise CLIError(f"a node is already running at {record.url} (pid {record.pid}, state in {path}); "
                       "stop it with `cl-client node --stop`")
    if args.port and not port_is_free(args.port):
        raise CLIError(f"port {args.port} on 127.0.0.1 is already in use")
    node = LocalNode(backend=args.backend, accounts=args.accounts, port=args.port or free_port(),
                     block_time=args.block_time, log_path=args.log)

    def ready(record: NodeRecord) -> None:
        info = dataclasses.asdict(record)
        out.put(**{k: v for k, v in info.items() if k != "accounts"},
                addresses=[a["address"] for a in record.accounts], state_file=str(path))
        out.line(f"{args.backend} node at {node.url} (chain id {record.chain_id}, pid {node.pid}, "
                 f"a block every {args.block_time:g} s)")
        out.line(f"state and {len(node.keys)} funded TEST keys in {path} (mode 0600); "
                 f"use them with: eval \"$(cl-client node --env 0)\"")
        for i, address in enumerate(node.addresses):
            out.line(f"  account {i}: {address}")
        out.line("stop with Ctrl-C or `cl-client node --stop`")
        out.flush()
        out.as_json = False  # printed already
        out.data = {}

    Supervisor(node, path).run(on_ready=ready, on_stop=lambda: out.line("stopping the node"))
    return 0


def _stop_node(path: Path, out: Output) -> int:
    record = NodeRecord.read(path)
    if not record:
        raise CLIError(f"no node recorded in {path}")
    stopped = record.stop()
    path.unlink(missing_ok=True)
    if not stopped:
        out.note(f"the node recorded in {path} (pid {record.pid}) was not running; removed the stale state file")
    else:
        out.line(f"stopped the node at {record.url} (pid {record.pid})")
    out.put(stopped=stopped, pid=record.pid)
    return 0


def _print_env(path: Path, index: int) -> int:
    record = NodeRecord.read(path)
    if not record:
        raise CLIError(f"no node recorded in {path}: start one with `cl-client node`")
    key = record.private_key(index)
    print(f"export {ENV_RPC}={record.url}")
    print(f"export CL_PRIVATE_KEY={key}")
    return 0


# ------------------------------------------------------------------------------------------ commands


def cmd_deploy(args, out: Output) -> int:
    from .chain import deploy

    account = load_account(args.keystore, args.password_file)
    if account is None:
        raise CLIError("deploy needs a key: set CL_PRIVATE_KEY, or give --keystore FILE with --password-file "
                       "FILE (or CL_KEYSTORE_PASSWORD)")
    w3 = connect(_rpc_url(args))
    chain_id = _check_chain_id(args, w3)
    previous = deployments.path_for(chain_id, args.deployments_dir)
    confirmations = _confirmations(args)
    out.note(f"deploying ConsensusLearning from {account.address} on chain {chain_id} "
             f"(waiting for {confirmations} confirmation(s))")
    try:
        address, block = deploy(w3, account, confirmations=confirmations)
    except ChainError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. insufficient funds, reported by the node
        raise CLIError(f"deployment failed: {one_line(exc)}") from None
    if previous.exists():
        out.note(f"replacing the previous record in {previous}")
    path = deployments.record(w3, address, account.address, block=block, tool="cl-client deploy",
                              directory=args.deployments_dir)
    Gateway(w3, address, expected_chain_id=chain_id)  # the same check every client will do
    out.line(f"ConsensusLearning deployed at {address} (chain {chain_id}, block {block}); recorded in {path}")
    out.put(address=address, chain_id=chain_id, block=block, deployer=account.address, deployment_file=str(path))
    return 0


def cmd_stake(args, out: Output) -> int:
    gw = gateway(args, out, need_key=True)
    gw.deposit(args.amount)
    acct = gw.account_info()
    out.line(f"deposited {fmt_eth(args.amount)}; free stake of {gw.sender}: {fmt_eth(acct.free)}")
    out.put(address=gw.sender, deposited=args.amount, free=acct.free, locked=acct.locked)
    return 0


def cmd_withdraw(args, out: Output) -> int:
    gw = gateway(args, out, need_key=True)
    if args.complete:  # NothingToWithdraw / UnbondingNotOver: the revert says what to do (see EXPLAIN)
        before = gw.account_info()
        if args.to:
            try:
                to = to_checksum_address(args.to)
            except ValueError:
                raise CLIError(f"--to {args.to!r} is not an address") from None
            gw.withdraw_to(to)
        else:
            to = gw.sender
            gw.withdraw()
        out.line(f"withdrew {fmt_eth(before.withdrawable)} to {to}")
        out.put(address=gw.sender, withdrawn=before.withdrawable, to=to)
        return 0
    if args.to:
        raise CLIError("--to goes with --complete")
    acct = gw.account_info()
    amount = acct.free if args.amount is None else args.amount
    if amount == 0:  # the revert would be "asked for 0 ETH": say where the stake is and what to do
        raise CLIError(f"no free stake to withdraw ({fmt_eth(acct.locked)} locked in rounds; claim them first)")
    gw.request_withdrawal(amount)  # more than is free: InsufficientFreeStake
    after = gw.account_info()
    out.line(f"requested {fmt_eth(amount)}; {fmt_eth(after.unbonding)} unbonding, withdraw with "
             f"`cl-client withdraw --complete` at block time {fmt_when(after.unbonding_ready_at, gw.latest_timestamp())}")
    out.put(address=gw.sender, requested=amount, unbonding=after.unbonding, ready_at=after.unbonding_ready_at)
    return 0


def _load_query_file(args, out: Output) -> tuple[Path, bytes, int]:
    """(npz path, keccak hash, Q) for --queries; CSV / .npy inputs are converted to .npz first."""
    import numpy as np

    from . import data

    src = Path(args.queries)
    if not src.is_file():
        raise CLIError(f"query file {src} does not exist")
    suffix = src.suffix.lower()
    if suffix == ".npz":
        digest = bytes(data.file_hash(src))
        queries = data.fetch_queries(src.resolve().as_uri(), digest)
        return src, digest, len(queries)
    with _reading(f"query file {src}"):
        if suffix == ".npy":
            X = np.load(src, allow_pickle=False)
        elif suffix in (".csv", ".txt"):
            X = np.loadtxt(src, delimiter=",", ndmin=2)
        else:
            raise CLIError(f"query file {src} must be .npz, .npy or .csv")
    X = np.asarray(X)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2 or len(X) == 0:
        raise CLIError(f"query file {src} must hold a non-empty 2-D array (one query per row)")
    dest = Path(args.out) if args.out else src.with_suffix(".npz")
    if dest.exists() and not args.force:
        raise CLIError(f"{dest} exists; give --out FILE.npz or --force to overwrite it")
    digest = bytes(data.write_queries(dest, X))
    out.note(f"wrote {len(X)} queries from {src} to {dest}")
    return dest, digest, len(X)


LOCAL_CHAIN_IDS = (1337, 31337)  # Ganache and Anvil / Hardhat


def file_uri_warning(chain_id: int, uri: str) -> str | None:
    """The warning for a file:// query URI on a chain other than a local dev chain (else None)."""
    if uri.lower().startswith("file:") and int(chain_id) not in LOCAL_CHAIN_IDS:
        return (f"warning: the query URI {uri} is a local file, which participants on other machines cannot "
                f"fetch (chain id {chain_id} is not a local dev chain); publish the file and pass --uri https://...")
    return None


PARAM_FLAGS = ("quorum_bps", "min_revealers", "agreement_bps", "deviator_slash_bps", "non_reveal_slash_bps",
               "audit_bound_bps", "audit_slash_bps", "crowd_bps", "min_stake")
"""protocol.Params fields `open-round` can override (--quorum-bps ...; --nonreveal-slash-bps for the non-revealer's)."""


def load_known_labels(path: Path) -> dict[int, int]:
    """{query index: label} from a CSV (lines `index,label`, an optional header) or an NPZ (arrays `indices`
    and `labels`, or one 2-column array); CLIError (one line) for anything else."""
    import numpy as np

    if not path.is_file():
        raise CLIError(f"audit file {path} does not exist")
    with _reading(f"audit file {path} (lines `query index,label`)"):
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "indices" in z.files and "labels" in z.files:
                    rows = np.stack([np.asarray(z["indices"]).reshape(-1), np.asarray(z["labels"]).reshape(-1)], 1)
                elif len(z.files) == 1:
                    rows = np.asarray(z[z.files[0]])
                else:
                    raise CLIError(f"audit file {path} must hold arrays 'indices' and 'labels' (or one "
                                   f"2-column array), found {', '.join(z.files)}")
        elif path.suffix.lower() in (".csv", ".txt"):
            lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
            if lines and not lines[0].replace(",", "").replace(" ", "").lstrip("-").isdigit():
                lines = lines[1:]  # a header such as "index,label"
            rows = np.array([[int(v) for v in ln.split(",")] for ln in lines], dtype=np.int64).reshape(-1, 2)
        else:
            raise CLIError(f"audit file {path} must be .csv or .npz")
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] != 2 or len(rows) == 0 or not np.issubdtype(rows.dtype, np.integer):
        raise CLIError(f"audit file {path} must hold integer pairs (query index, label), one per row")
    known: dict[int, int] = {}
    for index, label in rows.tolist():
        if index in known and known[index] != label:
            raise CLIError(f"audit file {path} gives query {index} two labels ({known[index]} and {label})")
        known[int(index)] = int(label)
    return known


def _audit_journal_dir(args) -> Path:
    from .participant import DEFAULT_JOURNAL_DIR

    return Path(args.journal_dir).expanduser() if args.journal_dir else DEFAULT_JOURNAL_DIR


def _round_params(args, gw: Gateway) -> protocol.Params | None:
    """The contract's defaults() with the --...-bps / --min-stake overrides, or None if none is given."""
    changes = {name: getattr(args, name) for name in PARAM_FLAGS if getattr(args, name) is not None}
    if not changes:
        return None
    params = dataclasses.replace(gw.defaults(), **changes)
    try:
        return params.check(gw.bounds())
    except ValueError as exc:
        raise CLIError(f"round parameters: {one_line(exc)} (--{exc.args[0].split()[0].replace('_', '-')})"
                       .replace("--non-reveal-", "--nonreveal-")) from None


def cmd_open_round(args, out: Output) -> int:
    import numpy as np

    from .journal import AuditJournal

    if args.audit is not None and not args.audit_file:
        raise CLIError("--audit N needs --audit-file FILE (the known labels to hide N of)")
    if args.audit_seconds is not None and not args.audit_file:
        raise CLIError("--audit-seconds needs --audit-file FILE")
    gw = gateway(args, out, need_key=True)
    path, digest, q = _load_query_file(args, out)
    uri = args.uri or path.resolve().as_uri()
    warning = file_uri_warning(gw.chain_id, uri)
    if warning:
        out.note(warning)
    params = _round_params(args, gw)
    audit, journal, audit_seconds = None, None, 0
    if args.audit_file:
        known = load_known_labels(Path(args.audit_file))
        bad = [(i, y) for i, y in known.items() if not (0 <= i < q and 0 <= y < args.classes)]
        if bad:
            raise CLIError(f"audit file {args.audit_file}: query {bad[0][0]} label {bad[0][1]} is not a query "
                           f"index 0..{q - 1} with a label 0..{args.classes - 1}")
        count = args.audit if args.audit is not None else min(len(known), protocol.LIMITS.max_audit_queries)
        if count > min(len(known), protocol.LIMITS.max_audit_queries):
            raise CLIError(f"--audit {count}: the audit file knows {len(known)} labels and a round hides at most "
                           f"{protocol.LIMITS.max_audit_queries}")
        audit = protocol.Audit.draw(np.random.default_rng(), known, count)
        audit_seconds = args.audit_seconds if args.audit_seconds is not None else args.reveal_seconds
        commitment = audit.commitment(gw.chain_id, gw.address, gw.sender, digest)
        journal = AuditJournal(Path(args.audit_journal) if args.audit_journal else AuditJournal.path_for(
            _audit_journal_dir(args), gw.chain_id, gw.address, gw.sender, commitment))
        # Durable BEFORE the round is opened: the audit can always be revealed.
        journal.write(chain_id=gw.chain_id, contract=gw.address, requester=gw.sender, commitment=commitment,
                      queries_hash=digest, audit=audit.to_json())
    keywords = params is not None or audit is not None or args.finalizer_fee
    try:
        rid = gw.open_round(digest, uri, q, args.classes, args.commit_seconds, args.reveal_seconds, args.reward,
                            **(dict(params=params, audit=audit, audit_duration=audit_seconds,
                                    finalizer_fee_wei=args.finalizer_fee) if keywords else {}))
    except ValueError as exc:
        raise CLIError(one_line(exc)) from None
    if journal is not None:
        journal.update(round_id=rid)
    info = gw.round(rid)
    now = gw.latest_timestamp()
    out.line(f"opened round {rid}: Q={q}, K={args.classes}, reward {fmt_eth(info.reward)}"
             + (f" + finalizer fee {fmt_eth(info.finalizer_fee)}" if info.finalizer_fee else ""))
    out.line(f"  queries {uri} (keccak256 0x{digest.hex()})")
    out.line(f"  commit until block time {fmt_when(info.commit_deadline, now)}, "
             f"reveal until {fmt_when(info.reveal_deadline, now)}")
    if audit is not None:
        out.line(f"  audit: {info.audit_count} hidden known-label queries; reveal them with `cl-client reveal-audit "
                 f"--round {rid}` after the reveal deadline, by block time {fmt_when(info.audit_deadline, now)} "
                 f"(secret kept in {journal.path})")
    out.put(round_id=rid, num_queries=q, num_classes=args.classes, queries_uri=uri, queries_hash=digest,
            commit_deadline=info.commit_deadline, reveal_deadline=info.reveal_deadline,
            audit_deadline=info.audit_deadline, audit_count=info.audit_count, reward=info.reward,
            finalizer_fee=info.finalizer_fee, params=dataclasses.asdict(info.params),
            audit_journal=str(journal.path) if journal else None)
    return 0


def _find_audit_journal(args, gw: Gateway, rid: int):
    """The audit journal of round `rid`: --audit-journal, else the one named by the round's commitment."""
    from .journal import AuditJournal

    if args.audit_journal:
        return AuditJournal(Path(args.audit_journal))
    commitment = gw.audit_commitment(rid)
    if commitment == bytes(32):
        raise CLIError(f"round {rid} has no audit")
    r = gw.round(rid)
    path = AuditJournal.path_for(_audit_journal_dir(args), gw.chain_id, gw.address, r.requester, commitment)
    if not path.is_file():
        raise CLIError(f"no audit journal for round {rid} at {path}: give --audit-journal FILE (written by "
                       "`cl-client open-round`)")
    return AuditJournal(path)


def cmd_reveal_audit(args, out: Output) -> int:
    gw = gateway(args, out, need_key=True)
    rid = _round_id(gw, args.round)
    r = gw.round(rid)
    if r.audit_count == 0:
        raise CLIError(f"round {rid} has no audit")
    if r.requester.lower() != gw.sender.lower():
        raise CLIError(f"round {rid} was opened by {r.requester}; only it can reveal the audit (you are {gw.sender})")
    if r.audit_revealed:
        raise CLIError(f"round {rid}'s audit is already revealed")
    journal = _find_audit_journal(args, gw, rid)
    body = journal.read()
    audit = protocol.Audit.from_json(body["audit"])
    if audit.commitment(gw.chain_id, gw.address, r.requester, r.queries_hash) != gw.audit_commitment(rid):
        raise CLIError(f"audit journal {journal.path} is not round {rid}'s audit (its commitment differs)")
    if r.phase in (Phase.COMMIT, Phase.REVEAL):
        start = gw.latest_timestamp()
        with Waiter(args.quiet) as waiter:
            gw.wait_for_timestamp(r.reveal_deadline + 1, timeout=args.timeout,
                                  on_tick=lambda now: waiter.wait(f"round {rid}: waiting for the Audit phase",
                                                                  start, r.reveal_deadline + 1, now))
        r = gw.round(rid)
    if r.phase != Phase.AUDIT:
        raise CLIError(f"round {rid} is in its {r.phase.name.title()} phase: the audit window closed at block "
                       f"time {r.audit_deadline}" + ("" if r.phase != Phase.FINALIZABLE else
                                                     " (the round goes on without it; part of the reward is burned)"))
    receipt = gw.reveal_audit(rid, audit)
    journal.update(round_id=rid, revealed_tx="0x" + bytes(receipt["transactionHash"]).hex())
    out.line(f"revealed the audit of round {rid}: {len(audit.indices)} queries; it can be finalized now")
    out.put(round_id=rid, audit_count=len(audit.indices), indices=list(audit.indices), labels=list(audit.labels))
    return 0


def cmd_abandon(args, out: Output) -> int:
    gw = gateway(args, out, need_key=True)
    rid = _round_id(gw, args.round)
    gw.abandon(rid)  # NotStaleYet / WrongPhase explain themselves
    out.line(f"round {rid} abandoned (failed): stakes unlocked, non-revealers' penalties burned, reward refundable")
    out.put(round_id=rid, phase=gw.round(rid).phase.name)
    return 0


def cmd_status(args, out: Output) -> int:
    gw = gateway(args, out, need_key=False)
    now = gw.latest_timestamp()
    count = gw.round_count()
    out.line(f"contract {gw.address} on chain {gw.chain_id} via {_rpc_url(args)}; block time {now}; "
             f"{count} round(s) opened")
    out.put(contract=gw.address, chain_id=gw.chain_id, block_time=now, round_count=count)
    me = gw.account.address if gw.account is not None else None
    if me:
        acct = gw.account_info(me)
        out.line(f"account {me}: balance {fmt_eth(gw.balance(me))}; stake free {fmt_eth(acct.free)}, "
                 f"locked {fmt_eth(acct.locked)}, unbonding {fmt_eth(acct.unbonding)}"
                 + (f" (ready at {fmt_when(acct.unbonding_ready_at, now)})" if acct.unbonding else ""))
        out.put(account={"address": me, "balance": gw.balance(me), "free": acct.free, "locked": acct.locked,
                         "unbonding": acct.unbonding, "unbonding_ready_at": acct.unbonding_ready_at,
                         "withdrawable": acct.withdrawable})
    if count == 0 and args.round is None:
        return 0
    rid = _round_id(gw, args.round)
    r = gw.round(rid)
    out.line(f"round {rid}: {r.phase.name} (requester {r.requester}); Q={r.num_queries}, K={r.num_classes}; "
             f"reward {fmt_eth(r.reward)}" + (f" + finalizer fee {fmt_eth(r.finalizer_fee)}" if r.finalizer_fee else "")
             + ("; refundable to the requester" if r.refundable else ""))
    out.line(f"  commit deadline {fmt_when(r.commit_deadline, now)}; reveal deadline {fmt_when(r.reveal_deadline, now)}")
    out.line(f"  {r.commit_count} committed ({fmt_eth(r.committed_stake)}), {r.reveal_count} revealed "
             f"({fmt_eth(r.revealed_stake)}); quorum {r.params.quorum_bps / 100:g} % of committed stake, "
             f"at least {r.params.min_revealers} revealers")
    pr = r.params
    mode = min_matches = None
    if r.phase == Phase.FINALIZED:
        mode = protocol.mode_count(list(gw.consensus(rid)), r.num_classes)
        min_matches = protocol.min_matches(r.num_queries, pr.agreement_bps, mode)
        rule = (f"at least {min_matches}/{r.num_queries} labels must match the consensus (its most frequent label "
                f"covers {mode})")
    else:
        rule = (f"matches - M >= that share of Q - M and {protocol.LIMITS.agreement_sigmas} coin-flipper standard "
                "deviations, M = queries of the consensus's most frequent label")
    out.line(f"  agreement (chance-corrected, {pr.agreement_bps / 100:g} %): {rule}; weights: "
             f"{'equal (one per participant)' if pr.equal_weights else 'stake'}")
    out.line(f"  slashing: a deviator loses {pr.deviator_slash_bps / 100:g} % of its stake (nothing if the audit is "
             f"revealed and it passed), a non-revealer "
             f"{pr.non_reveal_slash_bps / 100:g} %, a revealer excluded by the audit {pr.audit_slash_bps / 100:g} % "
             f"(burned); minimum stake {fmt_eth(pr.min_stake)}")
    audit = None
    if r.audit_count:
        state = ("revealed" if r.audit_revealed else
                 "not revealed: forfeited" if r.phase.rank >= Phase.FINALIZABLE.rank else "hidden")
        out.line(f"  audit: {r.audit_count} hidden known-label queries, {state}; deadline "
                 f"{fmt_when(r.audit_deadline, now)}; a revealer right on fewer than {pr.audit_bound_bps / 100:g} % "
                 "of them is Excluded" + (f", and so is one whose wrong answers a crowd of {pr.crowd_bps / 100:g} % of "
                 f"the revealers shares on {protocol.LIMITS.crowd_strike_bps / 100:g} % of them" if pr.crowd_bps else ""))
        revealed_audit = gw.audit_of(rid) if r.audit_revealed else None
        audit = {"count": r.audit_count, "deadline": r.audit_deadline, "revealed": r.audit_revealed,
                 "indices": list(revealed_audit.indices) if revealed_audit else None,
                 "labels": list(revealed_audit.labels) if revealed_audit else None}
    rnd = {"round_id": rid, "phase": r.phase.name, "requester": r.requester, "num_queries": r.num_queries,
           "num_classes": r.num_classes, "commit_deadline": r.commit_deadline, "reveal_deadline": r.reveal_deadline,
           "audit_deadline": r.audit_deadline, "commit_count": r.commit_count, "reveal_count": r.reveal_count,
           "committed_stake": r.committed_stake, "revealed_stake": r.revealed_stake, "reward": r.reward,
           "finalizer_fee": r.finalizer_fee, "refundable": r.refundable, "pool": r.pool,
           "queries_hash": r.queries_hash, "params": dataclasses.asdict(pr), "min_matches": min_matches,
           "mode_count": mode, "audit": audit}
    if r.phase == Phase.FINALIZED:
        out.line(f"  finalized: pool {fmt_eth(r.pool)} shared by agreeing weight {r.agreed_weight}")
    if me:
        s = gw.submission(rid, me)
        reward, penalty = gw.claimable(rid, me)
        extra = f"; matches {s.matches}/{r.num_queries}" if s.status in (Status.AGREED, Status.DEVIATED) else ""
        if r.audit_revealed and s.status in (Status.AGREED, Status.DEVIATED, Status.EXCLUDED):
            extra += f"; audit {s.audit_hits}/{r.audit_count} right"
        status = "NON-REVEALER" if s.status == Status.COMMITTED and r.phase.rank >= Phase.AUDIT.rank else s.status.name
        if s.status == Status.NONE:
            out.line("  you: not taking part")
        else:
            out.line(f"  you: {status}, stake {fmt_eth(s.stake)}{extra}"
                     + ("; claimed" if s.claimed else f"; claimable reward {fmt_eth(reward)}, penalty {fmt_eth(penalty)}"))
        rnd["you"] = {"status": s.status.name, "stake": s.stake, "matches": s.matches, "audit_hits": s.audit_hits,
                      "claimed": s.claimed,
                      "claimable_reward": reward, "claimable_penalty": penalty}
    out.put(round=rnd)
    return 0


def cmd_claim(args, out: Output) -> int:
    gw = gateway(args, out, need_key=True)
    rid = _round_id(gw, args.round)
    if args.refund:
        r = gw.round(rid)
        gw.claim_refund(rid)
        out.line(f"refunded {fmt_eth(r.reward)} of round {rid} to {gw.sender}")
        out.put(round_id=rid, refund=r.reward)
        return 0
    if gw.phase(rid) == Phase.FINALIZABLE:  # the revert (WrongPhase) cannot say that anyone may finalize it
        raise CLIError(f"round {rid} is not finalized yet: run `cl-client finalize --round {rid}` first")
    sub = gw.submission(rid)
    receipt = gw.claim(rid)  # not taken part, claimed already, still open: NothingToClaim, AlreadyClaimed, WrongPhase
    reward, penalty = gw.claimed_amounts(receipt)
    out.line(f"claimed round {rid}: reward {fmt_eth(reward)}, penalty {fmt_eth(penalty)}; "
             f"free stake now {fmt_eth(gw.account_info().free)}")
    out.put(round_id=rid, reward=reward, penalty=penalty, status=sub.status.name)
    return 0


def cmd_finalize(args, out: Output) -> int:
    gw = gateway(args, out, need_key=True)
    rid = _round_id(gw, args.round)
    r = gw.round(rid)
    if r.phase in (Phase.FINALIZED, Phase.FAILED):
        raise CLIError(f"round {rid} is already {r.phase.name.lower()}")
    if r.phase != Phase.FINALIZABLE:
        if not args.wait:
            when = (f"after block time {fmt_when(r.reveal_deadline, gw.latest_timestamp())}" if r.phase != Phase.AUDIT
                    else f"once the requester reveals its audit, or after block time "
                         f"{fmt_when(r.audit_deadline, gw.latest_timestamp())}")
            raise CLIError(f"round {rid} is in its {r.phase.name.title()} phase; it can be finalized {when} "
                           "(or pass --wait)")
        start = gw.latest_timestamp()
        with Waiter(args.quiet) as waiter:
            gw.on_retry = waiter.message
            while r.phase != Phase.FINALIZABLE:
                audit = r.phase == Phase.AUDIT
                target = r.audit_deadline + 1 if audit else r.reveal_deadline + 1
                label = f"round {rid}: {'audit' if audit else r.phase.name.lower()} phase"
                if audit:  # the requester may reveal at any moment: look again every few seconds
                    target = min(target, gw.latest_timestamp() + 2)
                gw.wait_for_timestamp(target, on_tick=lambda now: waiter.wait(label, start, target, now))
                r = gw.round(rid)
                if r.phase in (Phase.FINALIZED, Phase.FAILED):
                    raise CLIError(f"round {rid} was {r.phase.name.lower()} by someone else meanwhile")
    gw.finalize(rid)
    r = gw.round(rid)
    if r.phase == Phase.FINALIZED:
        out.line(f"round {rid} finalized: {r.reveal_count} revealers, pool {fmt_eth(r.pool)}")
    else:
        out.line(f"round {rid} failed (quorum or minimum revealers not met, or nobody passed the audit); the "
                 f"requester can "
                 f"`cl-client claim --refund --round {rid}`")
    out.put(round_id=rid, phase=r.phase.name, pool=r.pool, reveal_count=r.reveal_count)
    return 0


def cmd_make_demo_data(args, out: Output) -> int:
    from .data import make_demo_data

    try:
        paths = make_demo_data(args.out, participants=args.participants, num_queries=args.queries, seed=args.seed)
    except ValueError as exc:
        raise CLIError(one_line(exc)) from None
    shards = paths[1:]
    out.line(f"wrote {paths[0]} ({args.queries} queries) and {len(shards)} shards: "
             + ", ".join(p.name for p in shards))
    out.put(queries=str(paths[0]), shards=[str(p) for p in shards])
    return 0


WAIT_PHASES = ("commit", "reveal", "finalizable", "settled")


def cmd_wait(args, out: Output) -> int:
    """Wait for a state instead of sleeping: the node of `cl-client node` answering, or a round's phase."""
    if args.timeout is None:
        args.timeout = 60.0 if args.node else 600.0
    deadline = time.monotonic() + args.timeout
    if args.node:
        path = _state_path(args)
        while True:
            try:
                record = NodeRecord.read(path)
                if record and record.url:
                    connect(record.url)
                    out.line(f"node at {record.url} is up (chain id {record.chain_id})")
                    out.put(url=record.url, chain_id=record.chain_id)
                    return 0
            except ChainError:
                pass
            if time.monotonic() > deadline:
                raise CLIError(f"no node answered within {args.timeout:g} s (state file {path})")
            time.sleep(0.5)
    if not args.phase:
        raise CLIError("give --phase PHASE (one of " + ", ".join(WAIT_PHASES) + ") or --node")
    gw = gateway(args, out, need_key=False)
    rid = _round_id(gw, args.round)
    want = {"commit": Phase.COMMIT, "reveal": Phase.REVEAL, "finalizable": Phase.FINALIZABLE,
            "settled": Phase.FINALIZED}[args.phase]
    while True:
        phase = gw.phase(rid)
        if phase.rank >= want.rank:  # FAILED ranks with FINALIZED: "settled" is either
            out.line(f"round {rid}: {phase.name.lower()}")
            out.put(round_id=rid, phase=phase.name)
            return 0
        if time.monotonic() > deadline:
            raise CLIError(f"round {rid} is still in its {phase.name.title()} phase after {args.timeout:g} s")
        time.sleep(gw.poll_interval)


def cmd_watch(args, out: Output) -> int:
    """The watcher for anyone: check each live post against the reveals, refute a wrong one; with --propose,
    post the honest consensus of a round nobody posted. Ends when the rounds given are settled or past their
    window (--round), or at Ctrl-C / --timeout (--follow: every round from the current one on)."""
    from .watcher import Watch, Watcher

    gw = gateway(args, out, need_key=True)
    watcher = Watcher(gw, propose=args.propose, say=out.line)
    if args.follow:
        watching = {gw.round_count()} - {0}
    else:
        watching = {_round_id(gw, rid) for rid in (args.round or [None])}
    finished = (Watch.SETTLED, Watch.CONFIRMABLE, Watch.ON_CHAIN)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    seen_last: dict[int, Watch] = {}
    while True:
        if args.follow:
            watching |= set(range(max(watching | {0}) + 1, gw.round_count() + 1))
        for rid in sorted(watching):
            seen = watcher.step(rid)
            if seen_last.get(rid) != seen.watch:
                out.line(f"round {rid}: {seen.watch}" + (f" (challengeable until block time {seen.challenge_ends})"
                                                          if seen.watch == Watch.HONEST else ""))
                out.put(round_id=rid, watch=str(seen.watch), challenge_ends=seen.challenge_ends)
                seen_last[rid] = seen.watch
            if seen.watch in finished:
                watching.discard(rid)
        if not watching and not args.follow:
            return 0
        if deadline is not None and time.monotonic() > deadline:
            raise CLIError(f"still watching round(s) {', '.join(map(str, sorted(watching)))} after {args.timeout:g} s")
        time.sleep(max(gw.poll_interval, 0.2))


# ------------------------------------------------------------------------------------------ participate


def _rounds_to_play(args, gw: Gateway, waiter: Waiter, resumed: frozenset[int] = frozenset()) -> Any:
    """Yield the round ids to take part in, waiting for new rounds to be opened if needed.

    Rounds in `resumed` (finished from the journal already) are not yielded again; under --rounds-from-now N
    they count towards the N, so a rerun of the same command does what the first run would have done."""
    if args.round:
        for rid in args.round:
            rid = _round_id(gw, rid)
            if rid not in resumed:
                yield rid
        return
    count = gw.round_count()
    first = count if count and gw.phase(count) == Phase.COMMIT else count + 1
    limit = None if args.follow else max(0, args.rounds_from_now - len(resumed))
    rid, given = first, 0
    while limit is None or given < limit:
        if rid in resumed:
            rid += 1
            continue
        if gw.round_count() < rid:
            waiter.message(f"waiting for round {rid} to be opened")
            while gw.round_count() < rid:
                time.sleep(gw.idle_interval)
        yield rid
        given += 1
        rid += 1


def _ensure_stake(args, gw: Gateway, rid: int, waiter: Waiter) -> None:
    """Deposit --stake if the free stake is below round `rid`'s minimum (`_assess_round` checked that it
    then suffices); under --max-stake, request the withdrawal of the free stake above it (claimed rewards
    join the free stake, and a commit locks all of it), completing matured requests first. A settled round
    holding the submission slot `rid` needs is claimed first, so that its stake counts here too."""
    r = gw.round(rid)
    try:
        gw.free_slot(rid)
    except ChainError as exc:  # its slot holds a round not settled yet: this one cannot be entered
        raise CLIError(str(exc)) from None
    free = gw.account_info().free
    if free < r.params.min_stake and args.stake:
        waiter.message(f"depositing {fmt_eth(args.stake)} of stake")
        gw.deposit(args.stake)
        free = gw.account_info().free
    if args.max_stake is not None and free > args.max_stake:
        if gw.account_info().withdrawable:
            gw.withdraw()  # frees request slots (at most 8 pending)
        waiter.message(f"requesting the withdrawal of {fmt_eth(free - args.max_stake)} above --max-stake "
                       f"{fmt_eth(args.max_stake)}")
        gw.request_withdrawal(free - args.max_stake)


def _check_policy(args, rid: int, r) -> None:
    """CLIError (one line) if round `rid`'s terms fall outside --max-slash-bps, --max-agreement-bps or
    --min-reward."""
    pr = r.params
    if args.max_slash_bps is not None:
        rates = {"deviator": pr.deviator_slash_bps, "non-revealer": pr.non_reveal_slash_bps,
                 "audit-excluded": pr.audit_slash_bps}
        over = {name: bps for name, bps in rates.items() if bps > args.max_slash_bps}
        if over:
            shown = ", ".join(f"{name} {bps}" for name, bps in rates.items())
            raise CLIError(f"round {rid} slashes up to {max(over.values())} bps of the stake ({shown}), above "
                           f"--max-slash-bps {args.max_slash_bps}")
    if args.max_agreement_bps is not None and pr.agreement_bps > args.max_agreement_bps:
        raise CLIError(f"round {rid} asks for {pr.agreement_bps} bps of chance-corrected agreement, above "
                       f"--max-agreement-bps {args.max_agreement_bps}")
    if args.min_reward is not None and r.reward < args.min_reward:
        raise CLIError(f"round {rid} pays a reward of {fmt_eth(r.reward)}, below --min-reward {fmt_eth(args.min_reward)}")


def _check_can_join(gw: Gateway, rid: int) -> Status:
    """The sender's status in the round; CLIError if it is too late to join."""
    sub = gw.submission(rid)
    r = gw.round(rid)
    phase = r.phase
    if sub.status == Status.NONE and phase != Phase.COMMIT:
        raise CLIError(f"round {rid} is past its commit phase (now {phase.name.title()}, commit deadline was block "
                       f"time {r.commit_deadline}); too late to join")
    return sub.status


def _assess_round(args, gw: Gateway, rid: int, strategy, shard_X, shard_y):
    """Every check on joining round `rid` that can be made before a transaction (and before training):
    too late to join, the policy (--max-slash-bps, --max-agreement-bps, --min-reward, --max-stake), too little stake, shard labels outside the
    round's classes, a query file that cannot be fetched, does not match the round's hash, or has another
    feature count than the shard. Returns the verified query matrix (None if the strategy uses no model);
    CLIError (one line) if the round cannot be joined."""
    from .data import QueryHashMismatch, fetch_queries

    _check_can_join(gw, rid)
    r = gw.round(rid)
    pr = r.params
    _check_policy(args, rid, r)
    free = gw.account_info().free
    after = free + args.stake if args.stake and free < pr.min_stake else free
    if args.max_stake is not None:
        if args.max_stake < pr.min_stake:
            raise CLIError(f"--max-stake {fmt_eth(args.max_stake)} is below round {rid}'s minimum stake "
                           f"{fmt_eth(pr.min_stake)}")
        after = min(after, args.max_stake)  # _ensure_stake unbonds the rest
    if after < pr.min_stake:
        if not args.stake:
            raise CLIError(f"free stake {fmt_eth(free)} is below round {rid}'s minimum {fmt_eth(pr.min_stake)}: "
                           "pass --stake ETH to deposit first, or run `cl-client stake --amount ETH`")
        raise CLIError(f"--stake {fmt_eth(args.stake)} leaves the free stake below round {rid}'s minimum "
                       f"{fmt_eth(pr.min_stake)}")
    if not strategy.uses_model:
        return None
    if len(shard_y) and int(shard_y.max()) >= r.num_classes:
        raise CLIError(f"round {rid} has K={r.num_classes} classes (labels 0..{r.num_classes - 1}), but shard "
                       f"{args.shard} holds label {int(shard_y.max())}")
    uri = gw.queries_uri(rid)
    try:
        X = fetch_queries(uri, r.queries_hash)
    except QueryHashMismatch as exc:
        raise CLIError(f"round {rid}: {exc}") from None
    except (OSError, ValueError) as exc:  # FileNotFoundError, ConnectionError, a file that is not .npz
        raise CLIError(f"round {rid}: cannot fetch its queries from {uri}: {one_line(exc)}") from None
    if len(X) != r.num_queries:
        raise CLIError(f"round {rid} has {r.num_queries} queries, but its query file holds {len(X)}")
    if X.shape[1] != shard_X.shape[1]:
        raise CLIError(f"round {rid}'s queries have {X.shape[1]} features, but shard {args.shard} has "
                       f"{shard_X.shape[1]}")
    return X


def _unfinished_rounds(gw: Gateway, participant) -> list[int]:
    """Rounds this address has a journal for on this chain and contract that are not over yet (not claimed,
    not missed), oldest first. Every journal is opened, so one of another chain or deployment is refused
    here (JournalMismatch), before anything is sent."""
    from .journal import Journal, State

    pattern = f"{gw.chain_id}-{gw.address.lower()}-*-{gw.sender.lower()}.json"
    count, rids = gw.round_count(), []
    for path in participant.journal_dir.glob(pattern):
        rid = Journal.round_of(path)
        if rid is None:
            continue
        if not 1 <= rid <= count:
            raise CLIError(f"journal {path} is for round {rid}, which does not exist on this chain/deployment "
                           f"({count} round(s) opened); it belongs to another chain: move it away")
        if participant.journal(rid).state not in (State.CLAIMED, State.MISSED):
            rids.append(rid)
    return sorted(rids)


def _train(args, X, y, shard: Path, journal_dir: Path, waiter: Waiter):
    """The fitted model, from the model cache in the journal folder if this shard, model and seed were
    fitted before (`modelcache`), else trained now and cached."""
    from .modelcache import fit_cached
    from .models import Learner

    fit = lambda: Learner(estimator=args.model, random_state=args.seed).fit(X, y)  # noqa: E731
    try:
        learner, loaded = fit_cached(journal_dir, shard, args.model, args.seed, fit)
    except ValueError as exc:
        raise CLIError(f"cannot train {args.model!r} on {shard}: {one_line(exc)}") from None
    waiter.message(f"{'loaded' if loaded else 'trained'} {args.model} on {len(X)} examples from {shard}"
                   + (" (cached model)" if loaded else ""))
    return learner


WAIT_LABELS = {
    "committed": "committed; waiting for the reveal phase",
    "revealed": "revealed; waiting for the reveal (and audit) deadline",
    "not-revealed": "not revealing; waiting for the reveal (and audit) deadline",
    "waiting-finalize": "waiting for someone to finalize (or post)",
    "watching": "the post is checked honest; waiting for its challenge window",
}


def _play_round(participant, gw: Gateway, rid: int, waiter: "Waiter", timeout: float | None, queries=None) -> dict:
    """Participant.run_round, with the waits on block time shown by the Waiter."""

    def on_wait(state: str, start: int, target: int, now: int) -> None:
        waiter.wait(f"round {rid}: {WAIT_LABELS.get(state, state)}", start, target, now)

    return participant.run_round(rid, queries=queries, timeout=timeout, on_wait=on_wait)


def cmd_participate(args, out: Output) -> int:
    """Finish every unfinished round of this address's journals (reveal, finalize, claim: no model needed),
    then check, train (or load the cached model) and take part in the rounds asked for."""
    from . import data
    from .participant import Participant
    from .strategies import make_strategy

    gw = gateway(args, out, need_key=True)
    try:
        strategy = make_strategy(args.strategy)
    except ValueError as exc:
        raise CLIError(one_line(exc)) from None
    shard = Path(args.shard)
    if not shard.is_file():
        raise CLIError(f"shard file {shard} does not exist")
    try:
        X, y = data.load_shard(shard)
    except (OSError, ValueError, KeyError) as exc:
        raise CLIError(f"cannot load shard {shard}: {one_line(exc)}") from None
    reader = Participant(gw, None, strategy=strategy, journal_dir=args.journal_dir)
    gw.from_block  # noqa: B018 - with only --contract, the deployment block is searched for now, not in a phase
    resumed = _unfinished_rounds(gw, reader)  # a journal of another chain stops here, before anything is sent
    queries: dict[int, Any] = {}
    for rid in dict.fromkeys(_round_id(gw, rid) for rid in args.round or ()):  # fail fast: no deposit, no training
        if rid in resumed:
            continue
        reader.journal(rid)  # raises JournalCorrupt / JournalMismatch
        if _check_can_join(gw, rid) == Status.NONE:
            queries[rid] = _assess_round(args, gw, rid, strategy, X, y)
    new_rounds = bool(args.follow or queries or (args.rounds_from_now or 0) > len(resumed)
                      or any(rid not in resumed for rid in args.round or ()))
    summaries = []
    args.in_round = True  # from here on, an interrupted run resumes from the journal
    with Waiter(args.quiet) as waiter:
        gw.on_retry = waiter.message  # outages, replaced / re-sent transactions: above the progress bar

        def play(rid: int, learner, round_queries=None) -> None:
            participant = Participant(gw, learner, strategy=strategy, journal_dir=args.journal_dir,
                                      finalize=not args.no_finalize, rng=args.seed, settle=args.settle,
                                      progress=lambda event: waiter.message(str(event)))
            summary = _play_round(participant, gw, rid, waiter, args.timeout, round_queries)
            summary.pop("labels", None)
            summaries.append(summary)
            out.line(_summary_line(rid, summary))

        def admit(rid: int) -> bool:
            """The policy checks and the stake of a round not joined yet; False (a one-line skip) if it is
            outside them (an error with --round)."""
            if gw.submission(rid).status != Status.NONE:
                return True
            try:
                if rid not in queries:
                    queries[rid] = _assess_round(args, gw, rid, strategy, X, y)
                _ensure_stake(args, gw, rid, waiter)
            except CLIError as exc:
                if args.round:
                    raise
                queries.pop(rid, None)
                waiter.message(f"skipping round {rid}: {exc}")
                return False
            return True

        if args.single_calls:
            for rid in resumed:  # reveal from the journal before any training
                waiter.message(f"round {rid}: resuming from journal {reader.journal(rid).path}")
                play(rid, None)
            learner = None
            if new_rounds and strategy.uses_model:  # before waiting for rounds: no phase time is spent on it
                learner = _train(args, X, y, shard, reader.journal_dir, waiter)
            for rid in _rounds_to_play(args, gw, waiter, frozenset(resumed)) if new_rounds else ():
                if admit(rid):
                    play(rid, learner, queries.pop(rid, None))
        else:
            _participate_merged(args, gw, waiter, reader, resumed, new_rounds, strategy, X, y, shard, queries, admit,
                                summaries, out)
    out.put(address=gw.sender, rounds=summaries)
    return 0


class _RoundFeed:
    """The rounds `participate` asks for (`_rounds_to_play`'s), handed out as they are opened: `poll(block)`
    returns those opened since the last call; with `block` it waits (sleeping) until at least one is, or
    returns [] when no more are wanted."""

    def __init__(self, args, gw: Gateway, waiter: Waiter, resumed: frozenset[int]):
        self.gw, self.waiter = gw, waiter
        if args.round:
            self.wanted = [r for r in (_round_id(gw, r) for r in args.round) if r not in resumed]
            self.limit, self.next = len(self.wanted), None
        else:
            count = gw.round_count()
            self.next = count if count and gw.phase(count) == Phase.COMMIT else count + 1
            self.limit = None if args.follow else max(0, args.rounds_from_now - len(resumed))
        self.resumed, self.given = resumed, 0

    @property
    def exhausted(self) -> bool:
        """Every round asked for was handed out (never, under --follow)."""
        return not self.wanted if self.next is None else (self.limit is not None and self.given >= self.limit)

    def poll(self, block: bool) -> list[int]:
        if self.next is None:  # --round: all of them at once
            out, self.wanted = self.wanted, []
            self.given += len(out)
            return out
        out: list[int] = []
        while self.limit is None or self.given < self.limit:
            if self.next in self.resumed:
                self.next += 1
                continue
            if self.gw.round_count() < self.next:
                if out or not block:
                    break
                self.waiter.message(f"waiting for round {self.next} to be opened")
                while self.gw.round_count() < self.next:
                    time.sleep(self.gw.idle_interval)
            out.append(self.next)
            self.given += 1
            self.next += 1
        return out


def _participate_merged(args, gw: Gateway, waiter: Waiter, reader, resumed: list[int], new_rounds: bool, strategy,
                        X, y, shard: Path, queries: dict, admit, summaries: list, out: Output) -> None:
    """`participate` on the merged path: every live round of this address driven together
    (`participant.drive_rounds`), so that the claim, reveal and commit ready at once go in one submit, and a
    round opened while another is in its reveal phase (pipelined rounds) is joined meanwhile. Resumed rounds
    first reveal from the journal, before any training; new rounds are found between passes (`_RoundFeed`)."""
    from .journal import State
    from .participant import REVEAL_DONE, Participant, WaitClock, drive_rounds

    def on_wait(state: str, start: int, target: int, now: int) -> None:
        rid = clock.round_id
        waiter.wait(f"round {rid}: {WAIT_LABELS.get(state, state)}", start, target, now)

    def on_done(p, rid: int, state) -> None:
        summary = p.summary(rid)
        summary.pop("labels", None)
        summaries.append(summary)
        out.line(_summary_line(rid, summary))

    def participant(learner):
        return Participant(gw, learner, strategy=strategy, journal_dir=args.journal_dir,
                           finalize=not args.no_finalize, rng=args.seed, settle=args.settle,
                           progress=lambda event: waiter.message(str(event)))

    clock = WaitClock(gw, on_wait)
    for rid in resumed:
        waiter.message(f"round {rid}: resuming from journal {reader.journal(rid).path}")
    if resumed and new_rounds and strategy.uses_model:  # reveal what is due before training
        past_reveal = REVEAL_DONE | {State.FINALIZED, State.WAITING_FINALIZE, State.WATCHING, State.CLAIMED, State.DONE}
        drive_rounds([participant(None)], resumed, clock, done=past_reveal, timeout=args.timeout)
    learner = None
    if new_rounds and strategy.uses_model:  # before waiting for rounds: no phase time is spent on it
        learner = _train(args, X, y, shard, reader.journal_dir, waiter)
    feed = _RoundFeed(args, gw, waiter, frozenset(resumed)) if new_rounds else None

    def discover(block: bool) -> list[int] | None:
        if feed is not None and feed.exhausted:
            return None  # every round asked for was handed out: drive them without looking for more
        while feed is not None:
            offered = feed.poll(block)
            joined = [rid for rid in offered if admit(rid)]
            if joined or not offered or not block:  # blocking: wait on past skipped rounds
                return joined
        return []

    drive_rounds([participant(learner)], resumed, clock, queries=queries, timeout=args.timeout, on_done=on_done,
                 discover=discover, discover_seconds=max(1, int(gw.idle_interval)))


def _summary_line(rid: int, summary: dict) -> str:
    status = summary.get("status", "?")
    if status == "committed" and summary.get("phase") in ("finalized", "failed"):
        status = "non-revealer"
    text = f"round {rid}: {status}"
    if status in ("agreed", "deviated"):
        text += f" ({summary.get('matches')}/{summary.get('num_queries')} labels match the consensus)"
    if status in ("agreed", "deviated", "excluded") and summary.get("audit_count"):
        text += f" (audit {summary.get('audit_hits')}/{summary.get('audit_count')} right)"
    text += f"; round {summary.get('phase', '?')}; reward {fmt_eth(summary.get('reward', 0))}, " \
            f"penalty {fmt_eth(summary.get('penalty', 0))}"
    return text + ("; claimed" if summary.get("claimed") else "")


# ------------------------------------------------------------------------------------------ parser


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line `cl-client: error: ...` (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sub = self.prog.removeprefix(PROG).strip()
        where = f" {sub}" if sub else ""
        self.exit(EXIT_USAGE, f"{PROG}: error: {one_line(message)} (see `{PROG}{where} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    out_opts = argparse.ArgumentParser(add_help=False)
    g = out_opts.add_argument_group("output")
    g.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")
    g.add_argument("--quiet", "-q", action="store_true", help="no progress or notes on stderr")
    g.add_argument("--verbose", "-v", action="store_true", help="show tracebacks of errors")

    chain_opts = argparse.ArgumentParser(add_help=False)
    c = chain_opts.add_argument_group("chain")
    c.add_argument("--rpc-url", help=f"node URL, http(s):// or ws(s):// (env {ENV_RPC}; default: the node "
                                     f"recorded by `cl-client node`)")
    c.add_argument("--contract", help=f"contract address (env {ENV_CONTRACT}; default: deployments/<chainId>.json)")
    c.add_argument("--chain-id", type=int, help=f"refuse to run unless the node is on this chain (env {ENV_CHAIN_ID})")
    c.add_argument("--confirmations", type=int, help=f"blocks on top of a transaction before it counts "
                                                     f"(env {ENV_CONFIRMATIONS}; default 1)")
    c.add_argument("--from-block", type=int, help="first block to search for events (default: the deployment block)")
    c.add_argument("--deployments-dir", help="where <chainId>.json deployment records are (env CL_DEPLOYMENTS_DIR; "
                                             "default ./deployments)")
    c.add_argument("--state-file", help=f"`cl-client node` state file (env {ENV_STATE}; default {DEFAULT_STATE})")
    k = chain_opts.add_argument_group("key (never on the command line)")
    k.add_argument("--keystore", help="encrypted JSON keystore (env CL_KEYSTORE); else env CL_PRIVATE_KEY")
    k.add_argument("--password-file", help="file holding the keystore password (else env CL_KEYSTORE_PASSWORD)")

    parser = _Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add(name: str, fn: Callable, help_: str, chain: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, parents=[chain_opts, out_opts] if chain else [out_opts])
        p.set_defaults(fn=fn)
        return p

    p = add("node", cmd_node, "run a local Ganache (or Anvil) chain until Ctrl-C / SIGTERM", chain=False)
    p.add_argument("--backend", choices=BACKENDS, default=BACKENDS[0])
    p.add_argument("--port", type=positive_int, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--accounts", type=positive_int, default=10, help="funded test accounts (default 10)")
    p.add_argument("--block-time", type=float, default=1.0, help="seconds between blocks (default 1)")
    p.add_argument("--state-file", help=f"where to record URL, PIDs and test keys (env {ENV_STATE}; "
                                        f"default {DEFAULT_STATE})")
    p.add_argument("--log", help="write the node's output to this file")
    p.add_argument("--stop", action="store_true", help="stop the node recorded in the state file")
    p.add_argument("--env", type=int, metavar="I",
                   help="print `export` lines (CL_RPC_URL, CL_PRIVATE_KEY of test account I) for the running node")

    p = add("deploy", cmd_deploy, "deploy ConsensusLearning and record it in deployments/<chainId>.json")

    p = add("open-round", cmd_open_round, "publish a query batch and open a round on it")
    p.add_argument("--queries", required=True, help="FILE.npz (or .csv / .npy, converted to .npz next to it)")
    p.add_argument("--out", help="where to write the .npz made from a CSV / .npy file")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--uri", help="where participants fetch the file (default file://ABSOLUTE_PATH)")
    p.add_argument("--classes", type=positive_int, required=True, help="K: labels are 0..K-1")
    p.add_argument("--commit-seconds", type=positive_int, default=300, help="commit phase length (default 300)")
    p.add_argument("--reveal-seconds", type=positive_int, default=300, help="reveal phase length (default 300)")
    p.add_argument("--reward", type=eth_to_wei, default=0, help="reward in ETH paid with the call (default 0)")
    p.add_argument("--finalizer-fee", type=eth_to_wei, default=0, metavar="ETH",
                   help="paid on top of the reward to whoever settles the round (default 0)")
    a = p.add_argument_group("audit (hidden known-label queries; revealed later with `cl-client reveal-audit`)")
    a.add_argument("--audit-file", metavar="FILE", help="CSV (lines `query index,label`) or NPZ (arrays indices, "
                                                        "labels) of queries whose label you know")
    a.add_argument("--audit", type=positive_int, metavar="N",
                   help="how many of them to hide, drawn at random (default: all, at most 128)")
    a.add_argument("--audit-seconds", type=positive_int, metavar="S",
                   help="audit window after the reveal deadline (default: --reveal-seconds)")
    a.add_argument("--audit-journal", metavar="FILE", help="where to keep the audit secret (mode 0600; default "
                                                          "JOURNAL_DIR/audit-<chain>-<contract>-<you>-<commitment>.json)")
    a.add_argument("--journal-dir", help="the journal folder (env CL_JOURNAL_DIR; default ~/.cl-client/journal)")
    pr = p.add_argument_group("round parameters (default: the contract's defaults(); within its bounds())")
    for flag, name, help_ in (("--quorum-bps", "quorum_bps", "share of committed stake that must reveal"),
                              ("--agreement-bps", "agreement_bps", "chance-corrected agreement threshold"),
                              ("--audit-bound-bps", "audit_bound_bps", "audit share a revealer must get right"),
                              ("--audit-slash-bps", "audit_slash_bps", "slash of a revealer the audit excludes"),
                              ("--crowd-bps", "crowd_bps", "the crowd rule's crowd, a share of the revealers "
                                                           "(0: off): a wrong audit answer that many share is a "
                                                           "strike; strikes on 25 %% of the audit exclude"),
                              ("--deviator-slash-bps", "deviator_slash_bps", "slash of a deviator"),
                              ("--nonreveal-slash-bps", "non_reveal_slash_bps", "slash of a non-revealer")):
        pr.add_argument(flag, dest=name, type=_bps, metavar="BPS", help=help_)
    pr.add_argument("--min-revealers", type=positive_int, metavar="N", help="fewest revealers of a valid round")
    pr.add_argument("--min-stake", type=positive_eth, metavar="ETH", help="smallest free stake that may commit")

    p = add("reveal-audit", cmd_reveal_audit, "as requester, reveal a round's hidden audit in its Audit phase "
                                              "(waits for the phase)")
    p.add_argument("--round", type=positive_int, help="round id (default: the latest)")
    p.add_argument("--audit-journal", metavar="FILE", help="the audit secret written by open-round (default: found "
                                                          "in the journal folder by the round's commitment)")
    p.add_argument("--journal-dir", help="the journal folder (env CL_JOURNAL_DIR; default ~/.cl-client/journal)")
    p.add_argument("--timeout", type=float, default=None, help="give up waiting after this many wall seconds")

    p = add("abandon", cmd_abandon, "fail a round nobody finalized, 3 days after its last deadline")
    p.add_argument("--round", type=positive_int, help="round id (default: the latest)")

    p = add("participate", cmd_participate, "train on a shard and take part in rounds (commit, reveal, "
                                            "finalize, claim; resumable from the journal)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--round", type=positive_int, action="append", help="round id (repeatable)")
    which.add_argument("--rounds-from-now", type=positive_int, metavar="N",
                       help="the next N rounds (starting with the current one if it still takes commits)")
    which.add_argument("--follow", action="store_true", help="every round from now on, until Ctrl-C")
    p.add_argument("--shard", required=True, help="training data FILE.npz (X, y)")
    p.add_argument("--model", default="logistic_regression", help="estimator name (default logistic_regression)")
    p.add_argument("--strategy", default="honest", help="honest (default) or a Byzantine behaviour for experiments")
    p.add_argument("--journal-dir", help="where round state (salt, labels, tx hashes) is kept "
                                         "(env CL_JOURNAL_DIR; default ~/.cl-client/journal)")
    p.add_argument("--stake", type=positive_eth, metavar="ETH",
                   help="deposit this much first if the free stake is below the round's minimum")
    p.add_argument("--seed", type=int, default=None, help="random_state of the model")
    p.add_argument("--no-finalize", action="store_true", help="do not settle the round yourself (finalize or post)")
    p.add_argument("--settle", choices=("finalize", "post"), default="finalize",
                   help="how to settle a round without an audit: finalize on chain (default) or post its consensus "
                        "(optimistic: cheaper, claims wait for the challenge window; needs free stake for the "
                        "bond). Optimistic-only rounds are always posted; live posts are always checked")
    p.add_argument("--single-calls", action="store_true",
                   help="one round at a time, one transaction per commit, reveal and claim (default: the live "
                        "rounds together, with what is due at once in one submit transaction)")
    p.add_argument("--timeout", type=float, default=None,
                   help="give up after this many wall seconds (with --single-calls: per round)")
    pol = p.add_argument_group("policy (a round outside it is skipped under --follow / --rounds-from-now, an "
                               "error with --round)")
    pol.add_argument("--max-slash-bps", type=_bps, metavar="BPS",
                     help="join no round that can slash more than this share of the stake (basis points, "
                          "10000 = all; any of its deviator, non-revealer and audit rates)")
    pol.add_argument("--max-agreement-bps", type=_bps, metavar="BPS",
                     help="join no round whose (chance-corrected) agreement threshold is above this")
    pol.add_argument("--min-reward", type=eth_to_wei, metavar="ETH",
                     help="join no round whose reward is below this")
    pol.add_argument("--max-stake", type=positive_eth, metavar="ETH",
                     help="commit at most this much: a commit locks the whole free stake, so free stake above it "
                          "(claimed rewards included) is requested for withdrawal before committing")

    p = add("watch", cmd_watch, "check the posts of optimistic settlement against the reveals and refute a wrong "
                                "one (with --propose, also post the honest consensus of rounds nobody posted)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--round", type=positive_int, action="append", help="round id (repeatable; default: the "
                                                                              "latest)")
    which.add_argument("--follow", action="store_true", help="every round from the current one on, until Ctrl-C")
    p.add_argument("--propose", action="store_true", help="post the honest consensus of a finalizable round "
                                                         "without an audit that nobody posted (locks bondOf(round) "
                                                         "of your free stake until the post is confirmed)")
    p.add_argument("--timeout", type=float, default=None, help="give up after this many wall seconds")

    sub.add_parser("simulate", help="the consensus-learning simulation on a local chain it starts "
                                    "(what `make demo` runs; see `cl-client simulate --help`)", add_help=False)

    p = add("make-demo-data", cmd_make_demo_data, "write the README's demo data: queries.npz and shard-1..N.npz "
                                                  "from scikit-learn's digits", chain=False)
    p.add_argument("--out", default=".", help="folder to write to (default: the current one)")
    p.add_argument("--participants", type=positive_int, default=4, help="number of shards (default 4)")
    p.add_argument("--queries", type=positive_int, default=100, help="queries in the batch (default 100)")
    p.add_argument("--seed", type=int, default=0, help="shuffle and partition seed (default 0)")

    p = add("wait", cmd_wait, "wait for a state instead of sleeping: --node (the node of `cl-client node` "
                              "answers) or --phase PHASE of a round")
    p.add_argument("--node", action="store_true", help="wait until the node recorded in the state file answers")
    p.add_argument("--phase", choices=WAIT_PHASES, help="wait until the round has reached this phase "
                                                        "(settled: finalized or failed)")
    p.add_argument("--round", type=positive_int, help="round id (default: the latest)")
    p.add_argument("--timeout", type=float, default=None,
                   help="give up after this many wall seconds (default 60 for --node, 600 for --phase)")

    p = add("status", cmd_status, "show a round (phase, deadlines, counts) and your account")
    p.add_argument("--round", type=positive_int, help="round id (default: the latest)")

    p = add("claim", cmd_claim, "settle your part of a finalized round (stake and reward back to your free stake)")
    p.add_argument("--round", type=positive_int, help="round id (default: the latest)")
    p.add_argument("--refund", action="store_true", help="as requester, take back the reward of a failed round "
                                                         "or of one in which nobody agreed")

    p = add("stake", cmd_stake, "deposit stake")
    p.add_argument("--amount", type=positive_eth, required=True, metavar="ETH")

    p = add("withdraw", cmd_withdraw, "request a withdrawal of free stake, or --complete it after the delay")
    p.add_argument("--amount", type=positive_eth, metavar="ETH", help="default: all free stake")
    p.add_argument("--complete", action="store_true", help="send the matured requests once their delay is over")
    p.add_argument("--to", metavar="ADDRESS", help="with --complete: send to this address instead of yours")

    p = add("finalize", cmd_finalize, "finalize a round after its reveal deadline")
    p.add_argument("--round", type=positive_int, help="round id (default: the latest)")
    p.add_argument("--wait", action="store_true", help="wait for the reveal deadline first")
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cl-client")
    except PackageNotFoundError:
        return "unknown"


# ------------------------------------------------------------------------------------------ main


def _user_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [CLIError, ChainError, KeyLoadError, deployments.DeploymentError]
    for module, name in (("data", "QueryHashMismatch"), ("journal", "JournalCorrupt"), ("node", "NodeError"),
                         ("participant", "ParticipantError")):
        try:
            mod = __import__(f"{__package__}.{module}", fromlist=[name])
            errors.append(getattr(mod, name))
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["simulate"]:  # its own option set: see `cl-client simulate --help`
        from .sim.__main__ import main as simulate

        return simulate(argv[1:], prog="cl-client simulate")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    out = Output(args.json, args.quiet)
    try:
        code = args.fn(args, out)
        out.flush()
        return code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted" + ("; run the same command again to resume from the journal"
                                         if getattr(args, "in_round", False) else ""), file=sys.stderr)
        return EXIT_INTERRUPTED
    except ContractError as exc:
        return _fail(args, explain(exc))
    except ChainError as exc:
        hint = ("; the journal keeps the round's state: run the same command again to resume"
                if getattr(args, "in_round", False) else "")
        return _fail(args, f"{exc}{hint}")
    except _user_errors() as exc:
        return _fail(args, str(exc) or type(exc).__name__)
    except FileNotFoundError as exc:
        return _fail(args, f"{exc.filename or exc}: no such file")
    except (OSError, ValueError) as exc:
        return _fail(args, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - a bug: still one line unless --verbose
        return _fail(args, f"unexpected {type(exc).__name__}: {exc} (run with --verbose for the traceback)")


def _fail(args, message: str) -> int:
    if getattr(args, "verbose", False):
        traceback.print_exc()
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr, flush=True)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
