"""Curiosity's encoder by name (``--curiosity-kwargs backbone=NAME``)."""

from __future__ import annotations

import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from gymsuite.common.errors import UserError
from gymsuite.rewards.curiosity import attach
from gymsuite.supervised.cnn import ImageEncoder
from gymsuite.supervised.cnns import SmallCnn
from tests.toy_envs import Corridor


@pytest.mark.parametrize("method", ["icm", "rnd"])
def test_curiosity_encodes_images_with_the_named_backbone(method: str) -> None:
    bonus, callback = attach(DummyVecEnv([Corridor, Corridor]), method, seed=0, batch_size=8, update_every=8,
                             backbone="small_cnn")
    encoder = bonus.model.encoder if method == "icm" else bonus.model.target
    assert isinstance(encoder, SmallCnn) and encoder.features_dim == 64
    bonus.reset()
    rewards = [bonus.step(torch.tensor([1, 1]).numpy())[1] for _ in range(3)]
    assert all(r.shape == (2,) for r in rewards)
    default, _ = attach(DummyVecEnv([Corridor]), "icm", seed=0)
    assert isinstance(default.model.encoder, ImageEncoder)  # unchanged without the option
    with pytest.raises(UserError, match="small_cnn"):
        attach(DummyVecEnv([Corridor]), "icm", backbone="smal_cnn")
