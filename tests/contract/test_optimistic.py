"""Optimistic settlement: propose, the two fraud proofs, confirm, publish, the challenge terms.

The standard round (conftest: Q = 8, K = 4, five revealers, Frank never reveals) is posted instead of
finalized. The oracle (tests/oracle.py) gives the Merkle layout, the plurality and the match counts; a post
that equals the oracle's must settle exactly as finalize does (compared in the same chain state), and every
wrong post must fall to a proof built from the oracle's records.
"""
import brownie
import pytest
from brownie import chain

from conftest import STD_K, STD_Q, TRUTH
from contract_helpers import (
    CONSTANTS,
    ETHER,
    Phase,
    Status,
    account,
    assert_books,
    by_address,
    claim_all,
    commit,
    committers_of,
    err,
    finalize,
    open_round,
    open_round_with,
    pack_labels,
    plurality,
    reveal,
    round_info,
    submission,
    the_event,
    to_finalizable,
    to_reveal_phase,
    transact_at,
)
from oracle import (
    CONSTANTS as ORACLE_CONSTANTS,
    oracle_chunk_of,
    oracle_chunk_proof,
    oracle_labels_root,
    oracle_matches,
)

BOND_BASE, BOND_PER_REVEALER, WINDOW = int(0.03 * ETHER), int(0.001 * ETHER), 24 * 3600


@pytest.fixture(scope="module")
def proposer(accounts, cl):
    """Deposits enough free stake for several bonds."""
    p = accounts[8]
    cl.deposit({"from": p, "value": ETHER})
    return p


@pytest.fixture(scope="module")
def watcher(accounts, cl):
    return accounts[9]


def weights_of(cl, rid, ballots) -> dict:
    """address -> tally weight (stake x reputation at commit)."""
    out = {}
    for b in ballots:
        s = submission(cl, rid, b.account)
        out[b.address] = s["stake"] * s["reputation"]
    return out


def honest(cl, rid, revealed, q=STD_Q, k=STD_K):
    """(consensus one byte a label, committers ascending, matches per committer) by the oracle."""
    w = weights_of(cl, rid, revealed)
    consensus = plurality([b.labels for b in revealed], [w[b.address] for b in revealed], q, k)
    order = sorted(committers_of(cl, rid), key=lambda a: int(a, 16))
    labels = {b.address: b.labels for b in revealed}
    matches = [oracle_matches(labels[a], consensus) if a in labels else 0 for a in order]
    return consensus, order, matches


def matches_wire(matches) -> bytes:
    return b"".join(int(m).to_bytes(2, "big") for m in matches)


def propose(cl, rid, consensus, order, matches, sender, k=STD_K):
    return cl.propose(rid, pack_labels(consensus, k), order, matches_wire(matches), {"from": sender})


def past_window(cl, rid):
    chain.mine(timestamp=cl.getPost(rid)[1] + 1)


def query_proof(cl, rid, consensus, j, alt, revealed, k=STD_K):
    """challengeQuery's arguments for query j with every revealer whose label at j is not the posted one."""
    wire = pack_labels(consensus, k)
    ci = oracle_chunk_of(j, k)
    chunk = wire[32 * ci:32 * ci + 32].ljust(32, b"\0")
    records = [b for b in by_address(revealed) if b.labels[j] != consensus[j]]
    chunks = [b.wire[32 * ci:32 * ci + 32].ljust(32, b"\0") for b in records]
    siblings = [s for b in records for s in oracle_chunk_proof(b.wire, ci)]
    return (rid, j, alt, chunk, oracle_chunk_proof(wire, ci), [b.address for b in records], chunks, siblings)


# --------------------------------------------------------------------------- the honest post


