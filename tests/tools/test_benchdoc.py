"""tools/benchdoc.py renders docs/benchmarks.md and gas_report's tables from results alone: render a canned
grid (no node, no Brownie) and check that the figures on the page are the ones in the results, in both
branches of every conditional paragraph."""
from __future__ import annotations

import math
import statistics
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.benchdoc import (  # noqa: E402  (the project root must be on sys.path first)
    BLOCK_GAS_LIMIT,
    TARGET_GAS_PER_LABEL,
    TARGET_POINT,
    OpGas,
    RoundResult,
    benchmarks_page,
    fmt_gas,
    gas_report,
    naive_estimates,
    plot,
)

GRID_N = (4, 8, 16, 32)
GRID_Q = (64, 256, 1024)
K = 10
FACTS = {
    "date": "2026-11-02 10:00 UTC", "cpu": "Test CPU @ 2.0GHz", "cores": 2, "os": "Linux-test",
    "python": "3.11.0", "brownie": "1.22.2", "ganache": "ganache v7.9.2", "anvil": "anvil 1.0.0",
    "solc": "0.8.24", "load_start": (1.5, 1.25, 1.0), "load_end": (2.0, 1.75, 1.5),
}
BENCH_SECONDS = 1416.0


# ------------------------------------------------------------------ canned results (formulas near the measured)


def _op(per, txs, intrinsic) -> OpGas:
    return OpGas(per_participant=list(per), txs=txs, intrinsic=intrinsic)


def _outcome(q: int) -> tuple[bytes, bytes]:
    truth = bytes(j % K for j in range(q))
    return truth, bytes((t + 1) % K if j % 20 == 0 else t for j, t in enumerate(truth))


def ours(n, q, cheap=False, finalize_extra=0, intrinsic_extra=0, seconds=0.0) -> RoundResult:
    f = 0.4 if cheap else 1.0
    wiggle = ((7 * n + 3 * q) % 11 - 5) * 40  # so that the fits are not exact
    truth, consensus = _outcome(q)
    return RoundResult(
        "ours", n, q, K,
        commit=_op([int(f * (68_000 + 17 * i)) for i in range(n)], n, n * 22_600),
        reveal=_op([int(f * (45_000 + 16 * q + 3 * i)) for i in range(n)], n, n * (21_000 + 16 * q)),
        finalize=_op([int(f * (155_525 + 336 * q + 13_879 * n + 176 * n * q)) + wiggle + finalize_extra], 1,
                     21_000 + 16 * n * q + intrinsic_extra),
        claim=_op([int(f * (52_000 + 11 * i)) for i in range(n)], n, n * 21_600),
        consensus=consensus, truth=truth, matches=[q - 3 * i for i in range(n)], statuses=[2] * n, seconds=seconds)


def naive(n, q) -> RoundResult:
    wiggle = ((5 * n + q) % 7 - 3) * 900
    reveal = [40_000 + 25_000 * q + (5_000 * q if i == 0 else 0) for i in range(n)]
    reveal_txs = sum(math.ceil(g / (BLOCK_GAS_LIMIT - 2_000_000)) for g in reveal)
    finalize = 30_000 + 21_000 * q + 5_000 * n * q + wiggle
    truth, consensus = _outcome(q)
    return RoundResult(
        "naive", n, q, K,
        commit=_op([70_000 + 13 * i for i in range(n)], n, n * 22_600),
        reveal=_op(reveal, reveal_txs, reveal_txs * 21_000 + n * 16 * q),
        finalize=_op([finalize], math.ceil(finalize / (BLOCK_GAS_LIMIT - 2_000_000)), 21_000),
        claim=_op([55_000 + 7 * i for i in range(n)], n, n * 21_600),
        consensus=consensus, truth=truth, matches=[q - 3 * i for i in range(n)], statuses=[2] * n)


def grid(cheap=False, skip=()) -> dict:
    out = {}
    for n, q in sorted(((n, q) for n in GRID_N for q in GRID_Q), key=lambda p: (p[0] * p[1], p[0])):
        why = f"projected {n * q * 0.03:.0f} s would exceed the time budget" if (n, q) in skip else ""
        out[(n, q)] = {"ours": ours(n, q, cheap), "naive": None if why else naive(n, q), "skipped": why}
    return out


def bound() -> list:
    return [ours(64, 1024), ours(16, 4096)]


