"""The simulation end to end on a local chain (small configuration), plus its off-chain pieces.

The two chain runs (same seed, twice) are shared by the tests below through a module fixture.
"""
import json

import numpy as np
import pytest

from cl_client import protocol
from cl_client.sim import SimConfig, SimulationError, assign_roles, simulate
from cl_client.sim.__main__ import main
from cl_client.sim.config import ETHER
from cl_client.sim.report import stable_figures, write_report
from cl_client.sim.run import parse_sweep
from cl_client.sim.threshold import choose_threshold, measure_threshold
from cl_client.sim.world import query_batches

import oracle

SMALL = dict(participants=4, rounds=1, queries=20, byzantine=0.25, strategies=("random",),
             models=("knn", "logistic_regression"), seed=5)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The small configuration run twice with the same seed, each on its own fresh local chain."""
    out = []
    for i in range(2):
        d = tmp_path_factory.mktemp(f"run{i}")
        report = simulate(SimConfig(**SMALL), d, show_progress=False)
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


def test_on_chain_consensus_equals_the_off_chain_vote_weighted_by_the_rounds_audit(report):
    """Equal stakes and fresh reputations at commit: the tally's weights differ only by what this round's audit
    moved each reputation to, and the contract's consensus is that weighted vote of the audit-passers."""
    (rnd,) = report["rounds"]
    assert len({row["weight_wei"] for row in rnd["participants"]}) == 1
    assert {row["reputation"] for row in rnd["participants"]} == {oracle.CONSTANTS["REPUTATION_START"]}
    assert len({row["audit_hits"] for row in rnd["participants"] if not row["excluded"]}) > 1  # weights differ
    assert rnd["equal_weights_round"] is False
    assert rnd["consensus_equals_weighted_vote"] is True


def test_consensus_accuracy_is_scored_against_the_ground_truth_off_the_audit_queries(report):
    (rnd,) = report["rounds"]
    consensus, truth = np.array(rnd["consensus"]), np.array(rnd["truth"])
    assert len(consensus) == SMALL["queries"]
    plain = np.setdiff1d(np.arange(SMALL["queries"]), rnd["audit_indices"])
    assert len(plain) == SMALL["queries"] - rnd["audit_count"]
    assert rnd["consensus_accuracy"] == pytest.approx(np.mean(consensus[plain] == truth[plain]))


def test_the_requester_hides_and_reveals_an_audit_through_the_client(report):
    (rnd,) = report["rounds"]
    assert rnd["audit_count"] == SimConfig(**SMALL).audit_count == 2  # 10 per 100 of 20 queries
    assert rnd["gas"]["reveal_audit"]["count"] == 1
    for row in rnd["participants"]:  # the contract's audit hits, recomputed from the revealed labels
        assert row["audit_hits"] is not None and 0 <= row["audit_hits"] <= 2
        assert row["excluded"] == (row["status"] == "EXCLUDED")


def test_random_label_participant_is_unpaid_and_no_honest_one_is_slashed(report):
    (rnd,) = report["rounds"]
    (cheat,) = [row for row in rnd["participants"] if row["strategy"] == "random"]
    assert cheat["status"] in ("EXCLUDED", "DEVIATED") and cheat["reward_wei"] == 0
    assert cheat["slashed"] == (cheat["penalty_wei"] > 0)
    assert rnd["false_slashes"] == 0 and rnd["caught"] == int(cheat["slashed"] or cheat["excluded"])
    assert report["checks"]["random_and_flip_unpaid_in_first_round"] is True


def test_the_cheats_penalty_and_the_reward_go_where_the_rules_say(report):
    """The audit was revealed: an Excluded cheat pays auditSlashBps (burned), a Deviated one that passed the
    audit pays nothing; the pool (reward + pooled penalties) goes to the agreeing participants."""
    (rnd,) = report["rounds"]
    stake, reward = int(SimConfig().stake_eth * ETHER), int(SimConfig().reward_eth * ETHER)
    cheat = next(row for row in rnd["participants"] if row["strategy"] == "random")
    honest = [row for row in rnd["participants"] if row["strategy"] == "honest"]
    rates = {"EXCLUDED": protocol.DEFAULT_PARAMS.audit_slash_bps, "DEVIATED": 0}
    assert cheat["penalty_wei"] == protocol.penalty(stake, rates[cheat["status"]])
    assert cheat["stake_after_wei"] == stake - cheat["penalty_wei"] and cheat["reward_wei"] == 0
    # a deviator's penalty is pooled; an Excluded one's (failed the audit) is burned
    assert rnd["pool_wei"] == reward + (cheat["penalty_wei"] if cheat["status"] == "DEVIATED" else 0)
    paid = sum(row["reward_wei"] for row in honest)
    assert rnd["pool_wei"] - len(honest) < paid <= rnd["pool_wei"]  # floor division: < 1 wei dust each
    # v2: the reward is credited to free stake, beside the unlocked stake
    assert [row["stake_after_wei"] for row in honest] == [stake + row["reward_wei"] for row in honest]


