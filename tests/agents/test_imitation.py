"""Learning from demonstration: the demo file format, bc, dagger, gail, airl, learned rewards, keyboard play.

The expert is a hand-written CartPole controller (push towards where the pole leans,
``theta + 0.5 * theta_dot``) packaged as a PPO model, so it costs no training and
scores the maximum 500.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

from gymsuite import api
from gymsuite.agents.data.demos import load_demos, pad_absorbing, save_demos
from gymsuite.agents.data.recording import DemoRecorder
from gymsuite.agents.run import training
from gymsuite.commands import _cli, collect_demos, play, train
from gymsuite.common.errors import UserError
from gymsuite.envs.factory import make_env

CARTPOLE_WEIGHTS = [[0, 0, -50, -25], [0, 0, 50, 25]]


def controller(obs: np.ndarray) -> np.ndarray:
    """The expert's greedy actions ``(B,)`` for CartPole observations ``(B, 4)``."""
    return (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(int)


@pytest.fixture(scope="module")
def expert(tmp_path_factory: pytest.TempPathFactory, linear_expert: Callable[..., PPO]) -> Path:
    run = tmp_path_factory.mktemp("expert") / "run"
    linear_expert("CartPole-v1", CARTPOLE_WEIGHTS, run)
    return run


@pytest.fixture(scope="module")
def demos(expert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demos") / "cartpole.npz"
    assert _cli.run(collect_demos.main, [str(expert), "--episodes", "4", "--out", str(out), "--seed", "1"]) == 0
    return out


def random_transitions(n: int = 1000) -> tuple[np.ndarray, ...]:
    env = gym.make("CartPole-v1")
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    rows = []
    for _ in range(n):
        act = env.action_space.sample()
        nxt, _, terminated, truncated, _ = env.step(act)
        rows.append((obs, act, nxt, terminated))
        obs = env.reset()[0] if terminated or truncated else nxt
    return tuple(np.array(col) for col in zip(*rows, strict=True))


def train_run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = _cli.run(train.main, [*argv, "--eval-episodes", "5", "--eval-freq", "0"])
    return code, capsys.readouterr().err


# --------------------------------------------------------------------------- the file format


def test_demos_round_trip_through_collect_demos(demos: Path) -> None:
    data = load_demos(demos, gym.make("CartPole-v1").observation_space, gym.make("CartPole-v1").action_space)
    assert data.n_episodes == 4 and data.env == "CartPole-v1"
    assert data.obs.shape == (data.n_transitions + 4, 4) and data.obs.dtype == np.float32
    assert data.acts.shape == (data.n_transitions,) and (data.lengths == 500).all()
    assert data.truncated.all() and not data.terminated.any()  # the controller never drops the pole
    np.testing.assert_array_equal(data.returns(), [500.0] * 4)
    np.testing.assert_array_equal(data.acts, controller(data.obs[np.arange(len(data.obs)) % 501 != 500]))
    transitions = data.head(2).to_transitions()
    assert len(transitions) == 1000 and np.allclose(transitions.next_obs[:499], transitions.obs[1:500])
    with np.load(demos, allow_pickle=False) as raw:  # plain arrays, readable without gymsuite
        assert json.loads(str(raw["meta"]))["format"] == "gymsuite-demos"


def test_demo_recorder_and_save_are_atomic_and_suffix_free(tmp_path: Path) -> None:
    env = gym.make("Acrobot-v1")
    rec = DemoRecorder("Acrobot-v1", env.observation_space, env.action_space)
    obs, _ = env.reset(seed=0)
    rec.start(obs)
    for a in (0, 2, 1):
        nxt, r, *_ = env.step(a)
        rec.add(a, r, nxt)
    rec.end(terminated=False, truncated=True)
    rec.start(obs)  # an unfinished episode is dropped
    path = save_demos(tmp_path / "acro.demos", rec.demos())
    assert path.is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["acro.demos"]
    back = load_demos(path, env.observation_space, env.action_space)
    assert back.n_episodes == 1 and back.acts.tolist() == [0, 2, 1] and back.returns().tolist() == [-3.0]


def _pickled(path: Path) -> None:
    np.savez(path, meta=np.array({"format": "gymsuite-demos"}, dtype=object), obs=np.zeros(2), acts=np.zeros(1),
             rews=np.zeros(1), lengths=np.ones(1), terminated=np.zeros(1), truncated=np.zeros(1))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, good: None, "does not exist"),
        (lambda p, good: p.write_bytes(good.read_bytes()[:300]), "corrupt or truncated"),
        (lambda p, good: np.savez(p, obs=np.zeros(3)), "not a gymsuite demonstrations file"),
        (lambda p, good: _pickled(p), "pickled objects"),
    ],
)
def test_broken_demo_files_are_refused_clearly(demos: Path, tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "bad.npz"
    make(path, demos)
    with pytest.raises(UserError, match=message):
        load_demos(path)


def test_demos_for_another_env_name_both_envs_and_the_fix(demos: Path) -> None:
    env = gym.make("Acrobot-v1")
    with pytest.raises(UserError) as err:
        load_demos(demos, env.observation_space, env.action_space, "Acrobot-v1")
    text = str(err.value)
    assert "CartPole-v1" in text and "Acrobot-v1" in text and "observation space" in text and "shape=[4]" in text
    assert "fix:" in text and "collect-demos" in text


def test_pad_absorbing_extends_terminated_episodes_only(demos: Path) -> None:
    from dataclasses import replace

    data = load_demos(demos).head(2)
    data = replace(data, terminated=np.array([True, False]), truncated=np.array([False, True]))
    padded = pad_absorbing(data, 7, np.random.default_rng(0), gym.spaces.Discrete(2))
    assert padded.lengths.tolist() == [507, 500] and padded.truncated.all() and not padded.terminated.any()
    first = padded.to_trajectories()[0]
    assert (first.obs[500:] == first.obs[500]).all() and (first.rews[500:] == 0).all()


# --------------------------------------------------------------------------- bc and dagger


def test_bc_from_a_few_demos_beats_random_clearly(demos: Path, in_tmp: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, err = train_run(["--algo", "bc", "--env", "CartPole-v1", "--demos", str(demos), "--run-dir", "bc",
                           "--timesteps", "4000", "--hyperparams", "demo_episodes=2"], capsys)
    assert code == 0, err
    result = json.loads(Path("bc/eval.json").read_text())
    assert result["mean_return"] > 200  # random play: about 22
    model = PPO.load("bc/model.zip", device="cpu")  # plain SB3 loads it
    assert model.num_timesteps == 4000  # demonstration samples: 125 batches of 32


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "no --demos FILE was given"),
        (["--demos", "D", "--hyperparams", "n_steps=64"], "bc does not use the PPO setting(s) n_steps"),
        (["--demos", "D", "--hyperparams", "l2_weight=-1"], "bad value for hyperparameter 'l2_weight'"),
        (["--demos", "D", "--hyperparams", "n_epochs=2", "n_batches=5"], "n_epochs or n_batches, not both"),
        (["--demos", "D", "--hyperparams", "batch_size=5000"], "record more episodes or lower batch_size"),
        (["--demos", "D", "--hyperparams", "normalize=true"], "normalize must be false"),
    ],
)
def test_bc_rejects_bad_input_cleanly(demos: Path, in_tmp: Path, capsys: pytest.CaptureFixture[str],
                                      extra: list[str], message: str) -> None:
    extra = [str(demos) if a == "D" else a for a in extra]
    code, err = train_run(["--algo", "bc", "--env", "CartPole-v1", "--run-dir", "r", "--timesteps", "64", *extra],
                          capsys)
    assert code == 2 and message in err and "Traceback" not in err
    assert not Path("r").exists()


