"""Gateway.submit: the merged claim + reveal + commit of back-to-back rounds, through the production client."""
import pytest

from cl_client.chain import ChainError
from cl_client.commitment import commitment, new_salt
from cl_client.protocol import Status

ETH = 10**18


def test_gateway_submit_claims_reveals_and_commits_back_to_back_rounds(accounts, open_round, advance_to, queries):
    gws = accounts.take(3)
    q = len(queries)
    labels = bytes(i % 10 for i in range(q))

    def commit_to(gw, rid):
        salt = new_salt()
        return salt, commitment(gw.chain_id, gw.address, rid, gw.sender, labels, salt)

    a = open_round(queries, commit=36, reveal=36)
    salts_a = {}
    for gw in gws:
        salts_a[gw.sender], h = commit_to(gw, a)
        gw.commit(a, h)
        gw.deposit(ETH)  # the second lot
    advance_to(gws[0].round(a).commit_deadline + 1)
    b = open_round(queries, commit=36, reveal=36)
    salts_b = {}
    for gw in gws:
        salts_b[gw.sender], h = commit_to(gw, b)
        gw.submit(0, a, labels, salts_a[gw.sender], b, h)  # reveal A, commit B
    advance_to(max(gws[0].round(a).reveal_deadline, gws[0].round(b).commit_deadline) + 1)
    gws[0].finalize(a)
    c = open_round(queries, commit=36, reveal=36)
    for gw in gws:
        reward = gw.claimable(a)[0]
        _, h = commit_to(gw, c)
        receipt = gw.submit(a, b, labels, salts_b[gw.sender], c, h)
        assert gw.claimed_amounts(receipt) == (reward, 0)
        assert gw.submission(a).claimed
        assert gw.submission(b).status == Status.REVEALED
        assert gw.submission(c).status == Status.COMMITTED


def test_gateway_submit_without_a_step_is_refused_in_words(accounts):
    (gw,) = accounts.take(1)
    with pytest.raises(ChainError, match="at least one of"):
        gw.submit(0, 0, b"", bytes(32), 0, bytes(32))
