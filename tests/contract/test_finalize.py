"""finalize on the standard round (see conftest): the consensus, the scores, the money, and input checks."""
import brownie
import pytest
from brownie import web3

from conftest import FRANK, STD_K, STD_Q, STD_REWARD, TRUTH
from contract_helpers import (
    DEFAULTS,
    ETHER,
    Phase,
    Status,
    assert_books,
    by_address,
    ceil_penalty,
    err,
    events,
    finalize,
    finalize_args,
    min_matches,
    mode_count,
    plain,
    round_info,
    settle,
    submission,
    the_event,
)


@pytest.fixture(scope="module")
def expected(revealed, frank):
    """The reference model's verdict on the standard round."""
    stakes = {b.address: ETHER for b in revealed}
    stakes[frank.address] = ETHER
    return settle(DEFAULTS, STD_Q, STD_K, STD_REWARD, 0, stakes, {b.address: b.labels for b in revealed})


def args(cl, round_id, ballots):
    """Every committer, sorted, with the revealers' labels and b'' for Frank (who never revealed)."""
    return finalize_args(cl, round_id, ballots)


# ------------------------------------------------------------------------ results


def test_finalize_stores_the_weighted_plurality_as_consensus(cl, round_id, requester, revealed, expected):
    finalize(cl, round_id, revealed, requester)
    assert expected.consensus == TRUTH
    assert plain(cl.consensus(round_id)) == TRUTH


def test_finalize_scores_every_revealer(cl, round_id, requester, revealed, expected):
    finalize(cl, round_id, revealed, requester)
    for b in revealed:
        s = submission(cl, round_id, b.account)
        assert (s["matches"], s["status"]) == (expected.matches[b.address], expected.status[b.address])


def test_finalize_agrees_at_the_threshold_and_deviates_below(cl, round_id, requester, revealed, dave, erin):
    finalize(cl, round_id, revealed, requester)
    threshold = min_matches(STD_Q, DEFAULTS.agreementBps, mode_count(TRUTH, STD_K))
    assert threshold == 5  # M = 2; kappa alone: 3 ((3 - 2) * 10000 >= 500 * 6); luck: 3^2 * 8 >= 4 * 2 * 6 > 2^2 * 8
    assert submission(cl, round_id, dave)["matches"] == threshold
    assert submission(cl, round_id, dave)["status"] == Status.AGREED
    assert submission(cl, round_id, erin)["matches"] == threshold - 1
    assert submission(cl, round_id, erin)["status"] == Status.DEVIATED


def test_finalize_emits_scored_in_address_order(cl, round_id, requester, revealed, expected):
    tx = finalize(cl, round_id, revealed, requester)
    assert events(tx, "Scored") == [
        {"roundId": round_id, "participant": b.address, "matches": expected.matches[b.address], "auditHits": 0,
         "status": expected.status[b.address]} for b in by_address(revealed)]


def test_finalize_emits_slashed_for_the_deviator_and_the_non_revealer(cl, round_id, requester, revealed, erin,
                                                                      frank):
    tx = finalize(cl, round_id, revealed, requester)
    assert sorted(events(tx, "Slashed"), key=lambda e: e["participant"]) == sorted([
        {"roundId": round_id, "participant": erin.address, "penalty": ceil_penalty(ETHER, 1_000),
         "status": Status.DEVIATED},
        {"roundId": round_id, "participant": frank.address, "penalty": ceil_penalty(ETHER, 2_000),
         "status": Status.COMMITTED}], key=lambda e: e["participant"])


def test_finalize_emits_round_slashes_all_pooled(cl, round_id, requester, revealed, expected):
    tx = finalize(cl, round_id, revealed, requester)
    assert the_event(tx, "RoundSlashes") == {"roundId": round_id, "pooled": expected.pooled, "burned": 0}
    assert expected.pooled == expected.slashed == ETHER // 5 + ETHER // 10


def test_finalize_emits_round_finalized_with_the_pool(cl, round_id, requester, revealed, expected):
    tx = finalize(cl, round_id, revealed, requester)
    ev = the_event(tx, "RoundFinalized")
    pointer = ev.pop("consensusPointer")
    assert ev == {"roundId": round_id, "pool": expected.pool, "agreedWeight": expected.agreed_weight,
                  "dust": expected.dust}
    assert expected.pool == STD_REWARD + ETHER // 5 + ETHER // 10  # the reward, Frank's 20 % + Erin's 10 %
    assert bytes(web3.eth.get_code(pointer)) == b"\x00" + TRUTH  # SSTORE2: a STOP byte, then the data


def test_finalize_updates_the_round(cl, round_id, requester, revealed, expected):
    finalize(cl, round_id, revealed, requester)
    info = round_info(cl, round_id)
    assert (info["phase"], info["pool"], info["agreedWeight"]) == (Phase.FINALIZED, expected.pool,
                                                                   expected.agreed_weight)


def test_finalize_moves_slashed_stake_into_rewards(cl, round_id, requester, revealed, expected):
    stake, rewards, refunds, burned, surplus = assert_books(cl)
    finalize(cl, round_id, revealed, requester)
    assert assert_books(cl) == (stake - expected.slashed, rewards + expected.slashed - expected.dust, refunds,
                                burned + expected.dust, surplus)
    assert expected.books_delta == (-expected.slashed, expected.slashed - expected.dust, 0, expected.dust)


