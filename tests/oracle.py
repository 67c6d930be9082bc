"""The tests' one independent oracle of the protocol's rules (contract v2, issue 13): what finalize(),
abandon() and claim() decide, restated from docs/protocol.md and IConsensusLearning.sol without importing
cl_client's implementation of them (cl_client.protocol).

Contract tests compare the contract with it; client, simulation and live tests compare cl_client and the
on-chain results with it. Any other test that needs "the plurality" or "the settlement" imports it from
here -- no test re-types a rule.

    plurality(rows, weights, q, k)          weighted plurality per query, ties to the smallest label
    mode_count(consensus, k)                M: how often the consensus's most frequent label occurs
    agrees(matches, q, bps, mode)           chance-corrected agreement
    audit_hits(labels, indices, known)      audit queries answered right
    audit_passes(hits, g, bound_bps)        hits * BPS >= bound * G
    penalty(stake, bps) / ceil_penalty      the slash, rounded up
    reputation_score / next_reputation      a judged committer's score and the reputation update
    check_params(params, bounds)            the first bound a Params breaks, as the contract reports it
    settle(params, q, k, reward, ...)       the whole settlement: quorum, audit, consensus, scores,
                                            penalties (pooled / burned), shares, refund, dust, fee
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from eth_abi import encode as abi_encode
from eth_utils import keccak

BPS = 10_000

# The contract's public constants, restated (pinned against the deployed contract in
# tests/contract/test_protocol_constants.py).
CONSTANTS = {
    "MAX_QUERIES": 4096,
    "MAX_PARTICIPANTS": 64,
    "MAX_LABELS": 53_248,
    "MIN_PHASE_DURATION": 36,
    "MAX_PHASE_DURATION": 7 * 24 * 3600,
    "MAX_AUDIT_QUERIES": 128,
    "AUDIT_FORFEIT_BPS": 2_000,
    "ABANDON_DELAY": 3 * 24 * 3600,
    "BOUNDS_DELAY": 28 * 24 * 3600,
    "MAX_PENDING_WITHDRAWALS": 8,
    "MIN_QUORUM_BPS": 1_000,
    "MAX_AGREEMENT_BPS": 7_000,
    "MAX_SLASH_BPS": 5_000,
    "MAX_MIN_STAKE": 10_000 * 10**18,
    "MAX_UNBONDING_DELAY": 30 * 24 * 3600,
    "REPUTATION_START": 1_000,
    "REPUTATION_FLOOR": 100,
    "REPUTATION_RATE": 3_000,
    "AGREEMENT_SIGMAS": 2,
    "CROWD_STRIKE_BPS": 2_500,
    "CROWD_REPEAT_STRIKES": 1,
    "SUBMISSION_SLOTS": 16,
    "PACKED_MAX_CLASSES": 16,
    "MAX_OPTIMISTIC_QUERIES": 65_535,
    "MAX_OPTIMISTIC_PARTICIPANTS": 2048,
    "MAX_OPTIMISTIC_LABEL_BYTES": 64_000,
    "POST_GAS_BUDGET": 15_500_000,
    "POST_GAS_BASE": 400_000,
    "POST_GAS_PER_COMMITTER": 9_000,
    "POST_GAS_PER_PACKED_LABEL": 70,
    "POST_GAS_PER_BYTE_LABEL": 170,
    "MIN_CHALLENGE_WINDOW": 36,
    "MAX_CHALLENGE_WINDOW": 30 * 24 * 3600,
    "REFUTER_SHARE_BPS": 5_000,
}
GAS_CAP = 2**24  # EIP-7825: the most gas one transaction may use


class Phase(IntEnum):
    """IConsensusLearning.Phase, restated (Audit is numbered last)."""

    NONE = 0
    COMMIT = 1
    REVEAL = 2
    FINALIZABLE = 3
    FINALIZED = 4
    FAILED = 5
    AUDIT = 6
    PROPOSED = 7


class Status(IntEnum):
    """IConsensusLearning.Status, restated (the oracle's own copy)."""

    NONE = 0
    COMMITTED = 1
    REVEALED = 2
    AGREED = 3
    DEVIATED = 4
    EXCLUDED = 5


@dataclass(frozen=True)
class Params:
    """IConsensusLearning.Params, in ABI order."""

    quorumBps: int = 5_000
    minRevealers: int = 3
    agreementBps: int = 500
    deviatorSlashBps: int = 1_000
    nonRevealSlashBps: int = 2_000
    auditBoundBps: int = 3_000
    auditSlashBps: int = 0
    crowdBps: int = 4_000
    equalWeights: bool = False
    minStake: int = 10**16

    def astuple(self) -> tuple:
        return (self.quorumBps, self.minRevealers, self.agreementBps, self.deviatorSlashBps,
                self.nonRevealSlashBps, self.auditBoundBps, self.auditSlashBps, self.crowdBps, self.equalWeights,
                self.minStake)

    def replace(self, **changes) -> "Params":
        return Params(**{**self.__dict__, **changes})


@dataclass(frozen=True)
class Bounds:
    """IConsensusLearning.Bounds, in ABI order."""

    minQuorumBps: int = 1_000
    maxAgreementBps: int = 5_000
    maxSlashBps: int = 2_000
    maxAuditBoundBps: int = 9_000
    allowEqualWeights: bool = True
    minStakeFloor: int = 10**15
    minStakeCeiling: int = 10_000 * 10**18

    def astuple(self) -> tuple:
        return (self.minQuorumBps, self.maxAgreementBps, self.maxSlashBps, self.maxAuditBoundBps,
                self.allowEqualWeights, self.minStakeFloor, self.minStakeCeiling)

    def replace(self, **changes) -> "Bounds":
        return Bounds(**{**self.__dict__, **changes})


DEFAULTS = Params()
DEFAULT_BOUNDS = Bounds()


def check_params(p: Params, b: Bounds = DEFAULT_BOUNDS) -> tuple | None:
    """The first rule `p` breaks under `b`, as (name, value, min, max) of ParameterOutOfBounds; None if ok.

    Order: quorum, minRevealers, agreement, audit bound, crowd, nonReveal >= max(deviator, audit) and <= maxSlash,
    minStake, then equal weights (allowed, and deviatorSlashBps == 0).
    """
    slash_floor = max(p.deviatorSlashBps, p.auditSlashBps)
    checks = [
        ("quorumBps", p.quorumBps, b.minQuorumBps, BPS),
        ("minRevealers", p.minRevealers, 1, CONSTANTS["MAX_PARTICIPANTS"]),
        ("agreementBps", p.agreementBps, 0, b.maxAgreementBps),
        ("auditBoundBps", p.auditBoundBps, 0, b.maxAuditBoundBps),
        ("crowdBps", p.crowdBps, 0, BPS),
        ("nonRevealSlashBps", p.nonRevealSlashBps, slash_floor, b.maxSlashBps),
        ("minStake", p.minStake, b.minStakeFloor, b.minStakeCeiling),
    ]
    if p.equalWeights:
        checks += [("equalWeights", 1, 0, 1 if b.allowEqualWeights else 0),
                   ("deviatorSlashBps", p.deviatorSlashBps, 0, 0)]
    for name, v, lo, hi in checks:
        if v < lo or v > hi:
            return (name, v, lo, hi)
    return None


def ceil_penalty(stake: int, bps: int) -> int:
    return -(-stake * bps // BPS)


def penalty(stake: int, bps: int) -> int:
    """ceil(stake * bps / BPS): penalties round up."""
    return ceil_penalty(stake, bps)


def pack_labels(labels: bytes, k: int) -> bytes:
    """Labels as reveal sends them: for K <= PACKED_MAX_CLASSES two per byte (query 2i in the high nibble,
    2i + 1 in the low one, a zero nibble after an odd Q's last), else unchanged. A label that does not fit in
    a nibble raises ValueError (the contract could never receive it)."""
    labels = bytes(labels)
    if k > CONSTANTS["PACKED_MAX_CLASSES"]:
        return labels
    out = bytearray()
    for i in range(0, len(labels), 2):
        hi, lo = labels[i], labels[i + 1] if i + 1 < len(labels) else 0
        if hi > 15 or lo > 15:
            raise ValueError(f"label {max(hi, lo)} does not fit in 4 bits")
        out.append(hi * 16 + lo)
    return bytes(out)


def commitment(chain_id: int, contract: str, rid: int, who: str, labels: bytes, salt: bytes, k: int) -> bytes:
    """keccak256(abi.encode(chainid, contract, roundId, participant, keccak256(packed labels), salt))."""
    return keccak(abi_encode(["uint256", "address", "uint256", "address", "bytes32", "bytes32"],
                             [chain_id, str(contract), rid, str(who), keccak(pack_labels(labels, k)), bytes(salt)]))


def plurality(rows: list[bytes], weights: list[int], q: int, k: int) -> bytes:
    """Weighted plurality per query; ties go to the smallest label."""
    out = bytearray(q)
    for j in range(q):
        tally = [0] * k
        for row, w in zip(rows, weights):
            tally[row[j]] += w
        out[j] = max(range(k), key=lambda label: (tally[label], -label))
    return bytes(out)


def mode_count(consensus: bytes, k: int) -> int:
    """M: how often the consensus's most frequent label occurs (what a query-blind labeller can match)."""
    counts = [0] * k
    for label in consensus:
        counts[label] += 1
    return max(counts) if consensus else 0


def agrees(matches: int, q: int, bps: int, mode: int) -> bool:
    """Agreement: a perfect match; or matches >= M, chance-corrected agreement (matches - M) / (Q - M) >= bps,
    and matches - M at least AGREEMENT_SIGMAS times sqrt(M (Q - M) / Q) (compared squared, in integers)."""
    if matches == q:
        return True
    excess = matches - mode
    sigmas = CONSTANTS["AGREEMENT_SIGMAS"]
    return excess >= 0 and excess * BPS >= bps * (q - mode) and excess ** 2 * q >= sigmas ** 2 * mode * (q - mode)


def min_matches(q: int, bps: int, mode: int) -> int:
    """The fewest matches that agree."""
    return next(m for m in range(mode, q + 1) if agrees(m, q, bps, mode))


def reputation_score(hits: int, g: int) -> int:
    """A revealer's reputation score in bps in a round with a revealed audit of G queries: floor(hits / G)
    (an excluded revealer and a non-revealer score 0; a round without a revealed audit moves no revealer)."""
    return hits * BPS // g


def next_reputation(old: int, score: int) -> int:
    """Close REPUTATION_RATE of the gap to `score`: gains round down, losses round up; at least the floor."""
    rate = CONSTANTS["REPUTATION_RATE"]
    step = (score - old) * rate
    moved = old + (step // BPS if step >= 0 else -((-step + BPS - 1) // BPS))
    return max(moved, CONSTANTS["REPUTATION_FLOOR"])


def audit_hits(labels: bytes, indices, known_labels) -> int:
    """How many audit queries (`indices`, with `known_labels`) `labels` answers right."""
    return sum(labels[i] == want for i, want in zip(indices, known_labels))


def audit_passes(hits: int, g: int, bound_bps: int) -> bool:
    return hits * BPS >= bound_bps * g


def crowd_struck(revealed: dict, indices, known_labels, crowd_bps: int, remembered=frozenset()) -> set:
    """The revealers the crowd rule excludes: those whose wrong audit answers are each given by at least
    max(2, ceil(crowdBps * n / BPS)) of the n revealers (itself included) on at least CROWD_STRIKE_BPS of G,
    and those in `remembered` (struck out the last time they were judged) with CROWD_REPEAT_STRIKES of them."""
    g, n = len(indices), len(revealed)
    if crowd_bps == 0 or g == 0:
        return set()
    need = max(2, (crowd_bps * n + BPS - 1) // BPS)
    out = set()
    for a, labels in revealed.items():
        strikes = 0
        for i, want in zip(indices, known_labels):
            if labels[i] != want and sum(1 for other in revealed.values() if other[i] == labels[i]) >= need:
                strikes += 1
        if strikes * BPS >= CONSTANTS["CROWD_STRIKE_BPS"] * g or (
                a in remembered and strikes >= CONSTANTS["CROWD_REPEAT_STRIKES"]):
            out.add(a)
    return out


@dataclass
class Outcome:
    failed: bool
    consensus: bytes | None = None
    matches: dict = field(default_factory=dict)
    audit_hits: dict = field(default_factory=dict)
    status: dict = field(default_factory=dict)
    penalty: dict = field(default_factory=dict)
    reward: dict = field(default_factory=dict)
    slashed: int = 0  # every penalty the settlement takes (non-revealers, deviators, excluded)
    pooled: int = 0  # RoundSlashes.pooled: penalties that join the pool (burned instead if nobody agreed)
    slash_burned: int = 0  # RoundSlashes.burned: audit penalties, non-revealers' under equal weights
    burned: int = 0  # everything the settlement burns: forfeit + penalties nobody may receive + dust
    forfeit: int = 0  # AUDIT_FORFEIT_BPS of the reward, if the audit was committed and never revealed
    pool: int = 0
    agreed_weight: int = 0
    dust: int = 0
    refund: int = 0  # reward owed back to the requester (failed round, or nobody agreed)
    refundable: bool = False
    fee: int = 0  # the finalizer fee, credited to the settler's free stake
    reputation: dict = field(default_factory=dict)  # {address: reputation after settlement} of those updated
    struck_out: dict = field(default_factory=dict)  # {address: the crowd rule's memory after} of those judged
    books_delta: tuple = (0, 0, 0, 0)  # settlement's change to (totalStake, rewardsOwed, refundsOwed, burned)
    treasury_in: int = 0  # v1 only; always 0 (there is no treasury any more)


def settle(params: Params, q: int, k: int, reward: int, bonus: int = 0, stakes: dict | None = None,
           revealed: dict | None = None, *, audit=None, audit_committed: bool = False, fee: int = 0,
           abandoned: bool = False, reputations: dict | None = None, current: dict | None = None,
           struck_out=frozenset()) -> Outcome:
    """What finalize() (or abandon()) decides and what each claim() credits / takes, computed independently.

    stakes: {address: committed stake} of every committer; revealed: {address: labels} of the revealers.
    audit: (indices, known labels) of a revealed audit, or None. audit_committed: the round had an audit
    that was never revealed (its reward loses AUDIT_FORFEIT_BPS, burned). fee: the finalizer fee.
    abandoned: settled by abandon() (always Failed). `bonus` is v1's treasury bonus; v2 has none (must be 0).
    reputations: {address: reputation at commit} (default REPUTATION_START each): the tally weighs
    weight x that reputation moved one step by this round's revealed audit, the pool weight alone. current: {address: reputation at settlement} (default:
    `reputations`), what the update starts from. out.reputation: finalize() updates every non-revealer
    (score 0) and, when the round is finalized with a revealed audit, every revealer (its audit accuracy; 0
    if excluded); abandon() none. struck_out: the addresses the crowd rule struck out the last time it
    judged them; out.struck_out: the new memory of every revealer of a round finalized with a revealed audit
    and crowdBps != 0 (struck out by the rule this time or not); nobody else's changes.
    """
    assert bonus == 0, "contract v2 has no treasury bonus"
    stakes = stakes or {}
    revealed = revealed or {}
    start = CONSTANTS["REPUTATION_START"]
    reps = {a: (reputations or {}).get(a, start) for a in stakes}
    now = {a: (current or reputations or {}).get(a, start) for a in stakes}
    weight = (lambda a: 1) if params.equalWeights else (lambda a: stakes[a])
    committed_w = sum(weight(a) for a in stakes)
    revealed_w = sum(weight(a) for a in revealed)
    non_revealers = [a for a in stakes if a not in revealed]
    nr_penalty = {a: ceil_penalty(stakes[a], params.nonRevealSlashBps) for a in non_revealers}
    forfeit = reward * CONSTANTS["AUDIT_FORFEIT_BPS"] // BPS if (audit_committed and audit is None) else 0
    net_reward = reward - forfeit
    n = len(revealed)
    order = sorted(revealed, key=lambda a: int(a, 16))
    if audit is not None:
        indices, known = audit
        g = len(indices)
        hits = {a: audit_hits(revealed[a], indices, known) for a in order}
        struck = crowd_struck(revealed, indices, known, params.crowdBps, frozenset(struck_out))
        passed = {a: audit_passes(hits[a], g, params.auditBoundBps) and a not in struck for a in order}
    else:
        hits = {a: 0 for a in order}
        passed = {a: True for a in order}
    quorum = n != 0 and n >= params.minRevealers and revealed_w * BPS >= committed_w * params.quorumBps
    passers = [a for a in order if passed[a]]

    if abandoned or not quorum or not passers:
        out = Outcome(failed=True, refund=net_reward, refundable=True, forfeit=forfeit, fee=fee)
        out.status = {**{a: Status.COMMITTED for a in non_revealers}, **{a: Status.REVEALED for a in revealed}}
        out.penalty = {**nr_penalty, **{a: 0 for a in revealed}}
        out.reward = {a: 0 for a in stakes}
        out.slashed = sum(nr_penalty.values())
        out.burned = out.slashed + forfeit
        out.books_delta = (fee - out.slashed, -fee - reward, net_reward, out.burned)
        if not abandoned:
            out.reputation = {a: next_reputation(now[a], 0) for a in non_revealers}
        assert sum(out.books_delta) == 0
        return out

    # the tally's reputation: at commit, moved one step by this round's audit (if revealed)
    tally_rep = {a: next_reputation(reps[a], reputation_score(hits[a], g)) if audit is not None else reps[a]
                 for a in passers}
    cons = plurality([revealed[a] for a in passers], [weight(a) * tally_rep[a] for a in passers], q, k)
    mode = mode_count(cons, k)
    out = Outcome(failed=False, consensus=cons, forfeit=forfeit, fee=fee)
    pooled, slash_burned = sum(nr_penalty.values()), 0
    if params.equalWeights or audit is not None:  # burned: Sybils (equal weights) or a false audit could take them
        pooled, slash_burned = 0, pooled
    agreed = []
    for a in order:
        m = sum(x == y for x, y in zip(revealed[a], cons))
        out.matches[a] = m
        out.audit_hits[a] = hits[a]
        if not passed[a]:
            out.status[a] = Status.EXCLUDED
            out.penalty[a] = ceil_penalty(stakes[a], params.auditSlashBps)
            slash_burned += out.penalty[a]
        elif agrees(m, q, params.agreementBps, mode):
            out.status[a] = Status.AGREED
            out.penalty[a] = 0
            agreed.append(a)
        else:
            out.status[a] = Status.DEVIATED  # with a revealed audit, passing it keeps the stake
            out.penalty[a] = 0 if audit is not None else ceil_penalty(stakes[a], params.deviatorSlashBps)
            pooled += out.penalty[a]
    for a in non_revealers:
        out.status[a] = Status.COMMITTED
        out.penalty[a] = nr_penalty[a]
    if audit is not None and params.crowdBps:
        out.struck_out = {a: a in struck for a in order}
    for a in stakes:
        if a not in revealed or out.status[a] == Status.EXCLUDED:
            out.reputation[a] = next_reputation(now[a], 0)
        elif audit is not None:
            out.reputation[a] = next_reputation(now[a], reputation_score(hits[a], len(audit[0])))
    out.slashed = sum(out.penalty.values())
    assert out.slashed == pooled + slash_burned
    out.pooled, out.slash_burned = pooled, slash_burned
    out.agreed_weight = sum(weight(a) for a in agreed)
    out.reward = {a: 0 for a in stakes}
    if not agreed:
        out.refundable, out.refund = True, net_reward
        out.burned = forfeit + slash_burned + pooled
        out.books_delta = (fee - out.slashed, -fee - reward, net_reward, out.burned)
    else:
        out.pool = net_reward + pooled
        for a in agreed:
            out.reward[a] = out.pool * weight(a) // out.agreed_weight
        out.dust = out.pool - sum(out.reward.values())
        out.burned = forfeit + slash_burned + out.dust
        out.books_delta = (fee - out.slashed, -fee - forfeit + pooled - out.dust, 0, out.burned)
    assert sum(out.books_delta) == 0
    return out


# ---------------------------------------------------------------------------------------------- optimistic tier
# The labels' Merkle tree and the query fraud rule, restated (docs: cl_client/optimistic.py's docstring):
# leaves are the wire's 32-byte chunks (the last zero-padded), then zero leaves up to a power of two; a parent is
# keccak256(left || right); a single chunk is its own root.


def _oracle_leaves(wire: bytes) -> list[bytes]:
    """The wire's chunks, zero-padded to 32 bytes, then all-zero leaves up to the next power of two."""
    wire = bytes(wire)
    assert wire, "a labels tree holds at least one byte"
    leaves = [wire[i:i + 32] + bytes(32 - len(wire[i:i + 32])) for i in range(0, len(wire), 32)]
    size = 1
    while size < len(leaves):
        size *= 2
    return leaves + [bytes(32)] * (size - len(leaves))


def _oracle_node(leaves: list[bytes]) -> bytes:
    """The root of a power-of-two list of leaves, by halves."""
    if len(leaves) == 1:
        return leaves[0]
    half = len(leaves) // 2
    return keccak(_oracle_node(leaves[:half]) + _oracle_node(leaves[half:]))


def oracle_labels_root(wire: bytes) -> bytes:
    """The root the contract stores for a revealer's wire bytes (or the posted consensus's)."""
    return _oracle_node(_oracle_leaves(wire))


def oracle_chunk_proof(wire: bytes, i: int) -> list[bytes]:
    """The siblings of chunk i, leaf level first: found from the top, halving the range that holds i."""
    leaves = _oracle_leaves(wire)
    assert 0 <= i < len(leaves), f"chunk {i} is out of range"
    lo, hi, top_down = 0, len(leaves), []
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if i < mid:
            top_down.append(_oracle_node(leaves[mid:hi]))
            hi = mid
        else:
            top_down.append(_oracle_node(leaves[lo:mid]))
            lo = mid
    return top_down[::-1]


def oracle_verify(root: bytes, chunk: bytes, i: int, proof: list[bytes]) -> bool:
    """Whether `proof` takes `chunk` at leaf i (which must be < 2^len(proof)) up to `root`."""
    if len(chunk) != 32 or not 0 <= i < 2 ** len(proof) or any(len(s) != 32 for s in proof):
        return False
    node, position = bytes(chunk), i
    for sibling in proof:
        node = keccak(sibling + node) if position % 2 else keccak(node + sibling)
        position //= 2
    return node == bytes(root)


def oracle_label_at(chunk: bytes, j: int, k: int) -> int:
    """Query j's label read from the 32-byte chunk that holds it (chunk (j // 2) // 32 packed, j // 32 not)."""
    if k > CONSTANTS["PACKED_MAX_CLASSES"]:
        return chunk[j % 32]
    byte = chunk[(j // 2) % 32]
    return byte // 16 if j % 2 == 0 else byte % 16


def oracle_chunk_of(j: int, k: int) -> int:
    """The chunk index that holds query j's label."""
    return (j // 2 if k <= CONSTANTS["PACKED_MAX_CLASSES"] else j) // 32


def oracle_matches(labels: bytes, consensus: bytes) -> int:
    """How many queries a revealer's labels (one byte each) agree with the consensus on."""
    return sum(a == b for a, b in zip(labels, consensus))


def _oracle_beats(a: int, b: int, w: int, alt: int, c: int) -> bool:
    """The refute condition: A > W - B, or a tie A == W - B with alt < c."""
    return a > w - b or (a == w - b and alt < c)


def oracle_refutes(post_root: bytes, j: int, alt: int, consensus_chunk: bytes, consensus_proof: list[bytes],
                   batches: list, roots: dict, weights: dict, k: int) -> int | None:
    """What the contract does with a query fraud proof sent as `batches` (one list of (address, chunk, proof)
    records per transaction): the index of the transaction that refutes the post, or None if none does.
    roots / weights: {address: stored labels root / tally weight} of every revealer (W = all their weights).
    Raises AssertionError where the contract reverts: a posted label that does not verify, alt equal to it
    or >= K, an unknown revealer, a record out of ascending order, a chunk that does not verify."""
    ci = oracle_chunk_of(j, k)
    assert oracle_verify(post_root, consensus_chunk, ci, consensus_proof), "the consensus chunk does not verify"
    c = oracle_label_at(consensus_chunk, j, k)
    assert alt != c and alt < k, "alt must be a label (< K) other than the posted one"
    roots = {int(a, 16): r for a, r in roots.items()}
    weights = {int(a, 16): w for a, w in weights.items()}
    total = sum(weights.values())
    a_sum = b_sum = 0
    last = -1
    for t, batch in enumerate(batches):
        for address, chunk, proof in batch:
            who = int(address, 16)
            assert who > last, f"record {address} is not above the previous one"
            last = who
            assert who in roots, f"{address} did not reveal"
            assert oracle_verify(roots[who], chunk, ci, proof), f"the chunk of {address} does not verify"
            label = oracle_label_at(chunk, j, k)
            a_sum += weights[who] if label == alt else 0
            b_sum += weights[who] if label != c else 0
        if _oracle_beats(a_sum, b_sum, total, alt, c):
            return t
    return None


def oracle_fewest_records(votes: list[int], weights: list[int], c: int, alt: int) -> int | None:
    """The size of the smallest set of voters whose records refute c with alt (by trying every set, smallest
    first); None if even all of them do not."""
    from itertools import combinations

    total = sum(weights)
    voters = range(len(votes))
    for size in range(len(votes) + 1):
        for chosen in combinations(voters, size):
            a = sum(weights[i] for i in chosen if votes[i] == alt)
            b = sum(weights[i] for i in chosen if votes[i] != c)
            if _oracle_beats(a, b, total, alt, c):
                return size
    return None


def oracle_optimistic_seats(q: int, k: int) -> int:
    """Committers one propose takes: what is left of the budget after the base and Q labels, per committer, at
    most MAX_OPTIMISTIC_PARTICIPANTS (never negative)."""
    c = CONSTANTS
    per_label = c["POST_GAS_PER_PACKED_LABEL"] if k <= c["PACKED_MAX_CLASSES"] else c["POST_GAS_PER_BYTE_LABEL"]
    room = c["POST_GAS_BUDGET"] - c["POST_GAS_BASE"] - per_label * q
    return 0 if room <= 0 else min(c["MAX_OPTIMISTIC_PARTICIPANTS"], room // c["POST_GAS_PER_COMMITTER"])
