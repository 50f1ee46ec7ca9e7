"""The export benchmark: a quick run's table (one row per backbone and format) and that --quick writes nothing."""

from __future__ import annotations

from pathlib import Path

from benchmarks import export as bench
from benchmarks.benchlib import numbers, read_tables


def test_quick_run_exports_each_way_with_full_float_agreement(tmp_path: Path) -> None:
    text = bench.main(["--quick", "--backbones", "mlp", "--states", "4", "--benchmarks", str(tmp_path / "B.md")])
    [(header, rows)] = read_tables(text)
    assert header[:5] == ["backbone", "format", "exporter", "agreement", "max logit diff"]
    assert [(r[0], r[1]) for r in rows] == [("mlp", "onnx"), ("mlp", "onnx int8"), ("mlp", "torchscript")]
    assert [r[2] for r in rows] == ["dynamo", "dynamo", "jit.trace"]
    assert all(numbers(r[3]) == [100.0] for r in rows if "int8" not in r[1])
    assert all(min(numbers(cell)[0] for cell in r[5:10]) > 0 for r in rows)
    assert not (tmp_path / "B.md").exists()  # --quick writes nothing
