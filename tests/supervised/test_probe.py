"""The linear probe: ridge in closed form against lstsq, R^2 on hand-computed values, the by-episode split."""

from __future__ import annotations

import numpy as np
import pytest

from gymsuite.supervised.probe import fit_ridge, probe, r2_scores, split_episodes


def test_r2_matches_hand_computed_values() -> None:
    y = np.array([[1.0, 2.0], [2.0, 2.0], [3.0, 2.0]])
    p = np.array([[1.0, 0.0], [2.5, 0.0], [2.5, 0.0]])
    # variable 0: SS_res = 0 + 0.25 + 0.25 = 0.5, SS_tot = 1 + 0 + 1 = 2 -> 0.75; variable 1 is constant -> NaN
    r2 = r2_scores(y, p)
    assert r2[0] == pytest.approx(0.75) and np.isnan(r2[1])
    assert r2_scores(y[:, :1], np.full((3, 1), 2.0))[0] == pytest.approx(0.0)  # the mean scores 0


def test_ridge_without_penalty_is_least_squares_and_the_penalty_shrinks() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4)) * [1.0, 10.0, 0.1, 3.0] + 5.0
    y = x @ rng.normal(size=(4, 2)) + rng.normal(size=(50, 2))
    exact, strong = fit_ridge(x, y, (0.0, 1e6))
    design = np.column_stack([x, np.ones(50)])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(exact.predict(x), design @ coef, atol=1e-9)
    np.testing.assert_allclose(strong.predict(x), np.tile(y.mean(axis=0), (50, 1)), atol=1e-2)


def test_probe_recovers_a_linear_map_and_finds_nothing_in_noise() -> None:
    rng = np.random.default_rng(1)
    n, f = 600, 32
    features = rng.normal(size=(n, f))
    state = features @ rng.normal(size=(f, 3)) + 0.01 * rng.normal(size=(n, 3))
    episodes = np.repeat(np.arange(12), n // 12)
    result = probe(features, state, episodes, seed=0)
    assert result.r2.shape == (3,) and np.all(result.r2 > 0.999)
    assert result.n_train + result.n_test == n and result.n_test % 50 == 0  # whole episodes held out
    noise = probe(rng.normal(size=(n, f)), state, episodes, seed=0)
    assert np.all(noise.r2 < 0.1) and np.all(noise.r2 > -0.5)


def test_a_unit_barely_active_in_training_does_not_swamp_the_held_out_predictions() -> None:
    # 8 features give the state almost exactly; 16 ReLU-like units moved once, faintly (1e-3), in the training
    # episodes and fire on the held-out ones. Standardised one by one, each such unit became an input ~20,000 times
    # its training size there, and the held-out R^2 read -514 and -2072.
    rng = np.random.default_rng(0)
    n = 600
    episodes = np.repeat(np.arange(12), 50)
    signal = rng.normal(size=(n, 8))
    state = signal @ rng.normal(size=(8, 2)) + 0.05 * rng.normal(size=(n, 2))
    held = split_episodes(episodes, 0.3, np.random.default_rng(0))  # the episodes probe(seed=0) holds out
    units = np.zeros((n, 16))
    units[rng.choice(np.flatnonzero(~held), 16, replace=False), np.arange(16)] = 1e-3
    units[held] = rng.random((held.sum(), 16)) * (rng.random((held.sum(), 16)) < 0.3)
    result = probe(np.column_stack([signal, units]), state, episodes, seed=0)
    assert result.n_test == held.sum() and np.all(result.r2 > 0.95)


def test_split_holds_out_whole_episodes() -> None:
    episodes = np.repeat([3, 1, 4, 5, 9], [2, 3, 4, 5, 6])
    test = split_episodes(episodes, 0.4, np.random.default_rng(0))
    held = set(episodes[test].tolist())
    assert len(held) == 2 and not held & set(episodes[~test].tolist())
    with pytest.raises(ValueError, match="at least 2 episodes"):
        split_episodes(np.zeros(5), 0.3, np.random.default_rng(0))
