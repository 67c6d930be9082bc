"""The simulation's merged path (the default) against --single-calls: the same seed gives the same figures
(consensus, statuses, rewards, penalties, stakes), with the claim of round r riding in the submit that commits
to round r + 1 -- one transaction fewer per participant per round."""
import pytest

from cl_client.sim import SimConfig, simulate
from cl_client.sim.report import stable_figures

SMALL = dict(participants=5, rounds=3, queries=20, byzantine=0.4, strategies=("random", "nonreveal"),
             models=("knn", "logistic_regression"), seed=5, backend="anvil", baseline=False)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    return {mode: simulate(SimConfig(**SMALL), tmp_path_factory.mktemp(mode), show_progress=False,
                           single_calls=(mode == "single"))
            for mode in ("merged", "single")}


def test_the_merged_path_sends_the_claim_with_the_next_commit(both):
    n = SMALL["participants"]
    merged = [r["gas"] for r in both["merged"]["rounds"]]
    single = [r["gas"] for r in both["single"]["rounds"]]
    # Merged: round 1 commits alone; rounds 2.. commit in a submit that claims the previous round; the last
    # round is claimed alone.
    assert merged[0]["commit"]["count"] == n and "submit" not in merged[0] and "claim" not in merged[0]
    for g in merged[1:]:
        assert g["submit"]["count"] == n and "commit" not in g
    assert [("claim" in g) for g in merged] == [False] * (SMALL["rounds"] - 1) + [True]
    # Transactions per round (finalize and the requester's aside): commit + reveal + claim per participant, the
    # non-revealer without its reveal; merged, commit and claim are one submit from the second round on.
    revealers = [r["revealers"] for r in both["single"]["rounds"]]
    assert revealers == [r["revealers"] for r in both["merged"]["rounds"]] and min(revealers) < n
    sent = lambda g: sum(g.get(op, {}).get("count", 0) for op in ("commit", "submit", "reveal", "claim"))
    assert [sent(g) for g in single] == [2 * n + k for k in revealers]
    assert [sent(g) for g in merged] == [n + k for k in revealers[:-1]] + [2 * n + revealers[-1]]
    # The submit costs less than the commit and claim it replaces.
    assert merged[1]["submit"]["mean"] < single[1]["commit"]["mean"] + single[0]["claim"]["mean"]
    assert both["merged"]["chain"]["transactions"] == "merged (submit)"


def test_the_merged_path_gives_the_same_figures_as_single_calls(both):
    def figures(report):
        out = stable_figures(report)
        out.pop("chain")
        for r in out["rounds"]:
            r.pop("round_id")
            for row in r["participants"]:
                row.pop("states")  # the merged path ends a round "finalized": its claim is in the next submit
                row.pop("address")
        out["participants"] = [{k: v for k, v in p.items() if k != "address"} for p in out["participants"]]
        return out

    merged, single = figures(both["merged"]), figures(both["single"])
    assert merged["rounds"][0]["consensus"], "nothing to compare"
    assert any(row["penalty_wei"] for r in merged["rounds"] for row in r["participants"]), "nobody slashed"
    assert merged == single
    last = both["merged"]["rounds"][-1]["participants"]
    assert [row["states"][-1] for row in last] == ["claimed"] * SMALL["participants"]
