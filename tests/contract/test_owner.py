"""Deployment, owner settings (setDefaults bounds, setUnbondingDelay, pause) and Ownable2Step."""
import brownie
import pytest
from brownie import ZERO_ADDRESS

from contract_helpers import (
    DEFAULT_UNBONDING_DELAY,
    DEFAULTS,
    ETHER,
    MAX_AGREEMENT_BPS,
    MAX_MIN_STAKE,
    MAX_PARTICIPANTS,
    MAX_SLASH_BPS,
    MAX_UNBONDING_DELAY,
    MIN_QUORUM_BPS,
    BPS,
    DEFAULT_BOUNDS,
    check_params,
    Phase,
    commit,
    err,
    finalize,
    open_round,
    plain,
    reveal,
    round_info,
    round_spec,
    the_event,
    to_finalizable,
    to_reveal_phase,
)

# ------------------------------------------------------------------------ deployment


def test_deployer_is_owner(cl, owner):
    assert cl.owner() == owner.address
    assert cl.pendingOwner() == ZERO_ADDRESS


def test_deployment_sets_documented_defaults(cl):
    assert plain(cl.defaults()) == DEFAULTS.astuple()
    assert cl.unbondingDelay() == DEFAULT_UNBONDING_DELAY


def test_deployment_sets_documented_bounds_and_no_proposal(cl):
    assert plain(cl.bounds()) == DEFAULT_BOUNDS.astuple()
    assert plain(cl.pendingBounds())[1] == 0


def test_deployment_starts_empty(cl):
    assert cl.roundCount() == 0
    assert plain(cl.accounting()) == (0, 0, 0, 0, 0)
    assert cl.paused() is False


def test_deployment_emits_defaults_and_delay(cl):
    tx = cl.tx
    assert the_event(tx, "DefaultsChanged") == {"params": DEFAULTS.astuple()}
    assert the_event(tx, "BoundsChanged") == {"bounds": DEFAULT_BOUNDS.astuple()}
    assert the_event(tx, "UnbondingDelayChanged") == {"delay": DEFAULT_UNBONDING_DELAY}


# ------------------------------------------------------------------------ setDefaults

# every field changed, all within the default bounds (equal weights need deviatorSlashBps == 0)
NEW = DEFAULTS.replace(quorumBps=6_000, minRevealers=2, agreementBps=5_000, deviatorSlashBps=0,
                       nonRevealSlashBps=700, auditBoundBps=4_000, auditSlashBps=500, equalWeights=True,
                       minStake=10**15 + 12345)
assert check_params(NEW) is None


def test_set_defaults_stores_them(cl, owner):
    cl.setDefaults(NEW.astuple(), {"from": owner})
    assert plain(cl.defaults()) == NEW.astuple()


def test_set_defaults_emits_defaults_changed(cl, owner):
    tx = cl.setDefaults(NEW.astuple(), {"from": owner})
    assert the_event(tx, "DefaultsChanged") == {"params": NEW.astuple()}


def test_set_defaults_applies_to_rounds_opened_later_only(cl, owner, requester):
    before = open_round(cl, requester, 4, 2)
    cl.setDefaults(NEW.astuple(), {"from": owner})
    after = open_round(cl, requester, 4, 2)
    assert round_info(cl, before)["params"] == DEFAULTS.astuple()
    assert round_info(cl, after)["params"] == NEW.astuple()


def test_set_defaults_by_non_owner_reverts(cl, alice):
    with brownie.reverts(err("OwnableUnauthorizedAccount", alice)):
        cl.setDefaults(NEW.astuple(), {"from": alice})


FLOOR, CEILING = DEFAULT_BOUNDS.minStakeFloor, DEFAULT_BOUNDS.minStakeCeiling
MAX_AGREEMENT, MAX_SLASH, MAX_AUDIT = (DEFAULT_BOUNDS.maxAgreementBps, DEFAULT_BOUNDS.maxSlashBps,
                                       DEFAULT_BOUNDS.maxAuditBoundBps)
