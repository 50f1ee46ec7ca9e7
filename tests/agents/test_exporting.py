"""``gymsuite export``: every backbone's file agrees with the Python policy on raw observations, in onnxruntime and
TorchScript; an LSTM carries its state; the normaliser and the image preprocessing are inside the graph; the
example script runs; bad input is refused with nothing written.

The agents train for 64 steps: parity needs a policy, not a good one.
"""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import onnxruntime as ort
import pytest
import torch as th
from gymnasium import spaces
from sb3_contrib import MaskablePPO, RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

import gymsuite
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import train
from gymsuite.agents.saved import exporting
from gymsuite.agents.saved.exporting import ExportOptions, check_exportable
from gymsuite.agents.saved.loading import LoadedAgent, load_agent, make_agent_env
from gymsuite.commands import _cli
from gymsuite.commands import export as export_command
from gymsuite.common.errors import UserError
from gymsuite.supervised import exportfile

TINY = ["n_steps=32", "batch_size=32", "n_epochs=1"]
PIXELS = "pixels={height: 24, width: 36, stack: 2}"
RUNS: dict[str, tuple[str, str, list[str]]] = {
    "mlp": ("ppo", "CartPole-v1", TINY),
    "a2c_discrete_obs": ("a2c", "FrozenLake-v1", ["n_steps=8"]),
    "pg": ("pg", "CartPole-v1", ["n_steps=32"]),
    "dqn": ("dqn", "CartPole-v1", ["learning_starts=16", "buffer_size=500", "batch_size=16", "train_freq=4"]),
    "nature_cnn": ("ppo", "gymsuite/PixelCartPole-v0", TINY),
    "small_cnn": ("ppo", "CartPole-v1", [*TINY, PIXELS, "backbone=small_cnn"]),
    "impala_cnn": ("ppo", "CartPole-v1", [*TINY, PIXELS, "backbone=impala_cnn"]),
    "attention": ("ppo", "CartPole-v1", [*TINY, PIXELS, "backbone=attention"]),
    "framestack": ("ppo", "CartPole-v1", [*TINY, "backbone=framestack",
                                          "backbone_kwargs={context: 4, net_arch: [16]}"]),
    "transformer": ("ppo", "CartPole-v1", [*TINY, "backbone=transformer",
                                           "backbone_kwargs={context: 4, d_model: 16, heads: 2, gated: true}"]),
    "lstm": ("ppo", "CartPole-v1", [*TINY, "backbone=lstm", "backbone_kwargs={hidden_size: 8}"]),
    "normalized_box": ("ppo", "Pendulum-v1", [*TINY, "normalize=true"]),
}
EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "onnx_policy.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run directories by name, trained on first use (64 steps each)."""
    root = tmp_path_factory.mktemp("export-runs")
    made: dict[str, Path] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, name: str) -> Path:
            algo, env, hyper = RUNS[name]
            cfg = build_config({"algo": algo, "env": env, "timesteps": 64, "n_envs": 1, "eval_episodes": 1,
                                "eval_freq": 0, "checkpoint_freq": 0}, None, hyper)
            train(cfg, root / name)
            self[name] = root / name
            return root / name
    return Lazy(made)


