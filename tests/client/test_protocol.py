"""cl_client.protocol (the product's statement of the rules) against tests/oracle.py (the independent one).

The v2 rules (chance-corrected agreement, the audit) are compared with the oracle's mode_count, agrees,
audit_hits, audit_passes and penalty; until tests/oracle.py has them, those tests are skipped (`needs_oracle`).
"""
from dataclasses import replace

import numpy as np
import pytest

import oracle
from cl_client import protocol
from cl_client.protocol import DEFAULT_BOUNDS, DEFAULT_PARAMS, LIMITS, Audit, ParamsError, Phase, Status


def needs_oracle(*names):
    missing = [n for n in names if not hasattr(oracle, n)]
    return pytest.mark.skipif(bool(missing), reason=f"tests/oracle.py has no {', '.join(missing)} yet")


def _rows(labels: np.ndarray) -> list[bytes]:
    return [bytes(row.astype(np.uint8).tolist()) for row in labels]


@pytest.mark.parametrize("seed", range(20))
def test_plurality_equals_the_oracle_with_random_stakes_and_many_ties(seed):
    rng = np.random.default_rng(seed)
    n, q, k = int(rng.integers(1, 9)), int(rng.integers(1, 40)), int(rng.integers(2, 5))
    labels = rng.integers(0, k, size=(n, q))
    weights = rng.integers(1, 4, size=n).tolist()  # small weights: ties are frequent
    got = protocol.plurality(labels, k, weights)
    assert bytes(got.astype(np.uint8).tolist()) == oracle.plurality(_rows(labels), weights, q, k)


def test_plurality_is_exact_for_wei_stakes_beyond_int64():
    labels = np.array([[0, 1], [1, 0], [1, 1]])
    weights = [2**80 + 1, 2**80, 1]  # 0 wins query 0 by one wei; int64 arithmetic would overflow
    assert protocol.plurality(labels, 2, weights).tolist() == [0, 1]
    assert oracle.plurality(_rows(labels), weights, 2, 2) == bytes([0, 1])


def test_plurality_breaks_ties_to_the_smallest_label_and_counts_one_vote_each_by_default():
    labels = np.array([[3, 1, 0], [1, 1, 2], [3, 2, 2], [1, 4, 0]])
    assert protocol.plurality(labels, num_classes=5).tolist() == [1, 1, 0]


@pytest.mark.parametrize("bad, message", [
    (np.array([1, 2]), "voters, queries"),
    (np.array([[0, 5]]), "0..4"),
])
def test_plurality_refuses_bad_labels_with_a_message(bad, message):
    with pytest.raises(ValueError, match=message):
        protocol.plurality(bad, 5)


@needs_oracle("agrees")
@pytest.mark.parametrize("q, bps, mode", [(100, 500, 30), (7, 2600, 7), (1, 5000, 1), (4096, 1, 17), (3, 0, 1),
                                          (10, 5000, 5), (100, 7000, 100)])
def test_agrees_is_the_chance_corrected_rule_at_every_match_count(q, bps, mode):
    counts = np.arange(q + 1)
    expected = [bool(oracle.agrees(int(m), q, bps, mode)) for m in counts]
    assert protocol.agrees(counts, q, bps, mode).tolist() == expected
    assert [protocol.agrees(int(m), q, bps, mode) for m in counts] == expected
    assert protocol.deviators(counts, q, bps, mode).tolist() == [not e for e in expected]


@pytest.mark.parametrize("q, bps, mode", [(100, 500, 30), (7, 2600, 7), (20, 2600, 4), (1, 5000, 1), (3, 0, 1),
                                          (50, 7000, 10)])
def test_min_matches_is_the_least_count_that_agrees(q, bps, mode):
    m = protocol.min_matches(q, bps, mode)
    assert protocol.agrees(m, q, bps, mode) and (m == 0 or not protocol.agrees(m - 1, q, bps, mode))


def test_a_blind_labeller_at_k2_does_not_agree():
    """The audit's finding 5: an all-zeros labeller matches the modal label's count, which is not agreement."""
    consensus = np.array([0] * 50 + [1] * 50)
    mode = protocol.mode_count(consensus, 2)
    zeros = protocol.matches(np.zeros((1, 100), dtype=int), consensus)[0]
    assert mode == 50 and zeros == 50
    assert not protocol.agrees(zeros, 100, DEFAULT_PARAMS.agreement_bps, mode)
    assert protocol.agrees(100, 100, DEFAULT_PARAMS.agreement_bps, mode)


