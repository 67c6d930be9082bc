"""Owner bounds on requester-chosen parameters (issue 13, audit item 4): proposeBounds -> applyBounds only
after BOUNDS_DELAY (28 days, longer than any round), bounds inside the hard limits, setDefaults inside the
bounds in force AND any pending ones, and openRoundWith parameters inside the bounds.

Attack: v1's owner could setDefaults(9000 bps agreement, 50 % slashes) with immediate effect and slash
honest 80 %-accurate participants; in v2 the owner's reach is the bounds, and those move only after 28 days.
"""
import brownie
import pytest

from contract_helpers import (
    BOUNDS_DELAY,
    BPS,
    DEFAULT_BOUNDS,
    DEFAULTS,
    ETHER,
    MAX_AGREEMENT_BPS,
    MAX_MIN_STAKE,
    MAX_SLASH_BPS,
    MIN_QUORUM_BPS,
    check_params,
    err,
    plain,
    round_info,
    round_spec,
    the_event,
    transact_at,
)

WIDE = DEFAULT_BOUNDS.replace(maxAgreementBps=MAX_AGREEMENT_BPS, maxSlashBps=MAX_SLASH_BPS)
NARROW = DEFAULT_BOUNDS.replace(allowEqualWeights=False, maxSlashBps=DEFAULTS.nonRevealSlashBps)


def test_propose_bounds_records_the_proposal_and_when_it_applies(cl, owner):
    tx = cl.proposeBounds(WIDE.astuple(), {"from": owner})
    at = tx.timestamp + BOUNDS_DELAY
    assert the_event(tx, "BoundsProposed") == {"bounds": WIDE.astuple(), "effectiveAt": at}
    assert plain(cl.pendingBounds()) == (WIDE.astuple(), at)
    assert plain(cl.bounds()) == DEFAULT_BOUNDS.astuple()  # nothing changes yet


def test_apply_bounds_without_a_proposal_reverts(cl, outsider):
    tx = transact_at(brownie.chain.time() + 5, cl.applyBounds, sender=outsider)
    assert tx.status == 0
    assert tx.revert_msg == err("BoundsNotReady", 0, tx.timestamp)


def test_apply_bounds_one_second_early_reverts_and_on_time_applies(cl, owner, outsider):
    at = cl.proposeBounds(WIDE.astuple(), {"from": owner}).timestamp + BOUNDS_DELAY
    early = transact_at(at - 1, cl.applyBounds, sender=outsider)
    assert early.status == 0
    assert early.revert_msg == err("BoundsNotReady", at, at - 1)
    assert plain(cl.bounds()) == DEFAULT_BOUNDS.astuple()
    on_time = transact_at(at, cl.applyBounds, sender=outsider)  # anyone may apply
    assert on_time.status == 1
    assert the_event(on_time, "BoundsChanged") == {"bounds": WIDE.astuple()}
    assert plain(cl.bounds()) == WIDE.astuple()
    assert plain(cl.pendingBounds())[1] == 0


def test_owner_cannot_raise_the_slash_of_a_round_before_the_delay(cl, owner, requester):
    """The v1 attack: the owner raises slashes at once. Now 5000 bps is out of bounds for 28 days."""
    harsh = DEFAULTS.replace(agreementBps=MAX_AGREEMENT_BPS, deviatorSlashBps=MAX_SLASH_BPS,
                             nonRevealSlashBps=MAX_SLASH_BPS)
    cl.proposeBounds(WIDE.astuple(), {"from": owner})
    expected = check_params(harsh, DEFAULT_BOUNDS)
    assert expected == ("agreementBps", MAX_AGREEMENT_BPS, 0, DEFAULT_BOUNDS.maxAgreementBps)
    with brownie.reverts(err("ParameterOutOfBounds", *expected)):
        cl.setDefaults(harsh.astuple(), {"from": owner})
    with brownie.reverts(err("ParameterOutOfBounds", *expected)):
        cl.openRoundWith(round_spec(cl, requester, 4, 2, params=harsh), "", {"from": requester})


def test_set_defaults_must_lie_in_the_pending_bounds_too(cl, owner):
    cl.proposeBounds(NARROW.astuple(), {"from": owner})
    inside_now = DEFAULTS.replace(equalWeights=True, deviatorSlashBps=0)  # allowed now, not by NARROW
    assert check_params(inside_now, DEFAULT_BOUNDS) is None
    expected = check_params(inside_now, NARROW)
    assert expected == ("equalWeights", 1, 0, 0)
    with brownie.reverts(err("ParameterOutOfBounds", *expected)):
        cl.setDefaults(inside_now.astuple(), {"from": owner})


def test_propose_bounds_that_exclude_the_defaults_reverts(cl, owner):
    b = DEFAULT_BOUNDS.replace(maxSlashBps=DEFAULTS.nonRevealSlashBps - 1)
    with brownie.reverts(err("ParameterOutOfBounds", *check_params(DEFAULTS, b))):
        cl.proposeBounds(b.astuple(), {"from": owner})


def test_propose_bounds_by_non_owner_reverts(cl, alice):
    with brownie.reverts(err("OwnableUnauthorizedAccount", alice)):
        cl.proposeBounds(WIDE.astuple(), {"from": alice})


