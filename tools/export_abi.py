#!/usr/bin/env python3
"""Copy what participants need from Brownie's build into the cl_client package.

    python tools/export_abi.py          write cl_client/abi/ConsensusLearning.json from build/
    python tools/export_abi.py --check  exit 1 if the packaged file is stale against build/

Participants run cl_client with plain web3.py, so the ABI, the creation bytecode (for `cl-client deploy`)
and the hashes of the runtime bytecode of both halves (ConsensusLearning and the ConsensusLearningSettlement
its constructor creates, to recognise the contract at an address) ship with the package.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from eth_utils import keccak

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "contracts" / "ConsensusLearning.json"
SETTLEMENT_BUILD = BUILD.with_name("ConsensusLearningSettlement.json")
PACKAGED = ROOT / "cl_client" / "abi" / "ConsensusLearning.json"


def runtime_hash(build: dict) -> str:
    return "0x" + keccak(bytes.fromhex(build["deployedBytecode"].removeprefix("0x"))).hex()


def packaged_from_build() -> dict:
    build = json.loads(BUILD.read_text())
    return {
        "contractName": build["contractName"],
        "compiler": build["compiler"],
        "abi": build["abi"],
        "bytecode": "0x" + build["bytecode"].removeprefix("0x"),
        "deployedBytecodeHash": runtime_hash(build),
        "settlementBytecodeHash": runtime_hash(json.loads(SETTLEMENT_BUILD.read_text())),
    }


def main(argv: list[str]) -> int:
    missing = [b for b in (BUILD, SETTLEMENT_BUILD) if not b.exists()]
    if missing:
        print(f"export_abi: {missing[0].relative_to(ROOT)} missing; run `brownie compile` first", file=sys.stderr)
        return 1
    want = json.dumps(packaged_from_build(), indent=1, sort_keys=True) + "\n"
    if "--check" in argv:
        if not PACKAGED.exists() or PACKAGED.read_text() != want:
            print("export_abi: cl_client/abi/ConsensusLearning.json is stale; run `python tools/export_abi.py`",
                  file=sys.stderr)
            return 1
        return 0
    PACKAGED.parent.mkdir(parents=True, exist_ok=True)
    if not PACKAGED.exists() or PACKAGED.read_text() != want:
        PACKAGED.write_text(want)
        print(f"export_abi: wrote {PACKAGED.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