def test_honest_post_settles_exactly_as_finalize(cl, round_id, requester, proposer, revealed, reveal_phase,
                                                 voters, frank):
    """The standard round is posted; a copy of it (same stakes, labels, reward) is finalized on chain: every
    claim, status and event amount must be the same."""
    for v in voters + [frank]:
        cl.deposit({"from": v, "value": ETHER})
    copy = open_round(cl, requester, STD_Q, STD_K, ETHER)
    twins = [commit(cl, copy, b.account, b.labels) for b in reveal_phase]
    to_reveal_phase(cl, copy)
    reveal(cl, copy, twins[:5])
    to_finalizable(cl, copy)
    finalize(cl, copy, twins[:5], requester)

    consensus, order, matches = honest(cl, round_id, revealed)
    assert consensus == TRUTH
    before = account(cl, proposer)
    tx = propose(cl, round_id, consensus, order, matches, proposer)
    post = the_event(tx, "Proposed")
    assert post["consensusRoot"] == oracle_labels_root(pack_labels(consensus, STD_K))
    assert post["bond"] == BOND_BASE + 5 * BOND_PER_REVEALER
    assert (post["pool"], post["agreedWeight"]) == (round_info(cl, copy)["pool"], round_info(cl, copy)["agreedWeight"])
    assert cl.phase(round_id) == Phase.PROPOSED
    assert account(cl, proposer)["free"] == before["free"] - post["bond"]
    assert_books(cl)
    ends = post["challengeEnds"]
    tx = transact_at(ends, cl.claim, round_id, sender=revealed[0].account)  # the window's last second
    assert (tx.status, tx.revert_msg) == (0, err("ChallengeWindow", round_id, ends, ends))
    everyone = reveal_phase  # Frank last: he never revealed
    by_post = claim_all(cl, round_id, everyone)  # the first claim confirms the post
    by_finalize = claim_all(cl, copy, twins)
    assert list(by_post.values()) == list(by_finalize.values())
    assert [submission(cl, round_id, b.account)["status"] for b in everyone] == \
        [submission(cl, copy, b.account)["status"] for b in twins]
    assert cl.phase(round_id) == Phase.FINALIZED
    assert account(cl, proposer)["free"] == before["free"]  # the bond is back
    assert_books(cl)


def test_confirm_pays_the_fee_and_claim_scores_lazily(cl, requester, proposer, alice, bob, carol, dave, erin, frank):
    for v in (alice, bob, carol, dave, erin, frank):
        cl.deposit({"from": v, "value": ETHER})
    rid = open_round_with(cl, requester, STD_Q, STD_K, ETHER, fee=7)
    votes = [(alice, TRUTH), (bob, TRUTH), (carol, TRUTH), (dave, bytes([0, 1, 2, 3, 0, 2, 3, 0])),
             (erin, bytes([0, 1, 2, 3, 1, 2, 3, 0])), (frank, bytes(8))]
    ballots = [commit(cl, rid, a, labels) for a, labels in votes]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots[:5])
    to_finalizable(cl, rid)
    consensus, order, matches = honest(cl, rid, ballots[:5])
    propose(cl, rid, consensus, order, matches, proposer)
    ends = cl.getPost(rid)[1]
    tx = transact_at(ends, cl.confirm, rid, sender=alice)
    assert (tx.status, tx.revert_msg) == (0, err("ChallengeWindow", rid, ends, ends))
    free = account(cl, proposer)["free"]
    tx = transact_at(ends + 1, cl.confirm, rid, sender=alice)  # anyone confirms; the fee goes to the proposer
    assert the_event(tx, "FinalizerPaid") == {"roundId": rid, "finalizer": proposer.address, "fee": 7}
    assert account(cl, proposer)["free"] == free + cl.getPost(rid)[5] + 7
    assert the_event(tx, "RoundFinalized")["consensusPointer"] == "0x" + "00" * 20
    erin_tx = cl.claim(rid, {"from": erin})
    assert the_event(erin_tx, "Scored")["status"] == Status.DEVIATED
    assert the_event(erin_tx, "Slashed")["penalty"] > 0
    frank_tx = cl.claim(rid, {"from": frank})
    assert the_event(frank_tx, "ReputationUpdated")["current"] < CONSTANTS["REPUTATION_START"]
    assert submission(cl, rid, erin)["status"] == Status.DEVIATED
    assert_books(cl)


# --------------------------------------------------------------------------- query proofs


