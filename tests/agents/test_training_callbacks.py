"""``training.train(callbacks=...)``: extra callbacks observe a run without changing it."""

from __future__ import annotations

from pathlib import Path

import torch
from stable_baselines3.common.callbacks import BaseCallback

from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import train
from gymsuite.agents.saved.loading import load_agent


class StepLog(BaseCallback):
    """Records every step count it sees, the episodes that finish, and whether training ended."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[int] = []
        self.episodes: list[float] = []
        self.ended = False

    def _on_step(self) -> bool:
        self.steps.append(self.num_timesteps)
        self.episodes += [float(info["episode"]["r"]) for info in self.locals["infos"] if "episode" in info]
        return True

    def _on_training_end(self) -> None:
        self.ended = True


def test_extra_callbacks_see_every_step_and_leave_the_run_unchanged(tmp_path: Path) -> None:
    cfg = build_config({"algo": "pg", "env": "CartPole-v1", "timesteps": 512, "eval_freq": 0, "eval_episodes": 1})
    log = StepLog()
    with_log = train(cfg, tmp_path / "with", callbacks=[log])
    without = train(cfg, tmp_path / "without")
    n_envs = cfg.n_envs
    assert log.ended and log.steps == list(range(n_envs, with_log.steps + 1, n_envs))  # one call per vector step
    assert len(log.episodes) > 0 and min(log.episodes) >= 1  # CartPole's own return: episode length
    # Observing does not change training: same seed, same weights, same final evaluation.
    ours, theirs = (load_agent(str(r.run.root)).model.policy.state_dict() for r in (with_log, without))
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert with_log.eval["returns"] == without.eval["returns"] and with_log.steps == without.steps
