"""Hidden audit queries (issue 13, deliverable 1): a colluding group with the stake majority is Excluded and
the honest minority writes the consensus; revealAudit's checks; an unrevealed audit costs the requester 20 %
of its reward; nobody passing fails the round unslashed; audit penalties are burned, never pooled.

Every attack here succeeds against v1 (no audits: the cartel's shared labelling is the plurality, the honest
are Deviated and slashed into the cartel's pool) -- test_cartel_wins_without_an_audit shows it on v2 too.
"""
import random

import brownie
import pytest
from brownie import chain

from oracle import plurality as oracle_plurality

from contract_helpers import (
    claim_all,
    AUDIT_FORFEIT_BPS,
    BPS,
    DEFAULTS,
    ETHER,
    Audit,
    Phase,
    Status,
    assert_books,
    audit_hits,
    audit_of,
    audit_passes,
    ceil_penalty,
    commit,
    err,
    events,
    finalize,
    finalize_args,
    open_round_with,
    plain,
    play_round,
    reveal,
    reveal_audit,
    round_info,
    settle,
    submission,
    the_event,
    to_audit_over,
    to_finalizable,
    to_reveal_phase,
)

Q, K, REWARD = 20, 4, ETHER
rng = random.Random(13)
TRUTH = bytes(rng.randrange(K) for _ in range(Q))
AUDIT_INDICES = (2, 5, 11, 14, 17)  # G = 5 hidden known-label queries
CARTEL = bytes((t + 1) % K for t in TRUTH)  # one shared wrong labelling


def noisy(errors) -> bytes:
    """TRUTH with the queries in `errors` answered wrong (never an audit query)."""
    assert not set(errors) & set(AUDIT_INDICES)
    return bytes((t + 2) % K if i in errors else t for i, t in enumerate(TRUTH))


ALICE, BOB = noisy({0, 7}), noisy({3, 8, 19})  # two honest 85-90 % labellers, different mistakes
# An audit slash (the default is 0: exclusion costs the reward and reputation) so the tests below can show
# where audit penalties go when a requester sets one.
AUDIT_SLASH = DEFAULTS.replace(auditSlashBps=1_000)


def refill(cl, accounts):
    """1 ether more free stake (the module's `audited` round, if it ran, locked their first ether)."""
    for a in accounts:
        cl.deposit({"from": a, "value": ETHER})


@pytest.fixture(scope="module")
def cartel_votes(staked):
    """Alice and Bob honest (2 ether); Carol, Dave and Erin a cartel (3 ether = 60 % of the stake)."""
    alice, bob, carol, dave, erin = staked
    return [(alice, ALICE), (bob, BOB), (carol, CARTEL), (dave, CARTEL), (erin, CARTEL)]


def test_cartel_wins_without_an_audit(cl, requester, cartel_votes):
    """The attack (issue 13: at 50-60 % colluders every honest participant is slashed every round)."""
    rid, ballots, revealed, tx = play_round(cl, requester, cartel_votes, Q, K, REWARD)
    assert plain(cl.consensus(rid)) == CARTEL
    assert [submission(cl, rid, b.account)["status"] for b in ballots[:2]] == [Status.DEVIATED] * 2


