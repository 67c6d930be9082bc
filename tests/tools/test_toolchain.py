"""The offline toolchain: the solc-js shim that py-solc-x/Brownie use, and the build it produces."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIM = ROOT / "tools" / "solc-shim.js"


def solc_version() -> str:
    return json.loads((ROOT / "node_modules" / "solc" / "package.json").read_text())["version"]


def installed_launcher() -> Path:
    import solcx

    return Path(solcx.get_solcx_install_folder()) / f"solc-v{solc_version()}"


def test_launcher_is_installed_where_py_solc_x_looks():
    import solcx

    assert installed_launcher().exists()
    assert solc_version() in {str(v) for v in solcx.get_installed_solc_versions()}


def test_version_output_is_parsed_by_py_solc_x():
    # from the project root, as Brownie runs it: the launcher loads solc-js from ./node_modules/solc
    out = subprocess.run([str(installed_launcher()), "--version"], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 0
    assert out.stdout.splitlines()[1].startswith(f"Version: {solc_version()}+commit.")
    assert out.stdout.splitlines()[1].endswith(".Linux.g++")


@pytest.mark.parametrize("argv", [["--combined-json", "abi"], ["--bogus"], []])
def test_unsupported_invocations_fail_fast_without_reading_stdin(argv):
    # stdin is an open pipe that never closes: a shim that tried to read it would hang until the timeout.
    proc = subprocess.Popen(["node", str(SHIM), *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 2
    assert "only --version and --standard-json are supported" in err


def test_standard_json_output_larger_than_a_pipe_buffer_arrives_whole():
    source = (ROOT / "contracts" / "ConsensusLearning.sol").as_posix()
    request = {
        "language": "Solidity",
        "sources": {"contracts/ConsensusLearning.sol": {"urls": [source]}},
        "settings": {
            "remappings": ["@openzeppelin=node_modules/@openzeppelin", "solady=node_modules/solady/src"],
            "optimizer": {"enabled": True, "runs": 200},
            "viaIR": True,  # as brownie-config.yaml: the legacy pipeline runs out of stack on this contract
            "evmVersion": "shanghai",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode", "evm.deployedBytecode", "metadata"]}},
        },
    }
    # Source by content, as Brownie sends it: the import callback resolves the rest from the project root.
    request["sources"]["contracts/ConsensusLearning.sol"] = {"content": Path(source).read_text()}
    proc = subprocess.run([str(installed_launcher()), "--standard-json", "--allow-paths", "."],
                          input=json.dumps(request), capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.encode()) > 64 * 1024
    result = json.loads(proc.stdout)
    errors = [e for e in result.get("errors", []) if e["severity"] == "error"]
    assert errors == []
    abi = result["contracts"]["contracts/ConsensusLearning.sol"]["ConsensusLearning"]["abi"]
    assert {"commit", "reveal", "finalize", "claim"} <= {i.get("name") for i in abi}


def test_brownie_build_has_the_contract_abi():
    subprocess.run(["brownie", "compile"], cwd=ROOT, check=True, capture_output=True, timeout=600)
    build = json.loads((ROOT / "build" / "contracts" / "ConsensusLearning.json").read_text())
    assert build["compiler"]["version"].startswith(solc_version())
    assert build["compiler"]["evm_version"] == "shanghai"
    names = {(i["type"], i.get("name")) for i in build["abi"]}
    for fn in ("deposit", "openRound", "commit", "reveal", "finalize", "claim", "claimRefund", "withdraw",
               "consensus", "consensusLabel"):
        assert ("function", fn) in names
    for err in ("WrongPhase", "CommitmentMismatch", "LabelOutOfRange"):
        assert ("error", err) in names
    assert build["deployedBytecode"]  # compiled, not just parsed


def test_packaged_abi_matches_the_build():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "export_abi.py"), "--check"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