OUT_OF_BOUNDS = {
    # id: (field changes, (name, value, min, max)) under the default bounds
    "quorum-low": ({"quorumBps": MIN_QUORUM_BPS - 1}, ("quorumBps", MIN_QUORUM_BPS - 1, MIN_QUORUM_BPS, BPS)),
    "quorum-high": ({"quorumBps": BPS + 1}, ("quorumBps", BPS + 1, MIN_QUORUM_BPS, BPS)),
    "minRevealers-zero": ({"minRevealers": 0}, ("minRevealers", 0, 1, MAX_PARTICIPANTS)),
    "minRevealers-high": ({"minRevealers": MAX_PARTICIPANTS + 1},
                          ("minRevealers", MAX_PARTICIPANTS + 1, 1, MAX_PARTICIPANTS)),
    "agreement-high": ({"agreementBps": MAX_AGREEMENT + 1}, ("agreementBps", MAX_AGREEMENT + 1, 0, MAX_AGREEMENT)),
    "auditBound-high": ({"auditBoundBps": MAX_AUDIT + 1}, ("auditBoundBps", MAX_AUDIT + 1, 0, MAX_AUDIT)),
    "slashes-high": ({"deviatorSlashBps": MAX_SLASH + 1, "nonRevealSlashBps": MAX_SLASH + 1},
                     ("nonRevealSlashBps", MAX_SLASH + 1, MAX_SLASH + 1, MAX_SLASH)),
    "nonReveal-below-deviator": ({"deviatorSlashBps": 1_000, "nonRevealSlashBps": 999},
                                 ("nonRevealSlashBps", 999, 1_000, MAX_SLASH)),
    "nonReveal-below-audit": ({"auditSlashBps": 1_500, "nonRevealSlashBps": 1_400},
                              ("nonRevealSlashBps", 1_400, 1_500, MAX_SLASH)),
    "nonReveal-high": ({"nonRevealSlashBps": MAX_SLASH + 1}, ("nonRevealSlashBps", MAX_SLASH + 1, 1_000, MAX_SLASH)),
    "minStake-below-floor": ({"minStake": FLOOR - 1}, ("minStake", FLOOR - 1, FLOOR, CEILING)),
    "minStake-above-ceiling": ({"minStake": CEILING + 1}, ("minStake", CEILING + 1, FLOOR, CEILING)),
    "equalWeights-with-deviator-slash": ({"equalWeights": True, "deviatorSlashBps": 1},
                                         ("deviatorSlashBps", 1, 0, 0)),
}


@pytest.mark.parametrize("case", list(OUT_OF_BOUNDS))
def test_set_defaults_outside_a_bound_reverts(cl, owner, case):
    changes, expected = OUT_OF_BOUNDS[case]
    assert check_params(DEFAULTS.replace(**changes)) == expected  # the oracle states the same rule
    with brownie.reverts(err("ParameterOutOfBounds", *expected)):
        cl.setDefaults(DEFAULTS.replace(**changes).astuple(), {"from": owner})


AT_BOUNDS = [
    {"quorumBps": MIN_QUORUM_BPS, "minRevealers": 1, "agreementBps": 0, "deviatorSlashBps": 0,
     "nonRevealSlashBps": 0, "auditBoundBps": 0, "auditSlashBps": 0, "minStake": FLOOR},
    {"quorumBps": BPS, "minRevealers": MAX_PARTICIPANTS, "agreementBps": MAX_AGREEMENT,
     "deviatorSlashBps": MAX_SLASH, "nonRevealSlashBps": MAX_SLASH, "auditBoundBps": MAX_AUDIT,
     "auditSlashBps": MAX_SLASH, "minStake": CEILING},
]


@pytest.mark.parametrize("changes", AT_BOUNDS, ids=["lower-bounds", "upper-bounds"])
def test_set_defaults_at_the_bounds_is_accepted(cl, owner, changes):
    params = DEFAULTS.replace(**changes)
    cl.setDefaults(params.astuple(), {"from": owner})
    assert plain(cl.defaults()) == params.astuple()


# ------------------------------------------------------------------------ setUnbondingDelay


def test_set_unbonding_delay_stores_it_and_emits(cl, owner):
    tx = cl.setUnbondingDelay(3600, {"from": owner})
    assert cl.unbondingDelay() == 3600
    assert the_event(tx, "UnbondingDelayChanged") == {"delay": 3600}


def test_set_unbonding_delay_at_its_maximum_is_accepted(cl, owner):
    cl.setUnbondingDelay(MAX_UNBONDING_DELAY, {"from": owner})
    assert cl.unbondingDelay() == MAX_UNBONDING_DELAY


def test_set_unbonding_delay_above_its_maximum_reverts(cl, owner):
    with brownie.reverts(err("ParameterOutOfBounds", "unbondingDelay", MAX_UNBONDING_DELAY + 1, 0,
                             MAX_UNBONDING_DELAY)):
        cl.setUnbondingDelay(MAX_UNBONDING_DELAY + 1, {"from": owner})