def test_hidden_audit_excludes_the_cartel_and_the_honest_minority_is_the_consensus(cl, requester, cartel_votes):
    audit = audit_of(TRUTH, AUDIT_INDICES)
    rid, ballots, revealed, tx = play_round(cl, requester, cartel_votes, Q, K, REWARD, audit=audit,
                                            params=AUDIT_SLASH)
    stakes = {b.address: ETHER for b in ballots}
    model = settle(AUDIT_SLASH, Q, K, REWARD, 0, stakes, {b.address: b.labels for b in revealed},
                   audit=audit.oracle())
    honest, cartel = ballots[:2], ballots[2:]
    assert plain(cl.consensus(rid)) == model.consensus
    assert sum(x == y for x, y in zip(model.consensus, TRUTH)) >= Q - 3  # the honest pair's plurality
    for b in ballots:
        s = submission(cl, rid, b.account)
        assert (s["status"], s["matches"], s["auditHits"]) == (
            model.status[b.address], model.matches[b.address], model.audit_hits[b.address])
    assert {model.status[b.address] for b in honest} == {Status.AGREED}
    assert {model.status[b.address] for b in cartel} == {Status.EXCLUDED}
    audit_penalty = ceil_penalty(ETHER, AUDIT_SLASH.auditSlashBps)
    assert sorted(events(tx, "Slashed"), key=lambda e: e["participant"]) == sorted(
        [{"roundId": rid, "participant": b.address, "penalty": audit_penalty, "status": Status.EXCLUDED}
         for b in cartel], key=lambda e: e["participant"])
    assert the_event(tx, "RoundSlashes") == {"roundId": rid, "pooled": 0, "burned": 3 * audit_penalty}
    assert the_event(tx, "RoundFinalized")["pool"] == REWARD  # the cartel's penalties are not in it
    assert claim_all(cl, rid, ballots) == {a: (model.reward[a], model.penalty[a]) for a in stakes}
    assert assert_books(cl)[3] == model.burned == 3 * audit_penalty + model.dust


def test_default_audit_exclusion_costs_the_reward_and_reputation_not_stake(cl, requester, cartel_votes):
    """With the defaults an Excluded revealer loses no stake (weak honest models fail a 10-query audit too:
    docs/agreement-threshold.md) but is unpaid and its reputation moves towards 0."""
    audit = audit_of(TRUTH, AUDIT_INDICES)
    rid, ballots, revealed, tx = play_round(cl, requester, cartel_votes, Q, K, REWARD, audit=audit)
    cartel = ballots[2:]
    assert {submission(cl, rid, b.account)["status"] for b in cartel} == {Status.EXCLUDED}
    assert events(tx, "Slashed") == [] and the_event(tx, "RoundSlashes")["burned"] == 0
    assert all(cl.reputationOf(b.address) < cl.REPUTATION_START() for b in cartel)
    assert all(claim_all(cl, rid, [b])[b.address] == (0, 0) for b in cartel)


def test_a_cartel_that_passes_the_audit_and_holds_the_consensus_takes_no_honest_stake(cl, requester, staked):
    """The attack: a stake-majority cartel answers the hidden audit right (here it knows it; an audit-aware
    group guesses it by answering honestly often enough) and lies on the rest, so it passes, holds the consensus
    and the honest minority deviates. Without an audit the honest deviators are slashed into the cartel's
    pool; with a revealed audit they passed, so they keep their stake (unpaid) and the pool is the reward."""
    liar = bytes(t if i in AUDIT_INDICES else (t + 1) % K for i, t in enumerate(TRUTH))
    alice, bob, carol, dave, erin = staked
    votes = [(alice, ALICE), (bob, BOB), (carol, liar), (dave, liar), (erin, liar)]
    audit = audit_of(TRUTH, AUDIT_INDICES)
    for with_audit in (False, True):
        refill(cl, staked)
        rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, REWARD,
                                                **({"audit": audit} if with_audit else {"params": DEFAULTS}))
        stakes = {b.address: submission(cl, rid, b.account)["stake"] for b in ballots}
        model = settle(DEFAULTS, Q, K, REWARD, 0, stakes, {b.address: b.labels for b in revealed},
                       audit=audit.oracle() if with_audit else None)
        assert plain(cl.consensus(rid)) == liar == model.consensus
        honest = [b.address for b in ballots[:2]]
        assert [submission(cl, rid, b.account)["status"] for b in ballots[:2]] == [Status.DEVIATED] * 2
        deviator_penalties = [ceil_penalty(stakes[a], DEFAULTS.deviatorSlashBps) for a in honest]
        assert [model.penalty[a] for a in honest] == ([0, 0] if with_audit else deviator_penalties)
        pool = the_event(tx, "RoundFinalized")["pool"]
        assert pool == REWARD + (0 if with_audit else sum(deviator_penalties))
        got = claim_all(cl, rid, ballots)
        assert got == {a: (model.reward[a], model.penalty[a]) for a in stakes}
        assert_books(cl)