def test_a_wrong_label_falls_to_a_query_proof(cl, round_id, proposer, watcher, revealed):
    consensus, order, _ = honest(cl, round_id, revealed)
    wrong = bytearray(consensus)
    wrong[5] = 3  # the truth is 1: Alice, Bob, Carol say 1, Dave 2, Erin 2
    wrong = bytes(wrong)
    labels = {b.address: b.labels for b in revealed}
    matches = [oracle_matches(labels[a], wrong) if a in labels else 0 for a in order]
    bond = the_event(propose(cl, round_id, wrong, order, matches, proposer), "Proposed")["bond"]
    books = assert_books(cl)
    args = query_proof(cl, round_id, wrong, 5, 1, revealed)
    tx = cl.challengeQuery(*args, {"from": watcher})
    assert the_event(tx, "Refuted") == {"roundId": round_id, "serial": 1, "challenger": watcher.address,
                                        "bond": bond, "reward": bond // 2}
    assert account(cl, watcher)["free"] == bond // 2
    assert account(cl, proposer)["locked"] == 0
    assert cl.phase(round_id) == Phase.FINALIZABLE
    assert assert_books(cl)[3] == books[3] + bond - bond // 2  # the rest burned
    # anyone may post again, the honest post now
    consensus, order, matches = honest(cl, round_id, revealed)
    assert the_event(propose(cl, round_id, consensus, order, matches, proposer), "Proposed")["serial"] == 2


def test_a_query_proof_may_span_transactions_and_keeps_order(cl, round_id, proposer, watcher, revealed):
    consensus, order, _ = honest(cl, round_id, revealed)
    wrong = bytearray(consensus)
    wrong[0] = 3  # everyone says 0
    labels = {b.address: b.labels for b in revealed}
    matches = [oracle_matches(labels[a], bytes(wrong)) if a in labels else 0 for a in order]
    propose(cl, round_id, bytes(wrong), order, matches, proposer)
    rid, j, alt, chunk, cproof, who, chunks, siblings = query_proof(cl, round_id, bytes(wrong), 0, 0, revealed)
    d = len(cproof)
    # two of five revealers (equal weights): A = 2w, B = 2w, W = 5w: not yet (4w <= 5w)
    tx = cl.challengeQuery(rid, j, alt, chunk, cproof, who[:2], chunks[:2], siblings[:2 * d], {"from": watcher})
    progress = the_event(tx, "ChallengeProgress")
    w = weights_of(cl, round_id, revealed)[who[0]]
    assert (progress["altWeight"], progress["otherWeight"], progress["last"]) == (2 * w, 2 * w, who[1])
    # the same revealer again, or an earlier one: refused
    with brownie.reverts(err("RevealersNotSorted", 0)):
        cl.challengeQuery(rid, j, alt, chunk, cproof, who[1:2], chunks[1:2], siblings[d:2 * d], {"from": watcher})
    # another challenger's sums are its own: one more record of its own refutes nothing
    tx = cl.challengeQuery(rid, j, alt, chunk, cproof, who[2:3], chunks[2:3], siblings[2 * d:3 * d],
                           {"from": proposer})
    assert the_event(tx, "ChallengeProgress")["altWeight"] == w
    tx = cl.challengeQuery(rid, j, alt, chunk, cproof, who[2:3], chunks[2:3], siblings[2 * d:3 * d],
                           {"from": watcher})  # 3w + 3w > 5w
    assert "Refuted" in tx.events


def test_query_proofs_are_checked(cl, round_id, proposer, watcher, revealed):
    consensus, order, matches = honest(cl, round_id, revealed)
    propose(cl, round_id, consensus, order, matches, proposer)
    rid, j, alt, chunk, cproof, who, chunks, siblings = query_proof(cl, round_id, consensus, 4, 1, revealed)
    # at query 4 only Erin says 1 (the others 0): her record alone cannot refute the right label
    assert len(who) == 1
    tx = cl.challengeQuery(rid, j, alt, chunk, cproof, who, chunks, siblings, {"from": watcher})
    assert "Refuted" not in tx.events and "ChallengeProgress" in tx.events
    bad = bytearray(chunk)
    bad[0] ^= 0x10
    with brownie.reverts(err("InvalidProof", rid, "0x" + "00" * 20)):
        cl.challengeQuery(rid, j, alt, bytes(bad), cproof, [], [], [], {"from": watcher})
    with brownie.reverts(err("InvalidAlternative", 0, 0, STD_K)):
        cl.challengeQuery(rid, j, 0, chunk, cproof, [], [], [], {"from": watcher})
    with brownie.reverts(err("InvalidAlternative", STD_K, 0, STD_K)):
        cl.challengeQuery(rid, j, STD_K, chunk, cproof, [], [], [], {"from": watcher})
    with brownie.reverts(err("QueryIndexOutOfRange", STD_Q, STD_Q)):
        cl.challengeQuery(rid, STD_Q, alt, chunk, cproof, [], [], [], {"from": watcher})
    # a revealer's chunk that is not its own
    alice = by_address(revealed)[0]
    fake = bytearray(alice.wire.ljust(32, b"\0"))
    fake[2] ^= 0x01
    with brownie.reverts(err("InvalidProof", rid, alice.address)):  # a fresh challenger: no order to keep
        cl.challengeQuery(rid, j, 2, chunk, cproof, [alice.address], [bytes(fake)], [], {"from": proposer})
    with brownie.reverts(err("NotARevealer", rid, proposer.address)):
        cl.challengeQuery(rid, j, 2, chunk, cproof, [proposer.address], [bytes(fake)], [], {"from": proposer})


def test_the_tie_rule_decides_a_query_proof(cl, requester, proposer, watcher, alice, bob, carol, dave):
    """Two against two at query 0: the plurality is the smaller label, and a post of the larger one falls."""
    for v in (alice, bob, carol, dave):
        cl.deposit({"from": v, "value": ETHER})
    rid = open_round(cl, requester, 2, 4, ETHER)
    votes = [(alice, bytes([1, 0])), (bob, bytes([1, 0])), (carol, bytes([2, 0])), (dave, bytes([2, 0]))]
    ballots = [commit(cl, rid, a, labels) for a, labels in votes]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    order = sorted(committers_of(cl, rid), key=lambda a: int(a, 16))
    wrong = bytes([2, 0])
    labels = {b.address: b.labels for b in ballots}
    propose(cl, rid, wrong, order, [oracle_matches(labels[a], wrong) for a in order], proposer)
    args = query_proof(cl, rid, wrong, 0, 1, ballots)  # the two 1-voters: A = 2w = W - B = 2w, 1 < 2
    assert len(args[5]) == 2
    assert "Refuted" in cl.challengeQuery(*args, {"from": watcher}).events
    # the right post (label 1) survives the mirror-image proof: A = 2w = W - B, but 2 > 1
    right = bytes([1, 0])
    propose(cl, rid, right, order, [oracle_matches(labels[a], right) for a in order], proposer)
    tx = cl.challengeQuery(*query_proof(cl, rid, right, 0, 2, ballots), {"from": watcher})
    assert "Refuted" not in tx.events


# --------------------------------------------------------------------------- match-count proofs


def test_a_wrong_match_count_falls_and_a_right_one_stands(cl, round_id, proposer, watcher, revealed):
    consensus, order, matches = honest(cl, round_id, revealed)
    erin = revealed[4]
    i = order.index(erin.address)
    inflated = list(matches)
    inflated[i] += 2  # Erin would agree with 6 of 8
    propose(cl, round_id, consensus, order, inflated, proposer)
    cwire = pack_labels(consensus, STD_K)
    alice = revealed[0]
    with brownie.reverts(err("MatchCountCorrect", round_id, alice.address, STD_Q)):
        cl.challengeMatches(round_id, alice.address, alice.wire, cwire, {"from": watcher})
    with brownie.reverts(err("RevealedLabelsMismatch", round_id, alice.address)):
        cl.challengeMatches(round_id, alice.address, erin.wire, cwire, {"from": watcher})
    with brownie.reverts(err("RevealedLabelsMismatch", round_id, alice.address)):
        cl.challengeMatches(round_id, alice.address, alice.wire + b"\0", cwire, {"from": watcher})
    tx = cl.challengeMatches(round_id, erin.address, erin.wire, cwire, {"from": watcher})
    assert "Refuted" in tx.events


@pytest.mark.parametrize("q,k", [(1, 2), (7, 10), (64, 16), (65, 3), (33, 17), (40, 256)])
def test_match_counting_agrees_with_the_oracle(cl, requester, proposer, watcher, alice, bob, carol, q, k):
    """challengeMatches counts like the oracle at odd Q (padding), word edges and byte labels: a count off by
    one either way falls, the true one stands."""
    import random

    rng = random.Random(q * 1000 + k)
    for v in (alice, bob, carol):
        cl.deposit({"from": v, "value": ETHER})
    rid = open_round(cl, requester, q, k, ETHER)
    truth = bytes(rng.randrange(k) for _ in range(q))
    noisy = bytes(x if rng.random() < 0.6 else rng.randrange(k) for x in truth)
    ballots = [commit(cl, rid, a, lab) for a, lab in [(alice, truth), (bob, truth), (carol, noisy)]]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    consensus, order, matches = honest(cl, rid, ballots, q, k)
    carol_i = order.index(carol.address)
    true = matches[carol_i]
    cwire = pack_labels(consensus, k)
    for off in (-1, 1):  # each wrong count is posted, and falls
        if not 0 <= true + off <= q:
            continue
        wrong = list(matches)
        wrong[carol_i] = true + off
        propose(cl, rid, consensus, order, wrong, proposer, k)
        assert "Refuted" in cl.challengeMatches(rid, carol.address, ballots[2].wire, cwire, {"from": watcher}).events
    propose(cl, rid, consensus, order, matches, proposer, k)
    with brownie.reverts(err("MatchCountCorrect", rid, carol.address, true)):
        cl.challengeMatches(rid, carol.address, ballots[2].wire, cwire, {"from": watcher})
    assert cl.getPost(rid)[6] == max(consensus.count(bytes([c])) for c in range(k))  # mode


# --------------------------------------------------------------------------- propose's checks


def test_propose_checks_its_input(cl, round_id, proposer, revealed, frank):
    consensus, order, matches = honest(cl, round_id, revealed)
    cwire = pack_labels(consensus, STD_K)
    with brownie.reverts(err("RevealerCountMismatch", 5, 6)):
        cl.propose(round_id, cwire, order[:5], matches_wire(matches[:5]), {"from": proposer})
    with brownie.reverts(err("MatchesLength", 10, 12)):
        cl.propose(round_id, cwire, order, matches_wire(matches[:5]), {"from": proposer})
    with brownie.reverts(err("RevealersNotSorted", 1)):
        cl.propose(round_id, cwire, [order[1], order[0]] + order[2:], matches_wire(matches), {"from": proposer})
    fi = order.index(frank.address)
    bad = list(matches)
    bad[fi] = 1
    with brownie.reverts(err("InvalidMatchCount", frank.address, 1)):
        cl.propose(round_id, cwire, order, matches_wire(bad), {"from": proposer})
    bad = list(matches)
    bad[(fi + 1) % 6] = STD_Q + 1
    with brownie.reverts(err("InvalidMatchCount", order[(fi + 1) % 6], STD_Q + 1)):
        cl.propose(round_id, cwire, order, matches_wire(bad), {"from": proposer})
    with brownie.reverts(err("WrongLabelCount", 5, 4)):
        cl.propose(round_id, cwire + b"\0", order, matches_wire(matches), {"from": proposer})
    with brownie.reverts(err("LabelOutOfRange", 0, 4, STD_K)):
        cl.propose(round_id, bytes([0x41]) + cwire[1:], order, matches_wire(matches), {"from": proposer})
    with brownie.reverts(err("InsufficientFreeStake", BOND_BASE + 5 * BOND_PER_REVEALER, 0)):
        cl.propose(round_id, cwire, order, matches_wire(matches), {"from": frank})
    propose(cl, round_id, consensus, order, matches, proposer)
    with brownie.reverts(err("WrongPhase", round_id, Phase.FINALIZABLE, Phase.PROPOSED)):
        propose(cl, round_id, consensus, order, matches, proposer)
    with brownie.reverts(err("WrongPhase", round_id, Phase.FINALIZABLE, Phase.PROPOSED)):
        finalize(cl, round_id, revealed, proposer)  # on chain only once no post is live


def test_audited_rounds_are_not_posted_and_optimistic_ones_take_no_audit(cl, requester, proposer, alice, bob, carol):
    from contract_helpers import audit_of, reveal_audit, round_spec

    for v in (alice, bob, carol):
        cl.deposit({"from": v, "value": ETHER})
    audit = audit_of(TRUTH, [1, 6])
    with brownie.reverts(err("InvalidAudit", 2, 100, audit.commitment(cl, requester))):
        cl.openRoundWith(round_spec(cl, requester, STD_Q, STD_K, audit=audit, audit_s=100, optimistic=True), "",
                         {"from": requester})
    rid = open_round_with(cl, requester, STD_Q, STD_K, ETHER, audit=audit)
    ballots = [commit(cl, rid, a, TRUTH) for a in (alice, bob, carol)]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    reveal_audit(cl, rid, audit, requester)
    consensus, order, matches = honest(cl, rid, ballots)
    with brownie.reverts(err("AuditedRound", rid)):
        propose(cl, rid, consensus, order, matches, proposer)


def test_a_missed_quorum_fails_the_round_at_propose(cl, requester, proposer, alice, bob, carol, frank):
    for v in (alice, bob, carol, frank):
        cl.deposit({"from": v, "value": ETHER})
    rid = open_round(cl, requester, STD_Q, STD_K, ETHER)
    ballots = [commit(cl, rid, a, TRUTH) for a in (alice, bob, carol, frank)]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots[:2])  # 2 of 4: half the stake, but below minRevealers = 3
    to_finalizable(cl, rid)
    free = account(cl, proposer)["free"]
    tx = cl.propose(rid, b"", [], b"", {"from": proposer})
    assert "RoundFailed" in tx.events and "Proposed" not in tx.events
    assert cl.phase(rid) == Phase.FAILED
    assert account(cl, proposer)["free"] == free  # no bond
    # non-revealers are scored at claim: Slashed and a reputation step down
    claim = cl.claim(rid, {"from": frank})
    assert the_event(claim, "Slashed")["status"] == Status.COMMITTED
    assert the_event(claim, "ReputationUpdated")["current"] < CONSTANTS["REPUTATION_START"]
    assert "ReputationUpdated" not in cl.claim(rid, {"from": alice}).events
    assert_books(cl)