def test_finalize_can_be_called_by_anyone(cl, round_id, outsider, revealed):
    finalize(cl, round_id, revealed, outsider)
    assert cl.phase(round_id) == Phase.FINALIZED


def test_finalize_twice_reverts(cl, round_id, requester, revealed):
    finalize(cl, round_id, revealed, requester)
    with brownie.reverts(err("WrongPhase", round_id, Phase.FINALIZABLE, Phase.FINALIZED)):
        finalize(cl, round_id, revealed, requester)


def test_finalize_of_unknown_round_reverts(cl, requester, revealed):
    with brownie.reverts(err("UnknownRound", 7)):
        finalize(cl, 7, revealed, requester)


# ------------------------------------------------------------------------ input validation


def test_finalize_with_arrays_of_different_length_reverts(cl, round_id, requester, revealed):
    addresses, labels = args(cl, round_id, revealed)
    with brownie.reverts(err("LengthMismatch", 6, 5)):
        cl.finalize(round_id, addresses, labels[:5], {"from": requester})


@pytest.mark.parametrize("count", [0, 5])
def test_finalize_with_too_few_committers_reverts(cl, round_id, requester, revealed, count):
    addresses, labels = args(cl, round_id, revealed)
    with brownie.reverts(err("RevealerCountMismatch", count, 6)):
        cl.finalize(round_id, addresses[:count], labels[:count], {"from": requester})


def test_finalize_without_the_non_revealer_reverts(cl, round_id, requester, revealed, frank):
    """v1 took only the revealers; v2 wants every committer (so it can slash and name the non-revealers)."""
    order = by_address(revealed)
    assert frank.address not in [b.address for b in order]
    with brownie.reverts(err("RevealerCountMismatch", 5, 6)):
        cl.finalize(round_id, [b.address for b in order], [b.labels for b in order], {"from": requester})


def test_finalize_with_an_extra_address_reverts(cl, round_id, requester, revealed, outsider):
    addresses, labels = args(cl, round_id, revealed)
    with brownie.reverts(err("RevealerCountMismatch", 7, 6)):
        cl.finalize(round_id, addresses + [outsider.address], labels + [TRUTH], {"from": requester})


def test_finalize_ignores_the_labels_given_for_a_non_revealer(cl, round_id, requester, revealed, frank):
    addresses, labels = args(cl, round_id, revealed)
    labels[addresses.index(frank.address)] = FRANK  # what Frank committed to, never revealed: ignored
    cl.finalize(round_id, addresses, labels, {"from": requester})
    assert plain(cl.consensus(round_id)) == TRUTH
    assert submission(cl, round_id, frank)["status"] == Status.COMMITTED


def test_finalize_with_unsorted_revealers_reverts(cl, round_id, requester, revealed):
    addresses, labels = args(cl, round_id, revealed)
    addresses[1], addresses[2] = addresses[2], addresses[1]
    labels[1], labels[2] = labels[2], labels[1]
    with brownie.reverts(err("RevealersNotSorted", 2)):
        cl.finalize(round_id, addresses, labels, {"from": requester})


def test_finalize_with_descending_revealers_reverts_at_the_second(cl, round_id, requester, revealed):
    addresses, labels = args(cl, round_id, revealed)
    with brownie.reverts(err("RevealersNotSorted", 1)):
        cl.finalize(round_id, addresses[::-1], labels[::-1], {"from": requester})


def test_finalize_with_a_duplicate_revealer_reverts(cl, round_id, requester, revealed):
    addresses, labels = args(cl, round_id, revealed)
    addresses[3], labels[3] = addresses[2], labels[2]  # right count, one revealer twice, one missing
    with brownie.reverts(err("RevealersNotSorted", 3)):
        cl.finalize(round_id, addresses, labels, {"from": requester})


def test_finalize_with_an_address_that_never_committed_reverts(cl, round_id, requester, revealed, outsider, erin):
    """Right count, sorted, but Erin replaced by someone who never committed."""
    addresses, labels = args(cl, round_id, revealed)
    pairs = [(a, v) for a, v in zip(addresses, labels) if a != erin.address] + [(outsider.address, TRUTH)]
    pairs.sort(key=lambda p: int(p[0], 16))
    with brownie.reverts(err("NotACommitter", round_id, outsider)):
        cl.finalize(round_id, [p[0] for p in pairs], [p[1] for p in pairs], {"from": requester})


def test_finalize_with_empty_labels_for_a_revealer_reverts(cl, round_id, requester, revealed, alice):
    addresses, labels = args(cl, round_id, revealed)
    labels[addresses.index(alice.address)] = b""  # passing a revealer off as a non-revealer
    with brownie.reverts(err("RevealedLabelsMismatch", round_id, alice)):
        cl.finalize(round_id, addresses, labels, {"from": requester})


def test_finalize_with_labels_other_than_revealed_reverts(cl, round_id, requester, revealed):
    addresses, labels = args(cl, round_id, revealed)
    i = next(i for i, v in enumerate(labels) if v not in (TRUTH, b""))  # a non-TRUTH revealer gets TRUTH
    labels[i] = TRUTH
    with brownie.reverts(err("RevealedLabelsMismatch", round_id, addresses[i])):
        cl.finalize(round_id, addresses, labels, {"from": requester})
