"""Where the contract lives on each chain: deployments/<chainId>.json.

Both `cl-client deploy` and `brownie run scripts/deploy.py` write the file through `record()`, and every
client command reads it through `load()` when no address is given, so there is one format:

    {"contract": "ConsensusLearning", "address": "0x...", "chain_id": 11155111, "block": 123,
     "block_hash": "0x...", "tx_hash": "0x...", "deployer": "0x...", "abi_hash": "0x...",
     "runtime_code_hash": "0x...", "timestamp": 1700000000, "recorded_at": "2024-...Z", "tool": "cl-client"}

`abi_hash` is keccak256 of the canonical JSON of the ABI (entries sorted); `record()` refuses an ABI or on-chain code that
differs from what cl_client ships (cl_client/abi, written by `python tools/export_abi.py`), because clients
could not talk to such a contract. `block_hash` lets `check_chain()` notice that a local chain with the
same chain id was restarted and the recorded contract is gone.

The directory is `deployments/` under the current directory, or $CL_DEPLOYMENTS_DIR, or an argument.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_utils import keccak, to_checksum_address

from .chain import ChainError, artifact, check_code_at

ENV_DIR = "CL_DEPLOYMENTS_DIR"
DEFAULT_DIR = "deployments"
CONTRACT = "ConsensusLearning"


class DeploymentError(ValueError):
    """A deployment record is missing, malformed or does not fit this client or chain (one-line message)."""


@dataclass(frozen=True)
class Deployment:
    address: str
    chain_id: int
    block: int
    block_hash: str
    tx_hash: str | None
    deployer: str
    abi_hash: str
    runtime_code_hash: str
    timestamp: int
    recorded_at: str
    tool: str
    contract: str = CONTRACT


def abi_hash(abi: list) -> str:
    """keccak256 of the ABI as canonical JSON, 0x-hex: entries sorted (tools do not keep one order), keys
    sorted, no spaces, and no name on the constructor (Brownie adds one)."""
    def canonical(entry: dict) -> str:
        if entry.get("type") in ("constructor", "fallback", "receive"):  # Brownie names its constructor
            entry = {k: v for k, v in entry.items() if k != "name"}
        return json.dumps(entry, sort_keys=True, separators=(",", ":"))

    entries = sorted(canonical(entry) for entry in abi)
    return "0x" + keccak(text="[" + ",".join(entries) + "]").hex()


def packaged_abi_hash() -> str:
    return abi_hash(artifact()["abi"])


def deployments_dir(directory: str | Path | None = None) -> Path:
    return Path(directory or os.environ.get(ENV_DIR) or DEFAULT_DIR)


def path_for(chain_id: int, directory: str | Path | None = None) -> Path:
    return deployments_dir(directory) / f"{int(chain_id)}.json"


def _hex(value) -> str:
    if isinstance(value, str):
        return value if value.startswith("0x") else "0x" + value
    return "0x" + bytes(value).hex()


def record(w3, address: str, deployer: str, *, abi: list | None = None, tx_hash=None, block: int | None = None,
           tool: str = "cl-client", directory: str | Path | None = None) -> Path:
    """Check the contract at `address` on `w3`'s chain and write deployments/<chainId>.json.

    `abi` is the ABI the deployer compiled against (Brownie's); it must equal cl_client's packaged ABI.
    The block is taken from the receipt of `tx_hash`, or given as `block`.
    """
    if abi is not None and abi_hash(abi) != packaged_abi_hash():
        raise DeploymentError("the deployed ABI differs from cl_client/abi/ConsensusLearning.json; "
                              "run `python tools/export_abi.py` after `brownie compile`")
    address = to_checksum_address(address)
    try:
        code_hash = check_code_at(lambda a: bytes(w3.eth.get_code(a)), address)
    except ChainError as exc:
        raise DeploymentError(f"{exc}; if you rebuilt the contract, run `python tools/export_abi.py` after "
                              "`brownie compile`") from None
    if tx_hash is not None:
        receipt = w3.eth.get_transaction_receipt(tx_hash)
        block = int(receipt["blockNumber"])
        tx_hash = _hex(tx_hash)
    if block is None:
        raise DeploymentError("record() needs the deployment's tx_hash or block")
    header = w3.eth.get_block(int(block))
    chain_id = int(w3.eth.chain_id)
    dep = Deployment(
        address=address, chain_id=chain_id, block=int(block), block_hash=_hex(header["hash"]), tx_hash=tx_hash,
        deployer=to_checksum_address(deployer), abi_hash=packaged_abi_hash(), runtime_code_hash=code_hash,
        timestamp=int(header["timestamp"]), recorded_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        tool=tool,
    )
    return write(dep, directory)


def write(dep: Deployment, directory: str | Path | None = None) -> Path:
    path = path_for(dep.chain_id, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(dep), indent=1) + "\n")
    os.replace(tmp, path)
    return path


def load(chain_id: int, directory: str | Path | None = None) -> Deployment:
    """The recorded deployment for `chain_id`; DeploymentError if there is none or it does not fit."""
    path = path_for(chain_id, directory)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DeploymentError(f"no deployment recorded for chain {chain_id} ({path} does not exist); "
                              "give --contract ADDRESS, set CL_CONTRACT, or run `cl-client deploy`") from None
    except (OSError, ValueError) as exc:
        raise DeploymentError(f"cannot read {path}: {exc}") from None
    try:
        dep = Deployment(**data)
        dep = Deployment(**{**asdict(dep), "address": to_checksum_address(dep.address),
                            "chain_id": int(dep.chain_id), "block": int(dep.block)})
    except (TypeError, ValueError) as exc:
        raise DeploymentError(f"{path} is not a deployment record ({exc})") from None
    if dep.chain_id != int(chain_id):
        raise DeploymentError(f"{path} is for chain {dep.chain_id}, not {chain_id}")
    if dep.abi_hash != packaged_abi_hash():
        raise DeploymentError(f"{path} records a contract with another ABI than this cl_client's "
                              "(redeploy, or update cl_client)")
    return dep


def check_chain(dep: Deployment, w3) -> None:
    """Raise DeploymentError if the chain's block `dep.block` is not the recorded one (chain was reset)."""
    header = w3.eth.get_block(dep.block) if dep.block <= w3.eth.block_number else None
    if header is None or _hex(header["hash"]) != dep.block_hash:
        raise DeploymentError(f"the recorded deployment {dep.address} (block {dep.block}) is not on this chain "
                              f"{dep.chain_id} any more (was the local node restarted?); redeploy with "
                              "`cl-client deploy`")