@needs_oracle("mode_count")
@pytest.mark.parametrize("seed", range(10))
def test_mode_count_equals_the_oracle(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 9))
    consensus = rng.integers(0, k, size=int(rng.integers(1, 60)))
    assert protocol.mode_count(consensus, k) == oracle.mode_count(bytes(consensus.astype(np.uint8).tolist()), k)


def test_mode_count_of_the_consensus():
    assert protocol.mode_count([2, 2, 1, 0, 2], 3) == 3
    assert protocol.mode_count([], 4) == 0


def test_matches_counts_equal_labels_per_voter():
    labels = np.array([[1, 2, 3], [1, 0, 3], [0, 0, 0]])
    assert protocol.matches(labels, np.array([1, 2, 3])).tolist() == [3, 2, 0]


@pytest.mark.parametrize("stake", [0, 1, 9_999, 10_000, 10**16 + 1, 3 * 10**18 + 7, 2**96 - 1])
@pytest.mark.parametrize("bps", [0, 1, 1_000, 2_000, 5_000])
def test_penalty_rounds_up_like_the_oracle(stake, bps):
    oracle_penalty = getattr(oracle, "penalty", oracle.ceil_penalty)
    assert protocol.penalty(stake, bps) == oracle_penalty(stake, bps)


def test_reward_shares_never_pay_out_more_than_the_pool():
    pool, weights = 10**18 + 1, [3, 5, 7]
    shares = [protocol.reward_share(pool, w, sum(weights)) for w in weights]
    assert sum(shares) <= pool and pool - sum(shares) < len(weights)
    assert protocol.reward_share(pool, 1, 0) == 0


def test_params_check_names_the_bound_it_breaks():
    assert DEFAULT_PARAMS.check() is DEFAULT_PARAMS
    assert DEFAULT_PARAMS.check(DEFAULT_BOUNDS) is DEFAULT_PARAMS
    with pytest.raises(ParamsError, match=f"agreement_bps must be 0..{DEFAULT_BOUNDS.max_agreement_bps}"):
        replace(DEFAULT_PARAMS, agreement_bps=DEFAULT_BOUNDS.max_agreement_bps + 1).check()
    with pytest.raises(ParamsError, match="non_reveal_slash_bps"):
        replace(DEFAULT_PARAMS, non_reveal_slash_bps=DEFAULT_PARAMS.deviator_slash_bps - 1).check()
    with pytest.raises(ParamsError, match="non_reveal_slash_bps"):  # not revealing never cheaper than the audit
        replace(DEFAULT_PARAMS, audit_slash_bps=DEFAULT_PARAMS.non_reveal_slash_bps + 1).check()
    with pytest.raises(ParamsError, match="deviator_slash_bps must be 0..0"):
        replace(DEFAULT_PARAMS, equal_weights=True).check()
    replace(DEFAULT_PARAMS, equal_weights=True, deviator_slash_bps=0).check()
    with pytest.raises(ParamsError, match="equal_weights"):
        replace(DEFAULT_PARAMS, equal_weights=True, deviator_slash_bps=0).check(
            replace(DEFAULT_BOUNDS, allow_equal_weights=False))
    with pytest.raises(ParamsError, match="min_stake"):
        replace(DEFAULT_PARAMS, min_stake=DEFAULT_BOUNDS.min_stake_floor - 1).check()
    with pytest.raises(ParamsError, match="quorum_bps"):
        replace(DEFAULT_PARAMS, quorum_bps=DEFAULT_BOUNDS.min_quorum_bps - 1).check()
    with pytest.raises(ParamsError, match="audit_bound_bps"):
        replace(DEFAULT_PARAMS, audit_bound_bps=DEFAULT_BOUNDS.max_audit_bound_bps + 1).check()


def test_default_bounds_lie_in_the_hard_limits_and_contain_the_defaults():
    b = DEFAULT_BOUNDS
    assert LIMITS.min_quorum_bps <= b.min_quorum_bps and b.max_agreement_bps <= LIMITS.max_agreement_bps
    assert b.max_slash_bps <= LIMITS.max_slash_bps and b.min_stake_ceiling <= LIMITS.max_min_stake
    assert list(b.to_abi()) == ["minQuorumBps", "maxAgreementBps", "maxSlashBps", "maxAuditBoundBps",
                                "allowEqualWeights", "minStakeFloor", "minStakeCeiling"]


