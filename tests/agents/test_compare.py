"""gymsuite compare: run directories with known final returns give the known IQM, an interval holding it, and
settings told apart by what differs between them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gymsuite.agents.sweeps.compare import compare, markdown, profiles
from gymsuite.commands import cli
from gymsuite.common.files import write_json, write_yaml


def make_run(root: Path, name: str, algo: str, seed: int, final: float | None, env: str = "CartPole-v1",
             **hyper: object) -> Path:
    run = root / name
    run.mkdir(parents=True)
    write_yaml(run / "config.yaml", {"algo": algo, "env": env, "seed": seed, "timesteps": 1000,
                                     "threads": 1, "hyperparams": {"n_envs": 8, **hyper}})
    if final is not None:
        write_json(run / "eval.json", {"mean_return": final, "episodes": 10})
    return run


@pytest.fixture()
def sweep(tmp_path: Path) -> Path:
    for seed, final in enumerate([1.0, 2.0, 3.0, 4.0, 100.0]):
        make_run(tmp_path / "sweep", f"ppo-lr3-s{seed}", "ppo", seed, final, learning_rate=0.001)
    for seed, final in enumerate([7.0, 9.0]):
        make_run(tmp_path / "sweep", f"ppo-lr2-s{seed}", "ppo", seed, final, learning_rate=0.01)
    make_run(tmp_path / "sweep", "ppo-lr2-s2", "ppo", 2, None, learning_rate=0.01)  # still training
    for seed in range(3):
        make_run(tmp_path / "sweep" / "a2c", f"s{seed}", "a2c", seed, 10.0)
    (tmp_path / "sweep" / "ppo-lr3-s0" / "checkpoints").mkdir()
    return tmp_path / "sweep"


def test_known_returns_give_the_known_iqm(sweep: Path) -> None:
    rows = {r["setting"]: r for r in compare([sweep])}
    assert set(rows) == {"ppo on CartPole-v1 (learning_rate=0.001)", "ppo on CartPole-v1 (learning_rate=0.01)",
                         "a2c on CartPole-v1"}
    low = rows["ppo on CartPole-v1 (learning_rate=0.001)"]
    # the middle half of 1, 2, 3, 4, 100 (one value cut from each end) is 2, 3, 4
    assert low["iqm"] == pytest.approx(3.0) and low["mean"] == pytest.approx(22.0) and low["median"] == 3.0
    assert low["iqm_low"] <= 3.0 <= low["iqm_high"] and low["finished"] == 5
    high = rows["ppo on CartPole-v1 (learning_rate=0.01)"]
    assert high["runs"] == 3 and high["finished"] == 2 and high["returns"] == [7.0, 9.0]
    assert rows["a2c on CartPole-v1"]["iqm"] == 10.0 and rows["a2c on CartPole-v1"]["iqm_high"] == 10.0


def test_a_run_given_twice_counts_once(sweep: Path) -> None:
    rows = compare([sweep / "a2c" / "s0", sweep / "a2c"])
    assert len(rows) == 1 and rows[0]["runs"] == 3


def test_markdown_table_and_the_command(sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = markdown(compare([sweep]))
    assert "| ppo on CartPole-v1 (learning_rate=0.01) | 2 (1 unfinished) | 8.00 | 8.00 |" in table
    out = tmp_path / "table.md"
    assert cli.main(["compare", str(sweep), "--markdown", str(out)]) == 0
    assert capsys.readouterr().out.strip() == table and out.read_text().strip() == table
    assert cli.main(["compare", str(sweep / "a2c"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["iqm"] == 10.0


def test_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["compare", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["compare", str(tmp_path / "empty")]) == 2
    assert "no run directory" in capsys.readouterr().err
    run = make_run(tmp_path, "broken", "ppo", 0, 1.0)
    (run / "eval.json").write_text("{}")
    assert cli.main(["compare", str(run)]) == 2
    assert "mean_return" in capsys.readouterr().err


def test_plots_of_one_run_and_of_the_settings(sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.agents.test_curves import write_log

    runs = [p for p in sweep.rglob("config.yaml")]
    for i, config in enumerate(runs):
        write_log(config.parent / "logs" / "progress.csv", [(s, s / 100 * (i + 1)) for s in range(0, 1001, 100)])
    one = sweep / "a2c" / "s0"
    assert cli.main(["plot", str(one)]) == 0 and (one / "curve.png").stat().st_size > 0
    out = tmp_path / "curves.png"
    assert cli.main(["compare", str(sweep), "--plot", str(out)]) == 0 and out.stat().st_size > 0
    capsys.readouterr()
    bare = make_run(tmp_path, "bare", "ppo", 0, None)
    assert cli.main(["plot", str(bare)]) == 2 and "no logged return" in capsys.readouterr().err
    assert cli.main(["compare", str(bare), "--plot", str(out)]) == 2


def test_profiles_gather_a_method_over_envs_on_normalised_scores(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # On CartPole ppo scores 100, 200 and a2c 0, 300; on Acrobot ppo -100, -80 and a2c -500, -100.
    for algo, env, finals in [("ppo", "CartPole-v1", [100.0, 200.0]), ("a2c", "CartPole-v1", [0.0, 300.0]),
                              ("ppo", "Acrobot-v1", [-100.0, -80.0]), ("a2c", "Acrobot-v1", [-500.0, -100.0])]:
        for seed, final in enumerate(finals):
            make_run(tmp_path / "grid", f"{algo}-{env}-s{seed}", algo, seed, final, env=env)
    found, normalised = profiles([tmp_path / "grid"], points=11)
    by = dict(found)
    assert normalised and set(by) == {"ppo", "a2c"}
    # normalised: CartPole ppo 1/3, 2/3, a2c 0, 1; Acrobot ppo 0.95, 1, a2c 0, 0.95
    taus = by["ppo"].taus
    assert taus[0] == 0.0 and taus[-1] == 1.0
    half = int(np.argmin(np.abs(taus - 0.5)))
    assert by["ppo"].fraction[half] == pytest.approx((1 / 2 + 2 / 2) / 2)  # 2/3 on CartPole; both on Acrobot
    assert by["a2c"].fraction[half] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert np.all(by["ppo"].low <= by["ppo"].fraction + 1e-12)
    out = tmp_path / "profiles.png"
    assert cli.main(["compare", str(tmp_path / "grid"), "--profile", str(out)]) == 0
    assert out.stat().st_size > 1000 and out.read_bytes()[:4] == b"\x89PNG"
    # one env: raw returns as scores
    found, normalised = profiles([tmp_path / "grid" / "ppo-CartPole-v1-s0", tmp_path / "grid" / "ppo-CartPole-v1-s1"])
    assert not normalised and found[0][1].taus[0] == 100.0 and found[0][1].taus[-1] == 200.0
