"""Reports of a simulation run: report.json (every figure, the configuration, the seed), report.md, PNG plots,
and the tables printed on the console. Plots use matplotlib's Agg backend (no screen needed).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..strategies import STRATEGIES

ETHER = 10**18
# Figures that legitimately differ between two runs with the same seed (clock, gas, node-dependent timing).
VOLATILE_KEYS = frozenset({"started_at", "finished_at", "wall_time_s", "seconds", "train_seconds", "gas",
                           "gas_summary"})
GROUP_ORDER = tuple(STRATEGIES)  # honest first, then the Byzantine strategies in registry order


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, bytes):
        return "0x" + obj.hex()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def stable_figures(report: dict) -> Any:
    """The report without the items that change from run to run with the same seed (see VOLATILE_KEYS)."""

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in VOLATILE_KEYS}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    return strip(_jsonable(report))


def _groups(report_rounds: list[dict]) -> list[str]:
    seen = {g for r in report_rounds for g in r["groups"]}
    return [g for g in GROUP_ORDER if g in seen] + sorted(seen - set(GROUP_ORDER))


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _eth(wei) -> str:
    return "-" if wei is None else f"{wei / ETHER:.4f}"


def gas_summary(rounds: list[dict]) -> dict:
    """Mean gas per operation over all rounds."""
    ops: dict[str, list] = {}
    for r in rounds:
        for op, g in r.get("gas", {}).items():
            ops.setdefault(op, []).extend([g["mean"]] * g["count"])
    return {op: float(np.mean(v)) for op, v in ops.items()}


# ---------------------------------------------------------------------------------------------- tables
# One column spec per table feeds both report.md and the console (rich): (header, cell function).


def _equal_cell(r: dict) -> str:
    if r["equal_weights_round"]:
        return "yes" if r["consensus_equals_plurality"] else "NO"
    return "weighted: yes" if r["consensus_equals_weighted_vote"] else "weighted: NO"


ACCURACY_COLUMNS = (
    ("round", lambda r: str(r["round"])),
    ("consensus", lambda r: _pct(r["consensus_accuracy"])),
    ("off-chain vote", lambda r: _pct(r["centralised_accuracy"])),
    ("honest mean", lambda r: _pct(r["honest_mean_accuracy"])),
    ("honest best", lambda r: _pct(r["honest_best_accuracy"])),
    ("pooled model", lambda r: _pct(r["pooled_accuracy"])),
    ("= plurality", _equal_cell),
    ("false slashes", lambda r: str(r["false_slashes"])),
    ("caught", lambda r: f"{r['caught']}/{r['byzantine']}"),
    ("excluded", lambda r: f"{r.get('excluded', 0)}/{r['byzantine']}"),
)

COMPARISON_COLUMNS = (  # rows: (audited round, the same round without audits)
    ("round", lambda p: str(p[0]["round"])),
    ("consensus, audit", lambda p: _pct(p[0]["consensus_accuracy"])),
    ("consensus, no audit", lambda p: _pct(p[1]["consensus_accuracy"])),
    ("honest slashed, audit", lambda p: f"{p[0]['false_slashes']}/{p[0]['participants_count']}"),
    ("honest slashed, no audit", lambda p: f"{p[1]['false_slashes']}/{p[1]['participants_count']}"),
    ("Byzantine excluded / excluded or slashed, audit",
     lambda p: f"{p[0].get('excluded', 0)} / {p[0]['caught']} of {p[0]['byzantine']}"),
    ("Byzantine slashed, no audit", lambda p: f"{p[1]['caught']} of {p[1]['byzantine']}"),
)


def comparison_rows(report: dict) -> list[tuple[dict, dict]]:
    """(audited round, same round without audits) pairs, with the honest count as participants_count."""
    base = report.get("baseline")
    if not base or not report.get("rounds"):
        return []
    out = []
    for a, b in zip(report["rounds"], base["rounds"]):
        pair = []
        for r in (a, b):
            pair.append(dict(r, participants_count=sum(1 for row in r.get("participants", [])
                                                       if row["strategy"] == "honest")))
        out.append(tuple(pair))
    return out


def sweep_pairs(sweep: dict) -> list[dict]:
    """Sweep points side by side: per value, the audited point and the one without audits (if both ran)."""
    by_value: dict = {}
    for p in sweep["points"]:
        by_value.setdefault(p[sweep["key"]], {})["audit" if p.get("audit") else "none"] = p
    return [dict(value=v, **d) for v, d in by_value.items()]


def _side(p, side, key, fmt):
    d = p.get(side)
    return "-" if d is None else fmt(d[key])


def _sweep_pair_columns(key: str) -> tuple:
    return (
        (key, lambda p: f"{p['value']:g}"),
        ("round 1, audit", lambda p: _side(p, "audit", "consensus_accuracy_first", _pct)),
        ("round 1, no audit", lambda p: _side(p, "none", "consensus_accuracy_first", _pct)),
        ("mean, audit", lambda p: _side(p, "audit", "consensus_accuracy_mean", _pct)),
        ("mean, no audit", lambda p: _side(p, "none", "consensus_accuracy_mean", _pct)),
        ("honest slashed, audit", lambda p: _side(p, "audit", "false_slashes", str)),
        ("honest slashed, no audit", lambda p: _side(p, "none", "false_slashes", str)),
        ("Byz. caught, audit", lambda p: _side(p, "audit", "caught", str)),
        ("Byz. caught, no audit", lambda p: _side(p, "none", "caught", str)),
        ("honest stake, audit", lambda p: _side(p, "audit", "honest_stake_share_last", _pct)),
        ("honest stake, no audit", lambda p: _side(p, "none", "honest_stake_share_last", _pct)),
    )


def _sweep_columns(key: str) -> tuple:
    return (
        (key, lambda p: f"{p[key]:g}"),
        ("consensus first", lambda p: _pct(p["consensus_accuracy_first"])),
        ("consensus last", lambda p: _pct(p["consensus_accuracy_last"])),
        ("off-chain vote", lambda p: _pct(p["centralised_accuracy_mean"])),
        ("honest mean", lambda p: _pct(p["honest_mean_accuracy_mean"])),
        ("pooled", lambda p: _pct(p["pooled_accuracy_mean"])),
        ("honest stake share", lambda p: _pct(p["honest_stake_share_last"])),
        ("false slashes", lambda p: str(p["false_slashes"])),
        ("caught", lambda p: str(p["caught"])),
    )


def _theory_rows(t: dict) -> list[list[str]]:
    return [[str(n), f"{t['empirical'][i]:.4f}", f"{t['standard_error'][i]:.4f}", f"{t['analytic'][i]:.4f}",
             f"{t['best_individual'][i]:.4f}"] for i, n in enumerate(t["ns"])]


THEORY_HEADERS = ("N", "simulated", "s.e.", "analytic", "best learner")


def _snowball_rounds(rounds: list[dict]) -> list[dict]:
    return [dict(r["snowball"], round=r["round"], consensus_accuracy=r["consensus_accuracy"])
            for r in rounds if r.get("snowball")]


SNOWBALL_COLUMNS = (
    ("round", lambda s: str(s["round"])),
    ("on-chain consensus", lambda s: _pct(s["consensus_accuracy"])),
    ("Snowball gossip", lambda s: _pct(s["accuracy"])),
    ("= consensus", lambda s: _pct(s["equals_consensus"])),
    ("gossip rounds (mean / max)", lambda s: f"{s['rounds_mean']:.1f} / {s['rounds']}"),
    ("messages / participant / query", lambda s: f"{s['messages_per_participant_query']:.0f}"),
    ("undecided", lambda s: str(s["undecided"])),
    ("split decisions", lambda s: str(s["disagreement_queries"])),
)


def _degradation_columns(adversaries) -> tuple:
    cols = [("Byzantine", lambda row: f"{row['byzantine']} ({_pct(row['share'])})"),
            ("plurality", lambda row: _pct(row["plurality_accuracy"])),
            ("honest-only plurality", lambda row: _pct(row["honest_plurality_accuracy"]))]
    for a in adversaries:
        cols += [(f"Snowball ({a})", lambda row, a=a: _pct(row[a]["snowball_accuracy"])),
                 (f"rounds ({a})", lambda row, a=a: f"{row[a]['rounds_mean']:.1f}"),
                 (f"undecided ({a})", lambda row, a=a: str(row[a]["undecided"]))]
    return tuple(cols)


def _gossip_caption(g: dict) -> str:
    p = g["params"]
    return (f"Snowball k={p['k']}, alpha={p['alpha']}, beta={p['beta']}, at most {p['max_rounds']} gossip rounds; "
            f"peers sampled uniformly; 2 messages (query + reply) per sampled peer. Byzantine participants "
            f"({', '.join(g['strategies'])}) gossip their committed labels (lie) or feed the honest runner-up "
            f"label (split). {g['queries']} queries (every round's), Byzantine sets as in a sweep.")


def _cells(columns, items) -> tuple[list[str], list[list[str]]]:
    return [h for h, _ in columns], [[cell(item) for _, cell in columns] for item in items]


def _md_table(headers, rows) -> list[str]:
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + ["| " + " | ".join(r) + " |" for r in rows]


def _rich_table(title: str, headers, rows):
    from rich.table import Table

    t = Table(title=title)
    for h in headers:
        t.add_column(h, justify="right")
    for r in rows:
        t.add_row(*r)
    return t


# ---------------------------------------------------------------------------------------------- writing


def write_report(report: dict, out_dir: Path, plots: bool = True) -> dict:
    """Write report.json, report.md and the plots into out_dir; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if report.get("rounds"):
        report["gas_summary"] = gas_summary(report["rounds"])
    images = []
    if plots:
        images = make_plots(report, out_dir)
    report["plots"] = [p.name for p in images]
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "plots": images}
    paths["json"].write_text(json.dumps(_jsonable(report), indent=1))
    paths["md"].write_text(render_markdown(report))
    return paths


