"""Packed labels (K <= PACKED_MAX_CLASSES = 16): reveal takes ceil(Q / 2) bytes, query 2i in the high nibble of
byte i and 2i + 1 in the low one, an odd Q's last low nibble zero. reveal checks the length, every nibble < K
(two SWAR lanes per word) and the padding; finalize unpacks the resent bytes (_unpack) and must reach the
oracle's plurality and match counts. K = 17 keeps one byte a label. The wire bytes here come from the
oracle's own pack_labels, not the client's."""
import brownie
import pytest
from brownie import chain

from contract_helpers import (
    ETHER,
    Status,
    commit,
    err,
    finalize,
    open_round,
    pack_labels,
    plurality,
    quick,
    quick_commit,
    reveal,
    round_info,
    submission,
    the_event,
    to_finalizable,
    to_reveal_phase,
)

PACKED = 16


def labels_for(q: int, k: int, seed: int) -> bytes:
    return bytes((i * 7 + seed * 5 + (i * i) // 3) % k for i in range(q))


# id: (K, Q, {query: bad label}, first bad query). Odd and even queries (low and high nibbles); a word holds
# 64 packed labels, so Q = 64 is one whole word, Q = 100 a partial one, Q = 130 two words and one byte.
OUT_OF_RANGE = {
    "K10-odd-query-low-nibble": (10, 100, {51: 15}, 51),
    "K10-even-query-high-nibble": (10, 100, {64: 10}, 64),
    "K15-label15": (15, 64, {63: 15}, 63),
    "K2-label3-in-last-byte": (2, 130, {129: 3}, 129),
    "K10-two-bad-first-reported": (10, 130, {128: 12, 9: 11}, 9),
    "K3-first-word-last-nibble": (3, 64, {63: 3}, 63),
}


@pytest.fixture(scope="module")
def bad_rounds(cl, requester, outsider):
    """{case: (round id, wire bytes, salt)}: the outsider committed to each case's packed labels."""
    out, last = {}, None
    for name, (k, q, bad, _) in OUT_OF_RANGE.items():
        labels = bytearray(labels_for(q, k, 1))
        for i, label in bad.items():
            labels[i] = label
        last = open_round(cl, requester, q, k)
        quick(cl.deposit, sender=outsider, value=ETHER)
        b = quick_commit(cl, last, outsider, bytes(labels))
        out[name] = (last, b.wire, b.salt)
    chain.mine(timestamp=round_info(cl, last)["commitDeadline"] + 1)
    return out


@pytest.mark.parametrize("case", list(OUT_OF_RANGE))
def test_a_packed_label_not_below_k_reverts_with_its_query_index(cl, bad_rounds, outsider, case):
    k, _, bad, first = OUT_OF_RANGE[case]
    rid, wire, salt = bad_rounds[case]
    with brownie.reverts(err("LabelOutOfRange", first, bad[first], k)):
        cl.reveal(rid, wire, salt, {"from": outsider})


@pytest.mark.parametrize("k", [2, 10, 15, 16])
def test_every_label_up_to_k_minus_one_passes_packed(cl, requester, alice, k):
    q = 97
    rid = open_round(cl, requester, q, k)
    cl.deposit({"from": alice, "value": ETHER})
    b = commit(cl, rid, alice, bytes([k - 1] * q))
    to_reveal_phase(cl, rid)
    tx = cl.reveal(rid, b.wire, b.salt, {"from": alice})
    assert submission(cl, rid, alice)["status"] == Status.REVEALED
    assert len(b.wire) == (q + 1) // 2
    assert bytes(the_event(tx, "Revealed")["labels"]) == b.wire  # the event publishes the wire bytes


@pytest.mark.parametrize("k, q, given, expected", [
    (10, 40, 40, 20),  # one byte a label where K <= 16 packs
    (10, 33, 16, 17),  # an odd Q rounds up
    (16, 40, 21, 20),
    (17, 40, 20, 40),  # K = 17: one byte a label
])
def test_a_reveal_of_the_wrong_length_reverts(cl, requester, alice, k, q, given, expected):
    rid = open_round(cl, requester, q, k)
    cl.deposit({"from": alice, "value": ETHER})
    b = commit(cl, rid, alice, bytes(q))
    to_reveal_phase(cl, rid)
    with brownie.reverts(err("WrongLabelCount", given, expected)):
        cl.reveal(rid, bytes(given), b.salt, {"from": alice})


@pytest.mark.parametrize("padding", [1, 5, 15])
def test_a_non_zero_padding_nibble_is_refused_even_when_committed_to(cl, requester, alice, padding):
    q, k = 33, 10
    rid = open_round(cl, requester, q, k)
    cl.deposit({"from": alice, "value": ETHER})
    wire = bytearray(pack_labels(labels_for(q, k, 2), k))
    wire[-1] |= padding  # the commitment binds these very bytes, so only the padding rule can refuse them
    salt = bytes(range(32))
    cl.commit(rid, cl.commitmentOf(rid, alice, bytes(wire), salt), {"from": alice})
    to_reveal_phase(cl, rid)
    with brownie.reverts(err("LabelPaddingNotZero", padding)):
        cl.reveal(rid, bytes(wire), salt, {"from": alice})
    wire[-1] &= 0xF0
    with brownie.reverts(err("CommitmentMismatch", rid, alice.address)):  # the cleared bytes are others
        cl.reveal(rid, bytes(wire), salt, {"from": alice})


@pytest.mark.parametrize("k, q", [(2, 1), (3, 31), (10, 33), (16, 64), (10, 97), (16, 130), (17, 33), (5, 257)])
def test_finalize_unpacks_to_the_oracles_plurality_and_matches(cl, requester, voters, k, q):
    """Five revealers, stakes 1..5 ether (one reputation): each row agrees with a base row on about 60 % of
    the queries, so the plurality is contested; consensus and every revealer's matches are the oracle's."""
    rid = open_round(cl, requester, q, k)
    base = labels_for(q, k, 0)
    rows = []
    for i, v in enumerate(voters):
        cl.deposit({"from": v, "value": (i + 1) * ETHER})
        noise = labels_for(q, k, 10 + i)
        rows.append(bytes(base[j] if (j * (i + 3)) % 5 < 3 else noise[j] for j in range(q)))
    ballots = [commit(cl, rid, v, row) for v, row in zip(voters, rows)]
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    finalize(cl, rid, ballots, requester)
    want = plurality(rows, [(i + 1) for i in range(len(rows))], q, k)
    got = bytes(cl.consensus(rid))
    assert got == want
    for v, row in zip(voters, rows):
        assert submission(cl, rid, v)["matches"] == sum(a == b for a, b in zip(row, want))


def test_packed_reveal_costs_less_calldata_than_one_byte_a_label(cl, requester, alice, bob):
    """The same 1,024 labels (all < 16) revealed at K = 16 (512 bytes) and at K = 17 (1,024 bytes)."""
    q = 1024
    labels = bytes(1 + (i * 7) % 15 for i in range(q))  # non-zero bytes: the calldata price is 16 a byte
    used = {}
    for k, who in ((PACKED, alice), (PACKED + 1, bob)):
        rid = open_round(cl, requester, q, k)
        cl.deposit({"from": who, "value": ETHER})
        b = commit(cl, rid, who, labels)
        to_reveal_phase(cl, rid)
        used[k] = cl.reveal(rid, b.wire, b.salt, {"from": who}).gas_used
    # 512 fewer calldata bytes (16 gas each) and event bytes (8 each): at least 8 gas a label less
    assert used[PACKED + 1] - used[PACKED] >= 8 * q, used
