"""cl_client.optimistic (the optimistic tier: the labels' Merkle layout, the honest post, the watcher) against the
independent oracle in tests/oracle.py: roots and proofs byte for byte, label positions in chunks, the post's
consensus and match counts, and fraud proofs judged by the oracle's statement of the contract's refute rule."""
import time

import numpy as np
import pytest
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracle
from cl_client import optimistic as opt
from cl_client.commitment import label_bytes, pack_labels

ZERO = bytes(32)
FAST = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _wire(rng, length: int) -> bytes:
    return rng.integers(0, 256, size=length, dtype=np.uint8).tobytes()


def _address(i: int) -> str:
    return "0x" + keccak(i.to_bytes(32, "big"))[:20].hex()


def _proof_bytes(records: int, depth: int) -> int:
    """The brief's calldata estimate, restated: 32 B address + 32 B chunk + 32 d B per record, 32 d + 400 B fixed."""
    return records * (32 + 32 + 32 * depth) + 32 * depth + 400


# ---------------------------------------------------------------------------------------------- the tree


@pytest.mark.parametrize("length, n, d", [(1, 1, 0), (32, 1, 0), (33, 2, 1), (64, 2, 1), (65, 3, 2), (128, 4, 2),
                                          (129, 5, 3), (2048, 64, 6), (2049, 65, 7), (5000, 157, 8)])
def test_chunk_count_and_depth(length, n, d):
    assert opt.chunk_count(length) == n and opt.tree_depth(length) == d
    assert len(opt.chunks(bytes(length))) == n


def test_an_empty_wire_has_no_tree():
    with pytest.raises(ValueError, match="at least 1 byte"):
        opt.labels_root(b"")


def test_the_bytes_of_small_trees_by_hand():
    wire = bytes(range(1, 34))  # 33 bytes: two chunks, the second one byte and 31 zeros
    c0, c1 = bytes(range(1, 33)), bytes([33]) + bytes(31)
    assert opt.chunks(wire) == [c0, c1]
    assert opt.labels_root(wire) == keccak(c0 + c1)
    assert opt.chunk_proof(wire, 0) == [c1] and opt.chunk_proof(wire, 1) == [c0]

    wire = bytes(range(65))  # three chunks: a zero leaf pads the tree to four
    c0, c1, c2 = wire[:32], wire[32:64], bytes([64]) + bytes(31)
    left, right = keccak(c0 + c1), keccak(c2 + ZERO)
    assert opt.labels_root(wire) == keccak(left + right)
    assert opt.chunk_proof(wire, 2) == [ZERO, left]
    assert opt.chunk_proof(wire, 1) == [c0, right]
    assert opt.verify_chunk(keccak(left + right), c2, 2, [ZERO, left])


@pytest.mark.parametrize("length", [1, 5, 31, 32])
def test_a_single_chunk_is_its_own_root(length):
    wire = bytes(range(1, length + 1))
    chunk = wire + bytes(32 - length)
    assert opt.labels_root(wire) == chunk == oracle.oracle_labels_root(wire)
    assert opt.chunk_proof(wire, 0) == [] == oracle.oracle_chunk_proof(wire, 0)
    assert opt.verify_chunk(chunk, chunk, 0, []) and oracle.oracle_verify(chunk, chunk, 0, [])
    assert not opt.verify_chunk(chunk, chunk, 1, []) and not oracle.oracle_verify(chunk, chunk, 1, [])
    assert not opt.verify_chunk(chunk, ZERO, 0, [])


def test_roots_and_proofs_equal_the_oracle_at_every_length_up_to_300():
    rng = np.random.default_rng(300)
    for length in range(1, 301):
        wire = _wire(rng, length)
        root = opt.labels_root(wire)
        assert root == oracle.oracle_labels_root(wire), length
        for i, chunk in enumerate(opt.chunks(wire)):
            proof = opt.chunk_proof(wire, i)
            assert proof == oracle.oracle_chunk_proof(wire, i), (length, i)
            assert len(proof) == opt.tree_depth(length)
            assert opt.verify_chunk(root, chunk, i, proof) and oracle.oracle_verify(root, chunk, i, proof)