def write_threshold_report(report: dict, out_dir: Path, plots: bool = True) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = [plot_agreement(report["threshold"], out_dir / "agreement.png")] if plots else []
    report["plots"] = [p.name for p in images]
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "plots": images}
    paths["json"].write_text(json.dumps(_jsonable(report), indent=1))
    paths["md"].write_text(threshold_markdown(report["threshold"]))
    return paths


# ---------------------------------------------------------------------------------------------- plots


class PlotsUnavailable(RuntimeError):
    """matplotlib is not installed (it is the `sim` extra); one line, fit for a user."""


def require_plots() -> None:
    """Raise PlotsUnavailable (before a run, not after it) if matplotlib cannot be imported."""
    import importlib.util

    try:
        found = importlib.util.find_spec("matplotlib") is not None
    except ImportError:
        found = False
    if not found:
        raise PlotsUnavailable("plots need matplotlib: pip install 'cl-client[sim]' (or pass --no-plots)")


def _plt():
    require_plots()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def make_plots(report: dict, out_dir: Path) -> list[Path]:
    out = []
    if report.get("rounds"):
        out.append(plot_accuracy(report, out_dir / "accuracy.png"))
        out.append(plot_stake(report, out_dir / "stake.png"))
    if report.get("gossip"):
        out.append(plot_gossip(report["gossip"], out_dir / "gossip.png"))
    if report.get("sweep"):
        out.append(plot_sweep(report["sweep"], out_dir / "sweep.png"))
    if report.get("theory"):
        out.append(plot_theory(report["theory"], out_dir / "theory.png"))
    return out


