"""What one training run is: :class:`RunConfig`, saved as the run's ``config.yaml``.

It lives apart from the config loader (``gymsuite.agents.run.config``) and imports neither torch
nor stable-baselines3, so ``gymsuite train --help``, whose flags are generated from its
fields, answers at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gymsuite.common.options import Rule, option

DEVICES = ("auto", "cpu", "cuda")
# Where a run's default hyperparameters come from (agents/hyperparams/): ``zoo`` rl-baselines3-zoo's entries,
# ``gymsuite`` the entries tuned here for the time to a solved agent (agents/hyperparams/gymsuite/), else the zoo's.
PRESETS = ("gymsuite", "zoo")
# ``reward_shaping: none``: no shaping, not even the one a preset's entry carries (``gymsuite.agents.run.config``).
NO_SHAPING = "none"


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to (re)run one training job; saved as the run's ``config.yaml``. Frozen: a decision
    taken after validation (a chosen backbone, a rounded budget) is a new config (``dataclasses.replace``).

    Each field is a key of a ``--config`` file and (except ``hyperparams``) a flag of ``train``,
    whose ``--help`` is the fields' help.
    """

    algo: str = option(help="algorithm name (see --list-algos)")
    env: str = option(help="env id, package.module:Class or path/to/file.py:Class")
    # timesteps and n_envs are None ("not given") until build_config fills them from the tuned table.
    timesteps: int = option(None, "environment steps to train (default: tuned per env)",
                            Rule(int, low=1, nullable=True))
    seed: int = option(0, "random seed for envs, networks and exploration", Rule(int, low=0))
    n_envs: int = option(None, "parallel environments (default: tuned per env)", Rule(int, low=1, nullable=True))
    hyperparams: dict[str, Any] = option(help="algorithm hyperparameters (agents/hyperparams/ALGO.yml)",
                                         default_factory=dict)
    preset: str = option("gymsuite", "default hyperparameters: gymsuite (tuned here for the time to a solved agent, "
                         "where an entry exists; else the zoo's) or zoo (rl-baselines3-zoo's)",
                         Rule(str, choices=PRESETS))
    eval_episodes: int = option(10, "episodes of the final evaluation", Rule(int, low=1))
    eval_freq: int = option(-1, "env steps between evaluations; -1: 10 per run, 0: off (a policy is evaluated once: "
                            "one due before its next update waits for it)", Rule(int, low=-1))
    target_return: float | None = option(None, "stop once a periodic evaluation's mean return reaches R over its 5 "
                                         "episodes and --eval-episodes more (auto: the env's threshold)",
                                         Rule(float, finite=True, nullable=True),
                                         metavar="R|auto", cli_type=str)
    eval_max_episode_steps: int | None = option(None, "cut evaluation episodes after this many steps (default: the "
                                                "env's time limit, else 10000)", Rule(int, low=1, nullable=True))
    checkpoint_freq: int = option(-1, "env steps between checkpoints; -1: every tenth of the run, at most one "
                                  "per 30 s; 0: off", Rule(int, low=-1))
    reward_shaping: str | dict[str, Any] | None = option(
        None, "YAML file of reward-shaping terms; none: no shaping, not even the preset's (MountainCar's DQN and "
        "PPO entries shape by default)", metavar="FILE|none", cli_type=str)
    curiosity: str | None = option(None, "intrinsic reward: icm, rnd or raw")
    curiosity_kwargs: dict[str, Any] = option(help="curiosity options (gymsuite.rewards.curiosity.CuriosityOptions)",
                                              default_factory=dict)
    learned_reward: str | None = option(None, "learn from the reward a gail/airl run learned", metavar="RUN_DIR")
    learned_reward_kwargs: dict[str, Any] = option(help="learned-reward options: mode=replace|add, scale=NUMBER, "
                                                   "absorbing=true|false", default_factory=dict)
    demos: str | None = option(None, "demonstrations file (bc, dagger, gail, airl)")
    expert: str | None = option(None, "expert run directory or model (dagger)")
    check_env: bool = option(True, "check a custom env before training", flag="--no-check")
    threads: int = option(1, "torch CPU threads (1 is fastest for small MLPs)", Rule(int, low=1))
    device: str = option("auto", "where the networks run: auto (cuda when torch sees a GPU and the policy has an "
                         "image backbone, else cpu), cpu or cuda", Rule(str, choices=DEVICES))

    @property
    def shaping(self) -> str | dict[str, Any] | None:
        """The reward shaping the run trains with: a file, the terms themselves (a preset's, as ``config.yaml``
        records them), or None (``reward_shaping`` not given, or ``none``)."""
        return None if self.reward_shaping in (None, NO_SHAPING) else self.reward_shaping

    @property
    def n_timesteps(self) -> int:
        return int(self.timesteps)


FIELDS = {f.name for f in dataclasses.fields(RunConfig)}
