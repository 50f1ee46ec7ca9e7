"""Learning from demonstration (course RL part 5): BC, DAgger, GAIL and AIRL through ``imitation``.

When no reward can be written, learn from an expert:

* **bc** (behaviour cloning) is supervised learning of the expert's action in each
  demonstrated state. It never sees a state the expert never visited, so its small
  mistakes lead it where it has no data and they compound.
* **dagger** fixes exactly that: the learner drives, the expert (``--expert RUN_DIR``)
  labels the states the learner reached, and BC retrains on everything so far.
* **gail** and **airl** are inverse RL as a GAN: a discriminator learns a reward under
  which the expert scores higher than the learner; the learner (a PPO "generator")
  maximises it. AIRL's reward ``g(s, a)`` is meant to be reused (``rewards/learned.py``).

Every one is an :class:`gymsuite.agents.algorithms.spec.AlgoSpec` whose ``cls`` is PPO: ``build`` makes the
PPO, ``learn`` runs imitation's trainer on it, so ``model.zip`` loads with ``PPO.load`` and
``evaluate.py``/``record_video.py`` work unchanged. ``model.num_timesteps`` (progress bar,
evaluation and checkpoint frequencies, ``--timesteps``) counts, per algorithm:

* bc: demonstration samples consumed (batches x ``batch_size``), there are no env steps;
* dagger: env steps of DAgger's rollouts (each labelled by the expert);
* gail/airl: the generator's env steps.

Hyperparameters besides the run keys (``agents/hyperparams/<algo>.yml``): :class:`BCOptions`, :class:`DAggerOptions`,
:class:`AdversarialOptions`.
For bc/dagger ``batch_size``, ``n_epochs`` and ``learning_rate`` are BC's; for gail/airl
every PPO argument configures the generator.

The trainers themselves are in :mod:`gymsuite.agents.algorithms.imitation_learners`, imported only when one of
these algorithms trains: importing the ``imitation`` package (and its ``datasets``/``pandas``) takes about
half a second, which every other command would otherwise pay at start-up.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from gymsuite.agents.algorithms.spec import AlgoSpec, Learn, RunSettings, TrainContext
from gymsuite.common.errors import UserError
from gymsuite.common.options import Rule, check_keys, option, parse, rules

_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


@dataclass(frozen=True)
class BCOptions:
    """bc's hyperparameters besides the policy network (``policy_kwargs``)."""

    batch_size: int = option(32, "demonstration samples per BC step", Rule(int, low=1))
    n_epochs: int | None = option(None, "passes over the demonstrations (or n_batches; bc without either: "
                                  "--timesteps decides; dagger: 4 per round)", Rule(int, low=1, nullable=True))
    n_batches: int | None = option(None, "BC steps (or n_epochs)", Rule(int, low=1, nullable=True))
    learning_rate: float = option(1e-3, "Adam step size of BC", Rule(float, low=1e-12, finite=True))
    ent_weight: float = option(1e-3, "weight of the policy's entropy in BC's loss", Rule(float, low=0.0, finite=True))
    l2_weight: float = option(0.0, "weight of the L2 norm of the policy's weights in BC's loss",
                              Rule(float, low=0.0, finite=True))
    demo_episodes: int = option(0, "use the first N demonstrated episodes (0: all)", Rule(int, low=0))


@dataclass(frozen=True)
class DAggerOptions(BCOptions):
    """dagger's hyperparameters: BC's, and the length of a round and of the expert's part."""

    rollout_round_min_episodes: int | None = option(3, "episodes at least per round", Rule(int, low=1, nullable=True))
    rollout_round_min_timesteps: int = option(500, "env steps at least per round", Rule(int, low=1))
    beta_rampdown_rounds: int = option(5, "rounds until the learner drives alone (beta from 1 to 0)", Rule(int, low=1))


@dataclass(frozen=True)
class AdversarialOptions:
    """gail's and airl's hyperparameters besides the PPO generator's."""

    demo_batch_size: int | None = option(None, "demonstrated transitions per discriminator batch (null: at most 512)",
                                         Rule(int, low=1, nullable=True))
    demo_episodes: int = option(0, "use the first N demonstrated episodes (0: all)", Rule(int, low=0))
    n_disc_updates_per_round: int = option(16, "discriminator steps per round", Rule(int, low=1))
    gen_train_timesteps: int | None = option(None, "generator env steps per round (null: one PPO rollout)",
                                             Rule(int, low=1, nullable=True))
    gen_replay_buffer_capacity: int | None = option(None, "generator samples the discriminator draws from "
                                                    "(null: gen_train_timesteps)", Rule(int, low=1, nullable=True))
    disc_learning_rate: float = option(3e-4, "Adam step size of the discriminator", Rule(float, low=1e-12, finite=True))
    reward_net_kwargs: dict[str, Any] = option(help="the reward network's options (keys: see _NET_KEYS)",
                                               default_factory=dict)
    absorbing_steps: int = option(32, "absorbing steps after a termination (0: none, variable horizons)",
                                  Rule(int, low=0))


_OPTIONS: dict[str, type] = {"bc": BCOptions, "dagger": DAggerOptions, "gail": AdversarialOptions,
                             "airl": AdversarialOptions}
#: Hyperparameters each algorithm takes besides PPO's constructor arguments and the run keys.
KEYS: dict[str, frozenset[str]] = {algo: frozenset(rules(cls)) for algo, cls in _OPTIONS.items()}
_NET_KEYS = {"gail": {"hid_sizes", "use_state", "use_action", "use_next_state", "use_done", "normalize_input"},
             "airl": {"reward_hid_sizes", "potential_hid_sizes", "use_state", "use_action", "use_next_state",
                      "use_done", "normalize_input"}}
