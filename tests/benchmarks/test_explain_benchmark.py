"""The explain benchmark: a quick run of both sections, its tables, and that --quick writes nothing."""

from __future__ import annotations

from pathlib import Path

from benchmarks import explain as bench
from benchmarks.benchlib import numbers, read_tables


def test_quick_run_times_each_method_and_fails_the_edge_detector(tmp_path: Path) -> None:
    text = bench.main(["--quick", "--backbones", "small_cnn", "--threads", "1", "--train-steps", "128", "--states",
                       "2", "--benchmarks", str(tmp_path / "B.md")])
    (speed_h, speed), (sanity_h, sanity) = read_tables(text)
    assert speed_h[:3] == ["backbone", "method", "s/frame, 1 thread"]
    assert [r[1] for r in speed] == [*bench.GRADIENT_AND_PERTURBATION, "attention"]
    assert all(numbers(r[2])[0] > 0 for r in speed)
    assert [r[0] for r in sanity[:-1]] == bench.GRADIENT_AND_PERTURBATION
    control = sanity[-1]
    assert control[0].startswith("edge detector") and numbers(control[2]) == [1.0] and control[3] == "FAILS"
    assert not (tmp_path / "B.md").exists()  # --quick writes nothing