def test_phase_rank_orders_a_rounds_life():
    life = [Phase.NONE, Phase.COMMIT, Phase.REVEAL, Phase.AUDIT, Phase.FINALIZABLE, Phase.FINALIZED]
    assert [p.rank for p in life] == sorted(p.rank for p in life) and len({p.rank for p in life}) == len(life)
    assert Phase.FAILED.rank == Phase.FINALIZED.rank


def test_slash_bps_per_status():
    p = replace(DEFAULT_PARAMS, audit_slash_bps=700)
    assert [protocol.slash_bps(p, s) for s in Status] == [0, p.non_reveal_slash_bps, 0, 0, p.deviator_slash_bps,
                                                          p.audit_slash_bps]
    # with a revealed audit, an audit-passer that deviated keeps its stake; the others pay as without one
    assert [protocol.slash_bps(p, s, audited=True) for s in Status] == [0, p.non_reveal_slash_bps, 0, 0, 0,
                                                                        p.audit_slash_bps]


# ------------------------------------------------------------------ the audit


def test_audit_bytes_are_two_big_endian_bytes_per_index_and_one_per_label():
    a = Audit((1, 300, 4095), (0, 9, 255), bytes(range(32)))
    assert a.indices_bytes() == bytes.fromhex("0001012c0fff") and a.labels_bytes() == bytes([0, 9, 255])
    assert Audit.from_bytes(a.indices_bytes(), a.labels_bytes(), a.salt) == a
    assert Audit.from_json(a.to_json()) == a
    assert a.salt.hex() not in repr(a)  # the secret stays out of logs


@pytest.mark.parametrize("indices, labels, salt, message", [
    ((3, 2), (0, 0), bytes(32), "strictly ascending"),
    ((1, 1), (0, 0), bytes(32), "strictly ascending"),
    ((1,), (0, 1), bytes(32), "one label per index"),
    ((), (), bytes(32), "1..128"),
    ((1,), (0,), bytes(31), "32 bytes"),
    ((4096,), (0,), bytes(32), "strictly ascending"),
])
def test_audit_refuses_malformed_audits(indices, labels, salt, message):
    with pytest.raises(ValueError, match=message):
        Audit(indices, labels, salt)


def test_audit_check_fits_the_round():
    a = Audit((0, 9), (1, 3), bytes(32))
    assert a.check(10, 4) is a
    with pytest.raises(ValueError, match="not below Q=9"):
        a.check(9, 4)
    with pytest.raises(ValueError, match="not below K=3"):
        a.check(10, 3)


def test_audit_draw_picks_known_queries_sorted_with_a_fresh_salt():
    known = {i: i % 3 for i in range(0, 100, 7)}
    a, b = Audit.draw(1, known, 5), Audit.draw(1, list(known.items()), 5)
    assert a.indices == b.indices and list(a.indices) == sorted(set(a.indices)) and len(a.indices) == 5
    assert all(known[i] == y for i, y in zip(a.indices, a.labels))
    assert a.salt != b.salt  # never from the seeded generator
    with pytest.raises(ValueError, match="15 labels are known"):
        Audit.draw(0, known, 16)


def test_audit_hits_and_the_audit_rule():
    a = Audit((1, 3, 5, 7), (1, 1, 0, 2), bytes(32))
    labels = bytes([0, 1, 0, 1, 0, 1, 0, 2])
    assert protocol.audit_hits(labels, a) == 3 == protocol.audit_hits(list(labels), a)
    assert protocol.audit_passes(3, 4, 7500) and not protocol.audit_passes(2, 4, 7500)
    assert protocol.audit_passes(0, 0, 9000)  # no audit: everyone passes
    assert protocol.audit_passes(np.array([0, 1, 2]), 2, 5000).tolist() == [False, True, True]


