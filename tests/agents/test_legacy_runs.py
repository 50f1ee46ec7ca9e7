"""Runs saved before gymsuite had one import name (0.1: ``env: envs.custom...``, zips naming
``supervised.mlp.MlpBackbone``) still load, act as they did, evaluate and resume.

The fixture ``tests/data/legacy_v0_1/tmaze_mlp`` was written by gymsuite 0.1.0 itself (the command is in its
``expected.json``, with the actions and values that version's model gave for five observations).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from gymsuite.agents.saved.loading import load_agent
from gymsuite.commands import _cli, evaluate, train
from gymsuite.common.legacy import current_name

RUN = Path(__file__).resolve().parents[1] / "data" / "legacy_v0_1" / "tmaze_mlp"
EXPECTED = json.loads((RUN / "expected.json").read_text())


def test_the_fixture_names_the_old_paths() -> None:
    assert yaml.safe_load((RUN / "config.yaml").read_text())["env"] == "envs.custom.tmaze:TMazeEnv"
    with __import__("zipfile").ZipFile(RUN / "model.zip") as archive:
        assert "supervised.mlp.MlpBackbone" in archive.read("data").decode()


def test_old_names_map_to_gymsuite_modules_and_others_stay() -> None:
    assert current_name("envs.custom.tmaze") == "gymsuite.envs.custom.tmaze"
    assert current_name("supervised.mlp") == "gymsuite.supervised.mlp"
    assert current_name("envs.not_a_gymsuite_module") == "envs.not_a_gymsuite_module"  # a user's own package
    assert current_name("numpy.linalg") == "numpy.linalg"


@pytest.mark.parametrize("target", ["run", "zip"])
def test_an_old_run_loads_and_acts_as_it_did(target: str) -> None:
    agent = (load_agent(str(RUN)) if target == "run"
             else load_agent(str(RUN / "model.zip"), env="envs.custom.tmaze:TMazeEnv"))
    obs = np.asarray(EXPECTED["observations"], dtype=np.float32)
    actions, _ = agent.model.predict(obs, deterministic=True)
    values = agent.model.policy.predict_values(agent.model.policy.obs_to_tensor(obs)[0]).detach().numpy().ravel()
    assert actions.tolist() == EXPECTED["actions"]
    np.testing.assert_allclose(values, EXPECTED["values"], rtol=1e-5, atol=1e-6)
    assert type(agent.model.policy.features_extractor).__module__ == "gymsuite.supervised.mlp"


def test_an_old_run_evaluates(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.run(evaluate.main, [str(RUN), "--episodes", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 2 and np.isfinite(result["mean_return"])


def test_an_old_run_resumes_to_its_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    assert _cli.run(train.main, ["--resume", str(run)]) == 0
    assert "trained 128 steps" in capsys.readouterr().out
    # steps 64..128 retrained from the 0.1 checkpoint give the model that 0.1's own resume gave
    model = load_agent(str(run)).model
    obs = np.asarray(EXPECTED["observations"], dtype=np.float32)
    values = model.policy.predict_values(model.policy.obs_to_tensor(obs)[0]).detach().numpy().ravel()
    np.testing.assert_allclose(values, EXPECTED["resumed_values"], rtol=1e-5, atol=1e-6)
    assert yaml.safe_load((run / "config.yaml").read_text())["env"] == "envs.custom.tmaze:TMazeEnv"


def test_an_old_config_trains_again(tmp_path: Path) -> None:
    out = tmp_path / "again"
    assert _cli.run(train.main, ["--config", str(RUN / "config.yaml"), "--timesteps", "64", "--run-dir", str(out),
                                 "--eval-episodes", "1"]) == 0
    assert (out / "model.zip").is_file()
