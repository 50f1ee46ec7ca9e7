"""Domain randomisation's logs: each episode's draws into the SB3 logger and a CSV in the run's ``logs/``.

:class:`gymsuite.envs.wrappers.randomize.RandomizeParams` puts each finished episode's draws into
``info["randomize"]``; :class:`RandomizeLogger` records, per rollout, the mean draw of each parameter
(``randomize/<name>``), with ADR the mean current range (``randomize/<name>_low``, ``randomize/<name>_high``), and
appends one row per episode to ``logs/randomize.csv``: ``timesteps, env, episode_return, episode_length,
<name>...`` (with ADR
also ``boundary`` and each ``<name>_low``/``<name>_high``). A resumed run appends to the same file.

With ADR, :class:`AdrSync` pools the env copies' returns at the ends of their ranges at every rollout's end and
gives all copies the ranges :func:`gymsuite.envs.wrappers.randomize.adr_decide` makes of them (one ADR for the
run, as the paper's central server, not one per copy); the ranges then go into the checkpoints with each copy's
wrapper state (:mod:`gymsuite.agents.files.resumestate`), so a resumed run continues from them.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from gymsuite.envs.wrappers.randomize import AdrOptions, Limits, adr_decide

CSV_NAME = "randomize.csv"


class RandomizeLogger(BaseCallback):
    """Log the randomised parameters of every finished episode (see the module docstring)."""

    def __init__(self, logs: Path) -> None:
        super().__init__()
        self.path = Path(logs) / CSV_NAME
        self.rows: list[dict[str, Any]] = []

    def _on_step(self) -> bool:
        for i, info in enumerate(self.locals.get("infos", ())):
            record = info.get("randomize")
            if record is None:
                continue
            row: dict[str, Any] = {"timesteps": self.num_timesteps, "env": i, "episode_return": record["return"],
                                   "episode_length": record["length"]}
            for name, value in record["values"].items():
                self.logger.record_mean(f"randomize/{name}", value)
                row[name] = value
            if "ranges" in record:
                row["boundary"] = record.get("boundary") or ""
                for name, (low, high) in record["ranges"].items():
                    self.logger.record_mean(f"randomize/{name}_low", low)
                    self.logger.record_mean(f"randomize/{name}_high", high)
                    row[f"{name}_low"], row[f"{name}_high"] = low, high
            self.rows.append(row)
        return True

    def _on_rollout_end(self) -> None:
        self.flush()

    def _on_training_end(self) -> None:
        self.flush()

    def flush(self) -> None:
        """Append the rows gathered so far to ``logs/randomize.csv`` (its header first when the file is new)."""
        if not self.rows:
            return
        new = not self.path.is_file()
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(self.rows[0]))
            if new:
                writer.writeheader()
            writer.writerows(self.rows)
        self.rows = []


class AdrSync(BaseCallback):
    """One ADR for all env copies: their pinned returns pooled and their ranges decided together at each rollout's
    end (see the module docstring). ``adr``: the run's ADR options."""

    def __init__(self, adr: AdrOptions) -> None:
        super().__init__()
        self.adr = adr
        self.limits: Limits = {}

    def _on_training_start(self) -> None:
        self.training_env.env_method("share_adr")
        self.limits = self.training_env.env_method("adr_limits", indices=0)[0]

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        venv = self.training_env
        states = venv.env_method("adr_state")  # (ranges, buffers) of each copy
        pooled: dict[str, list[float]] = {}
        for _, buffers in states:
            for key, returns in sorted(buffers.items()):
                pooled.setdefault(key, []).extend(returns)
        ranges, left = adr_decide(states[0][0], pooled, self.limits, self.adr)
        for i in range(venv.num_envs):  # the undecided returns stay with copy 0
            venv.env_method("set_adr", ranges, left if i == 0 else {}, indices=i)


__all__ = ["CSV_NAME", "AdrSync", "RandomizeLogger"]
