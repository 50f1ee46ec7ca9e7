"""Integration: real (tiny) training runs, the run directory, reload, resume, video."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import ActorCriticPolicy
from torch.distributions import Categorical

from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import resume, train
from gymsuite.agents.saved.evaluation import evaluate
from gymsuite.agents.saved.loading import _greedy_tensor, load_agent, make_agent_env
from gymsuite.agents.saved.video import record
from gymsuite.common.errors import UserError
from tests.interrupts import interrupt_after
from tests.toy_envs import TOY_FILE


def test_run_directory_layout(cartpole_run: Path) -> None:
    run = RunDir(cartpole_run)
    for path in (run.config, run.model, run.eval, run.best_model, run.logs / "progress.csv"):
        assert path.is_file(), path
    assert list(run.logs.glob("events.out.tfevents.*"))
    assert run.latest_checkpoint() is not None
    result = json.loads(run.eval.read_text())
    assert {"mean_return", "std_return", "episodes"} <= result.keys() and result["episodes"] == 3
    assert not list(cartpole_run.rglob(".*.zip"))  # no temporary files left by atomic writes


def test_model_loads_with_plain_sb3_and_evaluates_identically(cartpole_run: Path) -> None:
    plain = PPO.load(cartpole_run / "model.zip", device="cpu")
    agent = load_agent(str(cartpole_run))
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    expected = plain.predict(obs, deterministic=True)[0]
    np.testing.assert_array_equal(expected, agent.model.predict(obs, deterministic=True)[0])
    first = evaluate(agent, make_agent_env(agent, seed=3), 3)
    second = evaluate(load_agent(str(cartpole_run / "model.zip")), make_agent_env(agent, seed=3), 3)
    assert first["returns"] == second["returns"]


def test_ppo_cartpole_learns_clearly_better_than_random(in_tmp: Path) -> None:
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 25_000, "eval_episodes": 10,
                        "eval_freq": 0})
    result = train(cfg, "run")
    random = evaluate(load_agent("random", env="CartPole-v1"), make_agent_env(load_agent("random", env="CartPole-v1")),
                      20)
    assert random["mean_return"] < 40
    assert result.eval["mean_return"] > 150, result.eval  # random CartPole averages ~22


@pytest.mark.parametrize("algo", ["a2c", "dqn"])
def test_other_algorithms_train_save_and_evaluate(in_tmp: Path, algo: str) -> None:
    cfg = build_config({"algo": algo, "env": "CartPole-v1", "timesteps": 1500, "eval_episodes": 2},
                       None, ["learning_starts=100"] if algo == "dqn" else [])
    result = train(cfg, "run")
    assert result.eval["episodes"] == 2 and result.run.model.is_file()
    assert load_agent("run").algo == algo


def test_normalized_run_saves_and_reuses_statistics(in_tmp: Path) -> None:
    cfg = build_config({"algo": "ppo", "env": "Acrobot-v1", "timesteps": 2048, "n_envs": 4, "eval_episodes": 1})
    result = train(cfg, "run")
    assert result.run.vecnormalize.is_file()
    agent = load_agent("run")
    venv = make_agent_env(agent)
    assert venv.training is False and venv.obs_rms.count > 100


def test_interrupt_then_resume_continues_at_checkpoint_step(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 4096, "eval_episodes": 2,
                        "checkpoint_freq": 1024, "preset": "zoo"})  # rollouts of 8 envs x 32 steps
    stop_at = 2000
    release = interrupt_after(monkeypatch, stop_at)
    first = train(cfg, "run")
    assert first.interrupted and stop_at <= first.steps < stop_at + 8
    run = RunDir(Path("run"))
    assert run.latest_checkpoint() == first.steps and run.model.is_file() and not run.eval.exists()
    release()
    second = resume("run")
    assert not second.interrupted
    assert (run.logs / f"progress_until_{first.steps}.csv").is_file()  # resumed at the checkpoint's step
    assert 4096 <= second.steps < 4096 + 256  # one PPO rollout is 8 envs x 32 steps
    assert json.loads(run.eval.read_text())["timesteps"] == second.steps


def test_existing_run_dir_is_refused_unless_overwrite(in_tmp: Path) -> None:
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 256, "eval_episodes": 1})
    train(cfg, "run")
    with pytest.raises(UserError, match="already exists"):
        train(cfg, "run")
    train(cfg, "run", overwrite=True)


def test_failed_start_leaves_no_run_directory(in_tmp: Path, tmp_path: Path) -> None:
    cfg = build_config({"algo": "dqn", "env": "Pendulum-v1", "timesteps": 100})
    with pytest.raises(UserError, match="dqn cannot act in Pendulum-v1"):
        train(cfg, "run")
    bad = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 100}, None, ["batch_size=1", "n_steps=1"])
    with pytest.raises(UserError):  # SB3 rejects batch_size=1 with n_steps*n_envs... or trains; either way no debris
        train(bad, "run2")
        raise UserError("trained")
    assert not Path("run").exists()


def test_nan_env_mid_training_stops_with_message_and_no_debris(in_tmp: Path) -> None:
    cfg = build_config({"algo": "ppo", "env": f"{TOY_FILE}:LateNan", "timesteps": 2000, "n_envs": 1,
                        "checkpoint_freq": 1000})  # fails at step 301, before any checkpoint
    with pytest.raises(UserError, match="non-finite reward"):
        train(cfg, "run")
    assert not Path("run").exists()


def test_videos_are_written_and_decodable(cartpole_run: Path, tmp_path: Path) -> None:
    import imageio.v3 as iio

    out = tmp_path / "agent.mp4"
    summary = record(load_agent(str(cartpole_run)), out, episodes=1)
    frames = iio.imread(out)
    assert frames.ndim == 4 and frames.shape[0] >= summary["frames"] - 2 and frames.shape[-1] == 3
    rand = record(load_agent("random", env="gymsuite/SparseGrid-v0"), tmp_path / "r.mp4", episodes=1)
    assert rand["frames"] > 1 and (tmp_path / "r.mp4").stat().st_size > 0


def test_agent_env_is_the_env_the_model_saw() -> None:
    from stable_baselines3.common.vec_env import unwrap_vec_normalize

    from gymsuite.agents.saved.loading import LoadedAgent

    # SB3 transposes image observations for the model; the agent's env does the same, keeping render_fps.
    venv = make_agent_env(LoadedAgent(None, "random", f"{TOY_FILE}:Corridor"), render_mode="rgb_array")
    assert venv.observation_space.shape == (3, 12, 12) and venv.reset().shape == (1, 3, 12, 12)
    assert venv.metadata["render_fps"] == 10
    venv.close()
    venv = make_agent_env(LoadedAgent(None, "random", "CartPole-v1"), render_mode="rgb_array", normalize=True)
    assert venv.observation_space.shape == (4,) and unwrap_vec_normalize(venv) is not None
    assert venv.metadata["render_fps"] == 50
    venv.close()



@pytest.mark.parametrize(("algo", "env"), [("ppo", "CartPole-v1"), ("ppo", "Pendulum-v1"), ("dqn", "CartPole-v1")])
def test_greedy_actions_skip_the_mode_switch_and_equal_sb3s_predict(in_tmp: Path, algo: str, env: str) -> None:
    """decide() asks a policy already in eval mode directly (loading._greedy); its actions are SB3's predict's."""
    cfg = build_config({"algo": algo, "env": env, "timesteps": 256, "eval_episodes": 1, "eval_freq": 0},
                       None, ["learning_starts=100"] if algo == "dqn" else [])
    train(cfg, "run")
    agent = load_agent("run")
    assert agent.model is not None
    venv = make_agent_env(agent, seed=0, n_envs=3)
    obs = venv.reset()
    venv.close()
    policy = agent.model.policy
    policy.set_training_mode(False)
    calls: list[bool] = []
    original = policy.set_training_mode
    policy.set_training_mode = lambda mode: calls.append(mode) or original(mode)  # type: ignore[method-assign]
    ours = agent.decide(obs, deterministic=True)
    assert calls == []  # no walk over the modules
    sb3, _ = agent.model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(ours, sb3)
    assert ours.shape == sb3.shape == (3, *agent.model.action_space.shape) and ours.dtype == sb3.dtype
    policy.set_training_mode(True)
    np.testing.assert_array_equal(agent.decide(obs, deterministic=True), sb3)  # in training mode: SB3's predict
    assert calls[-1] is False


@pytest.mark.parametrize("env", ["CartPole-v1", "Pendulum-v1"])
def test_the_greedy_shortcut_builds_no_distribution_and_keeps_sb3s_actions_ties_included(env: str) -> None:
    """loading._greedy_tensor: SB3's actor-critic heads skip the distribution object; same actions as _predict."""
    model = PPO("MlpPolicy", env, seed=0, device="cpu")
    policy = model.policy
    policy.set_training_mode(False)
    built: list[int] = []
    original = policy.action_dist.proba_distribution
    policy.action_dist.proba_distribution = lambda *a, **k: built.append(1) or original(*a, **k)  # type: ignore
    obs = th.as_tensor(np.stack([model.observation_space.sample() * 3 for _ in range(256)]))
    with th.no_grad():
        ours = _greedy_tensor(policy, obs)
        assert built == []
        np.testing.assert_array_equal(ours.numpy(), policy._predict(obs, deterministic=True).numpy())
        assert built  # SB3's own path does build one
        if env == "CartPole-v1":  # equal logits, and logits a rounding error apart: the same action as SB3's
            up = float(np.nextafter(np.float32(0.5), np.float32(1)))  # the next float32 above 0.5
            for bias in ([0.5, 0.5], [0.5, up], [up, 0.5]):
                policy.action_net.weight.zero_()
                policy.action_net.bias.copy_(th.tensor(bias))
                np.testing.assert_array_equal(_greedy_tensor(policy, obs[:4]).numpy(),
                                              policy._predict(obs[:4], deterministic=True).numpy())


