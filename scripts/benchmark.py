"""`make bench`: gas of ConsensusLearning against the textbook NaiveConsensusLearning, and the wall time
of one round on Ganache and on Anvil. Regenerates docs/benchmarks.md and docs/img/bench_gas_per_label.png.

    python tools/brownie_net.py run -- brownie run scripts/benchmark.py main [budget_minutes]

1. Grid N in {4, 8, 16, 32} x Q in {64, 256, 1024}, K = 10, both contracts driven through the same rounds
   (scripts/_measure.py) on the network Brownie was started on. Naive points whose projected time would
   exceed the time budget are skipped (and listed as such); ours is always measured.
2. Ours at its bound N x Q = MAX_LABELS (N=64, Q=1024 and N=16, Q=4096): does finalize fit a 30M block?
3. Wall time of one full round of ours at N=16, Q=256 (openRound .. last claim, WALL_REPEATS times) on a
   fresh throw-away Ganache and a fresh throw-away Anvil (tools/brownie_net.temp_network).
"""
from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

from brownie import ConsensusLearning, NaiveConsensusLearning, network

from scripts._measure import (
    BLOCK_GAS_LIMIT,
    K,
    TARGET_GAS_PER_LABEL,
    Naive,
    Ours,
    fmt_gas,
    markdown_table,
    quiet,
    round_cells,
    run_round,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import brownie_net  # noqa: E402  (tools/ is not a package)

GRID_N = (4, 8, 16, 32)
GRID_Q = (64, 256, 1024)
BOUND_SHAPES = ((64, 1024), (16, 4096))  # N x Q = MAX_LABELS = 65,536
WALL_POINT = (16, 256)
WALL_REPEATS = 3
BREAKDOWN_POINT = (16, 1024)
TARGET_NAIVE_RATIO = 50  # ours at least this many times cheaper than naive at BREAKDOWN_POINT
DEFAULT_BUDGET_MINUTES = 35  # the whole run, naive N=32 Q=1024 included, took 23.6 min on 2 cores (2026-11)
RESERVE_SECONDS = 240  # kept for the bound and wall-time parts after the grid
NAIVE_SECONDS_PER_LABEL_GUESS = 0.01  # until the first naive point has been timed
MARKDOWN = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "img" / "bench_gas_per_label.png"


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


def measure_wall_time() -> dict:
    """{backend: [RoundResult, ...]} for WALL_REPEATS rounds of ours at WALL_POINT on a fresh node of each
    backend. Leaves Brownie disconnected (the bench's own node is stopped first)."""
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


# ---------------------------------------------------------------------------------------------- report


def _fit(grid: dict, which: str, gas) -> tuple[list[float], float]:
    """Least squares of gas(RoundResult) ~ a + b*Q + c*N + d*N*Q over the grid points measured for
    `which`; returns (a, b, c, d) and the largest relative residual."""
    import numpy as np

    pts = [(n, q, gas(v[which])) for (n, q), v in grid.items() if v[which] is not None]
    x = np.array([[1.0, q, n, n * q] for n, q, _ in pts])
    y = np.array([g for _, _, g in pts], dtype=float)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    worst = float(np.max(np.abs(x @ coef - y) / y))
    return [float(c) for c in coef], worst


def naive_estimates(grid: dict) -> tuple[dict, float]:
    """Gas per label of the naive points skipped for time, from a fit over the measured ones:
    ({(n, q): estimate}, largest relative error of the fit)."""
    skipped = [(n, q) for (n, q), v in grid.items() if v["naive"] is None]
    if not skipped:
        return {}, 0.0
    (a, b, c, d), err = _fit(grid, "naive", lambda r: r.total_gas)
    return {(n, q): (a + b * q + c * n + d * n * q) / (n * q) for n, q in skipped}, err


def summary_rows(grid: dict) -> list[list[str]]:
    rows = []
    for (n, q), v in grid.items():
        o, nv = v["ours"], v["naive"]
        if nv is None:
            rows.append([str(n), str(q), f"{n * q:,}", f"{o.gas_per_label:,.1f}", "not measured", "", "", ""])
            continue
        rows.append([str(n), str(q), f"{n * q:,}", f"{o.gas_per_label:,.1f}", f"{nv.gas_per_label:,.1f}",
                     f"{nv.gas_per_label / o.gas_per_label:,.1f}x", f"{nv.reveal.txs / n:.2f}", str(nv.finalize.txs)])
    return rows


def op_rows(grid: dict, which: str) -> list[list[str]]:
    rows = []
    for (n, q), v in grid.items():
        r = v[which]
        if r is None:
            continue
        rows.append([str(n), str(q), *round_cells(r)])
    return rows


def breakdown(r) -> str:
    """Where the gas of one round of ours goes, per operation, split into intrinsic gas (21000 per
    transaction + calldata) and execution."""
    labels = r.n * r.q
    rows = []
    for name, op in (("commit", r.commit), ("reveal", r.reveal), ("finalize", r.finalize), ("claim", r.claim)):
        rows.append([name, str(op.txs), fmt_gas(op.total), f"{100 * op.total / r.total_gas:.0f}%",
                     f"{op.total / labels:,.1f}", f"{op.intrinsic / labels:,.1f}",
                     f"{(op.total - op.intrinsic) / labels:,.1f}"])
    rows.append(["**round**", str(r.commit.txs + r.reveal.txs + r.finalize.txs + r.claim.txs), fmt_gas(r.total_gas),
                 "100%", f"**{r.gas_per_label:,.1f}**",
                 f"{(r.commit.intrinsic + r.reveal.intrinsic + r.finalize.intrinsic + r.claim.intrinsic) / labels:,.1f}",
                 ""])
    return markdown_table(["operation", "txs", "gas", "share", "gas/label", "of which intrinsic", "of which execution"],
                     rows, text_first=True)


def write_markdown(facts: dict, grid: dict, bound: list, wall: dict, bench_seconds: float) -> str:
    ours_1k = grid[BREAKDOWN_POINT]["ours"]
    naive_1k = grid[BREAKDOWN_POINT]["naive"]
    fit, fit_err = _fit(grid, "ours", lambda r: r.finalize.total)
    skipped = [(n, q, v["skipped"]) for (n, q), v in grid.items() if v["naive"] is None]
    estimate, naive_fit_err = naive_estimates(grid)
    largest_naive = max((v["naive"] for v in grid.values() if v["naive"]), key=lambda r: r.n * r.q)
    single = [(n, q) for (n, q), v in grid.items() if v["naive"] is not None and v["naive"].finalize.txs == 1]
    largest_single = max(single, key=lambda p: p[0] * p[1]) if single else None
    med = {b: statistics.median(r.seconds for r in runs) for b, runs in wall.items()}
    execution = {b: sorted({r.execution_gas for r in runs}) for b, runs in wall.items()}
    all_execution = sorted({g for gs in execution.values() for g in gs})
    worst_bound = max(bound, key=lambda r: r.finalize.total)
    met = ours_1k.gas_per_label <= TARGET_GAS_PER_LABEL

    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (scripts/benchmark.py); do not edit by hand. Gas figures repeat from run to",
        "run (fixed labels, stakes and salts); wall times depend on the machine and its load.",
        "",
        "Every point is one complete round -- deposit, openRound, N commits, N reveals, finalize, N claims --",
        f"with K = {K}. Three quarters of the participants agree with a hidden truth about 80% of the time, the",
        "others label at random (so some revealers are slashed as deviators). Gas per label =",
        "(sum of all commit + reveal + claim gas + finalize gas) / (N x Q), i.e. amortised per label per",
        "participant. *Ours* is contracts/ConsensusLearning.sol; *naive* is",
        "contracts/reference/NaiveConsensusLearning.sol, the same protocol written the textbook way (one storage",
        "slot per revealed label, per-query per-class tallies updated in storage at every reveal, consensus and",
        "scores computed from storage at finalize), whose reveal and finalize are sent as resumable batches of",
        "at most one 30M-gas block each.",
        "",
        "## Gas per label: ours vs naive",
        "",
        markdown_table(["N", "Q", "N x Q", "ours gas/label", "naive gas/label", "naive / ours",
                   "naive reveal txs per participant", "naive finalize txs"], summary_rows(grid)),
        "",
    ]
    if skipped:
        lines += ["Naive not measured (time budget of this run): "
                  + "; ".join(f"N={n}, Q={q} ({why})" for n, q, why in skipped)
                  + f". A least-squares fit of naive round gas ~ a + b Q + c N + d N x Q over the measured points "
                  f"(largest error {100 * naive_fit_err:.1f}%) estimates "
                  + "; ".join(f"about {e:,.0f} gas/label ({e / grid[p]['ours'].gas_per_label:.0f}x ours) at N={p[0]}, "
                              f"Q={p[1]}" for p, e in estimate.items())
                  + " (shown hollow in the plot; an estimate, not a measurement).", ""]
    lines += [
        f"Target: <= {TARGET_GAS_PER_LABEL} gas per label at N=16, Q=1024, K=10. Measured: "
        f"**{ours_1k.gas_per_label:,.1f}** -- the target is {'met' if met else '**missed**'}.",
        "",
        f"Target: >= {TARGET_NAIVE_RATIO}x cheaper than naive at the same point. "
        + (f"Measured: **{naive_1k.gas_per_label / ours_1k.gas_per_label:,.1f}x** -- the target is "
           f"{'met' if naive_1k.gas_per_label >= TARGET_NAIVE_RATIO * ours_1k.gas_per_label else '**missed**'}."
           if naive_1k is not None else "Not measured in this run (naive skipped for time)."),
        "",
        "![gas per label against N x Q](img/bench_gas_per_label.png)",
        "",
        "## Per operation",
        "",
        "Commit, reveal and claim: mean gas per participant (reveal summed over its batches for naive);",
        "finalize: the whole finalization (all batches). Accuracy: consensus vs the hidden truth.",
        "",
        "### Ours",
        "",
        markdown_table(["N", "Q", "commit", "reveal", "finalize", "claim", "round total", "gas/label", "accuracy"],
                  op_rows(grid, "ours")),
        "",
        "### Naive",
        "",
        markdown_table(["N", "Q", "commit", "reveal", "finalize", "claim", "round total", "gas/label", "accuracy"],
                  op_rows(grid, "naive")),
        "",
        "## Does finalize fit one block?",
        "",
        f"Ours: finalize is linear in N x Q and the contract bounds N x Q by MAX_LABELS = 65,536. Measured at",
        "the bound: " + "; ".join(f"N={r.n}, Q={r.q}: {fmt_gas(r.finalize.total)} gas "
                                  f"({100 * r.finalize.total / BLOCK_GAS_LIMIT:.1f}% of a 30M block)" for r in bound)
        + f". So every round the contract accepts finalizes in one transaction "
          f"({'yes' if worst_bound.finalize.total <= BLOCK_GAS_LIMIT else 'NO: the bound is too high'}).",
        f"Least-squares fit over the grid (largest error {100 * fit_err:.1f}%): finalize ~ {fit[0]:,.0f} "
        f"+ {fit[1]:,.1f} Q + {fit[2]:,.0f} N + {fit[3]:,.1f} N x Q gas. If MAX_LABELS were lifted, a 30M block "
        f"would hold about N x Q = {(BLOCK_GAS_LIMIT - fit[0] - fit[1] * 1024 - fit[2] * 64) / fit[3]:,.0f} at Q=1024.",
        "",
        "Naive: every stored label is read back at finalize, and each query costs K cold storage reads plus a"
        " store, so finalize needs several blocks as soon as Q or N grows. "
        + (f"The largest grid point whose finalize fitted one block: N={largest_single[0]}, "
           f"Q={largest_single[1]} (N x Q = {largest_single[0] * largest_single[1]:,})." if largest_single
           else "No grid point finalized in one block.")
        + f" Its reveal alone costs about {largest_naive.reveal.mean / largest_naive.q:,.0f} gas per label at "
          f"N={largest_naive.n}, Q={largest_naive.q} (a new storage slot for the label and a tally update; more for"
          " the first revealer, whose tally slots are new too), so a participant's reveal needs several blocks"
          " at Q=1024; see the batch columns above.",
        "",
        "## Wall time of one round: Ganache vs Anvil",
        "",
        f"Ours, N={WALL_POINT[0]}, Q={WALL_POINT[1]}: openRound, {WALL_POINT[0]} commits, {WALL_POINT[0]} reveals, "
        f"finalize and {WALL_POINT[0]} claims sent through Brownie (gas estimation, signing, receipt) on a fresh "
        f"throw-away node of each kind; {WALL_REPEATS} rounds each, median reported.",
        "",
        markdown_table(["node", "runs (s)", "median (s)"],
                  [[b, ", ".join(f"{r.seconds:.2f}" for r in runs), f"{med[b]:.2f}"] for b, runs in wall.items()],
                  text_first=True),
        "",
        f"Ganache / Anvil = **{med['ganache'] / med['anvil']:.1f}x**. Execution gas (gas minus 21,000 and calldata) "
        "of all these rounds: " + ("identical on both nodes." if len(all_execution) == 1 else
                                   "not identical: " + "; ".join(f"{b} {', '.join(map(_g, gs))}"
                                                                 for b, gs in execution.items())
                                   + f" (spread {fmt_gas(all_execution[-1] - all_execution[0])} gas, "
                                   f"{100 * (all_execution[-1] - all_execution[0]) / all_execution[0]:.3f}%).")
        + " The nodes have different accounts and chain ids, so the bytes of addresses and commitments (calldata"
          " gas) differ, and finalize visits the revealers in a different (address) order, which changes how"
          " often the plurality loop's running leader changes (execution gas). Same inputs, same gas.",
        "",
    ]
    if not met:
        r = ours_1k
        sstore2 = 32_000 + 200 * (r.q + 1)
        lines += [
            f"## Where the gas goes (ours, N={r.n}, Q={r.q}, K={r.k})",
            "",
            "The target is missed, so here is one round split by operation. Intrinsic gas is what every",
            "transaction pays before executing: 21,000 plus calldata (16 per non-zero byte, 4 per zero byte).",
            "",
            breakdown(r),
            "",
            f"- commit and claim are fixed per participant (~{fmt_gas(r.commit.mean)} and ~{fmt_gas(r.claim.mean)} gas: "
            f"new storage for the submission, the stake accounting, an event, 21,000 base), i.e. "
            f"{(r.commit.mean + r.claim.mean) / r.q:,.1f} gas per label at Q={r.q}; they only amortise with larger Q.",
            f"- reveal carries the Q label bytes once ({16 * r.q:,} gas of calldata at 16 per byte) plus the "
            "commitment check and the participant's counters.",
            f"- finalize resends all N x Q labels as calldata (~16 gas per label), runs the plurality and the "
            f"matching loops (per-label term of the fit above: {fit[3]:,.1f} gas), and stores the consensus as "
            f"SSTORE2 code (~{fmt_gas(sstore2)} gas: CREATE + 200 per byte).",
            "",
            "What would cut it: an **optimistic finalize** -- the finalizer posts the consensus and the scores "
            "with a bond, and the on-chain tally runs only if someone challenges within a window -- drops the "
            f"resent labels and the plurality loops in the common case (about {16 + fit[3]:,.0f} of the "
            f"{r.finalize.total / (r.n * r.q):,.0f} gas per label of finalize), i.e. to about "
            f"{r.gas_per_label - 16 - fit[3]:,.0f} gas per label, at the cost of a challenge period before "
            "payouts. Commit and claim are fixed per participant, so they fall below 100 gas per label only "
            f"for Q above about {(r.commit.mean + r.claim.mean) / 100:,.0f}.",
            "",
        ]
    load_end = os.getloadavg()
    lines += [
        "## Machine",
        "",
        f"- date: {facts['date']}",
        f"- CPU: {facts['cpu']}, {facts['cores']} cores; {facts['os']}",
        f"- load average (1/5/15 min) at start: {', '.join(f'{x:.2f}' for x in facts['load_start'])}; at end: "
        f"{', '.join(f'{x:.2f}' for x in load_end)}",
        f"- Python {facts['python']}, Brownie {facts['brownie']}, solc {facts['solc']} (optimizer 200 runs, "
        "EVM shanghai)",
        f"- Ganache: {facts['ganache']}; Anvil: {facts['anvil']}",
        f"- whole benchmark run: {bench_seconds / 60:.1f} min",
        "",
    ]
    text = "\n".join(lines)
    MARKDOWN.parent.mkdir(parents=True, exist_ok=True)
    MARKDOWN.write_text(text)
    return text


