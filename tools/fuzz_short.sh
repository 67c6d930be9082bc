#!/usr/bin/env bash
# The short Foundry invariant run (make test, make fuzz-short; docs/fuzzing.md): foundry.toml's `short`
# profile, 2 campaigns x 4 runs x 500 = 4,000 handler calls (+ 2 x 100 fuzz cases), fixed seed
# (FOUNDRY_FUZZ_SEED, default 0x5eed).
#
# The suite deploys Brownie's build of the contract (build/contracts/ConsensusLearning.json, through
# vm.getCode in test/foundry/lib/BrownieBuild.sol): forge compiles only test/foundry and the interface,
# without via IR, in seconds. So this script assumes `brownie compile` has run (make test runs it first,
# `make fuzz-short` runs it) and refuses a build whose sources differ from the files on disk rather than
# fuzz stale bytecode.
#   tools/fuzz_short.sh [forge test options...]     e.g. -vv, --match-contract Abandon
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PWD/node_modules/.bin:$PATH"

# Brownie's artifacts carry the source they were compiled from: the contract's and each dependency's.
python - <<'PY' || exit 1
import json, sys
from pathlib import Path
art = Path("build/contracts/ConsensusLearning.json")
if not art.exists():
    sys.exit(f"fuzz_short: {art} missing; run `brownie compile` first")
main = json.loads(art.read_text())
sources = {main["sourcePath"]: main["source"]}
for dep in main["dependencies"]:
    for kind in ("contracts", "interfaces"):
        p = Path("build", kind, dep + ".json")
        if p.exists():
            d = json.loads(p.read_text())
            path = d.get("sourcePath") or next(
                (s for s in main["allSourcePaths"].values() if s.endswith("/" + dep + ".sol")), None)
            if path:
                sources[path] = d["source"]
            break
stale = [p for p, s in sources.items() if not Path(p).exists() or Path(p).read_text() != s]
if stale:
    sys.exit(f"fuzz_short: {art} is older than {', '.join(stale)}; run `brownie compile` first")
PY

# the short profile whatever the caller exported (FOUNDRY_PROFILE=fuzz is `make fuzz`, the long run)
FOUNDRY_PROFILE=short FOUNDRY_FUZZ_SEED=${FOUNDRY_FUZZ_SEED:-0x5eed} exec forge test "$@"
