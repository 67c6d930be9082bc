"""Byzantine groups (issue 13): strategies that act as a group, mixes of groups, the v2 rules the simulation
measures with, and the off-chain settlement the calibration uses. Off-chain and fast."""
import numpy as np
import pytest

from cl_client.sim.calibrate import audit_indices, settle
from cl_client.sim.config import SimConfig, SimulationError, assign_roles, parse_mix, role_strategy
from cl_client.sim import rules
from cl_client.strategies import make_strategy

PREDS = np.arange(100) % 10


def _labels(name, preds=PREDS, round_id=3, **kw):
    return make_strategy(name, **kw).labels(preds, 10, round_id=round_id, rng=np.random.default_rng(0))


def test_colluders_share_one_labelling_per_round_that_changes_between_rounds():
    a, b = _labels("collude", preds=PREDS), _labels("collude", preds=(PREDS + 3) % 10)
    assert np.array_equal(a, b) and not np.array_equal(a, _labels("collude", round_id=4))


def test_adaptive_colluders_are_honest_on_the_same_shared_fraction_and_lie_together_elsewhere():
    s = make_strategy("adaptive", honest_share=0.3)
    mask = s.honest_mask(100, 3)
    assert mask.sum() == 30
    a, b = _labels("adaptive", honest_share=0.3), _labels("adaptive", preds=(PREDS + 1) % 10, honest_share=0.3)
    assert np.array_equal(a[mask], PREDS[mask]) and np.array_equal(a[~mask], b[~mask])
    assert np.array_equal(a[~mask], _labels("collude")[~mask])


def test_audit_aware_colluders_choose_their_honest_share_from_the_bound():
    low = role_strategy("audit-aware", 1000, 10)
    high = role_strategy("audit-aware", 5000, 10)
    assert 0 < low.honest_share < high.honest_share <= 1
    # expected audit accuracy at the assumed model accuracy clears the bound by the margin
    exp = high.honest_share * high.assumed_accuracy + (1 - high.honest_share) / 10
    assert exp == pytest.approx(min(0.5 + high.margin, high.assumed_accuracy))


def test_crowd_aware_colluders_lie_on_less_than_the_strike_share_and_still_pass_the_bound():
    from cl_client.protocol import BPS, LIMITS
    s = role_strategy("crowd-aware", 3000, 10)
    lie = 1 - s.honest_share
    # expected strikes per audit query (a lie equals the truth 1/K of the time) stay under the strike share by the margin
    assert lie * (1 - 1 / 10) == pytest.approx(LIMITS.crowd_strike_bps / BPS - s.margin)
    assert s.honest_share >= role_strategy("audit-aware", 3000, 10).honest_share
    strict = role_strategy("crowd-aware", 9000, 10)  # a bound that asks for more honesty than the crowd rule
    assert strict.honest_share == role_strategy("audit-aware", 9000, 10).honest_share


def test_sybils_ask_for_the_minimum_stake_and_collude():
    s = make_strategy("sybil")
    assert s.min_stake and not make_strategy("collude").min_stake
    assert np.array_equal(_labels("sybil"), _labels("collude"))


def test_a_mix_of_groups_assigns_each_its_share_of_the_participants():
    config = SimConfig(mix=parse_mix("collude:0.2,constant:20%")).validate()
    strategies = [r.strategy for r in assign_roles(config)]
    assert strategies.count("collude") == 2 and strategies.count("constant") == 2 and config.n_byzantine == 4
    assert config.label() == "collude 20% + constant 20%"


def test_the_old_share_and_strategies_flags_still_cycle():
    config = SimConfig(byzantine=0.3, strategies=("random", "flip", "collude")).validate()
    assert dict(config.groups) == {"random": 1, "flip": 1, "collude": 1}


@pytest.mark.parametrize("text", ["collude", "collude:1.5", ":0.2", "collude:x"])
def test_bad_mixes_are_refused_in_one_line(text):
    with pytest.raises(SimulationError, match="--byzantine"):
        parse_mix(text)


def test_chance_corrected_agreement_needs_more_than_the_modal_label():
    consensus = np.array([0] * 60 + list(range(1, 10)) * 4 + [0] * 4)  # M = 64
    mode = rules.mode_count(consensus, 10)
    assert mode == 64
    assert not rules.agrees(63, 100, 0, mode)
    # at 0 bps the significance term decides: 2 sigmas of sqrt(64 * 36 / 100) = 4.8 -> 10 over M
    assert not rules.agrees(64 + 9, 100, 0, mode) and rules.agrees(64 + 10, 100, 0, mode)
    # at 5000 bps kappa decides: half of the other 36 queries
    assert rules.agrees(64 + 18, 100, 5000, mode) and not rules.agrees(64 + 17, 100, 5000, mode)


def test_offline_settlement_excludes_audit_failures_before_the_tally():
    truth = np.arange(20) % 4
    honest = np.stack([truth] * 3)
    cartel = np.stack([(truth + 1) % 4] * 4)  # a majority, but wrong on every audit query
    audit = audit_indices(0, 0, 20, 4)
    res = settle(np.vstack([honest, cartel]), [10**18] * 7, truth, audit, 4, 500, 3000)
    assert list(res["status"]) == ["agreed"] * 3 + ["excluded"] * 4
    assert np.array_equal(res["consensus"], truth)
    no_audit = settle(np.vstack([honest, cartel]), [10**18] * 7, truth, audit[:0], 4, 500, 3000)
    assert list(no_audit["status"]) == ["deviated"] * 3 + ["agreed"] * 4
