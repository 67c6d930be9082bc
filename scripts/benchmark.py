"""`make bench`: gas of ConsensusLearning against the textbook NaiveConsensusLearning, and the wall time
of one round on Ganache and on Anvil. Regenerates docs/benchmarks.md and docs/img/bench_gas_per_label.png
(rendered from the results by tools/benchdoc.py; this script only measures).

    python tools/brownie_net.py run -- brownie run scripts/benchmark.py main [budget_minutes]

1. Grid N in {4, 8, 16, 32} x Q in {64, 256, 1024}, K = 10, both contracts driven through the same rounds
   (scripts/_measure.py) on the network Brownie was started on. Naive points whose projected time would
   exceed the time budget are skipped (and listed as such); ours is always measured.
2. Ours at its bound N x Q = MAX_LABELS (N=52, Q=1024 and N=13, Q=4096): does finalize fit a 30M block?
3. Today's fee rules: ours over the same grid and at the bound on a fresh Anvil with --hardfork prague
   (EIP-7623's calldata floor, which Ganache lacks), and at every grid point and the bound, for K in CAP_K, a
   worst-case round (scripts/_measure.worst_case_round) checked against EIP-7825's 2^24-gas cap; and at
   every grid point the merged path in its steady state (scripts/_measure.run_pipelined: one submit per
   participant per round).
4. Optimistic settlement (scripts/_measure.OptimisticRounds, run_optimistic_pipelined) at OPTIMISTIC_SHAPES,
   each on a fresh Anvil with --hardfork prague: one round on single calls (the keeper's honest post, the
   window, the claims), three wrong posts and their fraud proofs, and the merged path in its steady state;
   every transaction's gas and input size, each checked against EIP-7825's cap and 128 KB less the
   transaction's envelope. Each N is within its round's seats (optimisticSeats(Q, K)). Alone (2.1 to 2.4
   minutes on 2 cores, 2026-12-04), spliced into docs/benchmarks.md in place of its section:

       python tools/brownie_net.py run --backend anvil -- brownie run scripts/benchmark.py optimistic

5. Wall time of one full round of ours at N=16, Q=256 (openRound .. last claim, WALL_REPEATS times) on a
   fresh throw-away Ganache and a fresh throw-away Anvil (tools/brownie_net.temp_network).
"""
from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
import time
import warnings
from pathlib import Path

from brownie import ConsensusLearning, NaiveConsensusLearning, network

from scripts._measure import (
    K,
    Naive,
    OptimisticRounds,
    Ours,
    quiet,
    run_optimistic_pipelined,
    run_pipelined,
    run_round,
    worst_case_round,
)
from tools import brownie_net
from tools.benchdoc import (
    BLOCK_GAS_LIMIT,
    GAS_CAP,
    OPTIMISTIC_BEFORE,
    PLOT_NAME,
    OptimisticShape,
    benchmarks_page,
    naive_estimates,
    optimistic_section,
    plot,
    splice_section,
)

ROOT = Path(__file__).resolve().parent.parent

GRID_N = (4, 8, 16, 32)
GRID_Q = (64, 256, 1024)
BOUND_SHAPES = ((52, 1024), (13, 4096))  # N x Q = MAX_LABELS = 53,248 (maxParticipants(Q) = MAX_LABELS // Q)
CAP_K = (10, 256)  # the worst-case rounds' K: the grid's, and the largest (the tally's worst)
WALL_POINT = (16, 256)
OPTIMISTIC_SHAPES = ((16, 1024), (100, 10_000), (1000, 1000))  # (N, Q), K = 10: the targets' shapes
WALL_REPEATS = 3
DEFAULT_BUDGET_MINUTES = 41  # the whole run, naive N=32 Q=1024 included, took 39.8 min on 2 cores (2026-12),
# before the optimistic part (budgeted at 5.5 min; alone it took 2.1 to 2.4 min, 2026-12-04)
RESERVE_SECONDS = 570  # kept for the bound, optimistic and wall-time parts after the grid
NAIVE_SECONDS_PER_LABEL_GUESS = 0.01  # until the first naive point has been timed
MARKDOWN = ROOT / "docs" / "benchmarks.md"
PLOT = MARKDOWN.parent / PLOT_NAME


