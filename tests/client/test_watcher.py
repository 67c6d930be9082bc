"""The watcher and the participant on optimistic rounds, against a real contract on a local chain.

A keeper posts the honest consensus (Watcher(propose=True)); a self-dealing requester posts a wrong one
(a flipped query, or an inflated match count for itself or a friend) and every participant's watcher refutes it
on its next step, after which the honest post goes through and the claims confirm it.
"""
from __future__ import annotations

import numpy as np
import pytest

from cl_client import optimistic
from cl_client.chain import ContractError
from cl_client.commitment import pack_labels
from cl_client.participant import TERMINAL_STATES, Participant, State
from cl_client.protocol import Phase, Status
from cl_client.watcher import Watch, Watcher

ETH = 10**18


class _Fixed:
    """A stand-in learner that predicts fixed labels (one byte each)."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def predict(self, X):
        return self.labels[: len(X)]


def _round(open_round, accounts, digits, journal_dir, n=5, q=40, noisy=(3,), optimistic_round=True):
    """An optimistic round of `n` participants that all predict the truth but those in `noisy`, which shift
    every label by one (deviators); returns (round id, participants, queries)."""
    X = digits.X_query[:q]
    truth = digits.y_query[:q]
    rid = open_round(X, num_classes=10, optimistic=optimistic_round)
    gateways = accounts.take(n)
    people = []
    for i, gw in enumerate(gateways):
        labels = truth.copy()
        if i in noisy:
            labels = (labels + 1) % 10
        people.append(Participant(gw, _Fixed(labels), journal_dir=journal_dir / f"p{i}", finalize=True))
    return rid, people, X


def _to_finalizable(people, rid, X, drive_until_revealed, advance_to):
    for p in people:
        p.step(rid, X)  # commit
    info = people[0].gateway.round(rid)
    advance_to(info.commit_deadline + 1)
    for p in people:
        p.step(rid, X)  # reveal
    advance_to(info.reveal_deadline + 1)


@pytest.fixture
def keeper(accounts):
    """A keeper: free stake for a few bonds, posts honest consensus."""
    (gw,) = accounts.take(1, deposit=ETH)
    return Watcher(gw, propose=True)


def test_an_honest_post_settles_the_round_and_the_claims_confirm_it(open_round, accounts, digits, journal_dir,
                                                                    advance_to, keeper, drive):
    rid, people, X = _round(open_round, accounts, digits, journal_dir)
    _to_finalizable(people, rid, X, None, advance_to)
    seen = keeper.step(rid)
    assert seen.watch == Watch.PROPOSED and people[0].gateway.phase(rid) == Phase.PROPOSED
    assert keeper.check(rid) is None
    assert all(p.step(rid, X) == State.WATCHING for p in people)
    states = drive(people, rid, X)
    assert all(s[-1] in TERMINAL_STATES for s in states.values())
    gw = people[0].gateway
    assert gw.phase(rid) == Phase.FINALIZED
    statuses = [gw.submission(rid, p.address).status for p in people]
    assert statuses == [Status.AGREED] * 3 + [Status.DEVIATED, Status.AGREED]
    assert bytes(gw.consensus(rid)) == bytes(digits.y_query[:40].astype(np.uint8))  # from the confirmed post
    assert sum(gw.accounting()) == gw.balance(gw.address)


def _wrong_post(gw, rid, flip_query=None, bump=None):
    """A post of round `rid` by `gw` with query `flip_query`'s label changed (and every match count recounted
    against it), or, with `bump`, the lowest match count one too high."""
    honest = Watcher(gw).honest_post(rid)
    consensus = bytearray(honest.consensus)
    matches = list(honest.matches)
    if flip_query is not None:
        consensus[flip_query] = (consensus[flip_query] + 5) % 10
        revealed = gw.revealed(rid)
        matches = [sum(a == b for a, b in zip(revealed[c], consensus)) if c in revealed else 0
                   for c in honest.committers]
    if bump:
        matches[matches.index(min(matches))] += 1
    wire = pack_labels(bytes(consensus), gw.round(rid).num_classes)
    return gw.propose(rid, wire, list(honest.committers), optimistic.matches_bytes(matches))


@pytest.mark.parametrize("kind", ["query", "matches"])
def test_a_wrong_post_is_refuted_by_the_participants_and_the_round_still_settles(
        open_round, accounts, digits, journal_dir, advance_to, keeper, requester, drive, kind):
    rid, people, X = _round(open_round, accounts, digits, journal_dir)
    _to_finalizable(people, rid, X, None, advance_to)
    requester.deposit(ETH)  # the self-dealing requester can afford a bond
    _wrong_post(requester, rid, flip_query=7 if kind == "query" else None, bump=kind == "matches")
    assert Watcher(people[0].gateway).check(rid) is not None
    burned_before = requester.accounting()[3]
    free_before = people[1].gateway.account_info().free
    assert people[1].step(rid, X) in (State.WAITING_FINALIZE, State.WATCHING)  # it refuted; nobody reposted yet
    assert people[1].gateway.phase(rid) == Phase.FINALIZABLE
    bond = requester.post(rid).bond
    assert people[1].gateway.account_info().free == free_before + bond // 2  # half the bond to the refuter
    assert requester.accounting()[3] == burned_before + bond - bond // 2
    assert keeper.step(rid).watch == Watch.PROPOSED
    drive(people, rid, X)
    assert people[0].gateway.phase(rid) == Phase.FINALIZED
    assert requester.post(rid).serial == 2


def test_the_watcher_spreads_a_large_query_proof_over_transactions(open_round, accounts, digits, journal_dir,
                                                                   advance_to, requester):
    rid, people, X = _round(open_round, accounts, digits, journal_dir, n=7, noisy=())
    _to_finalizable(people, rid, X, None, advance_to)
    requester.deposit(ETH)
    _wrong_post(requester, rid, flip_query=0)
    watcher = Watcher(people[0].gateway, max_proof_bytes=400 + 2 * 64)  # two records (depth 0) a transaction
    fraud = watcher.check(rid)
    assert isinstance(fraud, optimistic.QueryFraud) and len(fraud.batches) >= 2
    seen = watcher.step(rid)
    assert seen.watch == Watch.REFUTED and len(seen.receipts) == len(fraud.batches)


def test_without_stake_for_the_bond_the_keeper_says_so(open_round, accounts, digits, journal_dir, advance_to):
    rid, people, X = _round(open_round, accounts, digits, journal_dir, n=3, noisy=())
    _to_finalizable(people, rid, X, None, advance_to)
    (broke,) = accounts.take(1, deposit=1)
    lines = []
    assert Watcher(broke, propose=True, say=lines.append).step(rid).watch == Watch.UNPOSTED
    assert "locks" in lines[0] and "free stake" in lines[0]
    # participants with no free stake wait for someone else to post
    assert people[0].step(rid, X) == State.WAITING_FINALIZE


def test_a_missed_quorum_is_failed_by_the_keeper(open_round, accounts, digits, journal_dir, advance_to, keeper):
    rid, people, X = _round(open_round, accounts, digits, journal_dir, n=4, noisy=())
    for p in people:
        p.step(rid, X)
    info = people[0].gateway.round(rid)
    advance_to(info.commit_deadline + 1)
    people[0].step(rid, X)  # one reveal of four: below minRevealers
    advance_to(info.reveal_deadline + 1)
    assert keeper.step(rid).watch == Watch.SETTLED
    assert people[0].gateway.phase(rid) == Phase.FAILED


def test_a_round_with_an_audit_is_left_to_finalize(open_round, accounts, digits, journal_dir, advance_to, keeper):
    from cl_client.protocol import Audit

    X = digits.X_query[:20]
    audit = Audit((1, 4), (int(digits.y_query[1]), int(digits.y_query[4])), b"\x01" * 32)
    rid = open_round(X, num_classes=10, audit=audit, audit_duration=36)
    assert keeper.step(rid).watch == Watch.NOT_YET
    with pytest.raises(ValueError, match="optimistic round takes no audit"):
        open_round(X, num_classes=10, audit=audit, audit_duration=36, optimistic=True)
    with pytest.raises(ContractError):
        keeper.gateway.propose(rid, b"", [], b"")  # WrongPhase: still in its commit phase


def test_cl_client_watch_refutes_a_wrong_post_and_posts_the_honest_one(open_round, accounts, digits, journal_dir,
                                                                       advance_to, requester, local_node,
                                                                       contract_address, capsys, monkeypatch,
                                                                       clean_env):
    from support import run_cli

    rid, people, X = _round(open_round, accounts, digits, journal_dir, n=4, noisy=())
    _to_finalizable(people, rid, X, None, advance_to)
    requester.deposit(ETH)
    _wrong_post(requester, rid, flip_query=3)
    (keeper,) = accounts.take(1, deposit=ETH)
    monkeypatch.setenv("CL_RPC_URL", local_node.url)
    monkeypatch.setenv("CL_CONTRACT", contract_address)
    monkeypatch.setenv("CL_PRIVATE_KEY", "0x" + keeper.account.key.hex())
    # it refutes, posts, then waits for the window (a day of block time): the timeout ends it, in one line
    code, out, err = run_cli(capsys, "watch", "--round", str(rid), "--propose", "--timeout", "3")
    assert code != 0 and f"still watching round(s) {rid} after 3 s" in err
    gw = people[0].gateway
    post = gw.post(rid)
    assert post.serial == 2 and post.live and int(post.proposer, 16) == int(keeper.sender, 16)
    assert "refuted post 1" in out and "posted the consensus" in out
    advance_to(post.challenge_ends + 1)
    code, out, err = run_cli(capsys, "watch", "--round", str(rid))
    assert code == 0 and "confirmable" in out, err
