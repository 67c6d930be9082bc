"""Render benchmark results: docs/benchmarks.md, its plot, and the tables of scripts/gas_report.py.

Pure functions on plain result data: no Brownie, no node, no clock. scripts/_measure.py fills the
`RoundResult`s defined here, scripts/benchmark.py and scripts/gas_report.py call the renderers, and
tests/tools/test_benchdoc.py renders a canned grid. Every figure on the page comes from the results
passed in; the only constants are the block gas limit and the project's targets.

A benchmark *grid* is {(n, q): {"ours": RoundResult, "naive": RoundResult | None, "skipped": str}};
*bound* is a list of RoundResult at N x Q = MAX_LABELS; *wall* is {backend: [RoundResult, ...]} with
"ganache" and "anvil"; *facts* is the machine dict of scripts/benchmark.machine_facts plus "load_end".
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

BLOCK_GAS_LIMIT = 30_000_000
GAS_CAP = 2**24  # EIP-7825 (Fusaka): the most gas one transaction may use
TARGET_GAS_PER_LABEL = 300  # the project's target at TARGET_POINT, K=10
TARGET_POINT = (16, 1024)  # (N, Q) of both targets; the gas breakdown is shown there if the target is missed
TARGET_NAIVE_RATIO = 50  # ours at least this many times cheaper than naive at TARGET_POINT
PLOT_NAME = "img/bench_gas_per_label.png"  # the plot, relative to docs/benchmarks.md

_OP_HEADER = ["commit", "reveal", "finalize", "claim", "round total", "gas/label", "accuracy"]


# ----------------------------------------------------------------------------------------- result data


@dataclass
class OpGas:
    """Gas of one operation over a round: per participant (summed over batches) and its transactions."""

    per_participant: list[int] = field(default_factory=list)
    txs: int = 0
    intrinsic: int = 0  # 21000 + calldata over all its transactions

    @property
    def total(self) -> int:
        return sum(self.per_participant)

    @property
    def mean(self) -> float:
        return self.total / len(self.per_participant) if self.per_participant else 0.0

    def add(self, gas_used: list[int], intrinsic: list[int]) -> None:
        """One participant's transactions (several for a batched operation): their gas and intrinsic gas."""
        self.per_participant.append(sum(gas_used))
        self.txs += len(gas_used)
        self.intrinsic += sum(intrinsic)


@dataclass
class TxRecord:
    """One transaction: what it did, the gas it used and the size of its input (calldata bytes)."""

    op: str
    gas: int
    calldata: int
    floor: int = 0  # EIP-7623's calldata floor (21000 + 10 per zero, 40 per other byte): prague's gas is the larger
    size: int = 0  # the signed transaction's encoded bytes (what geth's pool limits), where measured; else 0

    @property
    def prague_gas(self) -> int:
        """Gas used under prague's rules (EIP-7623): the larger of the gas used and the calldata floor (the two
        are equal for a transaction measured under prague; the EVM's opcode prices are the same since shanghai)."""
        return max(self.gas, self.floor)


@dataclass
class RoundResult:
    """Everything measured for one contract in one round."""

    contract: str  # driver name: "ours" or "naive"
    n: int
    q: int
    k: int
    commit: OpGas = field(default_factory=OpGas)
    reveal: OpGas = field(default_factory=OpGas)
    finalize: OpGas = field(default_factory=OpGas)  # one entry: the whole finalization, all batches
    claim: OpGas = field(default_factory=OpGas)
    submit: OpGas = field(default_factory=OpGas)  # the merged path (scripts/_measure.run_pipelined) only
    propose: OpGas = field(default_factory=OpGas)  # optimistic settlement (scripts/_measure.run_optimistic) only
    consensus: bytes = b""
    truth: bytes = b""
    matches: list[int] = field(default_factory=list)  # per participant, in participant order
    statuses: list[int] = field(default_factory=list)
    contract_address: str = ""
    seconds: float = 0.0  # wall time spent in this contract's transactions (openRound .. last claim)
    transactions: list[TxRecord] = field(default_factory=list)  # every transaction sent (optimistic runs only)

    @property
    def ops(self) -> tuple[tuple[str, OpGas], ...]:
        """The operations measured (a round on the merged path has submit and finalize, one on the single
        calls commit, reveal, finalize and claim; an optimistic round propose instead of finalize)."""
        ops = (("commit", self.commit), ("reveal", self.reveal), ("submit", self.submit), ("finalize", self.finalize),
               ("propose", self.propose), ("claim", self.claim))
        return tuple((name, op) for name, op in ops if op.per_participant)

    @property
    def total_gas(self) -> int:
        return sum(op.total for _, op in self.ops)

    @property
    def intrinsic_gas(self) -> int:
        """21000 per transaction plus calldata: depends on the bytes of addresses, salts and commitments."""
        return sum(op.intrinsic for _, op in self.ops)

    @property
    def execution_gas(self) -> int:
        return self.total_gas - self.intrinsic_gas

    @property
    def txs(self) -> int:
        return sum(op.txs for _, op in self.ops)

    @property
    def gas_per_label(self) -> float:
        """Amortised gas per label per participant: all round gas / (N * Q)."""
        return self.total_gas / (self.n * self.q)

    @property
    def accuracy(self) -> float:
        return sum(a == b for a, b in zip(self.consensus, self.truth)) / self.q