def test_scored_events_carry_audit_hits_and_status(cl, requester, cartel_votes):
    audit = audit_of(TRUTH, AUDIT_INDICES)
    rid, ballots, revealed, tx = play_round(cl, requester, cartel_votes, Q, K, REWARD, audit=audit)
    got = {e["participant"]: (e["auditHits"], e["status"]) for e in events(tx, "Scored")}
    assert got == {b.address: (audit_hits(b.labels, *audit.oracle()),
                               submission(cl, rid, b.account)["status"]) for b in ballots}
    assert set(got[b.address][0] for b in ballots[2:]) == {0}
    assert set(got[b.address][0] for b in ballots[:2]) == {len(AUDIT_INDICES)}


@pytest.mark.parametrize("hits", [2, 3])
def test_audit_bound_is_hits_times_bps_at_least_bound_times_g(cl, requester, staked, hits):
    """G = 10, default bound 3000: 3 hits pass, 2 are Excluded."""
    g_indices = tuple(range(10))
    audit = audit_of(TRUTH, g_indices)
    weak = bytes((t + 1) % K if i in g_indices[hits:] else t for i, t in enumerate(TRUTH))
    alice, bob, carol = staked[:3]
    votes = [(alice, TRUTH), (bob, TRUTH), (carol, weak)]
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, REWARD, audit=audit)
    passes = audit_passes(hits, 10, DEFAULTS.auditBoundBps)
    assert passes == (hits * BPS >= DEFAULTS.auditBoundBps * 10)
    assert submission(cl, rid, carol)["auditHits"] == hits
    assert (submission(cl, rid, carol)["status"] == Status.EXCLUDED) == (not passes)


def test_honest_revealers_that_answer_the_audit_are_never_excluded(cl, requester, staked):
    """Honest labellers right on >= 30 % of the audit (default bound) pass, whatever their errors elsewhere.
    (The bound alone: these labellers all err the same way, (t + 1) % K, which the crowd rule strikes when
    several share a wrong audit answer; its honest side is test_a_shared_mistake_strikes_only_on_a_quarter.)"""
    audit = audit_of(TRUTH, AUDIT_INDICES)
    r = random.Random(7)
    votes = []
    for a in staked:
        labels = bytearray(TRUTH)
        for i in range(Q):
            if r.random() < 0.3:  # 70 % accurate
                labels[i] = (labels[i] + 1) % K
        wrong_on_audit = [i for i in AUDIT_INDICES if labels[i] != TRUTH[i]]
        for i in wrong_on_audit[3:]:  # at most 3 of 5 wrong: 2 hits = 40 % >= 30 %
            labels[i] = TRUTH[i]
        votes.append((a, bytes(labels)))
    rid, ballots, *_ = play_round(cl, requester, votes, Q, K, REWARD, params=DEFAULTS.replace(crowdBps=0), audit=audit)
    assert all(submission(cl, rid, b.account)["status"] != Status.EXCLUDED for b in ballots)


# ------------------------------------------------------------------------ revealAudit checks


@pytest.fixture(scope="module")
def audited(cl, requester, staked):
    """A round with a committed audit; three honest revealers; now in its Audit phase."""
    audit = audit_of(TRUTH, AUDIT_INDICES)
    rid = open_round_with(cl, requester, Q, K, REWARD, audit=audit)
    ballots = [commit(cl, rid, a, TRUTH) for a in staked[:3]]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    return rid, audit, ballots


def test_round_with_an_unrevealed_audit_is_in_its_audit_phase_and_cannot_be_finalized(cl, requester, audited):
    rid, _, ballots = audited
    assert cl.phase(rid) == Phase.AUDIT
    with brownie.reverts(err("WrongPhase", rid, Phase.FINALIZABLE, Phase.AUDIT)):
        finalize(cl, rid, ballots, requester)


