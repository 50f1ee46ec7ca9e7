"""A run resolved once: the defaults decided in resolution reach config.yaml, and the validated config is not
changed by anything after validation."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from gymsuite.agents.run.config import build_config, to_dict
from gymsuite.agents.run.runconfig import RunConfig
from gymsuite.agents.run.training import prepare, train
from gymsuite.common.files import read_yaml
from gymsuite.envs.target import EnvKind
from tests.toy_envs import TOY_FILE

CORRIDOR = f"{TOY_FILE}:Corridor"  # a 12x12 image: resolution chooses small_cnn for it


def _config() -> RunConfig:
    # 40 steps in rollouts of 16 x 2: training rounds the budget up to 64
    return build_config({"algo": "ppo", "env": CORRIDOR, "timesteps": 40, "n_envs": 2, "eval_episodes": 1,
                         "eval_freq": 0, "checkpoint_freq": 0, "eval_max_episode_steps": 20}, None,
                        ["n_steps=16", "batch_size=32", "n_epochs=1"])


def test_training_changes_nothing_of_the_validated_config(in_tmp: Path) -> None:
    cfg = _config()
    before = copy.deepcopy(to_dict(cfg))
    train(cfg, "r")
    assert to_dict(cfg) == before  # neither the backbone nor the rounded budget was written into it
    assert "backbone" not in cfg.hyperparams and cfg.timesteps == 40
    saved = read_yaml(Path("r/config.yaml"))
    assert saved["hyperparams"]["backbone"] == "small_cnn"
    assert saved["timesteps"] == saved["hyperparams"]["n_timesteps"] == 64


def test_a_resolved_run_is_frozen_and_is_what_config_yaml_saves(in_tmp: Path) -> None:
    cfg = _config()
    built = prepare(cfg)
    built.venv.close()
    resolved = built.resolved
    assert resolved.env.kind is EnvKind.CUSTOM and resolved.env.name == CORRIDOR
    assert resolved.policy == "MlpPolicy" and resolved.model_kwargs["n_steps"] == 16
    assert resolved.config.timesteps == 64 and resolved.hyperparams["backbone"] == "small_cnn"
    with pytest.raises(TypeError):
        resolved.hyperparams["gamma"] = 0.5  # type: ignore[index]
    with pytest.raises(TypeError):
        resolved.model_kwargs["n_steps"] = 1  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        resolved.config = cfg  # type: ignore[misc]
    train(cfg, "r")
    assert read_yaml(Path("r/config.yaml")) == to_dict(resolved.config)


def test_mappo_decides_the_state_without_changing_the_given_hyperparameters() -> None:
    given = {"multiagent": {"agent_id": True}, "n_steps": 16}
    cfg = build_config({"algo": "mappo", "env": "mpe2.simple_spread_v3", "timesteps": 64}, None, given)
    assert cfg.hyperparams["multiagent"] == {"agent_id": True, "state": True}
    assert given == {"multiagent": {"agent_id": True}, "n_steps": 16}
