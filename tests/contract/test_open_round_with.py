"""openRoundWith: requester-chosen parameters, the finalizer fee and the audit terms (RoundSpec checks).
Parameter bounds: test_bounds.py. Audit reveal and scoring: test_audit.py."""
import brownie
import pytest

from contract_helpers import (
    DEFAULTS,
    ETHER,
    MAX_AUDIT_QUERIES,
    MAX_PHASE,
    MIN_PHASE,
    QHASH,
    URI,
    Audit,
    Phase,
    assert_books,
    err,
    open_round_with,
    plain,
    round_info,
    round_spec,
    the_event,
)

PARAMS = DEFAULTS.replace(quorumBps=6_000, minRevealers=2, agreementBps=1_000, auditBoundBps=5_000)
AUDIT = Audit((1, 5, 6), (0, 1, 1), bytes(range(32)))


def test_open_round_with_freezes_the_requesters_parameters_audit_and_fee(cl, requester):
    spec = round_spec(cl, requester, 8, 2, params=PARAMS, audit=AUDIT, audit_s=100, fee=7)
    tx = cl.openRoundWith(spec, URI, {"from": requester, "value": ETHER + 7})
    rid = tx.return_value
    opened = the_event(tx, "RoundOpened")
    assert (opened["reward"], opened["finalizerFee"]) == (ETHER, 7)
    reveal_deadline = tx.timestamp + 600 + 600
    assert the_event(tx, "RoundTerms") == {"roundId": rid, "params": PARAMS.astuple(), "auditCount": 3,
                                           "auditDeadline": reveal_deadline + 100,
                                           "auditCommitment": AUDIT.commitment(cl, requester)}
    info = round_info(cl, rid)
    assert (info["reward"], info["finalizerFee"], info["auditCount"], info["auditDeadline"], info["params"]) == (
        ETHER, 7, 3, reveal_deadline + 100, PARAMS.astuple())
    assert assert_books(cl) == (0, ETHER + 7, 0, 0, 0)


def test_audit_commitment_of_equals_the_python_commitment(cl, requester):
    got = cl.auditCommitmentOf(requester, QHASH, AUDIT.indices_bytes(), AUDIT.labels_bytes(), AUDIT.salt)
    assert plain(got) == AUDIT.commitment(cl, requester)
    other = cl.auditCommitmentOf(requester, b"\x01" * 32, AUDIT.indices_bytes(), AUDIT.labels_bytes(), AUDIT.salt)
    assert plain(other) != plain(got)  # bound to the query batch


def test_fee_above_the_value_reverts(cl, requester):
    with brownie.reverts(err("FeeExceedsValue", 8, 7)):
        cl.openRoundWith(round_spec(cl, requester, 8, 2, fee=8), URI, {"from": requester, "value": 7})


def test_the_whole_value_may_be_the_fee(cl, requester):
    rid = open_round_with(cl, requester, 8, 2, 0, fee=5)
    assert (round_info(cl, rid)["reward"], round_info(cl, rid)["finalizerFee"]) == (0, 5)


BAD_AUDITS = {
    # id: (auditCount, auditDuration, commitment, q)
    "count-without-commitment": (3, 100, bytes(32), 8),
    "commitment-without-count": (0, 0, b"\x01" * 32, 8),
    "count-without-duration": (3, 0, b"\x01" * 32, 8),
    "duration-without-count": (0, 100, bytes(32), 8),
    "count-above-q": (9, 100, b"\x01" * 32, 8),
    "count-above-256": (MAX_AUDIT_QUERIES + 1, 100, b"\x01" * 32, 4096),
}


@pytest.mark.parametrize("case", list(BAD_AUDITS))
def test_inconsistent_audit_terms_revert(cl, requester, case):
    g, duration, c, q = BAD_AUDITS[case]
    spec = list(round_spec(cl, requester, q, 2))
    spec[5], spec[6], spec[7] = duration, g, c
    with brownie.reverts(err("InvalidAudit", g, duration, c)):
        cl.openRoundWith(tuple(spec), URI, {"from": requester})


@pytest.mark.parametrize("duration", [MIN_PHASE - 1, MAX_PHASE + 1])
def test_audit_duration_outside_the_phase_bounds_reverts(cl, requester, duration):
    with brownie.reverts(err("InvalidDuration", duration, MIN_PHASE, MAX_PHASE)):
        cl.openRoundWith(round_spec(cl, requester, 8, 2, audit=AUDIT, audit_s=duration), URI, {"from": requester})


def test_the_largest_audit_is_accepted(cl, requester):
    audit = Audit(tuple(range(0, 4096, 4096 // MAX_AUDIT_QUERIES)), (1,) * MAX_AUDIT_QUERIES)
    rid = open_round_with(cl, requester, 4096, 2, audit=audit, audit_s=MIN_PHASE)
    assert round_info(cl, rid)["auditCount"] == MAX_AUDIT_QUERIES


def test_a_round_with_an_audit_enters_the_audit_phase_after_reveal(cl, requester):
    rid = open_round_with(cl, requester, 8, 2, audit=AUDIT)
    info = round_info(cl, rid)
    brownie.chain.mine(timestamp=info["revealDeadline"] + 1)
    assert cl.phase(rid) == Phase.AUDIT
    brownie.chain.mine(timestamp=info["auditDeadline"] + 1)
    assert cl.phase(rid) == Phase.FINALIZABLE