def test_reveal_audit_publishes_it_and_ends_the_audit_phase(cl, requester, audited):
    rid, audit, _ = audited
    tx = reveal_audit(cl, rid, audit, requester)
    assert the_event(tx, "AuditRevealed") == {"roundId": rid, "indices": audit.indices_bytes(),
                                              "labels": audit.labels_bytes(), "salt": audit.salt}
    assert plain(cl.audit(rid)) == (audit.indices_bytes(), audit.labels_bytes())
    assert round_info(cl, rid)["auditRevealed"] is True
    assert cl.phase(rid) == Phase.FINALIZABLE


def test_reveal_audit_by_someone_else_reverts(cl, audited, alice):
    rid, audit, _ = audited
    with brownie.reverts(err("NotRequester", rid, alice)):
        reveal_audit(cl, rid, audit, alice)


@pytest.mark.parametrize("what", ["salt", "labels", "indices"])
def test_reveal_audit_with_anything_changed_reverts(cl, requester, audited, what):
    rid, audit, _ = audited
    changed = {"salt": Audit(audit.indices, audit.labels, bytes(32)),
               "labels": Audit(audit.indices, (audit.labels[0] ^ 1,) + audit.labels[1:], audit.salt),
               "indices": Audit((audit.indices[0] + 1,) + audit.indices[1:], audit.labels, audit.salt)}[what]
    with brownie.reverts(err("AuditCommitmentMismatch", rid)):
        reveal_audit(cl, rid, changed, requester)


def test_reveal_audit_with_wrong_lengths_reverts(cl, requester, audited):
    rid, audit, _ = audited
    with brownie.reverts(err("WrongLabelCount", 4, 5)):
        cl.revealAudit(rid, audit.indices_bytes(), audit.labels_bytes()[:4], audit.salt, {"from": requester})
    with brownie.reverts(err("WrongLabelCount", 8, 10)):
        cl.revealAudit(rid, audit.indices_bytes()[:8], audit.labels_bytes(), audit.salt, {"from": requester})


def test_reveal_audit_in_the_reveal_phase_reverts(cl, requester, staked):
    audit = audit_of(TRUTH, AUDIT_INDICES)
    rid = open_round_with(cl, requester, Q, K, audit=audit)
    with brownie.reverts(err("WrongPhase", rid, Phase.AUDIT, Phase.COMMIT)):
        reveal_audit(cl, rid, audit, requester)
    to_reveal_phase(cl, rid)
    with brownie.reverts(err("WrongPhase", rid, Phase.AUDIT, Phase.REVEAL)):
        reveal_audit(cl, rid, audit, requester)


def test_reveal_audit_after_its_deadline_or_twice_reverts(cl, requester, audited):
    rid, audit, _ = audited
    reveal_audit(cl, rid, audit, requester)
    with brownie.reverts(err("WrongPhase", rid, Phase.AUDIT, Phase.FINALIZABLE)):
        reveal_audit(cl, rid, audit, requester)


def test_reveal_audit_after_the_audit_deadline_reverts(cl, requester, audited):
    rid, audit, _ = audited
    to_audit_over(cl, rid)
    with brownie.reverts(err("WrongPhase", rid, Phase.AUDIT, Phase.FINALIZABLE)):
        reveal_audit(cl, rid, audit, requester)


BAD_INDICES = {
    # id: (indices, labels, (position, index) reported)
    "unsorted": ((5, 2, 11), (0, 0, 0), (1, 2)),
    "duplicate": ((2, 2, 11), (0, 0, 0), (1, 2)),
    "out-of-range": ((2, 5, Q), (0, 0, 0), (2, Q)),
}


@pytest.mark.parametrize("case", list(BAD_INDICES))
def test_reveal_audit_with_bad_indices_it_committed_to_reverts(cl, requester, staked, case):
    """A requester may commit to anything; revealAudit refuses indices that are not ascending and < Q."""
    indices, labels, (position, index) = BAD_INDICES[case]
    audit = Audit(indices, labels)
    rid = open_round_with(cl, requester, Q, K, audit=audit)
    to_finalizable(cl, rid)
    with brownie.reverts(err("InvalidAuditIndex", position, index, Q)):
        reveal_audit(cl, rid, audit, requester)