def plot(grid: dict, estimates: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    styles = {"ours": ("tab:blue", "o"), "naive": ("tab:red", "s")}
    for which, (color, marker) in styles.items():
        for q, dash in zip(GRID_Q, ("-", "--", ":")):
            pts = sorted((n * q, v[which].gas_per_label) for (n, qq), v in grid.items() if qq == q and v[which])
            if pts:
                ax.plot(*zip(*pts), dash, color=color, marker=marker, label=f"{which}, Q={q}")
    for (n, q), e in (estimates or {}).items():
        ax.plot([n * q], [e], "s", mfc="none", color="tab:red", label=f"naive, N={n} Q={q} (estimated)")
    ax.axhline(TARGET_GAS_PER_LABEL, color="grey", lw=0.8)
    ax.text(0.01, TARGET_GAS_PER_LABEL * 1.08, f"target {TARGET_GAS_PER_LABEL} (N=16, Q=1024)", color="grey",
            fontsize=8, transform=ax.get_yaxis_transform())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N x Q (labels per round)")
    ax.set_ylabel("gas per label per participant")
    ax.set_title(f"Amortised gas per label, K={K}: ConsensusLearning vs naive reference")
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=8, ncol=2)
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=120)
    plt.close(fig)


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
    log(f"Wall time of one round (ours, N={WALL_POINT[0]}, Q={WALL_POINT[1]}):")
    wall = measure_wall_time()
    plot(grid, naive_estimates(grid)[0])
    text = write_markdown(facts, grid, bound, wall, time.time() - started)
    log("\n" + text)
    log(f"Wrote {MARKDOWN.relative_to(ROOT)} and {PLOT.relative_to(ROOT)} in {(time.time() - started) / 60:.1f} min")
