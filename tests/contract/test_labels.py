"""reveal's label range check: every label must be below K. The contract checks 32 labels per word with
bit tricks and masks the partial last word, so the cases cover K <= 128 and K > 128, labels with the high
bit set, and bad labels in a partial last word. Every case has its own round, all prepared at once."""
import brownie
import pytest
from brownie import chain

from contract_helpers import ETHER, Status, err, open_round, quick, quick_commit, round_info, submission

# id: (K, Q, {index: bad label}, first bad index). Q = 40 and 33 end in a partial 32-byte word.
OUT_OF_RANGE = {
    "K2-first": (2, 40, {0: 2}, 0),
    "K2-last-of-partial-word": (2, 40, {39: 2}, 39),
    "K3-one-byte-last-word": (3, 33, {32: 3}, 32),
    "K128-label128": (128, 40, {35: 128}, 35),
    "K128-label255": (128, 40, {36: 255}, 36),
    "K129-last": (129, 40, {39: 129}, 39),
    "K200-end-of-full-word": (200, 64, {63: 200}, 63),
    "K255-label255": (255, 40, {38: 255}, 38),
    "first-of-two-reported": (10, 40, {36: 11, 5: 10}, 5),
}
BOUNDARY_K = [2, 3, 127, 128, 129, 255, 256]  # all labels K - 1 (Q = 40) must pass


def bad_labels(k, q, bad):
    labels = bytearray((i * 7) % k for i in range(q))
    for i, label in bad.items():
        labels[i] = label
    return bytes(labels)


@pytest.fixture(scope="module")
def label_rounds(cl, requester, outsider):
    """{case id: ballot} for one round per case, all in their Reveal phase, committed by the outsider."""
    cases = {name: (k, q, bad_labels(k, q, bad)) for name, (k, q, bad, _) in OUT_OF_RANGE.items()}
    cases.update({f"K{k}": (k, 40, bytes([k - 1] * 40)) for k in BOUNDARY_K})
    ballots, last = {}, None
    for name, (k, q, labels) in cases.items():
        last = open_round(cl, requester, q, k)
        quick(cl.deposit, sender=outsider, value=ETHER)
        ballots[name] = (last, quick_commit(cl, last, outsider, labels))
    chain.mine(timestamp=round_info(cl, last)["commitDeadline"] + 1)  # every round is now in Reveal
    return ballots


@pytest.mark.parametrize("case", list(OUT_OF_RANGE))
def test_reveal_with_label_not_below_k_reverts(cl, label_rounds, outsider, case):
    k, _, bad, first = OUT_OF_RANGE[case]
    rid, b = label_rounds[case]
    with brownie.reverts(err("LabelOutOfRange", first, bad[first], k)):
        cl.reveal(rid, b.wire, b.salt, {"from": outsider})


@pytest.mark.parametrize("k", BOUNDARY_K)
def test_reveal_of_labels_up_to_k_minus_one_succeeds(cl, label_rounds, outsider, k):
    rid, b = label_rounds[f"K{k}"]
    cl.reveal(rid, b.wire, b.salt, {"from": outsider})
    assert submission(cl, rid, outsider)["status"] == Status.REVEALED