def test_reveal_audit_with_a_label_not_below_k_reverts(cl, requester, staked):
    audit = Audit((2, 5), (1, K))
    rid = open_round_with(cl, requester, Q, K, audit=audit)
    to_finalizable(cl, rid)
    with brownie.reverts(err("LabelOutOfRange", 1, K, K)):
        reveal_audit(cl, rid, audit, requester)


# ------------------------------------------------------------------------ requester misbehaviour


def test_unrevealed_audit_burns_a_fifth_of_the_reward_and_the_round_goes_on(cl, requester, audited):
    rid, audit, ballots = audited
    to_audit_over(cl, rid)
    stake, rewards, refunds, burned, surplus = assert_books(cl)
    tx = finalize(cl, rid, ballots, requester)
    forfeit = REWARD * AUDIT_FORFEIT_BPS // BPS
    model = settle(DEFAULTS, Q, K, REWARD, 0, {b.address: ETHER for b in ballots},
                   {b.address: b.labels for b in ballots}, audit_committed=True)
    assert model.forfeit == forfeit == REWARD // 5
    assert the_event(tx, "AuditForfeited") == {"roundId": rid, "amount": forfeit}
    assert cl.phase(rid) == Phase.FINALIZED
    assert the_event(tx, "RoundFinalized")["pool"] == model.pool == REWARD - forfeit
    assert assert_books(cl) == (stake, rewards - forfeit - model.dust, refunds, burned + forfeit + model.dust, surplus)
    assert round_info(cl, rid)["reward"] == REWARD - forfeit
    assert claim_all(cl, rid, ballots) == {a: (model.reward[a], 0) for a in model.reward}


def test_nobody_passing_the_audit_fails_the_round_and_slashes_no_revealer(cl, requester, staked):
    """A requester whose audit fails everyone cannot slash anyone through it."""
    liar = Audit(AUDIT_INDICES, tuple((TRUTH[i] + 3) % K for i in AUDIT_INDICES))
    refill(cl, staked[:3])
    votes = [(a, TRUTH) for a in staked[:4]]
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, REWARD, reveal_mask=[True] * 3 + [False],
                                            audit=liar)
    model = settle(DEFAULTS, Q, K, REWARD, 0, {b.address: submission(cl, rid, b.account)["stake"] for b in ballots},
                   {b.address: b.labels for b in revealed}, audit=liar.oracle())
    assert model.failed
    assert cl.phase(rid) == Phase.FAILED
    assert the_event(tx, "RoundFailed")["slashed"] == ceil_penalty(ETHER, DEFAULTS.nonRevealSlashBps)
    assert claim_all(cl, rid, ballots) == {a: (0, model.penalty[a]) for a in model.penalty}
    assert {model.penalty[b.address] for b in revealed} == {0}
    refund = cl.claimRefund(rid, {"from": requester})
    assert the_event(refund, "RefundClaimed")["amount"] == REWARD


def test_audit_penalties_are_burned_so_the_requesters_sybil_gains_nothing_from_them(cl, requester, staked, frank):
    """The requester writes false audit labels that its own Sybil (Frank) answers; the honest are Excluded.
    Their audit penalties are burned: the Sybil is paid back exactly the requester's own reward."""
    sybil_labels = bytes((t + 1) % K if i in AUDIT_INDICES else t for i, t in enumerate(TRUTH))
    false_audit = Audit(AUDIT_INDICES, tuple(sybil_labels[i] for i in AUDIT_INDICES))
    refill(cl, staked[:3])
    votes = [(a, TRUTH) for a in staked[:3]] + [(frank, sybil_labels)]
    stake_before, _, _, burned_before, _ = assert_books(cl)
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, REWARD, audit=false_audit, params=AUDIT_SLASH)
    assert [submission(cl, rid, b.account)["status"] for b in ballots] == [Status.EXCLUDED] * 3 + [Status.AGREED]
    penalties = sum(ceil_penalty(submission(cl, rid, b.account)["stake"], AUDIT_SLASH.auditSlashBps)
                    for b in ballots[:3])
    assert the_event(tx, "RoundSlashes") == {"roundId": rid, "pooled": 0, "burned": penalties}
    got = claim_all(cl, rid, ballots)
    assert got[frank.address] == (REWARD, 0)  # its own requester's reward, no honest penalty in it
    assert assert_books(cl)[3] - burned_before == penalties


