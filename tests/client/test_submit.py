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
        return salt, commitment(gw.chain_id, gw.address, rid, gw.sender, labels, salt, 10)

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


def test_a_commit_whose_slot_holds_a_settled_unclaimed_round_claims_it_first(
        accounts, open_round, advance_to, fitted_learners, journal_dir, queries, requester):
    """Recycled submission slots: round A + SUBMISSION_SLOTS uses A's slot. Gateway.commit claims A first (its
    stake and reward join the free stake, then the commit locks them), and the participant stepping A later
    finds it claimed in the events (its getSubmission is empty by then) instead of calling it missed."""
    from cl_client.participant import State
    from cl_client.protocol import LIMITS
    from support import make_participants

    gws = accounts.take(3)
    ps = make_participants(gws, ["honest"] * 3, fitted_learners(3), journal_dir)
    a = open_round(queries)
    info = gws[0].round(a)
    assert [p.step(a) for p in ps] == ["committed"] * 3
    advance_to(info.commit_deadline + 1)
    assert [p.step(a) for p in ps] == ["revealed"] * 3
    advance_to(info.reveal_deadline + 1)
    assert ps[0].step(a) == "finalized"
    gw = gws[1]
    reward = gw.claimable(a)[0]
    rid = a
    while rid < a + LIMITS.submission_slots:
        rid = open_round(queries)
    assert tuple(gw.contract.functions.slotOf(gw.sender, rid).call()) == (a, True)
    gw.commit(rid, commitment(gw.chain_id, gw.address, rid, gw.sender, bytes(len(queries)), bytes(32), 10))
    assert gw.claim_of(a, gw.sender) == (reward, 0)
    assert gw.submission(rid).status == Status.COMMITTED
    assert gw.submission(a).status == Status.NONE  # the slot now holds rid
    assert ps[1].step(a) == State.DONE
    assert ps[1].journal(a).state == State.CLAIMED


def test_a_commit_whose_slot_holds_an_unsettled_round_is_refused_in_words(accounts, open_round, queries):
    from cl_client.protocol import LIMITS

    (gw,) = accounts.take(1)
    a = open_round(queries)
    gw.commit(a, commitment(gw.chain_id, gw.address, a, gw.sender, bytes(len(queries)), bytes(32), 10))
    gw.deposit(ETH)
    rid = a
    while rid < a + LIMITS.submission_slots:
        rid = open_round(queries)
    with pytest.raises(ChainError, match=f"same submission slot as your round {a}, which is not settled"):
        gw.commit(rid, commitment(gw.chain_id, gw.address, rid, gw.sender, bytes(len(queries)), bytes(32), 10))
