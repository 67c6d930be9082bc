"""The paper's theory check, off-chain: a majority of independent learners against the jury theorem.

N independent binary learners; learner i answers each query correctly with probability p_i, and the
p_i are drawn i.i.d. from Beta(a, b) (one draw of N accuracies per "committee"). For one query the
learners' correctness indicators are then independent Bernoulli(E[p_i]) once the draws are averaged
out, so the majority accuracy averaged over the draws is exactly the homogeneous (Condorcet) value

    P_N(p) = sum_{k > N/2} C(N, k) p^k (1 - p)^(N - k),   p = a / (a + b)

(plus half of the tie mass C(N, N/2) p^(N/2) (1-p)^(N/2) for even N: ties go to the smallest label, as
on-chain, which is the truth for half of the queries when the truth is uniform over {0, 1}).

`beta_check` simulates this with real label vectors and the contract's plurality rule
(`cl_client.protocol.plurality`: the smallest label, 0, wins ties), and
compares the empirical accuracy with P_N for a range of N.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from math import comb

import numpy as np

from ..protocol import plurality


def majority_accuracy(n: int, p: float) -> float:
    """P_N(p): probability that a plurality of n independent binary voters of accuracy p is right.

    Ties (even n) count as right half of the time (smallest-label rule, uniform binary truth).
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    total = sum(comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n // 2 + 1, n + 1))
    if n % 2 == 0:
        total += 0.5 * comb(n, n // 2) * p ** (n // 2) * (1 - p) ** (n // 2)
    return float(total)


def poisson_binomial_majority(p: np.ndarray) -> np.ndarray | float:
    """Exact plurality accuracy of independent binary voters with accuracies p (last axis = voters).

    p of shape (n,) gives a float; (draws, n) gives one value per committee.
    """
    p = np.asarray(p, dtype=float)
    single = p.ndim == 1
    p = np.atleast_2d(p)
    d, n = p.shape
    dist = np.zeros((d, n + 1))
    dist[:, 0] = 1.0
    for i in range(n):  # distribution of the number of correct voters, one voter at a time
        pi = p[:, i:i + 1]
        dist[:, 1:] = dist[:, 1:] * (1 - pi) + dist[:, :-1] * pi
        dist[:, 0] *= 1 - pi[:, 0]
    right = dist[:, n // 2 + 1:].sum(axis=1)
    if n % 2 == 0:
        right = right + 0.5 * dist[:, n // 2]
    return float(right[0]) if single else right


@dataclass
class BetaCheck:
    a: float
    b: float
    draws: int
    queries: int
    seed: int
    mean_accuracy: float
    ns: list[int]
    empirical: list[float]  # mean over draws of the committee's plurality accuracy on `queries` queries
    analytic: list[float]  # P_N(a / (a + b))
    standard_error: list[float]  # of `empirical`, from the spread across draws
    exact_mean: list[float] = field(default_factory=list)  # mean over draws of the exact per-committee value
    best_individual: list[float] = field(default_factory=list)  # mean over draws of the best learner's p
    max_deviation: float = 0.0  # max |empirical - analytic| over ns
    max_deviation_se: float = 0.0  # max |empirical - analytic| / standard error over ns

    def as_dict(self) -> dict:
        return asdict(self)


def beta_check(a: float = 2.0, b: float = 1.5, ns=(1, 3, 5, 7, 9, 11, 15, 21, 31), draws: int = 2000,
               queries: int = 200, seed: int = 0) -> BetaCheck:
    """Simulate committees of Beta(a, b)-accurate binary learners voting on label vectors.

    For each n and each of `draws` committees: draw n accuracies, a uniform binary truth for `queries`
    queries, each learner's labels (truth with probability p_i, else the other label), the plurality
    (smallest label on ties), and its accuracy. Returns the mean empirical accuracy per n with its
    standard error, the analytic P_N(a/(a+b)) and the largest deviation.
    """
    if a <= 0 or b <= 0:
        raise ValueError("Beta parameters a and b must be positive")
    if draws < 2 or queries < 1:
        raise ValueError("need at least 2 draws and 1 query")
    rng = np.random.default_rng(seed)
    mean_p = a / (a + b)
    out = BetaCheck(a=a, b=b, draws=draws, queries=queries, seed=seed, mean_accuracy=mean_p, ns=[int(n) for n in ns],
                    empirical=[], analytic=[], standard_error=[])
    chunk = max(1, 4_000_000 // max(1, max(out.ns) * queries))  # committees simulated at once (memory)
    for n in out.ns:
        accs, exact, best = [], [], []
        for start in range(0, draws, chunk):
            d = min(chunk, draws - start)
            p = rng.beta(a, b, size=(d, n))
            truth = rng.integers(0, 2, size=(d, queries), dtype=np.int8)
            correct = rng.random((d, n, queries)) < p[:, :, None]
            labels = np.where(correct, truth[:, None, :], 1 - truth[:, None, :]).astype(np.int8)
            # the contract's rule on every committee's queries at once: voters x (committees * queries)
            vote = plurality(labels.transpose(1, 0, 2).reshape(n, d * queries), 2).reshape(d, queries)
            accs.append((vote == truth).mean(axis=1))
            exact.append(poisson_binomial_majority(p))
            best.append(p.max(axis=1))
        accs, exact, best = np.concatenate(accs), np.concatenate(exact), np.concatenate(best)
        out.empirical.append(float(accs.mean()))
        out.standard_error.append(float(accs.std(ddof=1) / np.sqrt(draws)))
        out.analytic.append(majority_accuracy(n, mean_p))
        out.exact_mean.append(float(exact.mean()))
        out.best_individual.append(float(best.mean()))
    out.max_deviation = float(max(abs(e - t) for e, t in zip(out.empirical, out.analytic)))
    out.max_deviation_se = float(max(abs(e - t) / s for e, t, s in zip(out.empirical, out.analytic, out.standard_error)
                                     if s > 0) if any(s > 0 for s in out.standard_error) else 0.0)
    return out