def test_challenges_end_with_the_window(cl, round_id, proposer, watcher, revealed):
    consensus, order, matches = honest(cl, round_id, revealed)
    propose(cl, round_id, consensus, order, matches, proposer)
    ends = cl.getPost(round_id)[1]
    erin = revealed[4]
    tx = transact_at(ends + 1, cl.challengeMatches, round_id, erin.address, erin.wire, pack_labels(consensus, STD_K),
                     sender=watcher)
    assert (tx.status, tx.revert_msg) == (0, err("ChallengeWindow", round_id, ends, ends + 1))


# --------------------------------------------------------------------------- optimistic-only rounds


def test_an_optimistic_round_is_never_finalized_on_chain(cl, requester, proposer, alice, bob, carol):
    for v in (alice, bob, carol):
        cl.deposit({"from": v, "value": ETHER})
    rid = open_round_with(cl, requester, STD_Q, STD_K, ETHER, optimistic=True)
    assert round_info(cl, rid)["optimistic"] is True
    ballots = [commit(cl, rid, a, TRUTH) for a in (alice, bob, carol)]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    with brownie.reverts(err("OptimisticOnly", rid)):
        finalize(cl, rid, ballots, requester)
    consensus, order, matches = honest(cl, rid, ballots)
    propose(cl, rid, consensus, order, matches, proposer)
    past_window(cl, rid)
    rewards = claim_all(cl, rid, ballots)
    assert sum(r for r, _ in rewards.values()) <= ETHER and all(p == 0 for _, p in rewards.values())