def test_a_lying_requesters_sybil_does_not_collect_the_non_revealers_penalties(cl, requester, staked, frank):
    """The same false audit, and Dave commits and never reveals. Non-revealers' penalties used to be pooled in
    every round: the Sybil, the only passer, was paid the requester's reward plus Dave's penalty -- a profit
    from false audit labels, taken from the honest revealers who would have shared it. In a round with a
    revealed audit the non-revealers' penalties are now burned, like the audit's: the Sybil gets the reward
    back, nothing more."""
    sybil_labels = bytes((t + 1) % K if i in AUDIT_INDICES else t for i, t in enumerate(TRUTH))
    false_audit = Audit(AUDIT_INDICES, tuple(sybil_labels[i] for i in AUDIT_INDICES))
    refill(cl, staked[:4])
    votes = [(a, TRUTH) for a in staked[:4]] + [(frank, sybil_labels)]
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, REWARD, reveal_mask=[True] * 3 + [False, True],
                                            audit=false_audit)
    assert [submission(cl, rid, b.account)["status"] for b in ballots] == \
        [Status.EXCLUDED] * 3 + [Status.COMMITTED, Status.AGREED]
    dave_penalty = ceil_penalty(submission(cl, rid, ballots[3].account)["stake"], DEFAULTS.nonRevealSlashBps)
    stakes = {b.address: submission(cl, rid, b.account)["stake"] for b in ballots}
    model = settle(DEFAULTS, Q, K, REWARD, 0, stakes, {b.address: b.labels for b in revealed}, audit=false_audit.oracle())
    assert the_event(tx, "RoundSlashes") == {"roundId": rid, "pooled": 0, "burned": dave_penalty}
    got = claim_all(cl, rid, ballots)
    assert got == {a: (model.reward[a], model.penalty[a]) for a in stakes}
    assert got[frank.address] == (REWARD, 0)  # the reward it was paid in, no one's penalty
    assert got[ballots[3].address] == (0, dave_penalty)
    assert_books(cl)


def test_the_tally_trusts_this_rounds_audit_so_a_weak_stake_majority_does_not_write_the_consensus(
        cl, requester, accounts):
    """Round 1 has no history: every fresh address weighs stake x REPUTATION_START. A stake majority (1.5 x)
    that shares one wrong labelling and answers the audit at its bound (2 of 5, passing) outweighed two honest
    labellers (5 of 5) everywhere but the audit queries when the tally used reputations at commit. The tally
    now weighs each passer with the reputation this round's audit moves it to (honest 1000 -> 3700, the pair
    1000 -> 1900): the honest pair writes the consensus wherever it agrees."""
    honest, weak = accounts[12:14], accounts[14:16]
    for a in honest:
        cl.deposit({"from": a, "value": 2 * ETHER})
    for a in weak:
        cl.deposit({"from": a, "value": 3 * ETHER})
    assert {cl.reputationOf(a) for a in honest + weak} == {cl.REPUTATION_START()}  # fresh addresses
    right_on = set(AUDIT_INDICES[:2])
    shared = bytes(t if i in right_on else (t + 1) % K for i, t in enumerate(TRUTH))
    votes = [(honest[0], ALICE), (honest[1], BOB), (weak[0], shared), (weak[1], shared)]
    audit = audit_of(TRUTH, AUDIT_INDICES)
    # the crowd rule off: it would strike the pair out outright (3 shared wrong audit answers of 5), see below
    params = DEFAULTS.replace(crowdBps=0)
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, REWARD, params=params, audit=audit)
    stakes = {b.address: submission(cl, rid, b.account)["stake"] for b in ballots}
    model = settle(params, Q, K, REWARD, 0, stakes, {b.address: b.labels for b in revealed}, audit=audit.oracle())
    consensus = plain(cl.consensus(rid))
    assert consensus == model.consensus
    assert [submission(cl, rid, a)["auditHits"] for a in honest + weak] == [5, 5, 2, 2]
    assert {submission(cl, rid, a)["status"] for a in weak} == {Status.DEVIATED}  # passed the audit, outvoted
    honest_agree = [i for i in range(Q) if ALICE[i] == BOB[i]]
    assert all(consensus[i] == TRUTH[i] for i in honest_agree) and len(honest_agree) == Q - 5
    # the rule before: stake x reputation at commit, the shared labelling wins every query it does not concede
    at_commit = oracle_plurality([b.labels for b in revealed],
                                 [stakes[b.address] * cl.REPUTATION_START() for b in revealed], Q, K)
    assert sum(x == y for x, y in zip(at_commit, shared)) == Q


