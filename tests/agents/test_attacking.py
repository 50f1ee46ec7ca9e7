"""gymsuite attack: agent-level attacks over episodes, the worst of them, defences, and each bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from gymsuite import api
from gymsuite.agents.saved import attacking
from gymsuite.agents.saved.loading import load_agent
from gymsuite.agents.saved.victims import attack_view, model_victim
from gymsuite.commands import _cli
from gymsuite.commands import attack as attack_cmd
from gymsuite.commands import evaluate as evaluate_cmd
from gymsuite.common.errors import UserError

LEAN = [[0, 0, -50, -25], [0, 0, 50, 25]]  # CartPole: push toward the lean (scores 500)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.conftest import _linear_expert

    root = tmp_path_factory.mktemp("attack")
    made = {"lean": ("CartPole-v1", LEAN), "other": ("CartPole-v1", [[0, -1, -40, -20], [0, 1, 40, 20]]),
            "acrobot": ("Acrobot-v1", [[0] * 6, [0] * 6, [0] * 6]), "lake": ("FrozenLake-v1", [[0] * 16] * 4)}
    for name, (env, weights) in made.items():
        _linear_expert(env, weights, root / name)
    return {name: root / name for name in made}


def test_worst_is_at_most_each_attack_per_episode(runs: dict[str, Path]) -> None:
    setting = attacking.Setting((0.0, 0.1, 0.2), tuple(attacking.parse_attacks(["random", "fgsm", "pgd"])),
                                seeds=(0, 1), episodes=2, steps=3)
    table = attacking.attack_returns(load_agent(str(runs["lean"])), setting)["none"]
    for eps in setting.eps:
        assert table["worst"][eps].shape == (4,)
        for name in ("random", "fgsm", "pgd"):
            assert (table["worst"][eps] <= table[name][eps]).all()
    assert (table["pgd"][0.0] == 500).all() and table["pgd"][0.2].mean() < 100  # clean 500; PGD at 0.2 breaks it


def test_command_end_to_end_json_and_plot(runs: dict[str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "attack.png"
    argv = [str(runs["lean"]), "--eps", "0,0.15", "--attacks", f"random,fgsm,critic,mad,transfer:{runs['other']}",
            "--episodes", "2", "--steps", "3", "--defence", "randomized:0.02:3", "--plot", str(plot), "--json"]
    assert _cli.run(attack_cmd.main, argv) == 0
    report = json.loads(capsys.readouterr().out)
    attacks = ["random", "fgsm", "critic", "mad", f"transfer:{runs['other']}"]
    assert report["attacks"] == attacks and report["eps"] == [0.0, 0.15]
    assert set(report["mean_return"]) == {*attacks, "worst"} and set(report["worst"]) == {"0", "0.15"}
    assert report["clean"] == 500 and report["worst"]["0.15"] <= min(report["mean_return"][a]["0.15"] for a in attacks)
    assert set(report["defences"]) == {"none", "randomized:0.02:3"}
    assert "clean" in report["defences"]["randomized:0.02:3"]
    low, high = report["ci"]["worst"]["0.15"]
    assert low <= report["iqm"]["worst"]["0.15"] <= high
    assert plot.is_file() and plot.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_through_a_defence(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.run(evaluate_cmd.main, [str(runs["lean"]), "--episodes", "2", "--defence", "randomized:0.01:3",
                                        "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["defence"] == "randomized:0.01:3" and result["mean_return"] > 400


@pytest.mark.parametrize(("argv", "words"), [
    (["--eps", "-0.1"], "epsilon must be"),
    (["--eps", "0,nan"], "epsilon must be"),
    (["--attacks", "pgdd"], "did you mean 'pgd'"),
    (["--attacks", "transfer"], "transfer:RUN_DIR"),
    (["--defence", "bits:4"], "not pixels"),
    (["--defence", "blur:3"], "unknown defence"),
])
def test_bad_input_exits_2_and_writes_nothing(runs: dict[str, Path], tmp_path: Path, argv: list[str], words: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "a.png"
    assert _cli.run(attack_cmd.main, [str(runs["lean"]), *argv, "--episodes", "1", "--plot", str(plot)]) == 2
    assert words in capsys.readouterr().err and not plot.exists()


def test_discrete_observations_and_another_observation_space_are_refused(runs: dict[str, Path], tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.run(attack_cmd.main, [str(runs["lake"]), "--episodes", "1"]) == 2
    assert "discrete observations" in capsys.readouterr().err
    assert _cli.run(attack_cmd.main, [str(runs["lean"]), "--attacks", f"transfer:{runs['acrobot']}",
                                      "--episodes", "1"]) == 2
    assert "observes Box" in capsys.readouterr().err


def test_recurrent_policies_are_refused() -> None:
    from sb3_contrib import RecurrentPPO

    from gymsuite.envs.factory import make_env

    venv = make_env("CartPole-v1", n_envs=1, seed=0)
    try:
        with pytest.raises(UserError, match="recurrent"):
            model_victim(RecurrentPPO("MlpLstmPolicy", venv, n_steps=8, device="cpu"))
    finally:
        venv.close()


def test_masked_and_multi_agent_runs_are_refused() -> None:
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO

    from gymsuite.agents.saved.loading import LoadedAgent
    from gymsuite.envs.factory import make_env

    venv = make_env("CartPole-v1", n_envs=1, seed=0)
    try:
        with pytest.raises(UserError, match="masked"):
            model_victim(MaskablePPO("MlpPolicy", venv, n_steps=8, device="cpu"))
        agent = LoadedAgent(PPO("MlpPolicy", venv, n_steps=8, device="cpu"), "ppo", "mpe2.simple_spread_v3")
    finally:
        venv.close()
    spread = make_env("mpe2.simple_spread_v3", n_envs=1, seed=0)
    try:
        with pytest.raises(UserError, match="multi-agent"):
            attacking.check_agent(agent, spread)
    finally:
        spread.close()


def test_eps_is_in_raw_units_through_the_normaliser(runs: dict[str, Path]) -> None:
    """The ball of radius eps around the raw observation is the box eps / sigma around the normalised one."""
    from gymsuite.supervised.adversarial import craft

    model = load_agent(str(runs["lean"])).model
    import gymnasium as gym

    norm = VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]), training=False, norm_reward=False)
    norm.obs_rms.mean, norm.obs_rms.var = np.array([0.1, 0.0, 0.0, -0.2]), np.array([4.0, 1.0, 0.01, 0.25])
    view = attack_view(model, norm)
    assert view.scale is not None and np.allclose(view.scale, 1 / np.sqrt(norm.obs_rms.var + 1e-8), rtol=1e-4)
    raw = np.random.default_rng(0).uniform(-0.05, 0.05, (16, 4))
    z = view.tensor(view.from_raw(raw))
    x = craft("pgd", view.victim, z, view.radius(0.1), view.bounds, 5, generator=torch.Generator().manual_seed(0))
    back = view.to_raw(x.numpy())
    assert np.abs(back - raw).max() <= 0.1 + 1e-5 and np.abs(back - raw).max() > 0.09
    norm.close()


def test_api_attack_validates_before_work(runs: dict[str, Path]) -> None:
    with pytest.raises(UserError, match="epsilon"):
        api.attack(runs["lean"], [math.inf])
    with pytest.raises(UserError, match="seed"):
        api.attack(runs["lean"], [0.1], seeds=[])


def test_pixel_and_dqn_runs_are_attacked_in_their_units(tmp_path: Path) -> None:
    """A CNN agent on pixels (eps in 0-255 units; bit depth and median filters) and a DQN agent (softmax of Q)."""
    api.train("ppo", "gymsuite/PixelCartPole-v0", timesteps=64, run_dir=tmp_path / "pix",
              hyperparams={"n_steps": 32, "n_envs": 2, "batch_size": 32, "n_epochs": 1})
    report = api.attack(tmp_path / "pix", eps=[0, 8], attacks=["random", "pgd", "mad"], episodes=2, steps=2,
                        defences=["bits:4", "median:3"])
    assert set(report["defences"]) == {"none", "bits:4", "median:3"}
    assert all(table["worst"]["8"] <= table["mean_return"]["random"]["8"] for table in report["defences"].values())
    api.train("dqn", "CartPole-v1", timesteps=256, run_dir=tmp_path / "dqn")
    report = api.attack(tmp_path / "dqn", eps=[0, 0.1], attacks=["fgsm", "critic"], episodes=2, steps=2)
    assert set(report["mean_return"]) == {"fgsm", "critic", "worst"}
