"""A standalone local chain (Ganache, Anvil or a Hardhat 2 node) for demos, tests and separate participant
processes.

The node listens on 127.0.0.1 only, on a free port, with known funded test keys, mines a block every
`block_time` seconds (so block timestamps advance while participants wait), and is stopped by its PID.

    with LocalNode(backend="ganache", accounts=8) as node:
        node.url, node.keys[0]   # http://127.0.0.1:PORT, 32-byte private key

`cl-client node` keeps one running with a `Supervisor`, which records it in a state file (a `NodeRecord`:
URL, PIDs, test keys; mode 0600) that other commands and `cl-client node --stop` read.

BACKENDS and HARDFORK are the one list of local backends and the one hardfork name: the CLI, the
simulation and tools/brownie_net.py import them (brownie-config.yaml's compiler.evm_version is pinned to
HARDFORK by a test).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable

from eth_account import Account
from eth_utils import keccak

from .files import write_private

BACKENDS = ("ganache", "anvil", "hardhat")
HARDHAT_CONFIG = Path(__file__).resolve().parent.parent / "tools" / "hardhat.config.js"  # reads CL_HARDHAT_*
HARDFORK = "shanghai"  # what ganache 7.9.2 supports and what the contracts are compiled for
DEFAULT_BALANCE_ETH = 1_000
CHAIN_ID = 1337


class NodeError(RuntimeError):
    """The local node could not be started."""


def test_key(index: int, seed: str = "cl-test") -> bytes:
    """Deterministic, publicly known private key number `index` (never use on a real network)."""
    return keccak(text=f"{seed}-{index}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _project_bin(name: str) -> str | None:
    here = Path(__file__).resolve().parent.parent / "node_modules" / ".bin" / name
    return str(here) if here.exists() else shutil.which(name)


class LocalNode:
    """Start a local chain; `stop()` (or leaving the `with` block) ends it by PID."""

    def __init__(self, backend: str = "ganache", accounts: int = 10, *, port: int | None = None,
                 block_time: float = 1.0, balance_eth: int = DEFAULT_BALANCE_ETH, seed: str = "cl-test",
                 gas_limit: int = 30_000_000, log_path: str | Path | None = None, hardfork: str = HARDFORK):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
        if hardfork != HARDFORK and backend != "anvil":
            raise ValueError(f"only anvil runs another hardfork than {HARDFORK} (e.g. prague, today's fee rules)")
        self.hardfork = hardfork
        self.backend = backend
        self.keys = [test_key(i, seed) for i in range(int(accounts))]
        self.addresses = [Account.from_key(k).address for k in self.keys]
        self.port = int(port) if port else free_port()
        self.block_time = block_time
        self.balance_eth = int(balance_eth)
        self.gas_limit = int(gas_limit)
        self.log_path = Path(log_path) if log_path else None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.backend == "ganache":
            exe = _project_bin("ganache")
            if exe is None:
                raise NodeError("ganache not found; run `make setup` (npm ci installs it into node_modules)")
            cmd = [exe, "--server.host", "127.0.0.1", "--server.port", str(self.port),
                   "--chain.chainId", str(CHAIN_ID), "--chain.hardfork", HARDFORK,
                   "--miner.blockGasLimit", str(self.gas_limit), "--logging.quiet"]
            if self.block_time:
                cmd += ["--miner.blockTime", str(self.block_time)]
            wei = self.balance_eth * 10**18
            for key in self.keys:
                cmd += ["--wallet.accounts", f"0x{key.hex()},{wei}"]
            return cmd
        if self.backend == "hardhat":
            exe = _project_bin("hardhat")
            if exe is None or not HARDHAT_CONFIG.exists():
                raise NodeError("hardhat not found; run `make setup` (npm ci installs hardhat 2 into node_modules; "
                                "its configuration is tools/hardhat.config.js in a checkout)")
            return [exe, "--config", str(HARDHAT_CONFIG), "node", "--hostname", "127.0.0.1", "--port", str(self.port)]
        exe = _project_bin("anvil")
        if exe is None:
            raise NodeError("anvil not found; run `make setup` (npm ci installs @foundry-rs/anvil-linux-amd64)")
        cmd = [exe, "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(CHAIN_ID),
               "--hardfork", self.hardfork, "--gas-limit", str(self.gas_limit), "--accounts", "0",
               "--balance", str(self.balance_eth), "--silent"]
        if self.block_time:
            cmd += ["--block-time", str(max(1, int(self.block_time)))]
        return cmd

    def environment(self) -> dict[str, str]:
        """Variables the node process needs beside the command line (Hardhat reads its accounts, block time,
        gas limit, chain id and hardfork from them: tools/hardhat.config.js)."""
        if self.backend != "hardhat":
            return {}
        wei = str(self.balance_eth * 10**18)
        return {"CL_HARDHAT_ACCOUNTS": json.dumps([{"privateKey": "0x" + k.hex(), "balance": wei} for k in self.keys]),
                "CL_HARDHAT_BLOCK_TIME": str(self.block_time or 0), "CL_HARDHAT_GAS_LIMIT": str(self.gas_limit),
                "CL_HARDHAT_CHAIN_ID": str(CHAIN_ID), "CL_HARDHAT_HARDFORK": HARDFORK,
                "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}

    def start(self, timeout: float = 60.0) -> "LocalNode":
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True,
                                        env={**os.environ, **self.environment()})
        try:
            self._wait_ready(timeout)
            if self.backend == "anvil":
                self._fund_anvil()
        except BaseException:
            self.stop()
            raise
        return self

    def _rpc(self, method: str, params: list) -> object:
        import requests

        reply = requests.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                              timeout=5).json()
        if "error" in reply:
            raise NodeError(f"{method}: {reply['error']}")
        return reply["result"]

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NodeError(f"{self.backend} exited with code {self.process.returncode} while starting")
            try:
                self._rpc("eth_chainId", [])
                return
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.2)
        raise NodeError(f"{self.backend} did not answer on {self.url} within {timeout:.0f} s")

    def _fund_anvil(self) -> None:
        wei = hex(self.balance_eth * 10**18)
        for address in self.addresses:
            self._rpc("anvil_setBalance", [address, wei])

    def stop(self) -> None:
        """Stop the node we started (by PID and its process group); idempotent."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def record(self, **extra) -> "NodeRecord":
        """What the state file holds about this node (`extra`: supervisor_pid, block_time, started_at)."""
        return NodeRecord(backend=self.backend, url=self.url, pid=self.pid, chain_id=CHAIN_ID,
                          accounts=[{"address": a, "private_key": "0x" + k.hex()}
                                    for a, k in zip(self.addresses, self.keys)], **extra)

    # time control for simulations on a dev chain (participants themselves only ever wait)
    def increase_time(self, seconds: int) -> None:
        self._rpc("evm_increaseTime", [int(seconds)])
        self._rpc("evm_mine", [])

    def __enter__(self) -> "LocalNode":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def port_is_free(port: int) -> bool:
    """Whether `port` on 127.0.0.1 can be listened on now."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", int(port)))
        except OSError:
            return False
    return True


# ------------------------------------------------------------------------------ processes, by PID


SUPERVISOR_WORDS = ("cl-client", "cl_client")  # in the command line of a `cl-client node` supervisor
NODE_WORDS = BACKENDS  # in the command line of the node process itself


def pid_alive(pid: int | None) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        with open(f"/proc/{int(pid)}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{int(pid)}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""  # not Linux, or gone: cannot check, trust the PID


def is_ours(pid: int | None, words: tuple[str, ...]) -> bool:
    """Whether `pid` is alive and (where /proc tells) its command line holds one of `words`, so that a PID
    recorded long ago and since reused by an unrelated process is never signalled."""
    if not pid_alive(pid):
        return False
    cmd = _cmdline(pid)
    return cmd == "" or any(w in cmd for w in words)


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)


# ------------------------------------------------------------------------------ the state file


@dataclass
class NodeRecord:
    """The state file of a node kept up by `cl-client node`: JSON, mode 0600, written atomically."""

    backend: str = ""
    url: str = ""
    pid: int | None = None  # the node process (leader of its own process group)
    chain_id: int = CHAIN_ID
    accounts: list[dict] = field(default_factory=list)  # [{"address", "private_key"}]: TEST keys
    supervisor_pid: int | None = None  # the `cl-client node` process that keeps it up
    block_time: float | None = None
    started_at: int | None = None

    @classmethod
    def read(cls, path: str | Path) -> "NodeRecord | None":
        """The record in `path`; None if there is none; NodeError if it cannot be read."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise NodeError(f"cannot read node state file {path}: {exc}") from None
        if not isinstance(data, dict):
            raise NodeError(f"cannot read node state file {path}: not a JSON object")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def write(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, json.dumps(asdict(self), indent=1).encode())

    def running(self) -> bool:
        """Whether its supervisor or the node itself is still up."""
        return is_ours(self.supervisor_pid, SUPERVISOR_WORDS) or is_ours(self.pid, NODE_WORDS)

    def private_key(self, index: int) -> str:
        if not 0 <= index < len(self.accounts):
            raise NodeError(f"the node has test accounts 0..{len(self.accounts) - 1}, not {index}")
        return self.accounts[index]["private_key"]

    def stop(self) -> bool:
        """Stop the recorded node by PID; False if neither it nor its supervisor was running.

        The supervisor gets SIGTERM first (it stops the node and removes the state file); if it is gone
        (killed) or does not finish within 15 s, the node's process group gets SIGTERM, then SIGKILL."""
        stopped = False
        if is_ours(self.supervisor_pid, SUPERVISOR_WORDS):
            os.kill(int(self.supervisor_pid), signal.SIGTERM)
            _wait_gone(self.supervisor_pid, 15)
            stopped = True
        if is_ours(self.pid, NODE_WORDS):
            try:
                os.killpg(int(self.pid), signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                os.kill(int(self.pid), signal.SIGTERM)
            _wait_gone(self.pid, 10)
            if pid_alive(self.pid):
                os.killpg(int(self.pid), signal.SIGKILL)
            stopped = True
        return stopped


# ------------------------------------------------------------------------------ supervision


class _Signalled(Exception):
    """SIGTERM or SIGINT reached a Supervisor."""


class Supervisor:
    """Keep a LocalNode up until SIGTERM / SIGINT, recorded in the state file `path` meanwhile.

    run() starts the node, writes its NodeRecord (with this process as supervisor_pid), calls
    on_ready(record), and then watches the node. On the first SIGTERM / SIGINT it calls on_stop() and
    returns; NodeError if the node cannot start or exits on its own. Either way the node is stopped by PID,
    the state file removed if it is still ours, and the signal handlers restored; signals that arrive
    during that clean-up are ignored, so a second Ctrl-C cannot leave the node running.
    """

    def __init__(self, node: LocalNode, path: str | Path, *, poll: float = 0.5):
        self.node, self.path, self.poll = node, Path(path), poll
        self._cleaning = False

    def _on_signal(self, signum, frame) -> None:  # noqa: ARG002
        if not self._cleaning:
            self._cleaning = True
            raise _Signalled()

    def run(self, on_ready: Callable[[NodeRecord], None], on_stop: Callable[[], None] | None = None) -> None:
        old = {}
        try:
            for s in (signal.SIGTERM, signal.SIGINT):
                old[s] = signal.signal(s, self._on_signal)
            self.node.start()
            record = self.node.record(supervisor_pid=os.getpid(), block_time=self.node.block_time,
                                      started_at=int(time.time()))
            record.write(self.path)
            on_ready(record)
            while True:
                time.sleep(self.poll)
                if self.node.process is None or self.node.process.poll() is not None:
                    raise NodeError(f"the {self.node.backend} node exited unexpectedly")
        except _Signalled:
            if on_stop is not None:
                on_stop()
        finally:
            self._cleaning = True
            try:
                self.node.stop()
                try:
                    current = NodeRecord.read(self.path)
                except NodeError:
                    current = None
                if current and current.supervisor_pid == os.getpid():
                    self.path.unlink(missing_ok=True)
            finally:
                for s, handler in old.items():
                    signal.signal(s, handler)
