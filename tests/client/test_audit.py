"""Contract v2 through cl_client.chain and cl_client.participant on a local chain: audited rounds end to end (a
liar Excluded, a non-revealer slashed, the finalizer paid), an audit never revealed (forfeit), requester-chosen
parameters and the local checks before anything is sent, abandon(), withdrawTo. Chain time is jumped."""
from dataclasses import replace

import numpy as np
import pytest

from cl_client import protocol
from cl_client.chain import ContractError, Phase, Status
from cl_client.journal import REVEAL_DONE
from cl_client.participant import JumpClock, drive
from cl_client.protocol import DEFAULT_PARAMS, LIMITS, Audit, ParamsError
from support import make_participants

ETH = 10**18
FEE = 10**16


@pytest.fixture
def known(digits):
    return {i: int(y) for i, y in enumerate(digits.y_query[:64])}


def _drive_through_reveal(ps, rid, local_node):
    drive(ps, rid, JumpClock(local_node, ps[0].gateway), done=REVEAL_DONE, max_passes=50)


def test_an_audited_round_excludes_the_liar_slashes_the_non_revealer_and_pays_the_finalizer(
        accounts, requester, local_node, open_round, advance_to, fitted_learners, journal_dir, queries, known):
    strategies = ["honest"] * 4 + ["flip", "nonreveal"]
    gws = accounts.take(len(strategies), deposit=ETH)
    ps = make_participants(gws, strategies, fitted_learners(4), journal_dir)
    audit = Audit.draw(0, known, 10)
    rid = open_round(queries, audit=audit, audit_duration=LIMITS.min_phase_duration, finalizer_fee_wei=FEE)
    info = requester.round(rid)
    assert (info.audit_count, info.finalizer_fee, info.reward) == (10, FEE, ETH)
    assert info.audit_deadline == info.reveal_deadline + LIMITS.min_phase_duration
    assert requester.audit_commitment(rid) == audit.commitment(requester.chain_id, requester.address,
                                                               requester.sender, info.queries_hash)

    _drive_through_reveal(ps, rid, local_node)
    advance_to(info.reveal_deadline + 1)
    assert requester.phase(rid) == Phase.AUDIT
    assert [p.step(rid) for p in ps] == ["revealed"] * 5 + ["not-revealed"]  # nothing to do in the Audit phase
    with pytest.raises(ContractError) as exc_info:
        gws[0].reveal_audit(rid, audit)
    assert exc_info.value.name == "NotRequester"
    requester.reveal_audit(rid, audit)
    assert requester.audit_of(rid) == audit and requester.phase(rid) == Phase.FINALIZABLE
    drive(ps, rid, JumpClock(local_node, requester), max_passes=20)

    info = requester.round(rid)
    assert info.phase == Phase.FINALIZED and info.audit_revealed
    subs = {p.strategy.name: requester.submission(rid, p.address) for p in ps[3:]}
    assert [requester.submission(rid, p.address).status for p in ps[:4]] == [Status.AGREED] * 4
    assert {name: s.status for name, s in subs.items()} == {
        "honest": Status.AGREED, "flip": Status.EXCLUDED, "nonreveal": Status.COMMITTED}
    # the rules, off chain: audit hits and passes, the tally over the passers, chance-corrected agreement
    revealed = requester.revealed(rid)
    order = [p for p in ps if p.address in revealed]
    hits = [protocol.audit_hits(revealed[p.address], audit) for p in order]
    assert hits == [requester.submission(rid, p.address).audit_hits for p in order]
    passes = protocol.audit_passes(np.array(hits), len(audit.indices), info.params.audit_bound_bps)
    assert passes.tolist() == [True] * 4 + [False]
    rows = np.array([list(revealed[p.address]) for p, ok in zip(order, passes) if ok])
    consensus = protocol.plurality(rows, 10, [ETH] * len(rows))
    assert bytes(consensus.astype(np.uint8).tolist()) == requester.consensus(rid)
    mode = protocol.mode_count(consensus, 10)
    assert protocol.agrees(protocol.matches(rows, consensus), 64, info.params.agreement_bps, mode).all()
    # money: the liar is unpaid (its audit penalty, 0 by default, would be burned), the non-revealer's penalty
    # is burned too (in an audited round no penalty is pooled: a false audit must not pay anyone), the
    # finalizer is paid in free stake
    p = info.params
    liar, silent = protocol.penalty(ETH, p.audit_slash_bps), protocol.penalty(ETH, p.non_reveal_slash_bps)
    assert liar == 0 and silent > 0
    slashed = {e["args"]["participant"]: (e["args"]["penalty"], Status(e["args"]["status"]))
               for e in requester.events("Slashed", rid)}
    assert slashed == {ps[5].address: (silent, Status.COMMITTED)}
    assert requester.reputation(ps[4].address) < LIMITS.reputation_start  # exclusion moves it towards 0
    (slashes,) = requester.events("RoundSlashes", rid)
    assert (slashes["args"]["pooled"], slashes["args"]["burned"]) == (0, silent + liar)
    assert info.pool == ETH
    (paid,) = requester.events("FinalizerPaid", rid)
    finalizer = paid["args"]["finalizer"]
    assert paid["args"]["fee"] == FEE and finalizer in {q.address for q in ps}
    for q, gw in zip(ps, gws):
        s = q.summary(rid)
        assert s["claimed"] and s["audit_count"] == 10
        fee = FEE if q.address == finalizer else 0
        assert gw.account_info().free == ETH - s["penalty"] + s["reward"] + fee
    assert ps[4].summary(rid)["penalty"] == liar and ps[4].summary(rid)["status"] == "excluded"
    assert sum(requester.accounting()) == requester.balance(requester.address)