@dataclass
class FraudResult:
    """One wrong optimistic post and its refutation (scripts/_measure.OptimisticRounds.frauds)."""

    kind: str  # "query, fewest revealers", "query, every differing revealer" or "matches"
    n: int
    q: int
    k: int
    records: int = 0  # revealers proven (a query proof), 1 for a match-count proof
    planned: int = 0  # transactions the proof was split into (sent until the post fell)
    query: int = -1  # a query proof's query, posted label and alternative
    posted: int = -1
    alt: int = -1
    fewest_worst: int = 0  # a query proof: the fewest revealers refuting a flip at the hardest query ...
    fewest_median: int = 0  # ... and the median of that over all queries
    propose: TxRecord | None = None  # the wrong post
    txs: list[TxRecord] = field(default_factory=list)  # the proof's transactions, as sent
    refuted: bool = False

    @property
    def gas(self) -> int:
        return sum(t.gas for t in self.txs)


@dataclass
class OptimisticShape:
    """Everything measured for optimistic settlement at one (N, Q, K): a round on single calls, the merged
    path (None if not measured), the fraud proofs, the wall time of the three, and the round's seats
    (optimisticSeats(Q, K) as the contract answered; 0 if not read)."""

    single: RoundResult
    merged: RoundResult | None = None
    frauds: list[FraudResult] = field(default_factory=list)
    seconds: float = 0.0
    seats: int = 0


# ---------------------------------------------------------------------------------------------- tables


def fmt_gas(x: float) -> str:
    return f"{x:,.0f}"


def round_cells(r: RoundResult) -> list[str]:
    """One round's commit, reveal (mean per participant), finalize (total), claim (mean), round total,
    gas per label and accuracy, formatted for a table."""
    return [fmt_gas(r.commit.mean), fmt_gas(r.reveal.mean), fmt_gas(r.finalize.total), fmt_gas(r.claim.mean),
            fmt_gas(r.total_gas), f"{r.gas_per_label:,.1f}", f"{r.accuracy:.3f}"]


def markdown_table(header: list[str], rows: list[list[str]], text_first: bool = False) -> str:
    """A markdown table, numbers right-aligned (the first column left-aligned if it holds names)."""
    align = [":---" if text_first and i == 0 else "---:" for i in range(len(header))]
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def text_table(header: list[str], body: list[list[str]]) -> str:
    """A plain-text table for a terminal, every column right-aligned."""
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in body)])


def _block_share(gas: int) -> str:
    return f"{100 * gas / BLOCK_GAS_LIMIT:.1f}% of a {BLOCK_GAS_LIMIT // 10**6}M block"


# ------------------------------------------------------------------------------------------ gas_report

GAS_REPORT_HEADER = ["N", "Q", "K", "commit", "reveal", "finalize", "claim", "round total", "gas/label", "accuracy"]


def gas_report_rows(results: list[RoundResult]) -> list[list[str]]:
    return [[str(r.n), str(r.q), str(r.k), *round_cells(r)] for r in results]


def gas_report(results: list[RoundResult]) -> str:
    """What scripts/gas_report.py prints: a text table, the same as markdown, and the verdict on the target."""
    body = gas_report_rows(results)
    out = ["",
           "ConsensusLearning gas per round (commit, reveal, claim: mean per participant; finalize: one tx)",
           text_table(GAS_REPORT_HEADER, body),
           "",
           "gas/label = (sum of commit + reveal + claim gas + finalize gas) / (N * Q)",
           "",
           markdown_table(GAS_REPORT_HEADER, body)]
    target = next((r for r in results if (r.n, r.q) == TARGET_POINT), None)
    if target is not None:
        verdict = "meets" if target.gas_per_label <= TARGET_GAS_PER_LABEL else "MISSES"
        out += ["", f"N={target.n}, Q={target.q}, K={target.k}: {target.gas_per_label:.1f} gas per label per "
                    f"participant ({verdict} the <= {TARGET_GAS_PER_LABEL} target)"]
    return "\n".join(out)


# ------------------------------------------------------------------------------------ fits and derived


def fit(grid: dict, which: str, gas) -> tuple[list[float], float]:
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
    (a, b, c, d), err = fit(grid, "naive", lambda r: r.total_gas)
    return {(n, q): (a + b * q + c * n + d * n * q) / (n * q) for n, q in skipped}, err


def ratio(naive: RoundResult, ours: RoundResult) -> float:
    """How many times more gas per label naive spends than ours."""
    return naive.gas_per_label / ours.gas_per_label


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


# ---------------------------------------------------------------------------------- the page: sections


def _intro(k: int) -> list[str]:
    return [
        "# Benchmarks",
        "",
        "Generated by `make bench` (scripts/benchmark.py); do not edit by hand. Gas figures repeat from run to",
        "run (fixed labels, stakes and salts); wall times depend on the machine and its load.",
        "",
        "Every point is one complete round -- deposit, openRound, N commits, N reveals, finalize, N claims --",
        f"with K = {k}. Three quarters of the participants agree with a hidden truth about 80% of the time, the",
        "others label at random (so some revealers are slashed as deviators). Gas per label =",
        "(sum of all commit + reveal + claim gas + finalize gas) / (N x Q), i.e. amortised per label per",
        "participant. *Ours* is contracts/ConsensusLearning.sol; *naive* is",
        "contracts/reference/NaiveConsensusLearning.sol, the same protocol written the textbook way (one storage",
        "slot per revealed label, per-query per-class tallies updated in storage at every reveal, consensus and",
        "scores computed from storage at finalize), whose reveal and finalize are sent as resumable batches of",
        f"at most one {BLOCK_GAS_LIMIT // 10**6}M-gas block each.",
        "",
    ]


