#!/usr/bin/env bash
# `make test`: the whole suite, after set-up.
#   0. the live-path tests (plain pytest, separate OS processes against Ganache, Anvil and Hardhat nodes that
#      mine on their own clock: the README block and the fault matrix), started in the background: they spend
#      most of their time waiting on block time, so they run beside steps 1-2 (each in its own pytest
#      process, its own nodes on free ports); their output is shown after step 2
#   1. contract tests (Brownie) on a private Ganache on a free port, in the background as well
#   2. client, simulation and tool tests (plain pytest; they start their own local nodes), beside 0 and 1
#   3. the contract tests whose helpers are backend-specific, again on a private Anvil
#   4. static analysis (slither)
# The Foundry invariant suite is not here: its cold compile through solc-js (via IR) alone takes 2.5-7 min on
# a clean clone, past make test's budget. `make fuzz-short` (a few thousand calls) and `make fuzz` (>= 100,000).
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
cleanup() {
  for pid in "${live_pids[@]}" $contract_pid; do kill -INT -- -"$pid" 2>/dev/null; done
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
  tests/contract/test_accounting.py tests/contract/test_gas_cap.py --junitxml="$OUT/contract-anvil.xml" -p no:cacheprovider
rc=$?; [ $rc -eq 0 ] || { echo "contract tests on anvil: exit $rc"; status=1; }

for i in "${!live_pids[@]}"; do
  step "live-path tests: tests/live/test_${live_names[$i]}.py (pytest, run beside the contract and Python tests)"
  wait "${live_pids[$i]}"
  rc=$?
  cat "$OUT/live-${live_names[$i]}.log"
  [ $rc -eq 0 ] || { echo "live tests (${live_names[$i]}): exit $rc"; status=1; }
done
live_pids=()

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