def test_optimistic_rounds_take_more_queries(cl, requester):
    limit = ORACLE_CONSTANTS["MAX_OPTIMISTIC_QUERIES"]
    with brownie.reverts(err("InvalidQueryCount", CONSTANTS["MAX_QUERIES"] + 1, CONSTANTS["MAX_QUERIES"])):
        open_round_with(cl, requester, CONSTANTS["MAX_QUERIES"] + 1, 2)
    rid = open_round_with(cl, requester, limit, 2, optimistic=True)
    assert round_info(cl, rid)["numQueries"] == limit
    byte_limit = ORACLE_CONSTANTS["MAX_OPTIMISTIC_LABEL_BYTES"]  # one byte a label: two vectors in 128 KB
    with brownie.reverts(err("InvalidQueryCount", byte_limit + 1, byte_limit)):
        open_round_with(cl, requester, byte_limit + 1, 17, optimistic=True)
    assert round_info(cl, open_round_with(cl, requester, byte_limit, 256, optimistic=True))["numQueries"] == byte_limit


@pytest.mark.parametrize("q,k", [(1, 2), (64, 16), (1000, 10), (10_000, 10), (65_535, 16), (65_535, 2),
                                 (1000, 17), (64_000, 256), (20_000, 256)])
def test_optimistic_seats_follow_the_post_gas_budget(cl, q, k):
    from cl_client.protocol import optimistic_seats
    from oracle import oracle_optimistic_seats

    assert cl.optimisticSeats(q, k) == oracle_optimistic_seats(q, k) == optimistic_seats(q, k)
    if (q, k) in ((1000, 10), (10_000, 10)):
        assert cl.optimisticSeats(q, k) >= 1000  # the N = 1000 at Q = 1,000 and Q >= 10,000


