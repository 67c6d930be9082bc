"""Strategies: what a participant commits and reveals, given its model's predictions.

One small class each; honest participants use `Honest`, the others model Byzantine behaviour for
experiments. Plug in your own by subclassing `Strategy`.

    s = make_strategy("flip")
    committed = s.labels(predictions, num_classes=10, round_id=7, rng=np.random.default_rng(0))
    revealed = s.reveal_labels(committed, others_revealed={})   # what reveal() is called with
"""
from __future__ import annotations

import numpy as np

from .protocol import BPS, LIMITS, plurality


def _check_k(num_classes: int) -> int:
    k = int(num_classes)
    if not 2 <= k <= 256:
        raise ValueError(f"num_classes must be 2..256, got {num_classes}")
    return k


class Strategy:
    """Base class: commit the model's predictions and reveal what was committed.

    Class attributes a subclass may change:
        name            short name used by make_strategy and in reports
        reveals         False: never reveal (the stake is slashed as a non-revealer)
        uses_model      False: only len(predictions) matters (the participant needs no trained model;
                        it then passes zeros)
        needs_others    True: reveal_labels wants the labels others revealed so far
        reveal_delay    fraction (0..1) of the reveal window to wait before revealing
        min_stake       True: a Sybil-army member; the simulation stakes only the minimum for it
    """

    name = "strategy"
    reveals: bool = True
    uses_model: bool = True
    needs_others: bool = False
    reveal_delay: float = 0.0
    min_stake: bool = False  # True: the simulation deposits only the round's minimum stake (a Sybil)

    def labels(self, predictions: np.ndarray, num_classes: int, *, round_id: int,
               rng: np.random.Generator) -> np.ndarray:
        """The labels to commit: Q ints in 0..num_classes-1."""
        return np.asarray(predictions, dtype=np.int64).copy()

    def reveal_labels(self, committed: np.ndarray, others_revealed: dict[str, bytes]) -> np.ndarray:
        """The labels to reveal (the contract only accepts the committed ones)."""
        return np.asarray(committed, dtype=np.int64)

    def __repr__(self) -> str:
        params = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in params.items())})"


class Honest(Strategy):
    """Commit and reveal the model's predictions."""

    name = "honest"


class RandomLabels(Strategy):
    """Commit uniformly random labels (a lazy participant with no model)."""

    name = "random"
    uses_model = False

    def labels(self, predictions, num_classes, *, round_id, rng):
        k = _check_k(num_classes)
        return rng.integers(0, k, size=len(predictions), dtype=np.int64)


class LabelFlip(Strategy):
    """Commit a fixed permutation of the predictions: label c becomes permutation[c].

    The default permutation is c -> (c + shift) mod K, which changes every label.
    """

    name = "flip"

    def __init__(self, permutation=None, shift: int = 1):
        self.permutation = None if permutation is None else [int(c) for c in permutation]
        self.shift = int(shift)

    def mapping(self, num_classes: int) -> np.ndarray:
        k = _check_k(num_classes)
        if self.permutation is None:
            return (np.arange(k) + self.shift) % k
        perm = np.asarray(self.permutation, dtype=np.int64)
        if sorted(perm.tolist()) != list(range(k)):
            raise ValueError(f"permutation must rearrange 0..{k - 1}, got {self.permutation}")
        return perm

    def labels(self, predictions, num_classes, *, round_id, rng):
        preds = np.asarray(predictions, dtype=np.int64)
        return self.mapping(num_classes)[preds]


class ConstantLabel(Strategy):
    """Commit the same label for every query."""

    name = "constant"
    uses_model = False

    def __init__(self, label: int = 0):
        self.label = int(label)

    def labels(self, predictions, num_classes, *, round_id, rng):
        k = _check_k(num_classes)
        if not 0 <= self.label < k:
            raise ValueError(f"constant label {self.label} is not in 0..{k - 1}")
        return np.full(len(predictions), self.label, dtype=np.int64)


class Colluding(Strategy):
    """Members of a group all commit one shared target labelling, derived from the group seed and round id.

    Every member with the same `group_seed` computes the same labels without talking to the others,
    and the target changes from round to round.
    """

    name = "collude"
    uses_model = False

    def __init__(self, group_seed: int = 0):
        self.group_seed = int(group_seed)

    def target(self, num_queries: int, num_classes: int, round_id: int) -> np.ndarray:
        k = _check_k(num_classes)
        shared = np.random.default_rng([self.group_seed, int(round_id)])
        return shared.integers(0, k, size=int(num_queries), dtype=np.int64)

    def labels(self, predictions, num_classes, *, round_id, rng):
        return self.target(len(predictions), num_classes, round_id)


class AdaptiveColluding(Colluding):
    """A colluding group that answers honestly on a fraction `honest_share` of the queries and sends the
    group's shared labelling on the rest.

    Which queries are answered honestly is itself shared (drawn from the group seed and round id), so the
    members' lies line up query for query while their honest answers carry the model's agreement with
    the honest participants (and the model's accuracy on any hidden audit query among them).
    """

    name = "adaptive"
    uses_model = True

    def __init__(self, group_seed: int = 0, honest_share: float = 0.5):
        super().__init__(group_seed)
        self.honest_share = float(honest_share)
        if not 0.0 <= self.honest_share <= 1.0:
            raise ValueError(f"honest_share must be in 0..1, got {honest_share}")

    def honest_mask(self, num_queries: int, round_id: int) -> np.ndarray:
        """The queries (a shared choice) on which the members answer with their model."""
        shared = np.random.default_rng([self.group_seed, int(round_id), 1])
        mask = np.zeros(int(num_queries), dtype=bool)
        mask[shared.permutation(int(num_queries))[: int(round(self.honest_share * num_queries))]] = True
        return mask

    def labels(self, predictions, num_classes, *, round_id, rng):
        preds = np.asarray(predictions, dtype=np.int64)
        target = self.target(len(preds), num_classes, round_id)
        return np.where(self.honest_mask(len(preds), round_id), preds, target)