def plot_accuracy(report: dict, path: Path) -> Path:
    plt = _plt()
    rounds = report["rounds"]
    x = [r["round"] for r in rounds]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for key, label, style in (("consensus_accuracy", "on-chain consensus", "o-"),
                              ("centralised_accuracy", "off-chain plurality (same labels)", "x--"),
                              ("honest_best_accuracy", "best honest participant", "s-"),
                              ("honest_mean_accuracy", "mean honest participant", "v-"),
                              ("pooled_accuracy", "one model on pooled shards", "^:")):
        ax.plot(x, [r[key] for r in rounds], style, label=label)
    ax.set_xlabel("round")
    ax.set_ylabel("accuracy on the round's queries")
    ax.set_xticks(x)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    c = report["config"]
    ax.set_title(f"{c['dataset']}: N={c['participants']}, Q={c['queries']}, alpha={c['alpha']}, "
                 f"{100 * c['byzantine']:.0f}% Byzantine")
    ax.legend(fontsize=8, loc="lower right")
    return _save(plt, fig, path)


def plot_stake(report: dict, path: Path) -> Path:
    plt = _plt()
    rounds = report["rounds"]
    groups = _groups(rounds)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    x = [0] + [r["round"] for r in rounds]
    styles = ["o-", "s--", "^:", "v-.", "D-", "x--", "*:"]
    for gi, g in enumerate(groups):
        init = report["initial_groups"].get(g)
        if not init:
            continue
        n = init["participants"]
        stake = [init["stake_wei"] / n / ETHER] + [r["groups"][g]["stake_wei"] / n / ETHER for r in rounds]
        earned = np.cumsum([0] + [r["groups"][g]["reward_wei"] / n / ETHER for r in rounds])
        style = styles[gi % len(styles)]
        ax1.plot(x, stake, style, label=f"{g} ({n})", ms=8 - gi)
        ax2.plot(x, earned, style, label=f"{g} ({n})", ms=8 - gi)
    for ax, ylabel in ((ax1, "mean stake per participant (ETH)"), (ax2, "mean cumulative reward (ETH)")):
        ax.set_xlabel("after round (0 = deposits)")
        ax.set_ylabel(ylabel)
        ax.set_xticks(x)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax1.set_title("stake by strategy (slashing)")
    ax2.set_title("rewards by strategy")
    return _save(plt, fig, path)


