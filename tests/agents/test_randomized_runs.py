"""Training with ``randomize``'s ADR: one set of ranges for all env copies, widened while the agent succeeds at
their ends, in the logs and the checkpoints (exact resume: tests/agents/test_faults.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from gymsuite.agents.files.resumestate import read_state
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import train


def test_adr_widens_one_shared_range_and_checkpoints_it(tmp_path: Path) -> None:
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "n_envs": 4, "timesteps": 2048, "checkpoint_freq": 1024,
                        "eval_freq": 0, "eval_episodes": 1}, None,
                       ["n_steps=64", "batch_size=64", "n_epochs=1",
                        "randomize={length: [1x, 1x], adr: {bounds: [0.25x, 4x], threshold: 5, step: 0.1x, "
                        "episodes: 2}}"])
    run = train(cfg, tmp_path / "run").run
    with (run.logs / "randomize.csv").open() as f:
        rows = list(csv.DictReader(f))
    by_step: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        by_step.setdefault(row["timesteps"], set()).add((row["length_low"], row["length_high"]))
    assert all(len(ranges) == 1 for ranges in by_step.values())  # every copy has the same ranges at a step
    low, high = float(rows[-1]["length_low"]), float(rows[-1]["length_high"])
    assert low < 0.5 < high and 0.125 <= low and high <= 2.0  # widened (any return passes 5), within the bounds
    assert {r["boundary"] for r in rows} >= {"length/low", "length/high", ""}
    lengths = np.array([float(r["length"]) for r in rows])
    assert np.all((lengths >= 0.125) & (lengths <= 2.0))
    saved = read_state(run.checkpoint(run.latest_checkpoint() or 0, "_state.npz"))
    states = saved.meta["wrapper_states"]
    assert len(states) == 4 and states[0]["ranges"]["length"][0] < 0.5
    header = (run.logs / "progress.csv").read_text().splitlines()[0].split(",")
    assert {"randomize/length", "randomize/length_low", "randomize/length_high"} <= set(header)
