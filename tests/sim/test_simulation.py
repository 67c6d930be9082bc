"""The simulation end to end on a local chain (small configuration), plus its off-chain pieces.

The two chain runs (same seed, twice) are shared by the tests below through a module fixture.
"""
import json

import numpy as np
import pytest

from cl_client import simulation as sim
from cl_client.report import stable_figures, write_report

SMALL = dict(participants=4, rounds=1, queries=20, byzantine=0.25, strategies=("random",),
             models=("knn", "logistic_regression"), seed=5)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The small configuration run twice with the same seed, each on its own fresh local chain."""
    out = []
    for i in range(2):
        d = tmp_path_factory.mktemp(f"run{i}")
        report = sim.simulate(sim.SimConfig(**SMALL), d, show_progress=False)
        write_report(report, d)
        out.append((report, d))
    return out


@pytest.fixture(scope="module")
def report(runs):
    return runs[0][0]


def test_every_round_is_finalized_with_all_participants_settled(report):
    (rnd,) = report["rounds"]
    assert rnd["committers"] == SMALL["participants"] and rnd["revealers"] == SMALL["participants"]
    assert [row["states"][-1] for row in rnd["participants"]] == ["claimed"] * SMALL["participants"]


def test_on_chain_consensus_equals_the_off_chain_plurality_with_equal_stakes(report):
    (rnd,) = report["rounds"]
    assert rnd["equal_weights_round"] is True
    assert rnd["consensus_equals_plurality"] is True


def test_consensus_accuracy_is_scored_against_the_ground_truth(report):
    (rnd,) = report["rounds"]
    consensus, truth = np.array(rnd["consensus"]), np.array(rnd["truth"])
    assert len(consensus) == SMALL["queries"]
    assert rnd["consensus_accuracy"] == pytest.approx(np.mean(consensus == truth))


def test_random_label_participant_is_slashed_and_no_honest_one_is(report):
    (rnd,) = report["rounds"]
    slashed = {row["strategy"]: row["slashed"] for row in rnd["participants"] if row["strategy"] == "random"}
    assert slashed == {"random": True}
    assert rnd["false_slashes"] == 0 and rnd["caught"] == 1
    assert report["checks"]["random_and_flip_slashed_in_first_round"] is True


def test_slashed_stake_and_reward_go_to_the_agreeing_participants(report):
    (rnd,) = report["rounds"]
    stake, reward = int(sim.SimConfig().stake_eth * sim.ETHER), int(sim.SimConfig().reward_eth * sim.ETHER)
    cheat = next(row for row in rnd["participants"] if row["strategy"] == "random")
    honest = [row for row in rnd["participants"] if row["strategy"] == "honest"]
    assert cheat["penalty_wei"] > 0 and cheat["stake_after_wei"] == stake - cheat["penalty_wei"]
    assert cheat["reward_wei"] == 0
    assert rnd["pool_wei"] == reward + cheat["penalty_wei"]
    paid = sum(row["reward_wei"] for row in honest)
    assert rnd["pool_wei"] - len(honest) < paid <= rnd["pool_wei"]  # floor division: < 1 wei dust each
    assert [row["stake_after_wei"] for row in honest] == [stake] * len(honest)


def test_contract_accounting_balances_after_the_run(report):
    assert report["checks"]["accounting_balanced"] is True


def test_gas_is_reported_per_operation(report):
    (rnd,) = report["rounds"]
    assert set(rnd["gas"]) == {"open_round", "commit", "reveal", "finalize", "claim"}
    assert rnd["gas"]["commit"]["count"] == SMALL["participants"]


def test_report_files_are_written(runs):
    report, d = runs[0]
    on_disk = json.loads((d / "report.json").read_text())
    assert on_disk["seed"] == SMALL["seed"] and on_disk["config"]["participants"] == SMALL["participants"]
    assert "| round | consensus |" in (d / "report.md").read_text()
    for name in ("accuracy.png", "stake.png"):
        assert (d / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_gives_the_same_figures(runs):
    (first, d1), (second, d2) = runs
    a = stable_figures(json.loads((d1 / "report.json").read_text()))
    b = stable_figures(json.loads((d2 / "report.json").read_text()))
    assert a["rounds"][0]["consensus"], "nothing to compare"
    assert a == b


@pytest.fixture(scope="module")
def equal_weights_report(tmp_path_factory):
    """Two rounds with --equal-weights on Anvil: the flip participant's stake shrinks, its weight does not."""
    config = sim.SimConfig(**dict(SMALL, rounds=2, strategies=("flip",), backend="anvil", equal_weights=True))
    return sim.simulate(config, tmp_path_factory.mktemp("equal"), show_progress=False)


