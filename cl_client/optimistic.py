"""The optimistic settlement tier in Python: the labels' Merkle layout, an honest proposer's post, and the
watcher that finds a fraud in someone else's post.

A bonded proposer posts the consensus (the contract stores its root; the bytes travel in calldata) and every
committer's match count; anyone refutes a wrong post with a one-query fraud proof (`QueryFraud`) or a
one-revealer match-count proof (`MatchFraud`). Every revealer's labels are stored as the root of the same tree
over its wire bytes (`cl_client.commitment.pack_labels`); the consensus is hashed in the same wire encoding.

The tree over `wire` (L >= 1 bytes), byte for byte what the contract computes:

    n = ceil(L / 32) chunks; chunk i = wire[32i : 32i + 32], the last right-padded with zero bytes to 32
    d = (n - 1).bit_length()                 (d = 0 when n == 1: the root is chunk 0 itself)
    leaves: the n chunks (raw, not hashed), then 2^d - n all-zero 32-byte leaves
    parent = keccak256(left || right)
    proof of chunk i: d siblings from the leaf level up; at level l the node is (i >> l), its sibling
                      (i >> l) ^ 1, and the node is the left input when bit l of i is 0

The label of query j lives in byte o = j >> 1 (high nibble for an even j, low for an odd one) when K <= 16,
else in byte o = j; that is byte o & 31 of chunk o >> 5.

The fraud rule the contract checks for query j, posted label c and a claimed better label alt != c: over
records (revealer, its chunk holding j, the chunk's proof), strictly ascending by address (uint160) across all
of a proof's transactions, A += w if the revealer's label is alt and B += w if it is not c; W is the total
tally weight of the revealers. The post is refuted at j iff A > W - B, or A == W - B and alt < c.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
from eth_utils import keccak

from . import protocol
from .commitment import is_packed, label_bytes, pack_labels, unpack_labels

CHUNK_BYTES = 32
PROOF_FIXED_BYTES = 400  # a proof transaction's calldata besides its records and the consensus proof
MATCH_MAX = 2**16 - 1  # a posted match count is 2 bytes


# ---------------------------------------------------------------------------------------------- the tree


def chunk_count(num_bytes: int) -> int:
    """n = ceil(L / 32): how many 32-byte chunks hold `num_bytes` (>= 1) bytes."""
    if int(num_bytes) < 1:
        raise ValueError(f"a labels tree holds at least 1 byte, got {num_bytes}")
    return (int(num_bytes) + CHUNK_BYTES - 1) // CHUNK_BYTES


def tree_depth(num_bytes: int) -> int:
    """d = (n - 1).bit_length(): the number of siblings in a chunk's proof (0 for a single chunk)."""
    return (chunk_count(num_bytes) - 1).bit_length()


def chunks(wire: bytes) -> list[bytes]:
    """The tree's n leaves before padding: 32-byte slices of `wire`, the last right-padded with zeros."""
    wire = bytes(wire)
    n = chunk_count(len(wire))
    return [wire[CHUNK_BYTES * i:CHUNK_BYTES * (i + 1)].ljust(CHUNK_BYTES, b"\0") for i in range(n)]