def test_contract_accounting_balances_after_the_run(report):
    assert report["checks"]["accounting_balanced"] is True


def test_gas_is_reported_per_operation(report):
    (rnd,) = report["rounds"]
    assert set(rnd["gas"]) == {"open_round", "commit", "reveal", "reveal_audit", "finalize", "claim"}
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
    """Two rounds with --equal-weights on Anvil: the flip participant's stake falls behind, and its weight,
    its reputation alone under equal weights, falls too."""
    config = SimConfig(**dict(SMALL, rounds=2, strategies=("flip",), backend="anvil", equal_weights=True))
    return simulate(config, tmp_path_factory.mktemp("equal"), show_progress=False)


def test_equal_weights_mode_weighs_reputation_not_stake(equal_weights_report):
    """Round 1: stake plays no part and reputations are fresh, so the weights differ only by the round's audit.
    Round 2: the flipper's reputation fell: the consensus is the reputation-weighted vote of the revealers."""
    assert equal_weights_report["chain"]["params"]["equal_weights"] is True
    first, second = equal_weights_report["rounds"][:2]
    assert first["consensus_equals_weighted_vote"] is True
    assert second["groups"]["flip"]["stake_wei"] < second["groups"]["honest"]["stake_wei"] // 3
    reps = {row["strategy"]: row["reputation"] for row in second["participants"]}
    assert reps["flip"] < min(row["reputation"] for row in second["participants"] if row["strategy"] == "honest")
    assert second["consensus_equals_weighted_vote"] is True


def test_agreement_threshold_option_is_set_by_the_owner_before_the_rounds(tmp_path):
    config = SimConfig(**dict(SMALL, backend="anvil", agreement_bps=2600))
    report = simulate(config, tmp_path, show_progress=False)
    assert report["chain"]["params"]["agreement_bps"] == 2600


# ------------------------------------------------------------------ off-chain pieces (fast)


def test_byzantine_sets_nest_as_the_share_grows():
    small = {r.index for r in assign_roles(SimConfig(byzantine=0.2)) if r.byzantine}
    large = {r.index for r in assign_roles(SimConfig(byzantine=0.4)) if r.byzantine}
    assert len(small) == 2 and len(large) == 4 and small < large


def test_byzantine_strategies_are_cycled_over_the_byzantine_participants():
    roles = assign_roles(SimConfig(participants=10, byzantine=0.3, strategies=("random", "flip", "collude")))
    assert sorted(r.strategy for r in roles if r.byzantine) == ["collude", "flip", "random"]


def test_query_batches_hold_distinct_queries():
    batches = query_batches(pool_size=50, queries=20, rounds=4, seed=0)
    assert [len(set(b.tolist())) for b in batches] == [20] * 4


def test_more_queries_than_the_pool_is_refused():
    with pytest.raises(SimulationError, match="more than the held-out query pool"):
        query_batches(pool_size=10, queries=11, rounds=1, seed=0)


def test_choose_threshold_takes_the_midpoint_between_cheats_and_honest():
    by_alpha = {"0.5": {"honest": [0.5, 0.7], "random": [0.1, 0.2], "flip": [0.0]},
                "1": {"honest": [0.6], "random": [0.1], "flip": [0.05]}}
    rec = choose_threshold(by_alpha)
    assert rec["bps"] == 3500 and rec["separable_alphas"] == ["0.5", "1"]


def test_choose_threshold_leaves_out_alphas_where_groups_overlap():
    by_alpha = {"0.1": {"honest": [0.1, 0.5], "random": [0.3]}, "1": {"honest": [0.6], "random": [0.2]}}
    rec = choose_threshold(by_alpha)
    assert rec["not_separable_alphas"] == ["0.1"] and rec["bps"] == 4000


def test_measure_threshold_records_every_participant_round():
    base = SimConfig(participants=5, rounds=2, queries=20, byzantine=0.4, strategies=("random", "flip"),
                         models=("knn",))
    result = measure_threshold(seeds=(0,), alphas=(1.0,), base=base)
    counts = {g: s["n"] for g, s in result["groups"].items()}
    assert counts == {"honest": 3 * 2, "random": 2, "flip": 2}


