"""A standalone local chain (Ganache, or Anvil) for demos, tests and separate participant processes.

The node listens on 127.0.0.1 only, on a free port, with known funded test keys, mines a block every
`block_time` seconds (so block timestamps advance while participants wait), and is stopped by its PID.

    with LocalNode(backend="ganache", accounts=8) as node:
        node.url, node.keys[0]   # http://127.0.0.1:PORT, 32-byte private key
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from eth_account import Account
from eth_utils import keccak

DEFAULT_BALANCE_ETH = 1_000
HARDFORK = "shanghai"  # what ganache 7.9.2 supports and what the contracts are compiled for
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
                 gas_limit: int = 30_000_000, log_path: str | Path | None = None):
        if backend not in ("ganache", "anvil"):
            raise ValueError(f"backend must be 'ganache' or 'anvil', got {backend!r}")
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
        exe = _project_bin("anvil")
        if exe is None:
            raise NodeError("anvil not found; run `make setup` (npm ci installs @foundry-rs/anvil-linux-amd64)")
        cmd = [exe, "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(CHAIN_ID),
               "--hardfork", HARDFORK, "--gas-limit", str(self.gas_limit), "--accounts", "0",
               "--balance", str(self.balance_eth), "--silent"]
        if self.block_time:
            cmd += ["--block-time", str(max(1, int(self.block_time)))]
        return cmd

    def start(self, timeout: float = 60.0) -> "LocalNode":
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
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

    def info(self) -> dict:
        return {"backend": self.backend, "url": self.url, "pid": self.pid, "chain_id": CHAIN_ID,
                "accounts": [{"address": a, "private_key": "0x" + k.hex()} for a, k in zip(self.addresses, self.keys)]}

    def write_info(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.info(), indent=1))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    # time control for simulations on a dev chain (participants themselves only ever wait)
    def increase_time(self, seconds: int) -> None:
        self._rpc("evm_increaseTime", [int(seconds)])
        self._rpc("evm_mine", [])

    def __enter__(self) -> "LocalNode":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
