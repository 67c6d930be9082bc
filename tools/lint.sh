#!/usr/bin/env bash
# Static analysis of the contract with Slither. Non-interactive; exits non-zero on any high- or
# medium-impact finding that docs/slither-triage.md does not triage (or if Slither cannot run).
#
# Target: contracts/ (not recursive, so contracts/test and contracts/reference stay out). crytic-compile
# finds foundry.toml and builds through forge (`forge clean`, then `forge build --build-info contracts`
# with the default profile: via IR, optimizer on, the same solc-js shim and remappings as Brownie), so the
# `--solc` below only matters without foundry.toml. That is also why the default Foundry profile compiles
# the contract and the short/long fuzz runs use their own profiles and build directories (foundry.toml).
# Slither's plain solc mode would call `solc --combined-json`, which the standard-JSON-only shim lacks, and
# crytic-compile's Brownie platform reads only build/contracts/*.json, so it cannot resolve the import of
# interfaces/IConsensusLearning.sol (Brownie writes that artifact to build/interfaces/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$ROOT/node_modules/.bin:$PATH"
TRIAGE=docs/slither-triage.md

SOLC_VERSION=$(node -p "require('./node_modules/solc/package.json').version")
SOLC="${SOLCX_BINARY_PATH:-$HOME/.solcx}/solc-v$SOLC_VERSION"
[ -x "$SOLC" ] || { echo "lint: no solc at $SOLC; run 'make setup' first" >&2; exit 2; }
[ -d node_modules/@openzeppelin ] && [ ! -L node_modules ] || {
  echo "lint: node_modules must be a real directory holding @openzeppelin and solady; run 'make setup'" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "lint: slither contracts/ (solc $SOLC_VERSION via $SOLC)"
# Slither exits non-zero whenever it reports anything; the JSON report says whether it ran.
slither contracts/ --config-file slither.config.json --solc "$SOLC" --json "$WORK/report.json" \
  >"$WORK/slither.log" 2>&1 || true
if ! python - "$WORK/report.json" <<'PY'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    sys.exit(1)
sys.exit(0 if report.get("success") else 1)
PY
then
  cat "$WORK/slither.log" >&2
  echo "lint: slither did not run (log above)" >&2
  exit 2
fi

python - "$WORK/report.json" "$TRIAGE" <<'PY'
"""Gate: every High / Medium result must appear in the triage table as `detector` + `where`."""
import json
import re
import sys

report_path, triage_path = sys.argv[1:3]
results = json.load(open(report_path))["results"].get("detectors", [])


def where(element):
    """Contract.function, Contract.function.localVariable or Contract.name -- stable across edits."""
    fields = element.get("type_specific_fields", {})
    parent = fields.get("parent", {})
    if element["type"] == "function":
        return f"{parent.get('name')}.{element['name']}"
    if element["type"] == "variable" and parent.get("type") == "function":
        contract = parent.get("type_specific_fields", {}).get("parent", {}).get("name")
        return f"{contract}.{parent['name']}.{element['name']}"
    if parent.get("name"):
        return f"{parent['name']}.{element['name']}"
    return element["name"]


# Triage rows: | `detector` | Impact | `where` | Verdict | Reason |
triaged = {}
row = re.compile(r"^\|\s*`([\w-]+)`\s*\|\s*(\w+)\s*\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|")
for line in open(triage_path, encoding="utf-8"):
    m = row.match(line)
    if m:
        triaged[(m.group(1), m.group(3))] = m.group(4)

counts = {}
untriaged = []
for r in results:
    counts[r["impact"]] = counts.get(r["impact"], 0) + 1
    if r["impact"] not in ("High", "Medium"):
        continue
    key = (r["check"], where(r["elements"][0]))
    verdict = triaged.get(key)
    status = f"triaged: {verdict}" if verdict else "NOT TRIAGED"
    print(f"  {r['impact']:<6} {key[0]:<24} {key[1]:<48} {status}")
    if not verdict:
        untriaged.append((r, key))

print("lint: findings by impact:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none")
for r, key in untriaged:
    print(f"\n{r['impact']} {key[0]} at {key[1]}:\n{r['description']}", file=sys.stderr)
if untriaged:
    print(f"lint: {len(untriaged)} high/medium finding(s) not triaged in {triage_path}", file=sys.stderr)
    sys.exit(1)
print("lint: OK (every high/medium finding is triaged)")
PY