def test_an_audit_never_revealed_is_forfeited_and_the_round_goes_on(
        accounts, requester, local_node, open_round, drive, fitted_learners, journal_dir, queries, known):
    ps = make_participants(accounts.take(3), ["honest"] * 3, fitted_learners(3), journal_dir)
    rid = open_round(queries, audit=Audit.draw(1, known, 8), audit_duration=LIMITS.min_phase_duration)
    history = drive(ps, rid)  # the participants poll through the Audit phase until its deadline
    info = requester.round(rid)
    assert info.phase == Phase.FINALIZED and not info.audit_revealed
    forfeit = ETH * LIMITS.audit_forfeit_bps // protocol.BPS
    assert info.reward == ETH - forfeit
    assert [e["args"]["amount"] for e in requester.events("AuditForfeited", rid)] == [forfeit]
    assert all(h[-1] == "claimed" for h in history.values())
    assert [requester.submission(rid, p.address).status for p in ps] == [Status.AGREED] * 3


def test_requester_chosen_parameters_are_frozen_into_the_round(requester, open_round, digits):
    params = replace(DEFAULT_PARAMS, quorum_bps=7_000, min_revealers=2, agreement_bps=1_000, min_stake=10**15)
    rid = open_round(digits.X_query[:5], params=params)
    info = requester.round(rid)
    assert info.params == params and info.audit_count == 0 and info.finalizer_fee == 0
    assert requester.round(open_round(digits.X_query[:5])).params == requester.defaults()  # openRound


@pytest.mark.parametrize("keywords, message", [
    (dict(params=replace(DEFAULT_PARAMS, agreement_bps=6_000)), "agreement_bps must be 0..5000"),
    (dict(audit=Audit((1, 9), (0, 1), bytes(32)), audit_duration=36), "audit index 9 is not below Q=5"),
    (dict(audit=Audit((1, 2), (0, 10), bytes(32)), audit_duration=36), "audit label 10 is not below K=10"),
    (dict(audit=Audit((1, 2), (0, 1), bytes(32)), audit_duration=35), "audit duration 35 s is outside"),
    (dict(audit_duration=36), "an audit duration needs an audit"),
])
def test_open_round_checks_params_and_audit_before_sending(requester, open_round, digits, keywords, message):
    count = requester.round_count()
    with pytest.raises(ValueError, match=message) as exc_info:
        open_round(digits.X_query[:5], **keywords)
    assert "\n" not in str(exc_info.value)
    assert requester.round_count() == count
    if "params" in keywords:
        assert isinstance(exc_info.value, ParamsError)


def test_an_audit_commitment_the_contract_would_not_accept_is_never_sent(requester, open_round, digits, monkeypatch):
    from cl_client.chain import ChainError

    monkeypatch.setattr(Audit, "commitment", lambda self, *a: b"\x01" * 32)
    count = requester.round_count()
    with pytest.raises(ChainError, match="is not the contract's auditCommitmentOf"):
        open_round(digits.X_query[:5], audit=Audit((0, 3), (1, 2), bytes(32)), audit_duration=36)
    assert requester.round_count() == count


def test_reveal_audit_outside_the_audit_phase_is_refused(requester, open_round, digits):
    audit = Audit((0, 3), (1, 2), bytes(range(32)))
    rid = open_round(digits.X_query[:5], audit=audit, audit_duration=36)
    with pytest.raises(ContractError) as exc_info:
        requester.reveal_audit(rid, audit)
    assert exc_info.value.name == "WrongPhase"


def test_abandon_fails_a_stale_round_and_pays_the_fee(requester, accounts, local_node, open_round, advance_to, digits):
    (gw, other) = accounts.take(2, deposit=ETH)
    rid = open_round(digits.X_query[:5], finalizer_fee_wei=FEE)
    gw.commit(rid, b"\x01" * 32)
    info = requester.round(rid)
    advance_to(info.reveal_deadline + 1)
    with pytest.raises(ContractError) as exc_info:
        other.abandon(rid)
    assert exc_info.value.name == "NotStaleYet"
    advance_to(info.audit_deadline + LIMITS.abandon_delay + 1)
    other.abandon(rid)
    after = requester.round(rid)
    assert after.phase == Phase.FAILED and after.refundable
    assert other.account_info().free == ETH + FEE
    gw.claim(rid)  # a non-revealer of an abandoned round: its penalty was burned
    assert gw.account_info().free == ETH - protocol.penalty(ETH, after.params.non_reveal_slash_bps)
    before = requester.balance()
    receipt = requester.claim_refund(rid, to=other.sender)
    assert requester.balance() == before - int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


def test_withdraw_to_sends_matured_requests_elsewhere(requester, accounts):
    (gw, to) = accounts.take(2, deposit=ETH)
    delay = requester.unbonding_delay()
    requester.set_unbonding_delay(0)
    try:
        gw.request_withdrawal(ETH // 4)
        assert gw.account_info().withdrawable == ETH // 4
        before = to.balance()
        gw.withdraw_to(to.sender)
        assert to.balance() == before + ETH // 4
        assert gw.account_info().unbonding == 0
    finally:
        requester.set_unbonding_delay(delay)
