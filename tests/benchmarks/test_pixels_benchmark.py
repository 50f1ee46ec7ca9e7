"""The pixels benchmark: a quick run on a toy image env, its tables from fake results, and the real sections.

The real configuration (pixel CartPole; the backbones, ``aux``, ``backbone_init`` and ``gymsuite pretrain``)
is checked variant by variant, and each real section runs with ``--quick``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scipy", reason="the statistics need the bench extra")

from benchmarks import pixels as bench  # noqa: E402
from benchmarks.benchlib import numbers, read_tables  # noqa: E402
from tests.toy_envs import TOY_FILE  # noqa: E402

SLIDER = f"{TOY_FILE}:Slider"
AUX_COLUMNS = ["variant", "reached", "env steps to threshold", "seconds to threshold", "fewer steps than {b}",
               "steps/s"]


def test_quick_run_on_a_toy_image_env(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = bench.main(["--quick", "--env", SLIDER, "--backbones", "icm_cnn", "small_cnn", "--aux-backbone",
                       "icm_cnn", "--threshold", "1000", "--workers", "1", "--benchmarks", str(tmp_path / "B.md")])
    (speed_h, speed), (return_h, returns), (aux_h, aux), (probe_h, probe) = read_tables(text)
    assert speed_h == ["backbone", "steps/s", "final return", "steps/s vs nature_cnn"]
    assert [r[0] for r in speed] == ["icm_cnn", "small_cnn"]  # nature_cnn refuses Slider's 12x12 images
    # the return section keeps the pair's backbones that --backbones names: no target without nature_cnn
    assert return_h == ["backbone", "final return", "steps/s", "seconds"] and [r[0] for r in returns] == ["small_cnn"]
    assert "Target (small_cnn at" not in text
    assert numbers(speed[0][1])[0] > 0 and 0 <= numbers(speed[0][2])[0] <= 20  # 20 steps of position <= 1
    assert aux_h == [c.format(b="icm_cnn") for c in AUX_COLUMNS] and aux[0][0] == "icm_cnn"
    # a threshold of 1000 is out of reach (at most 20 per episode): the run counts as its budget, 1,024 steps
    assert aux[0][1] == "0/1" and numbers(aux[0][2]) == [1024, 1024, 1024] and aux[0][4] == "1.00x"
    assert probe_h == ["state variable", "trained encoder", "random init"]
    assert [r[0] for r in probe] == ["position", "velocity"] and numbers(probe[0][1])[0] <= 1
    assert not (tmp_path / "B.md").exists()  # --quick writes nothing
    assert [r[0] for r in aux] == [v.name for v in bench.aux_variants("icm_cnn")]


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    """Plain CNN reaches 100 at 6,000 steps * (seed + 1); recon twice as fast; the rest never."""
    out = []
    for job in jobs:
        result = {**job, "fps": 100.0, "seconds": 10.0, "final_return": 50.0, "shipped_defaults": []}
        if job["kind"] == "train":
            at = {"small_cnn": 6000, "small_cnn + aux=recon": 3000}.get(job["variant"], 10**9) * (job["seed"] + 1)
            steps = list(range(1000, job["steps"] + 1, 1000))
            result["curve"] = [steps, [s / 100 for s in steps], [100.0 if s >= at else 0.0 for s in steps]]
        if job["kind"] == "probe":
            result.update(variables=["x", "theta"], features=8, r2={"x": 0.9, "theta": None},
                          r2_random_init={"x": 0.5, "theta": None})
        out.append(result)
    return out


def test_aux_and_probe_tables_from_fake_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "WINDOW", 1)
    seen: list[dict[str, Any]] = []
    text = bench.main(["--sections", "aux", "probe", "--seeds", "3", "--aux-steps", "50000", "--no-write"],
                      run=lambda jobs, w: seen.extend(jobs) or fake_run(jobs, w))
    (_, aux), (_, probe) = read_tables(text)
    cells = {r[0]: r for r in aux}
    assert list(cells) == [v.name for v in bench.aux_variants("small_cnn")]
    # seeds reach at 6k, 12k, 18k (IQM of 3: the middle one) and recon at half of that: 2x fewer steps
    assert cells["small_cnn"][1] == "3/3" and numbers(cells["small_cnn"][2])[0] == 12000
    assert numbers(cells["small_cnn + aux=recon"][2])[0] == 6000 and cells["small_cnn + aux=recon"][4] == "2.00x"
    assert cells["attention"][1] == "0/3" and numbers(cells["attention"][2])[0] == 50000  # never: the budget
    assert numbers(cells["small_cnn"][3])[0] == 120.0  # wall seconds at the crossing
    kinds = [j["kind"] for j in seen]
    assert kinds.count("pretrain") == 1 and kinds.count("probe") == 3 and kinds.index("pretrain") < kinds.index("probe")
    encoders = {j["hyper"].get("backbone_init") for j in seen if "pre-trained" in j.get("variant", "")}
    assert len(encoders) == 1 and encoders != {None}
    assert [r[0] for r in probe] == ["x", "theta"] and numbers(probe[0][1])[0] == 0.9
    assert probe[1][1] == "n/a (constant)"
    assert not any(j["kind"] == "train" and j["variant"] == "small_cnn" and not j["keep"] for j in seen)


def finals(returns: list[float], fps: float) -> list[dict[str, Any]]:
    return [{"final_return": r, "fps": fps} for r in returns]


@pytest.mark.parametrize(("small", "fps", "verdict", "met"), [
    ([500.0, 500.0, 480.0, 500.0, 490.0], 200.0, "equal", "met"),  # 497 inside small_cnn's interval
    ([500.0] * 5, 200.0, "better", "met"),
    ([60.0, 80.0, 70.0, 90.0, 50.0], 200.0, "worse", "not met"),
    ([500.0] * 5, 140.0, "better", "not met"),  # 1.40x the steps/s: below 1.5x
])
def test_return_target_needs_the_speed_and_an_equal_or_better_return(small: list[float], fps: float, verdict: str,
                                                                     met: str) -> None:
    nature = finals([500.0, 494.0, 411.0, 500.0, 497.0], 100.0)
    line = bench.return_target(nature, finals(small, fps))
    assert f": {met} ({fps / 100:.2f}x the steps/s" in line and line.endswith(f": {verdict}).")


def test_return_section_from_fake_results() -> None:
    text = bench.main(["--sections", "return", "--seeds", "3", "--return-steps", "4096", "--no-write"],
                      run=lambda jobs, w: [{**j, "fps": 300.0 if j["variant"] == "small_cnn" else 100.0,
                                            "seconds": 1.0, "final_return": 500.0, "shipped_defaults": []}
                                           for j in jobs])
    (header, rows), = read_tables(text)
    assert [r[0] for r in rows] == ["nature_cnn", "small_cnn"] and numbers(rows[1][1])[0] == 500.0
    assert "4,096 env steps per run, 3 seeds" in text and "(3.00x the steps/s, a return of 500.0 against 500.0" in text


# the pre-trained rows need an encoder file: test_real_section_runs_quick covers them
REAL = [*(bench.Variant(b, bench.backbone_hyper(b)) for b in bench.SPEED_BACKBONES),
        *(v for v in bench.aux_variants(bench.AUX_BACKBONE) if not v.pretrained)]


@pytest.mark.parametrize("variant", REAL, ids=[v.name for v in REAL])
def test_real_variants_share_the_ppo_settings(variant: bench.Variant) -> None:
    from benchmarks.benchlib import config

    cfg = config({"algo": "ppo", "env": bench.TASK.env, "seed": 1, "timesteps": 1000, "n_envs": bench.N_ENVS},
                 {**bench.PPO_KWARGS, **variant.hyper})
    assert {k: cfg.hyperparams[k] for k in bench.PPO_KWARGS} == bench.PPO_KWARGS


@pytest.mark.parametrize("section", bench.SECTIONS)
def test_real_section_runs_quick(section: str, tmp_path: Path) -> None:
    text = bench.main(["--quick", "--sections", section, "--workers", "1"])
    (header, rows), *_ = read_tables(text)
    assert len(rows) == {"speed": 5, "return": 2, "aux": 7, "probe": 4}[section]
