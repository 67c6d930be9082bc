"""The two halves of the protocol share one storage: ConsensusLearning runs ConsensusLearningSettlement's code by
delegatecall on its own storage, so a state variable declared in either half (or a change of inheritance order)
would make the settlement half read and write the wrong slots. solc's storage layout of both must be the same, and
every variable must come from ConsensusLearningBase or the OpenZeppelin contracts it inherits."""
from __future__ import annotations

import json
import subprocess

from test_toolchain import ROOT, installed_launcher

HALVES = {"contracts/ConsensusLearning.sol": "ConsensusLearning",
          "contracts/ConsensusLearningSettlement.sol": "ConsensusLearningSettlement",
          "contracts/ConsensusLearningBase.sol": "ConsensusLearningBase"}


def layouts() -> dict[str, list[dict]]:
    request = {
        "language": "Solidity",
        "sources": {path: {"content": (ROOT / path).read_text()} for path in HALVES},
        "settings": {
            "remappings": ["@openzeppelin=node_modules/@openzeppelin", "solady=node_modules/solady/src"],
            "outputSelection": {"*": {"*": ["storageLayout"]}},  # no bytecode: analysis only, seconds
        },
    }
    proc = subprocess.run([str(installed_launcher()), "--standard-json", "--allow-paths", "."],
                          input=json.dumps(request), capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [e for e in result.get("errors", []) if e["severity"] == "error"] == []
    return {name: result["contracts"][path][name]["storageLayout"]["storage"] for path, name in HALVES.items()}


def shape(entries: list[dict]) -> list[tuple]:
    """Slot, offset, name and type of each variable (the type ids differ only by AST ids, so compare labels)."""
    return [(e["slot"], e["offset"], e["label"], e["type"].split("_$")[0]) for e in entries]


def test_both_halves_have_the_same_storage_layout():
    out = layouts()
    main, settlement = out["ConsensusLearning"], out["ConsensusLearningSettlement"]
    assert len(main) > 10  # the real layout, not an empty one
    assert shape(main) == shape(settlement)


def test_no_half_declares_state_of_its_own():
    out = layouts()
    base = shape(out["ConsensusLearningBase"])
    for name in ("ConsensusLearning", "ConsensusLearningSettlement"):
        assert shape(out[name]) == base, f"{name} declares state outside ConsensusLearningBase"
