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
    found, normalised, left_out = profiles([tmp_path / "grid"], points=11)
    by = dict(found)
    assert normalised and set(by) == {"ppo", "a2c"} and left_out == {}
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
    one_env = [tmp_path / "grid" / "ppo-CartPole-v1-s0", tmp_path / "grid" / "ppo-CartPole-v1-s1"]
    found, normalised, _ = profiles(one_env)
    assert not normalised and found[0][1].taus[0] == 100.0 and found[0][1].taus[-1] == 200.0


def test_an_env_without_a_range_is_left_out_of_the_profile_with_a_warning(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # CartPole: ppo 100, 200 and a2c 0, 300 (a range); Acrobot: ppo's one run; Pendulum: two runs tied at -150.
    for algo, env, finals in [("ppo", "CartPole-v1", [100.0, 200.0]), ("a2c", "CartPole-v1", [0.0, 300.0]),
                              ("ppo", "Acrobot-v1", [-90.0]), ("ppo", "Pendulum-v1", [-150.0]),
                              ("a2c", "Pendulum-v1", [-150.0])]:
        for seed, final in enumerate(finals):
            make_run(tmp_path / "grid", f"{algo}-{env}-s{seed}", algo, seed, final, env=env)
    with pytest.warns(UserWarning) as caught:
        found, normalised, left_out = profiles([tmp_path / "grid"], points=11)
    assert normalised and set(left_out) == {"Acrobot-v1", "Pendulum-v1"}
    assert sorted(env for env in left_out if any(env in str(w.message) for w in caught)) == sorted(left_out)
    by = dict(found)
    half = int(np.argmin(np.abs(by["ppo"].taus - 0.5)))
    # only CartPole is scored: ppo 1/3 and 2/3, a2c 0 and 1; a 0 for Acrobot's run would have made ppo's 1/3
    assert by["ppo"].fraction[half] == pytest.approx(1 / 2) and by["a2c"].fraction[half] == pytest.approx(1 / 2)
    out = tmp_path / "profiles.png"
    assert cli.main(["compare", str(tmp_path / "grid"), "--profile", str(out)]) == 0
    err = capsys.readouterr().err
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert [line.split()[6].rstrip(":") for line in err.splitlines() if line.startswith("warning:")] == [
        "Acrobot-v1", "Pendulum-v1"]
    # no env with a range at all: exit 2 naming each one, no plot written
    for env in ("CartPole-v1", "a2c-"):
        for run in (tmp_path / "grid").glob(f"*{env}*"):
            __import__("shutil").rmtree(run)
    out.unlink()
    assert cli.main(["compare", str(tmp_path / "grid"), "--profile", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Acrobot-v1" in err and "Pendulum-v1" in err and "Traceback" not in err and not out.exists()


def test_one_env_with_tied_runs_profiles_its_raw_returns_around_the_tie(tmp_path: Path) -> None:
    for seed in range(3):
        make_run(tmp_path / "grid", f"ppo-s{seed}", "ppo", seed, 500.0)
    found, normalised, left_out = profiles([tmp_path / "grid"], points=11)
    profile = dict(found)["ppo"]
    assert not normalised and left_out == {} and profile.taus[0] < 500.0 < profile.taus[-1]
    assert profile.fraction[0] == 1.0 and profile.fraction[-1] == 0.0  # every run above the low end, none above 500


@pytest.mark.parametrize("name", ["curves.txt", "curves", "a_directory"])
def test_a_plot_path_that_is_a_directory_or_has_no_image_suffix_exits_2_up_front(
        sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    (tmp_path / "a_directory").mkdir()
    out = tmp_path / name
    for argv in (["compare", str(sweep), "--plot", str(out)], ["compare", str(sweep), "--profile", str(out)],
                 ["plot", str(sweep / "a2c" / "s0"), "--out", str(out)]):
        assert cli.main(argv) == 2, argv
        captured = capsys.readouterr()
        assert captured.out == "" and "Traceback" not in captured.err  # refused before the table or any plot
        assert str(out) in captured.err and ".png" in captured.err  # the fix: a file name that works
        assert ".pdf" in captured.err or name == "a_directory"  # a bad suffix: the ones that work
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"a_directory", "sweep"})  # nothing written
    assert not any((tmp_path / "a_directory").iterdir())


def test_plots_take_their_format_from_the_suffix(sweep: Path, tmp_path: Path) -> None:
    from tests.agents.test_curves import write_log

    for i, config in enumerate(sweep.rglob("config.yaml")):
        write_log(config.parent / "logs" / "progress.csv", [(s, s / 100 * (i + 1)) for s in range(0, 1001, 100)])
    for name, magic in (("c.pdf", b"%PDF"), ("c.SVG", b"<?xml"), ("c.png", b"\x89PNG")):
        assert cli.main(["compare", str(sweep), "--plot", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_bytes()[:len(magic)] == magic
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.SVG", "c.pdf", "c.png", "sweep"]  # no temporary left


def test_markdown_into_a_directory_exits_2(sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["compare", str(sweep), "--markdown", str(tmp_path)]) == 2
    assert "results.md" in capsys.readouterr().err
