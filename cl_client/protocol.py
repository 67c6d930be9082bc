"""The protocol's rules in Python: the one statement, off-chain, of what the contract decides.

Everything a Python caller needs to predict or check a round lives here, and nowhere else in the product:

    Phase, Status, Params       the contract's enums and parameter struct (field names as in the ABI)
    Bounds                      the owner's limits on requester-chosen Params (`Params.check(bounds)`)
    LIMITS                      the contract's public constants (pinned against the deployed constants by
                                tests/contract/test_protocol_constants.py)
    DEFAULT_PARAMS, DEFAULT_BOUNDS   what the constructor sets (pinned the same way)
    plurality(labels, k, w)     the consensus rule: weighted plurality per query, ties to the smallest label
    matches(labels, consensus)  labels equal to the consensus, per voter (the contract's `matches`)
    mode_count(consensus, k)    M: how often the consensus's most frequent label occurs
    agrees(m, q, bps, mode)     the agreement rule: m == Q, or m >= M, (m - M) * 10000 >= bps * (Q - M) and
                                (m - M)^2 * Q >= AGREEMENT_SIGMAS^2 * M * (Q - M)
    min_matches(q, bps, mode)   the fewest matches that agree
    reputation_score(h, g, x)   what a revealer's reputation moves towards: its audit accuracy (0 if
                                excluded), or None (no move) when the round had no revealed audit
    next_reputation(r, score)   the reputation update: REPUTATION_RATE of the way to the score, floored
    tally_weight(stake, rep, eq) a revealer's weight: (stake, or 1 under equal weights) x rep
    tally_reputation(r, h, g)   the rep it weighs with in the plurality: at commit, moved by this round's audit
    Audit                       the requester's hidden known-label queries (indices, labels, salt), their
                                bytes and commitment, and `Audit.draw`
    audit_hits(labels, audit)   audit queries a label vector answers right
    audit_passes(h, g, bound)   the audit rule: hits * 10000 >= bound * G
    crowd_size(bps, n)          the crowd rule's crowd: at least crowdBps of the n revealers, at least 2 (0: off)
    crowd_strikes(a, known, c)  per revealer, wrong audit answers given by a crowd of >= c revealers
    crowd_passes(strikes, g, b) the crowd rule: strikes * 10000 < CROWD_STRIKE_BPS * G, and fewer than
                                CROWD_REPEAT_STRIKES for an address it struck out last time (`b`, its memory)
    next_struck_out(b, j, p)    the memory after a round: struck out iff excluded by the rule, when judged
    slash_bps(params, s, aud)   the slash rate that applies to a settled status (Deviated: 0 if audited)
    penalty(stake, bps)         the slash: ceil(stake * bps / 10000)
    reward_share(pool, w, W)    an agreeing voter's share: floor(pool * w / W)
    quorum_met(...)             the quorum rule that decides Finalized vs Failed

These are pure functions on integers and numpy arrays; `cl_client.aggregation` wraps `plurality` as the
on-chain aggregation rule beside other rules (e.g. Snowball gossip). Tests do not import this module as their
oracle: `tests/oracle.py` restates the rules independently, and the tests compare the two and the contract.
"""
from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field, fields
from typing import Iterable, Mapping

import numpy as np
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

BPS = 10_000  # basis points: 10000 = 100 %


class Phase(enum.IntEnum):
    """IConsensusLearning.Phase: derived from block time and the round's outcome."""

    NONE = 0
    COMMIT = 1
    REVEAL = 2
    FINALIZABLE = 3
    FINALIZED = 4
    FAILED = 5
    AUDIT = 6  # reveal over, the audit committed and not revealed yet, before the audit deadline
    PROPOSED = 7  # a bonded post is live: challengeable until its window ends, then confirmable (claim confirms)

    @property
    def rank(self) -> int:
        """Position in a round's life (the numbers are not: AUDIT = 6 and PROPOSED = 7 came last): NONE 0 <
        COMMIT 1 < REVEAL 2 < AUDIT 3 < FINALIZABLE 4 < PROPOSED 5 < FINALIZED = FAILED 6 (settled). A refuted
        post takes a round from PROPOSED back to FINALIZABLE."""
        return (0, 1, 2, 4, 6, 6, 3, 5)[self.value]