def test_dagger_asks_the_expert_about_states_the_demos_never_reached(
        demos: Path, expert: Path, in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = train_run(["--algo", "dagger", "--env", "CartPole-v1", "--demos", str(demos), "--expert",
                           str(expert), "--run-dir", "dg", "--n-envs", "2", "--timesteps", "3000", "--hyperparams",
                           "demo_episodes=1", "beta_rampdown_rounds=1", "n_epochs=1",
                           "rollout_round_min_timesteps=200", "rollout_round_min_episodes=2"], capsys)
    assert code == 0, err
    given = load_demos(demos).head(1)
    labelled = load_demos("dg/dagger_demos.npz")
    assert labelled.n_transitions >= given.n_transitions + 3000
    obs = labelled.to_transitions().obs
    np.testing.assert_array_equal(labelled.acts, controller(obs))  # every label is the expert's answer
    # The learner drove (beta = 0 after round 0) into states the expert itself never visits.
    assert np.abs(obs[:, 2]).max() > 1.5 * np.abs(given.obs[:, 2]).max()
    assert PPO.load("dg/model.zip", device="cpu").num_timesteps >= 3000


@pytest.mark.parametrize("algo", ["bc", "dagger"])
def test_bc_and_dagger_count_their_updates_so_every_periodic_evaluation_runs(
        algo: str, demos: Path, expert: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # imitation's trainers step the policy themselves: without SB3's update count moving, PeriodicEval would take
    # every evaluation after the first for the same policy and skip it.
    steps: list[int] = []
    real = training.evaluate

    def counting(agent: Any, venv: Any, episodes: int, *args: Any, **kwargs: Any) -> dict[str, Any]:
        steps.append(int(agent.model.num_timesteps))
        return real(agent, venv, episodes, *args, **kwargs)

    monkeypatch.setattr(training, "evaluate", counting)
    rounds = {"n_epochs": 1, "rollout_round_min_timesteps": 200, "rollout_round_min_episodes": 1}  # <= 500 steps
    extra = {"expert": str(expert), "hyperparams": rounds} if algo == "dagger" else {"hyperparams": {}}
    extra["hyperparams"]["demo_episodes"] = 1
    run = api.train(algo, "CartPole-v1", timesteps=1200, n_envs=1, demos=str(demos), eval_freq=300, eval_episodes=2,
                    run_dir=tmp_path / algo, **extra)
    assert len(set(steps)) >= 3 and run.steps >= 1200  # evaluated at 3 or more points (the final one among them)


def test_dagger_needs_an_expert(demos: Path, in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = train_run(["--algo", "dagger", "--env", "CartPole-v1", "--demos", str(demos), "--run-dir", "r",
                           "--timesteps", "100"], capsys)
    assert code == 2 and "--expert" in err and not Path("r").exists()


# --------------------------------------------------------------------------- gail, airl, learned rewards


@pytest.fixture(scope="module", params=["gail", "airl"])
def adversarial_run(request: pytest.FixtureRequest, demos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp(request.param) / "run"
    argv = ["--algo", request.param, "--env", "CartPole-v1", "--demos", str(demos), "--run-dir", str(run),
            "--timesteps", "6144", "--eval-episodes", "3", "--eval-freq", "0", "--hyperparams", "n_steps=32",
            "batch_size=128", "n_epochs=4", "demo_batch_size=128", "disc_learning_rate=0.001"]
    assert _cli.run(train.main, argv) == 0
    return run


def test_adversarial_reward_scores_expert_above_random(adversarial_run: Path, demos: Path) -> None:
    from gymsuite.rewards.learned import load_reward_net

    env = gym.make("CartPole-v1")
    reward = load_reward_net(adversarial_run, env.observation_space, env.action_space)
    expert = load_demos(demos).to_transitions()
    r_expert = reward.predict_processed(expert.obs, expert.acts, expert.next_obs, expert.dones)
    r_random = reward.predict_processed(*random_transitions())
    assert r_expert.mean() > r_random.mean() + 0.3  # measured margins: 1.4 to 3.1 over seeds 0-3
    model = PPO.load(adversarial_run / "model.zip", device="cpu")  # the generator, plain SB3
    assert model.num_timesteps == 6144  # env steps: 24 rounds of 32 steps x 8 envs


def test_learned_reward_replaces_the_env_reward_and_keeps_it_in_info(adversarial_run: Path) -> None:
    from gymsuite.rewards.learned import learned_reward_wrappers

    venv = make_env("CartPole-v1", n_envs=2, seed=0, reward_wrappers=learned_reward_wrappers(adversarial_run))
    obs = venv.reset()
    absorbing = 0
    for _ in range(60):
        obs, rewards, dones, infos = venv.step(np.zeros(2, dtype=int))  # always left: falls quickly
        for r, info in zip(rewards, infos, strict=True):
            absorbing += bool(info.get("absorbing"))
            if not info.get("absorbing"):
                assert info["env_reward"] == 1.0 and r == pytest.approx(info["learned_reward"], rel=1e-5)
    assert absorbing > 0  # trained with absorbing states, reused with them
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, device="cpu", seed=0)
    model.learn(256)
    assert all(ep["r"] == ep["l"] for ep in model.ep_info_buffer)  # Monitor logs the env's own return
    venv.close()


def test_learned_reward_adds_to_the_env_reward_and_composes_with_shaping(adversarial_run: Path,
                                                                         tmp_path: Path) -> None:
    from gymsuite.rewards.learned import learned_reward_wrappers
    from gymsuite.rewards.shaping import load_shaping

    wrappers = learned_reward_wrappers(adversarial_run, mode="add", scale=2.0, absorbing=False)
    wrappers += load_shaping({"terms": {"alive": {"kind": "living", "weight": -0.5}}})
    venv = make_env("CartPole-v1", n_envs=1, seed=0, reward_wrappers=wrappers)
    venv.reset()
    _, rewards, _, infos = venv.step(np.array([1]))
    info = infos[0]
    assert info["env_reward"] == 1.0 and info["shaping"] == {"alive": -0.5}
    assert rewards[0] == pytest.approx(1.0 + 2.0 * info["learned_reward"] - 0.5, rel=1e-5)


def test_learned_reward_errors_name_the_problem(adversarial_run: Path, tmp_path: Path) -> None:
    from gymsuite.rewards.learned import learned_reward_wrappers

    with pytest.raises(UserError, match="only gail and airl runs save reward_net.pt"):
        learned_reward_wrappers(tmp_path)
    wrappers = learned_reward_wrappers(adversarial_run)
    with pytest.raises(UserError, match="learned on CartPole-v1 with observation space"):
        make_env("Acrobot-v1", n_envs=1, reward_wrappers=wrappers)
    with pytest.raises(UserError, match="'multiply'(.|\n)*mode must be one of replace, add"):
        learned_reward_wrappers(adversarial_run, mode="multiply")


def test_train_script_learns_from_a_learned_reward_plus_shaping(adversarial_run: Path, tmp_path: Path) -> None:
    import yaml

    shaping = tmp_path / "alive.yaml"
    shaping.write_text("terms:\n  alive: {kind: living, weight: -0.1}\n")
    run = tmp_path / "reuse"
    argv = ["--algo", "ppo", "--env", "CartPole-v1", "--learned-reward", str(adversarial_run),
            "--learned-reward-kwargs", "mode=add", "scale=0.5", "--reward-shaping", str(shaping),
            "--run-dir", str(run), "--timesteps", "512", "--n-envs", "2", "--eval-episodes", "2", "--eval-freq", "0",
            "--hyperparams", "n_steps=128", "batch_size=64", "n_epochs=1"]
    assert _cli.run(train.main, argv) == 0
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["learned_reward"] == str(adversarial_run)
    assert cfg["learned_reward_kwargs"] == {"mode": "add", "scale": 0.5}
    ev = json.loads((run / "eval.json").read_text())
    assert ev["episodes"] == 2 and ev["mean_return"] >= 8  # evaluated on the env's own reward (1 per step)

    bad = ["--algo", "ppo", "--env", "CartPole-v1", "--learned-reward", str(adversarial_run), "--run-dir",
           str(tmp_path / "bad"), "--timesteps", "64", "--learned-reward-kwargs", "weight=2"]
    with pytest.raises(UserError, match="unknown learned-reward option"):
        train.main(bad)
    assert not (tmp_path / "bad").exists()


# --------------------------------------------------------------------------- keyboard play


def test_play_maps_keys_to_actions_and_saves_the_episodes(in_tmp: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    frames = [["left"]] * 3 + [[]] * 2 + [["right"]] * 600  # no key: CartPole keeps the last push
    monkeypatch.setattr(play, "check_display", lambda: None)  # SDL's dummy driver, and the keys scripted
    monkeypatch.setattr(play, "PygameKeys", lambda keys: play.ScriptedKeys(frames))
    assert _cli.run(play.main, ["--env", "CartPole-v1", "--out", "me.npz", "--episodes", "2", "--seed", "0",
                                "--fps", "0"]) == 0
    env = gym.make("CartPole-v1")
    data = load_demos("me.npz", env.observation_space, env.action_space)
    assert data.n_episodes == 2 and data.source.startswith("keyboard")
    assert data.acts[:6].tolist() == [0, 0, 0, 0, 0, 1] and data.acts[6:].min() == 1


def test_play_bindings() -> None:
    lander = play.keymap_for("LunarLander-v3", gym.spaces.Discrete(4))
    assert lander.action({"up"}, set(), 0) == 2 and lander.action(set(), set(), 3) == 0
    grid = play.keymap_for("gymsuite/SparseGrid-v0", gym.spaces.Discrete(4))
    assert grid.turn_based and grid.action({"3"}, set(), 0) is None and grid.action(set(), {"3"}, 0) == 3
    with pytest.raises(UserError, match="cannot be played from the keyboard") as err:
        play.keymap_for("Pendulum-v1", gym.spaces.Box(-2, 2, (1,)))
    assert "CartPole-v1" in str(err.value) and "LunarLander-v3" in str(err.value)


def test_play_saves_nothing_without_a_complete_episode(in_tmp: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(play, "check_display", lambda: None)  # SDL's dummy driver, and the keys scripted
    monkeypatch.setattr(play, "PygameKeys", lambda keys: play.ScriptedKeys([["1"]] * 3))
    assert _cli.run(play.main, ["--env", "gymsuite/SparseGrid-v0", "--out", "x.npz", "--fps", "0"]) == 2
    assert "no complete episode" in capsys.readouterr().err and not Path("x.npz").exists()


def test_collect_demos_from_a_bare_model_zip_needs_an_env(expert: Path, in_tmp: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    Path("lone").mkdir()
    with zipfile.ZipFile(expert / "model.zip") as src, zipfile.ZipFile("lone/m.zip", "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
    assert _cli.run(collect_demos.main, ["lone/m.zip", "--out", "d.npz", "--episodes", "1"]) == 2
    assert "pass --env ENV" in capsys.readouterr().err
    assert _cli.run(collect_demos.main, ["lone/m.zip", "--env", "CartPole-v1", "--out", "d.npz",
                                         "--episodes", "1"]) == 0
    assert load_demos("d.npz").returns().tolist() == [500.0]


def test_imitation_checks_run_before_anything_is_written(demos: Path, tmp_path: Path) -> None:
    """The reward options are refused by the config itself; demonstrations of another env by ``prepare``, which
    builds the env and model and writes nothing (``train`` creates the run directory only after it)."""
    from gymsuite.agents.run.config import build_config
    from gymsuite.agents.run.training import prepare

    with pytest.raises(UserError, match="does not learn from the env's reward"):
        build_config({"algo": "gail", "env": "CartPole-v1", "demos": str(demos), "curiosity": "rnd"})
    cfg = build_config({"algo": "gail", "env": "Acrobot-v1", "demos": str(demos), "timesteps": 64})
    with pytest.raises(UserError, match="observation space"):
        prepare(cfg)
    cfg = build_config({"algo": "bc", "env": "CartPole-v1", "demos": str(tmp_path / "missing.npz"), "timesteps": 64})
    with pytest.raises(UserError, match="missing.npz"):
        prepare(cfg)
