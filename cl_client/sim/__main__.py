"""`cl-client simulate` / `python -m cl_client.sim`: the simulation's command line.

    python -m cl_client.sim                          # defaults: digits, N=10, R=5, Q=100, 4 colluders,
                                                     # audit 10 per 100, and the same run without audits beside
    python -m cl_client.sim --participants 4 --rounds 1 --queries 20 --byzantine 0.25
    python -m cl_client.sim --byzantine collude:0.2,constant:0.2 --audit 0
    python -m cl_client.sim --sweep                  # colluders 0..60 %, with and without audits
    python -m cl_client.sim --dataset synthetic-beta   # the paper's theory check (off-chain)
    python -m cl_client.sim --measure-threshold        # agreement distributions for the default threshold
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..node import BACKENDS
from .config import BYZANTINE_STRATEGIES, SimConfig, SimulationError, config_dict, parse_mix
from .datasets import DATASETS, THEORY
from .metrics import report_ok
from .run import default_out_dir, parse_sweep, simulate
from .threshold import measure_threshold


def build_parser(prog: str = "python -m cl_client.sim") -> argparse.ArgumentParser:
    d = SimConfig()
    p = argparse.ArgumentParser(prog=prog,
                                description="Consensus learning on a local chain it starts: train, commit, "
                                            "reveal, finalize, claim; then report.")
    p.add_argument("--participants", "-n", type=int, default=d.participants, help="participants N (default %(default)s)")
    p.add_argument("--rounds", "-r", type=int, default=d.rounds, help="rounds R (default %(default)s)")
    p.add_argument("--queries", "-q", type=int, default=d.queries, help="queries per round Q (default %(default)s)")
    p.add_argument("--byzantine", default=f"{d.byzantine:g}",
                   help="Byzantine share of participants, cycled over --strategies (default %(default)s), or groups "
                        "as strategy:share,... e.g. collude:0.4 or collude:0.2,constant:0.2")
    p.add_argument("--strategies", default=",".join(d.strategies),
                   help=f"Byzantine strategies, cycled: {', '.join(BYZANTINE_STRATEGIES)} (default %(default)s)")
    p.add_argument("--models", default=",".join(d.models), help="estimators, cycled over participants")
    p.add_argument("--alpha", type=float, default=d.alpha, help="Dirichlet label-skew alpha (default %(default)s)")
    p.add_argument("--dataset", choices=(*DATASETS, THEORY), default=d.dataset,
                   help=f"data set (default %(default)s); {THEORY}: the paper's theory check, off-chain")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--backend", choices=BACKENDS, default=d.backend)
    p.add_argument("--out", help="report directory (default reports/<timestamp>/)")
    p.add_argument("--equal-weights", action="store_true", help="owner sets equal weights before the rounds")
    p.add_argument("--agreement-bps", type=int, default=None,
                   help="owner sets this agreement threshold before the rounds (default: the contract's)")
    p.add_argument("--stake", type=float, default=d.stake_eth, help="ETH each participant deposits (default %(default)s)")
    p.add_argument("--reward", type=float, default=d.reward_eth, help="ETH reward per round (default %(default)s)")
    p.add_argument("--audit", type=int, default=d.audit,
                   help="hidden known-label audit queries per 100 queries (default %(default)s; 0: no audit)")
    p.add_argument("--audit-bound-bps", type=int, default=None,
                   help="owner sets this audit bound before the rounds (default: the contract's)")
    p.add_argument("--no-baseline", action="store_true",
                   help="do not play the same run without audits beside the audited one")
    p.add_argument("--sweep", nargs="?", const="byzantine=0,0.1,0.2,0.3,0.4,0.5,0.6",
                   help="vary one setting over values (bare --sweep: byzantine=0,0.1,...,0.6, with and without audits)")
    p.add_argument("--measure-threshold", action="store_true",
                   help="off-chain: agreement distributions of honest vs Byzantine over seeds x alphas")
    p.add_argument("--seeds", default="0,1,2", help="--measure-threshold seeds (default %(default)s)")
    p.add_argument("--alphas", default="0.1,0.3,0.5,1.0", help="--measure-threshold alphas (default %(default)s)")
    p.add_argument("--single-calls", action="store_true",
                   help="participants send claim, reveal and commit one by one (default: the claim of a round "
                        "rides with the next round's commit in one submit transaction)")
    p.add_argument("--settle", choices=("finalize", "post"), default=d.settle,
                   help="settle rounds without an audit on chain (finalize, the default) or by a keeper's post "
                        "(optimistic settlement; every participant's watcher checks it)")
    p.add_argument("--optimistic", action="store_true",
                   help="open optimistic-only rounds (settled by posts; no audit, so give --audit 0; more "
                        "participants and queries than finalize can take)")
    p.add_argument("--wrong-posts", action="store_true",
                   help="the requester posts a wrong consensus first each round (with --settle post or "
                        "--optimistic); the participants' watchers must refute it")
    p.add_argument("--hardfork", choices=("shanghai", "cancun", "prague"), default=d.hardfork,
                   help="the local chain's rules (default %(default)s; others need --backend anvil; prague has "
                        "today's mainnet calldata pricing, EIP-7623)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--quiet", action="store_true", help="no progress bars or tables")
    return p


def _csv(text: str, kind=str) -> tuple:
    return tuple(kind(x.strip()) for x in text.split(",") if x.strip())


def _byzantine(text: str) -> tuple[float, tuple]:
    """--byzantine: a share (0.3) or groups (collude:0.2,constant:0.2)."""
    if ":" in text:
        mix = parse_mix(text)
        return sum(share for _, share in mix), mix
    try:
        return float(text), ()
    except ValueError:
        raise SimulationError(f"--byzantine wants a share (0.4) or groups name:share,... "
                              f"(collude:0.2,constant:0.2), got {text!r}") from None


def main(argv: Sequence[str] | None = None, prog: str = "python -m cl_client.sim") -> int:
    from rich.console import Console

    from ..chain import ChainError
    from ..node import NodeError
    from ..participant import ParticipantError
    from . import report as rep

    args = build_parser(prog).parse_args(argv)
    console = Console(quiet=args.quiet, width=None if sys.stdout.isatty() else 120)
    err = Console(stderr=True)
    try:
        byzantine, mix = _byzantine(args.byzantine)
        config = SimConfig(
            participants=args.participants, rounds=args.rounds, queries=args.queries, byzantine=byzantine, mix=mix,
            audit=args.audit, audit_bound_bps=args.audit_bound_bps, baseline=not args.no_baseline,
            strategies=_csv(args.strategies), models=_csv(args.models), alpha=args.alpha, dataset=args.dataset,
            seed=args.seed, backend=args.backend, equal_weights=args.equal_weights,
            agreement_bps=args.agreement_bps, stake_eth=args.stake, reward_eth=args.reward, settle=args.settle,
            optimistic=args.optimistic, wrong_posts=args.wrong_posts, hardfork=args.hardfork).validate()
        if not args.no_plots:
            rep.require_plots()
        out_dir = Path(args.out) if args.out else default_out_dir()
        out_dir.mkdir(parents=True, exist_ok=True)
        if args.measure_threshold:
            seeds, alphas = _csv(args.seeds, int), _csv(args.alphas, float)
            with console.status("measuring agreement off-chain") as status:
                result = measure_threshold(seeds, alphas, base=config,
                                           on_config=lambda s, a: status.update(f"measuring: alpha={a:g} seed={s}"))
            report = {"tool": "cl_client.sim --measure-threshold", "config": config_dict(config),
                      "seed": config.seed, "threshold": result}
            paths = rep.write_threshold_report(report, out_dir, plots=not args.no_plots)
            rep.print_threshold(result, console)
        else:
            sweep = parse_sweep(args.sweep) if args.sweep else None
            report = simulate(config, out_dir, sweep=sweep, console=console, show_progress=not args.quiet,
                              single_calls=args.single_calls)
            paths = rep.write_report(report, out_dir, plots=not args.no_plots)
            rep.print_summary(report, console)
    except (SimulationError, rep.PlotsUnavailable) as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        return 2
    except (ChainError, NodeError, ParticipantError) as exc:
        err.print(f"error: {type(exc).__name__}: {exc}", highlight=False, markup=False)
        return 1
    except KeyboardInterrupt:
        err.print("interrupted", highlight=False)
        return 130
    console.print(f"report: {paths['md']}", highlight=False)
    return 0 if report_ok(report) else 1


if __name__ == "__main__":
    sys.exit(main())