def wall(differs=False) -> dict:
    ganache = [ours(16, 256, seconds=s) for s in (9.13, 8.71, 9.42)]
    if differs:  # other addresses on anvil (calldata gas) and another finalize order (execution gas)
        anvil = [ours(16, 256, finalize_extra=64 * j, intrinsic_extra=48, seconds=s)
                 for j, s in enumerate((2.11, 2.35, 2.02))]
    else:
        anvil = [ours(16, 256, seconds=s) for s in (2.11, 2.35, 2.02)]
    return {"ganache": ganache, "anvil": anvil}


def page(g=None, w=None) -> str:
    return benchmarks_page(FACTS, grid() if g is None else g, bound(), wall() if w is None else w, BENCH_SECONDS)


def section(text: str, title: str) -> str:
    """The text of one `## title` section."""
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


# ------------------------------------------------------------------------------------------------ the page


def test_every_grid_point_appears_in_the_summary_with_both_contracts_gas_per_label():
    g = grid()
    summary = section(page(g), "Gas per label: ours vs naive")
    for (n, q), v in g.items():
        o, nv = v["ours"], v["naive"]
        row = (f"| {n} | {q} | {n * q:,} | {o.gas_per_label:,.1f} | {nv.gas_per_label:,.1f} | "
               f"{nv.gas_per_label / o.gas_per_label:,.1f}x | {nv.reveal.txs / n:.2f} | {nv.finalize.txs} |")
        assert row in summary


def test_naive_ratio_at_the_target_point_is_computed_from_the_results():
    g = grid()
    o, nv = g[TARGET_POINT]["ours"], g[TARGET_POINT]["naive"]
    expected = nv.gas_per_label / o.gas_per_label
    assert round(expected, 1) == 80.0  # the canned data, worked by hand: 31,788.2 / 397.4
    assert f"Measured: **{expected:,.1f}x** -- the target is met." in page(g)


def test_per_operation_tables_hold_each_rounds_measured_gas():
    g = grid()
    text = page(g)
    for which, title in (("ours", "### Ours"), ("naive", "### Naive")):
        table = text[text.index(title):].split("\n\n")[1]
        for (n, q), v in g.items():
            r = v[which]
            assert (f"| {n} | {q} | {fmt_gas(r.commit.mean)} | {fmt_gas(r.reveal.mean)} | {fmt_gas(r.finalize.total)} "
                    f"| {fmt_gas(r.claim.mean)} | {fmt_gas(r.total_gas)} | {r.gas_per_label:,.1f} | {r.accuracy:.3f} |"
                    ) in table


def test_identical_execution_gas_on_both_nodes_is_reported_as_identical():
    w = wall(differs=False)
    assert len({r.execution_gas for runs in w.values() for r in runs}) == 1
    assert "of all these rounds: identical on both nodes." in page(w=w)


def test_differing_execution_gas_lists_each_nodes_figures_and_the_spread():
    # the branch that used an undefined name (`_g`) and killed `make bench` after all the measuring
    w = wall(differs=True)
    execution = {b: sorted({r.execution_gas for r in runs}) for b, runs in w.items()}
    low, high = min(min(v) for v in execution.values()), max(max(v) for v in execution.values())
    text = page(w=w)
    assert "not identical: ganache " + ", ".join(fmt_gas(x) for x in execution["ganache"]) + "; anvil " + ", ".join(
        fmt_gas(x) for x in execution["anvil"]) in text
    assert "; anvil 2,698,237, 2,698,301, 2,698,365 (spread 128 gas, 0.005%)." in text  # the same, by hand
    assert f"(spread {fmt_gas(high - low)} gas, {100 * (high - low) / low:.3f}%)." in text
    assert "identical on both nodes" not in text


def test_ganache_over_anvil_is_the_ratio_of_the_median_wall_times():
    w = wall()
    med = {b: statistics.median(r.seconds for r in runs) for b, runs in w.items()}
    wall_time = section(page(w=w), "Wall time of one round: Ganache vs Anvil")
    assert f"Ganache / Anvil = **{med['ganache'] / med['anvil']:.1f}x**" in wall_time
    assert "Ganache / Anvil = **4.3x**" in wall_time  # 9.13 / 2.11
    assert "| ganache | 9.13, 8.71, 9.42 | 9.13 |" in wall_time
    assert "Ours, N=16, Q=256: openRound, 16 commits" in wall_time  # the point comes from the results
    assert "3 rounds each" in wall_time