# The PPO arguments BC and DAgger use: the policy network (and the run's seed and device).
_BC_PPO_KEYS = {"policy_kwargs", "seed", "device", "verbose"}


def options(algo: str, hyper: dict[str, Any]) -> dict[str, Any]:
    """``algo``'s own hyperparameters (:class:`BCOptions` & co.) from ``hyper``, defaults filled in, validated.

    Raises:
        UserError: a bad value (naming the key and what it must be).
    """
    opts = dataclasses.asdict(parse(_OPTIONS[algo], hyper, "hyperparameter", f" of {algo}", strict=False))
    if "reward_net_kwargs" in opts:
        net = opts["reward_net_kwargs"]
        if not isinstance(net, dict):
            raise UserError(f"bad reward_net_kwargs for {algo}: {net!r}",
                            f"a mapping with keys among {', '.join(sorted(_NET_KEYS[algo]))}")
        check_keys(net, sorted(_NET_KEYS[algo]), "reward_net_kwargs key", f" for {algo}")
    if algo in ("bc", "dagger") and opts["n_epochs"] is not None and opts["n_batches"] is not None:
        raise UserError(f"{algo} takes n_epochs or n_batches, not both",
                        "drop one (bc without either: --timesteps decides; dagger: 4 epochs per round)")
    return opts


def check_run(algo: str, run: RunSettings) -> None:
    """What ``algo`` learns from is given: dagger asks an ``--expert``, bc, gail and airl learn from ``--demos``;
    and no option of the env's reward is set (the imitation learners do not learn from it).

    Raises:
        UserError: it is not.
    """
    if run.shaping is not None or run.curiosity or run.learned_reward:
        raise UserError(f"{algo} does not learn from the env's reward, so --reward-shaping/--curiosity/"
                        "--learned-reward do nothing",
                        "to add your own terms to a learned reward, train gail/airl first, then train with "
                        "--learned-reward RUN_DIR --reward-shaping FILE")
    if algo == "dagger":
        if not run.expert:
            raise UserError("dagger asks an expert to label the states the learner reaches, but no --expert was given",
                            "pass --expert RUN_DIR (a trained run directory or model zip)")
    elif not run.demos:
        raise UserError(f"{algo} learns from demonstrations, but no --demos FILE was given",
                        "pass --demos FILE (record one with: gymsuite collect-demos RUN_DIR --episodes 10 --out FILE)")


def check_demos(run: RunSettings, venv: VecEnv) -> None:
    """The ``--demos`` file (when given) loads and fits the run's built env's spaces, before anything is written."""
    if run.demos:
        # Imported here for start-up speed only: the demonstrations' module imports ``imitation`` (see above).
        from gymsuite.agents.data.demos import load_demos

        load_demos(run.demos, venv.observation_space, venv.action_space, run.env)


def _build(algo: str, policy: str, env: VecEnv, kwargs: dict[str, Any]) -> BaseAlgorithm:
    """The PPO that ``learn`` trains; rejects settings the algorithm cannot honour."""
    if isinstance(env, VecNormalize):
        raise UserError(f"{algo} learns from raw demonstrations, so normalize must be false",
                        "drop normalize (gail/airl normalise their reward net's input themselves)")
    options(algo, kwargs)
    ppo_keys = _BC_PPO_KEYS if algo in ("bc", "dagger") else set(kwargs) - KEYS[algo]
    unused = set(kwargs) - ppo_keys - KEYS[algo]
    if unused:
        raise UserError(f"{algo} does not use the PPO setting(s) {', '.join(sorted(unused))}",
                        f"{algo} takes {', '.join(sorted(KEYS[algo] | {'policy_kwargs'}))}")
    return PPO(policy, env, **{k: v for k, v in kwargs.items() if k in ppo_keys})


def _lazy(name: str, *args: Any) -> Learn:
    """The ``learn`` of :mod:`gymsuite.agents.algorithms.imitation_learners` called ``name``, imported when it runs."""

    def learn(model: BaseAlgorithm, total_timesteps: int, callback: BaseCallback, ctx: TrainContext) -> BaseAlgorithm:
        # Imported here for start-up speed only (the ``imitation`` package takes ~0.5 s; see the module docstring).
        from gymsuite.agents.algorithms import imitation_learners

        trainer: Any = getattr(imitation_learners, name)
        return trainer(*args, model, total_timesteps, callback, ctx)

    return learn


def _spec(name: str, description: str, learn: Learn) -> AlgoSpec:
    return AlgoSpec(name, PPO, _SPACES, description, build=functools.partial(_build, name),
                    extra_keys=KEYS[name], learn=learn, check=functools.partial(check_run, name),
                    check_built=check_demos)


#: The registry entries (agents/algorithms/registry.py).
SPECS: tuple[AlgoSpec, ...] = (
    _spec("bc", "Behaviour cloning from --demos (imitation); saves a PPO", _lazy("learn_bc")),
    _spec("dagger", "DAgger: the learner drives, --expert labels (imitation); saves a PPO", _lazy("learn_dagger")),
    _spec("gail", "GAIL: adversarial imitation of --demos with a PPO generator (imitation)",
          _lazy("learn_adversarial", "gail")),
    _spec("airl", "AIRL: adversarial inverse RL from --demos, reusable reward (imitation)",
          _lazy("learn_adversarial", "airl")),
)
