"""Evaluation: run an agent for whole episodes and summarise the environment's own return."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from agents.pipeline.loading import LoadedAgent


def run_episodes(agent: LoadedAgent, venv: VecEnv, episodes: int, deterministic: bool = True) -> list[dict[str, float]]:
    """Play until ``episodes`` episodes finish; return SB3 Monitor's ``{"r", "l", "t"}`` per episode.

    Each also has ``"capped"``: the step cap that cut the episode short (``make_agent_env``'s
    ``EpisodeCap``), else 0.

    Monitor sits inside any shaping wrapper, so ``r`` is always the env's own return.
    With several envs, episodes are taken in the order they finish, as SB3's
    ``evaluate_policy`` does; each env contributes at most its share to avoid
    biasing towards short episodes. A recurrent agent's state starts each episode at zero
    (:meth:`~agents.pipeline.loading.LoadedAgent.act` gets each step's ``dones``).
    """
    n = venv.num_envs
    quota = np.array([(episodes + i) // n for i in range(n)])
    done_count = np.zeros(n, dtype=int)
    results: list[dict[str, float]] = []
    obs, dones = venv.reset(), np.ones(n, dtype=bool)
    while len(results) < episodes:
        obs, _, dones, infos = venv.step(agent.act(obs, venv, deterministic, episode_start=dones))
        for i in np.flatnonzero(dones):
            if "episode" in infos[i] and done_count[i] < quota[i]:
                done_count[i] += 1
                episode = {k: float(v) for k, v in infos[i]["episode"].items()}
                results.append({**episode, "capped": float(infos[i].get("episode_capped", 0))})
    return results


def warn_capped(episodes: list[dict[str, float]], what: str = "evaluation") -> int:
    """Warn when episodes were cut by the step cap; return how many were."""
    capped = [e for e in episodes if e.get("capped")]
    if capped:
        warnings.warn(f"{len(capped)} of {len(episodes)} {what} episodes reached the step cap of "
                      f"{int(capped[0]['capped'])} steps and were cut short: their returns are not whole "
                      "episodes' (does the policy never end an episode?); set the cap with --max-episode-steps "
                      "(evaluate, record) or --eval-max-episode-steps (train)",
                      UserWarning, stacklevel=3)
    return len(capped)


def evaluate(agent: LoadedAgent, venv: VecEnv, episodes: int, deterministic: bool = True) -> dict[str, Any]:
    """The summary written to ``eval.json`` and printed by ``evaluate.py --json``."""
    start = time.perf_counter()
    eps = run_episodes(agent, venv, episodes, deterministic)
    returns = np.array([e["r"] for e in eps])
    lengths = np.array([e["l"] for e in eps])
    capped = warn_capped(eps)
    return {
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "episodes": len(eps),
        "mean_length": float(lengths.mean()),
        "min_return": float(returns.min()),
        "max_return": float(returns.max()),
        "returns": [float(r) for r in returns],
        "capped_episodes": capped,
        "deterministic": deterministic,
        "algo": agent.algo,
        "env": agent.env,
        "seconds": round(time.perf_counter() - start, 3),
    }
