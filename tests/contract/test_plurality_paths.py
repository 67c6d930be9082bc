"""The on-chain plurality's two ways of finding a query's leader ("scan" when K <= N, else "track";
ConsensusLearningSettlement._plurality) against the oracle's plurality, on random rounds built to tie: few
labels in play, equal stakes in pairs, Q not a multiple of 32 (a short last chunk), K up to 256."""
import random

import pytest

from contract_helpers import ETHER, plain, play_round, submission
from oracle import plurality

# (N, K, Q): the first six are scanned (K <= N; odd and even K, as the scan takes two labels a step), the
# rest tracked; (4, 4) / (4, 5) and (8, 8) / (8, 9) sit on either side of the switch. Q = 33 / 65 / 97 end on
# a chunk of 1 query.
SHAPES = [(3, 2, 33), (4, 3, 40), (4, 4, 40), (8, 7, 65), (8, 8, 65), (12, 2, 97),
          (4, 5, 40), (8, 9, 65), (3, 256, 33), (6, 16, 97)]


def _weights(cl, rid, ballots):
    """Tally weight of each revealer: stake x reputation at commit (no audit, so it did not move)."""
    return [submission(cl, rid, b.account)["stake"] * submission(cl, rid, b.account)["reputation"]
            for b in ballots]


@pytest.mark.parametrize("shape", SHAPES, ids=[f"N{n}-K{k}-Q{q}" for n, k, q in SHAPES])
@pytest.mark.parametrize("seed", [0, 1])
def test_both_leader_paths_reach_the_oracles_plurality_with_ties(ConsensusLearning, accounts, shape, seed):
    n, k, q = shape
    rng = random.Random(seed * 1000 + n * 7 + k)
    owner, requester, voters = accounts[0], accounts[1], accounts[2:2 + n]
    cl = ConsensusLearning.deploy({"from": owner})
    for i, v in enumerate(voters):
        cl.deposit({"from": v, "value": ETHER * (1 + i // 2)})  # voters 2i and 2i + 1 weigh the same
    in_play = rng.sample(range(k), min(k, 3))  # few labels: ties are frequent
    rows = [bytes(rng.choice(in_play) for _ in range(q)) for _ in voters]
    rid, _, revealed, _ = play_round(cl, requester, list(zip(voters, rows)), q=q, k=k, reward=ETHER)
    want = plurality([b.labels for b in revealed], _weights(cl, rid, revealed), q, k)
    assert plain(cl.consensus(rid)) == want


def test_a_tie_between_the_highest_and_the_lowest_label_goes_to_the_lowest_on_both_paths(ConsensusLearning,
                                                                                        accounts):
    """Label 0 and label K-1 with equal weight on every query: the scan (walking from K-1 down) and the
    tracking keys must both end on 0."""
    owner, requester = accounts[0], accounts[1]
    for k, n in ((4, 6), (16, 6)):  # scanned, tracked
        cl = ConsensusLearning.deploy({"from": owner})
        voters = accounts[2:2 + n]
        for v in voters:
            cl.deposit({"from": v, "value": ETHER})
        rows = [bytes([0 if i % 2 else k - 1]) * 40 for i in range(n)]
        rid, *_ = play_round(cl, requester, list(zip(voters, rows)), q=40, k=k, reward=ETHER)
        assert plain(cl.consensus(rid)) == bytes(40), k
