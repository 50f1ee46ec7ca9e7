"""What the imitation benchmark runs (``benchmarks/imitation.py``): its settings, jobs and results."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

RUN_ORDER = ["airl", "gail", "dagger", "bc"]  # slowest first, so that the pool ends with short runs
STARTS = ("normal", "perturbed")
# Random actions after each reset in the perturbed start. CartPole's random episodes last ~22
# steps, so 10 leave the pole moving but mostly recoverable; Acrobot needs longer to swing.
PERTURB_STEPS = {"CartPole-v1": 10, "Acrobot-v1": 20}
QUICK_STEPS: dict[str, Any] = {"ppo": {"CartPole-v1": 10_240, "Acrobot-v1": 32_768},  # --quick: smoke-test budgets
               "bc": 5_000, "dagger": 1_500, "gail": 2_048, "airl": 2_048}
TARGETS = [("CartPole-v1", "bc", 20), ("CartPole-v1", "gail", 5)]  # issue 5: >= 95% of the expert's return
DEMO_EPISODES, DEMO_SEED = 20, 1_000  # recorded per expert (more if --episodes asks for more)
EVAL_SEED, EVAL_ENVS = 1_000_000, 5  # training uses env seeds 0.., its own evaluation 10_000..


@dataclass
class ExpertJob:
    env: str
    out: str  # the benchmark's output folder
    timesteps: int  # 0: ppo.yml's budget
    demo_episodes: int
    eval_episodes: int
    retrain: bool
    seed: int = 0  # the expert's training seed (--expert-seed): a second expert checks the learners do not hang on one


@dataclass
class Expert:
    env: str
    run_dir: str
    demos: str
    timesteps: int
    trained: bool  # False: an existing run directory was reused
    train_seconds: float
    demo_episodes: int
    demo_return: float  # mean env return of the recorded episodes
    start_distance: dict[str, float]  # start -> median distance of a start state to the nearest demonstrated one
    returns: dict[str, float]  # "expert/normal", "random/perturbed", ... -> mean greedy return


@dataclass
class Job:
    env: str
    algo: str
    episodes: int  # demonstrated episodes the learner may use
    seed: int
    expert: str
    demos: str
    run_dir: str
    timesteps: int  # 0: the algorithm's yml budget
    eval_episodes: int


@dataclass
class Result:
    job: Job
    returns: dict[str, float]  # start -> mean greedy return
    seconds: float  # training wall time (``learn`` only)
    wall: float  # the whole job's wall time: building, training, saving and both evaluations
    steps: int  # the run's timesteps: demo samples (bc), env steps (dagger), generator steps (gail, airl)


def safe(env: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", env)
