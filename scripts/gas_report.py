"""Gas of complete ConsensusLearning rounds, as a plain table and as markdown (for docs/protocol.md).

    brownie run scripts/gas_report.py --network ganache-cli
    python tools/brownie_net.py run -- brownie run scripts/gas_report.py main

For each (N, Q) with K = 10 it deploys the contract, runs one complete round with realistic labels (3/4 of
the participants agree with a hidden truth ~80% of the time, the rest label at random) and reports the
mean gas per participant of commit, reveal and claim, the gas of finalize, and the amortised gas per label
per participant = (all commit + reveal + claim gas + finalize gas) / (N * Q).
"""
from __future__ import annotations

import warnings

from brownie import ConsensusLearning

from scripts._measure import K, Ours, quiet, run_pipelined, run_round
from tools.benchdoc import gas_report

POINTS = [(4, 64), (16, 256), (16, 1024), (32, 1024)]


def measure(points=POINTS, k: int = K) -> list:
    results = []
    for n, q in points:
        with quiet():
            results.append(run_round([Ours(ConsensusLearning)], n, q, k)["ours"])
    return results


def main():
    # Brownie warns about its own internal rpc.* calls (chain.sleep, chain.mine); nothing to act on here.
    warnings.filterwarnings("ignore", message=r"rpc\.\w+ should not be called directly")
    print(gas_report(measure()))
    print("\nThe merged path (submit: claim r-1 + reveal r + commit r+1 per participant; steady state):")
    for n, q in POINTS:
        with quiet():
            r = run_pipelined(ConsensusLearning, n, q, K)
        print(f"  N={n:>2} Q={q:>4}: submit {r.submit.mean:,.0f}, finalize {r.finalize.total:,} -> "
              f"{r.gas_per_label:,.1f} gas/label")