def log(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------------------------------- measuring


def measure_grid(deadline: float) -> dict:
    """{(n, q): {"ours": RoundResult, "naive": RoundResult | None, "skipped": str}} for the whole grid,
    smallest N x Q first so that only the largest naive points can fall outside the time budget."""
    grid = {}
    naive_rate = NAIVE_SECONDS_PER_LABEL_GUESS
    for n, q in sorted(((n, q) for n in GRID_N for q in GRID_Q), key=lambda p: (p[0] * p[1], p[0])):
        projected = naive_rate * n * q * 1.2
        drivers = [Ours(ConsensusLearning)]
        skipped = ""
        if time.time() + projected > deadline:
            skipped = f"projected {projected:.0f} s would exceed the time budget"
        else:
            drivers.append(Naive(NaiveConsensusLearning))
        t0 = time.time()
        with quiet():
            res = run_round(drivers, n, q, K)
        naive = res.get("naive")
        if naive is not None:  # points grow, so the latest rate is the best guess for the next one
            naive_rate = (time.time() - t0) / (n * q)
        grid[(n, q)] = {"ours": res["ours"], "naive": naive, "skipped": skipped}
        log(f"  N={n:>2} Q={q:>4}: ours {res['ours'].gas_per_label:8,.1f} gas/label"
            + (f", naive {naive.gas_per_label:10,.1f} ({naive.gas_per_label / res['ours'].gas_per_label:5.1f}x)"
               if naive else f", naive skipped ({skipped})")
            + f"  [{time.time() - t0:.0f} s]")
    return grid


def measure_bound() -> list:
    """Ours at N x Q = MAX_LABELS, the largest round the contract accepts."""
    out = []
    for n, q in BOUND_SHAPES:
        with quiet():
            r = run_round([Ours(ConsensusLearning)], n, q, K)["ours"]
        out.append(r)
        log(f"  N={n} Q={q}: finalize {r.finalize.total:,} gas ({100 * r.finalize.total / BLOCK_GAS_LIMIT:.1f}% of a "
            f"30M block)")
    return out


def measure_today() -> tuple[dict, dict, dict]:
    """({(n, q): RoundResult} of ours over the grid and the bound, {(n, q, k): {tx: most gas}} of the
    worst-case rounds, {(n, q): RoundResult} of the merged path (submit) over the grid) on a fresh Anvil
    under prague rules. Leaves Brownie disconnected."""
    if network.is_connected():
        network.disconnect()
    prague, cap, merged = {}, {}, {}
    with brownie_net.temp_network("anvil", brownie_net.PRAGUE) as net_id:
        with quiet():
            network.connect(net_id)
        try:
            for n, q in sorted({(n, q) for n in GRID_N for q in GRID_Q} | set(BOUND_SHAPES),
                               key=lambda p: (p[0] * p[1], p[0])):
                with quiet():
                    prague[(n, q)] = run_round([Ours(ConsensusLearning)], n, q, K)["ours"]
                for k in CAP_K:
                    with quiet():
                        cap[(n, q, k)] = worst_case_round(ConsensusLearning, n, q, k)
                worst = max(cap[(n, q, 256)].values())
                log(f"  N={n:>2} Q={q:>4}: {prague[(n, q)].gas_per_label:8,.1f} gas/label; worst case K=256: "
                    f"largest transaction {worst:,} gas ({100 * worst / GAS_CAP:.1f}% of the cap)")
                if (n, q) not in BOUND_SHAPES:
                    with quiet():
                        merged[(n, q)] = run_pipelined(ConsensusLearning, n, q, K)
                    log(f"           merged path (submit): {merged[(n, q)].gas_per_label:8,.1f} gas/label")
        finally:
            with quiet():
                network.disconnect()
    return prague, cap, merged


def measure_optimistic() -> dict:
    """{(n, q): OptimisticShape} at OPTIMISTIC_SHAPES, each on a fresh Anvil under prague rules: a round on single
    calls and its fraud proofs (one deployment), the merged path (another). Leaves Brownie disconnected."""
    if network.is_connected():
        network.disconnect()
    out = {}
    for n, q in OPTIMISTIC_SHAPES:
        t0 = time.time()
        with brownie_net.temp_network("anvil", brownie_net.PRAGUE) as net_id:
            with quiet():
                network.connect(net_id)
            try:
                with quiet():
                    rounds = OptimisticRounds(ConsensusLearning, n, q, K)
                    single = rounds.settle()
                    frauds = rounds.frauds()
                    merged = run_optimistic_pipelined(ConsensusLearning, n, q, K)
            finally:
                with quiet():
                    network.disconnect()
        out[(n, q)] = OptimisticShape(single, merged, frauds, time.time() - t0, rounds.seats)
        query = [f for f in frauds if f.kind.startswith("query")]
        log(f"  N={n:>4} Q={q:>5}: {single.gas_per_label:6,.1f} gas/label on single calls, "
            f"{merged.gas_per_label:6,.1f} merged; propose {single.propose.total:,} gas; query proof "
            f"{min(f.records for f in query)} revealers in {min(f.planned for f in query)} tx, match proof "
            f"{frauds[-1].gas:,} gas  [{time.time() - t0:.0f} s]")
    return out


def optimistic():
    """`brownie run scripts/benchmark.py optimistic`: the optimistic part alone (measure_optimistic), its section
    spliced into docs/benchmarks.md in the generator's format (the next full run regenerates the page)."""
    warnings.filterwarnings("ignore", message=r"rpc\.\w+ should not be called directly")
    started = time.time()
    facts = machine_facts()
    log(f"Optimistic settlement on {facts['cpu']} ({facts['cores']} cores), Anvil prague:")
    shapes = measure_optimistic()
    minutes = (time.time() - started) / 60
    measured = (f"This section was measured on its own (`brownie run scripts/benchmark.py optimistic`, "
                f"{facts['date']}, {facts['cpu']}, {facts['cores']} cores, {minutes:.1f} min); the rest of the page "
                "is from the last full run.")
    section = optimistic_section(shapes, measured)
    page = MARKDOWN.read_text() if MARKDOWN.exists() else ""
    MARKDOWN.write_text(splice_section(page, section, OPTIMISTIC_BEFORE))
    log("\n" + "\n".join(section))
    log(f"Wrote its section of {MARKDOWN.relative_to(ROOT)} in {minutes:.1f} min")


def measure_wall_time() -> dict:
    """{backend: [RoundResult, ...]} for WALL_REPEATS rounds of ours at WALL_POINT on a fresh node of each
    backend. Leaves Brownie disconnected (the bench's own node is stopped first)."""
    if network.is_connected():
        network.disconnect()
    out = {}
    for backend in ("ganache", "anvil"):
        with brownie_net.temp_network(backend) as net_id:
            with quiet():
                network.connect(net_id)
            try:
                runs = []
                for _ in range(WALL_REPEATS):
                    with quiet():
                        runs.append(run_round([Ours(ConsensusLearning)], *WALL_POINT, K)["ours"])
                out[backend] = runs
            finally:
                with quiet():
                    network.disconnect()
        log(f"  {backend}: " + ", ".join(f"{r.seconds:.2f} s" for r in out[backend]))
    return out


# ----------------------------------------------------------------------------------------------- facts


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.splitlines()[0] if out else "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts() -> dict:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "brownie": importlib.metadata.version("eth-brownie"),
        "ganache": _version(["ganache-cli", "--version"]),
        "anvil": _version(["anvil", "--version"]),
        "solc": ConsensusLearning._build.get("compiler", {}).get("version", "unknown"),
        "load_start": os.getloadavg(),
    }


