"""Aggregation rules (cl_client.aggregation): the on-chain plurality and Snowball gossip; no chain needed.

Hand-made cases whose outcome follows from the protocol (derivations in the comments), the Byzantine
thresholds the defaults are built on, and the bookkeeping (messages, rounds, determinism).
"""
import numpy as np
import pytest

import oracle
from cl_client import protocol
from cl_client.aggregation import (
    ADVERSARIES, RULES, Aggregate, OnChainPlurality, Snowball, _compact, _majority, compare_under_byzantine,
    make_rule,
)


def _models(n, q, k, accuracy, seed):
    """Truth and (n, q) labels of models right with probability `accuracy`, else a uniform wrong label."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, q)
    wrong = (truth[None, :] + rng.integers(1, k, (n, q))) % k
    return truth, np.where(rng.random((n, q)) < accuracy, truth, wrong), rng


# ------------------------------------------------------------------------------------------ plurality


def test_plurality_rule_is_protocol_plurality_with_ties_and_weights():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, (6, 400))  # 3 classes, 6 voters: many ties
    weights = rng.integers(0, 4, 6).tolist()
    rule = OnChainPlurality()
    for w in (None, weights, [10**18 + 1, 10**18, 10**18, 1, 0, 2]):
        got = rule.aggregate(labels, 3, weights=w).labels
        assert got.tolist() == protocol.plurality(labels, 3, w).tolist()
        rows = [bytes(r.astype(np.uint8)) for r in labels]
        assert bytes(got.astype(np.uint8)) == oracle.plurality(rows, w or [1] * 6, 400, 3)


def test_plurality_rule_by_hand():
    labels = np.array([[0, 1, 2], [1, 0, 2], [2, 2, 1]])
    rule = make_rule("plurality")
    assert rule.aggregate(labels, 3).labels.tolist() == [0, 0, 2]  # 1-1-1 ties go to the smallest label
    assert rule.aggregate(labels, 3, weights=[1, 2, 2]).labels.tolist() == [1, 0, 2]  # 2-2 tie -> smaller
    assert rule.aggregate(labels, 3, weights=[1, 1, 3]).labels.tolist() == [2, 2, 1]
    out = rule.aggregate(labels, 3, byzantine=[True, False, False])  # the contract cannot tell
    assert isinstance(out, Aggregate) and out.stats == {} and out.labels.tolist() == [0, 0, 2]


# ------------------------------------------------------------------------------------------ Snowball by hand


def test_snowball_five_against_two_decides_the_majority_within_four_rounds():
    # 7 honest: 5 prefer 2, 2 prefer 0; k=4, alpha=3, beta=3. A 0-preferrer's 6 peers are five 2s and one
    # 0, so any 4 of them hold at least three 2s: it succeeds on 2 in round 1 and flips (d[2]=1 > d[0]=0);
    # from round 2 on everyone prefers 2 and every poll succeeds. A 2-preferrer succeeds in round 1 or
    # not (its peers are four 2s and two 0s), so it decides in round 3 or 4; 0-preferrers in round 3.
    labels = np.array([[2]] * 5 + [[0]] * 2)
    for seed in range(20):
        out = Snowball(k=4, alpha=3, beta=3, seed=seed).aggregate(labels, 3)
        s = out.stats
        assert out.labels.tolist() == [2] and out.preferences[:, 0].tolist() == [2] * 7
        assert set(out.decided_round[:5, 0].tolist()) <= {3, 4}
        assert out.decided_round[5:, 0].tolist() == [3, 3]
        assert s["rounds"] == out.decided_round.max() <= 4
        # each participant polls once in every round up to and including the one it decides in
        assert s["polls"] == out.decided_round.sum()
        assert s["messages"] == 2 * 4 * out.decided_round.sum()
        assert s["undecided"] == 0 and s["agreement"] == 1.0 and s["disagreement_queries"] == 0


def test_snowball_unanimity_decides_in_beta_rounds_with_exact_messages():
    rng = np.random.default_rng(1)
    n, q, k, beta = 10, 50, 6, 8
    labels = np.tile(rng.integers(0, 7, q), (n, 1))
    out = Snowball(k=k, alpha=4, beta=beta, seed=0).aggregate(labels, 7)
    assert out.labels.tolist() == labels[0].tolist()
    assert (out.decided_round == beta).all()
    s = out.stats
    assert s["rounds"] == beta and s["rounds_mean"] == beta
    assert s["messages"] == 2 * k * beta * n * q and s["messages_per_participant_query"] == 2 * k * beta
    assert s["undecided"] == 0 and s["split_queries"] == 0 and s["agreement"] == 1.0


def test_snowball_reports_undecided_when_no_label_can_reach_alpha():
    # 3 labels, 3 participants each (N=9), k=6, alpha=5: among an asker's 8 peers no label has more than
    # 3 holders, so no poll of 6 ever holds 5 equal answers: nobody ever succeeds.
    labels = np.repeat(np.arange(3), 3)[:, None].repeat(4, axis=1)
    out = Snowball(k=6, alpha=5, beta=2, max_rounds=15, seed=0).aggregate(labels, 3)
    s = out.stats
    assert s["rounds"] == 15 and s["undecided"] == 9 * 4 and s["undecided_queries"] == 4
    assert s["messages"] == 2 * 6 * 15 * 9 * 4
    assert (out.preferences == labels).all()  # nobody moved: no successful poll
    assert out.labels.tolist() == [0] * 4  # three-way tie of final preferences -> the smallest label
    assert s["disagreement_queries"] == 0 and s["split_queries"] == 4  # split, but nobody decided


# ------------------------------------------------------------------------------------------ Byzantine


def test_three_lying_byzantines_cannot_beat_seven_honest():
    # Defaults k=6, alpha=4: three liars can never fill 4 of 6 answers, so no honest participant ever
    # succeeds on the lie; polls of 6 of the 9 peers succeed on the honest label with probability 64/84.
    q = 100
    labels = np.vstack([np.full((3, q), 5), np.full((7, q), 1)])
    byz = np.arange(10) < 3
    out = Snowball(seed=0).aggregate(labels, 10, byzantine=byz)
    assert out.labels.tolist() == [1] * q
    assert (out.preferences[~byz] == 1).all() and (out.preferences[byz] == -1).all()
    # liveness is probabilistic: 8 successes in a row at p = 0.76 take about 34 rounds on average, so a
    # pair is still undecided after 200 rounds with probability about exp(-200/34) = 0.3 %: ~2 of 700
    assert out.stats["undecided"] <= 7 and out.stats["disagreement_queries"] == 0
    assert out.stats["honest"] == 7 and out.stats["byzantine"] == 3
    assert (out.decided_round[byz] == 0).all()  # Byzantines never decide


def test_a_colluding_byzantine_majority_wins():
    # 6 of 10 collude on label 5 against 4 honest on 1: an honest asker's 9 peers hold six 5s, so any 6
    # of them hold at least three 5s and at most three 1s (< alpha): it can only ever succeed on 5.
    q = 100
    labels = np.vstack([np.full((6, q), 5), np.full((4, q), 1)])
    byz = np.arange(10) < 6
    out = Snowball(seed=0).aggregate(labels, 10, byzantine=byz)
    assert out.labels.tolist() == [5] * q and (out.preferences[~byz] == 5).all()
    assert out.stats["undecided"] == 0
    assert protocol.plurality(labels, 10).tolist() == [5] * q  # the contract's rule loses too


def test_a_loose_quorum_lets_a_colluding_minority_flip_queries_plurality_gets_right():
    # alpha=3 of k=5 (0.6): three colluders that never change win many queries the contract gets right
    # (the measurement behind alpha=4 of k=6 in Snowball's docstring).
    truth, honest, rng = _models(10, 400, 10, 0.8, seed=5)
    bad = rng.integers(0, 10, 400)
    loose, = compare_under_byzantine(honest, truth, 10, [3], bad, seed=0,
                                     snowball_params=dict(k=5, alpha=3, beta=8))
    strict, = compare_under_byzantine(honest, truth, 10, [3], bad, seed=0)
    assert loose["plurality_accuracy"] > 0.9
    assert loose["snowball_accuracy"] < loose["plurality_accuracy"] - 0.2
    assert strict["snowball_accuracy"] > loose["snowball_accuracy"] + 0.2


def test_split_slows_snowball_and_costs_more_accuracy_than_lying():
    # Same 3 of 10 Byzantines, same honest models: lying with their own random labels vs answering the
    # honest runner-up ("split"). Seeded; measured over 9 model seeds: rounds_mean 57-66 vs 79-83,
    # accuracy 0.985-1.0 vs 0.70-0.77, so the asserted margins are a quarter of the gaps.
    truth, honest, rng = _models(10, 400, 10, 0.8, seed=11)
    bad = rng.integers(0, 10, (10, 400))
    lie, = compare_under_byzantine(honest, truth, 10, [3], bad, adversary="lie", seed=0)
    split, = compare_under_byzantine(honest, truth, 10, [3], bad, adversary="split", seed=0)
    assert split["rounds_mean"] > lie["rounds_mean"] + 5
    assert split["messages"] > lie["messages"]
    assert split["snowball_accuracy"] < lie["snowball_accuracy"] - 0.05
    assert split["plurality_accuracy"] == lie["plurality_accuracy"]  # same committed labels on chain


def test_equivocate_answers_per_asker():
    # Honest camps of 3 on labels 0 and 1, and 2 Byzantines that committed 0; k=7 (everyone else), alpha=5.
    # "equivocate", round 1: the leading honest label is 0 (3-3 tie -> smallest), so 0-askers hear "1" and
    # 1-askers their own "1" from both Byzantines. A 0-asker hears 2 zeros and 5 ones: succeeds on 1, flips.
    # A 1-asker hears 3 zeros and 4 ones (< 5): fails. Round 2: all honest prefer 1 (Byzantines now answer
    # the runner-up 0), so 5 ones of 7 succeed: the first camp decides in round 2, the second in round 3.
    labels = np.array([[0]] * 3 + [[1]] * 3 + [[0]] * 2)
    byz = np.array([False] * 6 + [True] * 2)
    out = Snowball(k=7, alpha=5, beta=2, seed=0, adversary="equivocate").aggregate(labels, 2, byzantine=byz)
    assert out.labels.tolist() == [1]
    assert out.decided_round[:6, 0].tolist() == [2, 2, 2, 3, 3, 3]
    # "lie" instead (both answer 0): 0-askers hear 4 zeros (fail), 1-askers 5 zeros (succeed, flip to 0);
    # round 2 all honest prefer 0: the 1-camp decides in round 2, the 0-camp in round 3.
    lie = Snowball(k=7, alpha=5, beta=2, seed=0, adversary="lie").aggregate(labels, 2, byzantine=byz)
    assert lie.labels.tolist() == [0]
    assert lie.decided_round[:6, 0].tolist() == [3, 3, 3, 2, 2, 2]


# ------------------------------------------------------------------------------------------ weights


def test_zero_weight_peers_are_never_sampled():
    # 6 Byzantines with no stake cannot be asked: the 4 honest only hear each other (k=3 of 3).
    q = 20
    labels = np.vstack([np.full((6, q), 5), np.full((4, q), 1)])
    byz = np.arange(10) < 6
    weights = [0] * 6 + [10**18] * 4
    out = Snowball(k=3, alpha=2, beta=3, seed=0).aggregate(labels, 10, weights=weights, byzantine=byz)
    assert out.labels.tolist() == [1] * q and (out.decided_round[~byz] == 3).all()
    with pytest.raises(ValueError, match="fewer than k=4 peers with positive weight"):
        Snowball(k=4, alpha=3).aggregate(labels, 10, weights=weights, byzantine=byz)


def test_weighted_sampling_follows_the_weights():
    rule = Snowball(k=1, alpha=1)
    w = np.array([1.0, 1.0, 2.0, 4.0, 0.0])
    peers = rule._sample(np.zeros(40_000, dtype=np.int64), 5, w, np.random.default_rng(0))
    share = np.bincount(peers.ravel(), minlength=5) / 40_000
    assert share[0] == 0 and share[4] == 0
    assert np.allclose(share[1:4], [1 / 7, 2 / 7, 4 / 7], atol=0.015)


# ------------------------------------------------------------------------------------------ internals


def test_uniform_sampling_is_distinct_never_self_and_uniform():
    rule = Snowball(k=4, alpha=3)
    askers = np.tile(np.arange(6), 5000)
    peers = rule._sample(askers, 6, None, np.random.default_rng(0))
    srt = np.sort(peers, axis=1)
    assert (srt[:, 1:] != srt[:, :-1]).all() and not (peers == askers[:, None]).any()
    share = np.bincount(peers[askers == 2].ravel(), minlength=6) / 5000  # each other peer: 4/5
    assert share[2] == 0 and np.allclose(np.delete(share, 2), 0.8, atol=0.02)


def test_majority_and_compact_helpers():
    rng = np.random.default_rng(0)
    got = rng.integers(0, 3, (2000, 5))
    cand, hits = _majority(got)
    counts = np.stack([(got == c).sum(axis=1) for c in range(3)], axis=1)
    strict = counts.max(axis=1) > 2
    assert (cand[strict] == counts.argmax(axis=1)[strict]).all() and (hits[strict] == counts.max(axis=1)[strict]).all()
    labels = rng.integers(0, 200, (7, 300))
    uniq, compact = _compact(labels)
    assert (np.take_along_axis(uniq, compact, axis=0) == labels).all()
    assert (np.diff(uniq, axis=0) >= 0).all()  # increasing: rank order is label order


# ------------------------------------------------------------------------------------------ API


def test_parameter_validation_names_the_bound():
    with pytest.raises(ValueError, match=r"k/2 < alpha <= k .*alpha=2 with k=4.*Snowball\(k=4, alpha=3\)"):
        Snowball(k=4, alpha=2)
    with pytest.raises(ValueError, match="k/2 < alpha <= k"):
        Snowball(k=4, alpha=5)
    with pytest.raises(ValueError, match="beta must be at least 1"):
        Snowball(beta=0)
    with pytest.raises(ValueError, match="alpha must be an integer count"):
        Snowball(alpha=0.75)
    with pytest.raises(ValueError, match="adversary must be one of 'lie', 'split', 'equivocate'"):
        Snowball(adversary="collude")
    with pytest.raises(ValueError, match=r"k=6 peers cannot be sampled from the 4 others of N=5"):
        Snowball().aggregate(np.zeros((5, 3), dtype=int), 2)
    with pytest.raises(ValueError, match="at least one honest participant"):
        Snowball(k=2, alpha=2).aggregate(np.zeros((5, 3), dtype=int), 2, byzantine=[True] * 5)
    with pytest.raises(ValueError, match="labels must be in 0..1"):
        Snowball(k=2, alpha=2).aggregate(np.full((5, 3), 2), 2)


def test_registry_and_make_rule():
    assert set(RULES) == {"plurality", "snowball"} and set(ADVERSARIES) == {"lie", "split", "equivocate"}
    rule = make_rule("Snowball", k=3, alpha=2, beta=4, seed=7)
    assert isinstance(rule, Snowball) and rule.name == "snowball"
    assert rule.params() == {"k": 3, "alpha": 2, "beta": 4, "max_rounds": 200, "adversary": "lie", "seed": 7}
    assert make_rule(rule) is rule and make_rule().name == "plurality" and OnChainPlurality().params() == {}
    with pytest.raises(ValueError, match="unknown aggregation rule 'gossip'; choose one of plurality, snowball"):
        make_rule("gossip")
    with pytest.raises(ValueError, match="bad options for aggregation rule 'snowball'"):
        make_rule("snowball", gamma=1)


def test_same_seed_same_result_and_rng_overrides_seed():
    truth, labels, _ = _models(10, 300, 5, 0.6, seed=2)
    byz = np.arange(10) < 2
    runs = [Snowball(seed=4, adversary="split").aggregate(labels, 5, byzantine=byz) for _ in range(2)]
    assert runs[0].stats == runs[1].stats
    assert (runs[0].labels == runs[1].labels).all() and (runs[0].preferences == runs[1].preferences).all()
    assert (runs[0].decided_round == runs[1].decided_round).all()
    other = Snowball(seed=5, adversary="split").aggregate(labels, 5, byzantine=byz)
    assert other.stats["polls"] != runs[0].stats["polls"]
    given = Snowball(seed=99, adversary="split").aggregate(labels, 5, byzantine=byz, rng=np.random.default_rng(4))
    assert given.stats == runs[0].stats


def test_compare_under_byzantine_rows():
    truth, honest, rng = _models(10, 300, 10, 0.8, seed=8)
    bad = rng.integers(0, 10, 300)
    order = rng.permutation(10)
    rows = compare_under_byzantine(honest, truth, 10, [0, 0.2, 3], bad, order=order, seed=1)
    assert [r["byzantine"] for r in rows] == [0, 2, 3] and [r["share"] for r in rows] == [0.0, 0.2, 0.3]
    zero = rows[0]
    assert zero["plurality_accuracy"] == zero["honest_plurality_accuracy"]
    assert zero["snowball_vs_plurality"] > 0.97 and zero["disagreement_queries"] == 0
    assert rows == compare_under_byzantine(honest, truth, 10, [0, 0.2, 3], bad, order=order, seed=1)
    # Byzantines that "lie" with their honest labels change nothing on chain
    same = compare_under_byzantine(honest, truth, 10, [4], honest, order=order, seed=1)[0]
    assert same["plurality_accuracy"] == zero["plurality_accuracy"]
    with pytest.raises(ValueError, match="Byzantine count must be 0..9"):
        compare_under_byzantine(honest, truth, 10, [10], bad)
    with pytest.raises(ValueError, match="order must be a permutation"):
        compare_under_byzantine(honest, truth, 10, [1], bad, order=[0] * 10)
