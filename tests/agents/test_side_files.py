"""A run's files besides its model: damaged ones are exit 2 naming the file, resume falls back past a damaged
checkpoint, and another tool's pickled normaliser beside a bare zip is said to be unapplied (applied when trusted)."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize, unwrap_vec_normalize

from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import train
from gymsuite.agents.saved.loading import load_agent, make_agent_env
from gymsuite.commands import _cli, evaluate
from gymsuite.commands import train as train_command
from tests.agents.test_faults import _assert_same_parameters

MARK = Path("ran-the-pickle")  # written (in the test's working directory) only if a crafted pickle is ever loaded


def _mark(text: str) -> None:
    MARK.write_text(text)


class Crafted:
    """A pickled object that would write :data:`MARK` when unpickled."""

    def __reduce__(self) -> tuple[Callable[[str], None], tuple[str]]:
        return _mark, ("ran",)


def _run(root: Path, settings: dict[str, object], hyper: list[str]) -> Path:
    cfg = build_config({"env": "CartPole-v1", "n_envs": 2, "eval_freq": 0, "eval_episodes": 1, **settings},
                       None, hyper)
    train(cfg, root)
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny runs whose checkpoints hold every side file: ppo (state, normaliser, aux), dqn (replay, curiosity),
    selfplay (pool snapshots, elo.csv)."""
    root = tmp_path_factory.mktemp("side-files")
    ppo = _run(root / "ppo", {"algo": "ppo", "timesteps": 512, "checkpoint_freq": 128},
               ["normalize=true", "aux=denoise", "n_steps=64", "batch_size=64", "n_epochs=1"])
    dqn = _run(root / "dqn", {"algo": "dqn", "timesteps": 256, "checkpoint_freq": 64, "n_envs": 1, "curiosity": "rnd"},
               ["learning_starts=32", "buffer_size=500", "train_freq=16", "gradient_steps=1", "batch_size=16"])
    selfplay = _run(root / "selfplay", {"algo": "selfplay", "env": "pettingzoo.classic.tictactoe_v3", "timesteps": 256,
                                        "checkpoint_freq": 128},
                    ["n_steps=64", "batch_size=64", "n_epochs=1", "selfplay={snapshot_freq: 64, elo_games: 1}"])
    return {"ppo": ppo, "dqn": dqn, "selfplay": selfplay}


def _fails(main: Callable[[list[str]], int], argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert _cli.run(main, argv) == 2
    err = capsys.readouterr().err
    assert "error: " in err and "fix: " in err and "Traceback" not in err
    return err


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))


def _object_array(path: Path) -> None:
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    arrays[next(iter(arrays))] = np.array([{"a": 1}, None], dtype=object)
    with path.open("wb") as file:
        np.savez(file, **arrays)


def _pickled_object(path: Path) -> None:
    torch.save({"weights": Crafted()}, path)


def _pickled_policy(path: Path) -> None:
    """``policy.pth`` inside the model zip ``path`` replaced by a pickled object."""
    buffer = io.BytesIO()
    torch.save({"weights": Crafted()}, buffer)
    original = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            target.writestr(item, buffer.getvalue() if item.filename == "policy.pth" else source.read(item.filename))


def _rows_of_text(path: Path) -> None:
    path.write_text("step,elo\n64,strong\n")


def _copy(runs: dict[str, Path], name: str, tmp_path: Path) -> RunDir:
    return RunDir(Path(shutil.copytree(runs[name], tmp_path / name)))


# (run, the file in every checkpoint or in the run, the damage, the problem the message names)
_NPZ = [("ppo", "_state.npz"), ("ppo", "_vecnormalize.npz"), ("dqn", "_replay.npz")]
_TORCH = [("ppo", "_aux.pt"), ("dqn", "_curiosity.pt")]
CASES = [
    *[(run, suffix, damage, problem) for run, suffix in _NPZ for damage, problem in
      ((_truncate, "corrupt or truncated"), (_garbage, "corrupt or truncated"), (_object_array, "object array"))],
    *[(run, suffix, damage, problem) for run, suffix in _TORCH for damage, problem in
      ((_truncate, "corrupt or truncated"), (_garbage, "corrupt or truncated"), (_pickled_object, "pickled"))],
    ("ppo", ".zip", _pickled_policy, "pickled Python object"),
]


@pytest.mark.parametrize(("name", "suffix", "damage", "problem"), CASES,
                         ids=[f"{c[0]}{c[1]}-{c[2].__name__.strip('_')}" for c in CASES])
def test_a_damaged_side_file_in_every_checkpoint_is_exit_2_naming_each(
        runs: dict[str, Path], in_tmp: Path, capsys: pytest.CaptureFixture[str], name: str, suffix: str,
        damage: Callable[[Path], None], problem: str) -> None:
    run = _copy(runs, name, in_tmp)
    steps = run.checkpoint_steps()
    assert len(steps) == 2
    for step in steps:
        damage(run.checkpoint(step, suffix))
    err = _fails(train_command.main, ["--resume", str(run.root)], capsys)
    assert "every checkpoint" in err and problem in err
    for step in steps:
        assert str(run.checkpoint(step, suffix)) in err
    assert not MARK.exists()


@pytest.mark.parametrize(("damage", "problem"), [(_truncate, "corrupt or truncated"), (_garbage, "corrupt"),
                                                 (_object_array, "object array")])
