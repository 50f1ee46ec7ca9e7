"""Running statistics of network inputs: deferred updates give the per-step moments; whitening follows them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.running_mean_std import RunningMeanStd

from gymsuite.supervised.normalization import DeferredRms, ObsNormalizer

BATCHES = np.random.default_rng(2).normal([0.5, -3.0], [0.1, 4.0], size=(37, 8, 2))


def test_deferred_updates_give_the_moments_of_one_update_per_batch() -> None:
    deferred, sb3 = DeferredRms((2,), every=16), RunningMeanStd(shape=(2,))
    for i, batch in enumerate(BATCHES):
        deferred.add(batch)
        sb3.update(batch)
        if i == 15:  # the 16th batch folds all 16
            np.testing.assert_allclose(deferred.rms.mean, sb3.mean, rtol=1e-10)
        if i == 20:  # the 21st waits: readers see the statistics of 16 batches
            assert deferred.rms.count == 16 * 8 + 1e-4
    deferred.flush()
    np.testing.assert_allclose(deferred.rms.mean, sb3.mean, rtol=1e-10)
    np.testing.assert_allclose(deferred.rms.var, sb3.var, rtol=1e-10)
    assert deferred.rms.count == sb3.count


def test_whitening_follows_the_statistics_and_saved_states_hold_every_batch() -> None:
    space = spaces.Box(-np.inf, np.inf, (2,), np.float32)
    every_step, deferred = ObsNormalizer(space), ObsNormalizer(space, update_every=16)
    for batch in BATCHES:
        every_step.update(batch)
        deferred.update(batch)
    obs = BATCHES[0].astype(np.float32)
    assert not np.allclose(deferred.vectors(obs), every_step.vectors(obs), atol=1e-3)  # 5 batches still pending
    state = deferred.state_dict()  # folds them
    assert float(state["count"]) == pytest.approx(37 * 8, abs=1e-3)
    np.testing.assert_allclose(deferred.vectors(obs), every_step.vectors(obs), rtol=1e-5, atol=1e-6)
    expected = np.clip((obs - every_step.rms.mean) / np.sqrt(every_step.rms.var + 1e-8), -5.0, 5.0)
    np.testing.assert_allclose(every_step.vectors(obs), expected, rtol=1e-5, atol=1e-6)
    restored = ObsNormalizer(space)
    restored.load_state_dict({k: torch.zeros_like(v) if k == "mean" else v for k, v in state.items()})
    np.testing.assert_allclose(restored.vectors(obs), np.clip(obs / np.sqrt(every_step.rms.var + 1e-8), -5, 5),
                               rtol=1e-5, atol=1e-6)
