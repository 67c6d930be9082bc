"""The paper's theory check (cl_client.sim.theory); no chain needed. The vote itself is tested in
tests/client/test_protocol.py."""
from math import comb

import numpy as np
import pytest

from cl_client.sim.theory import beta_check, majority_accuracy, poisson_binomial_majority

# Stated tolerance of the theory check: with 4000 committees per N the standard error of the simulated
# accuracy is about 0.003, so 0.012 is 4 standard errors; a wrong formula or vote is off by far more.
TOLERANCE = 0.012


def test_majority_accuracy_of_three_voters_is_the_closed_form():
    p = 0.7
    assert majority_accuracy(3, p) == pytest.approx(3 * p**2 - 2 * p**3)


def test_majority_accuracy_counts_half_the_ties_for_even_n():
    p = 0.6
    expected = p**2 + 0.5 * comb(2, 1) * p * (1 - p)
    assert majority_accuracy(2, p) == pytest.approx(expected)


def test_poisson_binomial_equals_binomial_for_equal_accuracies():
    for n in (1, 4, 7):
        assert poisson_binomial_majority([0.65] * n) == pytest.approx(majority_accuracy(n, 0.65))


def test_simulated_beta_committees_match_the_analytic_majority_accuracy():
    check = beta_check(a=3.0, b=2.0, ns=(1, 3, 5, 9, 15, 25), draws=4000, queries=200, seed=1)
    deviations = np.abs(np.array(check.empirical) - np.array(check.analytic))
    assert deviations.max() <= TOLERANCE, dict(zip(check.ns, deviations.round(4)))
    assert check.max_deviation == pytest.approx(deviations.max())


def test_simulated_even_committees_match_the_analytic_value_with_ties():
    check = beta_check(a=2.0, b=2.0, ns=(2, 4, 6), draws=4000, queries=200, seed=2)
    assert np.abs(np.array(check.empirical) - np.array(check.analytic)).max() <= TOLERANCE


def test_averaging_exact_committee_accuracies_gives_the_homogeneous_formula():
    check = beta_check(a=1.5, b=1.0, ns=(5, 11), draws=4000, queries=1, seed=3)
    assert np.abs(np.array(check.exact_mean) - np.array(check.analytic)).max() <= TOLERANCE


def test_beta_check_rejects_non_positive_parameters():
    with pytest.raises(ValueError, match="must be positive"):
        beta_check(a=0.0, b=1.0)