def test_a_damaged_vecnormalize_npz_is_exit_2_when_evaluated(runs: dict[str, Path], in_tmp: Path,
                                                             capsys: pytest.CaptureFixture[str],
                                                             damage: Callable[[Path], None], problem: str) -> None:
    run = _copy(runs, "ppo", in_tmp)
    damage(run.vecnormalize)
    err = _fails(evaluate.main, [str(run.root), "--episodes", "1"], capsys)
    assert f"{run.vecnormalize} is not a normalisation-statistics file" in err and problem in err


@pytest.mark.parametrize("target", ["run", "zip"])
def test_a_pickled_object_in_policy_pth_is_exit_2_and_never_runs(runs: dict[str, Path], in_tmp: Path,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 target: str) -> None:
    run = _copy(runs, "ppo", in_tmp)
    _pickled_policy(run.model)
    for trust in ([], ["--trust-pickle"]):  # torch.load(weights_only=True) either way
        err = _fails(evaluate.main, [str(run.root if target == "run" else run.model), "--episodes", "1", *trust],
                     capsys)
        assert f"{run.model} is not a loadable PPO model: it holds a pickled Python object" in err
    assert not MARK.exists()


@pytest.mark.parametrize(("file", "damage", "problem"), [
    ("pool/0.pt", _truncate, "corrupt or truncated"), ("pool/0.pt", _garbage, "corrupt or truncated"),
    ("pool/0.pt", _pickled_object, "pickled Python object"),
    ("elo.csv", _garbage, "corrupt or not a CSV table"), ("elo.csv", _rows_of_text, "line 2"),
])
def test_a_damaged_selfplay_pool_or_elo_table_is_exit_2_naming_it(
        runs: dict[str, Path], in_tmp: Path, capsys: pytest.CaptureFixture[str], file: str,
        damage: Callable[[Path], None], problem: str) -> None:
    run = _copy(runs, "selfplay", in_tmp)
    damage(run.root / file)
    err = _fails(train_command.main, ["--resume", str(run.root)], capsys)
    assert f"{run.root / file} is not" in err and problem in err
    assert not MARK.exists()


@pytest.mark.parametrize(("suffix", "damage"), [(".zip", _truncate), (".zip", _garbage), ("_state.npz", _garbage),
                                                ("_vecnormalize.npz", _object_array), ("_aux.pt", _truncate)])
def test_resume_falls_back_to_the_newest_checkpoint_that_loads_and_says_so(
        runs: dict[str, Path], in_tmp: Path, capsys: pytest.CaptureFixture[str], suffix: str,
        damage: Callable[[Path], None]) -> None:
    run = _copy(runs, "ppo", in_tmp)
    uninterrupted = in_tmp / "uninterrupted.zip"
    shutil.copy(run.model, uninterrupted)
    run.model.unlink()
    latest, earlier = run.checkpoint_steps()
    damage(run.checkpoint(latest, suffix))
    assert _cli.run(train_command.main, ["--resume", str(run.root)]) == 0
    err = capsys.readouterr().err
    assert f"checkpoint ckpt_{latest} is damaged: {run.checkpoint(latest, suffix)}" in err
    assert f"resuming from the earlier {run.checkpoint(earlier)} ({earlier} steps)" in err
    assert run.eval.is_file()
    _assert_same_parameters(uninterrupted, run.model)  # the exact resume from the earlier checkpoint


def _zoo_model(folder: Path, layout: str) -> tuple[Path, VecNormalize]:
    """A PPO zip saved by plain SB3, its VecNormalize pickled where rl-baselines3-zoo or the Hugging Face hub put it."""
    venv = VecNormalize(DummyVecEnv([lambda: gym.make("CartPole-v1")]))
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(64)
    zipped = folder / "CartPole-v1.zip"
    model.save(zipped)
    stats = {"zoo": folder / "CartPole-v1" / "vecnormalize.pkl", "hub": folder / "vec_normalize.pkl"}[layout]
    stats.parent.mkdir(parents=True, exist_ok=True)
    venv.save(str(stats))
    return zipped, venv


@pytest.mark.parametrize("layout", ["zoo", "hub"])
def test_a_zoo_models_pickled_vecnormalize_is_named_and_applied_only_when_trusted(
        in_tmp: Path, capsys: pytest.CaptureFixture[str], layout: str) -> None:
    zipped, saved = _zoo_model(in_tmp, layout)
    capsys.readouterr()
    agent = load_agent(str(zipped), env="CartPole-v1")
    err = capsys.readouterr().err
    assert "not apply" in err and "--trust-pickle" in err and ("vecnormalize.pkl" in err or "vec_normalize.pkl" in err)
    assert unwrap_vec_normalize(make_agent_env(agent)) is None
    trusted = load_agent(str(zipped), env="CartPole-v1", trust_pickle=True)
    assert "applying" in capsys.readouterr().err
    norm = unwrap_vec_normalize(make_agent_env(trusted))
    assert norm is not None and not norm.training and not norm.norm_reward
    assert np.array_equal(norm.obs_rms.mean, saved.obs_rms.mean)  # type: ignore[union-attr]
    assert _cli.run(evaluate.main, [str(zipped), "--env", "CartPole-v1", "--episodes", "1"]) == 0
    assert "--trust-pickle" in capsys.readouterr().err