def plot_gossip(g: dict, path: Path) -> Path:
    plt = _plt()
    rows = g["rows"]
    x = [row["share"] for row in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot(x, [row["plurality_accuracy"] for row in rows], "o-", label="plurality (the contract's rule)")
    ax1.plot(x, [row["honest_plurality_accuracy"] for row in rows], "x:", color="grey",
             label="plurality of the honest only")
    for i, a in enumerate(g["adversaries"]):
        style = ("s--", "^-.")[i % 2]
        ax1.plot(x, [row[a]["snowball_accuracy"] for row in rows], style, label=f"Snowball, Byzantines {a}")
        ax2.plot(x, [row[a]["rounds_mean"] for row in rows], style, label=f"Byzantines {a}")
    ax1.set_xlabel("Byzantine share")
    ax1.set_ylabel("accuracy of the consensus")
    ax1.set_ylim(0, 1.02)
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=8, loc="lower left")
    ax2.set_xlabel("Byzantine share")
    ax2.set_ylabel("gossip rounds to decide (mean over queries)")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    p = g["params"]
    fig.suptitle(f"Snowball (k={p['k']}, alpha={p['alpha']}, beta={p['beta']}) vs the on-chain plurality", fontsize=10)
    return _save(plt, fig, path)


def plot_sweep(sweep: dict, path: Path) -> Path:
    plt = _plt()
    key = sweep["key"]
    audited = [p for p in sweep["points"] if p.get("audit")]
    plain = [p for p in sweep["points"] if not p.get("audit")]
    pts = audited or plain
    x = [p[key] for p in pts]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = [("consensus_accuracy_first", "consensus, first round", "o-"),
              ("consensus_accuracy_last", "consensus, last round", "s-"),
              ("centralised_accuracy_mean", "off-chain plurality (mean)", "x--"),
              ("honest_mean_accuracy_mean", "mean honest participant", "v-"),
              ("pooled_accuracy_mean", "pooled model (mean)", "^:")]
    for k, label, style in series:
        ax1.plot(x, [p[k] for p in pts], style, label=label + (", audit" if audited else ""))
    if audited and plain:
        ax1.plot([p[key] for p in plain], [p["consensus_accuracy_first"] for p in plain], "o:", color="grey",
                 label="consensus, first round, no audit")
    ax1.set_xlabel(key)
    ax1.set_ylabel("accuracy")
    ax1.set_ylim(0, 1.02)
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=8, loc="lower left")
    ax2.plot(x, [p["honest_stake_share_last"] for p in pts], "o-", label="honest")
    ax2.plot(x, [p["byzantine_stake_share_last"] for p in pts], "s-", label="Byzantine")
    ax2.set_xlabel(key)
    ax2.set_ylabel("share of total stake after the last round")
    ax2.set_ylim(0, 1.02)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_theory(theory: dict, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ns = theory["ns"]
    grid = list(range(1, max(ns) + 1))
    from .theory import majority_accuracy

    ax.plot(grid, [majority_accuracy(n, theory["mean_accuracy"]) for n in grid], "-", color="C0",
            label=f"analytic P_N(p), p = a/(a+b) = {theory['mean_accuracy']:.3f}")
    ax.errorbar(ns, theory["empirical"], yerr=[3 * s for s in theory["standard_error"]], fmt="o", color="C1",
                capsize=3, label=f"simulated plurality ({theory['draws']} draws, 3 s.e.)")
    ax.plot(ns, theory["best_individual"], "s:", color="C2", label="best learner of the committee (mean)")
    ax.axhline(theory["mean_accuracy"], color="grey", lw=0.8, ls="--", label="mean learner")
    ax.set_xlabel("learners N")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Beta({theory['a']:g}, {theory['b']:g}) learners: max |sim - analytic| = "
                 f"{theory['max_deviation']:.4f}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _save(plt, fig, path)


def plot_agreement(threshold: dict, path: Path) -> Path:
    plt = _plt()
    groups = [g for g in GROUP_ORDER if g in threshold["groups"]]
    alphas = list(threshold["by_alpha"])
    fig, ax = plt.subplots(figsize=(8, 4.2))
    width = 0.8 / max(1, len(groups))
    for gi, g in enumerate(groups):
        for ai, a in enumerate(alphas):
            s = threshold["by_alpha"][a].get(g)
            if not s or not s.get("n"):
                continue
            xpos = ai + (gi - (len(groups) - 1) / 2) * width
            ax.plot([xpos, xpos], [s["min"], s["max"]], color=f"C{gi}", lw=1)
            ax.plot([xpos, xpos], [s["p5"], s["p95"]], color=f"C{gi}", lw=5, alpha=0.6,
                    label=g if ai == 0 else None)
            ax.plot(xpos, s["median"], "k_", ms=8)
    bps = threshold["recommended_bps"]["bps"]
    if bps is not None:
        ax.axhline(bps / 10000, color="red", ls="--", lw=1, label=f"threshold {bps} bps")
    ax.set_xticks(range(len(alphas)), [f"alpha={a}" for a in alphas])
    ax.set_ylabel("agreement with the plurality (matches / Q)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, loc="center right")
    ax.set_title("agreement by group: min-max (thin), 5-95 percentile (thick), median")
    return _save(plt, fig, path)


# ---------------------------------------------------------------------------------------------- text


def render_markdown(report: dict) -> str:
    c = report["config"]
    lines = [f"# Consensus-learning simulation ({c['dataset']})", "",
             f"Started {report.get('started_at')}, wall time {report.get('wall_time_s', 0):.1f} s, seed {report['seed']}.",
             "", "## Configuration", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in c.items()]
    if report.get("chain"):
        ch = report["chain"]
        lines += ["", f"Chain: {ch['backend']} (chain id {ch['chain_id']}), contract {ch['contract']}; "
                  f"round parameters {ch['params']}."]
    if report.get("dataset", {}).get("pooled_model"):
        pm = report["dataset"]["pooled_model"]
        scores = ", ".join(f"{m} {v:.3f}" for m, v in pm["validation_accuracy"].items())
        lines += ["", f"Pooled model: **{pm['model']}**, trained on every shard pooled; chosen before any round "
                  f"by accuracy on a stratified {100 * pm['validation_share']:.0f} % validation split of the "
                  f"pooled training data ({scores}), never on the queries' labels."]
    if report.get("dataset"):
        d = report["dataset"]
        sizes = [s["size"] for s in d["shards"]]
        present = [s["classes_present"] for s in d["shards"]]
        lines += ["", f"Data: {d['train_size']} training samples split over {len(sizes)} shards "
                  f"(sizes {min(sizes)}..{max(sizes)}, classes present {min(present)}..{max(present)} of "
                  f"{d['classes']}); held-out query pool of {d['query_pool_size']}."]
    if report.get("participants"):
        lines += ["", "## Participants", "", "| # | address | strategy | model |", "|---|---|---|---|"]
        lines += [f"| {p['index']} | `{p['address']}` | {p['strategy']} | {p['model']} |" for p in report["participants"]]
    if report.get("rounds"):
        lines += ["", "## Accuracy per round", ""] + _md_table(*_cells(ACCURACY_COLUMNS, report["rounds"]))
        if comparison_rows(report):
            lines += ["", f"## The same run without audits (audit {c.get('audit')} per 100 vs 0)", ""]
            lines += _md_table(*_cells(COMPARISON_COLUMNS, comparison_rows(report)))
        groups = _groups(report["rounds"])
        lines += ["", "## Stake by strategy (ETH, total per group, after each round's claims)", "",
                  "| round | " + " | ".join(groups) + " |", "|---" * (len(groups) + 1) + "|"]
        init = report["initial_groups"]
        lines.append("| 0 | " + " | ".join(_eth(init.get(g, {}).get("stake_wei")) for g in groups) + " |")
        for r in report["rounds"]:
            lines.append(f"| {r['round']} | " + " | ".join(_eth(r["groups"].get(g, {}).get("stake_wei")) for g in groups)
                         + " |")
        lines += ["", "Rewards received (ETH, total per group over all rounds): " + ", ".join(
            f"{g} {_eth(sum(r['groups'].get(g, {}).get('reward_wei', 0) for r in report['rounds']))}" for g in groups)]
        if report.get("gas_summary"):
            lines += ["", "## Gas per operation (mean)", "", "| operation | gas |", "|---|---|"]
            lines += [f"| {op} | {g:,.0f} |" for op, g in report["gas_summary"].items()]
    if _snowball_rounds(report.get("rounds", [])):
        lines += ["", "## Snowball gossip beside the on-chain consensus (the paper's communication phase)", "",
                  "The same committed labels, decided by Snowball among the participants instead of by the "
                  "contract (Byzantine participants gossip what they committed).", ""]
        lines += _md_table(*_cells(SNOWBALL_COLUMNS, _snowball_rounds(report["rounds"])))
    if report.get("gossip"):
        g = report["gossip"]
        lines += ["", "### How Snowball and the plurality degrade with the Byzantine share (off-chain)", "",
                  _gossip_caption(g), ""] + _md_table(*_cells(_degradation_columns(g["adversaries"]), g["rows"]))
    if report.get("checks"):
        lines += ["", "## Checks", ""]
        lines += [f"- {k.replace('_', ' ')}: {v}" for k, v in report["checks"].items()]
    if report.get("sweep"):
        sw = report["sweep"]
        key = sw["key"]
        if any(p.get("audit") for p in sw["points"]) and any(not p.get("audit") for p in sw["points"]):
            lines += ["", f"## Sweep over {key}, with and without audits", ""]
            lines += _md_table(*_cells(_sweep_pair_columns(key), sweep_pairs(sw)))
        else:
            lines += ["", f"## Sweep over {key}", ""] + _md_table(*_cells(_sweep_columns(key), sw["points"]))
    if report.get("theory"):
        t = report["theory"]
        lines += ["", "## Theory check: Beta-distributed binary learners", "",
                  f"Accuracies p_i ~ Beta({t['a']:g}, {t['b']:g}) (mean {t['mean_accuracy']:.4f}); {t['draws']} committees "
                  f"per N, {t['queries']} queries each; plurality with ties to the smallest label.",
                  ""] + _md_table(THEORY_HEADERS, _theory_rows(t))
        lines += ["", f"Maximum |simulated - analytic| = {t['max_deviation']:.4f} "
                  f"(at most {t.get('max_deviation_se', 0):.1f} standard errors). The analytic value is exact for the "
                  "average over committees: once the Beta draws are averaged out, each learner is right on a query "
                  "with probability a/(a+b), independently of the others. The best learner of a committee is often "
                  "better than its plurality when accuracies are this heterogeneous (it cannot be identified "
                  "without labels, which is what the vote is for)."]
    if report.get("plots"):
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in report["plots"]]
    return "\n".join(lines) + "\n"


def threshold_markdown(t: dict) -> str:
    lines = ["# Agreement distributions (off-chain)", "",
             f"Seeds {t['seeds']} x alpha {t['alphas']}; base configuration {t['config']}.", "",
             "Agreement = matches with the equal-weight plurality / Q, per participant and round.", ""]
    lines += _dist_table(t["groups"], "all alphas")
    for a, groups in t["by_alpha"].items():
        lines += [""] + _dist_table(groups, f"alpha = {a}")
    lines += ["", "Consensus (equal-weight plurality) accuracy by alpha: " + "; ".join(
        f"alpha {a}: median {s['median']:.3f} (min {s['min']:.3f})" for a, s in t["consensus_accuracy_by_alpha"].items())]
    groups = [g for g in GROUP_ORDER if g in t["groups"]]
    lines += ["", "**Participant-rounds a threshold would slash** (agreement below it), slashed / measured:", "",
              "| threshold (bps) | alpha | " + " | ".join(groups) + " |", "|---|---|" + "---|" * len(groups)]
    for bps, by_a in t["slashed_by_threshold"].items():
        for a, counts in by_a.items():
            lines.append(f"| {bps} | {a} | " + " | ".join(f"{counts[g][0]}/{counts[g][1]}" for g in groups) + " |")
    lines += ["", recommendation_text(t["recommended_bps"]), "", "Lowest honest agreements (three per alpha):", ""]
    lines += [f"- seed {w['seed']}, alpha {w['alpha']}, round {w['round']}, participant {w['participant']} "
              f"({w['model']}, {w['classes_in_shard']} classes in shard): agreement {w['agreement']:.3f}, "
              f"accuracy {w['accuracy']:.3f}" for w in t["worst_honest"]]
    return "\n".join(lines) + "\n"


def recommendation_text(rec: dict) -> str:
    sep = ", ".join(rec["separable_alphas"]) or "none"
    nosep = ", ".join(rec["not_separable_alphas"]) or "none"
    if rec.get("bps") is None:
        return f"No single threshold separates honest from random/flip participants (separable alphas: {sep})."
    return (f"Over the alphas where every honest participant agreed more than every random/flip one ({sep}): "
            f"lowest honest agreement {rec['honest_min']:.3f}, highest random/flip agreement "
            f"{rec['random_flip_max']:.3f}; midpoint: **{rec['bps']} bps**. Not separable: {nosep}.")


def _dist_table(groups: dict, title: str) -> list[str]:
    lines = [f"**{title}**", "", "| group | n | min | p1 | p5 | median | p95 | max |", "|---|---|---|---|---|---|---|---|"]
    for g in [g for g in GROUP_ORDER if g in groups] + sorted(set(groups) - set(GROUP_ORDER)):
        s = groups[g]
        lines.append(f"| {g} | {s['n']} | {s['min']:.3f} | {s['p1']:.3f} | {s['p5']:.3f} | {s['median']:.3f} | "
                     f"{s['p95']:.3f} | {s['max']:.3f} |")
    return lines


def print_summary(report: dict, console) -> None:
    from rich.table import Table

    if report.get("rounds"):
        groups = _groups(report["rounds"])
        console.print(_rich_table("Accuracy per round (on the round's non-audit queries)",
                                  *_cells(ACCURACY_COLUMNS, report["rounds"])))
        if comparison_rows(report):
            console.print(_rich_table("The same run without audits beside it",
                                      *_cells(COMPARISON_COLUMNS, comparison_rows(report))))
        t = Table(title="Stake by strategy (ETH, group total after the round's claims; rewards in brackets)")
        t.add_column("round", justify="right")
        for g in groups:
            t.add_column(f"{g} ({report['initial_groups'][g]['participants']})", justify="right")
        t.add_row("0", *[_eth(report["initial_groups"][g]["stake_wei"]) for g in groups])
        for r in report["rounds"]:
            t.add_row(str(r["round"]), *[f"{_eth(r['groups'][g]['stake_wei'])} (+{r['groups'][g]['reward_wei'] / ETHER:.3f})"
                                         for g in groups])
        console.print(t)
        if report.get("gas_summary"):
            g = Table(title="Gas per operation (mean)")
            for op in report["gas_summary"]:
                g.add_column(op, justify="right")
            g.add_row(*[f"{v:,.0f}" for v in report["gas_summary"].values()])
            console.print(g)
        if _snowball_rounds(report["rounds"]):
            console.print(_rich_table("Snowball gossip beside the on-chain consensus (same committed labels)",
                                      *_cells(SNOWBALL_COLUMNS, _snowball_rounds(report["rounds"]))))
        if report.get("gossip"):
            g = report["gossip"]
            console.print(_rich_table("Plurality vs Snowball as the Byzantine share grows (off-chain)",
                                      *_cells(_degradation_columns(g["adversaries"]), g["rows"])))
            console.print(_gossip_caption(g), highlight=False)
        for k, v in report["checks"].items():
            console.print(f"check: {k.replace('_', ' ')}: {v}", highlight=False)
    if report.get("sweep"):
        sw = report["sweep"]
        key = sw["key"]
        if any(p.get("audit") for p in sw["points"]) and any(not p.get("audit") for p in sw["points"]):
            console.print(_rich_table(f"Sweep over {key}, with and without audits",
                                      *_cells(_sweep_pair_columns(key), sweep_pairs(sw))))
        else:
            console.print(_rich_table(f"Sweep over {key}", *_cells(_sweep_columns(key), sw["points"])))
    if report.get("theory"):
        th = report["theory"]
        console.print(_rich_table(f"Theory check: Beta({th['a']:g}, {th['b']:g}) binary learners", THEORY_HEADERS,
                                  _theory_rows(th)))
        console.print(f"max |simulated - analytic| = {th['max_deviation']:.4f} "
                      f"({th.get('max_deviation_se', 0):.1f} standard errors)", highlight=False)
    if "wall_time_s" in report:
        console.print(f"wall time {report['wall_time_s']:.1f} s", highlight=False)


def print_threshold(t: dict, console) -> None:
    from rich.table import Table

    for title, groups in [("all alphas", t["groups"])] + [(f"alpha = {a}", g) for a, g in t["by_alpha"].items()]:
        table = Table(title=f"Agreement with the plurality: {title}")
        for col in ("group", "n", "min", "p1", "p5", "median", "p95", "max"):
            table.add_column(col, justify="right")
        for g in [g for g in GROUP_ORDER if g in groups]:
            s = groups[g]
            table.add_row(g, str(s["n"]), *[f"{s[k]:.3f}" for k in ("min", "p1", "p5", "median", "p95", "max")])
        console.print(table)
    console.print(recommendation_text(t["recommended_bps"]).replace("**", ""), highlight=False)
