#!/usr/bin/env bash
# `make test`: the whole suite, after set-up.
#   0. the live-path tests (plain pytest, separate OS processes against Ganache, Anvil and Hardhat nodes that
#      mine on their own clock: the README block and the fault matrix), started in the background: they spend
#      most of their time waiting on block time, so they run beside steps 1-2 (each in its own pytest
#      process, its own nodes on free ports); their output is shown after step 2
#   1. contract tests (Brownie) on a private Ganache on a free port, in the background as well
#   2. client, simulation and tool tests (plain pytest; they start their own local nodes), beside 0 and 1
#   3. the contract tests whose helpers are backend-specific, again on a private Anvil
#   4. the Foundry invariant suite, short run (tools/fuzz_short.sh: 4,000 handler calls, seed 0x5eed), started
#      in the background (niced) as soon as `brownie compile` has run: it deploys Brownie's build of the
#      contract (build/contracts) instead of compiling it, so on a clean clone it costs about 10 s of CPU
#      (forge compiles only the harness, without via IR); its output follows the live tests'. `make fuzz` is
#      the long run (>= 100,000 calls, docs/fuzzing.md)
#   5. static analysis (slither)
# Prints one closing line "N passed, N failed" over all of it. Exits non-zero if any part fails,
# including pytest's exit 5 (no tests collected).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PWD/node_modules/.bin:$PATH"
OUT=reports/tests
mkdir -p "$OUT"
rm -f "$OUT"/*.xml
status=0
step() { echo; echo "=== $1"; }

live_pids=()
live_names=(readme multiprocess)
# interrupted: SIGINT to our own background pytest groups (by PID), so that their fixtures stop their nodes
contract_pid=
forge_pid=
cleanup() {
  for pid in "${live_pids[@]}" $contract_pid $forge_pid; do kill -INT -- -"$pid" 2>/dev/null; done
}
trap cleanup EXIT
for name in "${live_names[@]}"; do  # each pytest in its own process group (set -m), stopped by PID if we stop
  set -m
  python -m pytest -p no:pytest-brownie -p no:cacheprovider "tests/live/test_$name.py" \
    --junitxml="$OUT/live-$name.xml" >"$OUT/live-$name.log" 2>&1 &
  live_pids+=($!)
  set +m
done

step "packaged ABI matches the build"
brownie compile >/dev/null || status=1
python tools/export_abi.py --check || status=1

# The short Foundry run needs only that build; it runs beside everything below (its own process group),
# niced: its ~10 s of CPU must not slow the nodes starting now (Brownie gives Ganache 10 s to answer).
set -m
nice -n 10 tools/fuzz_short.sh >"$OUT/forge.log" 2>&1 &
forge_pid=$!
set +m

# Steps 1 and 2 run side by side with the live tests: the contract suite keeps about one core busy (Brownie
# and its node take turns), the Python tests wait on chain time part of theirs, and the live tests mostly on
# block time; the budget is 15 minutes on 2 cores. Each has its own nodes on free ports; the background logs
# are printed when all are done.
step "contract tests (Brownie on Ganache), in the background, and client/simulation/tool tests (pytest)"
set -m
python tools/brownie_net.py run -- brownie test tests/contract --junitxml="$OUT/contract.xml" -p no:cacheprovider \
  >"$OUT/contract.log" 2>&1 &
contract_pid=$!
set +m
python -m pytest -p no:pytest-brownie -p no:cacheprovider tests/client tests/sim tests/tools \
  --junitxml="$OUT/python.xml"
rc=$?; [ $rc -eq 0 ] || { echo "python tests: exit $rc"; status=1; }
wait "$contract_pid"
rc=$?
contract_pid=
step "contract tests (Brownie on Ganache): their output"
cat "$OUT/contract.log"
[ $rc -eq 0 ] || { echo "contract tests: exit $rc"; status=1; }

step "contract tests that travel in time or set balances, on Anvil (Brownie's default network)"
# The helpers use different RPCs on Anvil (tests/contract/contract_helpers.py); this keeps a plain
# `brownie test` working for contract developers.
python tools/brownie_net.py run --backend anvil -- brownie test tests/contract/test_commit.py \
  tests/contract/test_reveal.py tests/contract/test_stake.py tests/contract/test_open_round.py \
  tests/contract/test_accounting.py tests/contract/test_gas_cap.py tests/contract/test_optimistic_limits.py \
  --junitxml="$OUT/contract-anvil.xml" -p no:cacheprovider
rc=$?; [ $rc -eq 0 ] || { echo "contract tests on anvil: exit $rc"; status=1; }

for i in "${!live_pids[@]}"; do
  step "live-path tests: tests/live/test_${live_names[$i]}.py (pytest, run beside the contract and Python tests)"
  wait "${live_pids[$i]}"
  rc=$?
  cat "$OUT/live-${live_names[$i]}.log"
  [ $rc -eq 0 ] || { echo "live tests (${live_names[$i]}): exit $rc"; status=1; }
done
live_pids=()

step "Foundry invariant suite, short run (tools/fuzz_short.sh, run beside the rest; make fuzz is the long one)"
wait "$forge_pid"
rc=$?
forge_pid=
cat "$OUT/forge.log"
# forge's closing line "Ran N test suites ...: P tests passed, F failed, S skipped" into the summary below
python - "$OUT" "$rc" <<'PY'
import re, sys
out, rc = sys.argv[1], int(sys.argv[2])
m = re.findall(r"(\d+) tests passed, (\d+) failed, (\d+) skipped", open(out + "/forge.log").read())
p, f, s = map(int, m[-1]) if m else (0, 1, 0)
if rc and not f: f = 1
open(out + "/forge.xml", "w").write(f'<testsuite name="forge" tests="{p + f + s}" failures="{f}" errors="0" skipped="{s}"/>\n')
PY
if [ "$rc" -eq 0 ]; then echo "forge invariants: passed"; else echo "forge invariants: exit $rc (output above)"; status=1; fi

if [ -x tools/lint.sh ]; then
  step "static analysis (slither)"
  tools/lint.sh || { echo "lint: failed"; status=1; }
fi

python - "$OUT" <<'PY'
import sys, glob, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/*.xml"):
    for suite in ET.parse(path).getroot().iter("testsuite"):
        t, f, e, s = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
        passed += t - f - e - s; failed += f + e; skipped += s
print(f"\nmake test: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
