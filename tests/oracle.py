"""The tests' one independent oracle of the protocol's rules: what finalize() and claim() decide, restated
from docs/protocol.md without importing cl_client's implementation of them (cl_client.protocol).

Contract tests compare the contract with it; client, simulation and live tests compare cl_client and the
on-chain results with it. Any other test that needs "the plurality" or "the settlement" imports it from
here -- no test re-types a rule.

    plurality(rows, weights, q, k)   weighted plurality per query, ties to the smallest label
    settle(params, q, k, ...)        the whole settlement: quorum, consensus, scores, penalties, shares
    ceil_penalty(stake, bps)         the slash, rounded up
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

BPS = 10_000


class Status(IntEnum):
    """IConsensusLearning.Status, restated (the oracle's own copy)."""

    NONE = 0
    COMMITTED = 1
    REVEALED = 2
    AGREED = 3
    DEVIATED = 4


@dataclass(frozen=True)
class Params:
    """IConsensusLearning.Params, in ABI order."""

    quorumBps: int = 5_000
    minRevealers: int = 3
    agreementBps: int = 2_600
    deviatorSlashBps: int = 1_000
    nonRevealSlashBps: int = 2_000
    equalWeights: bool = False
    minStake: int = 10**16

    def astuple(self) -> tuple:
        return (self.quorumBps, self.minRevealers, self.agreementBps, self.deviatorSlashBps,
                self.nonRevealSlashBps, self.equalWeights, self.minStake)

    def replace(self, **changes) -> "Params":
        return Params(**{**self.__dict__, **changes})


DEFAULTS = Params()


def ceil_penalty(stake: int, bps: int) -> int:
    return -(-stake * bps // BPS)


def plurality(rows: list[bytes], weights: list[int], q: int, k: int) -> bytes:
    """Weighted plurality per query; ties go to the smallest label."""
    out = bytearray(q)
    for j in range(q):
        tally = [0] * k
        for row, w in zip(rows, weights):
            tally[row[j]] += w
        out[j] = max(range(k), key=lambda label: (tally[label], -label))
    return bytes(out)


@dataclass
class Outcome:
    failed: bool
    consensus: bytes | None = None
    matches: dict = field(default_factory=dict)
    status: dict = field(default_factory=dict)
    penalty: dict = field(default_factory=dict)
    reward: dict = field(default_factory=dict)
    slashed: int = 0
    pool: int = 0
    agreed_weight: int = 0
    dust: int = 0
    treasury_in: int = 0  # what finalize() adds to the treasury
    refund: int = 0


def settle(params: Params, q: int, k: int, reward: int, bonus: int, stakes: dict, revealed: dict) -> Outcome:
    """What finalize() decides and what each claim() pays / takes, computed independently.

    stakes: {address: committed stake} of every committer; revealed: {address: labels} of the revealers.
    """
    weight = (lambda a: 1) if params.equalWeights else (lambda a: stakes[a])
    committed_w = sum(weight(a) for a in stakes)
    revealed_w = sum(weight(a) for a in revealed)
    non_revealers = [a for a in stakes if a not in revealed]
    nr_penalty = {a: ceil_penalty(stakes[a], params.nonRevealSlashBps) for a in non_revealers}
    n = len(revealed)
    if n == 0 or n < params.minRevealers or revealed_w * BPS < committed_w * params.quorumBps:
        out = Outcome(failed=True, refund=reward)
        out.status = {**{a: Status.COMMITTED for a in non_revealers}, **{a: Status.REVEALED for a in revealed}}
        out.penalty = {**nr_penalty, **{a: 0 for a in revealed}}
        out.reward = {a: 0 for a in stakes}
        out.slashed = sum(nr_penalty.values())
        out.treasury_in = bonus + out.slashed
        return out

    order = sorted(revealed, key=lambda a: int(a, 16))
    cons = plurality([revealed[a] for a in order], [weight(a) for a in order], q, k)
    out = Outcome(failed=False, consensus=cons)
    slashed = sum(nr_penalty.values())
    agreed = []
    for a in order:
        m = sum(x == y for x, y in zip(revealed[a], cons))
        out.matches[a] = m
        if m * BPS >= params.agreementBps * q:
            out.status[a] = Status.AGREED
            agreed.append(a)
            out.penalty[a] = 0
        else:
            out.status[a] = Status.DEVIATED
            out.penalty[a] = ceil_penalty(stakes[a], params.deviatorSlashBps)
            slashed += out.penalty[a]
    for a in non_revealers:
        out.status[a] = Status.COMMITTED
        out.penalty[a] = nr_penalty[a]
    out.slashed = slashed
    out.pool = reward + bonus + slashed
    out.agreed_weight = sum(weight(a) for a in agreed)
    out.reward = {a: 0 for a in stakes}
    for a in agreed:
        out.reward[a] = out.pool * weight(a) // out.agreed_weight
    out.dust = out.pool - sum(out.reward.values())
    out.treasury_in = out.dust
    return out
