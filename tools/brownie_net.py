#!/usr/bin/env python3
"""Brownie network plumbing for the project's make targets.

    brownie_net.py configure
        Make ~/.brownie's `ganache-cli` network launch Ganache with the hardfork the contracts are
        compiled for (cl_client.node.HARDFORK) and a mainnet-sized block gas limit, give the default
        `development` network (Anvil) the same block gas limit and accounts, and register the live
        network `sepolia-env` whose RPC URL is read from $CL_SEPOLIA_RPC_URL when Brownie connects.
        Idempotent.

    brownie_net.py run [--backend BACKEND] [--hardfork NAME] -- COMMAND ...
        Register a throw-away development network on a free 127.0.0.1 port, run
        `COMMAND ... --network <that network>`, and remove the entry afterwards. Brownie launches the
        node itself and stops it when COMMAND ends, so parallel runs never share a chain or a port.
        BACKEND is one of cl_client.node.BACKENDS (default: the first, ganache). --hardfork runs the node
        under another hardfork's rules than the contracts are compiled for (default: the same,
        cl_client.node.HARDFORK); e.g. `--backend anvil --hardfork prague` for today's mainnet fee rules
        (EIP-7623's calldata floor), which Ganache does not have.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import fcntl
import importlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from cl_client.node import BACKENDS, HARDFORK

# Brownie's launcher (its `cmd`) for each of cl_client.node.BACKENDS (a test checks the two lists match)
# (Brownie's hardhat launcher writes a hardhat.config.js into the working directory unless a parent folder has one)
BROWNIE_CMD = {"ganache": "ganache-cli", "anvil": "anvil", "hardhat": "npx hardhat --config tools/hardhat.config.js node"}
BLOCK_GAS_LIMIT = 30_000_000
ACCOUNTS = 20
MNEMONIC = "brownie"  # brownie's default: the same ten funded test accounts every time


def _config_path() -> Path:
    importlib.import_module("brownie._config")  # creates ~/.brownie/network-config.yaml on first import

    return Path.home() / ".brownie" / "network-config.yaml"


@contextlib.contextmanager
def _locked_config():
    """Yield the parsed network config under an exclusive lock; write it back if changed."""
    path = _config_path()
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        before = path.read_text()
        data = yaml.safe_load(before)
        yield data
        after = yaml.safe_dump(data, sort_keys=False)
        if yaml.safe_load(after) != yaml.safe_load(before):
            tmp = path.with_suffix(".tmp")
            tmp.write_text(after)
            os.replace(tmp, path)


# Public testnets reached through an RPC URL taken from the environment. Brownie keeps the host string
# as written and expands `$VAR` with os.path.expandvars when it connects (brownie/network/web3.py,
# _expand_environment_vars), failing with "Unable to expand environment variable in host setting" if
# the variable is unset -- so no URL (which often embeds an API key) is ever written to the config.
LIVE_GROUP = "Ethereum"
LIVE_NETWORKS = [
    {"name": "Sepolia ($CL_SEPOLIA_RPC_URL)", "id": "sepolia-env", "chainid": 11155111,
     "host": "$CL_SEPOLIA_RPC_URL", "explorer": "https://api-sepolia.etherscan.io/api"},
]


def configure() -> None:
    with _locked_config() as data:
        for net in data["development"]:
            if net["id"] == "ganache-cli":
                net["cmd_settings"].update(
                    evm_version=HARDFORK, gas_limit=BLOCK_GAS_LIMIT, accounts=ACCOUNTS
                )
            elif net["id"] == "development":
                # Brownie's default network (Anvil, for a plain `brownie test`): the same block gas limit
                # and number of accounts as the Ganache runs (its stock 12M block is below what the tests
                # send). Anvil's own hardfork already runs shanghai bytecode.
                net.setdefault("cmd_settings", {}).update(gas_limit=BLOCK_GAS_LIMIT, accounts=ACCOUNTS)
        groups = data.setdefault("live", [])
        group = next((g for g in groups if g.get("name") == LIVE_GROUP), None)
        if group is None:
            group = {"name": LIVE_GROUP, "networks": []}
            groups.append(group)
        nets = group.setdefault("networks", [])
        for want in LIVE_NETWORKS:
            at = next((i for i, n in enumerate(nets) if n.get("id") == want["id"]), None)
            if at is None:
                nets.append(copy.deepcopy(want))
            else:
                nets[at] = copy.deepcopy(want)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PRAGUE = "prague"  # today's mainnet rules for `make bench` (EIP-7623); Anvil only
HARDFORKS = {"ganache": (HARDFORK,), "anvil": (HARDFORK, "cancun", PRAGUE), "hardhat": (HARDFORK,)}
"""The hardforks each backend is launched with here (the contracts are compiled for HARDFORK; Ganache 7 stops at
shanghai)."""


def _entry(backend: str, port: int, hardfork: str | None = None) -> dict:
    fork = hardfork or HARDFORK
    if fork not in HARDFORKS[backend]:
        raise ValueError(f"{backend} runs one of {', '.join(HARDFORKS[backend])} here, not {fork!r}")
    settings = {"port": port, "gas_limit": BLOCK_GAS_LIMIT, "accounts": ACCOUNTS, "evm_version": fork}
    if backend == "ganache":
        settings["mnemonic"] = MNEMONIC
    # anvil only accepts a BIP-39 mnemonic ("brownie" is rejected): it keeps its own funded accounts.
    return {"name": f"throw-away {backend} ({fork}) :{port}", "id": f"cl-{backend}-{port}", "cmd": BROWNIE_CMD[backend],
            "host": "http://127.0.0.1", "timeout": 120, "cmd_settings": settings}


@contextlib.contextmanager
def temp_network(backend: str = BACKENDS[0], hardfork: str | None = None):
    """Register a throw-away development network on a free port for the duration of the block and
    yield its id; the entry is removed afterwards (also what `run` uses). `hardfork`: the node's rules
    (default HARDFORK; see HARDFORKS).

    The entry goes to ~/.brownie/network-config.yaml (for subprocesses) and, if Brownie is already
    loaded in this process, to its in-memory config too, so `brownie.network.connect(net_id)` launches
    the node (and `brownie.network.disconnect()` stops it)."""
    entry = _entry(backend, free_port(), hardfork)
    with _locked_config() as data:
        data["development"].append(entry)
    loaded = sys.modules.get("brownie._config")
    if loaded is not None:
        loaded.CONFIG.networks[entry["id"]] = copy.deepcopy(entry)
    try:
        yield entry["id"]
    finally:
        if loaded is not None:
            loaded.CONFIG.networks.pop(entry["id"], None)
        with _locked_config() as data:
            data["development"] = [n for n in data["development"] if n["id"] != entry["id"]]


def run(backend: str, command: list[str], hardfork: str | None = None) -> int:
    with temp_network(backend, hardfork) as net_id:
        try:
            return subprocess.call(command + ["--network", net_id])
        except KeyboardInterrupt:
            return 130


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("configure")
    p_run = sub.add_parser("run")
    p_run.add_argument("--backend", choices=BACKENDS, default=BACKENDS[0])
    p_run.add_argument("--hardfork", default=None, help=f"the node's hardfork (default {HARDFORK})")
    p_run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.action == "configure":
        configure()
        return 0
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("run: give the command to run after --")
    try:
        return run(args.backend, command, args.hardfork)
    except ValueError as exc:
        parser.error(f"run: {exc}")


if __name__ == "__main__":
    sys.exit(main())