@pytest.mark.parametrize("length", [4096, 4999, 5000, 5001, 8192])
def test_large_wires_equal_the_oracle(length):
    wire = _wire(np.random.default_rng(length), length)
    root, pieces = opt.labels_root(wire), opt.chunks(wire)
    assert root == oracle.oracle_labels_root(wire)
    for i in sorted({0, 1, len(pieces) // 2, len(pieces) - 2, len(pieces) - 1}):
        proof = opt.chunk_proof(wire, i)
        assert proof == oracle.oracle_chunk_proof(wire, i)
        assert opt.verify_chunk(root, pieces[i], i, proof) and oracle.oracle_verify(root, pieces[i], i, proof)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


@pytest.mark.parametrize("length", [33, 65, 100, 1000, 5000])
def test_a_flipped_byte_or_a_wrong_index_does_not_verify(length):
    rng = np.random.default_rng(length)
    wire = _wire(rng, length)
    root, pieces = opt.labels_root(wire), opt.chunks(wire)
    d = opt.tree_depth(length)
    for i in sorted({0, len(pieces) - 1, int(rng.integers(len(pieces)))}):
        proof, chunk = opt.chunk_proof(wire, i), pieces[i]
        at = int(rng.integers(32))
        level = int(rng.integers(d))
        bad_proof = proof[:level] + [_flip(proof[level], at)] + proof[level + 1:]
        for verify in (opt.verify_chunk, oracle.oracle_verify):
            assert verify(root, chunk, i, proof)
            assert not verify(root, _flip(chunk, at), i, proof)
            assert not verify(root, chunk, i, bad_proof)
            assert not verify(_flip(root, at), chunk, i, proof)
            assert not verify(root, chunk, i ^ 1, proof)
            assert not verify(root, chunk, i + 2 ** d, proof)  # an index beyond d bits
            assert not verify(root, chunk, i, proof[:-1])
            assert not verify(root, chunk[:31], i, proof)


def test_a_proof_of_a_chunk_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match=r"chunk 3 is not in 0\.\.2"):
        opt.chunk_proof(bytes(65), 3)


def test_a_thousand_revealers_of_5000_bytes_are_hashed_quickly():
    wires = [_wire(np.random.default_rng(i), 5000) for i in range(100)]
    start = time.perf_counter()
    roots = [opt.labels_root(w) for w in wires]
    elapsed = time.perf_counter() - start
    assert len(set(roots)) == 100
    assert elapsed < 5.0, f"100 roots of 5000 bytes took {elapsed:.2f} s; 1000 revealers would take 10x that"


# ---------------------------------------------------------------------------------------------- labels in chunks


@pytest.mark.parametrize("k", [2, 10, 16, 17, 256])
@pytest.mark.parametrize("q", [1, 2, 63, 64, 65, 127, 128, 129, 10000, "random"])
def test_every_label_is_read_from_the_chunk_that_holds_it(q, k):
    rng = np.random.default_rng(hash((q, k)) % 2**32)
    q = int(rng.integers(1, 3000)) if q == "random" else q
    labels = rng.integers(0, k, size=q, dtype=np.int64).astype(np.uint8).tobytes()
    wire = pack_labels(labels, k)
    pieces = opt.chunks(wire)
    assert len(pieces) == -(-label_bytes(q, k) // 32)
    for j in range(q):
        index = opt.query_chunk_index(j, k)
        assert index == oracle.oracle_chunk_of(j, k)
        assert opt.label_in_chunk(pieces[index], j, k) == labels[j] == oracle.oracle_label_at(pieces[index], j, k)
    root = opt.labels_root(wire)
    for j in sorted({0, q - 1, int(rng.integers(q))}):
        index = opt.query_chunk_index(j, k)
        assert oracle.oracle_verify(root, pieces[index], index, opt.chunk_proof(wire, index))


def test_label_positions_by_hand():
    chunk = bytes([0x12, 0x34]) + bytes(29) + bytes([0xAB])
    assert [opt.label_in_chunk(chunk, j, 16) for j in (0, 1, 2, 3, 62, 63)] == [1, 2, 3, 4, 0xA, 0xB]
    assert opt.label_in_chunk(chunk, 31, 17) == 0xAB and opt.label_in_chunk(chunk, 63, 17) == 0xAB
    assert [opt.query_chunk_index(j, 16) for j in (0, 63, 64, 127, 128)] == [0, 0, 1, 1, 2]
    assert [opt.query_chunk_index(j, 17) for j in (0, 31, 32, 63, 64)] == [0, 0, 1, 1, 2]


# ---------------------------------------------------------------------------------------------- the post


def _random_round(rng, n: int, q: int, k: int, non_revealers: int = 0, wei: bool = False):
    addresses = [_address(int(i)) for i in rng.choice(10**6, size=n + non_revealers, replace=False)]
    revealers = addresses[:n]
    revealed = {a: rng.integers(0, k, size=q).astype(np.uint8).tobytes() for a in revealers}
    scale = 10**18 if wei else 1
    weights = {a: int(rng.integers(1, 4)) * scale * int(rng.integers(100, 10_001)) for a in revealers}
    return addresses, revealed, weights


def _expected_post(committers, revealed, weights, q, k):
    order = sorted(revealed)
    consensus = oracle.plurality([revealed[a] for a in order], [weights[a] for a in order], q, k)
    ascending = sorted(committers, key=lambda a: int(a, 16))
    counts = [oracle.oracle_matches(revealed[a], consensus) if a in revealed else 0 for a in ascending]
    return ascending, consensus, counts


@pytest.mark.parametrize("seed", range(30))
def test_the_honest_post_equals_the_oracle(seed):
    rng = np.random.default_rng(seed)
    n, q, k = int(rng.integers(1, 13)), int(rng.integers(1, 300)), int(rng.choice([2, 3, 10, 16, 17, 256]))
    committers, revealed, weights = _random_round(rng, n, q, k, int(rng.integers(0, 4)), wei=bool(seed % 2))
    shuffled = list(rng.permutation(committers))
    post = opt.honest_post(shuffled, revealed, weights, q, k)
    ascending, consensus, counts = _expected_post(committers, revealed, weights, q, k)
    assert post.committers == tuple(ascending)
    assert post.consensus == consensus
    assert post.consensus_wire == oracle.pack_labels(consensus, k)
    assert post.root == oracle.oracle_labels_root(post.consensus_wire)
    assert post.matches == tuple(counts)
    assert post.matches_wire() == b"".join(m.to_bytes(2, "big") for m in counts)


def test_ties_go_to_the_smallest_label():
    a, b, c = _address(1), _address(2), _address(3)
    revealed = {a: bytes([3, 1, 2, 0]), b: bytes([1, 3, 0, 2]), c: bytes([2, 2, 1, 1])}
    weights = {a: 5, b: 5, c: 5}  # every query a three-way tie
    post = opt.honest_post([a, b, c], revealed, weights, 4, 4)
    assert post.consensus == bytes([1, 1, 0, 0]) == oracle.plurality(list(revealed.values()), [5, 5, 5], 4, 4)
    big = 2**80 + 7  # wei-scale weights tie exactly
    post = opt.honest_post([a, b], {a: bytes([9]), b: bytes([4])}, {a: big, b: big}, 1, 10)
    assert post.consensus == bytes([4])
    post = opt.honest_post([a, b], {a: bytes([9]), b: bytes([4])}, {a: big + 1, b: big}, 1, 10)
    assert post.consensus == bytes([9])
    assert dict(zip(post.committers, post.matches)) == {a: 1, b: 0}


def test_committers_are_sorted_by_value_not_by_spelling():
    low, high = "0xa" + "0" * 39, "0xB" + "0" * 39  # as strings "0xB..." < "0xa..."
    checksummed = to_checksum_address("0x" + "c" * 40)
    post = opt.honest_post([checksummed, high, low], {high: bytes([1])}, {high: 1}, 1, 2)
    assert post.committers == (low, high, checksummed)
    assert post.matches == (0, 1, 0)


@pytest.mark.parametrize("change, message", [
    (lambda c, r, w: (c[1:], r, w), "is not among the committers"),
    (lambda c, r, w: (c, r, {}), "has no tally weight"),
    (lambda c, r, w: (c, {a: v + b"\0" for a, v in r.items()}, w), r"expected one per query \(Q=3\)"),
    (lambda c, r, w: (c + c[:1], r, w), "appears twice"),
    (lambda c, r, w: (c, {a: bytes([0, 0, 5]) for a in r}, w), r"labels must be in 0\.\.4"),
    (lambda c, r, w: (c, {}, w), "no revealers"),
    (lambda c, r, w: (c, r, {a: -1 for a in w}), "non-negative"),
    (lambda c, r, w: (c, {**r, to_checksum_address(c[0]): bytes(3)}, w), "appears twice"),
])
def test_the_honest_post_refuses_an_impossible_round(change, message):
    a, b = _address(1), _address(2)
    committers, revealed, weights = change([a, b], {a: bytes([1, 2, 3])}, {a: 1})
    with pytest.raises(ValueError, match=message):
        opt.honest_post(committers, revealed, weights, 3, 5)


def test_match_counts_are_two_bytes_big_endian():
    assert opt.matches_bytes([0, 1, 258, 65535]) == bytes([0, 0, 0, 1, 1, 2, 255, 255])
    assert opt.matches_from_bytes(bytes([0, 0, 0, 1, 1, 2, 255, 255])) == [0, 1, 258, 65535]
    for bad in (65536, -1):
        with pytest.raises(ValueError, match="does not fit in 2 bytes"):
            opt.matches_bytes([3, bad])
    with pytest.raises(ValueError, match="each count is 2 bytes"):
        opt.matches_from_bytes(b"\0\0\0")


# ---------------------------------------------------------------------------------------------- the watcher


@st.composite
def rounds(draw):
    """A random round: N 1..12 revealers, Q 1..70, K 2..17, up to 3 non-revealers, weights small, equal or
    wei-scale, and (sometimes) queries where two labels tie exactly."""
    n, q, k = draw(st.integers(1, 12)), draw(st.integers(1, 70)), draw(st.integers(2, 17))
    extra = draw(st.integers(0, 3))
    kind = draw(st.sampled_from(["small", "equal", "wei"]))
    tie = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    committers = [_address(int(i)) for i in rng.choice(10**6, size=n + extra, replace=False)]
    if draw(st.booleans()):  # checksummed: sorting by spelling would differ from sorting by value
        committers = [to_checksum_address(a) for a in committers]
    revealers = committers[:n]
    labels = rng.integers(0, k, size=(n, q))
    if kind == "small":
        w = [int(x) for x in rng.integers(1, 4, size=n)]
    elif kind == "equal" or tie:
        w = [7] * n
    else:
        w = [int(x) * 10**18 * int(r) for x, r in zip(rng.integers(1, 50, size=n), rng.integers(100, 10_001, size=n))]
    if tie and n >= 2:
        w = [7] * n
        for j in rng.choice(q, size=int(rng.integers(1, q + 1)), replace=False):
            x, y = rng.choice(k, size=2, replace=False)
            labels[: n // 2, j], labels[n // 2: 2 * (n // 2), j] = x, y
            if n % 2:
                labels[n - 1, j] = next(z for z in range(k) if z not in (x, y)) if k > 2 else x
    revealed = {a: bytes(labels[i].astype(np.uint8).tolist()) for i, a in enumerate(revealers)}
    weights = dict(zip(revealers, w))
    return committers, revealed, weights, q, k


def _watch(post_wire, post, revealed, weights, q, k, matches=None, **kw):
    return opt.find_fraud(post_wire, post.committers, post.matches if matches is None else matches, revealed,
                          weights, q, k, **kw)


def _judge(fraud, post_wire, revealed, weights, k) -> int | None:
    """The oracle's verdict on a QueryFraud: the index of the transaction that refutes, or None."""
    roots = {a: oracle.oracle_labels_root(oracle.pack_labels(v, k)) for a, v in revealed.items()}
    return oracle.oracle_refutes(oracle.oracle_labels_root(post_wire), fraud.query, fraud.alt, fraud.consensus_chunk,
                                 fraud.consensus_proof, fraud.batches, roots, weights, k)


def _check_query_fraud(fraud, post_wire, wrong, revealed, weights, q, k, max_bytes=120_000):
    """Everything a QueryFraud must be: at a wrong query, alt the true plurality, records ascending, refuting
    first at the last transaction, each transaction within max_bytes, and the fewest records of any wrong query."""
    assert isinstance(fraud, opt.QueryFraud)
    order = sorted(revealed)
    truth = oracle.plurality([revealed[a] for a in order], [weights[a] for a in order], q, k)
    posted = [oracle.oracle_label_at(opt.chunks(post_wire)[oracle.oracle_chunk_of(j, k)], j, k) for j in range(q)]
    assert fraud.query in wrong and fraud.alt == truth[fraud.query] and fraud.posted == posted[fraud.query]
    addresses = [int(a, 16) for a, _chunk, _proof in fraud.records]
    assert addresses == sorted(set(addresses))
    assert _judge(fraud, post_wire, revealed, weights, k) == len(fraud.batches) - 1
    d = opt.tree_depth(len(post_wire))
    assert all(_proof_bytes(len(batch), d) <= max_bytes for batch in fraud.batches)
    if len(revealed) <= 8:  # brute force: no wrong query is refuted with fewer records, none before it with as few
        w = [weights[a] for a in order]
        sizes = {j: oracle.oracle_fewest_records([revealed[a][j] for a in order], w, posted[j], truth[j])
                 for j in wrong}
        assert len(fraud.records) == sizes[fraud.query] == min(sizes.values())
        assert fraud.query == min(j for j in wrong if sizes[j] == sizes[fraud.query])


@FAST
@given(rounds())
def test_an_honest_post_has_no_fraud(game):
    committers, revealed, weights, q, k = game
    post = opt.honest_post(committers, revealed, weights, q, k)
    assert _watch(post.consensus_wire, post, revealed, weights, q, k) is None
    assert opt.find_fraud(post.consensus_wire, post.committers, post.matches, revealed, weights, q, k,
                          committers=committers) is None


@FAST
@given(rounds(), st.data())
def test_a_post_with_wrong_labels_is_refuted_by_a_query_fraud(game, data):
    committers, revealed, weights, q, k = game
    post = opt.honest_post(committers, revealed, weights, q, k)
    wrong = sorted(data.draw(st.sets(st.integers(0, q - 1), min_size=1, max_size=min(q, 5))))
    consensus = bytearray(post.consensus)
    for j in wrong:
        consensus[j] = (consensus[j] + data.draw(st.integers(1, k - 1))) % k
    wire = pack_labels(bytes(consensus), k)
    recount = data.draw(st.booleans())  # the proposer posts counts against its wrong consensus, or the honest ones
    matches = [oracle.oracle_matches(revealed[a], consensus) if a in revealed else 0 for a in post.committers]
    fraud = _watch(wire, post, revealed, weights, q, k, matches if recount else None)
    _check_query_fraud(fraud, wire, wrong, revealed, weights, q, k)


@settings(max_examples=150, deadline=None)
@given(rounds(), st.data())
def test_batches_fit_the_limit_and_refute_only_together(game, data):
    committers, revealed, weights, q, k = game
    post = opt.honest_post(committers, revealed, weights, q, k)
    j = data.draw(st.integers(0, q - 1))
    consensus = bytearray(post.consensus)
    consensus[j] = (consensus[j] + data.draw(st.integers(1, k - 1))) % k
    wire = pack_labels(bytes(consensus), k)
    d = opt.tree_depth(len(wire))
    per_batch = data.draw(st.integers(1, 3))
    limit = _proof_bytes(per_batch, d) + data.draw(st.integers(0, 32 * (2 + d) - 1))
    fraud = _watch(wire, post, revealed, weights, q, k, max_proof_bytes=limit)
    _check_query_fraud(fraud, wire, [j], revealed, weights, q, k, max_bytes=limit)
    assert all(len(batch) == per_batch for batch in fraud.batches[:-1]) and 1 <= len(fraud.batches[-1]) <= per_batch


@pytest.mark.parametrize("posted, alt, needed", [(3, 1, 5), (1, 3, 6)])
@pytest.mark.parametrize("per_batch, batches", [(1, None), (2, None), (100, 1)])
def test_a_known_margin_needs_a_known_number_of_records(posted, alt, needed, per_batch, batches):
    """Ten equal voters, six for `alt` and four for `posted`: each alt record moves A - (W - B) by 2 from -10, so
    five reach a tie (enough only when alt < posted) and six beat it."""
    voters = [_address(i) for i in range(10)]
    revealed = {a: bytes([alt if i < 6 else posted]) for i, a in enumerate(voters)}
    weights = {a: 1 for a in voters}
    post = opt.honest_post(voters, revealed, weights, 1, 4)
    assert post.consensus == bytes([alt])
    wire = pack_labels(bytes([posted]), 4)
    limit = _proof_bytes(per_batch, 0)
    fraud = _watch(wire, post, revealed, weights, 1, 4, max_proof_bytes=limit)
    assert (fraud.query, fraud.alt, fraud.posted) == (0, alt, posted)
    assert len(fraud.records) == needed and len(fraud.batches) == (batches or -(-needed // per_batch))
    alt_voters = sorted((a for a in voters if revealed[a] == bytes([alt])), key=lambda a: int(a, 16))
    assert [a for a, _c, _p in fraud.records] == alt_voters[:needed]
    assert _judge(fraud, wire, revealed, weights, 4) == len(fraud.batches) - 1
    assert oracle.oracle_refutes(oracle.oracle_labels_root(wire), 0, alt, fraud.consensus_chunk, fraud.consensus_proof,
                                 [fraud.records[:-1]], {a: oracle.oracle_labels_root(oracle.pack_labels(v, 4))
                                                        for a, v in revealed.items()}, weights, 4) is None


def test_the_greedy_takes_alt_voters_first_and_stops_as_soon_as_the_rule_holds():
    # W = 10: label 0 has 4, label 1 has 3, label 2 has 3; a post of 2 is refuted with alt 0
    votes, weights = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2], [1] * 10
    chosen = opt.fewest_voters(votes, weights, 2, 0)
    assert chosen == [0, 1, 2, 3, 4, 5]  # four alt records: -10 + 8 = -2; two others reach the tie, and 0 < 2
    assert len(chosen) == oracle.oracle_fewest_records(votes, weights, 2, 0)
    assert opt.fewest_voters(votes, weights, 0, 1) is None  # 0 is the plurality: nothing refutes it
    assert opt.fewest_voters([1, 2], [1, 1], 2, 1) == [0]  # a tie, and alt 1 < posted 2
    assert opt.fewest_voters([2, 1], [1, 1], 1, 2) is None  # a tie, but alt 2 > posted 1: 1 is the plurality
    assert opt.fewest_voters([1, 3, 0], [1, 5, 1], 0, 3) == [1]  # the heavy voter alone: 2 * 5 - 7 > 0
    with pytest.raises(ValueError, match="alt 2 is the posted label"):
        opt.fewest_voters([2, 1], [1, 1], 2, 2)


def test_a_tie_posted_for_the_larger_label_is_refuted_and_for_the_smaller_is_not():
    a, b = _address(1), _address(2)
    revealed, weights = {a: bytes([5, 2]), b: bytes([2, 5])}, {a: 3, b: 3}
    post = opt.honest_post([a, b], revealed, weights, 2, 10)
    assert post.consensus == bytes([2, 2])
    assert _watch(post.consensus_wire, post, revealed, weights, 2, 10) is None
    wire = pack_labels(bytes([2, 5]), 10)
    fraud = _watch(wire, post, revealed, weights, 2, 10)
    assert (fraud.query, fraud.alt, fraud.posted) == (1, 2, 5)
    assert [r[0] for r in fraud.records] == [a]  # one record: a's 2 ties b's 5, and 2 < 5
    assert _judge(fraud, wire, revealed, weights, 10) == 0


@pytest.mark.parametrize("q, k, at, byte, message", [
    (3, 10, 1, 0xC0, "label 12 at index 2 is not below K=10"),
    (3, 17, 2, 200, "label 200 at index 2 is not below K=17"),
    (3, 10, 1, 0x11, "the padding nibble after label 2 is 1, not 0"),
])
def test_a_consensus_that_is_not_a_valid_reveal_is_a_value_error(q, k, at, byte, message):
    """propose checks the consensus as reveal checks labels: such a post never reaches a watcher."""
    a, b = _address(1), _address(2)
    revealed, weights = {a: bytes([1, 0, 1]), b: bytes([0, 1, 1])}, {a: 2, b: 1}
    post = opt.honest_post([a, b], revealed, weights, q, k)
    wire = bytearray(post.consensus_wire)
    wire[at] = byte
    with pytest.raises(ValueError, match="the posted consensus is not a valid reveal: " + message):
        _watch(bytes(wire), post, revealed, weights, q, k)


def test_a_wrong_count_for_a_revealer_is_a_match_fraud():
    rng = np.random.default_rng(5)
    committers, revealed, weights = _random_round(rng, 6, 40, 5, non_revealers=2)
    post = opt.honest_post(committers, revealed, weights, 40, 5)
    index = next(i for i, a in enumerate(post.committers) if a in revealed and post.matches[i] > 0)
    wrong = list(post.matches)
    wrong[index] -= 1
    fraud = _watch(post.consensus_wire, post, revealed, weights, 40, 5, wrong)
    address = post.committers[index]
    assert fraud == opt.MatchFraud(index, address, oracle.pack_labels(revealed[address], 5),
                                   oracle.oracle_matches(revealed[address], post.consensus), post.matches[index] - 1)


def test_a_count_for_a_non_revealer_is_a_match_fraud_and_the_first_wrong_count_is_reported():
    rng = np.random.default_rng(6)
    committers, revealed, weights = _random_round(rng, 4, 30, 17, non_revealers=3)
    post = opt.honest_post(committers, revealed, weights, 30, 17)
    silent = [i for i, a in enumerate(post.committers) if a not in revealed]
    later = max(i for i, a in enumerate(post.committers) if a in revealed)
    wrong = list(post.matches)
    wrong[silent[-1]], wrong[later] = 3, wrong[later] + 1
    fraud = _watch(post.consensus_wire, post, revealed, weights, 30, 17, wrong)
    first = min(silent[-1], later)
    assert fraud.committer_index == first and fraud.address == post.committers[first]
    if first == silent[-1]:
        assert (fraud.labels_wire, fraud.true_matches, fraud.posted_matches) == (b"", 0, 3)
    else:
        assert fraud.labels_wire == oracle.pack_labels(revealed[post.committers[later]], 17)


@FAST
@given(rounds(), st.data())
def test_one_wrong_count_under_the_right_consensus_is_found(game, data):
    committers, revealed, weights, q, k = game
    post = opt.honest_post(committers, revealed, weights, q, k)
    index = data.draw(st.integers(0, len(post.committers) - 1))
    wrong = list(post.matches)
    wrong[index] = (wrong[index] + data.draw(st.integers(1, 65535))) % 65536
    fraud = _watch(post.consensus_wire, post, revealed, weights, q, k, wrong)
    address = post.committers[index]
    labels = revealed.get(address)
    true = oracle.oracle_matches(labels, post.consensus) if labels is not None else 0
    wire = oracle.pack_labels(labels, k) if labels is not None else b""
    assert fraud == opt.MatchFraud(index, address, wire, true, wrong[index])


def test_a_wrong_consensus_is_reported_before_a_wrong_count():
    rng = np.random.default_rng(7)
    committers, revealed, weights = _random_round(rng, 5, 20, 3, non_revealers=1)
    post = opt.honest_post(committers, revealed, weights, 20, 3)
    consensus = bytearray(post.consensus)
    consensus[11] = (consensus[11] + 1) % 3
    wire = pack_labels(bytes(consensus), 3)
    wrong = [m + 1 for m in post.matches]
    fraud = _watch(wire, post, revealed, weights, 20, 3, wrong)
    _check_query_fraud(fraud, wire, [11], revealed, weights, 20, 3)


@pytest.mark.parametrize("change, message", [
    (lambda c, m, kw: (c[::-1], m, kw), "not strictly ascending"),
    (lambda c, m, kw: (c[:1] + c, m[:1] + m, kw), "not strictly ascending"),
    (lambda c, m, kw: (c[1:], m[1:], kw), "not among the posted committers"),
    (lambda c, m, kw: (c[:-1], m[:-1], {"committers": c}), "not exactly the round's committers"),
    (lambda c, m, kw: (c, m, {"committers": c[:-1]}), "not exactly the round's committers"),
    (lambda c, m, kw: (c, m[:-1], kw), "2 match counts for 3 committers"),
    (lambda c, m, kw: (c, m, {"max_proof_bytes": 100}), None),  # only a query fraud needs the room
])
def test_a_post_the_contract_refuses_at_propose_is_a_value_error(change, message):
    a, b, c = sorted((_address(1), _address(2), _address(3)), key=lambda x: int(x, 16))
    revealed, weights = {a: bytes([1, 0, 1])}, {a: 1}
    post = opt.honest_post([a, b, c], revealed, weights, 3, 2)
    committers, matches, kw = change(list(post.committers), list(post.matches), {})
    if message is None:
        assert opt.find_fraud(post.consensus_wire, committers, matches, revealed, weights, 3, 2, **kw) is None
        return
    with pytest.raises(ValueError, match=message):
        opt.find_fraud(post.consensus_wire, committers, matches, revealed, weights, 3, 2, **kw)


def test_a_consensus_of_the_wrong_length_or_a_limit_without_room_is_a_value_error():
    a = _address(1)
    post = opt.honest_post([a], {a: bytes([1, 0, 1])}, {a: 1}, 3, 2)
    with pytest.raises(ValueError, match="the posted consensus is 3 bytes, expected 2 for Q=3, K=2"):
        opt.find_fraud(post.consensus_wire + b"\0", post.committers, post.matches, {a: bytes([1, 0, 1])}, {a: 1}, 3, 2)
    with pytest.raises(ValueError, match="fits no record; one needs 464"):
        opt.find_fraud(bytes([0x00, 0x00]), post.committers, post.matches, {a: bytes([1, 0, 1])}, {a: 1}, 3, 2,
                       max_proof_bytes=463)