# ------------------------------------------------------------------------ the crowd rule

AUDIT10 = tuple(range(0, Q, 2))  # G = 10: the even queries


def lies_on(queries) -> bytes:
    """TRUTH with the queries in `queries` answered with the one shared wrong label (t + 1) % K."""
    return bytes((t + 1) % K if i in queries else t for i, t in enumerate(TRUTH))


def honest_pair() -> tuple[bytes, bytes]:
    """Two honest labellers, right on every audit query, with different mistakes on the odd queries."""
    return (bytes((t + 2) % K if i in {7, 19} else t for i, t in enumerate(TRUTH)),
            bytes((t + 3) % K if i in {3, 11} else t for i, t in enumerate(TRUTH)))


def test_an_adaptive_cartel_that_passes_the_audit_bound_is_struck_out_by_the_crowd_rule(cl, requester, accounts):
    """The attack the audit bound misses: a stake-majority cartel answers honestly on half the queries, audit
    queries included, and lies together on the other half. Right on 5 of 10 audit queries, it passes the bound
    (3 of 10). With the crowd rule off (crowdBps 0, the rule before) it weighs 2 x 3 ether x 2200 against the
    honest 2 x 1 ether x 3700 and writes its lies into the consensus. With the default crowdBps its five shared
    wrong audit answers are five strikes (>= 25 % of G): Excluded, and the honest pair writes the consensus."""
    honest, cartel = accounts[16:18], accounts[18:20]
    alice, bob = honest_pair()
    lie = {i for i in range(Q) if i % 4 in (0, 1)}  # audit queries 0, 4, 8, 12, 16 and the odd 1, 5, 9, 13, 17
    liar = lies_on(lie)
    audit = audit_of(TRUTH, AUDIT10)
    assert audit_hits(liar, *audit.oracle()) == 5 and audit_passes(5, 10, DEFAULTS.auditBoundBps)
    for crowd_bps, expected in ((0, liar), (DEFAULTS.crowdBps, None)):
        for a in honest:
            cl.deposit({"from": a, "value": ETHER})
        for a in cartel:
            cl.deposit({"from": a, "value": 3 * ETHER})
        params = DEFAULTS.replace(crowdBps=crowd_bps)
        votes = [(honest[0], alice), (honest[1], bob)] + [(a, liar) for a in cartel]
        at_commit = {a.address: cl.reputationOf(a) for a in honest + cartel}  # the first round moved them
        rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, REWARD, params=params, audit=audit)
        stakes = {b.address: submission(cl, rid, b.account)["stake"] for b in ballots}
        model = settle(params, Q, K, REWARD, 0, stakes, {b.address: b.labels for b in revealed}, audit=audit.oracle(),
                       reputations=at_commit)
        consensus = plain(cl.consensus(rid))
        assert consensus == model.consensus
        statuses = [submission(cl, rid, a)["status"] for a in cartel]
        if crowd_bps == 0:
            assert consensus == expected and statuses == [Status.AGREED] * 2  # the cartel wrote every lie
        else:
            assert statuses == [Status.EXCLUDED] * 2
            honest_agree = [i for i in range(Q) if alice[i] == bob[i]]
            assert all(consensus[i] == TRUTH[i] for i in honest_agree)
            assert [submission(cl, rid, a)["status"] for a in honest] == [Status.AGREED] * 2
        got = claim_all(cl, rid, ballots)
        assert got == {a: (model.reward[a], model.penalty[a]) for a in stakes}
        assert_books(cl)


