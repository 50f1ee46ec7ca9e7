"""``gymsuite explain`` end to end (CartPole's table and plot, pixel CartPole's video) and its bad inputs (exit 2,
one message, nothing written), and ``gymsuite.explain`` in Python."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
import pytest
import torch
import yaml
from stable_baselines3 import DQN

import gymsuite
from gymsuite.agents.saved.explaining import video_frames
from gymsuite.agents.saved.onpolicy import States
from gymsuite.commands import _cli, explain, train
from gymsuite.envs.factory import make_env
from tests.multiagent_toys import MA_TOY_FILE

POLE_ANGLE = 2  # CartPole's observation: cart position, cart velocity, pole angle, pole angular velocity
QUIET = ["--eval-freq", "0", "--eval-episodes", "1", "--checkpoint-freq", "0"]
PIXEL_CNN = ["policy=CnnPolicy", "policy_kwargs={features_extractor_class: small_cnn, "
             "features_extractor_kwargs: {features_dim: 32}, net_arch: [16]}"]


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert _cli.run(explain.main, [*argv, "--json"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1
    return json.loads(out)


def trained(root: Path, env: str, steps: int, *hyper: str) -> Path:
    run = root / env.replace("/", "_").replace(":", "_")
    argv = ["--algo", "ppo", "--env", env, "--timesteps", str(steps), "--n-envs", "2", "--run-dir", str(run), *QUIET,
            "--hyperparams", "n_steps=64", "batch_size=64", "n_epochs=1", *hyper]
    assert _cli.run(train.main, argv) == 0
    return run


@pytest.fixture(scope="module")
def pole_angle_run(tmp_path_factory: pytest.TempPathFactory, linear_expert: Callable[..., Any]) -> Path:
    """A PPO on CartPole whose action reads the pole angle only (logits +-50 theta)."""
    run = tmp_path_factory.mktemp("explain") / "angle"
    linear_expert("CartPole-v1", [[0, 0, -50, 0], [0, 0, 50, 0]], run_dir=run)
    return run


@pytest.mark.parametrize("method", ["grad", "smoothgrad", "ig", "occlusion", "perturb"])
def test_a_policy_that_reads_one_feature_gets_it_ranked_first(pole_angle_run: Path, method: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json([str(pole_angle_run), "--method", method, "--states", "60"], capsys)
    assert result["features"][POLE_ANGLE] == "pole angle" and len(result["share"]) == 4
    assert max(range(4), key=result["share"].__getitem__) == POLE_ANGLE
    assert result["share"][POLE_ANGLE] == pytest.approx(1.0)  # the others are not read at all
    assert result["checks"]["deletion"]["beats_random"] and result["checks"]["deletion"]["k"] == 1


@pytest.fixture(scope="module")
def pole_angle_dqn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DQN on CartPole whose Q-values read the pole angle only (Q = +-50 theta), saved as a run directory."""
    venv = make_env("CartPole-v1", n_envs=1, seed=0)
    model = DQN("MlpPolicy", venv, policy_kwargs={"net_arch": []}, device="cpu", seed=0)
    venv.close()
    with torch.no_grad():
        model.q_net.q_net[0].weight.copy_(torch.tensor([[0.0, 0.0, -50.0, 0.0], [0.0, 0.0, 50.0, 0.0]]))
        model.q_net.q_net[0].bias.zero_()
    run = tmp_path_factory.mktemp("explain") / "dqn"
    run.mkdir()
    model.save(run / "model.zip")
    (run / "config.yaml").write_text(yaml.safe_dump({"algo": "dqn", "env": "CartPole-v1", "hyperparams": {}}))
    return run