def _export(run: Path, tmp_path: Path, fmt: str = "onnx", **kwargs: object) -> dict:
    out = tmp_path / f"policy{exportfile.SUFFIXES[fmt]}"
    return gymsuite.export(run, fmt, out=out, states=kwargs.pop("states", 32), latency=False, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", exportfile.FORMATS)
@pytest.mark.parametrize("name", list(RUNS))
def test_every_backbone_agrees_with_the_python_policy(runs: dict[str, Path], tmp_path: Path, name: str,
                                                      fmt: str) -> None:
    report = _export(runs[name], tmp_path, fmt)
    for kind in ("on_policy", "random"):
        assert report[kind]["agreement"] == 1.0, (kind, report)
        assert report[kind]["max_abs_diff"] < 1e-4, (kind, report)
        assert report[kind]["states"] == 32
    assert report["exporter"] == ("jit.trace" if fmt == "torchscript" else "dynamo"), report["fallback_reason"]
    assert report["target_met"] and Path(report["file"]).stat().st_size == report["bytes"] > 0
    assert json.loads(Path(report["parity_file"]).read_text()) == report
    assert report["recurrent"] == (name == "lstm")


def test_a_normalised_run_takes_raw_observations(runs: dict[str, Path], tmp_path: Path) -> None:
    """Pendulum with VecNormalize: the file on raw observations is SB3's policy on the normaliser's output."""
    run = runs["normalized_box"]
    out = Path(_export(run, tmp_path)["file"])
    agent = load_agent(str(run))
    venv = make_agent_env(agent)
    assert isinstance(venv, VecNormalize) and not np.allclose(venv.obs_rms.mean, 0)
    raw = np.random.default_rng(0).uniform(-1, 1, (16, 3)).astype(np.float32) * [1, 1, 8]
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got_action, got_mean = session.run(["action", "mean"], {"obs": raw.astype(np.float32)})
    assert agent.model is not None
    want, _ = agent.model.predict(venv.normalize_obs(raw), deterministic=True)
    np.testing.assert_allclose(got_action, want, atol=1e-5)
    unnormalised, _ = agent.model.predict(raw, deterministic=True)
    assert not np.allclose(got_action, unnormalised, atol=1e-3)  # the statistics matter, and are in the file
    assert got_mean.shape == (16, 1)
    venv.close()


def test_an_image_run_takes_the_envs_uint8_frames_channels_last(runs: dict[str, Path], tmp_path: Path) -> None:
    run = runs["nature_cnn"]
    out = Path(_export(run, tmp_path)["file"])
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    obs_input = session.get_inputs()[0]
    env = gymsuite.make_env("gymsuite/PixelCartPole-v0")
    assert obs_input.type == "tensor(uint8)" and list(obs_input.shape[1:]) == list(env.observation_space.shape)
    frames = []
    obs, _ = env.reset(seed=0)
    for _ in range(8):
        frames.append(obs)
        obs, *_ = env.step(env.action_space.sample())
    raw = np.stack(frames)  # (8, H, W, C) uint8, as the env returns them
    agent = load_agent(str(run))
    assert agent.model is not None
    want, _ = agent.model.predict(raw.transpose(0, 3, 1, 2), deterministic=True)  # SB3's VecTransposeImage
    np.testing.assert_array_equal(session.run(["action"], {"obs": raw})[0], want)


def test_lstm_file_steps_through_an_episode_as_recurrent_ppo_predict(runs: dict[str, Path], tmp_path: Path) -> None:
    run = runs["lstm"]
    out = Path(_export(run, tmp_path)["file"])
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    model = RecurrentPPO.load(run / "model.zip", device="cpu")
    layers, _, hidden = session.get_inputs()[1].shape
    assert [i.name for i in session.get_inputs()] == ["obs", "h", "c", "episode_start"]
    env = gym.make("CartPole-v1")
    feed = {"h": np.zeros((layers, 1, hidden), np.float32), "c": np.zeros((layers, 1, hidden), np.float32),
            "episode_start": np.ones(1, np.float32)}
    state, start, steps = None, np.ones(1, dtype=bool), 0
    for episode in range(2):  # the second episode begins from the first one's state: zeroed by episode_start
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            want, state = model.predict(obs[None], state, start, deterministic=True)
            feed["obs"] = obs[None].astype(np.float32)
            action, h, c = session.run(["action", "h_out", "c_out"], feed)
            np.testing.assert_allclose(h, state[0], atol=1e-5)
            assert action[0] == want[0]
            feed.update(h=h, c=c, episode_start=np.zeros(1, np.float32))
            obs, _, terminated, truncated, _ = env.step(int(want[0]))
            done, start, steps = terminated or truncated, np.zeros(1, dtype=bool), steps + 1
        feed["episode_start"], start = np.ones(1, np.float32), np.ones(1, dtype=bool)
    assert steps > 10


def _example_module() -> object:
    spec = importlib.util.spec_from_file_location("onnx_policy", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_script_imports_only_onnxruntime_gymnasium_and_numpy() -> None:
    tree = ast.parse(EXAMPLE.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 and node.module}
    assert imported == {"argparse", "gymnasium", "numpy", "onnxruntime"}


@pytest.mark.parametrize("name", ["mlp", "lstm"])
def test_the_example_script_plays_the_policys_greedy_episodes(runs: dict[str, Path], tmp_path: Path,
                                                              name: str) -> None:
    out = _export(runs[name], tmp_path)["file"]
    returns = _example_module().run(out, "CartPole-v1", episodes=2, seed=3)  # type: ignore[attr-defined]
    model = (RecurrentPPO if name == "lstm" else PPO).load(runs[name] / "model.zip", device="cpu")
    env, want = gym.make("CartPole-v1"), []
    for episode in range(2):
        obs, _ = env.reset(seed=3 + episode)
        state, start, total, done = None, np.ones(1, dtype=bool), 0.0, False
        while not done:
            action, state = model.predict(obs, state, start, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(int(action))
            total, done, start = total + float(reward), terminated or truncated, np.zeros(1, dtype=bool)
        want.append(total)
    assert returns == want


def test_int8_onnx_is_smaller_and_reported_and_int8_torchscript_refuses_convolutions(
        runs: dict[str, Path], tmp_path: Path) -> None:
    float_report = _export(runs["dqn"], tmp_path / "float")
    report = _export(runs["dqn"], tmp_path / "int8", int8=True)
    assert report["int8"] and report["bytes"] < float_report["bytes"] / 2
    assert 0 <= report["on_policy"]["agreement"] <= 1 and report["on_policy"]["max_abs_diff"] > 0
    torch_int8 = _export(runs["lstm"], tmp_path / "ts", "torchscript", int8=True)
    assert torch_int8["int8"] and torch_int8["exporter"] == "jit.trace"
    with pytest.raises(UserError, match="Conv2d"):
        _export(runs["small_cnn"], tmp_path / "cnn", "torchscript", int8=True)
    assert not (tmp_path / "cnn").exists()


def test_legacy_exporter_takes_over_when_the_default_one_fails(runs: dict[str, Path], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    real = th.onnx.export

    def no_dynamo(*args: object, **kwargs: object) -> object:
        if kwargs.get("dynamo"):
            raise RuntimeError("torch.export could not trace it")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(th.onnx, "export", no_dynamo)
    report = _export(runs["lstm"], tmp_path)
    assert report["exporter"] == "legacy" and "could not trace" in report["fallback_reason"]
    assert report["on_policy"]["agreement"] == 1.0


def test_command_prints_one_json_object_with_latency(runs: dict[str, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.onnx"
    assert _cli.run(export_command.main, [str(runs["mlp"]), "--format", "onnx", "--out", str(out), "--states", "8",
                                          "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["latency_s"]) == {"torch", "onnxruntime"}
    assert all(set(by_batch) == {"1", "64"} and min(by_batch.values()) > 0 for by_batch in report["latency_s"].values())
    assert out.is_file() and Path(f"{out}.parity.json").is_file()
    # again without --overwrite: refused, the file untouched
    before = out.read_bytes()
    assert _cli.run(export_command.main, [str(runs["mlp"]), "--format", "onnx", "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err and out.read_bytes() == before
    assert _cli.run(export_command.main, [str(runs["mlp"]), "--format", "onnx", "--out", str(out), "--overwrite",
                                          "--states", "4", "--no-latency"]) == 0


def test_default_path_is_in_the_run_directory(runs: dict[str, Path]) -> None:
    report = gymsuite.export(runs["mlp"], "torchscript", states=4, latency=False, overwrite=True)
    assert Path(report["file"]) == runs["mlp"] / "export" / "policy.pt"


class _DictEnv(gym.Env):
    observation_space = spaces.Dict({"a": spaces.Box(-1, 1, (2,)), "b": spaces.Box(-1, 1, (3,))})
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        return self.observation_space.sample(), {}

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:
        return self.observation_space.sample(), 0.0, True, False, {}


@pytest.mark.parametrize(("make", "env", "options", "message"), [
    (lambda: None, "CartPole-v1", ExportOptions(), "random"),
    (lambda: PPO("MlpPolicy", "CartPole-v1", device="cpu"), "tests.multiagent_toys:make_toy", ExportOptions(),
     "multi-agent"),
    (lambda: MaskablePPO("MlpPolicy", "CartPole-v1", device="cpu"), "CartPole-v1", ExportOptions(), "masked"),
    (lambda: PPO("MultiInputPolicy", DummyVecEnv([_DictEnv]), device="cpu"), "x.py:Dict", ExportOptions(),
     "Dict observations"),
    (lambda: PPO("MlpPolicy", "CartPole-v1", device="cpu"), "CartPole-v1", ExportOptions(format="tflite"),
     "unknown export format"),
    (lambda: PPO("MlpPolicy", "CartPole-v1", device="cpu"), "CartPole-v1", ExportOptions(states=0), "--states"),
    (lambda: PPO("MlpPolicy", "CartPole-v1", device="cpu"), "CartPole-v1",
     ExportOptions(format="onnx", out=Path("policy.pt")), "does not end in .onnx"),
])
def test_bad_input_is_refused_before_any_work(make: object, env: str, options: ExportOptions, message: str) -> None:
    agent = LoadedAgent(make(), "ppo", env)  # type: ignore[operator]
    with pytest.raises(UserError, match=message):
        check_exportable(agent, options)


def test_a_failed_export_leaves_nothing(runs: dict[str, Path], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(exporting.exportfile, "write", broken)
    with pytest.raises(UserError, match="cannot be exported to onnx yet: unsupported operator"):
        _export(runs["mlp"], tmp_path / "out")
    assert not any((tmp_path / "out").iterdir())