class AuditAwareColluding(AdaptiveColluding):
    """An adaptive colluding group that chooses its honest share to pass an audit bound.

    The group does not know which queries are audits, so it answers honestly on enough of them that its
    expected audit accuracy, `honest_share * assumed_accuracy + (1 - honest_share) / K`, reaches the bound
    plus a margin: honest_share = (bound + margin - 1/K) / (assumed_accuracy - 1/K), clipped to 0..1.
    The bound is public (the round's auditBoundBps); the group's own model accuracy is its guess.
    """

    name = "audit-aware"

    def __init__(self, group_seed: int = 0, audit_bound_bps: int = 3000, assumed_accuracy: float = 0.6,
                 margin: float = 0.1, num_classes: int = 10):
        self.audit_bound_bps, self.assumed_accuracy = int(audit_bound_bps), float(assumed_accuracy)
        self.margin, self.num_classes = float(margin), int(num_classes)
        chance = 1.0 / _check_k(num_classes)
        if not chance < self.assumed_accuracy <= 1.0:
            raise ValueError(f"assumed_accuracy must be in (1/K, 1], got {assumed_accuracy}")
        share = (self.audit_bound_bps / 10_000 + self.margin - chance) / (self.assumed_accuracy - chance)
        super().__init__(group_seed, honest_share=float(np.clip(share, 0.0, 1.0)))


class CrowdAwareColluding(AuditAwareColluding):
    """An audit-aware group that also knows the crowd rule (docs/protocol.md, "Audit queries"): its members lie
    together, so each audit query they lie on is a strike for every member, and CROWD_STRIKE_BPS of G strikes
    exclude them. It lies on at most (strike share - margin) / (1 - 1/K) of the queries (a lie equals the
    truth 1/K of the time), and answers honestly on more if the audit bound asks for it. Its best response to
    the published rules: it stays in by lying less."""

    name = "crowd-aware"

    def __init__(self, group_seed: int = 0, audit_bound_bps: int = 3000, assumed_accuracy: float = 0.6,
                 margin: float = 0.1, num_classes: int = 10, strike_bps: int = LIMITS.crowd_strike_bps):
        super().__init__(group_seed, audit_bound_bps, assumed_accuracy, margin, num_classes)
        self.strike_bps = int(strike_bps)
        lie = (self.strike_bps / BPS - self.margin) / (1.0 - 1.0 / self.num_classes)
        self.honest_share = max(self.honest_share, float(np.clip(1.0 - lie, 0.0, 1.0)))


class SybilColluding(Colluding):
    """One of a Sybil army: many addresses, each staking only the round's minimum stake, all sending the
    group's shared labelling. The simulation reads `min_stake` to deposit the minimum for its members."""

    name = "sybil"
    min_stake = True


class NonRevealer(Strategy):
    """Commit honestly, then never reveal (e.g. a participant that went offline)."""

    name = "nonreveal"
    reveals = False


class Copier(Strategy):
    """Commit random labels, then try to reveal the plurality of what others revealed.

    The contract refuses labels that do not match the commitment (CommitmentMismatch), so a copier ends
    the round as a non-revealer and is slashed: copying gains nothing.
    """

    name = "copier"
    uses_model = False
    needs_others = True
    reveal_delay = 0.5  # wait for others to reveal first

    def labels(self, predictions, num_classes, *, round_id, rng):
        k = _check_k(num_classes)
        return rng.integers(0, k, size=len(predictions), dtype=np.int64)

    def reveal_labels(self, committed, others_revealed):
        committed = np.asarray(committed, dtype=np.int64)
        if not others_revealed:
            return committed
        rows = np.stack([np.frombuffer(bytes(v), dtype=np.uint8) for v in others_revealed.values()])
        if rows.shape[1] != len(committed):
            return committed
        k = int(max(rows.max(), committed.max())) + 1
        return plurality(rows, k)  # one vote each (the copier cannot see stakes cheaply); the contract's tie rule


STRATEGIES: dict[str, type[Strategy]] = {
    "honest": Honest,
    "random": RandomLabels,
    "flip": LabelFlip,
    "constant": ConstantLabel,
    "collude": Colluding,
    "adaptive": AdaptiveColluding,
    "audit-aware": AuditAwareColluding,
    "crowd-aware": CrowdAwareColluding,
    "sybil": SybilColluding,
    "nonreveal": NonRevealer,
    "copier": Copier,
}


def make_strategy(name: str = "honest", **kwargs) -> Strategy:
    """A strategy by name (see STRATEGIES); keyword arguments go to its constructor."""
    if isinstance(name, Strategy):
        return name
    try:
        cls = STRATEGIES[str(name).lower()]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}") from None
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad options for strategy {name!r}: {exc}") from None