class Status(enum.IntEnum):
    """IConsensusLearning.Status of one participant's submission in one round."""

    NONE = 0
    COMMITTED = 1
    REVEALED = 2
    AGREED = 3
    DEVIATED = 4
    EXCLUDED = 5  # failed the requester's audit: not in the tally, slashed (burned), no reward




@dataclass(frozen=True)
class Limits:
    """The contract's public constants (`cl.MAX_QUERIES()` ...), in Python names."""

    max_queries: int = 4096
    max_participants: int = 64
    max_labels: int = 53_248  # N x Q (worst-case finalize stays >= 8 % under EIP-7825's cap)
    min_phase_duration: int = 36  # seconds: three 12-second slots
    max_phase_duration: int = 7 * 24 * 3600
    max_audit_queries: int = 128  # G
    audit_forfeit_bps: int = 2_000  # share of the reward burned when a committed audit is never revealed
    abandon_delay: int = 3 * 24 * 3600  # after the audit deadline, anyone may abandon() a round
    bounds_delay: int = 28 * 24 * 3600  # proposeBounds -> applyBounds
    max_pending_withdrawals: int = 8
    min_quorum_bps: int = 1_000  # the hard limits the owner's Bounds never leave
    max_agreement_bps: int = 7_000
    max_slash_bps: int = 5_000
    max_min_stake: int = 10_000 * 10**18
    max_unbonding_delay: int = 30 * 24 * 3600
    reputation_start: int = 1_000  # bps: an address never scored (new addresses start weak)
    reputation_floor: int = 100  # bps: reputation never falls below (a weight is never 0)
    reputation_rate: int = 3_000  # bps of the gap to the round's score closed per update
    agreement_sigmas: int = 2  # an agreeing revealer beats a blind labeller's M by this many standard deviations
    crowd_strike_bps: int = 2_500  # the crowd rule excludes a revealer struck on this share of the audit queries
    crowd_repeat_strikes: int = 1  # ... or on this many, if the rule struck it out the last time it judged it
    submission_slots: int = 16  # a commit to round r reuses slot r % 16, once the round it held is claimed
    packed_max_classes: int = 16  # rounds of K <= 16 send labels 4 bits each (cl_client.commitment)
    max_optimistic_queries: int = 65_535  # Q of an optimistic-only round (RoundSpec.optimistic)
    max_optimistic_label_bytes: int = 64_000  # its labels' wire bytes (challengeMatches carries two: <= 128 KB)
    max_optimistic_participants: int = 2048  # the most seats; a round has optimistic_seats(Q, K) of them
    post_gas_budget: int = 15_500_000  # optimistic_seats keeps propose's measured gas under this (2^24 - 7.6 %)
    post_gas_base: int = 400_000
    post_gas_per_committer: int = 9_000
    post_gas_per_packed_label: int = 70
    post_gas_per_byte_label: int = 170
    min_challenge_window: int = 36  # seconds: the hard limits of ChallengeTerms.window
    max_challenge_window: int = 30 * 24 * 3600
    refuter_share_bps: int = 5_000  # of a refuted post's bond, paid to the refuter (the rest is burned)
    min_classes: int = 2  # K (openRound's InvalidClassCount bounds)
    max_classes: int = 256

    # the contract's getter name for each field that has one (tests pin these against the chain)
    CONTRACT_NAMES = {
        "max_queries": "MAX_QUERIES", "max_participants": "MAX_PARTICIPANTS", "max_labels": "MAX_LABELS",
        "min_phase_duration": "MIN_PHASE_DURATION", "max_phase_duration": "MAX_PHASE_DURATION",
        "max_audit_queries": "MAX_AUDIT_QUERIES", "audit_forfeit_bps": "AUDIT_FORFEIT_BPS",
        "abandon_delay": "ABANDON_DELAY", "bounds_delay": "BOUNDS_DELAY",
        "max_pending_withdrawals": "MAX_PENDING_WITHDRAWALS",
        "min_quorum_bps": "MIN_QUORUM_BPS", "max_agreement_bps": "MAX_AGREEMENT_BPS",
        "max_slash_bps": "MAX_SLASH_BPS", "max_min_stake": "MAX_MIN_STAKE",
        "max_unbonding_delay": "MAX_UNBONDING_DELAY",
        "reputation_start": "REPUTATION_START", "reputation_floor": "REPUTATION_FLOOR",
        "reputation_rate": "REPUTATION_RATE", "agreement_sigmas": "AGREEMENT_SIGMAS",
        "crowd_strike_bps": "CROWD_STRIKE_BPS", "crowd_repeat_strikes": "CROWD_REPEAT_STRIKES",
        "submission_slots": "SUBMISSION_SLOTS", "packed_max_classes": "PACKED_MAX_CLASSES",
        "max_optimistic_queries": "MAX_OPTIMISTIC_QUERIES",
        "max_optimistic_participants": "MAX_OPTIMISTIC_PARTICIPANTS",
        "max_optimistic_label_bytes": "MAX_OPTIMISTIC_LABEL_BYTES", "post_gas_budget": "POST_GAS_BUDGET",
        "post_gas_base": "POST_GAS_BASE", "post_gas_per_committer": "POST_GAS_PER_COMMITTER",
        "post_gas_per_packed_label": "POST_GAS_PER_PACKED_LABEL", "post_gas_per_byte_label": "POST_GAS_PER_BYTE_LABEL",
        "min_challenge_window": "MIN_CHALLENGE_WINDOW", "max_challenge_window": "MAX_CHALLENGE_WINDOW",
        "refuter_share_bps": "REFUTER_SHARE_BPS",
    }