def test_a_policy_that_overrides_its_distribution_keeps_its_own_predict() -> None:
    class Always1(ActorCriticPolicy):
        def get_distribution(self, obs):  # type: ignore[no-untyped-def]
            dist = super().get_distribution(obs)
            dist.distribution.logits = th.tensor([[-9.0, 9.0]]).expand(len(obs), 2)  # type: ignore[union-attr]
            return dist

    model = PPO(Always1, "CartPole-v1", seed=0, device="cpu")
    obs = th.as_tensor(np.stack([model.observation_space.sample() for _ in range(8)]))
    with th.no_grad():
        model.policy.action_net.bias.copy_(th.tensor([9.0, -9.0]))  # SB3's head alone would say 0
        assert _greedy_tensor(model.policy, obs).tolist() == [1] * 8


class _ChecksSeen(BaseCallback):
    """Records whether a discrete policy's distribution is checked while the model learns."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[bool] = set()

    def _on_step(self) -> bool:
        self.seen.add(bool(Categorical._validate_args))
        return True


def test_training_skips_discrete_distribution_checks_and_puts_them_back(in_tmp: Path) -> None:
    seen = _ChecksSeen()
    before = th.distributions.Distribution._validate_args  # torch's dynamo turns it off for good once it starts
    cfg = build_config({"algo": "a2c", "env": "CartPole-v1", "timesteps": 256, "eval_episodes": 2, "eval_freq": 0})
    train(cfg, "run", callbacks=[seen])
    assert seen.seen == {False}
    assert "_validate_args" not in Categorical.__dict__ and th.distributions.Distribution._validate_args == before
