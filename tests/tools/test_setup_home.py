"""Set-up leaves no HOME-global state that points into one checkout (issue 12).

Every checkout on a machine shares ~/.solcx/solc-v<version> (py-solc-x looks there) and
~/.brownie/network-config.yaml. If set-up writes a path into one checkout there, the next checkout's
set-up repoints it, and deleting that checkout breaks Brownie builds everywhere else.

These tests run the set-up steps that write to HOME (tools/install_solc.sh and
`tools/brownie_net.py configure`) for two checkouts in a temporary HOME, compile in each, delete the
checkout whose set-up ran last, and compile in the other one again.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOLC_VERSION = json.loads((ROOT / "node_modules" / "solc" / "package.json").read_text())["version"]

# Small, but through the import callback and the project's remapping (node_modules/@openzeppelin).
TINY = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
import "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
contract Tiny is ReentrancyGuard {
    function answer() external pure returns (uint256) { return 42; }
}
"""


def make_checkout(dest: Path) -> Path:
    """The files set-up and a Brownie build need; node_modules hard-linked from this checkout."""
    dest.mkdir()
    shutil.copytree(ROOT / "tools", dest / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "brownie-config.yaml", dest / "brownie-config.yaml")
    (dest / "contracts").mkdir()
    (dest / "contracts" / "Tiny.sol").write_text(TINY)
    (dest / "interfaces").mkdir()
    subprocess.run(["cp", "-al", str(ROOT / "node_modules"), str(dest / "node_modules")], check=True)
    return dest


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A temporary HOME, SOLCX_BINARY_PATH unset: what a fresh user account sees."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "SOLCX_BINARY_PATH"}
    env["HOME"] = str(home)
    return home, env


def set_up(checkout: Path, env: dict, networks: bool = True) -> None:
    """The set-up steps that write to HOME: tools/setup.sh steps 3 (solc) and 4 (Brownie's networks)."""
    subprocess.run([str(checkout / "tools" / "install_solc.sh")], cwd=checkout, env=env, check=True,
                   capture_output=True, timeout=60)
    if not networks:
        return
    subprocess.run([sys.executable, str(checkout / "tools" / "brownie_net.py"), "configure"], cwd=checkout,
                   env=env, check=True, capture_output=True, timeout=60)


def launcher(home: Path) -> Path:
    return home / ".solcx" / f"solc-v{SOLC_VERSION}"


def compile_tiny(solc: Path, checkout: Path, env: dict) -> dict:
    """What Brownie does: `solc --version`, then `solc --standard-json` from the project root."""
    version = subprocess.run([str(solc), "--version"], cwd=checkout, env=env, capture_output=True, text=True,
                             timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout.splitlines()[1].startswith(f"Version: {SOLC_VERSION}+commit.")
    request = {
        "language": "Solidity",
        "sources": {"contracts/Tiny.sol": {"content": (checkout / "contracts" / "Tiny.sol").read_text()}},
        "settings": {"remappings": ["@openzeppelin=node_modules/@openzeppelin"], "evmVersion": "shanghai",
                     "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
    }
    proc = subprocess.run([str(solc), "--standard-json", "--allow-paths", str(checkout)], cwd=checkout, env=env,
                          input=json.dumps(request), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [e for e in out.get("errors", []) if e["severity"] == "error"] == []
    return out["contracts"]["contracts/Tiny.sol"]["Tiny"]


def files_pointing_into(home: Path, checkouts: list[Path]) -> list[str]:
    hits = []
    for path in home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            text = path.read_bytes().decode("utf-8", "replace")
            hits += [f"{path.relative_to(home)} -> {c}" for c in checkouts if str(c) in text]
    return hits


def test_two_checkouts_share_home_and_survive_deleting_one(tmp_path, home):
    home, env = home
    first = make_checkout(tmp_path / "first")
    second = make_checkout(tmp_path / "second")

    set_up(first, env)
    after_first = launcher(home).read_bytes()
    set_up(second, env)
    after_second = launcher(home).read_bytes()
    pointers = files_pointing_into(home, [first, second])

    for checkout in (first, second):
        assert compile_tiny(launcher(home), checkout, env)["evm"]["bytecode"]["object"]

    # Delete the checkout whose set-up ran last; the other one still builds, through Brownie too.
    shutil.rmtree(second)
    assert compile_tiny(launcher(home), first, env)["evm"]["bytecode"]["object"]

    brownie = Path(sys.executable).with_name("brownie")
    if not brownie.exists():
        pytest.skip("brownie is not installed beside this python")
    proc = subprocess.run([str(brownie), "compile"], cwd=first, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    build = json.loads((first / "build" / "contracts" / "Tiny.json").read_text())
    assert build["compiler"]["version"].startswith(SOLC_VERSION)
    assert build["deployedBytecode"]

    # The cause, checked directly: nothing set-up wrote to HOME names a checkout, so the launcher
    # is the same whichever checkout installed it.
    assert pointers == []
    assert after_second == after_first, "the second checkout's set-up rewrote the launcher"


def test_launcher_outside_a_checkout_says_what_to_do(tmp_path, home):
    home, env = home
    checkout = make_checkout(tmp_path / "checkout")
    set_up(checkout, env, networks=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([str(launcher(home)), "--version"], cwd=elsewhere, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert proc.stderr == f"solc-shim: no node_modules/solc under {elsewhere}; run `make setup` in your checkout\n"


def test_launcher_refuses_a_solc_js_of_another_version(tmp_path, home):
    # py-solc-x picks the launcher by its name (solc-v<version>); a different solc-js in the project
    # would compile with a compiler Brownie did not ask for.
    home, env = home
    checkout = make_checkout(tmp_path / "checkout")
    set_up(checkout, env, networks=False)
    other = tmp_path / "other"
    (other / "node_modules" / "solc").mkdir(parents=True)
    (other / "node_modules" / "solc" / "package.json").write_text('{"name": "solc", "version": "0.0.1"}')
    proc = subprocess.run([str(launcher(home)), "--version"], cwd=other, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert f"is solc {SOLC_VERSION} but node_modules/solc under {other} is 0.0.1" in proc.stderr