def summary_rows(grid: dict) -> list[list[str]]:
    rows = []
    for (n, q), v in grid.items():
        o, nv = v["ours"], v["naive"]
        head = [str(n), str(q), f"{n * q:,}", f"{o.gas_per_label:,.1f}"]
        if nv is None:
            rows.append(head + ["not measured", "", "", ""])
        else:
            rows.append(head + [f"{nv.gas_per_label:,.1f}", f"{ratio(nv, o):,.1f}x", f"{nv.reveal.txs / n:.2f}",
                                str(nv.finalize.txs)])
    return rows


def _skipped_note(grid: dict) -> list[str]:
    """The naive points skipped for time and their estimates from a fit over the measured ones."""
    skipped = [(n, q, v["skipped"]) for (n, q), v in grid.items() if v["naive"] is None]
    if not skipped:
        return []
    estimate, err = naive_estimates(grid)
    return ["Naive not measured (time budget of this run): "
            + "; ".join(f"N={n}, Q={q} ({why})" for n, q, why in skipped)
            + f". A least-squares fit of naive round gas ~ a + b Q + c N + d N x Q over the measured points "
            f"(largest error {100 * err:.1f}%) estimates "
            + "; ".join(f"about {e:,.0f} gas/label ({e / grid[p]['ours'].gas_per_label:.0f}x ours) at N={p[0]}, "
                        f"Q={p[1]}" for p, e in estimate.items())
            + " (shown hollow in the plot; an estimate, not a measurement).", ""]


def _targets(grid: dict) -> list[str]:
    ours, naive = grid[TARGET_POINT]["ours"], grid[TARGET_POINT]["naive"]
    n, q = TARGET_POINT
    if naive is None:
        vs_naive = "Not measured in this run (naive skipped for time)."
    else:
        vs_naive = (f"Measured: **{ratio(naive, ours):,.1f}x** -- the target is "
                    f"{_met(naive.gas_per_label >= TARGET_NAIVE_RATIO * ours.gas_per_label)}.")
    return [
        f"Target: <= {TARGET_GAS_PER_LABEL} gas per label at N={n}, Q={q}, K={ours.k}. Measured: "
        f"**{ours.gas_per_label:,.1f}** -- the target is {_met(ours.gas_per_label <= TARGET_GAS_PER_LABEL)}.",
        "",
        f"Target: >= {TARGET_NAIVE_RATIO}x cheaper than naive at the same point. " + vs_naive,
        "",
        f"![gas per label against N x Q]({PLOT_NAME})",
        "",
    ]


def _summary_section(grid: dict) -> list[str]:
    header = ["N", "Q", "N x Q", "ours gas/label", "naive gas/label", "naive / ours",
              "naive reveal txs per participant", "naive finalize txs"]
    return (["## Gas per label: ours vs naive", "", markdown_table(header, summary_rows(grid)), ""]
            + _skipped_note(grid) + _targets(grid))


def op_rows(grid: dict, which: str) -> list[list[str]]:
    return [[str(n), str(q), *round_cells(v[which])] for (n, q), v in grid.items() if v[which] is not None]


def _per_operation_section(grid: dict) -> list[str]:
    lines = [
        "## Per operation",
        "",
        "Commit, reveal and claim: mean gas per participant (reveal summed over its batches for naive);",
        "finalize: the whole finalization (all batches). Accuracy: consensus vs the hidden truth.",
        "",
    ]
    for title, which in (("Ours", "ours"), ("Naive", "naive")):
        lines += [f"### {title}", "", markdown_table(["N", "Q", *_OP_HEADER], op_rows(grid, which)), ""]
    return lines


def _ours_at_the_bound(grid: dict, bound: list) -> list[str]:
    worst = max(bound, key=lambda r: r.finalize.total)
    (a, b, c, d), err = fit(grid, "ours", lambda r: r.finalize.total)
    max_labels = max(r.n * r.q for r in bound)
    return [
        f"Ours: finalize is linear in N x Q and the contract bounds N x Q by MAX_LABELS = {max_labels:,}. Measured at",
        "the bound: " + "; ".join(f"N={r.n}, Q={r.q}: {fmt_gas(r.finalize.total)} gas ({_block_share(r.finalize.total)})"
                                  for r in bound)
        + ". So every round the contract accepts finalizes in one transaction "
          f"({'yes' if worst.finalize.total <= BLOCK_GAS_LIMIT else 'NO: the bound is too high'}).",
        f"Least-squares fit over the grid (largest error {100 * err:.1f}%): finalize ~ {a:,.0f} "
        f"+ {b:,.1f} Q + {c:,.0f} N + {d:,.1f} N x Q gas. If MAX_LABELS were lifted, a "
        f"{BLOCK_GAS_LIMIT // 10**6}M block would hold about N x Q = "
        f"{(BLOCK_GAS_LIMIT - a - b * 1024 - c * 64) / d:,.0f} at Q=1024.",
        "",
    ]


def _naive_blocks(grid: dict) -> list[str]:
    measured = [v["naive"] for v in grid.values() if v["naive"] is not None]
    largest = max(measured, key=lambda r: r.n * r.q)
    single = [(r.n, r.q) for r in measured if r.finalize.txs == 1]
    if single:
        n, q = max(single, key=lambda p: p[0] * p[1])
        fitted = f"The largest grid point whose finalize fitted one block: N={n}, Q={q} (N x Q = {n * q:,})."
    else:
        fitted = "No grid point finalized in one block."
    return [
        "Naive: every stored label is read back at finalize, and each query costs K cold storage reads plus a"
        " store, so finalize needs several blocks as soon as Q or N grows. " + fitted
        + f" Its reveal alone costs about {largest.reveal.mean / largest.q:,.0f} gas per label at "
          f"N={largest.n}, Q={largest.q} (a new storage slot for the label and a tally update; more for"
          " the first revealer, whose tally slots are new too), so a participant's reveal needs several blocks"
          " at Q=1024; see the batch columns above.",
        "",
    ]


