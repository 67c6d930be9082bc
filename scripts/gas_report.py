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

from scripts._measure import K, TARGET_GAS_PER_LABEL, Ours, markdown_table, quiet, round_cells, run_round

POINTS = [(4, 64), (16, 256), (16, 1024), (32, 1024)]
HEADER = ["N", "Q", "K", "commit", "reveal", "finalize", "claim", "round total", "gas/label", "accuracy"]


def measure(points=POINTS, k: int = K) -> list:
    results = []
    for n, q in points:
        with quiet():
            results.append(run_round([Ours(ConsensusLearning)], n, q, k)["ours"])
    return results


def rows(results) -> list[list[str]]:
    return [[str(r.n), str(r.q), str(r.k), *round_cells(r)] for r in results]


def text_table(header: list[str], body: list[list[str]]) -> str:
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in body)])


def main():
    # Brownie warns about its own internal rpc.* calls (chain.sleep, chain.mine); nothing to act on here.
    warnings.filterwarnings("ignore", message=r"rpc\.\w+ should not be called directly")
    results = measure()
    body = rows(results)
    print("\nConsensusLearning gas per round (commit, reveal, claim: mean per participant; finalize: one tx)")
    print(text_table(HEADER, body))
    print("\ngas/label = (sum of commit + reveal + claim gas + finalize gas) / (N * Q)\n")
    print(markdown_table(HEADER, body))
    target = next((r for r in results if (r.n, r.q) == (16, 1024)), None)
    if target is not None:
        verdict = "meets" if target.gas_per_label <= TARGET_GAS_PER_LABEL else "MISSES"
        print(f"\nN=16, Q=1024, K={target.k}: {target.gas_per_label:.1f} gas per label per participant "
              f"({verdict} the <= {TARGET_GAS_PER_LABEL} target)")
