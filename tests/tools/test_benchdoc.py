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


# ------------------------------------------------------------------------------------ optimistic settlement

from tools.benchdoc import (  # noqa: E402
    CALLDATA_CAP,
    GAS_CAP,
    INPUT_CAP,
    OPTIMISTIC_BEFORE,
    OPTIMISTIC_TARGETS,
    OPTIMISTIC_TITLE,
    FraudResult,
    OptimisticShape,
    TxRecord,
    cheapest,
    optimistic_section,
    splice_section,
)


def _txs(op, gas, calldata) -> list[TxRecord]:
    return [TxRecord(op, g, c) for g, c in zip(gas, calldata)]


def optimistic_single(n, q, per_label_extra=0) -> RoundResult:
    """A canned optimistic round on single calls: commits, reveals, a post, claims (the first confirms)."""
    truth, consensus = _outcome(q)
    commit = [94_000 + 17 * i + (17_000 if i == 0 else 0) for i in range(n)]
    reveal = [21_000 + 20 * q + 40_000 + per_label_extra * q + 3 * i for i in range(n)]
    claim = [54_000 + 11 * i + (60_000 if i == 0 else 0) for i in range(n)]
    propose = 180_000 + 8_600 * n + 100 * q
    r = RoundResult("ours (optimistic)", n, q, K,
                    commit=_op(commit, n, n * 22_600), reveal=_op(reveal, n, n * (21_000 + 8 * q)),
                    propose=_op([propose], 1, 21_000 + 34 * n), claim=_op(claim, n, n * 21_600),
                    consensus=consensus, truth=truth)
    r.transactions = (_txs("openRoundWith", [250_000], [600]) + _txs("deposit", [68_000] * n, [4] * n)
                      + _txs("commit", commit, [68] * n) + _txs("reveal", reveal, [164 + q // 2] * n)
                      + _txs("deposit (keeper)", [51_000], [4]) + _txs("propose", [propose], [420 + 34 * n])
                      + _txs("claim", claim, [36] * n))
    return r


def optimistic_merged(n, q, per_label_extra=0) -> RoundResult:
    truth, consensus = _outcome(q)
    submit = [130_000 + (12 + per_label_extra) * q + 5 * i + (80_000 if i == 0 else 0) for i in range(n)]
    propose = 180_000 + 8_600 * n + 100 * q
    r = RoundResult("ours (optimistic, submit)", n, q, K, submit=_op(submit, n, n * (21_000 + 8 * q)),
                    propose=_op([propose], 1, 21_000 + 34 * n), consensus=consensus, truth=truth)
    r.transactions = _txs("submit", submit * 3, [300 + q // 2] * (3 * n)) + _txs("propose", [propose] * 3,
                                                                              [420 + 34 * n] * 3)
    return r


def frauds(n, q, planned=1) -> list[FraudResult]:
    post = TxRecord("propose (wrong)", 180_000 + 8_600 * n, 420 + 34 * n)
    fewest = FraudResult("query, fewest revealers", n, q, K, records=n // 3, planned=planned, query=7, posted=3, alt=1,
                         fewest_worst=n // 3, fewest_median=n // 4, propose=post,
                         txs=_txs("challengeQuery", [100_000 + 9_000 * (n // 3)] * planned, [120_000] * planned),
                         refuted=True)
    every = FraudResult("query, every differing revealer", n, q, K, records=n - 2, planned=planned + 1, query=7,
                        posted=3, alt=1, fewest_worst=n // 3, fewest_median=n // 4, propose=post,
                        txs=_txs("challengeQuery", [100_000 + 9_000 * (n - 2)], [100_000]), refuted=True)
    matches = FraudResult("matches", n, q, K, records=1, planned=1, propose=post,
                          txs=_txs("challengeMatches", [90_000 + 40 * q], [260 + q]), refuted=True)
    return [fewest, every, matches]


def shapes(per_label_extra=0, planned=1, big=0) -> dict:
    from cl_client.protocol import optimistic_seats

    out = {}
    for n, q in OPTIMISTIC_TARGETS:
        single = optimistic_single(n, q, per_label_extra)
        if big and (n, q) == (1000, 1000):
            single.transactions.append(TxRecord("propose", big, 40_000))
        out[(n, q)] = OptimisticShape(single, optimistic_merged(n, q, per_label_extra), frauds(n, q, planned),
                                      seconds=12.0 + n / 10, seats=optimistic_seats(q, K))
    return out


def test_optimistic_section_lists_every_shape_and_path_with_its_gas_per_label():
    o = shapes()
    text = "\n".join(optimistic_section(o))
    assert text.startswith(f"## {OPTIMISTIC_TITLE}\n")
    for (n, q), s in o.items():
        r, m = s.single, s.merged
        assert (f"| {n} | {q:,} | {K} | single calls | {fmt_gas(r.commit.mean)} | {fmt_gas(r.reveal.mean)} | "
                f"{fmt_gas(r.claim.mean)} | {fmt_gas(r.claim.per_participant[0])} | - | {fmt_gas(r.propose.total)} | "
                f"{r.gas_per_label:,.1f} |") in text
        assert (f"| {n} | {q:,} | {K} | merged (submit) | - | - | - | - | {fmt_gas(m.submit.mean)} | "
                f"{fmt_gas(m.propose.total)} | {m.gas_per_label:,.1f} |") in text
        assert r.gas_per_label == (r.commit.total + r.reveal.total + r.propose.total + r.claim.total) / (n * q)


def test_optimistic_section_gives_each_round_its_seats_when_read():
    text = "\n".join(optimistic_section(shapes()))
    assert ("Each round is within its seats, `optimisticSeats(Q, K)` as the contract answers (the most committers "
            "one `propose` takes under its gas budget): N=16, Q=1,024: 16 of 1,669; N=100, Q=10,000: 100 of 1,600; "
            "N=1000, Q=1,000: 1,000 of 1,670.") in text
    unread = shapes()
    for s in unread.values():
        s.seats = 0
    assert "Each round is within its seats" not in "\n".join(optimistic_section(unread))


def test_optimistic_targets_are_judged_on_the_cheaper_path_both_ways():
    o = shapes()
    text = "\n".join(optimistic_section(o))
    s = o[(16, 1024)]
    best = cheapest(s)
    assert best is s.merged and best.gas_per_label < s.single.gas_per_label
    verdict = "met" if best.gas_per_label <= 200 else "**missed**"
    assert (f"- N=16, Q=1,024: **{best.gas_per_label:,.1f}** gas per label on the cheaper path (merged) -- the "
            f"<= 200 target is {verdict}.") in text
    worse = "\n".join(optimistic_section(shapes(per_label_extra=400)))
    assert "gas per label on the cheaper path (merged) -- the <= 45 target is **missed**." in worse
    # a row's own verdict: the single calls at N=16 Q=1024 (about 230) miss, each figure judged on its own
    assert f"| {s.single.gas_per_label:,.1f} | <= 200: **missed** |" in text


def test_every_transaction_kind_is_tabulated_with_its_gas_range_and_largest_input():
    o = shapes()
    text = "\n".join(optimistic_section(o))
    r = o[(100, 10_000)].single
    reveals = [t for t in r.transactions if t.op == "reveal"]
    gas = [t.gas for t in reveals]
    assert (f"| 100 | 10,000 | single calls | reveal | 100 | {fmt_gas(min(gas))} | {fmt_gas(sum(gas) / 100)} | "
            f"{fmt_gas(max(gas))} | {fmt_gas(max(t.calldata for t in reveals))} |") in text
    assert "| 1000 | 1,000 | merged (submit) | submit | 3000 |" in text
    big = max((t for s in o.values() for t in s.single.transactions + s.merged.transactions
               + [x for f in s.frauds for x in f.txs + [f.propose]]), key=lambda t: t.gas)
    assert big.op == "challengeQuery"  # a fraud proof's transactions count too
    assert f"Largest transaction: {fmt_gas(big.gas)} gas ({big.op}, {100 * big.gas / GAS_CAP:.1f}% of" in text
    assert ("Every transaction, fraud proofs included, is within both caps (16,777,216 gas; 130,952 bytes of "
            "input: 128 KB less a transaction's ~120-byte envelope).") in text
    over = "\n".join(optimistic_section(shapes(big=GAS_CAP + 1)))
    assert "**Some transaction is over a cap.**" in over
    wide = shapes()
    wide[(16, 1024)].single.transactions.append(TxRecord("challengeMatches", 5_000_000, INPUT_CAP + 1))
    assert "**Some transaction is over a cap.**" in "\n".join(optimistic_section(wide))  # its envelope: over 128 KB
    floored = shapes()  # gas used under shanghai's rules, over the cap by prague's calldata floor
    floored[(16, 1024)].single.transactions.append(TxRecord("reveal", 3_000_000, 60_000, floor=GAS_CAP + 1))
    assert "**Some transaction is over a cap.**" in "\n".join(optimistic_section(floored))
    assert f"Largest transaction: {fmt_gas(GAS_CAP + 1)} gas (propose, 100.0% of" in over
    assert f"largest input: 120,000 bytes (challengeQuery, {100 * 120_000 / CALLDATA_CAP:.1f}% of 128 KB)" in text


def test_fraud_proofs_are_tabulated_and_the_two_transaction_target_is_judged_both_ways():
    o = shapes()
    text = "\n".join(optimistic_section(o))
    f = o[(1000, 1000)].frauds[0]
    assert (f"| 1000 | 1,000 | query, fewest revealers | {f.records} | 1 of 1 | {fmt_gas(f.txs[0].gas)} | "
            f"{fmt_gas(f.gas)} | 120,000 | {100 * f.txs[0].gas / GAS_CAP:.1f}% | {fmt_gas(f.propose.gas)} |") in text
    assert "| 1000 | 1,000 | query, every differing revealer | 998 | 1 of 2 |" in text
    assert "- N=1000, Q=1,000: query 7 posted as 3 (the plurality is 1); the fewest revealers refuting a flip to the " \
           "least-supported label: 333 at this query, 250 at the median query." in text
    assert ("Target: a query fraud proof at N = 1000 fits in at most 2 transactions. Measured: the fewest revealers "
            "(333) take **1** transaction(s); every differing revealer (998) is split into 2 -- the target is met.") in text
    missed = "\n".join(optimistic_section(shapes(planned=3)))
    assert "take **3** transaction(s); every differing revealer (998) is split into 4 -- the target is **missed**." in missed


def test_optimistic_section_sits_after_the_cap_section_and_only_when_measured():
    cap = {(4, 64, 10): {"finalize": 500_000, "reveal": 68_000}}
    without = benchmarks_page(FACTS, grid(), bound(), wall(), BENCH_SECONDS, cap=cap)
    assert OPTIMISTIC_TITLE not in without
    text = benchmarks_page(FACTS, grid(), bound(), wall(), BENCH_SECONDS, cap=cap, optimistic=shapes())
    at = text.index(f"## {OPTIMISTIC_TITLE}")
    assert text.index("## Every transaction under EIP-7825's cap") < at < text.index(f"## {OPTIMISTIC_BEFORE[0]}")
    assert "Wall time (single calls and the fraud proofs, then the merged path, on a fresh Anvil each): N=16, " \
           "Q=1,024: 14 s; N=100, Q=10,000: 22 s; N=1000, Q=1,000: 112 s." in text


def test_splice_replaces_the_section_or_puts_it_where_the_full_page_would():
    section = optimistic_section(shapes(), "This section was measured on its own (test).")
    assert "This section was measured on its own (test)." in section
    full = benchmarks_page(FACTS, grid(), bound(), wall(), BENCH_SECONDS)
    inserted = splice_section(full, section, OPTIMISTIC_BEFORE)
    assert inserted.index(f"## {OPTIMISTIC_TITLE}") < inserted.index(f"## {OPTIMISTIC_BEFORE[0]}")
    assert inserted.replace("\n".join(section) + "\n", "") == full  # nothing else changed
    again = splice_section(inserted, optimistic_section(shapes(per_label_extra=1)), OPTIMISTIC_BEFORE)
    assert again.count(f"## {OPTIMISTIC_TITLE}") == 1
    assert "This section was measured on its own (test)." not in again  # the old section is gone, whole
    assert again.index(f"## {OPTIMISTIC_TITLE}") == inserted.index(f"## {OPTIMISTIC_TITLE}")
    assert splice_section("# Benchmarks\n", section).endswith("\n".join(section))