def _finalize_section(grid: dict, bound: list) -> list[str]:
    return ["## Does finalize fit one block?", ""] + _ours_at_the_bound(grid, bound) + _naive_blocks(grid)


def _execution_gas_note(wall: dict) -> str:
    """Whether execution gas (gas minus intrinsic) was the same on every wall-time round of every node."""
    execution = {b: sorted({r.execution_gas for r in runs}) for b, runs in wall.items()}
    everything = sorted({g for gs in execution.values() for g in gs})
    if len(everything) == 1:
        return "identical on both nodes."
    spread = everything[-1] - everything[0]
    return ("not identical: " + "; ".join(f"{b} {', '.join(map(fmt_gas, gs))}" for b, gs in execution.items())
            + f" (spread {fmt_gas(spread)} gas, {100 * spread / everything[0]:.3f}%).")


def _wall_section(wall: dict) -> list[str]:
    med = {b: statistics.median(r.seconds for r in runs) for b, runs in wall.items()}
    first = next(iter(wall.values()))[0]
    n, q = first.n, first.q
    repeats = " or ".join(str(c) for c in sorted({len(runs) for runs in wall.values()}))
    return [
        "## Wall time of one round: Ganache vs Anvil",
        "",
        f"Ours, N={n}, Q={q}: openRound, {n} commits, {n} reveals, finalize and {n} claims sent through Brownie "
        f"(gas estimation, signing, receipt) on a fresh throw-away node of each kind; {repeats} rounds each, "
        "median reported.",
        "",
        markdown_table(["node", "runs (s)", "median (s)"],
                       [[b, ", ".join(f"{r.seconds:.2f}" for r in runs), f"{med[b]:.2f}"] for b, runs in wall.items()],
                       text_first=True),
        "",
        f"Ganache / Anvil = **{med['ganache'] / med['anvil']:.1f}x**. Execution gas (gas minus 21,000 and calldata) "
        "of all these rounds: " + _execution_gas_note(wall)
        + " The nodes have different accounts and chain ids, so the bytes of addresses and commitments (calldata"
          " gas) differ, and finalize visits the revealers in a different (address) order, which changes how"
          " often the plurality loop's running leader changes (execution gas). Same inputs, same gas.",
        "",
    ]


def breakdown(r: RoundResult) -> str:
    """Where the gas of one round goes, per operation, split into intrinsic gas (21000 per transaction +
    calldata) and execution."""
    labels = r.n * r.q
    rows = [[name, str(op.txs), fmt_gas(op.total), f"{100 * op.total / r.total_gas:.0f}%", f"{op.total / labels:,.1f}",
             f"{op.intrinsic / labels:,.1f}", f"{(op.total - op.intrinsic) / labels:,.1f}"] for name, op in r.ops]
    rows.append(["**round**", str(r.txs), fmt_gas(r.total_gas), "100%", f"**{r.gas_per_label:,.1f}**",
                 f"{r.intrinsic_gas / labels:,.1f}", ""])
    return markdown_table(["operation", "txs", "gas", "share", "gas/label", "of which intrinsic", "of which execution"],
                          rows, text_first=True)


def _breakdown_section(grid: dict) -> list[str]:
    """Where the gas goes at the target point, and what would cut it; only when the target is missed."""
    r = grid[TARGET_POINT]["ours"]
    if r.gas_per_label <= TARGET_GAS_PER_LABEL:
        return []
    per_label = fit(grid, "ours", lambda x: x.finalize.total)[0][3]
    sstore2 = 32_000 + 200 * (r.q + 1)
    fixed = r.commit.mean + r.claim.mean
    return [
        f"## Where the gas goes (ours, N={r.n}, Q={r.q}, K={r.k})",
        "",
        "The target is missed, so here is one round split by operation. Intrinsic gas is what every",
        "transaction pays before executing: 21,000 plus calldata (16 per non-zero byte, 4 per zero byte).",
        "",
        breakdown(r),
        "",
        f"- commit and claim are fixed per participant (~{fmt_gas(r.commit.mean)} and ~{fmt_gas(r.claim.mean)} gas: "
        f"new storage for the submission, the stake accounting, an event, 21,000 base), i.e. "
        f"{fixed / r.q:,.1f} gas per label at Q={r.q}; they only amortise with larger Q.",
        f"- reveal carries the Q label bytes once ({16 * r.q:,} gas of calldata at 16 per byte) plus the "
        "commitment check and the participant's counters.",
        f"- finalize resends all N x Q labels as calldata (~16 gas per label), runs the plurality and the "
        f"matching loops (per-label term of the fit above: {per_label:,.1f} gas), and stores the consensus as "
        f"SSTORE2 code (~{fmt_gas(sstore2)} gas: CREATE + 200 per byte).",
        "",
        "What would cut it: an **optimistic finalize** -- the finalizer posts the consensus and the scores "
        "with a bond, and the on-chain tally runs only if someone challenges within a window -- drops the "
        f"resent labels and the plurality loops in the common case (about {16 + per_label:,.0f} of the "
        f"{r.finalize.total / (r.n * r.q):,.0f} gas per label of finalize), i.e. to about "
        f"{r.gas_per_label - 16 - per_label:,.0f} gas per label, at the cost of a challenge period before "
        "payouts. Commit and claim are fixed per participant, so they fall below 100 gas per label only "
        f"for Q above about {fixed / 100:,.0f}.",
        "",
    ]


