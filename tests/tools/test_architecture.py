"""The layout's promises, checked: one Python home for the protocol's rules, no dead names (pyflakes)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = sorted(p for p in (ROOT / "cl_client").rglob("*.py") if p.name != "protocol.py")

# Tell-tale code of the rules cl_client/protocol.py holds; none of it may appear in another product module.
RULE_PATTERNS = {
    "the agreement rule (matches * 10000 >= bps * Q)": re.compile(r"\*\s*(10_?000|BPS)\s*(>=|<=|<|>)"),
    "the penalty's ceiling division": re.compile(r"-\s*\(\s*-"),
    "a plurality's first-maximum tie rule": re.compile(r"argmax\(|\.index\(\s*max\("),
    "the slashed statuses": re.compile(r"Status\.DEVIATED\s*,\s*Status\.COMMITTED|Status\.COMMITTED\s*,\s*Status\.DEVIATED"),
    "the contract's bounds typed by hand": re.compile(r"\b(4096|65_?536|9_?000)\b"),
}


def _code_lines(path: Path):
    """(number, line) of code, without comments and docstrings (a rule may be named in prose)."""
    text = path.read_text()
    text = re.sub(r'"""(.|\n)*?"""', lambda m: "\n" * m.group(0).count("\n"), text)
    for number, line in enumerate(text.splitlines(), 1):
        yield number, line.split("#", 1)[0]


@pytest.mark.parametrize("rule", sorted(RULE_PATTERNS))
def test_no_product_module_restates_a_rule_that_protocol_holds(rule):
    pattern = RULE_PATTERNS[rule]
    hits = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in PRODUCT for n, line in _code_lines(p)
            if pattern.search(line)]
    assert hits == [], f"{rule} outside cl_client/protocol.py (use the function there):\n" + "\n".join(hits)


def test_the_scan_finds_a_restated_rule(tmp_path):
    """The scan itself can fail: the old simulation's deviator rule and Copier's tally are caught."""
    sample = tmp_path / "old.py"
    sample.write_text("slashed = round(x * q) * 10000 < bps * q\nbest = counts.argmax(axis=1)\n")
    found = {rule for rule, pat in RULE_PATTERNS.items() for _, line in _code_lines(sample) if pat.search(line)}
    assert found == {"the agreement rule (matches * 10000 >= bps * Q)", "a plurality's first-maximum tie rule"}


def test_pyflakes_reports_nothing_on_the_product_scripts_and_tools():
    done = subprocess.run([sys.executable, "-m", "pyflakes", "cl_client", "scripts", "tools"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr
