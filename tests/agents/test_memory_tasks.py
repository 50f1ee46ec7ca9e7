"""The T-maze needs memory and nothing else: PPO with a window that reaches back to the cue solves it, without fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import train

TMAZE_PPO = ["env_kwargs={length: 3}", "n_steps=32", "batch_size=64", "n_epochs=4", "learning_rate=0.003",
             "ent_coef=0.0"]


@pytest.mark.parametrize(("history", "solved"), [(4, True), (1, False)])
def test_tmaze_is_solved_only_by_an_agent_that_sees_the_cue(tmp_path: Path, history: int, solved: bool) -> None:
    """length 3: 4 observations reach back to the cue at the junction; 1 observation never shows it there."""
    cfg = build_config({"algo": "ppo", "env": "gymsuite/TMaze-v0", "timesteps": 4096, "n_envs": 8, "seed": 0,
                        "eval_episodes": 100, "eval_freq": 0, "checkpoint_freq": 0}, None,
                       [*TMAZE_PPO, f"history={history}"])
    mean = train(cfg, tmp_path / "run").eval["mean_return"]
    # A memoryless deterministic policy picks one arm: its mean over 100 random cues is 0 +- 0.1 (one std).
    assert (mean >= 0.9) if solved else (abs(mean) <= 0.4), mean
