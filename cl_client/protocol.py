"""The protocol's rules in Python: the one statement, off-chain, of what the contract decides.

Everything a Python caller needs to predict or check a round lives here, and nowhere else in the product:

    Phase, Status, Params       the contract's enums and parameter struct (field names as in the ABI)
    LIMITS                      the contract's public bounds (pinned against the deployed constants by
                                tests/contract/test_protocol_constants.py)
    DEFAULT_PARAMS              what the constructor sets (pinned the same way)
    plurality(labels, k, w)     the consensus rule: weighted plurality per query, ties to the smallest label
    matches(labels, consensus)  labels equal to the consensus, per voter (the contract's `matches`)
    agrees(m, q, bps)           the agreement rule: m * 10000 >= bps * q (integers, as on chain)
    min_matches(q, bps)         the fewest matches that agree
    penalty(stake, bps)         the slash: ceil(stake * bps / 10000)
    reward_share(pool, w, W)    an agreeing voter's share: floor(pool * w / W)
    quorum_met(...)             the quorum rule that decides Finalized vs Failed

These are pure functions on integers and numpy arrays; `cl_client.aggregation` wraps `plurality` as the
on-chain aggregation rule beside other rules (e.g. Snowball gossip). Tests do not import this module as their
oracle: `tests/oracle.py` restates the rules independently, and the tests compare the two and the contract.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, fields

import numpy as np

BPS = 10_000  # basis points: 10000 = 100 %


class Phase(enum.IntEnum):
    """IConsensusLearning.Phase: derived from block time and the round's outcome."""

    NONE = 0
    COMMIT = 1
    REVEAL = 2
    FINALIZABLE = 3
    FINALIZED = 4
    FAILED = 5


class Status(enum.IntEnum):
    """IConsensusLearning.Status of one participant's submission in one round."""

    NONE = 0
    COMMITTED = 1
    REVEALED = 2
    AGREED = 3
    DEVIATED = 4


SLASHED_STATUSES = frozenset({Status.DEVIATED, Status.COMMITTED})
"""Statuses that lose stake once a round is finalized (a deviator; a committer that never revealed)."""


@dataclass(frozen=True)
class Limits:
    """The contract's public constants (`cl.MAX_QUERIES()` ...), in Python names."""

    max_queries: int = 4096
    max_participants: int = 64
    max_labels: int = 65_536  # N x Q
    min_phase_duration: int = 10  # seconds
    max_phase_duration: int = 30 * 24 * 3600
    min_quorum_bps: int = 1_000
    max_agreement_bps: int = 9_000
    max_slash_bps: int = 5_000
    max_min_stake: int = 10_000 * 10**18
    max_unbonding_delay: int = 30 * 24 * 3600
    min_classes: int = 2  # K (openRound's InvalidClassCount bounds)
    max_classes: int = 256

    # the contract's getter name for each field that has one (tests pin these against the chain)
    CONTRACT_NAMES = {
        "max_queries": "MAX_QUERIES", "max_participants": "MAX_PARTICIPANTS", "max_labels": "MAX_LABELS",
        "min_phase_duration": "MIN_PHASE_DURATION", "max_phase_duration": "MAX_PHASE_DURATION",
        "min_quorum_bps": "MIN_QUORUM_BPS", "max_agreement_bps": "MAX_AGREEMENT_BPS",
        "max_slash_bps": "MAX_SLASH_BPS", "max_min_stake": "MAX_MIN_STAKE",
        "max_unbonding_delay": "MAX_UNBONDING_DELAY",
    }


LIMITS = Limits()


class ParamsError(ValueError):
    """Parameters the contract would refuse (ParameterOutOfBounds), in one line."""