def _levels(wire: bytes) -> list[list[bytes]]:
    """Every level of the tree, the leaves first, each but the root of even length: a level of odd length
    gets the root of an all-zero subtree of its height (what the 2^d - n zero leaves hash to)."""
    level, zero = chunks(wire), bytes(CHUNK_BYTES)
    levels = []
    for _ in range(tree_depth(len(wire))):
        if len(level) % 2:
            level.append(zero)
        levels.append(level)
        level = [keccak(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        zero = keccak(zero + zero)
    levels.append(level)
    return levels


def labels_root(wire: bytes) -> bytes:
    """The 32-byte root the contract stores for `wire` (a revealer's packed labels, or the consensus)."""
    return _levels(wire)[-1][0]


def chunk_proof(wire: bytes, chunk_index: int) -> list[bytes]:
    """The d siblings that prove chunk `chunk_index` of `wire` against labels_root(wire), leaf level first."""
    i, n = int(chunk_index), chunk_count(len(wire))
    if not 0 <= i < n:
        raise ValueError(f"chunk {chunk_index} is not in 0..{n - 1} for {len(wire)} bytes")
    return [level[(i >> height) ^ 1] for height, level in enumerate(_levels(wire)[:-1])]


def verify_chunk(root: bytes, chunk: bytes, chunk_index: int, proof: Sequence[bytes]) -> bool:
    """Whether `proof` (d siblings, leaf level first) proves `chunk` at `chunk_index` against `root`. An index
    that does not fit in d bits, or a chunk or sibling that is not 32 bytes, does not verify."""
    i = int(chunk_index)
    if i < 0 or i >> len(proof) or len(chunk) != CHUNK_BYTES or any(len(s) != CHUNK_BYTES for s in proof):
        return False
    node = bytes(chunk)
    for height, sibling in enumerate(proof):
        node = keccak(node + bytes(sibling)) if not (i >> height) & 1 else keccak(bytes(sibling) + node)
    return node == bytes(root)


def _label_byte(j: int, num_classes: int) -> int:
    """o: the wire byte that holds query j's label (j >> 1 when packed, else j)."""
    if int(j) < 0:
        raise ValueError(f"query {j} is negative; queries are 0..Q-1")
    return int(j) >> 1 if is_packed(num_classes) else int(j)


def query_chunk_index(j: int, num_classes: int) -> int:
    """The chunk that holds query j's label: o >> 5."""
    return _label_byte(j, num_classes) >> 5


def label_in_chunk(chunk: bytes, j: int, num_classes: int) -> int:
    """Query j's label read from its chunk: byte o & 31, its high nibble for an even j and its low nibble for
    an odd one when K <= 16, else the whole byte."""
    b = bytes(chunk)[_label_byte(j, num_classes) & 31]
    if not is_packed(num_classes):
        return b
    return b >> 4 if int(j) % 2 == 0 else b & 0x0F


# ---------------------------------------------------------------------------------------------- the post


def matches_bytes(counts: Iterable[int]) -> bytes:
    """The posted match counts: 2 bytes big-endian per committer, in the post's committer order."""
    counts = [int(m) for m in counts]
    bad = [m for m in counts if not 0 <= m <= MATCH_MAX]
    if bad:
        raise ValueError(f"match count {bad[0]} does not fit in 2 bytes; counts are 0..{MATCH_MAX}")
    return b"".join(m.to_bytes(2, "big") for m in counts)


def matches_from_bytes(data: bytes) -> list[int]:
    """The match counts back from their 2-byte big-endian wire form (inverse of matches_bytes)."""
    data = bytes(data)
    if len(data) % 2:
        raise ValueError(f"{len(data)} bytes of match counts; each count is 2 bytes")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


@dataclass(frozen=True)
class Post:
    """What an honest proposer posts: the committers ascending by address (uint160), the consensus (one byte
    per query, and its wire form), each committer's match count (0 for a non-revealer) and the root the
    contract stores for the consensus."""

    committers: tuple[str, ...]
    consensus: bytes
    consensus_wire: bytes
    matches: tuple[int, ...]
    root: bytes

    def matches_wire(self) -> bytes:
        """The match counts as posted: 2 bytes big-endian per committer."""
        return matches_bytes(self.matches)


def _by_address(addresses: Iterable[str]) -> list[str]:
    """`addresses` sorted ascending by their uint160 value; ValueError on a repeat (in any spelling)."""
    out = sorted(addresses, key=lambda a: int(a, 16))
    for prev, cur in zip(out, out[1:]):
        if int(prev, 16) == int(cur, 16):
            raise ValueError(f"address {cur} appears twice; each address commits and reveals once")
    return out


def _round_rows(committers: Sequence[str], revealed: Mapping[str, bytes], weights: Mapping[str, int],
                num_queries: int, num_classes: int) -> tuple[list[str], np.ndarray, list[int]]:
    """The revealers (ascending by address), their labels as a (revealers, Q) array and their tally weights;
    ValueError for a revealer that did not commit, lacks a weight or revealed the wrong number of labels."""
    q, k = int(num_queries), int(num_classes)
    if q < 1:
        raise ValueError(f"a round has at least 1 query, got Q={num_queries}")
    if not protocol.LIMITS.min_classes <= k <= protocol.LIMITS.max_classes:
        raise ValueError(f"K={num_classes} is not in {protocol.LIMITS.min_classes}..{protocol.LIMITS.max_classes}")
    if not revealed:
        raise ValueError("no revealers: a round without reveals has no consensus to post")
    committed = {int(a, 16) for a in committers}
    labels = {int(a, 16): bytes(row) for a, row in revealed.items()}
    weight = {int(a, 16): int(w) for a, w in weights.items()}
    order = _by_address(revealed)
    for a in order:
        if int(a, 16) not in committed:
            raise ValueError(f"revealer {a} is not among the committers; only committers reveal")
        if int(a, 16) not in weight:
            raise ValueError(f"revealer {a} has no tally weight; pass one for every revealer")
        if weight[int(a, 16)] < 0:
            raise ValueError(f"revealer {a} has weight {weight[int(a, 16)]}; tally weights are non-negative")
        if len(labels[int(a, 16)]) != q:
            raise ValueError(f"revealer {a} has {len(labels[int(a, 16)])} labels, expected one per query (Q={q})")
    rows = np.array([np.frombuffer(labels[int(a, 16)], dtype=np.uint8) for a in order], dtype=np.int64)
    return order, rows, [weight[int(a, 16)] for a in order]


def honest_post(committers: Iterable[str], revealed: Mapping[str, bytes], weights: Mapping[str, int],
                num_queries: int, num_classes: int) -> Post:
    """The post an honest proposer sends: the weighted plurality of the revealers (`revealed`: address ->
    labels, one byte per query; `weights`: address -> tally weight), ties to the smallest label, and per
    committer (ascending by address) its matches against it, 0 for one that did not reveal."""
    committers = _by_address(committers)
    order, rows, w = _round_rows(committers, revealed, weights, num_queries, num_classes)
    consensus = protocol.plurality(rows, num_classes, w)
    counts = dict(zip((int(a, 16) for a in order), protocol.matches(rows, consensus).tolist()))
    consensus_bytes = bytes(consensus.astype(np.uint8).tolist())
    wire = pack_labels(consensus_bytes, num_classes)
    return Post(tuple(committers), consensus_bytes, wire, tuple(counts.get(int(a, 16), 0) for a in committers),
                labels_root(wire))


# ---------------------------------------------------------------------------------------------- frauds

Record = tuple[str, bytes, list[bytes]]  # (revealer address, its chunk holding query j, the chunk's proof)


@dataclass(frozen=True)
class QueryFraud:
    """A one-query fraud proof: at `query` the post says `posted`, and the weight of `batches`' records (one
    list per transaction, together strictly ascending by address) shows `alt` beats it. `consensus_chunk` and
    `consensus_proof` prove the posted label against the post's root."""

    query: int
    alt: int
    posted: int
    consensus_chunk: bytes
    consensus_proof: list[bytes]
    batches: list[list[Record]]

    @property
    def records(self) -> list[Record]:
        """Every record, in the order the transactions send them."""
        return [record for batch in self.batches for record in batch]


@dataclass(frozen=True)
class MatchFraud:
    """A one-committer match-count proof: committer `committer_index` of the post (`address`) has
    `true_matches` against the posted consensus, not `posted_matches`. `labels_wire` is its revealed wire
    (b"" for a committer that did not reveal: its count must be 0, which the contract reads from storage)."""

    committer_index: int
    address: str
    labels_wire: bytes
    true_matches: int
    posted_matches: int


def refutes(alt_weight: int, not_posted_weight: int, total_weight: int, alt: int, posted: int) -> bool:
    """The fraud rule: A = `alt_weight`, B = `not_posted_weight`, W = `total_weight`; refuted iff A > W - B, or
    A == W - B and alt < c (the plurality's tie goes to the smaller label)."""
    if int(alt) == int(posted):
        raise ValueError(f"alt {alt} is the posted label; a fraud proof claims a different one")
    rest = int(total_weight) - int(not_posted_weight)
    return int(alt_weight) > rest or (int(alt_weight) == rest and int(alt) < int(posted))


def proof_bytes(num_records: int, depth: int) -> int:
    """The calldata estimate of one proof transaction: per record 32 B address + 32 B chunk + 32 d B siblings,
    plus 32 d B for the consensus proof and PROOF_FIXED_BYTES."""
    return PROOF_FIXED_BYTES + CHUNK_BYTES * int(depth) + int(num_records) * CHUNK_BYTES * (2 + int(depth))


def fewest_voters(votes: Sequence[int], weights: Sequence[int], posted: int, alt: int) -> list[int] | None:
    """Indices of the fewest voters whose records refute `posted` with `alt` (None if all of them do not):
    only voters not for `posted` count; an alt-voter moves A - (W - B) by 2w, any other by w; take the largest
    moves first (ties: the lower index) until the rule holds. No smaller set does."""
    total = sum(int(w) for w in weights)
    gains = [((2 * int(w) if v == alt else int(w)), i) for i, (v, w) in enumerate(zip(votes, weights)) if v != posted]
    gains.sort(key=lambda gi: -gi[0])  # stable: equal gains stay in index order
    alt_weight = not_posted = 0
    chosen: list[int] = []
    for _gain, i in gains:
        if refutes(alt_weight, not_posted, total, alt, posted):
            break
        chosen.append(i)
        not_posted += int(weights[i])
        alt_weight += int(weights[i]) if votes[i] == alt else 0
    return chosen if refutes(alt_weight, not_posted, total, alt, posted) else None


def _batches(records: list[Record], depth: int, max_proof_bytes: int) -> list[list[Record]]:
    """`records` split in order into as few transactions as fit `max_proof_bytes` each (one empty batch for
    no records)."""
    per_batch = (int(max_proof_bytes) - proof_bytes(0, depth)) // (CHUNK_BYTES * (2 + depth))
    if per_batch < 1:
        raise ValueError(f"max_proof_bytes={max_proof_bytes} fits no record; one needs {proof_bytes(1, depth)}")
    return [records[i:i + per_batch] for i in range(0, len(records), per_batch)] or [[]]


def _check_post(post_committers: Sequence[str], post_matches: Sequence[int], revealed: Mapping[str, bytes],
                committers: Iterable[str] | None) -> None:
    """ValueError for a committer list or match counts the contract refuses at propose."""
    values = [int(a, 16) for a in post_committers]
    for pos in range(1, len(values)):
        if values[pos] <= values[pos - 1]:
            raise ValueError(f"posted committer {post_committers[pos]} at position {pos} is not strictly "
                             f"ascending by address; post the committers sorted, each once")
    if committers is not None and sorted(int(a, 16) for a in committers) != values:
        raise ValueError("the posted committers are not exactly the round's committers; post every committer once")
    listed = set(values)
    missing = [a for a in revealed if int(a, 16) not in listed]
    if missing:
        raise ValueError(f"revealer {missing[0]} is not among the posted committers; post every committer")
    if len(post_matches) != len(values):
        raise ValueError(f"{len(post_matches)} match counts for {len(values)} committers; post one per committer")


def find_fraud(post_consensus_wire: bytes, post_committers: Sequence[str], post_matches: Sequence[int],
               revealed: Mapping[str, bytes], weights: Mapping[str, int], num_queries: int, num_classes: int, *,
               max_proof_bytes: int = 120_000,
               committers: Iterable[str] | None = None) -> QueryFraud | MatchFraud | None:
    """The watcher: a fraud proof against a post, or None if the post is the honest one.

    A query fraud first, if the posted consensus differs from the true plurality anywhere: at the wrong query
    whose `fewest_voters` set is smallest (ties: the smallest query), alt = the true plurality label there, its
    records sorted by address and split into transactions of at most `max_proof_bytes` (`proof_bytes`).
    Otherwise a match fraud for the first committer whose posted count is not its matches against the posted
    consensus (0 for a non-revealer). `committers` (the round's committers, if known) also checks that the post
    lists exactly them; without it, the post's list is checked to be strictly ascending and to hold every
    revealer. ValueError for a post the contract refuses at propose: a wrong committer list, a count per
    committer missing, a consensus that is not a valid reveal (wrong length, a label >= K, a non-zero padding
    nibble). A wrong count the contract also refuses at propose (> Q for a revealer, not 0 for a non-revealer)
    is still reported as a MatchFraud.
    """
    q, k = int(num_queries), int(num_classes)
    wire = bytes(post_consensus_wire)
    _check_post(post_committers, post_matches, revealed, committers)
    order, rows, w = _round_rows(post_committers, revealed, weights, q, k)
    if len(wire) != label_bytes(q, k):
        raise ValueError(f"the posted consensus is {len(wire)} bytes, expected {label_bytes(q, k)} for Q={q}, K={k}")
    try:
        labels = unpack_labels(wire, k, q)  # propose checks the consensus as reveal checks labels
    except ValueError as e:
        raise ValueError(f"the posted consensus is not a valid reveal: {e}") from None
    posted = np.frombuffer(labels, dtype=np.uint8).astype(np.int64)
    truth = protocol.plurality(rows, k, w)
    wrong = np.nonzero(posted != truth)[0].tolist()
    if wrong:
        return _query_fraud(wire, order, rows, w, posted, truth, wrong, k, max_proof_bytes, post_committers)
    counts = dict(zip((int(a, 16) for a in order), protocol.matches(rows, posted).tolist()))
    by_value = {int(a, 16): bytes(labels) for a, labels in revealed.items()}
    for index, (address, claimed) in enumerate(zip(post_committers, post_matches)):
        true = counts.get(int(address, 16), 0)
        if int(claimed) != true:
            labels = by_value.get(int(address, 16))
            return MatchFraud(index, address, b"" if labels is None else pack_labels(labels, k), true, int(claimed))
    return None


def _query_fraud(wire: bytes, order: list[str], rows: np.ndarray, w: list[int], posted: np.ndarray,
                 truth: np.ndarray, wrong: list[int], k: int, max_proof_bytes: int,
                 post_committers: Sequence[str]) -> QueryFraud:
    """The QueryFraud at the wrong query with the fewest records (ties: the smallest query)."""
    best = None
    for j in wrong:
        chosen = fewest_voters(rows[:, j].tolist(), w, int(posted[j]), int(truth[j]))
        if best is None or len(chosen) < len(best[1]):
            best = (j, chosen)
    j, chosen = best
    canonical = {int(a, 16): a for a in post_committers}
    index = query_chunk_index(j, k)
    records = []
    for i in sorted(chosen, key=lambda i: int(order[i], 16)):
        revealer_wire = pack_labels(bytes(rows[i].astype(np.uint8).tolist()), k)
        records.append((canonical[int(order[i], 16)], chunks(revealer_wire)[index], chunk_proof(revealer_wire, index)))
    return QueryFraud(j, int(truth[j]), int(posted[j]), chunks(wire)[index], chunk_proof(wire, index),
                      _batches(records, tree_depth(len(wire)), max_proof_bytes))