def test_equal_weights_mode_keeps_consensus_equal_to_the_plurality_after_slashing(equal_weights_report):
    assert equal_weights_report["chain"]["params"]["equal_weights"] is True
    second = equal_weights_report["rounds"][1]
    assert second["groups"]["flip"]["stake_wei"] < second["groups"]["honest"]["stake_wei"] // 3
    assert second["equal_weights_round"] is True and second["consensus_equals_plurality"] is True


def test_agreement_threshold_option_is_set_by_the_owner_before_the_rounds(tmp_path):
    config = sim.SimConfig(**dict(SMALL, backend="anvil", agreement_bps=2600))
    report = sim.simulate(config, tmp_path, show_progress=False)
    assert report["chain"]["params"]["agreement_bps"] == 2600


# ------------------------------------------------------------------ off-chain pieces (fast)


def test_byzantine_sets_nest_as_the_share_grows():
    small = {r.index for r in sim.assign_roles(sim.SimConfig(byzantine=0.2)) if r.byzantine}
    large = {r.index for r in sim.assign_roles(sim.SimConfig(byzantine=0.4)) if r.byzantine}
    assert len(small) == 2 and len(large) == 4 and small < large


def test_byzantine_strategies_are_cycled_over_the_byzantine_participants():
    roles = sim.assign_roles(sim.SimConfig(participants=10, byzantine=0.3, strategies=("random", "flip", "collude")))
    assert sorted(r.strategy for r in roles if r.byzantine) == ["collude", "flip", "random"]


def test_query_batches_hold_distinct_queries():
    batches = sim.query_batches(pool_size=50, queries=20, rounds=4, seed=0)
    assert [len(set(b.tolist())) for b in batches] == [20] * 4


def test_more_queries_than_the_pool_is_refused():
    with pytest.raises(sim.SimulationError, match="more than the held-out query pool"):
        sim.query_batches(pool_size=10, queries=11, rounds=1, seed=0)


def test_choose_threshold_takes_the_midpoint_between_cheats_and_honest():
    by_alpha = {"0.5": {"honest": [0.5, 0.7], "random": [0.1, 0.2], "flip": [0.0]},
                "1": {"honest": [0.6], "random": [0.1], "flip": [0.05]}}
    rec = sim.choose_threshold(by_alpha)
    assert rec["bps"] == 3500 and rec["separable_alphas"] == ["0.5", "1"]


def test_choose_threshold_leaves_out_alphas_where_groups_overlap():
    by_alpha = {"0.1": {"honest": [0.1, 0.5], "random": [0.3]}, "1": {"honest": [0.6], "random": [0.2]}}
    rec = sim.choose_threshold(by_alpha)
    assert rec["not_separable_alphas"] == ["0.1"] and rec["bps"] == 4000


def test_measure_threshold_records_every_participant_round():
    base = sim.SimConfig(participants=5, rounds=2, queries=20, byzantine=0.4, strategies=("random", "flip"),
                         models=("knn",))
    result = sim.measure_threshold(seeds=(0,), alphas=(1.0,), base=base)
    counts = {g: s["n"] for g, s in result["groups"].items()}
    assert counts == {"honest": 3 * 2, "random": 2, "flip": 2}


def test_unknown_sweep_setting_is_refused():
    with pytest.raises(sim.SimulationError, match="--sweep can vary"):
        sim.parse_sweep("queries=10,20")


def test_bad_configuration_exits_2_with_a_one_line_error(capsys, tmp_path):
    assert sim.main(["--participants", "0", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --participants must be 1..64") and "\n" not in err


def test_synthetic_beta_writes_the_theory_check(tmp_path):
    assert sim.main(["--dataset", "synthetic-beta", "--out", str(tmp_path), "--quiet"]) == 0
    theory = json.loads((tmp_path / "report.json").read_text())["theory"]
    assert theory["max_deviation"] == pytest.approx(
        max(abs(e - a) for e, a in zip(theory["empirical"], theory["analytic"])))
    assert (tmp_path / "theory.png").exists()