def test_a_baseline_pairs_every_audited_run_with_the_same_run_without_audits():
    from cl_client.sim.run import sweep_points

    config = SimConfig(baseline=True).validate()
    assert [(v, c.audit, role) for v, c, role in sweep_points(config, None)] == [(None, 10, "main"), (None, 0, "baseline")]
    points = sweep_points(SimConfig(baseline=True, mix=(("collude", 0.4),)).validate(), ("byzantine", [0.0, 0.5]))
    assert [(v, c.audit, c.n_byzantine, c.strategies) for v, c, _ in points] == [
        (0.0, 10, 0, ("collude",)), (0.0, 0, 0, ("collude",)), (0.5, 10, 5, ("collude",)), (0.5, 0, 5, ("collude",))]
    assert len(sweep_points(SimConfig(audit=0, baseline=True).validate(), None)) == 1


def test_byzantine_groups_parse_from_the_command_line(tmp_path, capsys):
    assert main(["--byzantine", "collude:0.9,flip:0.9", "--out", str(tmp_path), "--quiet"]) == 2
    assert "shares must add up to at most 1" in capsys.readouterr().err


def test_unknown_sweep_setting_is_refused():
    with pytest.raises(SimulationError, match="--sweep can vary"):
        parse_sweep("queries=10,20")


def test_bad_configuration_exits_2_with_a_one_line_error(capsys, tmp_path):
    assert main(["--participants", "0", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --participants must be 1..64") and "\n" not in err


def test_synthetic_beta_writes_the_theory_check(tmp_path):
    assert main(["--dataset", "synthetic-beta", "--out", str(tmp_path), "--quiet"]) == 0
    theory = json.loads((tmp_path / "report.json").read_text())["theory"]
    assert theory["max_deviation"] == pytest.approx(
        max(abs(e - a) for e, a in zip(theory["empirical"], theory["analytic"])))
    assert (tmp_path / "theory.png").exists()


# ------------------------------------------------------------------ honest figures and the gossip comparison


def test_pooled_model_is_chosen_on_a_validation_split_not_on_the_queries(report, monkeypatch):
    pooled = report["dataset"]["pooled_model"]
    scores = pooled["validation_accuracy"]
    assert set(scores) == set(SMALL["models"]) and pooled["model"] == max(scores, key=scores.get)
    assert report["rounds"][0]["pooled_model"] == pooled["model"]

    # the choice never sees a query label: scrambling every label of the query pool changes nothing
    from cl_client.sim import world as world_mod

    honest = world_mod.prepare(SimConfig(**SMALL))
    import sklearn.model_selection as ms  # prepare() imports train_test_split from here when it runs

    original = ms.train_test_split

    def scrambled(*arrays, **kw):
        X_train, X_pool, y_train, y_pool = original(*arrays, **kw)
        if kw.get("test_size") == SimConfig().query_share:  # the data / query-pool split
            y_pool = np.roll(y_pool, 1)  # wrong labels for every query
        return X_train, X_pool, y_train, y_pool

    monkeypatch.setattr(ms, "train_test_split", scrambled)
    blind = world_mod.prepare(SimConfig(**SMALL))
    assert blind.pooled.model == honest.pooled.model
    assert blind.pooled.validation_accuracy == honest.pooled.validation_accuracy


def test_each_round_reports_snowball_gossip_on_the_committed_labels(report):
    (rnd,) = report["rounds"]
    s = rnd["snowball"]
    assert 0 <= s["accuracy"] <= 1 and 0 <= s["equals_consensus"] <= 1
    assert s["rounds"] >= 1 and s["messages"] > 0
    honest = sum(1 for row in rnd["participants"] if row["strategy"] == "honest")
    # N = 4: every participant samples the other 3 (k = 3, alpha = 2): 2 x 3 messages per poll
    assert report["gossip"]["params"]["k"] == 3 and report["gossip"]["params"]["alpha"] == 2
    assert s["messages"] % (2 * 3) == 0 and s["messages"] <= 2 * 3 * honest * SMALL["queries"] * s["rounds"]


def test_the_degradation_table_runs_from_no_byzantines_to_half(report):
    g = report["gossip"]
    assert [row["byzantine"] for row in g["rows"]] == [0, 1, 2]  # N = 4: shares 0..0.5 rounded
    assert g["adversaries"] == ["lie", "split"] and g["queries"] == SMALL["queries"] * SMALL["rounds"]
    no_byzantine = g["rows"][0]
    assert no_byzantine["plurality_accuracy"] == no_byzantine["honest_plurality_accuracy"]


def test_the_report_shows_the_snowball_comparison_with_its_parameters(runs):
    _, d = runs[0]
    md = (d / "report.md").read_text()
    assert "Snowball gossip beside the on-chain consensus" in md and "Snowball k=3, alpha=2, beta=8" in md
    assert (d / "gossip.png").exists()
