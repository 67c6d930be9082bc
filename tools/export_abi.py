#!/usr/bin/env python3
"""Copy what participants need from Brownie's build into the cl_client package.

    python tools/export_abi.py          write cl_client/abi/ConsensusLearning.json from build/
    python tools/export_abi.py --check  exit 1 if the packaged file is stale against build/

Participants run cl_client with plain web3.py, so the ABI, the creation bytecode (for `cl-client deploy`)
and the hash of the runtime bytecode (to recognise the contract at an address) ship with the package.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from eth_utils import keccak

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "contracts" / "ConsensusLearning.json"
PACKAGED = ROOT / "cl_client" / "abi" / "ConsensusLearning.json"


def packaged_from_build() -> dict:
    build = json.loads(BUILD.read_text())
    runtime = bytes.fromhex(build["deployedBytecode"].removeprefix("0x"))
    return {
        "contractName": build["contractName"],
        "compiler": build["compiler"],
        "abi": build["abi"],
        "bytecode": "0x" + build["bytecode"].removeprefix("0x"),
        "deployedBytecodeHash": "0x" + keccak(runtime).hex(),
    }


def main(argv: list[str]) -> int:
    if not BUILD.exists():
        print(f"export_abi: {BUILD.relative_to(ROOT)} missing; run `brownie compile` first", file=sys.stderr)
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