@pytest.mark.parametrize("method", ["grad", "ig", "perturb"])
def test_a_dqn_is_explained_by_its_chosen_q_value(pole_angle_dqn: Path, method: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json([str(pole_angle_dqn), "--method", method, "--states", "40"], capsys)
    assert result["algo"] == "dqn" and result["share"][POLE_ANGLE] == pytest.approx(1.0)
    deletion = result["checks"]["deletion"]
    assert "Q-value" in deletion["measure"] and deletion["beats_random"]


def test_explain_on_cartpole_prints_one_json_object_and_writes_the_plot(cartpole_run: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json([str(cartpole_run), "--method", "ig", "--states", "50"], capsys)
    assert {"method", "target", "baseline", "features", "share", "mean_abs", "plot", "checks", "trustworthy",
            "states", "observation"} <= result.keys()
    assert result["observation"] == "vector" and result["states"] == 50 and result["baseline"] == "data"
    assert sum(result["share"]) == pytest.approx(1.0, abs=1e-4) and min(result["share"]) >= 0
    sanity, deletion = result["checks"]["sanity"], result["checks"]["deletion"]
    assert {"output_layer", "full", "threshold", "trustworthy"} <= sanity.keys()
    assert -1 <= sanity["full"] <= 1 and sanity["trustworthy"] == (sanity["full"] <= 0.9)
    assert {"k", "top_drop", "random_drop", "beats_random", "fraction"} <= deletion.keys()
    plot = Path(result["plot"])
    assert plot == cartpole_run / "explain" / "ig-action.png" and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_value_is_explained_and_the_table_printed(cartpole_run: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    out = tmp_path / "v.png"
    assert _cli.run(explain.main, [str(cartpole_run), "--target", "value", "--baseline", "zero", "--states", "20",
                                   "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[2:6]] == ["cart", "cart", "pole", "pole"] and out.is_file()


def test_the_python_api_explains_a_loaded_agent(pole_angle_run: Path, tmp_path: Path) -> None:
    agent = gymsuite.load(pole_angle_run)
    result = gymsuite.explain(agent, "grad", states=20, out=tmp_path / "g.png")
    assert result["share"][POLE_ANGLE] == pytest.approx(1.0) and (tmp_path / "g.png").is_file()


@pytest.fixture(scope="module")
def pixel_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PPO with a small CNN (32 features) on pixel CartPole, 256 steps."""
    return trained(tmp_path_factory.mktemp("explain"), "gymsuite/PixelCartPole-v0", 256, *PIXEL_CNN)


@pytest.mark.parametrize("method", ["perturb", "grad"])
def test_an_image_agent_gets_a_video_that_decodes(pixel_run: Path, method: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json([str(pixel_run), "--method", method, "--states", "12"], capsys)
    video = Path(result["video"])
    assert video == pixel_run / "explain" / f"{method}-action.mp4" and result["frames"] == 12
    frames = iio.imread(video)  # (T, H, W, 3), through imageio-ffmpeg
    assert len(frames) == 12 and frames.shape[2] > frames.shape[1]  # the env's frame beside the agent's view
    assert {"sanity", "deletion"} <= result["checks"].keys() and "share" not in result


def test_the_attention_backbone_shows_its_own_weights(tmp_path_factory: pytest.TempPathFactory,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    run = trained(tmp_path_factory.mktemp("explain"), "gymsuite/PixelCartPole-v0", 128, "policy=CnnPolicy",
                  "policy_kwargs={features_extractor_class: attention, features_extractor_kwargs: "
                  "{features_dim: 16, embed_dim: 16}, net_arch: [16]}")
    result = run_json([str(run), "--method", "attention", "--states", "6"], capsys)
    assert result["frames"] == 6 and Path(result["video"]).is_file()
    assert result["checks"]["sanity"]["output_layer"] == 1.0  # attention does not depend on the action head


def bad_runs(root: Path, pole_angle_run: Path, pixel_run: Path) -> dict[str, tuple[list[str], str]]:
    return {
        "unknown method": ([str(pole_angle_run), "--method", "gard"], "did you mean 'grad'"),
        "attention elsewhere": ([str(pixel_run), "--method", "attention"], "attention backbone"),
        "unknown target": ([str(pole_angle_run), "--target", "values"], "did you mean 'value'"),
        "wrong out": ([str(pixel_run), "--out", str(root / "x.png")], "does not end in .mp4"),
        "fraction": ([str(pole_angle_run), "--deletion-fraction", "0"], "--deletion-fraction"),
        "random": (["random", "--env", "CartPole-v1"], "trained agent"),
    }


@pytest.fixture(scope="module")
def unsupported_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("unsupported")
    return {"recurrent": trained(root, "CartPole-v1", 128, "backbone=lstm", "backbone_kwargs={hidden_size: 8}"),
            "multi-agent": trained(root, f"{MA_TOY_FILE}:make_toy", 128),
            "discrete": trained(root, "FrozenLake-v1", 128),
            "image window": trained(root, "gymsuite/PixelCartPole-v0", 128, "backbone=framestack",
                                    "backbone_kwargs={context: 2, encoder: small_cnn}")}


@pytest.mark.parametrize(("kind", "message"), [("recurrent", "recurrent"), ("multi-agent", "multi-agent"),
                                               ("discrete", "continuous observations"),
                                               ("image window", "is neither")])
def test_an_unsupported_run_is_refused(unsupported_runs: dict[str, Path], kind: str, message: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _cli.run(explain.main, [str(unsupported_runs[kind])]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err and "Traceback" not in captured.err
    assert captured.err.startswith("error: ")
    assert not (unsupported_runs[kind] / "explain").exists()


@pytest.mark.parametrize("case", ["unknown method", "attention elsewhere", "unknown target", "wrong out", "fraction",
                                  "random"])
def test_bad_input_exits_2_and_writes_nothing(case: str, tmp_path: Path, pole_angle_run: Path, pixel_run: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv, message = bad_runs(tmp_path, pole_angle_run, pixel_run)[case]
    before = files(pole_angle_run, pixel_run)
    capsys.readouterr()
    assert _cli.run(explain.main, argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err and "Traceback" not in captured.err
    assert files(pole_angle_run, pixel_run) == before and list(tmp_path.iterdir()) == []


def files(*roots: Path) -> dict[Path, int]:
    """Every file under ``roots`` with its modification time in ns."""
    return {p: p.stat().st_mtime_ns for root in roots for p in root.rglob("*") if p.is_file()}


def test_a_partial_view_gets_the_map_over_the_agents_view_and_a_whole_frame_over_the_env_frame() -> None:
    frame = np.zeros((28, 40, 3), np.uint8)
    obs = np.zeros((3, 7, 7), np.uint8)
    heat = np.zeros((1, 49))
    heat[0, 0] = 1.0  # the top-left cell of the view
    states = States(obs[None], np.zeros(1), [frame])
    (whole,) = video_frames(states, heat, obs.shape, grey=False)
    (partial,) = video_frames(states, heat, obs.shape, grey=False, partial_view=True)
    assert whole.shape == partial.shape == (28, 40 + 28, 3)  # the view enlarged 4x beside the frame
    assert whole[:4, :5].any() and not whole[:, 40:].any()  # over the env's frame
    assert partial[:4, 40:44].any() and not partial[:, :40].any()  # over the agent's view


def test_the_python_api_raises_user_errors(pole_angle_run: Path, tmp_path: Path) -> None:
    with pytest.raises(gymsuite.UserError, match="did you mean 'smoothgrad'"):
        gymsuite.explain(pole_angle_run, "smothgrad", out=tmp_path / "x.png")
    with pytest.raises(gymsuite.UserError, match="--baseline"):
        gymsuite.explain(pole_angle_run, "ig", baseline="mean", out=tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []
