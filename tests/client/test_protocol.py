"""cl_client.protocol (the product's statement of the rules) against tests/oracle.py (the independent one)."""
import numpy as np
import pytest

import oracle
from cl_client import protocol
from cl_client.protocol import BPS, DEFAULT_PARAMS, LIMITS, ParamsError


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


@pytest.mark.parametrize("q, bps", [(100, 2600), (7, 2600), (1, 9000), (4096, 1), (3, 0)])
def test_agrees_is_the_integer_rule_at_every_match_count(q, bps):
    counts = np.arange(q + 1)
    expected = [m * BPS >= bps * q for m in counts]
    assert protocol.agrees(counts, q, bps).tolist() == expected
    assert protocol.deviators(counts, q, bps).tolist() == [not e for e in expected]


def test_matches_counts_equal_labels_per_voter():
    labels = np.array([[1, 2, 3], [1, 0, 3], [0, 0, 0]])
    assert protocol.matches(labels, np.array([1, 2, 3])).tolist() == [3, 2, 0]


@pytest.mark.parametrize("stake", [0, 1, 9_999, 10_000, 10**16 + 1, 3 * 10**18 + 7, 2**96 - 1])
@pytest.mark.parametrize("bps", [0, 1, 1_000, 2_000, 5_000])
def test_penalty_rounds_up_like_the_oracle(stake, bps):
    assert protocol.penalty(stake, bps) == oracle.ceil_penalty(stake, bps)


def test_reward_shares_never_pay_out_more_than_the_pool():
    pool, weights = 10**18 + 1, [3, 5, 7]
    shares = [protocol.reward_share(pool, w, sum(weights)) for w in weights]
    assert sum(shares) <= pool and pool - sum(shares) < len(weights)
    assert protocol.reward_share(pool, 1, 0) == 0


def test_settlement_from_the_rules_equals_the_oracles_settlement():
    """quorum_met + plurality + agrees + penalty + reward_share compose to the oracle's settle()."""
    rng = np.random.default_rng(3)
    q, k = 50, 4
    stakes = {f"0x{i:040x}": int(rng.integers(1, 5)) * 10**18 for i in range(1, 8)}
    truth = rng.integers(0, k, q)
    revealed = {}
    for i, a in enumerate(stakes):
        if i == 6:
            continue  # a non-revealer
        noisy = np.where(rng.random(q) < 0.7, truth, rng.integers(0, k, q)) if i < 4 else rng.integers(0, k, q)
        revealed[a] = bytes(noisy.astype(np.uint8).tolist())
    p = DEFAULT_PARAMS
    want = oracle.settle(oracle.DEFAULTS, q, k, reward=10**17, bonus=0, stakes=stakes, revealed=revealed)

    order = sorted(revealed, key=lambda a: int(a, 16))
    w = [protocol.vote_weight(stakes[a], p.equal_weights) for a in order]
    assert protocol.quorum_met(len(order), sum(w), sum(stakes.values()), p) == (not want.failed)
    rows = np.array([list(revealed[a]) for a in order])
    consensus = protocol.plurality(rows, k, w)
    assert bytes(consensus.astype(np.uint8).tolist()) == want.consensus
    m = protocol.matches(rows, consensus)
    ok = protocol.agrees(m, q, p.agreement_bps)
    slashed = sum(protocol.penalty(stakes[a], p.deviator_slash_bps) for a, g in zip(order, ok) if not g)
    slashed += sum(protocol.penalty(stakes[a], p.non_reveal_slash_bps) for a in stakes if a not in revealed)
    assert slashed == want.slashed
    pool = 10**17 + slashed
    agreed_w = sum(x for x, g in zip(w, ok) if g)
    for a, x, g in zip(order, w, ok):
        assert (protocol.reward_share(pool, x, agreed_w) if g else 0) == want.reward[a]


def test_params_check_names_the_bound_it_breaks():
    from dataclasses import replace

    assert DEFAULT_PARAMS.check() is DEFAULT_PARAMS
    with pytest.raises(ParamsError, match=f"agreement_bps must be 0..{LIMITS.max_agreement_bps}"):
        replace(DEFAULT_PARAMS, agreement_bps=LIMITS.max_agreement_bps + 1).check()
    with pytest.raises(ParamsError, match="non_reveal_slash_bps"):
        replace(DEFAULT_PARAMS, non_reveal_slash_bps=DEFAULT_PARAMS.deviator_slash_bps - 1).check()


@pytest.mark.parametrize("q, bps", [(100, 2600), (7, 2600), (20, 2600), (1, 9000), (3, 0)])
def test_min_matches_is_the_least_count_that_agrees(q, bps):
    m = protocol.min_matches(q, bps)
    assert protocol.agrees(m, q, bps) and (m == 0 or not protocol.agrees(m - 1, q, bps))