LIMITS = Limits()


class ParamsError(ValueError):
    """Parameters the contract would refuse (ParameterOutOfBounds), in one line."""


class _Struct:
    """A dataclass mirroring a Solidity struct: `ABI_NAMES` maps each Python field to its ABI name."""

    ABI_NAMES: dict = {}

    def to_abi(self) -> dict:
        """{abiName: value}: what web3 accepts for a struct argument (by name)."""
        return {self.ABI_NAMES[f.name]: getattr(self, f.name) for f in fields(self)}

    def as_tuple(self) -> tuple:
        """The struct as a tuple in ABI order (what web3 and Brownie accept for a struct argument)."""
        return tuple(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class Bounds(_Struct):
    """IConsensusLearning.Bounds: the owner's limits on the Params a requester may choose (fields in ABI order)."""

    min_quorum_bps: int
    max_agreement_bps: int
    max_slash_bps: int
    max_audit_bound_bps: int
    allow_equal_weights: bool
    min_stake_floor: int
    min_stake_ceiling: int

    ABI_NAMES = {"min_quorum_bps": "minQuorumBps", "max_agreement_bps": "maxAgreementBps",
                 "max_slash_bps": "maxSlashBps", "max_audit_bound_bps": "maxAuditBoundBps",
                 "allow_equal_weights": "allowEqualWeights", "min_stake_floor": "minStakeFloor",
                 "min_stake_ceiling": "minStakeCeiling"}


@dataclass(frozen=True)
class Params(_Struct):
    """IConsensusLearning.Params: a round's rules, frozen when it opens. Fields in ABI order."""

    quorum_bps: int
    min_revealers: int
    agreement_bps: int
    deviator_slash_bps: int
    non_reveal_slash_bps: int
    audit_bound_bps: int
    audit_slash_bps: int
    crowd_bps: int  # the crowd rule (0: off); see crowd_size
    equal_weights: bool
    min_stake: int

    # ABI field name for each Python field (cl_client.chain decodes and encodes by name, never by position)
    ABI_NAMES = {"quorum_bps": "quorumBps", "min_revealers": "minRevealers", "agreement_bps": "agreementBps",
                 "deviator_slash_bps": "deviatorSlashBps", "non_reveal_slash_bps": "nonRevealSlashBps",
                 "audit_bound_bps": "auditBoundBps", "audit_slash_bps": "auditSlashBps",
                 "crowd_bps": "crowdBps", "equal_weights": "equalWeights", "min_stake": "minStake"}

    def check(self, bounds: "Bounds | None" = None, limits: Limits = LIMITS) -> "Params":
        """Raise ParamsError (one line) where the contract's _checkParams would revert against `bounds`
        (default DEFAULT_BOUNDS, the constructor's); return self otherwise."""
        b = DEFAULT_BOUNDS if bounds is None else bounds
        checks = [
            ("quorum_bps", self.quorum_bps, b.min_quorum_bps, BPS),
            ("min_revealers", self.min_revealers, 1, limits.max_participants),
            ("agreement_bps", self.agreement_bps, 0, b.max_agreement_bps),
            ("audit_bound_bps", self.audit_bound_bps, 0, b.max_audit_bound_bps),
            ("crowd_bps", self.crowd_bps, 0, BPS),
            # not revealing is never cheaper than revealing: nonReveal >= deviator and nonReveal >= audit
            ("non_reveal_slash_bps", self.non_reveal_slash_bps,
             max(self.deviator_slash_bps, self.audit_slash_bps), b.max_slash_bps),
            ("min_stake", self.min_stake, b.min_stake_floor, b.min_stake_ceiling),
        ]
        if self.equal_weights:  # min-stake Sybils must not be able to slash large stakes by outvoting them
            checks += [("equal_weights", 1, 0, 1 if b.allow_equal_weights else 0),
                       ("deviator_slash_bps", self.deviator_slash_bps, 0, 0)]
        for name, value, low, high in checks:
            if not low <= int(value) <= high:
                raise ParamsError(f"{name} must be {low}..{high} (the contract's bounds), got {int(value)}")
        return self


DEFAULT_BOUNDS = Bounds(min_quorum_bps=1_000, max_agreement_bps=5_000, max_slash_bps=2_000,
                        max_audit_bound_bps=9_000, allow_equal_weights=True, min_stake_floor=10**15,
                        min_stake_ceiling=10_000 * 10**18)
"""The bounds the constructor sets (the owner changes them with proposeBounds + applyBounds, BOUNDS_DELAY later)."""

DEFAULT_PARAMS = Params(quorum_bps=5_000, min_revealers=3, agreement_bps=500, deviator_slash_bps=1_000,
                        non_reveal_slash_bps=2_000, audit_bound_bps=3_000, audit_slash_bps=0,
                        crowd_bps=4_000, equal_weights=False, min_stake=10**16)
"""What the constructor sets as defaults (docs/agreement-threshold.md explains agreementBps and auditBoundBps)."""


@dataclass(frozen=True)
class Audit:
    """The requester's hidden audit: G known-label queries, committed at opening, revealed after the reveal
    phase. `indices` strictly ascending, `labels` one per index, `salt` 32 secret bytes."""

    indices: tuple[int, ...]
    labels: tuple[int, ...]
    salt: bytes = field(repr=False)  # the secret: never in a repr or a log line

    def __post_init__(self):
        object.__setattr__(self, "indices", tuple(int(i) for i in self.indices))
        object.__setattr__(self, "labels", tuple(int(x) for x in self.labels))
        object.__setattr__(self, "salt", bytes(self.salt))
        g = len(self.indices)
        if g != len(self.labels):
            raise ValueError(f"an audit needs one label per index, got {g} indices and {len(self.labels)} labels")
        if not 1 <= g <= LIMITS.max_audit_queries:
            raise ValueError(f"an audit has 1..{LIMITS.max_audit_queries} queries, got {g}")
        if len(self.salt) != 32:
            raise ValueError(f"the audit salt must be 32 bytes, got {len(self.salt)}")
        for pos, index in enumerate(self.indices):
            if not 0 <= index < LIMITS.max_queries or (pos and index <= self.indices[pos - 1]):
                raise ValueError(f"audit index {index} at position {pos} is not strictly ascending in "
                                 f"0..{LIMITS.max_queries - 1}")
        if any(not 0 <= x < LIMITS.max_classes for x in self.labels):
            raise ValueError(f"audit labels must be 0..{LIMITS.max_classes - 1}")

    def check(self, num_queries: int, num_classes: int) -> "Audit":
        """Raise ValueError (one line) unless the audit fits a round of Q queries and K classes (revealAudit's
        checks); return self."""
        if len(self.indices) > int(num_queries):
            raise ValueError(f"an audit of {len(self.indices)} queries does not fit a round of {num_queries}")
        if self.indices[-1] >= int(num_queries):
            raise ValueError(f"audit index {self.indices[-1]} is not below Q={num_queries}")
        if max(self.labels) >= int(num_classes):
            raise ValueError(f"audit label {max(self.labels)} is not below K={num_classes}")
        return self

    def indices_bytes(self) -> bytes:
        """2 bytes per index, big-endian (what revealAudit takes)."""
        return b"".join(i.to_bytes(2, "big") for i in self.indices)

    def labels_bytes(self) -> bytes:
        """1 byte per label."""
        return bytes(self.labels)

    def commitment(self, chain_id: int, contract: str, requester: str, queries_hash: bytes) -> bytes:
        """keccak256(abi.encode(chainid, contract, requester, queriesHash, keccak256(indices),
        keccak256(labels), salt)): the contract's auditCommitmentOf."""
        payload = abi_encode(
            ["uint256", "address", "address", "bytes32", "bytes32", "bytes32", "bytes32"],
            [int(chain_id), to_checksum_address(contract), to_checksum_address(requester), bytes(queries_hash),
             keccak(self.indices_bytes()), keccak(self.labels_bytes()), self.salt])
        return keccak(payload)

    @classmethod
    def from_bytes(cls, indices: bytes, labels: bytes, salt: bytes) -> "Audit":
        """The audit from revealAudit's bytes (or the `audit` view and the AuditRevealed event)."""
        indices = bytes(indices)
        return cls(tuple(int.from_bytes(indices[i:i + 2], "big") for i in range(0, len(indices), 2)),
                   tuple(bytes(labels)), salt)

    @classmethod
    def draw(cls, rng, known_labels: "Mapping[int, int] | Iterable[tuple[int, int]]", count: int) -> "Audit":
        """`count` queries drawn at random (numpy Generator or seed `rng`) among those whose label is known,
        sorted, with a fresh secret salt (always from the OS CSPRNG: a seeded salt could be guessed)."""
        known = dict(known_labels.items() if isinstance(known_labels, Mapping) else known_labels)
        count = int(count)
        if not 1 <= count <= min(len(known), LIMITS.max_audit_queries):
            raise ValueError(f"cannot hide {count} audit queries: {len(known)} labels are known "
                             f"(at most {LIMITS.max_audit_queries} per round)")
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        pool = sorted(int(i) for i in known)
        chosen = sorted(int(pool[i]) for i in rng.choice(len(pool), size=count, replace=False))
        return cls(tuple(chosen), tuple(int(known[i]) for i in chosen), secrets.token_bytes(32))

    def to_json(self) -> dict:
        return {"indices": list(self.indices), "labels": list(self.labels), "salt": "0x" + self.salt.hex()}

    @classmethod
    def from_json(cls, data: Mapping) -> "Audit":
        return cls(tuple(data["indices"]), tuple(data["labels"]), bytes.fromhex(str(data["salt"]).removeprefix("0x")))


# ---------------------------------------------------------------------------------------------- rules


def plurality(labels, num_classes: int, weights=None) -> np.ndarray:
    """Weighted plurality label per query; ties go to the smallest label (the contract's rule).

    labels: (voters, Q) integers in 0..num_classes-1; weights: (voters,) non-negative integers, or None for
    one vote each. Sums are exact at any size (stakes in wei overflow int64).
    """
    labels = np.asarray(labels, dtype=np.int64)
    if labels.ndim != 2:
        raise ValueError(f"labels must be a (voters, queries) array, got shape {labels.shape}")
    k = int(num_classes)
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must be in 0..{k - 1}")
    n, q = labels.shape
    w = [1] * n if weights is None else [int(x) for x in weights]
    if len(w) != n:
        raise ValueError(f"{len(w)} weights for {n} voters")
    if any(x < 0 for x in w):
        raise ValueError("weights must be non-negative")
    exact = sum(w) < 2**62  # int64 sums are exact below this; otherwise Python integers
    tally = np.zeros((k, q), dtype=np.int64 if exact else object)
    cols = np.arange(q)
    for voter in range(n):
        tally[labels[voter], cols] += w[voter]  # one voter's labels are one per column: no repeats
    if exact:
        return np.argmax(tally, axis=0).astype(np.int64)  # the first maximum = the smallest label on ties
    return np.array([column.index(max(column)) for column in tally.T.tolist()], dtype=np.int64)


def matches(labels, consensus) -> np.ndarray:
    """Per voter, the number of queries whose label equals the consensus (the contract's `matches`)."""
    labels = np.asarray(labels)
    return (labels == np.asarray(consensus)[None, :]).sum(axis=1).astype(np.int64)


def agreement(labels, consensus) -> np.ndarray:
    """Per voter, matches / Q (a share in 0..1; the rule itself is `agrees`, on integers)."""
    labels = np.asarray(labels)
    return matches(labels, consensus) / max(1, labels.shape[1])


def mode_count(consensus, num_classes: int) -> int:
    """M of the agreement rule: how often the consensus's most frequent label occurs (0 for no queries)."""
    c = np.asarray(consensus, dtype=np.int64).reshape(-1)
    return int(np.bincount(c, minlength=int(num_classes)).max()) if c.size else 0


def agrees(match_count, num_queries: int, agreement_bps: int, mode: int):
    """The agreement rule: a revealer (that passed the audit) agrees iff it matches all Q, or matches >= M,
    its chance-corrected agreement (matches - M) * 10000 >= agreementBps * (Q - M) and it beats M by
    AGREEMENT_SIGMAS standard deviations of a query-blind labeller, (matches - M)^2 * Q >= sigmas^2 * M * (Q - M);
    M = `mode_count(consensus, K)` -- a labeller blind to the queries matches at most M in expectation, and a
    coin-flipper's luck is about sqrt(M (Q - M) / Q) (exact integers, as on chain).

    Works on one count (returns bool) or an array of counts (returns a bool array).
    """
    m = np.asarray(match_count, dtype=np.int64)
    mode, q = int(mode), int(num_queries)
    d = m - mode
    z2 = LIMITS.agreement_sigmas ** 2
    out = (m == q) | ((d >= 0) & (d * BPS >= int(agreement_bps) * (q - mode)) & (d * d * q >= z2 * mode * (q - mode)))
    return bool(out) if out.ndim == 0 else out


def min_matches(num_queries: int, agreement_bps: int, mode: int) -> int:
    """The fewest matches that agree: the least count `agrees` accepts (Q always agrees)."""
    q, mode = int(num_queries), int(mode)
    counts = np.arange(mode, q + 1)
    return mode + int(np.argmax(agrees(counts, q, agreement_bps, mode)))


def reputation_score(hits: int, num_audit: int, excluded: bool = False) -> int | None:
    """The score (bps) a revealer's reputation moves towards at finalize: with a revealed audit of G =
    `num_audit` queries, its audit accuracy hits * 10000 // G (0 if the audit excluded it) -- the truth, which
    a cartel holding the consensus cannot bend; without one (`num_audit` 0), None: the reputation does not move
    (agreement with the consensus is not evidence). A non-revealer scores 0 either way."""
    if not num_audit:
        return None
    return 0 if excluded else int(hits) * BPS // int(num_audit)


def next_reputation(reputation: int, score: int) -> int:
    """The reputation update at a settled round: move REPUTATION_RATE of the way from `reputation` to
    `score` (both bps), a gain rounded down and a loss rounded up, never below REPUTATION_FLOOR."""
    r, score, rate = int(reputation), int(score), LIMITS.reputation_rate
    nxt = r + (score - r) * rate // BPS if score >= r else r - -(-(r - score) * rate // BPS)
    return max(nxt, LIMITS.reputation_floor)


def optimistic_seats(num_queries: int, num_classes: int, limits: Limits = LIMITS) -> int:
    """The seats of an optimistic-only round (the contract's optimisticSeats): as many committers as one propose
    can take under the budget, min(MAX_OPTIMISTIC_PARTICIPANTS, (budget - base - per-label gas x Q) / per-committer
    gas); 0 if Q alone exceeds it."""
    per_label = (limits.post_gas_per_packed_label if int(num_classes) <= limits.packed_max_classes
                 else limits.post_gas_per_byte_label)
    left = limits.post_gas_budget - limits.post_gas_base - per_label * int(num_queries)
    return max(0, min(limits.max_optimistic_participants, left // limits.post_gas_per_committer))


def optimistic_max_queries(num_classes: int, limits: Limits = LIMITS) -> int:
    """The largest Q of an optimistic-only round: MAX_OPTIMISTIC_QUERIES packed, MAX_OPTIMISTIC_LABEL_BYTES at
    one byte a label."""
    return (limits.max_optimistic_queries if int(num_classes) <= limits.packed_max_classes
            else limits.max_optimistic_label_bytes)


def tally_weight(stake: int, reputation: int, equal_weights: bool = False) -> int:
    """A revealer's weight: stake, or 1 under equal weights, times a reputation -- at commit for admission,
    `tally_reputation` (moved by the round's audit) in the plurality."""
    return (1 if equal_weights else int(stake)) * int(reputation)


def tally_reputation(reputation: int, hits: int, num_audit: int) -> int:
    """The reputation a revealer that passed the audit weighs with in the plurality: its reputation at commit,
    moved one step by this round's revealed audit of G = `num_audit` queries (next_reputation towards
    hits * 10000 // G) -- the tally trusts the round's ground truth at once; unchanged without an audit."""
    if not num_audit:
        return int(reputation)
    return next_reputation(reputation, reputation_score(hits, num_audit))


def audit_hits(labels, audit) -> int:
    """Audit queries (`audit.indices`, `audit.labels`) on which the Q labels (bytes or integers) are right."""
    row = np.frombuffer(bytes(labels), dtype=np.uint8) if isinstance(labels, (bytes, bytearray)) else np.asarray(labels)
    return int((row[np.asarray(audit.indices, dtype=np.int64)] == np.asarray(audit.labels)).sum())


def audit_passes(hits, num_audit: int, audit_bound_bps: int):
    """The audit rule: a revealer passes iff hits * 10000 >= auditBoundBps * G (everyone, without an audit:
    G = 0). Works on one count (bool) or an array (bool array)."""
    h = np.asarray(hits, dtype=np.int64)
    out = h * BPS >= int(audit_bound_bps) * int(num_audit)
    return bool(out) if out.ndim == 0 else out


def crowd_size(crowd_bps: int, revealers: int) -> int:
    """The crowd rule's crowd in a round of `revealers` revealers: ceil(crowdBps * n / 10000) of them, at least 2
    (a wrong answer nobody shares is the audit bound's business); 0 when crowdBps is 0 (the rule is off)."""
    if not int(crowd_bps):
        return 0
    return max(2, -(-int(crowd_bps) * int(revealers) // BPS))


def crowd_strikes(answers, known, crowd: int) -> np.ndarray:
    """The crowd rule's strikes: per revealer (rows of `answers`, its G audit answers; `known` the audit's G
    labels), the audit queries it answered wrong with a label at least `crowd` revealers gave, itself
    included. A cartel that moves the plurality must lie with one label, so it strikes where it lies on an
    audit query; honest models seldom make one error in a crowd."""
    a = np.atleast_2d(np.asarray(answers, dtype=np.int64))
    wrong = a != np.asarray(known, dtype=np.int64)[None, :]
    if not crowd or a.size == 0:
        return np.zeros(a.shape[0], dtype=np.int64)
    same = (a[:, None, :] == a[None, :, :]).sum(axis=0)  # (revealers, G): how many gave each one's answer
    return (wrong & (same >= int(crowd))).sum(axis=1)


def crowd_passes(strikes, num_audit: int, struck_before=False, limits: Limits = LIMITS):
    """The crowd rule: a revealer stays in iff strikes * 10000 < CROWD_STRIKE_BPS * G and, if the rule struck
    it out in its last judged round (`struck_before`, the contract's `struckOut`), it has fewer than
    CROWD_REPEAT_STRIKES (always in without an audit). Works on one count (bool) or arrays (bool array)."""
    s = np.asarray(strikes, dtype=np.int64)
    repeat = np.asarray(struck_before, dtype=bool) & (s >= limits.crowd_repeat_strikes)
    out = (s * BPS < limits.crowd_strike_bps * int(num_audit)) & ~repeat | (int(num_audit) == 0)
    return bool(out) if out.ndim == 0 else out


def next_struck_out(struck_before, judged: bool, passes):
    """The crowd rule's memory after a round: in a finalized round with a revealed audit and the crowd rule on
    (`judged`), a revealer is struck out iff the rule excluded it (`passes` False, as crowd_passes returned);
    otherwise (no audit, rule off, failed round, non-revealer) the bit stays."""
    out = ~np.asarray(passes, dtype=bool) if judged else np.asarray(struck_before, dtype=bool)
    return bool(out) if out.ndim == 0 else out


def slash_bps(params: Params, status: Status, audited: bool = False) -> int:
    """The share of its stake a participant of a finalized round loses for `status` (0: none). `audited`: the
    round's audit was revealed. The audit outranks agreement: in an audited round a revealer that passed the
    audit and deviated keeps its stake (it is not paid); only without an audit is disagreement slashed."""
    if Status(status) == Status.DEVIATED and audited:
        return 0
    return {Status.DEVIATED: params.deviator_slash_bps, Status.COMMITTED: params.non_reveal_slash_bps,
            Status.EXCLUDED: params.audit_slash_bps}.get(Status(status), 0)


def penalty(stake: int, bps: int) -> int:
    """The slash on `stake` at `bps`: ceil(stake * bps / 10000), so the pool never promises more than it took."""
    return -(-int(stake) * int(bps) // BPS)


def reward_share(pool: int, weight: int, agreed_weight: int) -> int:
    """An agreeing revealer's share of the pool: floor(pool * weight / agreedWeight) (the dust is burned)."""
    return int(pool) * int(weight) // int(agreed_weight) if agreed_weight else 0


def vote_weight(stake: int, equal_weights: bool) -> int:
    """A submission's weight in the reward split and the quorum: 1 each, or its stake in wei (the tally weighs
    `tally_weight`: this times the reputation at commit)."""
    return 1 if equal_weights else int(stake)


def quorum_met(revealers: int, revealed_weight: int, committed_weight: int, params: Params) -> bool:
    """The round finalizes (else fails) iff it has at least min_revealers revealers (and one) and
    revealed weight * 10000 >= quorumBps * committed weight."""
    return (revealers != 0 and revealers >= params.min_revealers
            and int(revealed_weight) * BPS >= int(committed_weight) * params.quorum_bps)


def deviators(match_counts, num_queries: int, agreement_bps: int, mode: int) -> np.ndarray:
    """Bool mask of (audit-passing) revealers the agreement rule slashes (`not agrees`)."""
    return ~np.asarray(agrees(np.atleast_1d(match_counts), num_queries, agreement_bps, mode), dtype=bool)