@needs_oracle("audit_hits", "audit_passes")
@pytest.mark.parametrize("seed", range(10))
def test_audit_rules_equal_the_oracle(seed):
    rng = np.random.default_rng(seed)
    q, k = int(rng.integers(5, 80)), int(rng.integers(2, 6))
    g = int(rng.integers(1, q + 1))
    indices = sorted(rng.choice(q, size=g, replace=False).tolist())
    a = Audit(tuple(indices), tuple(rng.integers(0, k, size=g).tolist()), bytes(32))
    labels = bytes(rng.integers(0, k, size=q).astype(np.uint8).tolist())
    hits = protocol.audit_hits(labels, a)
    assert hits == oracle.audit_hits(labels, a.indices_bytes(), a.labels_bytes()) or \
        hits == oracle.audit_hits(labels, list(a.indices), list(a.labels))
    for bound in (0, 1, 3000, 5000, 9000):
        assert protocol.audit_passes(hits, g, bound) == bool(oracle.audit_passes(hits, g, bound))


def test_the_crowd_rule_by_hand():
    """Four revealers, G = 4 audit queries (labels 0, 0, 0, 0): three share the wrong label 1 on queries 0 and 1,
    the fourth is wrong alone on query 2. Crowd 2: the three have 2 strikes (50 % of G >= 25 %), the loner 0."""
    answers = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 3, 0]])
    known = [0, 0, 0, 0]
    assert protocol.crowd_strikes(answers, known, 2).tolist() == [2, 2, 2, 0]
    assert protocol.crowd_strikes(answers, known, 4).tolist() == [0, 0, 0, 0]  # nobody has a crowd of 4
    assert protocol.crowd_passes(np.array([2, 2, 2, 0]), 4).tolist() == [False, False, False, True]
    assert protocol.crowd_passes(1, 4) is False and protocol.crowd_passes(1, 5) is True  # 1 x 10000 vs 2500 x G
    assert protocol.crowd_passes(7, 0) is True  # no audit: nobody is struck
    assert protocol.crowd_size(4_000, 10) == 4 and protocol.crowd_size(4_000, 4) == 2 and protocol.crowd_size(4_000, 1) == 2
    assert protocol.crowd_size(5_000, 5) == 3 and protocol.crowd_size(0, 10) == 0  # ceil; 0: the rule is off
    assert protocol.crowd_strikes(answers, known, 0).tolist() == [0, 0, 0, 0]


def test_the_crowd_rules_memory_by_hand():
    """An address struck out last time is struck out by one strike (CROWD_REPEAT_STRIKES), at any G; with none it
    passes, and then (judged) its memory clears; a round that did not judge it leaves the memory as it was."""
    assert protocol.LIMITS.crowd_repeat_strikes == 1
    assert protocol.crowd_passes(1, 10) is True and protocol.crowd_passes(1, 10, True) is False
    assert protocol.crowd_passes(np.array([0, 1, 2, 3]), 10, np.array([True, True, False, False])).tolist() == \
        [True, False, True, False]  # 3 x 10000 >= 2500 x 10 strikes out anyone
    assert protocol.crowd_passes(5, 0, True) is True  # no audit: nobody is struck
    assert protocol.next_struck_out(True, True, True) is False and protocol.next_struck_out(False, True, False) is True
    assert protocol.next_struck_out(True, False, True) is True and protocol.next_struck_out(False, False, False) is False


@needs_oracle("crowd_struck")
@pytest.mark.parametrize("seed", range(20))
def test_the_crowd_rule_equals_the_oracle_on_random_rounds(seed):
    """protocol.crowd_size / crowd_strikes / crowd_passes against tests/oracle.py's loop, with few labels so that
    crowds are common."""
    rng = np.random.default_rng(seed)
    n, q, k = int(rng.integers(1, 12)), int(rng.integers(4, 40)), int(rng.integers(2, 5))
    g = int(rng.integers(1, q + 1))
    idx = np.sort(rng.choice(q, size=g, replace=False))
    known = rng.integers(0, k, size=g)
    labels = rng.integers(0, k, size=(n, q))
    revealed = {f"0x{i:040x}": bytes(labels[i].astype(np.uint8).tolist()) for i in range(n)}
    before = rng.random(n) < 0.5  # the crowd rule's memory of each address
    remembered = {a for a, b in zip(revealed, before) if b}
    for crowd_bps in (0, 1, 2_500, 4_000, 5_000, 10_000):
        strikes = protocol.crowd_strikes(labels[:, idx], known, protocol.crowd_size(crowd_bps, n))
        ours = {a for a, ok in zip(revealed, protocol.crowd_passes(strikes, g)) if not ok}
        assert ours == oracle.crowd_struck(revealed, idx.tolist(), known.tolist(), crowd_bps)
        ours = {a for a, ok in zip(revealed, protocol.crowd_passes(strikes, g, before)) if not ok}
        assert ours == oracle.crowd_struck(revealed, idx.tolist(), known.tolist(), crowd_bps, remembered)


