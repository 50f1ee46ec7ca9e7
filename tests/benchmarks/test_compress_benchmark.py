"""The compression benchmark: its table and targets from fake results, and its quick mode's promise to write nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scipy", reason="the statistics need the bench extra")

from benchmarks import compress as bench  # noqa: E402
from benchmarks.benchlib import numbers, read_tables  # noqa: E402


def _policy(parameters: int, nonzero: int, ret: float, agreement: float | None = None) -> dict[str, Any]:
    out = {"parameters": parameters, "nonzero": nonzero, "bytes": 4 * parameters, "latency_b1": 1e-4,
           "latency_b64": 2e-4, "return_iqm": ret}
    return out if agreement is None else {**out, "agreement": agreement}


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    """Teacher 3,000 parameters and 200 + seed; a student of 150 (5%) at 196 + seed; pruned 270 non-zero at 150
    (taught) and at -100 (PPO)."""
    return [{**job, "policies": {"teacher": _policy(3000, 3000, 200.0 + job["seed"]),
                                 "distill": _policy(150, 150, 196.0 + job["seed"], 0.9),
                                 "prune": _policy(3000, 270, 150.0 + job["seed"], 0.8),
                                 "prune_algo": _policy(3000, 270, -100.0 + job["seed"], 0.5),
                                 "int8": _policy(3000, 2990, 199.0 + job["seed"], 0.99)}} for job in jobs]


def test_table_and_targets_from_fake_results(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    text = bench.main(["--seeds", "3", "--episodes", "2", "--states", "10", "--benchmarks", str(out)], run=fake_run)
    [(header, rows)] = read_tables(text)
    assert header[:3] == ["env", "policy", "non-zero parameters"] and header[-1] == "return"
    assert [r[1] for r in rows] == ["teacher", "distilled", "pruned + taught by the teacher",
                                    "pruned + PPO fine-tuned", "int8"] * len(bench.ENVS)
    assert numbers(rows[0][-1])[0] == 201 and numbers(rows[1][-2])[0] == 90  # IQM of seeds 0, 1, 2: the middle
    # the student: 150 / 3,000 = 5.0% of the parameters, 197 / 201 = 98% of the return; pruned: 91% zeros, 75%
    # (151 / 201) taught, -49% (-99 / 201) by PPO
    assert "the student has 5.0% of the teacher's parameters and 98% of its return" in text
    assert "(target <= 6.7% and >= 95%: met)" in text and "pruned to 91% zeros and taught by the teacher, 75%" in text
    assert "(target >= 90% zeros and >= 95%: not met); fine-tuned by PPO instead, -49%." in text
    assert "<!-- BEGIN compress -->" in out.read_text()


def test_quick_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    bench.main(["--quick", "--benchmarks", str(out)], run=fake_run)
    assert not out.exists()


def test_every_student_is_at_most_a_fifteenth_of_its_teacher() -> None:
    import numpy as np
    from gymnasium import spaces
    from stable_baselines3.common.policies import ActorCriticPolicy

    from gymsuite.agents.saved.policynets import ActingNet
    from gymsuite.supervised.backbones import get

    image = spaces.Box(0, 255, (2, 84, 84), np.uint8)  # pixel CartPole at 84x84, channels first

    def size(space: spaces.Box, arch: list[int], **kwargs: Any) -> int:
        policy = ActorCriticPolicy(space, spaces.Discrete(4), lambda _: 0.0, net_arch=arch, **kwargs)
        return sum(p.numel() for p in ActingNet(policy).parameters())

    vector = spaces.Box(-1, 1, (8,), np.float32)  # LunarLander
    assert size(vector, [16]) * 15 <= size(vector, [64, 64])
    cnn = {"features_extractor_class": get("small_cnn")}
    assert size(image, [16], **cnn, features_extractor_kwargs={"features_dim": 8}) * 15 <= size(image, [64], **cnn)