# ------------------------------------------------------------------------------------------------ main


def main(budget_minutes=DEFAULT_BUDGET_MINUTES):
    # Brownie warns about its own internal rpc.* calls after a reconnect; nothing to act on here.
    warnings.filterwarnings("ignore", message=r"rpc\.\w+ should not be called directly")
    started = time.time()
    deadline = started + float(budget_minutes) * 60 - RESERVE_SECONDS
    facts = machine_facts()
    log(f"Benchmark on {facts['cpu']} ({facts['cores']} cores), budget {float(budget_minutes):g} min")
    log("Grid (both contracts, same rounds):")
    grid = measure_grid(deadline)
    log("Ours at the bound N x Q = MAX_LABELS:")
    bound = measure_bound()
    log("Today's fee rules (Anvil, prague): the grid, and worst-case rounds against EIP-7825's cap:")
    prague, cap, merged = measure_today()
    log("Optimistic settlement (Anvil, prague):")
    optimistic_shapes = measure_optimistic()
    log(f"Wall time of one round (ours, N={WALL_POINT[0]}, Q={WALL_POINT[1]}):")
    wall = measure_wall_time()
    plot(grid, PLOT, naive_estimates(grid)[0])
    text = benchmarks_page({**facts, "load_end": os.getloadavg()}, grid, bound, wall, time.time() - started,
                           prague, cap, merged, optimistic_shapes)
    MARKDOWN.parent.mkdir(parents=True, exist_ok=True)
    MARKDOWN.write_text(text)
    log("\n" + text)
    log(f"Wrote {MARKDOWN.relative_to(ROOT)} and {PLOT.relative_to(ROOT)} in {(time.time() - started) / 60:.1f} min")