def _loads(xs) -> str:
    return ", ".join(f"{x:.2f}" for x in xs)


def _machine_section(facts: dict, bench_seconds: float) -> list[str]:
    return [
        "## Machine",
        "",
        f"- date: {facts['date']}",
        f"- CPU: {facts['cpu']}, {facts['cores']} cores; {facts['os']}",
        f"- load average (1/5/15 min) at start: {_loads(facts['load_start'])}; at end: {_loads(facts['load_end'])}",
        f"- Python {facts['python']}, Brownie {facts['brownie']}, solc {facts['solc']} (optimizer 200 runs, "
        "EVM shanghai)",
        f"- Ganache: {facts['ganache']}; Anvil: {facts['anvil']}",
        f"- whole benchmark run: {bench_seconds / 60:.1f} min",
        "",
    ]



def _prague_section(grid: dict, prague: dict) -> list[str]:
    """Ours on Anvil under prague (EIP-7623's calldata floor) beside the Ganache (shanghai) grid."""
    rows = []
    for (n, q), r in sorted(prague.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        base = grid.get((n, q), {}).get("ours")
        delta = f"{100 * (r.gas_per_label / base.gas_per_label - 1):+.1f}%" if base else "-"
        rows.append([str(n), str(q), fmt_gas(r.commit.mean), fmt_gas(r.reveal.mean), fmt_gas(r.finalize.total),
                     fmt_gas(r.claim.mean), f"{r.gas_per_label:,.1f}",
                     f"{base.gas_per_label:,.1f}" if base else "-", delta])
    header = ["N", "Q", "commit", "reveal", "finalize", "claim", "gas/label, prague", "gas/label, shanghai", "prague vs shanghai"]
    target = prague.get(TARGET_POINT)
    line = (f"At N={TARGET_POINT[0]}, Q={TARGET_POINT[1]} under today's rules: **{target.gas_per_label:,.1f}** gas per "
            f"label (commit {target.commit.mean / target.q:,.1f} + reveal {target.reveal.mean / target.q:,.1f} + "
            f"finalize {target.finalize.total / (target.n * target.q):,.1f} + claim {target.claim.mean / target.q:,.1f}).") \
        if target else ""
    return [
        "## Under today's fee rules (Anvil, prague)",
        "",
        "The same rounds (same labels, stakes and salts; ours only) on a fresh Anvil with `--hardfork prague`: since",
        "Pectra a transaction pays at least EIP-7623's calldata floor, 10 gas per zero byte and 40 per non-zero byte",
        "of calldata (plus 21,000), when that is more than its standard gas. Ganache has no prague; the tables",
        "above are shanghai rules. The floor binds only for data-heavy transactions (reveals at large Q); other",
        "differences, under 0.5 %, are the commitments' bytes (they hash the contract's address, which differs",
        "between the two runs, so their count of zero bytes does too).",
        "",
        markdown_table(header, rows),
        "",
        line,
        "",
    ]


MERGED_TARGET = 330  # issue 14: gas per label at TARGET_POINT on the merged path, prague rules
MERGED_CUT_POINT = (16, 256)  # ... and at least MERGED_CUT below the figure before its work, here
MERGED_CUT = 0.30
BEFORE_MERGED = 1_093.4  # gas/label at MERGED_CUT_POINT before issue 14 (docs/benchmarks.md of 2026-12-02, Ganache)


def _merged_section(prague: dict, merged: dict) -> list[str]:
    """The merged path (submit; scripts/_measure.run_pipelined) under prague, beside the single calls."""
    rows = []
    for (n, q), r in sorted(merged.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        single = prague.get((n, q))
        rows.append([str(n), str(q), fmt_gas(r.submit.mean), fmt_gas(r.finalize.total), f"{r.gas_per_label:,.1f}",
                     f"{single.gas_per_label:,.1f}" if single else "-",
                     f"{100 * (r.gas_per_label / single.gas_per_label - 1):+.1f}%" if single else "-"])
    out = [
        "## The merged path: one transaction per participant per round (Anvil, prague)",
        "",
        "Rounds run back to back (each opened when the one before enters its Reveal phase) and every participant",
        "sends one `submit` per round: claim r-1, reveal r, commit r+1 (docs/protocol.md, \"One transaction per",
        "round\"). Measured in the steady state: the pipeline runs SUBMISSION_SLOTS + 2 rounds, so the measured",
        "submit's commit overwrites a recycled submission slot, as a steady participant's does; gas per label =",
        "(N submits + the round's finalize) / (N x Q). Same labels and stakes as above; prague rules.",
        "",
        markdown_table(["N", "Q", "submit", "finalize", "gas/label, merged", "gas/label, single calls", "change"], rows),
        "",
    ]
    target, cut = merged.get(TARGET_POINT), merged.get(MERGED_CUT_POINT)
    if target is not None:
        verdict = "met" if target.gas_per_label <= MERGED_TARGET else "**missed**"
        out += [f"Target: <= {MERGED_TARGET} gas per label at N={TARGET_POINT[0]}, Q={TARGET_POINT[1]}, K={target.k} "
                f"under prague. Measured: **{target.gas_per_label:,.1f}** -- the target is {verdict}.", "",
                "Where it goes at that point:", "", breakdown(target), ""]
    if cut is not None:
        change = 1 - cut.gas_per_label / BEFORE_MERGED
        verdict = "met" if change >= MERGED_CUT else "**missed**"
        out += [f"Target: at least {100 * MERGED_CUT:.0f} % below {BEFORE_MERGED:,.1f} (the figure before the merged "
                f"path, recycled slots and the cheaper plurality) at N={MERGED_CUT_POINT[0]}, Q={MERGED_CUT_POINT[1]}. "
                f"Measured: **{cut.gas_per_label:,.1f}**, {100 * change:.1f} % below -- the target is {verdict}.", ""]
    return out


def _cap_section(cap: dict) -> list[str]:
    """The EIP-7825 check: {(n, q, k): {transaction: most gas}} of worst-case rounds, under prague."""
    ops = sorted({op for used in cap.values() for op in used})
    rows, over = [], []
    for (n, q, k), used in sorted(cap.items(), key=lambda kv: (kv[0][0] * kv[0][1], kv[0])):
        worst = max(used.values())
        rows.append([str(n), str(q), str(k)] + [fmt_gas(used.get(op, 0)) for op in ops]
                    + [f"{100 * worst / GAS_CAP:.1f}%"])
        if worst > GAS_CAP:
            over.append(f"N={n} Q={q} K={k}")
    verdict = ("Every transaction of every point is under the cap." if not over
               else "**Over the cap:** " + ", ".join(over) + ".")
    return [
        "## Every transaction under EIP-7825's cap (worst-case labels, prague)",
        "",
        f"Since Fusaka one transaction may use at most {GAS_CAP:,} gas. At every grid point and at the bound, one",
        "round built to cost the most (scripts/_measure.py `worst_case_round`): every revealer labels every query",
        "differently as far as K allows, the largest audit (G = min(MAX_AUDIT_QUERIES, Q)) is revealed with",
        "auditBoundBps = 0 so every revealer stays in the tally and is scored by the crowd rule; the most gas each",
        "kind of transaction used, and the largest as a share of the cap:",
        "",
        markdown_table(["N", "Q", "K"] + ops + ["largest / cap"], rows),
        "",
        verdict,
        "",
    ]


# ------------------------------------------------------------------------------- optimistic settlement

CALLDATA_CAP = 131_072  # 128 KB: the largest transaction geth's pool accepts (txMaxSize, the encoded transaction)
TX_ENVELOPE = 120  # bytes a type-2 transaction adds to its input (fields, signature, RLP headers): 110..125
INPUT_CAP = CALLDATA_CAP - TX_ENVELOPE  # the largest input that fits 128 KB with its envelope
OPTIMISTIC_TARGETS = {(16, 1024): 200, (100, 10_000): 45, (1000, 1000): 200}  # gas/label, cheapest client path
FRAUD_TXS_TARGET = (1000, 2)  # a query fraud proof at N = 1000 fits in at most two transactions
OPTIMISTIC_TITLE = "Optimistic settlement (Anvil, prague)"
_PATHS = (("single", "single calls"), ("merged", "merged (submit)"))


def _paths(shape) -> list[tuple[str, RoundResult]]:
    return [(label, getattr(shape, attr)) for attr, label in _PATHS if getattr(shape, attr) is not None]


def cheapest(shape) -> RoundResult:
    """The cheaper client path of an OptimisticShape (the targets are for it)."""
    return min((r for _, r in _paths(shape)), key=lambda r: r.gas_per_label)


def _mean_or_dash(op: OpGas) -> str:
    return fmt_gas(op.mean) if op.per_participant else "-"


def _target_cell(n: int, q: int, r: RoundResult) -> str:
    target = OPTIMISTIC_TARGETS.get((n, q))
    if target is None:
        return "-"
    return f"<= {target}: " + ("met" if r.gas_per_label <= target else "**missed**")


def optimistic_rows(optimistic: dict) -> list[list[str]]:
    """Gas per label of every shape and path: per participant (means), the post, the amortised figure."""
    rows = []
    for (n, q), shape in optimistic.items():
        for label, r in _paths(shape):
            first = r.claim.per_participant[0] if r.claim.per_participant else None
            rows.append([str(n), f"{q:,}", str(r.k), label, _mean_or_dash(r.commit), _mean_or_dash(r.reveal),
                         _mean_or_dash(r.claim), fmt_gas(first) if first is not None else "-", _mean_or_dash(r.submit),
                         fmt_gas(r.propose.total), f"{r.gas_per_label:,.1f}", _target_cell(n, q, r)])
    return rows


def _by_op(txs: list[TxRecord]) -> dict[str, list[TxRecord]]:
    out: dict[str, list[TxRecord]] = {}
    for t in txs:
        out.setdefault(t.op, []).append(t)
    return out


def transaction_rows(optimistic: dict) -> list[list[str]]:
    """Every kind of transaction each measurement sent: how many, their gas (least, mean, most) and the
    largest input."""
    rows = []
    for (n, q), shape in optimistic.items():
        for label, r in _paths(shape):
            for op, txs in _by_op(r.transactions).items():
                gas = [t.gas for t in txs]
                rows.append([str(n), f"{q:,}", label, op, str(len(txs)), fmt_gas(min(gas)),
                             fmt_gas(sum(gas) / len(gas)), fmt_gas(max(gas)), fmt_gas(max(t.calldata for t in txs))])
    return rows


def fraud_rows(optimistic: dict) -> list[list[str]]:
    rows = []
    for (n, q), shape in optimistic.items():
        for f in shape.frauds:
            rows.append([str(n), f"{q:,}", f.kind, str(f.records), f"{len(f.txs)} of {f.planned}",
                         ", ".join(fmt_gas(t.gas) for t in f.txs), fmt_gas(f.gas),
                         ", ".join(fmt_gas(t.calldata) for t in f.txs),
                         f"{100 * max(t.gas for t in f.txs) / GAS_CAP:.1f}%",
                         fmt_gas(f.propose.gas) if f.propose else "-"])
    return rows


def _all_txs(optimistic: dict) -> list[TxRecord]:
    return [t for shape in optimistic.values() for _, r in _paths(shape) for t in r.transactions] + \
        [t for shape in optimistic.values() for f in shape.frauds for t in f.txs + ([f.propose] if f.propose else [])]


def _fraud_target(optimistic: dict) -> list[str]:
    n, most = FRAUD_TXS_TARGET
    shape = next((s for (sn, _), s in optimistic.items() if sn == n), None)
    if shape is None:
        return []
    query = [f for f in shape.frauds if f.kind.startswith("query")]
    if not query:
        return []
    fewest = min(query, key=lambda f: f.records)
    ok = fewest.planned <= most
    return [f"Target: a query fraud proof at N = {n} fits in at most {most} transactions. Measured: the fewest "
            f"revealers ({fewest.records}) take **{fewest.planned}** transaction(s); every differing revealer "
            f"({max(f.records for f in query)}) is split into {max(f.planned for f in query)} -- the target is "
            f"{_met(ok)}.", ""]


def optimistic_section(optimistic: dict, measured: str = "") -> list[str]:
    """The page's section on optimistic settlement: {(n, q): OptimisticShape}; `measured`, a sentence on when
    and how long (for a run of this part alone)."""
    txs = _all_txs(optimistic)
    big_gas = max(txs, key=lambda t: t.gas)
    big_data = max(txs, key=lambda t: t.calldata)
    within = all(t.prague_gas <= GAS_CAP and t.calldata <= INPUT_CAP for t in txs)
    lines = [
        f"## {OPTIMISTIC_TITLE}",
        "",
        "Rounds opened with `openRoundWith(spec, uri)`, `spec.optimistic = true`, settle by a bonded post instead of",
        "`finalize` (docs/protocol.md, \"Optimistic settlement\"): after the reveals a keeper deposits the bond",
        "(`bondOf`) and calls `propose` with the consensus (in the reveals' wire form) and every committer's match",
        "count; once the challenge window is over the first claim confirms the post. Participants run in-process and",
        "send signed transactions (their own keys; the node's for its 19 accounts), many at a time, mined together",
        "(scripts/_measure.py `OptimisticRounds`, `run_optimistic_pipelined`: per-transaction gas does not depend on",
        "the block); the post is cl_client.optimistic's `honest_post`. Labels as above (K = 10), stakes",
        "`stake_of(i mod 64)` (with `stake_of(i)` the random quarter would hold most of the weight at N = 1000); local",
        "challenge terms: a one-hour window, the constructor's bonds (0.03 ETH + 0.001 ETH per revealer). Gas per",
        "label = (commits + reveals + propose + claims) / (N x Q) on single calls, (submits + propose) / (N x Q) on",
        "the merged path in its steady state (as above: SUBMISSION_SLOTS + 2 rounds back to back, each step's post",
        "confirmed by its first submit). Deposits (the participants' and the keeper's bond) and openRoundWith are",
        "not counted, as above. The targets are for the cheaper path.",
        "",
    ] + ([measured, ""] if measured else []) + [
        markdown_table(["N", "Q", "K", "path", "commit", "reveal", "claim", "first claim (confirms)", "submit",
                        "propose", "gas/label", "target"], optimistic_rows(optimistic)),
        "",
    ]
    for (n, q), shape in optimistic.items():
        target = OPTIMISTIC_TARGETS.get((n, q))
        if target is None:
            continue
        best = cheapest(shape)
        lines.append(f"- N={n}, Q={q:,}: **{best.gas_per_label:,.1f}** gas per label on the cheaper path "
                     f"({'merged' if best is shape.merged else 'single calls'}) -- the <= {target} target is "
                     f"{_met(best.gas_per_label <= target)}.")
    seated = [(n, q, s.seats) for (n, q), s in optimistic.items() if s.seats]
    if seated:
        lines += ["", "Each round is within its seats, `optimisticSeats(Q, K)` as the contract answers (the most "
                  "committers one `propose` takes under its gas budget): "
                  + "; ".join(f"N={n}, Q={q:,}: {n:,} of {seats:,}" for n, q, seats in seated)
                  + ". The worst cases at the seats (up to 1,677 committers; Q up to 65,535 packed, 64,000 at one "
                  "byte a label) are measured by tests/contract/test_optimistic_limits.py (reports/"
                  "optimistic_limits.txt)."]
    lines += ["", "### Every transaction", "",
              "Every transaction each measurement sent, by kind (the merged path: all its rounds), gas and input size "
              "(bytes of calldata):", "",
              markdown_table(["N", "Q", "path", "transaction", "count", "gas, least", "gas, mean", "gas, most",
                              "input, most"], transaction_rows(optimistic)),
              "",
              f"Largest transaction: {fmt_gas(big_gas.gas)} gas ({big_gas.op}, {100 * big_gas.gas / GAS_CAP:.1f}% of "
              f"EIP-7825's {GAS_CAP:,}); largest input: {fmt_gas(big_data.calldata)} bytes ({big_data.op}, "
              f"{100 * big_data.calldata / CALLDATA_CAP:.1f}% of 128 KB). "
              + (f"Every transaction, fraud proofs included, is within both caps ({GAS_CAP:,} gas; {INPUT_CAP:,} "
                 f"bytes of input: 128 KB less a transaction's ~{TX_ENVELOPE}-byte envelope)." if within
                 else "**Some transaction is over a cap.**"),
              "", "### Fraud proofs", "",
              "Per shape, one more round (everyone commits and reveals again) gets three wrong posts, each refuted by a",
              "watcher with cl_client.optimistic's proofs: the consensus with one query flipped to its least-supported",
              "label -- the query whose refutation needs the most revealers -- refuted by `challengeQuery` with",
              "`find_fraud`'s fewest revealers, then by every revealer whose label there is not the posted one; and",
              "the honest consensus with one match count off by one, refuted by `challengeMatches`. A query proof is",
              "split into transactions of at most 120,000 bytes of input (find_fraud's default) and sent until the",
              "post falls; \"txs\" is sent of planned.", "",
              markdown_table(["N", "Q", "proof", "revealers proven", "txs", "gas per tx", "gas", "input per tx (bytes)",
                              "largest / cap", "the wrong post"], fraud_rows(optimistic)),
              ""]
    for (n, q), shape in optimistic.items():
        query = next((f for f in shape.frauds if f.kind.startswith("query")), None)
        if query is not None:
            lines.append(f"- N={n}, Q={q:,}: query {query.query} posted as {query.posted} (the plurality is "
                         f"{query.alt}); the fewest revealers refuting a flip to the least-supported label: "
                         f"{query.fewest_worst} at this query, {query.fewest_median} at the median query.")
    lines.append("")
    lines += _fraud_target(optimistic)
    lines += ["Wall time (single calls and the fraud proofs, then the merged path, on a fresh Anvil each): "
              + "; ".join(f"N={n}, Q={q:,}: {s.seconds:.0f} s" for (n, q), s in optimistic.items()) + ".", ""]
    return lines


def splice_section(page: str, section: list[str] | str, before: tuple[str, ...] = ()) -> str:
    """`page` with its `## ` section of the same title as `section` replaced by it; if it has none, `section`
    goes before the first of the `before` titles present (else at the end)."""
    text = section if isinstance(section, str) else "\n".join(section)
    title = text.split("\n", 1)[0]
    lines = page.split("\n")
    heads = [i for i, line in enumerate(lines) if line.startswith("## ")]
    if title in lines:
        start = lines.index(title)
        end = next((i for i in heads if i > start), len(lines))
        return "\n".join(lines[:start] + text.split("\n") + lines[end:])
    for t in before:
        if f"## {t}" in lines:
            at = lines.index(f"## {t}")
            return "\n".join(lines[:at] + text.split("\n") + lines[at:])
    return page.rstrip("\n") + "\n\n" + text


OPTIMISTIC_BEFORE = ("Wall time of one round: Ganache vs Anvil", "Where the gas goes", "Machine")
"""Where benchmarks_page puts the optimistic section: after the cap section, before these."""


def benchmarks_page(facts: dict, grid: dict, bound: list, wall: dict, bench_seconds: float,
                    prague: dict | None = None, cap: dict | None = None, merged: dict | None = None,
                    optimistic: dict | None = None) -> str:
    """The whole of docs/benchmarks.md for one benchmark run (`prague`: {(n, q): RoundResult} of ours under
    prague rules; `cap`: the worst-case rounds' gas per transaction, see _cap_section; `merged`: {(n, q):
    RoundResult} of the merged path under prague; `optimistic`: {(n, q): OptimisticShape})."""
    k = grid[TARGET_POINT]["ours"].k
    return "\n".join(_intro(k) + _summary_section(grid) + _per_operation_section(grid) + _finalize_section(grid, bound)
                     + (_prague_section(grid, prague) if prague else [])
                     + (_merged_section(prague or {}, merged) if merged else []) + (_cap_section(cap) if cap else [])
                     + (optimistic_section(optimistic) if optimistic else [])
                     + _wall_section(wall) + _breakdown_section(grid) + _machine_section(facts, bench_seconds))


# ------------------------------------------------------------------------------------------------ plot


def plot(grid: dict, path: Path, estimates: dict | None = None) -> None:
    """Gas per label against N x Q, one line per contract and Q, skipped naive points' estimates hollow."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    styles = {"ours": ("tab:blue", "o"), "naive": ("tab:red", "s")}
    qs = sorted({q for _, q in grid})
    for which, (color, marker) in styles.items():
        for q, dash in zip(qs, ("-", "--", ":", "-.")):
            pts = sorted((n * q, v[which].gas_per_label) for (n, qq), v in grid.items() if qq == q and v[which])
            if pts:
                ax.plot(*zip(*pts), dash, color=color, marker=marker, label=f"{which}, Q={q}")
    for (n, q), e in (estimates or {}).items():
        ax.plot([n * q], [e], "s", mfc="none", color="tab:red", label=f"naive, N={n} Q={q} (estimated)")
    tn, tq = TARGET_POINT
    ax.axhline(TARGET_GAS_PER_LABEL, color="grey", lw=0.8)
    ax.text(0.01, TARGET_GAS_PER_LABEL * 1.08, f"target {TARGET_GAS_PER_LABEL} (N={tn}, Q={tq})", color="grey",
            fontsize=8, transform=ax.get_yaxis_transform())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N x Q (labels per round)")
    ax.set_ylabel("gas per label per participant")
    ax.set_title(f"Amortised gas per label, K={grid[TARGET_POINT]['ours'].k}: ConsensusLearning vs naive reference")
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=8, ncol=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
