"""gymsuite adapt (agents/saved/adapting.py): test-time adaptation of an image agent's encoder by reconstruction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from stable_baselines3 import PPO

import gymsuite
from gymsuite.commands import _cli, adapt
from gymsuite.common.files import read_yaml

TARGET = "gymsuite/PixelCartPoleRecolored-v0"
TINY = ["n_steps=32", "batch_size=32", "n_epochs=1", "backbone=small_cnn", "backbone_kwargs={features_dim: 32}",
        "policy_kwargs={net_arch: [16]}"]


@pytest.fixture(scope="module")
def pixel_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny pixel agent trained with aux=recon, so that adapt reuses its decoder."""
    run = tmp_path_factory.mktemp("adapt") / "pix"
    gymsuite.train("ppo", "gymsuite/PixelCartPole-v0", timesteps=64, n_envs=2, run_dir=run, eval_episodes=1,
                   hyperparams=[*TINY, "aux=recon"])
    return run


def test_adapt_fine_tunes_the_encoder_only_and_writes_a_run_every_command_takes(pixel_run: Path,
                                                                               tmp_path: Path) -> None:
    out = tmp_path / "adapted"
    result = gymsuite.adapt(pixel_run, out, env=TARGET, steps=64, updates=5, episodes=2)
    assert result["decoder"] == "run" and result["recon_loss_after"] < result["recon_loss_before"]
    assert {"mean_return", "returns"} <= result["before"].keys() and len(result["after"]["returns"]) == 2
    before, after = (PPO.load(p / "model.zip", device="cpu").policy.state_dict() for p in (pixel_run, out))
    changed = sorted(k for k in before if not torch.equal(before[k], after[k]))
    assert changed == result["changed"] and changed
    assert all("features_extractor." in k for k in changed)  # the heads (mlp_extractor, action/value nets) frozen
    assert all(torch.equal(before[k], after[k]) for k in before if "features_extractor." not in k)
    assert read_yaml(out / "config.yaml")["env"] == TARGET
    assert json.loads((out / "adapt.json").read_text())["after"] == result["after"]
    assert gymsuite.evaluate(out, episodes=1)["episodes"] == 1  # a run directory like any other


def test_adapting_a_loaded_agent_leaves_it_as_it_was(pixel_run: Path, tmp_path: Path) -> None:
    agent = gymsuite.load(pixel_run)
    assert agent.model is not None
    before = {k: v.clone() for k, v in agent.model.policy.state_dict().items()}
    gymsuite.adapt(agent, tmp_path / "a", params={"background": 0.5}, steps=32, updates=2, episodes=1)
    assert all(torch.equal(before[k], v) for k, v in agent.model.policy.state_dict().items())


def test_adapt_json_on_the_run_env_with_params(pixel_run: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dark"
    capsys.readouterr()
    assert _cli.run(adapt.main, [str(pixel_run), "--param", "background=0.6", "--param", "pole=0.1", "--out",
                                 str(out), "--steps", "32", "--updates", "2", "--episodes", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["params"] == {"background": "0.6", "pole": "0.1"} and (out / "model.zip").is_file()
    assert read_yaml(out / "config.yaml")["env"] == "gymsuite/PixelCartPole-v0"


@pytest.fixture(scope="module")
def vector_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("adapt") / "cp"
    gymsuite.train("ppo", "CartPole-v1", timesteps=64, run_dir=run, eval_episodes=1, hyperparams=["n_steps=64"])
    return run


@pytest.mark.parametrize(("argv", "message"), [
    (["--env", "CartPole-v1"], "observation space"),
    (["--param", "backgrund=0.5"], "background"),
    (["--param", "background=1.5"], "[0, 1]"),
    (["--param", "background"], "bad --param"),
    (["--steps", "0"], "steps must be an integer of at least 1"),
    (["--learning-rate", "nan"], "learning_rate"),
])
def test_bad_input_is_exit_2_and_writes_nothing(pixel_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                argv: list[str], message: str) -> None:
    out = tmp_path / "out"
    capsys.readouterr()
    assert _cli.run(adapt.main, [str(pixel_run), *argv, "--out", str(out), "--steps", "32", "--updates", "1"]
                    if "--steps" not in argv else [str(pixel_run), *argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err and captured.out == ""
    assert not out.exists() and not list(tmp_path.iterdir())


def test_a_vector_agent_and_an_existing_out_are_refused(pixel_run: Path, vector_run: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _cli.run(adapt.main, [str(vector_run), "--out", str(tmp_path / "x")]) == 2
    assert "needs image observations and an image backbone" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    assert _cli.run(adapt.main, [str(pixel_run), "--out", str(tmp_path / "taken")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"] and not list((tmp_path / "taken").iterdir())
