"""Domain randomisation's logs: each episode's draws into the SB3 logger and a CSV in the run's ``logs/``.

:class:`gymsuite.envs.wrappers.randomize.RandomizeParams` puts each finished episode's draws into
``info["randomize"]``; :class:`RandomizeLogger` records, per rollout, the mean draw of each parameter
(``randomize/<name>``), with ADR the mean current range (``randomize/<name>_low``, ``randomize/<name>_high``), and
appends one row per episode to ``logs/randomize.csv``: ``timesteps, env, episode_return, episode_length,
<name>...`` (with ADR
also ``boundary`` and each ``<name>_low``/``<name>_high``). A resumed run appends to the same file.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

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


__all__ = ["CSV_NAME", "RandomizeLogger"]
