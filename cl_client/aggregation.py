"""Aggregation rules: how N participants' label vectors for a batch of Q queries become one answer.

The contract's rule is a stake-weighted plurality per query (`cl_client.protocol.plurality`); the paper
(Magureanu & Usher, arXiv 2402.16157) instead lets the participants talk to each other in a gossip
"communication phase". This module puts both behind one small seam so that experiments can swap them:

    rule = make_rule("snowball", k=6, alpha=4, beta=8, seed=0)
    out = rule.aggregate(labels, num_classes=10, byzantine=mask)   # labels: (N, Q) ints
    out.labels          # (Q,) the consensus
    out.stats           # {"rounds": ..., "messages": ..., ...} (empty for the on-chain rule)

    RULES               {"plurality": OnChainPlurality, "snowball": Snowball}
    make_rule(name, **params)          a rule by name (mirrors cl_client.strategies.make_strategy)
    compare_under_byzantine(...)       plurality vs Snowball as the Byzantine share grows (pure numpy, seeded)

Style (Flower strategies, sklearn estimators): `__init__` only stores and validates parameters;
`aggregate` does the work; randomness comes from a seed or a `numpy.random.Generator`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from .protocol import plurality

__all__ = ["Aggregate", "AggregationRule", "OnChainPlurality", "Snowball", "ADVERSARIES", "RULES",
           "make_rule", "compare_under_byzantine"]


@dataclass
class Aggregate:
    """What an aggregation rule returns.

    Attributes
    ----------
    labels : ndarray of shape (Q,), int64
        The consensus label per query.
    stats : dict
        Rule-specific numbers for reports (JSON-friendly Python scalars); `{}` for the on-chain rule.
        `Snowball.aggregate` documents its keys.
    preferences : ndarray of shape (N, Q) or None
        Gossip rules: each participant's final preference (Byzantine rows: -1). None for plurality.
    decided_round : ndarray of shape (N, Q) or None
        Gossip rules: the round (1-based) in which each participant decided, 0 if it never did
        (Byzantine participants never decide). None for plurality.
    """

    labels: np.ndarray
    stats: dict = field(default_factory=dict)
    preferences: Optional[np.ndarray] = None
    decided_round: Optional[np.ndarray] = None


class AggregationRule:
    """Base class of an aggregation rule.

    Subclasses set `name`, store their parameters in `__init__` (validated there, with a ValueError
    that shows a correct call) and implement `aggregate`.
    """

    name = "rule"

    def params(self) -> dict:
        """The rule's parameters as a plain dict (for reports); by default its public attributes."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def aggregate(self, labels, num_classes: int, *, weights=None, byzantine=None,
                  rng: Optional[np.random.Generator] = None) -> Aggregate:
        """Turn the participants' labels into one label per query.

        Parameters
        ----------
        labels : array_like of shape (N, Q), ints in 0..num_classes-1
            Each participant's labels. For a Byzantine participant: the labels it committed (what the
            "lie" adversary keeps answering).
        num_classes : int
            K, the number of classes.
        weights : array_like of shape (N,), non-negative ints, optional
            Stakes (vote weights); None: one each.
        byzantine : array_like of shape (N,), bool, optional
            True for Byzantine participants. Rules that cannot tell (the contract) ignore it.
        rng : numpy.random.Generator, optional
            Randomness for randomised rules; overrides the rule's own seed.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params().items())})"


def _check_labels(labels, num_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be an (N participants, Q queries) array, got shape {labels.shape}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    k = int(num_classes)
    if k < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must be in 0..{k - 1} (num_classes={k})")
    return labels


def _check_mask(byzantine, n: int) -> np.ndarray:
    if byzantine is None:
        return np.zeros(n, dtype=bool)
    mask = np.asarray(byzantine, dtype=bool)
    if mask.shape != (n,):
        raise ValueError(f"byzantine must be a bool mask of shape ({n},), got shape {mask.shape}")
    return mask


class OnChainPlurality(AggregationRule):
    """The contract's rule: stake-weighted plurality per query, ties to the smallest label.

    Calls `cl_client.protocol.plurality` (the one Python statement of the on-chain rule). The contract
    cannot tell Byzantine participants apart, so `byzantine` is ignored: their committed labels vote
    like any other. Deterministic; `rng` is ignored. `stats` is empty.
    """

    name = "plurality"

    def aggregate(self, labels, num_classes: int, *, weights=None, byzantine=None, rng=None) -> Aggregate:
        consensus = plurality(labels, num_classes, weights)  # validates labels and weights
        if byzantine is not None:
            _check_mask(byzantine, np.shape(labels)[0])
        return Aggregate(labels=consensus, stats={})


ADVERSARIES = ("lie", "split", "equivocate")
"""Byzantine answering strategies of `Snowball` (see its docstring)."""


class Snowball(AggregationRule):
    """Snowball gossip consensus (Avalanche family), run independently on every query, vectorised.

    Team Rocket, "Scalable and Probabilistic Leaderless BFT Consensus through Metastability" (2019),
    Snowball (Fig. 3 there), in the multi-valued form: one instance per query, all queries and
    participants advanced together with numpy.

    Protocol, per query (rounds are synchronous: every answer in a round is the peer's preference at the
    start of the round):

    * Each honest participant starts preferring its own label, with confidence counters d[c] = 0 for
      every label c and consecutive-success counter cnt = 0.
    * Each round, every *undecided* honest participant samples `k` peers uniformly without replacement
      among the N - 1 others (never itself; with `weights`, see below) and asks each for its current
      preference. If at least `alpha` of the k answers are one label c (alpha is a count with
      k/2 < alpha <= k, so c is unique):

        - d[c] += 1; if d[c] > d[preference] the preference becomes c (Snowball's counters: the
          preference is the label of highest confidence, ties keep the current preference);
        - cnt += 1 if c equals the label of the previous successful round, else cnt = 1.

      A round without an alpha-majority sets cnt = 0.
    * After `beta` consecutive successes (cnt == beta) the participant decides: it stops sampling and
      changing, and keeps answering its (decided) preference to those who ask.
    * Byzantine participants never decide and answer according to `adversary`:

        ``"lie"``         always their own committed label (a colluding group passes one shared
                          labelling, a lazy one random labels);
        ``"split"``       the label that is currently the *second* most preferred among honest
                          participants on that query (ties to the smallest label; with a single
                          candidate label, that label), the same answer to every asker: it feeds
                          the runner-up and so works to keep the honest network split;
        ``"equivocate"``  per asker (Byzantines may tell different peers different things): to an
                          asker that prefers the currently most preferred honest label, the
                          runner-up ("split"'s answer); to any other asker, its own preference.
                          It pulls the leading camp towards the runner-up and props up every
                          minority camp.

    * The run stops when every honest participant has decided on every query, or after `max_rounds`
      (undecided participants then keep their current preference; `stats["undecided"]` counts them).

    Messages are counted explicitly: one query and one reply per sampled peer, i.e. 2 messages per
    peer, so 2 * k per undecided honest participant per query per round. Byzantine participants send
    no queries (they need none) and are not counted; messages are not batched across queries.

    The returned `labels` are, per query, the label most honest participants finally prefer (ties to
    the smallest label). In a real peer-to-peer network there is no such tally: each participant has
    its own decision, so `stats` also reports how far they agree.

    Parameters
    ----------
    k : int, default 6
        Sample size. Must be at most N - 1 (a ValueError is raised at `aggregate` time otherwise:
        k is not silently clamped, because alpha is a count relative to k).
    alpha : int, default 4
        Quorum: answers (of k) that must agree for a successful round; k/2 < alpha <= k.
    beta : int, default 8
        Consecutive successes needed to decide.
    max_rounds : int, default 200
        Give up after this many rounds.
    adversary : {"lie", "split", "equivocate"}, default "lie"
        How Byzantine participants answer.
    seed : int or None, default None
        Seed of the generator used when `aggregate` is not given `rng`.

    Notes
    -----
    Defaults for N = 10 (Avalanche's mainnet k=20, alpha=15, beta=20 need more than 20 participants).
    Measured with `compare_under_byzantine`: N = 10, K = 10, Q = 2000, models with independent errors
    of accuracy 0.8 and 0.6, 3-5 seeds, 0-3 Byzantines, every adversary:

    * alpha/k near 0.6 (k=5, alpha=3; k=3, alpha=2) loses to a colluding 3 of 10 ("lie" with one shared
      labelling): Snowball 0.42-0.65 below plurality's accuracy (about 0.96), because Byzantines never
      change while honest participants flip on one lucky early poll and then pull the others along.
    * alpha/k = 0.8 (k=5, alpha=4) keeps the accuracy but not liveness: with 3 Byzantines a poll of 5
      succeeds with probability 51/126 = 0.40 even when every honest participant agrees, and beta
      consecutive successes rarely come: 54 % of (participant, query) pairs undecided after 200 rounds.
    * k=6, alpha=4: 3 Byzantines alone can never form an alpha-majority (3 < 4), and a poll of unanimous
      honest peers succeeds with probability 64/84 = 0.76; with "lie" at 3/10, accuracy within 0.04 of
      plurality and 1.4 % of pairs undecided (accuracy-0.8 models; 11 % with accuracy 0.6, where 5 %
      stay undecided even with no Byzantines: queries on which no label has an alpha-share of models).
    * beta (with k=6, alpha=4): beta=3 let honest participants decide differently on up to 1289 of
      10000 queries with 3 Byzantines, beta=5 on up to 25, beta=8 and 10 on none in any measured case;
      beta=8 costs about 8.5 rounds and 100 messages per participant per query with no Byzantines
      (beta=10: 10.5 rounds, 123 messages), hence beta=8.

    k must be at most N - 1, so the defaults need N >= 7; smaller networks must pass k and alpha.
    The adaptive adversaries are stronger than "lie" here: at 3/10, "split" and "equivocate" take
    Snowball's accuracy to about 0.75 where plurality keeps 0.96 (accuracy-0.8 models).

    Weights: if `aggregate` is given `weights`, peers are sampled with probability proportional to
    weight, without replacement (Efraimidis-Spirakis keys; Avalanche samples validators by stake);
    zero-weight participants are never sampled. The final tally of `labels` is one vote per honest
    participant either way.
    """

    name = "snowball"

    def __init__(self, k: int = 6, alpha: int = 4, beta: int = 8, max_rounds: int = 200,
                 adversary: str = "lie", seed: Optional[int] = None):
        for label, value in (("k", k), ("alpha", alpha), ("beta", beta), ("max_rounds", max_rounds)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{label} must be an integer count, got {value!r}; "
                                 f"e.g. Snowball(k=6, alpha=4, beta=8)")
        if k < 1:
            raise ValueError(f"k must be at least 1, got k={k}; e.g. Snowball(k=6, alpha=4)")
        if not (2 * alpha > k and alpha <= k):
            raise ValueError(f"alpha must satisfy k/2 < alpha <= k (a count of the k answers), got alpha={alpha} "
                             f"with k={k}; e.g. Snowball(k={k}, alpha={k // 2 + 1})")
        if beta < 1:
            raise ValueError(f"beta must be at least 1, got beta={beta}; e.g. Snowball(beta=8)")
        if max_rounds < 1:
            raise ValueError(f"max_rounds must be at least 1, got {max_rounds}; e.g. Snowball(max_rounds=200)")
        if adversary not in ADVERSARIES:
            raise ValueError(f"adversary must be one of {', '.join(map(repr, ADVERSARIES))}, got {adversary!r}; "
                             f"e.g. Snowball(adversary='split')")
        self.k = int(k)
        self.alpha = int(alpha)
        self.beta = int(beta)
        self.max_rounds = int(max_rounds)
        self.adversary = adversary
        self.seed = seed

    # ------------------------------------------------------------------------------------------ run

    def aggregate(self, labels, num_classes: int, *, weights=None, byzantine=None,
                  rng: Optional[np.random.Generator] = None) -> Aggregate:
        """Run Snowball on every query; see the class docstring for the protocol.

        Returns
        -------
        Aggregate
            `labels` (Q,): per query the label most honest participants finally prefer (ties to the
            smallest). `preferences` and `decided_round` (N, Q) per participant. `stats`:

            ``rounds``                      rounds run (every undecided participant polls once per round);
                                            when all decided, the max over queries of the round in which
                                            the last honest participant decided
            ``rounds_mean``                 mean over queries of the round in which the last honest
                                            participant decided (queries still undecided count as
                                            ``rounds``: a lower bound)
            ``messages``                    total messages, 2 per sampled peer (query + reply)
            ``messages_per_participant_query``  messages / (honest participants * Q)
            ``polls``                       (honest participant, query, round) polls made; messages = 2 k polls
            ``undecided``                   (honest participant, query) pairs undecided at the end
            ``undecided_queries``           queries with at least one undecided honest participant
            ``agreement``                   share of (honest participant, query) pairs whose final
                                            preference equals `labels`
            ``disagreement_queries``        queries on which two honest participants *decided* different
                                            labels: safety failures
            ``split_queries``               queries on which honest final preferences (decided or not) differ
            ``honest``, ``byzantine``       participant counts
        """
        labels = _check_labels(labels, num_classes)
        n, q = labels.shape
        byz = _check_mask(byzantine, n)
        honest_ids = np.flatnonzero(~byz)
        h = honest_ids.size
        if h == 0:
            raise ValueError("Snowball needs at least one honest participant (byzantine is all True)")
        if self.k > n - 1:
            raise ValueError(f"k={self.k} peers cannot be sampled from the {n - 1} others of N={n} participants; "
                             f"use k <= N - 1, e.g. Snowball(k={max(1, n - 1)}, alpha={(max(1, n - 1)) // 2 + 1})")
        w = self._check_weights(weights, n, honest_ids)
        gen = rng if rng is not None else np.random.default_rng(self.seed)

        # Compact labels per query: only labels someone committed can ever be preferred or answered, so
        # work with their rank among the query's distinct labels (rank order = label order, which keeps
        # "ties to the smallest label"). M <= min(N, K) keeps the confidence counters small.
        uniq, compact = _compact(labels)
        m = uniq.shape[0]
        committed = compact  # (N, Q): what "lie" answers
        pref = compact[honest_ids].copy()  # (H, Q) honest preferences
        counter_dtype = np.int16 if self.max_rounds < np.iinfo(np.int16).max else np.int32
        conf = np.zeros((h, q, m), dtype=counter_dtype)  # d[c]
        last = np.full((h, q), -1, dtype=np.int64)  # label of the previous successful round
        cnt = np.zeros((h, q), dtype=np.int32)  # consecutive successes
        decided_round = np.zeros((h, q), dtype=np.int64)
        active = np.ones((h, q), dtype=bool)
        answers = committed.copy()  # (N, Q): what each participant answers this round
        polls = 0
        rounds = 0
        k, alpha, beta = self.k, self.alpha, self.beta
        cols = np.arange(q)

        while rounds < self.max_rounds:
            ui, uq = np.nonzero(active)
            if ui.size == 0:
                break
            rounds += 1
            answers[honest_ids] = pref
            top = None
            if self.adversary != "lie" and byz.any():
                counts = _tally(pref, m)  # (M, Q) honest preference counts
                top = np.argsort(-counts, axis=0, kind="stable")  # rank 0 = most preferred, ties smallest
                if self.adversary == "split":
                    answers[byz] = top[min(1, m - 1)][None, :]
            peers = self._sample(honest_ids[ui], n, w, gen)  # (U, k) participant ids
            got = answers[peers, uq[:, None]]  # (U, k)
            if self.adversary == "equivocate" and top is not None:
                mine = pref[ui, uq]
                alt = np.where(mine == top[0][uq], top[min(1, m - 1)][uq], mine)
                got = np.where(byz[peers], alt[:, None], got)
            polls += ui.size

            cand, hits = _majority(got)
            ok = hits >= alpha
            si, sq, sc = ui[ok], uq[ok], cand[ok]
            conf[si, sq, sc] += 1  # (si, sq) pairs are distinct: no lost updates
            cur = pref[si, sq]
            pref[si, sq] = np.where(conf[si, sq, sc] > conf[si, sq, cur], sc, cur)
            cnt[si, sq] = np.where(last[si, sq] == sc, cnt[si, sq] + 1, 1)
            last[si, sq] = sc
            cnt[ui[~ok], uq[~ok]] = 0
            done = cnt[si, sq] >= beta
            active[si[done], sq[done]] = False
            decided_round[si[done], sq[done]] = rounds

        final = plurality(pref, m)  # the honest participants' final preferences; compact ranks keep label order
        out_labels = uniq[final, cols]
        decided = decided_round > 0
        big = m + 1
        lo = np.where(decided, pref, big).min(axis=0)
        hi = np.where(decided, pref, -1).max(axis=0)
        last_decision = np.where(active.any(axis=0), rounds, decided_round.max(axis=0))

        preferences = np.full((n, q), -1, dtype=np.int64)
        preferences[honest_ids] = uniq[pref, cols[None, :]]
        rounds_full = np.zeros((n, q), dtype=np.int64)
        rounds_full[honest_ids] = decided_round
        messages = 2 * k * polls
        stats = {
            "rounds": int(rounds),
            "rounds_mean": float(last_decision.mean()) if q else 0.0,
            "messages": int(messages),
            "messages_per_participant_query": float(messages / (h * q)) if q else 0.0,
            "polls": int(polls),
            "undecided": int(active.sum()),
            "undecided_queries": int(active.any(axis=0).sum()),
            "agreement": float((pref == final[None, :]).mean()) if q else 1.0,
            "disagreement_queries": int(((hi >= 0) & (lo != hi)).sum()),
            "split_queries": int((pref.min(axis=0) != pref.max(axis=0)).sum()),
            "honest": int(h),
            "byzantine": int(n - h),
        }
        return Aggregate(labels=out_labels.astype(np.int64), stats=stats, preferences=preferences,
                         decided_round=rounds_full)

    # ------------------------------------------------------------------------------------------ helpers

    def _check_weights(self, weights, n: int, honest_ids: np.ndarray) -> Optional[np.ndarray]:
        if weights is None:
            return None
        raw = [int(x) for x in weights]
        if len(raw) != n:
            raise ValueError(f"{len(raw)} weights for {n} participants")
        if any(x < 0 for x in raw):
            raise ValueError("weights must be non-negative")
        if len(set(raw)) == 1 and raw[0] > 0:
            return None  # equal weights: uniform sampling
        w = np.array([float(x) for x in raw])  # proportions only: float is enough for sampling wei stakes
        positive = w > 0
        for i in honest_ids:
            if positive.sum() - positive[i] < self.k:
                raise ValueError(f"participant {i} has fewer than k={self.k} peers with positive weight to sample")
        return w

    def _sample(self, askers: np.ndarray, n: int, w: Optional[np.ndarray], gen: np.random.Generator) -> np.ndarray:
        """k distinct peers (never the asker) per asker: uniform (Floyd's algorithm) or weighted."""
        k, u = self.k, askers.size
        if w is None:
            chosen = np.empty((u, k), dtype=np.int64)
            for j, top in enumerate(range(n - 1 - k, n - 1)):  # Floyd: a uniform k-subset of 0..n-2
                t = gen.integers(0, top + 1, size=u)
                if j:
                    t = np.where((chosen[:, :j] == t[:, None]).any(axis=1), top, t)
                chosen[:, j] = t
            return chosen + (chosen >= askers[:, None])  # skip the asker's own id
        # Efraimidis-Spirakis: the k largest log(U)/w are a weighted sample without replacement
        out = np.empty((u, k), dtype=np.int64)
        with np.errstate(divide="ignore"):
            inv = np.where(w > 0, 1.0 / w, np.inf)
        chunk = max(1, 2_000_000 // n)
        for start in range(0, u, chunk):
            a = askers[start:start + chunk]
            keys = np.log(gen.random((a.size, n))) * inv[None, :]
            keys[np.arange(a.size), a] = -np.inf
            out[start:start + chunk] = np.argpartition(-keys, k - 1, axis=1)[:, :k]
        return out


def _compact(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per query, rank each label among the query's distinct labels.

    Returns (uniq, compact): uniq (M, Q) the distinct labels in increasing order (padded with the largest),
    compact (N, Q) the rank of each participant's label, so that uniq[compact[i, j], j] == labels[i, j].
    """
    n, q = labels.shape
    order = np.argsort(labels, axis=0, kind="stable")
    srt = np.take_along_axis(labels, order, axis=0)
    new = np.ones_like(srt, dtype=bool)
    new[1:] = srt[1:] != srt[:-1]
    rank = np.cumsum(new, axis=0) - 1
    compact = np.empty_like(rank)
    np.put_along_axis(compact, order, rank, axis=0)
    m = int(rank.max()) + 1 if labels.size else 1
    uniq = np.empty((m, q), dtype=np.int64)
    uniq[:] = srt[-1:] if labels.size else 0
    cols = np.broadcast_to(np.arange(q), (n, q))
    uniq[rank, cols] = srt
    return uniq, compact


def _tally(pref: np.ndarray, m: int) -> np.ndarray:
    """(M, Q) counts of each compact label among the rows of pref."""
    counts = np.zeros((m, pref.shape[1]), dtype=np.int64)
    cols = np.arange(pref.shape[1])
    for row in pref:
        counts[row, cols] += 1
    return counts


def _majority(got: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the Boyer-Moore majority candidate and how often it occurs (exact for any count > k/2)."""
    cand = got[:, 0].copy()
    run = np.ones(got.shape[0], dtype=np.int64)
    for j in range(1, got.shape[1]):
        a = got[:, j]
        same = a == cand
        empty = run == 0
        cand = np.where(empty, a, cand)
        run = np.where(empty | same, run + 1, run - 1)
    return cand, (got == cand[:, None]).sum(axis=1)


RULES: dict[str, type[AggregationRule]] = {
    "plurality": OnChainPlurality,
    "snowball": Snowball,
}


def make_rule(name: Any = "plurality", **params) -> AggregationRule:
    """An aggregation rule by name (see RULES); keyword arguments go to its constructor.

    An AggregationRule instance is returned unchanged (as make_strategy does for strategies).
    """
    if isinstance(name, AggregationRule):
        return name
    try:
        cls = RULES[str(name).lower()]
    except KeyError:
        raise ValueError(f"unknown aggregation rule {name!r}; choose one of {', '.join(RULES)}") from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"bad options for aggregation rule {name!r}: {exc}") from None


# ---------------------------------------------------------------------------------------------- experiments


def compare_under_byzantine(honest_labels, truth, num_classes: int, byzantine: Sequence,
                            byzantine_labels, *, order=None, adversary: str = "lie",
                            snowball_params: Optional[dict] = None, weights=None, seed: int = 0) -> list[dict]:
    """Plurality (the contract) vs Snowball (gossip) as Byzantine participants replace honest ones.

    For each entry b of `byzantine`, the participants order[:b] become Byzantine: their rows of
    `honest_labels` are replaced by their rows of `byzantine_labels` (what they commit, and what the
    "lie" adversary answers), then both rules aggregate the same matrix. Pure numpy, seeded.

    Parameters
    ----------
    honest_labels : array_like (N, Q)
        What each participant's model predicts (its label when honest).
    truth : array_like (Q,)
        The true labels.
    num_classes : int
        K.
    byzantine : sequence of int or float
        Byzantine counts (int) or shares of N (float in [0, 1], rounded to the nearest count).
    byzantine_labels : array_like (N, Q) or (Q,)
        Row i: participant i's labels when it is Byzantine. A (Q,) vector is one labelling shared by
        all Byzantines (collusion); random rows model lazy liars.
    order : array_like (N,), optional
        Who turns Byzantine first (a permutation of 0..N-1); default 0, 1, ..., N-1.
    adversary : str
        Snowball's adversary ("lie", "split", "equivocate").
    snowball_params : dict, optional
        Other Snowball parameters (k, alpha, beta, max_rounds); defaults otherwise.
    weights : array_like (N,), optional
        Stakes for both rules (plurality weighting, Snowball's peer sampling).
    seed : int
        Each entry gets an independent child of numpy SeedSequence(seed).

    Returns
    -------
    list of dict, one per entry:
        ``byzantine`` (count), ``share`` (count / N), ``plurality_accuracy`` and ``snowball_accuracy``
        (share of queries whose consensus equals truth), ``honest_plurality_accuracy`` (plurality of the
        honest rows only: what an aggregator that could drop the Byzantines would get),
        ``snowball_participant_accuracy`` (mean over honest participants and queries of final
        preference == truth), ``snowball_vs_plurality`` (share of queries where the two rules agree),
        and Snowball's stats ``rounds``, ``rounds_mean``, ``messages``, ``messages_per_participant_query``,
        ``undecided``, ``agreement``, ``disagreement_queries``.
    """
    honest_labels = _check_labels(honest_labels, num_classes)
    n, q = honest_labels.shape
    truth = np.asarray(truth, dtype=np.int64)
    if truth.shape != (q,):
        raise ValueError(f"truth must have shape ({q},), got {truth.shape}")
    bad = np.asarray(byzantine_labels, dtype=np.int64)
    if bad.shape == (q,):
        bad = np.broadcast_to(bad, (n, q))
    if bad.shape != (n, q):
        raise ValueError(f"byzantine_labels must have shape ({n}, {q}) or ({q},), got {bad.shape}")
    order = np.arange(n) if order is None else np.asarray(order, dtype=np.int64)
    if sorted(order.tolist()) != list(range(n)):
        raise ValueError(f"order must be a permutation of 0..{n - 1}")
    rule = Snowball(**{**(snowball_params or {}), "adversary": adversary})
    children = np.random.SeedSequence(seed).spawn(len(byzantine))
    rows = []
    for entry, child in zip(byzantine, children):
        if isinstance(entry, (float, np.floating)):
            if not 0.0 <= entry <= 1.0:
                raise ValueError(f"a Byzantine share must be in [0, 1], got {entry}")
            b = int(np.floor(entry * n + 0.5))
        else:
            b = int(entry)
        if not 0 <= b < n:
            raise ValueError(f"Byzantine count must be 0..{n - 1} (Snowball needs an honest participant), got {b}")
        mask = np.zeros(n, dtype=bool)
        mask[order[:b]] = True
        labels = np.where(mask[:, None], bad, honest_labels)
        plur = plurality(labels, num_classes, weights)
        honest_w = None if weights is None else [x for x, m in zip(weights, mask) if not m]
        honest_plur = plurality(labels[~mask], num_classes, honest_w)
        out = rule.aggregate(labels, num_classes, weights=weights, byzantine=mask,
                             rng=np.random.default_rng(child))
        prefs = out.preferences[~mask]
        s = out.stats
        rows.append({
            "byzantine": b,
            "share": b / n,
            "plurality_accuracy": float((plur == truth).mean()),
            "honest_plurality_accuracy": float((honest_plur == truth).mean()),
            "snowball_accuracy": float((out.labels == truth).mean()),
            "snowball_participant_accuracy": float((prefs == truth[None, :]).mean()),
            "snowball_vs_plurality": float((out.labels == plur).mean()),
            **{key: s[key] for key in ("rounds", "rounds_mean", "messages", "messages_per_participant_query",
                                       "undecided", "agreement", "disagreement_queries")},
        })
    return rows