@pytest.mark.parametrize("shared", [2, 3])
def test_a_shared_mistake_strikes_only_on_a_quarter_of_the_audit(cl, requester, staked, shared):
    """Five honest labellers that all make the same mistake on `shared` of the 10 audit queries (one model's
    copies, or a query every model finds hard): 2 strikes (20 % of G) keep them in, 3 (30 % >= CROWD_STRIKE_BPS)
    exclude all five -- and with nobody left in the tally the round fails, unslashed."""
    refill(cl, staked)
    wrong = set(AUDIT10[:shared])
    votes = [(a, lies_on(wrong)) for a in staked]
    audit = audit_of(TRUTH, AUDIT10)
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, REWARD, audit=audit)
    struck = shared * BPS >= cl.CROWD_STRIKE_BPS() * len(AUDIT10)
    assert struck == (shared == 3)
    stakes = {b.address: submission(cl, rid, b.account)["stake"] for b in ballots}
    model = settle(DEFAULTS, Q, K, REWARD, 0, stakes, {b.address: b.labels for b in revealed}, audit=audit.oracle())
    assert model.failed == struck
    assert cl.phase(rid) == (Phase.FAILED if struck else Phase.FINALIZED)
    if not struck:
        assert {submission(cl, rid, b.account)["status"] for b in ballots} == {Status.AGREED}
    assert all(model.penalty[a] == 0 for a in stakes)


@pytest.mark.parametrize("crowd_bps", [4_000, 5_000, 0])
def test_the_crowd_is_crowd_bps_of_the_revealers_and_at_least_two(cl, requester, staked, crowd_bps):
    """Five revealers; a pair shares one wrong answer on 5 of 10 audit queries (right on the other 5: past the
    bound). crowdBps 4000: a crowd is max(2, ceil(0.4 x 5)) = 2, the pair is struck out; 5000: 3, it stays in;
    0: the rule is off."""
    refill(cl, staked)
    alice, bob, carol, dave, erin = staked
    pair = lies_on(set(AUDIT10[:5]))
    votes = [(alice, TRUTH), (bob, TRUTH), (carol, TRUTH), (dave, pair), (erin, pair)]
    params = DEFAULTS.replace(crowdBps=crowd_bps)
    audit = audit_of(TRUTH, AUDIT10)
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q, K, REWARD, params=params, audit=audit)
    stakes = {b.address: submission(cl, rid, b.account)["stake"] for b in ballots}
    model = settle(params, Q, K, REWARD, 0, stakes, {b.address: b.labels for b in revealed}, audit=audit.oracle())
    excluded = crowd_bps == 4_000
    got = [submission(cl, rid, a)["status"] for a in (dave, erin)]
    assert (got == [Status.EXCLUDED] * 2) == excluded
    assert got == [model.status[a.address] for a in (dave, erin)]
    assert submission(cl, rid, dave)["auditHits"] == 5


def test_crowd_bps_above_all_of_the_revealers_reverts(cl, requester):
    with brownie.reverts(err("ParameterOutOfBounds", "crowdBps", BPS + 1, 0, BPS)):
        open_round_with(cl, requester, Q, K, REWARD, params=DEFAULTS.replace(crowdBps=BPS + 1),
                        audit=audit_of(TRUTH, AUDIT10))