def test_set_unbonding_delay_by_non_owner_reverts(cl, alice):
    with brownie.reverts(err("OwnableUnauthorizedAccount", alice)):
        cl.setUnbondingDelay(60, {"from": alice})


# ------------------------------------------------------------------------ pause


def test_pause_blocks_open_round(cl, owner, requester):
    tx = cl.pause({"from": owner})
    assert the_event(tx, "Paused") == {"account": owner.address}
    with brownie.reverts(err("EnforcedPause")):
        cl.openRound(b"\x01" * 32, "", 4, 2, 60, 60, {"from": requester})
    with brownie.reverts(err("EnforcedPause")):
        cl.openRoundWith(round_spec(cl, requester, 4, 2), "", {"from": requester})


def test_unpause_allows_open_round_again(cl, owner, requester):
    cl.pause({"from": owner})
    tx = cl.unpause({"from": owner})
    assert the_event(tx, "Unpaused") == {"account": owner.address}
    assert open_round(cl, requester, 4, 2) == 1


def test_running_round_completes_while_paused(cl, owner, requester, staked):
    rid = open_round(cl, requester, 4, 2, reward=ETHER)
    ballots = [commit(cl, rid, v, bytes(4)) for v in staked[:3]]
    cl.pause({"from": owner})
    cl.deposit({"from": staked[3], "value": 1})
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    finalize(cl, rid, ballots, requester)
    assert cl.phase(rid) == Phase.FINALIZED
    tx = cl.claim(rid, {"from": staked[0]})
    assert the_event(tx, "Claimed")["reward"] == ETHER // 3


def test_pause_twice_reverts(cl, owner):
    cl.pause({"from": owner})
    with brownie.reverts(err("EnforcedPause")):
        cl.pause({"from": owner})


def test_unpause_when_not_paused_reverts(cl, owner):
    with brownie.reverts(err("ExpectedPause")):
        cl.unpause({"from": owner})


def test_pause_by_non_owner_reverts(cl, alice):
    with brownie.reverts(err("OwnableUnauthorizedAccount", alice)):
        cl.pause({"from": alice})


def test_unpause_by_non_owner_reverts(cl, owner, alice):
    cl.pause({"from": owner})
    with brownie.reverts(err("OwnableUnauthorizedAccount", alice)):
        cl.unpause({"from": alice})


# ------------------------------------------------------------------------ Ownable2Step


def test_transfer_ownership_only_nominates(cl, owner, alice):
    tx = cl.transferOwnership(alice, {"from": owner})
    assert the_event(tx, "OwnershipTransferStarted") == {"previousOwner": owner.address, "newOwner": alice.address}
    assert cl.owner() == owner.address
    assert cl.pendingOwner() == alice.address


def test_accept_ownership_completes_the_transfer(cl, owner, alice):
    cl.transferOwnership(alice, {"from": owner})
    tx = cl.acceptOwnership({"from": alice})
    assert the_event(tx, "OwnershipTransferred") == {"previousOwner": owner.address, "newOwner": alice.address}
    assert cl.owner() == alice.address
    assert cl.pendingOwner() == ZERO_ADDRESS


def test_previous_owner_loses_the_owner_functions(cl, owner, alice):
    cl.transferOwnership(alice, {"from": owner})
    cl.acceptOwnership({"from": alice})
    with brownie.reverts(err("OwnableUnauthorizedAccount", owner)):
        cl.setUnbondingDelay(60, {"from": owner})
    cl.setUnbondingDelay(60, {"from": alice})
    assert cl.unbondingDelay() == 60


def test_accept_ownership_by_someone_else_reverts(cl, owner, alice, bob):
    cl.transferOwnership(alice, {"from": owner})
    with brownie.reverts(err("OwnableUnauthorizedAccount", bob)):
        cl.acceptOwnership({"from": bob})


def test_transfer_ownership_by_non_owner_reverts(cl, alice):
    with brownie.reverts(err("OwnableUnauthorizedAccount", alice)):
        cl.transferOwnership(alice, {"from": alice})


def test_renounce_ownership_leaves_no_owner(cl, owner):
    cl.renounceOwnership({"from": owner})
    assert cl.owner() == ZERO_ADDRESS
    with brownie.reverts(err("OwnableUnauthorizedAccount", owner)):
        cl.pause({"from": owner})