def test_publish_stores_the_consensus_in_query_order(cl, round_id, proposer, revealed, outsider):
    consensus, order, matches = honest(cl, round_id, revealed)
    propose(cl, round_id, consensus, order, matches, proposer)
    past_window(cl, round_id)
    cl.confirm(round_id, {"from": outsider})
    with brownie.reverts(err("ConsensusNotPublished", round_id)):
        cl.consensus(round_id)
    cwire = pack_labels(consensus, STD_K)
    with brownie.reverts(err("InvalidProof", round_id, "0x" + "00" * 20)):
        cl.publishConsensus(round_id, bytes([cwire[0] ^ 0x10]) + cwire[1:], {"from": outsider})
    tx = cl.publishConsensus(round_id, cwire, {"from": outsider})
    assert "ConsensusPublished" in tx.events
    assert bytes(cl.consensus(round_id)) == TRUTH
    assert [cl.consensusLabel(round_id, j) for j in range(STD_Q)] == list(TRUTH)
    with brownie.reverts(err("NothingToPublish", round_id)):
        cl.publishConsensus(round_id, cwire, {"from": outsider})


# --------------------------------------------------------------------------- the terms


def test_challenge_terms_change_only_after_the_delay(cl, owner, outsider):
    current, _, at = cl.challengeTerms()
    assert tuple(current) == (WINDOW, BOND_BASE, BOND_PER_REVEALER) and at == 0
    with brownie.reverts(err("InvalidChallengeTerms", b"window".ljust(32, b"\0"), 35, 36, 30 * 24 * 3600)):
        cl.proposeChallengeTerms((35, 1, 0), {"from": owner})
    with brownie.reverts(err("InvalidChallengeTerms", b"bondBase".ljust(32, b"\0"), 0, 1, 2**96 - 1)):
        cl.proposeChallengeTerms((3600, 0, 0), {"from": owner})
    with brownie.reverts():
        cl.proposeChallengeTerms((3600, 1, 0), {"from": outsider})
    tx = cl.proposeChallengeTerms((3600, 5, 1), {"from": owner})
    effective = the_event(tx, "ChallengeTermsProposed")["effectiveAt"]
    tx = transact_at(effective - 1, cl.applyChallengeTerms, sender=outsider)
    assert (tx.status, tx.revert_msg) == (0, err("TermsNotReady", effective, effective - 1))
    assert transact_at(effective, cl.applyChallengeTerms, sender=outsider).status == 1
    assert tuple(cl.challengeTerms()[0]) == (3600, 5, 1)


