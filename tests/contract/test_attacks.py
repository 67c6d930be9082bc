"""The audit's design problems (issue 13), each written as the attack: K-aware agreement, failing a round is
not free and nothing flows to a next round, equal weights cannot slash stake, the finalizer is paid, forced
ETH is only `surplus`, and abandon() frees a stale round. Each says why it fails against v1.
(Audit queries: test_audit.py; contracts that cannot receive ETH: test_reentrancy.py; bounds: test_bounds.py;
the gas cap: test_gas_cap.py; withdrawals: test_stake.py.)"""
import brownie
import pytest
from brownie import chain

from contract_helpers import (
    claim_all,
    stakes_of,
    ABANDON_DELAY,
    BPS,
    DEFAULTS,
    ETHER,
    Phase,
    Status,
    account,
    agrees,
    assert_books,
    ceil_penalty,
    commit,
    err,
    events,
    finalize,
    mode_count,
    open_round,
    open_round_with,
    play_round,
    plain,
    reveal,
    round_info,
    settle,
    submission,
    the_event,
    to_finalizable,
    to_reveal_phase,
    transact_at,
)


# ------------------------------------------------------------------------ (b) K-aware agreement

Q2 = 40
TRUTH2 = bytes([0, 1] * (Q2 // 2))  # balanced: M = 20
HONEST2 = [bytes(1 - t if i in errs else t for i, t in enumerate(TRUTH2))
           for errs in ({0, 5, 10, 15}, {1, 6, 11, 16}, {2, 7, 12, 17})]  # 90 % each, disjoint errors
ZEROS2 = bytes(Q2)  # 50 %: matches exactly M
FLIP55 = bytes(1 - t if i < 18 else t for i, t in enumerate(TRUTH2))  # a coin-flipper's lucky 55 %
FLIP50 = bytes(1 - t if i < 20 else t for i, t in enumerate(TRUTH2))  # a coin-flipper's 50 %


def k2_round(cl, requester, staked, lazy, **open_with):
    alice, bob, carol, dave, erin = staked
    for a in (alice, bob, carol):
        cl.deposit({"from": a, "value": 2 * ETHER})  # honest 3 ether each: 6 > 5 against one error + the pair
    votes = list(zip((alice, bob, carol), HONEST2)) + [(dave, lazy[0]), (erin, lazy[1])]
    rid, ballots, revealed, tx = play_round(cl, requester, votes, Q2, 2, ETHER, **open_with)
    assert plain(cl.consensus(rid)) == TRUTH2 and mode_count(TRUTH2, 2) == 20
    return rid, ballots


def test_k2_all_zeros_and_a_fair_coin_flipper_are_not_paid(cl, requester, staked):
    """v1: 26 % raw agreement paid anyone at K = 2 (50 % by chance); v2 asks for more than M matches."""
    rid, ballots = k2_round(cl, requester, staked, (ZEROS2, FLIP50))
    statuses = [submission(cl, rid, b.account)["status"] for b in ballots]
    assert statuses == [Status.AGREED] * 3 + [Status.DEVIATED] * 2
    assert [submission(cl, rid, b.account)["matches"] for b in ballots[3:]] == [20, 20]
    assert not agrees(20, Q2, 0, 20)  # matches == M is no better than chance: refused even at 0 bps
    assert not agrees(20, Q2, 1, 20)
    rewards = claim_all(cl, rid, ballots)
    assert [rewards[b.address][0] > 0 for b in ballots] == [True] * 3 + [False] * 2


@pytest.mark.parametrize("bps", [DEFAULTS.agreementBps, 1_001])
def test_k2_a_lucky_55_percent_coin_flipper_is_not_paid(cl, requester, staked, bps):
    """The issue's figure: a coin-flipper at 55 % must not be paid at K = 2. Its chance-corrected agreement is
    (22 - 20) * 10000 / (40 - 20) = 1000 bps, which the default 500 bps alone would pay (v2 before the
    significance rule did); but 2 matches over M are 0.63 of a coin-flipper's standard deviation sqrt(10), and
    an agreeing revealer needs AGREEMENT_SIGMAS = 2 (27 of 40 here). Any agreementBps above 1000 refuses it too."""
    assert not agrees(22, Q2, DEFAULTS.agreementBps, 20) and not agrees(22, Q2, 1_001, 20)
    assert not agrees(26, Q2, 0, 20) and agrees(27, Q2, 0, 20)  # 7^2 * 40 >= 4 * 20 * 20 > 6^2 * 40
    assert agrees(36, Q2, 1_001, 20)  # the honest 90 % labellers: 8000 bps, 5 deviations
    params = DEFAULTS.replace(agreementBps=bps)
    rid, ballots = k2_round(cl, requester, staked, (ZEROS2, FLIP55), params=params)
    assert submission(cl, rid, ballots[4].account)["matches"] == 22
    statuses = [submission(cl, rid, b.account)["status"] for b in ballots]
    assert statuses == [Status.AGREED] * 3 + [Status.DEVIATED] * 2


# ------------------------------------------------------------------------ (d) failing a round is not free


def test_a_whale_withholding_its_reveal_burns_its_penalty_and_cannot_take_it_back(cl, requester, staked, frank):
    """v1: the whale's penalty went to the treasury, and the whale's next round filled with its own Sybils
    took it back as bonus (net cost 0). v2 burns it and there is no bonus: open-and-fill captures nothing."""
    whale = frank
    cl.deposit({"from": whale, "value": 9 * ETHER})  # 10 of 13 ether
    honest = [(a, bytes([1, 0, 1])) for a in staked[:3]]
    rid, ballots, revealed, tx = play_round(cl, requester, honest + [(whale, bytes([0, 0, 0]))], 3, 2, ETHER,
                                            reveal_mask=[True, True, True, False])
    penalty = ceil_penalty(10 * ETHER, DEFAULTS.nonRevealSlashBps)
    assert cl.phase(rid) == Phase.FAILED
    assert the_event(tx, "Burned") == {"roundId": rid, "amount": penalty, "totalBurned": penalty}
    assert [e["participant"] for e in events(tx, "Slashed")] == [whale.address]
    claim_all(cl, rid, ballots)
    assert account(cl, whale)["free"] == 10 * ETHER - penalty

    # the whale opens the next round and fills it with its own Sybils (staked[3:], plus itself)
    sybils = [staked[3], staked[4], whale]
    open_tx = cl.openRound(b"\x02" * 32, "", 2, 2, 60, 60, {"from": whale, "value": 1})
    assert "bonus" not in the_event(open_tx, "RoundOpened")
    rid2 = the_event(open_tx, "RoundOpened")["roundId"]
    assert round_info(cl, rid2)["reward"] == 1
    ballots2 = [commit(cl, rid2, s, bytes([1, 1])) for s in sybils]
    to_reveal_phase(cl, rid2)
    reveal(cl, rid2, ballots2)
    to_finalizable(cl, rid2)
    tx2 = finalize(cl, rid2, ballots2, whale)
    assert the_event(tx2, "RoundFinalized")["pool"] == 1  # its own 1 wei, nothing of the burned penalty
    got = claim_all(cl, rid2, ballots2)
    assert sum(r for r, _ in got.values()) <= 1
    assert assert_books(cl)[3] >= penalty  # still burned


# ------------------------------------------------------------------------ (f) equal weights


EQUAL = DEFAULTS.replace(equalWeights=True, deviatorSlashBps=0)


def test_equal_weights_with_a_deviator_slash_is_refused(cl, requester):
    with brownie.reverts(err("ParameterOutOfBounds", "deviatorSlashBps", 1_000, 0, 0)):
        open_round_with(cl, requester, 4, 2, params=EQUAL.replace(deviatorSlashBps=1_000))


def test_min_stake_sybils_cannot_take_a_stakers_stake_under_equal_weights(cl, requester, staked, frank):
    """v1: 4 x 0.01 ether Sybils outvoted three 10 ether stakers and collected their slashes (3 ether).
    v2: deviators lose nothing under equal weights, non-revealers' penalties are burned."""
    alice, bob, carol, dave, erin = staked
    stakers = [alice, bob]
    for s in stakers:
        cl.deposit({"from": s, "value": 9 * ETHER})  # 10 ether each
    sybils = [carol, dave, erin, frank]
    for s in sybils:
        cl.requestWithdrawal(ETHER - 10**16, {"from": s})  # 0.01 ether left each
    truth, lie = bytes([1, 0, 1, 0]), bytes([0, 1, 0, 1])
    votes = [(alice, truth), (bob, truth)] + [(s, lie) for s in sybils]
    rid, ballots, revealed, tx = play_round(cl, requester, votes, 4, 2, ETHER, params=EQUAL,
                                            reveal_mask=[True, False, True, True, True, True])
    model = settle(EQUAL, 4, 2, ETHER, 0, stakes_of(cl, rid, ballots), {b.address: b.labels for b in revealed})
    assert plain(cl.consensus(rid)) == lie == model.consensus  # the Sybils outvote
    assert submission(cl, rid, alice)["status"] == Status.DEVIATED
    bob_penalty = ceil_penalty(10 * ETHER, EQUAL.nonRevealSlashBps)
    assert the_event(tx, "RoundSlashes") == {"roundId": rid, "pooled": 0, "burned": bob_penalty}
    got = claim_all(cl, rid, ballots)
    assert got[alice.address] == (0, 0)  # her stake is whole
    assert got[bob.address] == (0, bob_penalty)  # burned, not paid to the Sybils
    assert sum(got[s.address][0] for s in sybils) == ETHER - model.dust  # only the requester's reward
    assert got == {a: (model.reward[a], model.penalty[a]) for a in model.reward}


# ------------------------------------------------------------------------ (g) the finalizer fee

FEE = 10**15


@pytest.mark.parametrize("outcome", ["finalized", "failed"])
def test_finalizer_fee_is_credited_to_the_finalizers_free_stake(cl, requester, staked, outsider, outcome):
    """v1 paid nobody to finalize (16.7M gas at the size bound)."""
    votes = [(a, bytes([1, 1])) for a in staked[:3]]
    mask = [True] * 3 if outcome == "finalized" else [True, False, False]
    stake, rewards, *_ = assert_books(cl)
    rid, ballots, revealed, tx = play_round(cl, requester, votes, 2, 2, ETHER, reveal_mask=mask, fee=FEE,
                                            finalizer=outsider)
    assert cl.phase(rid) == (Phase.FINALIZED if outcome == "finalized" else Phase.FAILED)
    assert the_event(tx, "FinalizerPaid") == {"roundId": rid, "finalizer": outsider.address, "fee": FEE}
    assert account(cl, outsider)["free"] == FEE
    model = settle(DEFAULTS, 2, 2, ETHER, 0, stakes_of(cl, rid, ballots), {b.address: b.labels for b in revealed},
                   fee=FEE)
    books = assert_books(cl)
    assert books[0] - stake == model.books_delta[0]
    assert books[1] - rewards == ETHER + FEE + model.books_delta[1]
    if outcome == "finalized":
        assert the_event(tx, "RoundFinalized")["pool"] == ETHER  # the fee is not part of the pool


def test_finalizer_fee_is_paid_on_abandon_too(cl, requester, outsider):
    rid = open_round_with(cl, requester, 2, 2, ETHER, fee=FEE)
    info = round_info(cl, rid)
    chain.mine(timestamp=info["auditDeadline"] + ABANDON_DELAY + 1)
    tx = cl.abandon(rid, {"from": outsider})
    assert the_event(tx, "FinalizerPaid") == {"roundId": rid, "finalizer": outsider.address, "fee": FEE}
    assert account(cl, outsider)["free"] == FEE
    assert_books(cl)


# ------------------------------------------------------------------------ (j) abandon


@pytest.fixture(scope="module")
def stale(cl, requester, staked):
    """A round whose three revealers and one non-revealer nobody finalizes; Finalizable."""
    rid = open_round(cl, requester, 2, 2, reward=ETHER)
    ballots = [commit(cl, rid, a, bytes([1, 0])) for a in staked[:4]]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots[:3])
    to_finalizable(cl, rid)
    return rid, ballots


def test_abandon_before_the_round_is_stale_reverts(cl, stale, outsider):
    rid, _ = stale
    stale_at = round_info(cl, rid)["auditDeadline"] + ABANDON_DELAY
    tx = transact_at(stale_at, cl.abandon, rid, sender=outsider)
    assert tx.status == 0
    assert tx.revert_msg == err("NotStaleYet", rid, stale_at, stale_at)


def test_abandon_of_a_round_still_in_reveal_reverts(cl, requester, outsider):
    rid = open_round(cl, requester, 2, 2)
    with brownie.reverts(err("WrongPhase", rid, Phase.FINALIZABLE, Phase.COMMIT)):
        cl.abandon(rid, {"from": outsider})


def test_abandon_after_the_delay_fails_the_round_unslashed_and_refundable(cl, requester, stale, outsider):
    """v1 had no escape: a round nobody could finalize (e.g. past the gas cap) locked its stakes forever."""
    rid, ballots = stale
    stale_at = round_info(cl, rid)["auditDeadline"] + ABANDON_DELAY
    stake, rewards, refunds, burned, surplus = assert_books(cl)
    tx = transact_at(stale_at + 1, cl.abandon, rid, sender=outsider)  # anyone
    assert tx.status == 1
    assert cl.phase(rid) == Phase.FAILED
    nr = ceil_penalty(ETHER, DEFAULTS.nonRevealSlashBps)
    assert the_event(tx, "RoundFailed") == {"roundId": rid, "revealedWeight": 3 * ETHER,
                                            "committedWeight": 4 * ETHER, "slashed": nr}
    assert "Slashed" not in tx.events  # abandon is given no committer list
    model = settle(DEFAULTS, 2, 2, ETHER, 0, stakes_of(cl, rid, ballots),
                   {b.address: b.labels for b in ballots[:3]}, abandoned=True)
    assert assert_books(cl) == tuple(x + d for x, d in zip((stake, rewards, refunds, burned),
                                                           model.books_delta)) + (surplus,)
    assert claim_all(cl, rid, ballots) == {a: (0, model.penalty[a]) for a in model.penalty}
    assert all(account(cl, b.account)["locked"] == 0 for b in ballots)
    refund = cl.claimRefund(rid, {"from": requester})
    assert the_event(refund, "RefundClaimed")["amount"] == ETHER
    with brownie.reverts(err("WrongPhase", rid, Phase.FINALIZABLE, Phase.FAILED)):
        cl.abandon(rid, {"from": outsider})


def test_finalize_stays_possible_until_abandoned(cl, requester, stale):
    rid, ballots = stale
    chain.mine(timestamp=round_info(cl, rid)["auditDeadline"] + ABANDON_DELAY + 100)
    finalize(cl, rid, ballots[:3], requester)
    assert cl.phase(rid) == Phase.FINALIZED


# ------------------------------------------------------------------------ (h) forced ETH


def test_forced_eth_shows_up_exactly_as_surplus_and_never_breaks_claims(ForceSend, cl, requester, staked, owner):
    """v1: ETH forced in by selfdestruct made accounting() disagree with the balance."""
    votes = [(a, bytes([1, 0])) for a in staked[:3]]
    for a in staked[:3]:
        cl.deposit({"from": a, "value": ETHER})  # the module's `stale` round locked their first ether
    rid = open_round(cl, requester, 2, 2, reward=ETHER)
    ballots = [commit(cl, rid, a, labels) for a, labels in votes]
    ForceSend.deploy(cl, {"from": owner, "value": 12345})
    assert assert_books(cl)[4] == 12345
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    finalize(cl, rid, ballots, requester)
    assert assert_books(cl)[4] == 12345
    claim_all(cl, rid, ballots)
    cl.setUnbondingDelay(0, {"from": owner})
    for b in ballots:
        cl.requestWithdrawal(account(cl, b.account)["free"], {"from": b.account})
        cl.withdraw({"from": b.account})
    books = assert_books(cl)
    assert books[4] == 12345  # still exactly the forced wei, after every claim and withdrawal
