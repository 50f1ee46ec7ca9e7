"""``gymsuite shift`` and ``gymsuite.shift``: a saved agent over a grid of env parameters, end to end; its bad
inputs (exit 2, one message, nothing written); and runs trained with domain randomisation (``randomize``):
config kept, draws logged, evaluated at the nominal parameters, still learning."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import gymsuite
from gymsuite.agents.saved.loading import load_agent, make_agent_env
from gymsuite.commands import _cli, shift
from gymsuite.envs.wrappers.randomize import RandomizeParams

PUSH_TOWARDS_LEAN = [[0, 0, -50, -25], [0, 0, 50, 25]]  # CartPole's linear controller: 500 at nominal


@pytest.fixture(scope="module")
def expert(tmp_path_factory: pytest.TempPathFactory, linear_expert: Callable[..., object]) -> Path:
    run = tmp_path_factory.mktemp("shift") / "expert"
    linear_expert("CartPole-v1", PUSH_TOWARDS_LEAN, run_dir=run)
    return run


@pytest.fixture(scope="module")
def randomized_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("shift") / "randomized"
    gymsuite.train("ppo", "CartPole-v1", timesteps=20_000, seed=0, run_dir=run,
                   hyperparams={"randomize": {"length": ["0.5x", "2x"], "dist": "loguniform"}})
    return run


def test_shift_json_gives_the_return_per_value_and_writes_the_plot(expert: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "shift.png"
    capsys.readouterr()
    assert _cli.run(shift.main, [str(expert), "--param", "force_mag=0.01x:1x:3", "--episodes", "2", "--seeds", "2",
                                 "--json", "--plot", str(plot)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["params"] == ["force_mag"] and result["values"]["force_mag"] == pytest.approx([0.1, 5.05, 10])
    assert result["nominal"] == {"force_mag": 10.0}
    returns = result["mean_return"]
    assert len(returns) == 3 == len(result["ci_low"]) == len(result["points"])
    assert returns[2] == 500 and returns[0] < 100  # a push of 1% cannot hold the pole up
    assert all(len(p["per_seed"]) == 2 for p in result["points"])
    assert plot.is_file() and plot.read_bytes()[:4] == b"\x89PNG"


def test_a_two_parameter_grid_gives_a_heat_map(expert: Path, tmp_path: Path) -> None:
    plot = tmp_path / "grid.svg"
    result = gymsuite.shift(expert, ["length=0.5x:2x:2", "gravity=x1:x2:3"], episodes=1, seeds=1, plot=plot)
    assert result["params"] == ["length", "gravity"]
    assert [len(row) for row in result["mean_return"]] == [3, 3]  # rows: length; columns: gravity
    assert result["values"]["gravity"] == pytest.approx([9.8, 14.7, 19.6])
    assert plot.read_text().lstrip().startswith("<?xml")


def test_the_table_marks_the_nominal_value(expert: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _cli.run(shift.main, [str(expert), "--param", "length=0.25x:4x:5", "--log", "--episodes", "1",
                                 "--seeds", "1"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [float(r.split()[0]) for r in rows] == pytest.approx([0.125, 0.25, 0.5, 1, 2])
    assert [r.endswith("(nominal)") for r in rows] == [False, False, True, False, False]


@pytest.mark.parametrize(("argv", "message"), [
    (["--param", "pole=1:2:3"], "has no parameter 'pole'"),
    (["--param", "length=0:1:3"], "length=0 breaks the env"),
    (["--param", "gravity=-9.8:9.8:3"], "gravity must be > 0"),
    (["--param", "length=1:2:1"], "N=1 gives no grid"),
    (["--param", "length=1:2"], "bad --param"),
    (["--param", "length=-1:2:3", "--log"], "breaks the env"),
    (["--param", "length=1:2:2", "--param", "length=1:2:2"], "given twice"),
    (["--param", "length=1:2:2", "--param", "gravity=5:6:2", "--param", "masscart=1:2:2"], "1 or 2 axes"),
    (["--param", "attr:nope=1:2:2"], "has no attr nope"),
    (["--param", "length=1:2:2", "--seeds", "0"], "--seeds must be at least 1"),
])
def test_bad_input_is_exit_2_and_writes_nothing(expert: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                argv: list[str], message: str) -> None:
    plot = tmp_path / "out.png"
    capsys.readouterr()
    assert _cli.run(shift.main, [str(expert), *argv, "--episodes", "1", "--plot", str(plot)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err and captured.out == ""
    assert not plot.exists()


def test_a_multiagent_env_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _cli.run(shift.main, ["random", "--env", "mpe2.simple_spread_v3", "--param", "x=1:2:2"]) == 2
    assert "multi-agent env" in capsys.readouterr().err


def test_a_randomized_run_keeps_its_config_logs_its_draws_and_is_evaluated_at_nominal(randomized_run: Path) -> None:
    config = yaml.safe_load((randomized_run / "config.yaml").read_text())
    assert config["hyperparams"]["randomize"] == {"length": ["0.5x", "2x"], "dist": "loguniform"}
    with (randomized_run / "logs" / "randomize.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 50 and set(rows[0]) == {"timesteps", "env", "episode_return", "episode_length", "length"}
    lengths = [float(r["length"]) for r in rows]
    assert 0.25 <= min(lengths) < 0.35 and 0.7 < max(lengths) <= 1.0
    header = (randomized_run / "logs" / "progress.csv").read_text().splitlines()[0].split(",")
    assert "randomize/length" in header
    agent = load_agent(str(randomized_run))
    venv = make_agent_env(agent, n_envs=2)
    venv.reset()
    for env in venv.envs:  # type: ignore[attr-defined]
        layers = [env]
        while hasattr(layers[-1], "env"):
            layers.append(layers[-1].env)
        assert not any(isinstance(layer, RandomizeParams) for layer in layers)
        assert env.unwrapped.length == 0.5


def test_a_short_randomized_training_run_keeps_learning(randomized_run: Path) -> None:
    with (randomized_run / "logs" / "randomize.csv").open() as f:
        returns = [float(r["episode_return"]) for r in csv.DictReader(f)]
    early, late = sum(returns[:50]) / 50, sum(returns[-20:]) / 20
    assert early < 40 and late > 3 * early  # random play lasts about 22 steps
    assert json.loads((randomized_run / "eval.json").read_text())["mean_return"] > 100


def test_a_constructor_keyword_builds_each_value_and_rounds_a_whole_grid() -> None:
    result = gymsuite.shift("random", "size=5:7:5", env="MiniGrid-Empty-5x5-v0", episodes=1, seeds=1)
    assert result["values"]["size"] == [5, 6, 7]
    agent = load_agent("random", env="MiniGrid-Empty-5x5-v0")
    venv = make_agent_env(agent, env_kwargs={"size": 7})
    venv.reset()
    assert venv.envs[0].unwrapped.width == 7  # type: ignore[attr-defined]


@pytest.mark.parametrize(("env", "randomize", "message"), [
    ("CartPole-v1", "{length: [0, 2]}", "length must be > 0"),
    ("CartPole-v1", "{gravity: [-10, 10]}", "gravity must be > 0"),
    ("CartPole-v1", "{pole: [1, 2]}", "has no parameter 'pole'"),
    ("CartPole-v1", "{length: [1, 2], dist: lognormal}", "unknown dist"),
    ("CartPole-v1", "{length: [0.1, 1], dist: loguniform, adr: {bounds: [0, 2], threshold: 1, step: 0.1}}",
     "length must be > 0"),
    ("mpe2.simple_spread_v3", "{length: [1, 2]}", "single-agent envs only"),
])
def test_train_refuses_a_bad_randomize_before_writing_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                env: str, randomize: str, message: str) -> None:
    from gymsuite.commands import train

    capsys.readouterr()
    run = tmp_path / "run"
    assert _cli.run(train.main, ["--algo", "ppo", "--env", env, "--timesteps", "256", "--run-dir", str(run),
                                 "--hyperparams", f"randomize={randomize}"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not run.exists()