@dataclass(frozen=True)
class Params:
    """IConsensusLearning.Params: a round's rules, frozen when it opens. Fields in ABI order."""

    quorum_bps: int
    min_revealers: int
    agreement_bps: int
    deviator_slash_bps: int
    non_reveal_slash_bps: int
    equal_weights: bool
    min_stake: int

    # ABI field name for each Python field (cl_client.chain decodes and encodes by name, never by position)
    ABI_NAMES = {"quorum_bps": "quorumBps", "min_revealers": "minRevealers", "agreement_bps": "agreementBps",
                 "deviator_slash_bps": "deviatorSlashBps", "non_reveal_slash_bps": "nonRevealSlashBps",
                 "equal_weights": "equalWeights", "min_stake": "minStake"}

    def to_abi(self) -> dict:
        """{abiName: value}: what web3 accepts for a struct argument (by name)."""
        return {self.ABI_NAMES[f.name]: getattr(self, f.name) for f in fields(self)}

    def as_tuple(self) -> tuple:
        """The struct as a tuple in ABI order (what web3 and Brownie accept for a struct argument)."""
        return tuple(getattr(self, f.name) for f in fields(self))

    def check(self, limits: Limits = LIMITS) -> "Params":
        """Raise ParamsError where the contract's _checkParams would revert; return self otherwise."""
        bounds = (
            ("quorum_bps", self.quorum_bps, limits.min_quorum_bps, BPS),
            ("min_revealers", self.min_revealers, 1, limits.max_participants),
            ("agreement_bps", self.agreement_bps, 0, limits.max_agreement_bps),
            ("deviator_slash_bps", self.deviator_slash_bps, 0, limits.max_slash_bps),
            ("non_reveal_slash_bps", self.non_reveal_slash_bps, self.deviator_slash_bps, limits.max_slash_bps),
            ("min_stake", self.min_stake, 1, limits.max_min_stake),
        )
        for name, value, low, high in bounds:
            if not low <= value <= high:
                raise ParamsError(f"{name} must be {low}..{high} (the contract's bound), got {value}")
        return self


DEFAULT_PARAMS = Params(quorum_bps=5_000, min_revealers=3, agreement_bps=2_600, deviator_slash_bps=1_000,
                        non_reveal_slash_bps=2_000, equal_weights=False, min_stake=10**16)
"""What the constructor sets as defaults (docs/agreement-threshold.md explains the 2600)."""


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


def agrees(match_count, num_queries: int, agreement_bps: int):
    """The agreement rule: a revealer agrees iff matches * 10000 >= agreementBps * Q (exact integers).

    Works on one count (returns bool) or an array of counts (returns a bool array).
    """
    m = np.asarray(match_count, dtype=np.int64)
    out = m * BPS >= int(agreement_bps) * int(num_queries)
    return bool(out) if out.ndim == 0 else out


def min_matches(num_queries: int, agreement_bps: int) -> int:
    """The fewest matches that agree: the least m with m * 10000 >= agreementBps * Q."""
    return -(-int(agreement_bps) * int(num_queries) // BPS)


def penalty(stake: int, bps: int) -> int:
    """The slash on `stake` at `bps`: ceil(stake * bps / 10000), so the pool never promises more than it took."""
    return -(-int(stake) * int(bps) // BPS)


def reward_share(pool: int, weight: int, agreed_weight: int) -> int:
    """An agreeing revealer's share of the pool: floor(pool * weight / agreedWeight) (dust to the treasury)."""
    return int(pool) * int(weight) // int(agreed_weight) if agreed_weight else 0


def vote_weight(stake: int, equal_weights: bool) -> int:
    """A submission's weight in the tally and the reward split: 1 each, or its stake in wei."""
    return 1 if equal_weights else int(stake)


def quorum_met(revealers: int, revealed_weight: int, committed_weight: int, params: Params) -> bool:
    """The round finalizes (else fails) iff it has at least min_revealers revealers (and one) and
    revealed weight * 10000 >= quorumBps * committed weight."""
    return (revealers != 0 and revealers >= params.min_revealers
            and int(revealed_weight) * BPS >= int(committed_weight) * params.quorum_bps)


def deviators(match_counts, num_queries: int, agreement_bps: int) -> np.ndarray:
    """Bool mask of revealers the agreement rule slashes (`not agrees`)."""
    return ~np.asarray(agrees(np.atleast_1d(match_counts), num_queries, agreement_bps), dtype=bool)