def test_a_naive_point_skipped_for_time_is_listed_and_estimated_from_the_fit():
    g = grid(skip={(32, 1024)})
    estimate, _ = naive_estimates(g)
    text = page(g)
    assert "| 32 | 1024 | 32,768 | " + f"{g[(32, 1024)]['ours'].gas_per_label:,.1f} | not measured |  |  |  |" in text
    assert "Naive not measured (time budget of this run): N=32, Q=1024 (projected 983 s" in text
    e = estimate[(32, 1024)]
    assert f"about {e:,.0f} gas/label ({e / g[(32, 1024)]['ours'].gas_per_label:.0f}x ours) at N=32, Q=1024" in text


def test_no_skipped_paragraph_when_naive_was_measured_everywhere():
    assert "Naive not measured" not in page()


def test_missed_target_shows_the_gas_breakdown_at_the_target_point():
    g = grid()
    r = g[TARGET_POINT]["ours"]
    assert r.gas_per_label > TARGET_GAS_PER_LABEL
    text = page(g)
    assert f"Measured: **{r.gas_per_label:,.1f}** -- the target is **missed**." in text
    where = section(text, f"Where the gas goes (ours, N={r.n}, Q={r.q}, K={r.k})")
    labels = r.n * r.q
    assert (f"| finalize | 1 | {fmt_gas(r.finalize.total)} | {100 * r.finalize.total / r.total_gas:.0f}% | "
            f"{r.finalize.total / labels:,.1f} | {r.finalize.intrinsic / labels:,.1f} | "
            f"{(r.finalize.total - r.finalize.intrinsic) / labels:,.1f} |") in where
    assert (f"| **round** | {r.txs} | {fmt_gas(r.total_gas)} | 100% | **{r.gas_per_label:,.1f}** | "
            f"{r.intrinsic_gas / labels:,.1f} |  |") in where


def test_met_target_and_naive_skipped_at_the_target_point():
    g = grid(cheap=True, skip={(16, 1024), (32, 1024)})
    r = g[TARGET_POINT]["ours"]
    assert r.gas_per_label <= TARGET_GAS_PER_LABEL
    text = page(g)
    assert f"Measured: **{r.gas_per_label:,.1f}** -- the target is met." in text
    assert "Not measured in this run (naive skipped for time)." in text
    assert "## Where the gas goes" not in text


def test_bound_section_reports_the_finalize_of_each_bound_shape_against_the_block():
    text = section(page(), "Does finalize fit one block?")
    assert "MAX_LABELS = 65,536" in text
    for r in bound():
        assert (f"N={r.n}, Q={r.q}: {fmt_gas(r.finalize.total)} gas "
                f"({100 * r.finalize.total / BLOCK_GAS_LIMIT:.1f}% of a 30M block)") in text
    assert "finalizes in one transaction (yes)." in text
    assert "The largest grid point whose finalize fitted one block: N=16, Q=256 (N x Q = 4,096)." in text


def test_machine_section_shows_the_facts_and_both_load_averages():
    text = section(page(), "Machine")
    assert "- CPU: Test CPU @ 2.0GHz, 2 cores; Linux-test" in text
    assert "at start: 1.50, 1.25, 1.00; at end: 2.00, 1.75, 1.50" in text
    assert "- whole benchmark run: 23.6 min" in text


def test_page_starts_with_the_title_and_names_k_from_the_results():
    text = page()
    assert text.startswith("# Benchmarks\n\nGenerated by `make bench`")
    assert f"with K = {K}." in text


# ------------------------------------------------------------------------------------- gas_report, plot


@pytest.mark.parametrize("cheap, verdict", [(False, "MISSES"), (True, "meets")])
def test_gas_report_tables_and_verdict_at_the_target_point(cheap, verdict):
    results = [ours(4, 64, cheap), ours(16, 1024, cheap)]
    text = gas_report(results)
    r = results[1]
    assert f"| 16 | 1024 | {K} | {fmt_gas(r.commit.mean)} |" in text
    assert text.endswith(f"N=16, Q=1024, K={K}: {r.gas_per_label:.1f} gas per label per participant "
                         f"({verdict} the <= {TARGET_GAS_PER_LABEL} target)")


def test_plot_writes_a_png(tmp_path):
    g = grid(skip={(32, 1024)})
    path = tmp_path / "img" / "plot.png"
    plot(g, path, naive_estimates(g)[0])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
