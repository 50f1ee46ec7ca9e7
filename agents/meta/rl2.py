"""``gymsuite meta --method rl2``: RL², a recurrent policy meta-trained on trials whose hidden state adapts.

Duan et al. (2016), "RL²: Fast Reinforcement Learning via Slow Reinforcement Learning"; Wang et al. (2016),
"Learning to reinforcement learn". The slow learner is ordinary RL: PPO with an LSTM policy (sb3-contrib's
``RecurrentPPO`` through ``backbone=lstm``) trained for ``timesteps`` env steps on trials of the family
(``gymsuite/Trials-v0``: a task drawn per trial, ``plan.trials`` episodes of it as one episode, the previous action,
reward and done flag appended to each observation; :mod:`gymsuite.envs.wrappers.trials`). The fast learner is the
policy's hidden state, kept across the trial's episodes and zeroed only between trials.

Adaptation to a held-out task is therefore a trial on it, without a gradient step (``--adapt-steps`` does not
apply): "before" is the return of the trial's first episode, "after" that of its last, each the mean over
``eval_episodes`` trials, sampled from the policy (its sampling is part of the exploration it learned; a bandit's
greedy policy would pull one arm forever). With one episode per trial (bandits), before and after are the same
episode and ``trial`` (the whole trial's return) is the figure to read.

``D/rl2/init`` is the meta-trained policy as an ordinary run directory (evaluate and record play trials of the
training family; :func:`trial_returns` plays a given task); its training resumes from its checkpoint like any run's
(the envs restart their trial there; the generator that draws the trials is kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gymsuite.agents.meta.plan import MetaPlan, rl2_config, trial_kwargs
from gymsuite.agents.run import training
from gymsuite.agents.saved.evaluation import run_episodes
from gymsuite.agents.saved.loading import LoadedAgent, load_agent, make_agent_env
from gymsuite.common.files import write_json
from gymsuite.common.stats import iqm, iqm_ci
from gymsuite.envs.tasks import Task

ADAPTATION = ("in-context: the recurrent policy's hidden state over a trial of {k} episode(s) of the task, no "
              "gradient step (--adapt-steps does not apply); before = the trial's first episode, after = its last; "
              "actions sampled from the policy")


def trial_returns(agent: LoadedAgent, task: Task, trials: int, episodes: int, seed: int) -> np.ndarray:
    """``agent`` (sampling its actions) on ``trials`` trials of ``episodes`` episodes of ``task``: each episode's
    return, ``(trials, episodes)``."""
    venv = make_agent_env(agent, seed=seed, n_envs=min(trials, 8), env_kwargs=trial_kwargs([task], episodes))
    try:
        played = run_episodes(agent, venv, trials, deterministic=False)  # each env its share, as evaluate does
    finally:
        venv.close()
    return np.asarray([e["trial_returns"] for e in played], dtype=np.float64)


def run_rl2(plan: MetaPlan, family: Sequence[Task], test: Sequence[Task], root: Path,
            progress: dict[str, Any]) -> training.TrainResult | None:
    """Meta-train ``root/rl2/init`` (or resume it), then a trial evaluation per held-out task into ``progress``
    (written to ``root/progress.json`` after each); the interrupted run's result, or None when done."""
    init = root / "rl2" / "init"
    result = training.train_or_resume(rl2_config(plan, family, plan.timesteps, plan.seed), init, ())
    if result is not None and result.interrupted:
        return result
    row = progress.setdefault("rl2", {"before": {}, "after": {}, "trial": {}})
    agent = load_agent(str(init))
    for j, task in enumerate(test):
        if str(j) in row["after"]:
            continue
        returns = trial_returns(agent, task, plan.eval_episodes, plan.trials, plan.seed + 20_000 + 100 * j)
        row["before"][str(j)] = float(returns[:, 0].mean())
        row["after"][str(j)] = float(returns[:, -1].mean())
        row["trial"][str(j)] = float(returns.sum(axis=1).mean())
        write_json(root / "progress.json", progress)
    return None


def _stats(values: list[float]) -> dict[str, Any]:
    return {"iqm": iqm(values), "ci": list(iqm_ci(values))}


def rl2_row(plan: MetaPlan, row: dict[str, Any]) -> dict[str, Any]:
    """``results.json``'s ``methods.rl2``: the table's keys (``before``/``after`` and their IQMs; ``adapted`` empty:
    no adapted runs) and RL²'s own: ``trial`` (each held-out task's mean trial return), ``trial_iqm``, ``trials``,
    ``adaptation`` (what before and after mean here)."""
    n = len(plan.test)
    before, after, trial = ([row[key][str(j)] for j in range(n)] for key in ("before", "after", "trial"))
    return {"before": before, "after": after, "before_iqm": _stats(before), "after_iqm": _stats(after),
            "init": "rl2/init", "adapted": [], "trial": trial, "trial_iqm": _stats(trial), "trials": plan.trials,
            "adaptation": ADAPTATION.format(k=plan.trials)}


__all__ = ["ADAPTATION", "rl2_row", "run_rl2", "trial_returns"]
