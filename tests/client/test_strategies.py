"""cl_client.strategies: what each strategy commits and reveals."""
import numpy as np
import pytest

from cl_client.strategies import (STRATEGIES, Colluding, ConstantLabel, Copier, Honest, LabelFlip, NonRevealer,
                                  RandomLabels, Strategy, make_strategy)

K = 10
PRED = np.random.default_rng(0).integers(0, K, size=200)


def commit(strategy, predictions=PRED, k=K, round_id=1, seed=0):
    return strategy.labels(predictions, k, round_id=round_id, rng=np.random.default_rng(seed))


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_commits_q_labels_in_range(name):
    labels = commit(make_strategy(name))
    assert labels.shape == PRED.shape
    assert labels.dtype.kind == "i"
    assert labels.min() >= 0 and labels.max() < K


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_strategies_reveal_what_they_committed_by_default(name):
    strategy = make_strategy(name)
    labels = commit(strategy)
    assert np.array_equal(strategy.reveal_labels(labels, {}), labels)


def test_honest_commits_the_predictions():
    assert np.array_equal(commit(Honest()), PRED)


def test_random_labels_come_from_the_given_rng():
    a, b, c = commit(RandomLabels(), seed=1), commit(RandomLabels(), seed=1), commit(RandomLabels(), seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert len(np.unique(a)) == K  # uses all classes over 200 draws


def test_random_labels_ignore_the_model():
    zeros = np.zeros(50, dtype=int)
    assert not RandomLabels.uses_model
    assert len(np.unique(commit(RandomLabels(), predictions=zeros))) > 1


def test_label_flip_applies_a_fixed_permutation_that_changes_every_label():
    flipped = commit(LabelFlip())
    assert np.all(flipped != PRED)
    mapping = {}
    for p, f in zip(PRED, flipped):
        assert mapping.setdefault(p, f) == f  # the same class always maps to the same label
    assert sorted(mapping.values()) == sorted(mapping)  # a permutation (bijective on the classes seen)


def test_label_flip_uses_a_given_permutation():
    perm = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    assert np.array_equal(commit(LabelFlip(permutation=perm)), 9 - PRED)


def test_label_flip_rejects_a_non_permutation():
    with pytest.raises(ValueError, match="permutation must rearrange 0..9"):
        commit(LabelFlip(permutation=[0] * 10))


def test_constant_label_commits_one_label_everywhere():
    assert np.array_equal(commit(ConstantLabel(label=3)), np.full(len(PRED), 3))


def test_constant_label_must_be_below_k():
    with pytest.raises(ValueError, match="constant label 12 is not in 0..9"):
        commit(ConstantLabel(label=12))


def test_colluders_of_one_group_commit_the_same_labels_whatever_their_models_and_rngs():
    a = commit(Colluding(group_seed=5), predictions=PRED, seed=1)
    b = commit(Colluding(group_seed=5), predictions=(PRED + 3) % K, seed=2)
    assert np.array_equal(a, b)


def test_collusion_target_changes_with_round_and_group():
    base = commit(Colluding(group_seed=5), round_id=1)
    assert not np.array_equal(base, commit(Colluding(group_seed=5), round_id=2))
    assert not np.array_equal(base, commit(Colluding(group_seed=6), round_id=1))


def test_non_revealer_commits_honestly_and_does_not_reveal():
    s = NonRevealer()
    assert s.reveals is False
    assert np.array_equal(commit(s), PRED)
    assert all(cls.reveals for name, cls in STRATEGIES.items() if name != "nonreveal")


def test_copier_reveals_the_plurality_of_the_others_not_its_commitment():
    others = {"0xa": bytes([1, 2, 3, 4]), "0xb": bytes([1, 2, 0, 0]), "0xc": bytes([5, 2, 3, 0])}
    committed = np.array([9, 9, 9, 9])
    revealed = Copier().reveal_labels(committed, others)
    assert revealed.tolist() == [1, 2, 3, 0]  # per-query plurality, ties to the smallest label


def test_copier_waits_for_others_before_revealing():
    assert Copier.needs_others and 0 < Copier.reveal_delay < 1
    assert Strategy.reveal_delay == 0 and not Strategy.needs_others


def test_make_strategy_passes_options():
    assert make_strategy("constant", label=4).label == 4
    assert make_strategy("collude", group_seed=9).group_seed == 9
    assert isinstance(make_strategy("HONEST"), Honest)


def test_make_strategy_unknown_name_lists_the_choices():
    with pytest.raises(ValueError) as err:
        make_strategy("liar")
    assert "unknown strategy 'liar'" in str(err.value)
    assert all(name in str(err.value) for name in STRATEGIES)


def test_make_strategy_bad_option_is_one_line():
    with pytest.raises(ValueError, match="bad options for strategy 'flip'"):
        make_strategy("flip", colour="red")