def test_labels_root_view_matches_the_oracle(cl):
    import random

    rng = random.Random(7)
    for n in (1, 31, 32, 33, 64, 65, 100, 257, 1000):
        wire = bytes(rng.randrange(256) for _ in range(n))
        assert bytes(cl.labelsRootOf(wire)) == oracle_labels_root(wire), n


# --------------------------------------------------------------------------- property: contract == Python


SHAPES = [(1, 2), (2, 3), (63, 16), (64, 10), (65, 17), (127, 256), (129, 4), (200, 16)]


@pytest.mark.parametrize("seed", range(len(SHAPES)))
def test_random_rounds_the_contract_and_the_client_agree(cl, requester, proposer, watcher, accounts, seed):
    """On random rounds (odd and even Q, packed and byte labels, ties forced on some queries), the client's
    honest post (cl_client.optimistic) equals the oracle's and stands against every proof the contract takes;
    a post with one wrong label falls to the client's query proof, one with a wrong count to its match proof."""
    import random

    from cl_client import optimistic as opt

    q, k = SHAPES[seed]
    rng = random.Random(seed)
    n = rng.randrange(3, 8)
    voters = list(accounts)[10:10 + n]
    tie = seed % 2 == 0  # equal stakes, and the two halves of the voters split query 0 between two labels
    for v in voters:
        cl.deposit({"from": v, "value": ETHER if tie else rng.randrange(1, 4) * ETHER // 10})
    rid = open_round(cl, requester, q, k, ETHER)
    truth = bytes(rng.randrange(k) for _ in range(q))
    rows = []
    for i in range(n):
        row = bytearray(x if rng.random() < 0.7 else rng.randrange(k) for x in truth)
        if tie and n % 2 == 0:
            row[0] = 1 if i % 2 else 0  # w/2 each: the tie rule picks 0
        rows.append(bytes(row))
    ballots = [commit(cl, rid, v, row) for v, row in zip(voters, rows)]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)

    weights = weights_of(cl, rid, ballots)
    order = sorted(committers_of(cl, rid), key=lambda a: int(a, 16))
    revealed = {b.address: b.labels for b in ballots}
    post = opt.honest_post(order, revealed, weights, q, k)
    consensus, _, matches = honest(cl, rid, ballots, q, k)  # the oracle's
    assert (post.consensus, list(post.matches)) == (consensus, matches)
    if tie and n % 2 == 0:
        assert consensus[0] == 0

    def find(posted_consensus, posted_matches):
        return opt.find_fraud(pack_labels(posted_consensus, k), order, posted_matches, revealed, weights, q, k,
                              committers=order)

    def send(fraud, posted_consensus):
        if isinstance(fraud, opt.MatchFraud):
            return cl.challengeMatches(rid, fraud.address, fraud.labels_wire, pack_labels(posted_consensus, k),
                                       {"from": watcher})
        for batch in fraud.batches:
            tx = cl.challengeQuery(rid, fraud.query, fraud.alt, fraud.consensus_chunk, fraud.consensus_proof,
                                   [a for a, _, _ in batch], [c for _, c, _ in batch],
                                   [s for _, _, proof in batch for s in proof], {"from": watcher})
        return tx

    # one wrong label (counts recounted against it): the client's query proof refutes it on chain
    j = rng.randrange(q)
    wrong = bytearray(consensus)
    wrong[j] = (wrong[j] + rng.randrange(1, k)) % k
    wrong = bytes(wrong)
    wrong_matches = [oracle_matches(revealed[a], wrong) if a in revealed else 0 for a in order]
    propose(cl, rid, wrong, order, wrong_matches, proposer, k)
    fraud = find(wrong, wrong_matches)
    assert isinstance(fraud, opt.QueryFraud) and fraud.query == j or consensus[fraud.query] != wrong[fraud.query]
    assert "Refuted" in send(fraud, wrong).events

    # one wrong count: the client's match proof refutes it
    i = rng.randrange(n)
    bad = list(matches)
    who = order.index(ballots[i].address)
    bad[who] = bad[who] - 1 if bad[who] else 1
    propose(cl, rid, consensus, order, bad, proposer, k)
    fraud = find(consensus, bad)
    assert isinstance(fraud, opt.MatchFraud) and fraud.address == ballots[i].address
    assert "Refuted" in send(fraud, consensus).events

    # the honest post: the client finds nothing, and the contract agrees on every count and every query
    propose(cl, rid, post.consensus, list(post.committers), list(post.matches), proposer, k)
    assert find(post.consensus, list(post.matches)) is None
    cwire = pack_labels(consensus, k)
    for b in ballots:
        with brownie.reverts(err("MatchCountCorrect", rid, b.address, oracle_matches(b.labels, consensus))):
            cl.challengeMatches(rid, b.address, b.wire, cwire, {"from": watcher})
    for j in sorted({0, q - 1, rng.randrange(q)}):
        alt = (consensus[j] + 1) % k
        tx = cl.challengeQuery(*query_proof(cl, rid, consensus, j, alt, ballots, k), {"from": accounts[11 + j % 5]})
        assert "Refuted" not in tx.events
    assert cl.phase(rid) == Phase.PROPOSED


def test_a_proposer_at_the_stake_ceiling_cannot_make_its_round_unconfirmable(cl, requester, accounts, alice, bob,
                                                                            carol):
    """A fee that would take the proposer's free stake past 96 bits is burned, not a revert: confirm (and so
    every claim) must always go through."""
    from contract_helpers import set_balance

    whale = accounts[12]
    set_balance(whale.address, 2**97)
    cl.deposit({"from": whale, "value": 2**96 - 4})
    for v in (alice, bob, carol):
        cl.deposit({"from": v, "value": ETHER})
    rid = open_round_with(cl, requester, STD_Q, STD_K, ETHER, fee=7)
    ballots = [commit(cl, rid, a, TRUTH) for a in (alice, bob, carol)]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    consensus, order, matches = honest(cl, rid, ballots)
    propose(cl, rid, consensus, order, matches, whale)
    past_window(cl, rid)
    tx = cl.claim(rid, {"from": alice})
    assert "FinalizerPaid" not in tx.events
    assert 7 in [e["amount"] for e in tx.events["Burned"]]  # the fee (the other: the pool's dust, if any)
    assert account(cl, whale)["free"] == 2**96 - 4 and cl.phase(rid) == Phase.FINALIZED
    assert_books(cl)