INVALID = {
    "minQuorum-low": ({"minQuorumBps": MIN_QUORUM_BPS - 1}, ("minQuorumBps", MIN_QUORUM_BPS - 1, MIN_QUORUM_BPS, BPS)),
    "minQuorum-high": ({"minQuorumBps": BPS + 1}, ("minQuorumBps", BPS + 1, MIN_QUORUM_BPS, BPS)),
    "maxAgreement-high": ({"maxAgreementBps": MAX_AGREEMENT_BPS + 1},
                          ("maxAgreementBps", MAX_AGREEMENT_BPS + 1, 0, MAX_AGREEMENT_BPS)),
    "maxSlash-high": ({"maxSlashBps": MAX_SLASH_BPS + 1}, ("maxSlashBps", MAX_SLASH_BPS + 1, 0, MAX_SLASH_BPS)),
    "maxAuditBound-high": ({"maxAuditBoundBps": BPS + 1}, ("maxAuditBoundBps", BPS + 1, 0, BPS)),
    "floor-zero": ({"minStakeFloor": 0}, ("minStakeCeiling", DEFAULT_BOUNDS.minStakeCeiling, 0, MAX_MIN_STAKE)),
    "ceiling-below-floor": ({"minStakeFloor": 10**17, "minStakeCeiling": 10**17 - 1},
                            ("minStakeCeiling", 10**17 - 1, 10**17, MAX_MIN_STAKE)),
    "ceiling-above-hard-limit": ({"minStakeCeiling": MAX_MIN_STAKE + 1},
                                 ("minStakeCeiling", MAX_MIN_STAKE + 1, DEFAULT_BOUNDS.minStakeFloor, MAX_MIN_STAKE)),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_bounds_outside_the_hard_limits_revert(cl, owner, case):
    changes, expected = INVALID[case]
    with brownie.reverts(err("InvalidBounds", *expected)):
        cl.proposeBounds(DEFAULT_BOUNDS.replace(**changes).astuple(), {"from": owner})


def test_applied_bounds_govern_new_rounds_only(cl, owner, requester):
    harsh = DEFAULTS.replace(agreementBps=MAX_AGREEMENT_BPS, deviatorSlashBps=MAX_SLASH_BPS,
                             nonRevealSlashBps=MAX_SLASH_BPS)
    before = cl.openRoundWith(round_spec(cl, requester, 4, 2), "", {"from": requester}).return_value
    at = cl.proposeBounds(WIDE.astuple(), {"from": owner}).timestamp + BOUNDS_DELAY
    brownie.chain.mine(timestamp=at)
    cl.applyBounds({"from": requester})
    rid = cl.openRoundWith(round_spec(cl, requester, 4, 2, params=harsh), "", {"from": requester}).return_value
    assert round_info(cl, rid)["params"] == harsh.astuple()
    assert round_info(cl, before)["params"] == DEFAULTS.astuple()


# ------------------------------------------------------------------------ openRoundWith parameters

ROUND_OUT_OF_BOUNDS = {
    "quorum-low": {"quorumBps": MIN_QUORUM_BPS - 1},
    "minRevealers-zero": {"minRevealers": 0},
    "agreement-high": {"agreementBps": DEFAULT_BOUNDS.maxAgreementBps + 1},
    "auditBound-high": {"auditBoundBps": DEFAULT_BOUNDS.maxAuditBoundBps + 1},
    "nonReveal-high": {"nonRevealSlashBps": DEFAULT_BOUNDS.maxSlashBps + 1},
    "auditSlash-above-nonReveal": {"auditSlashBps": DEFAULTS.nonRevealSlashBps + 1},
    "minStake-below-floor": {"minStake": DEFAULT_BOUNDS.minStakeFloor - 1},
    "minStake-above-ceiling": {"minStake": DEFAULT_BOUNDS.minStakeCeiling + 1},
    "equalWeights-deviator-slash": {"equalWeights": True},
}


@pytest.mark.parametrize("case", list(ROUND_OUT_OF_BOUNDS))
def test_open_round_with_params_outside_the_bounds_reverts_with_the_values(cl, requester, case):
    params = DEFAULTS.replace(**ROUND_OUT_OF_BOUNDS[case])
    expected = check_params(params)
    assert expected is not None
    with brownie.reverts(err("ParameterOutOfBounds", *expected)):
        cl.openRoundWith(round_spec(cl, requester, 4, 2, params=params), "", {"from": requester, "value": ETHER})


def test_open_round_with_equal_weights_when_the_bounds_forbid_them_reverts(cl, owner, requester):
    at = cl.proposeBounds(NARROW.astuple(), {"from": owner}).timestamp + BOUNDS_DELAY
    brownie.chain.mine(timestamp=at)
    cl.applyBounds({"from": owner})
    params = DEFAULTS.replace(equalWeights=True, deviatorSlashBps=0)
    with brownie.reverts(err("ParameterOutOfBounds", "equalWeights", 1, 0, 0)):
        cl.openRoundWith(round_spec(cl, requester, 4, 2, params=params), "", {"from": requester})
