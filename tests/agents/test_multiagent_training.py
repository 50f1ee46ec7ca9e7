"""IPPO (``--algo ppo``) and MAPPO on a PettingZoo env through the pipeline: train, evaluate, record, resume, load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3 import PPO

from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.multiagent.buffer import MaskedDictRolloutBuffer, MaskedRolloutBuffer
from gymsuite.agents.multiagent.mappo import CentralCriticPolicy
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import prepare, resume, train
from gymsuite.agents.saved.evaluation import evaluate
from gymsuite.agents.saved.loading import load_agent, make_agent_env
from gymsuite.agents.saved.video import collect_frames
from gymsuite.commands import _cli
from gymsuite.commands import evaluate as evaluate_cmd
from gymsuite.commands import record as record_cmd
from gymsuite.common.errors import UserError
from gymsuite.common.files import read_yaml
from tests.interrupts import interrupt_after

SPREAD = "mpe2.simple_spread_v3"
AGENTS = ["agent_0", "agent_1", "agent_2"]
TINY = ["n_envs=2", "n_steps=64", "batch_size=128", "n_epochs=2"]  # rollouts of 2 copies x 3 agents x 64 steps


def _config(algo: str, timesteps: int = 768, **extra: object):  # noqa: ANN202
    return build_config({"algo": algo, "env": SPREAD, "timesteps": timesteps, "eval_episodes": 4, **extra}, None, TINY)


@pytest.mark.parametrize(("algo", "buffer"), [("ppo", MaskedRolloutBuffer), ("mappo", MaskedDictRolloutBuffer)])
def test_ippo_and_mappo_train_end_to_end(in_tmp: Path, algo: str, buffer: type) -> None:
    result = train(_config(algo), "run")
    run = RunDir(Path("run"))
    assert run.model.is_file() and run.config.is_file()
    saved = json.loads(run.eval.read_text())
    assert set(saved["per_agent"]) == set(AGENTS) and saved["episodes"] == 4
    means = [saved["per_agent"][a]["mean_return"] for a in AGENTS]
    assert saved["mean_return"] == pytest.approx(np.mean(means))
    assert result.steps == 768 and saved["mean_length"] == 25  # simple_spread's max_cycles
    agent = load_agent("run")  # the safe loader
    assert type(agent.model.rollout_buffer) is buffer
    plain = PPO.load(run.model, device="cpu")
    assert type(plain.policy) is type(agent.model.policy)
    assert (type(plain.policy) is CentralCriticPolicy) == (algo == "mappo")
    venv = make_agent_env(agent, seed=3, n_envs=1)
    obs = venv.reset()
    np.testing.assert_array_equal(plain.predict(obs, deterministic=True)[0], agent.act(obs, venv, episode_start=None))
    venv.close()


def test_mappo_forces_the_state_and_its_critic_reads_it(in_tmp: Path) -> None:
    cfg = _config("mappo")
    assert cfg.hyperparams["multiagent"]["state"] is True
    built = prepare(cfg)
    try:
        space = built.venv.observation_space
        policy = built.model.policy
        assert policy.vf_features_extractor.features_dim == space["state"].shape[0]
        assert policy.pi_features_extractor.features_dim == space["obs"].shape[0] < space["state"].shape[0]
    finally:
        built.venv.close()


def test_evaluate_and_record_a_multiagent_run(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train(_config("ppo", 384), "run")
    assert _cli.run(evaluate_cmd.main, ["run", "--json", "--episodes", "3"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 3 and set(result["per_agent"]) == set(AGENTS)
    assert _cli.run(evaluate_cmd.main, ["run", "--episodes", "2"]) == 0
    text = capsys.readouterr().out
    assert all(f"{a}: mean return" in text for a in AGENTS)
    frames, _, episodes = collect_frames(load_agent("run"), 1)
    assert len(episodes) == 1 and episodes[0]["l"] == 25 and len(frames) == 26 and frames[0].ndim == 3
    assert _cli.run(record_cmd.main, ["run", "--out", "v.mp4"]) == 0 and Path("v.mp4").stat().st_size > 0
    random = evaluate(load_agent("random", env=SPREAD), make_agent_env(load_agent("random", env=SPREAD), n_envs=2), 4)
    assert set(random["per_agent"]) == set(AGENTS)


def test_resume_a_multiagent_run(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config("mappo", 1536, checkpoint_freq=384)
    release = interrupt_after(monkeypatch, 800)
    assert train(cfg, "run").interrupted
    release()
    second = resume("run")
    assert 1536 <= second.steps < 1536 + 384 and "per_agent" in second.eval  # one rollout: 6 slots x 64 steps


@pytest.mark.parametrize(("algo", "env", "hyper", "key"), [
    ("dqn", SPREAD, [], "ppo"),
    ("a2c", SPREAD, [], "mappo"),
    ("mappo", "CartPole-v1", [], "single-agent"),
    ("ppo", SPREAD, ["backbone=lstm"], "lstm"),
    ("ppo", SPREAD, ["backbone=framestack"], "framestack"),
    ("mappo", SPREAD, ["multiagent={state: false}"], "state"),
])
def test_config_refuses_algorithms_that_do_not_fit(algo: str, env: str, hyper: list[str], key: str) -> None:
    with pytest.raises(UserError, match=key):
        build_config({"algo": algo, "env": env}, None, hyper)


@pytest.mark.parametrize("algo", ["ppo", "mappo"])
def test_pistonball_trains_through_an_image_backbone(in_tmp: Path, algo: str) -> None:
    cfg = build_config({"algo": algo, "env": "pettingzoo.butterfly.pistonball_v6", "timesteps": 48,
                        "eval_episodes": 1, "eval_freq": 0}, None,
                       ["n_envs=1", "n_steps=16", "batch_size=48", "n_epochs=1", "multiagent={resize: [16, 16]}",
                        "env_kwargs={n_pistons: 3, max_cycles: 8}"])
    result = train(cfg, "run")
    saved = read_yaml(Path("run/config.yaml"))["hyperparams"]
    assert saved["backbone"] == "small_cnn"  # chosen for the (16, 16, 3) image each piston sees
    assert set(result.eval["per_agent"]) == {"piston_0", "piston_1", "piston_2"}
    policy = load_agent("run").model.policy
    extractor = policy.pi_features_extractor.inner if algo == "mappo" else policy.features_extractor
    assert type(extractor).__name__ == "SmallCnn"