def test_audit_commitment_is_the_contracts_encoding():
    """abi.encode(chainid, contract, requester, queriesHash, keccak(indices), keccak(labels), salt), hashed."""
    from eth_abi import encode
    from eth_utils import keccak

    a = Audit((2, 5), (1, 0), b"\x07" * 32)
    contract, requester, qh = "0x" + "11" * 20, "0x" + "22" * 20, b"\x05" * 32
    words = encode(["uint256", "address", "address", "bytes32", "bytes32", "bytes32", "bytes32"],
                   [1337, contract, requester, qh, keccak(bytes.fromhex("00020005")), keccak(bytes([1, 0])), a.salt])
    assert a.commitment(1337, contract, requester, qh) == keccak(words)


@pytest.mark.parametrize("seed", range(20))
def test_reputation_rule_equals_the_oracle_on_random_rounds(seed):
    """score (audit accuracy, or no move without an audit), update and tally weight: cl_client.protocol against
    tests/oracle.py, and the update stays within [floor, 10000] and between the old value and the score."""
    rng = np.random.default_rng(seed)
    for _ in range(200):
        g = int(rng.integers(1, 257))
        hits = int(rng.integers(0, g + 1))
        score = protocol.reputation_score(hits, g)
        assert score == oracle.reputation_score(hits, g)
        assert 0 <= score <= protocol.BPS
        assert protocol.reputation_score(hits, g, excluded=True) == 0
        assert protocol.reputation_score(0, 0) is None  # no audit: no move
        old = int(rng.integers(LIMITS.reputation_floor, protocol.BPS + 1))
        new = protocol.next_reputation(old, score)
        assert new == oracle.next_reputation(old, score)
        assert LIMITS.reputation_floor <= new <= protocol.BPS
        assert min(old, score) <= new <= max(old, score) or new == LIMITS.reputation_floor
    assert protocol.tally_weight(3, 700) == 2100 and protocol.tally_weight(3, 700, equal_weights=True) == 700


def test_the_tally_weighs_the_reputation_this_rounds_audit_moves_it_to():
    """The plurality's reputation: one update step towards the round's audit accuracy (the oracle's statement:
    next_reputation(rep, reputation_score(hits, G))); without a revealed audit, the reputation at commit."""
    for rep in (LIMITS.reputation_floor, LIMITS.reputation_start, 5_000, protocol.BPS):
        assert protocol.tally_reputation(rep, 0, 0) == rep
        for g in (1, 5, 10, 256):
            for hits in sorted({0, 1, g // 2, g - 1, g}):
                want = oracle.next_reputation(rep, oracle.reputation_score(hits, g))
                assert protocol.tally_reputation(rep, hits, g) == want
    # a fresh address: 5 of 5 right weighs 3700, 2 of 5 (the default bound's least pass) 1900
    assert [protocol.tally_reputation(LIMITS.reputation_start, h, 5) for h in (5, 2)] == [3700, 1900]


@pytest.mark.parametrize("old", [LIMITS.reputation_floor, 101, 700, LIMITS.reputation_start, 5_000, 9_999,
                                 protocol.BPS])
@pytest.mark.parametrize("score", [0, 1, 2_500, 9_999, protocol.BPS])
def test_the_update_stays_within_bounds_and_between_old_and_score_at_the_edges(old, score):
    new = protocol.next_reputation(old, score)
    assert new == oracle.next_reputation(old, score)
    assert LIMITS.reputation_floor <= new <= protocol.BPS
    assert min(old, score) <= new <= max(old, score) or new == LIMITS.reputation_floor


def test_a_fresh_address_needs_rounds_to_earn_trust_and_loses_it_faster_than_zero():
    """Full agreement every round: 1000 -> 3700 -> 5590 -> 6913; never scored again -> down 30 % a round to
    the floor (and not below it)."""
    r, up = LIMITS.reputation_start, []
    for _ in range(3):
        r = protocol.next_reputation(r, protocol.BPS)
        up.append(r)
    assert up == [3700, 5590, 6913]
    for _ in range(30):
        r = protocol.next_reputation(r, 0)
    assert r == LIMITS.reputation_floor
