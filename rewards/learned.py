"""A learned reward (from GAIL or AIRL) reused as the reward of another training run.

Inverse RL's promise in the course: learn the reward the expert must have had, then
add constraints of our own so the student can surpass the teacher. A gail/airl run
saves its reward network as ``RUN_DIR/reward_net.pt``; :func:`learned_reward_wrappers`
turns it into env wrappers for ``make_env(..., reward_wrappers=...)``, which sit outside
``Monitor`` so logs and evaluation keep the env's own return, and compose with
``gymsuite.rewards.shaping.load_shaping`` (put the learned reward first, the shaping terms after).

File format: ``torch.save`` of a dict of plain types and tensors, read back with
``torch.load(weights_only=True)`` (no arbitrary pickle)::

    {"format": "gymsuite-reward-net", "version": 1,
     "arch": JSON string: {"algo": "gail"|"airl", "net": {...reward-net keyword arguments},
             "normalize_input": bool, "gamma": float, "absorbing_steps": int,
             "env": str, "observation_space": {...}, "action_space": {...}},
     "state_dict": the discriminator's reward network (RunningNorm statistics included)}

Shapes: B transitions, O observation shape, A action shape.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from imitation.algorithms.adversarial.gail import RewardNetFromDiscriminatorLogit
from imitation.rewards import reward_nets
from imitation.util import networks

from gymsuite.common.datafiles import DamagedFileError, read_torch
from gymsuite.common.errors import UserError
from gymsuite.common.files import atomic_write_buffered
from gymsuite.common.options import Rule, option, parse
from gymsuite.common.spaces import describe_space
from gymsuite.envs.wrappers import AbsorbAfterTermination
from gymsuite.rewards.env_reward import record_env_reward

REWARD_FILE = "reward_net.pt"
FORMAT, VERSION = "gymsuite-reward-net", 1
_TRAIN_HINT = "train one with: gymsuite train --algo gail --env ENV --demos FILE"


def build_reward_net(arch: dict[str, Any], observation_space: gym.Space, action_space: gym.Space
                     ) -> reward_nets.RewardNet:
    """The discriminator's reward network described by ``arch`` (fresh weights).

    gail: ``BasicRewardNet`` whose output is the discriminator's logit. airl:
    ``BasicShapedRewardNet`` ``g(s, a) + gamma * h(s') - h(s)`` (Fu et al. 2018).
    """
    kwargs = dict(arch.get("net", {}))
    if arch.get("normalize_input", True):
        kwargs["normalize_input_layer"] = networks.RunningNorm
    if arch["algo"] == "airl":
        return reward_nets.BasicShapedRewardNet(observation_space, action_space,
                                                discount_factor=float(arch.get("gamma", 0.99)), **kwargs)
    return reward_nets.BasicRewardNet(observation_space, action_space, **kwargs)


def reward_for_reuse(net: reward_nets.RewardNet, algo: str) -> reward_nets.RewardNet:
    """The reward to train on afterwards, as imitation's ``reward_test``.

    gail: ``-log(1 - D) = -log sigmoid(-logit)``. airl: the unshaped ``g(s, a)``, the
    part meant to transfer (the shaping ``h`` only helped the discriminator).
    """
    if algo == "airl":
        while isinstance(net, reward_nets.RewardNetWrapper):
            net = net.base
        return net
    return RewardNetFromDiscriminatorLogit(net)


def save_reward_net(path: Path, net: reward_nets.RewardNet, arch: dict[str, Any]) -> None:
    """Write ``net``'s weights and ``arch`` atomically (see the module docstring)."""
    payload = {"format": FORMAT, "version": VERSION, "arch": json.dumps(arch),
               "state_dict": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}}
    atomic_write_buffered(Path(path), lambda f: torch.save(payload, f))


def read_reward_file(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(arch, state_dict)`` from a run directory or a ``reward_net.pt`` file."""
    file = Path(path)
    if file.is_dir():
        file = file / REWARD_FILE
    if not file.is_file():
        raise UserError(f"no learned reward at {file}: only gail and airl runs save {REWARD_FILE}", _TRAIN_HINT)
    payload = read_torch(file, "a readable learned reward", _TRAIN_HINT)
    try:
        arch = json.loads(payload["arch"])
        ok = payload.get("format") == FORMAT and payload.get("version") == VERSION
    except (KeyError, TypeError, ValueError, AttributeError) as err:  # not the mapping save_reward_file writes
        raise DamagedFileError(file, "a readable learned reward", f"{type(err).__name__}: {err}", _TRAIN_HINT) from err
    if not ok:
        raise UserError(f"{file} is not a gymsuite learned reward (format {payload.get('format')!r})", _TRAIN_HINT)
    return arch, payload["state_dict"]


def load_reward_net(path: str | Path, observation_space: gym.Space, action_space: gym.Space,
                    env_name: str = "this env") -> reward_nets.RewardNet:
    """The saved reward, ready to score transitions of an env with these spaces.

    Raises:
        UserError: no file, a corrupt one, or one learned on other spaces.
    """

    arch, state = read_reward_file(path)
    for kind, space in (("observation", observation_space), ("action", action_space)):
        if arch.get(f"{kind}_space") != describe_space(space):
            raise UserError(f"the reward in {path} was learned on {arch.get('env')} with {kind} space "
                            f"{arch.get(f'{kind}_space')}, but {env_name} has {describe_space(space)}",
                            f"reuse it on {arch.get('env')}, or learn one on {env_name}")
    net = build_reward_net(arch, observation_space, action_space)
    net.load_state_dict(state)
    net.eval()
    return reward_for_reuse(net, arch["algo"])


class LearnedReward(gym.Wrapper):
    """Replace (or add to) the env's reward with a learned one.

    ``info["env_reward"]`` keeps the env's own reward (unless an inner wrapper set it
    already) and ``info["learned_reward"]`` the learned one; the reward returned is
    ``scale * learned`` (``mode="replace"``) or ``env + scale * learned`` (``"add"``).

    Args:
        env: the environment (outside ``Monitor``).
        reward: the learned reward network (:func:`load_reward_net`).
        mode: ``"replace"`` or ``"add"``.
        scale: multiplies the learned reward.
    """

    def __init__(self, env: gym.Env, reward: reward_nets.RewardNet, mode: str = "replace", scale: float = 1.0) -> None:
        super().__init__(env)
        if mode not in ("replace", "add"):
            raise UserError(f"learned-reward mode must be 'replace' or 'add', got {mode!r}")
        self.reward, self.mode, self.scale = reward, mode, float(scale)
        self._obs: Any = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        self._obs, info = self.env.reset(seed=seed, options=options)
        return self._obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        learned = float(self.reward.predict_processed(np.asarray(self._obs)[None], np.asarray(action)[None],
                                                      np.asarray(obs)[None], np.array([terminated]))[0])
        self._obs = obs
        info = record_env_reward(info, reward)
        info["learned_reward"] = learned
        new = self.scale * learned + (float(reward) if self.mode == "add" else 0.0)
        return obs, new, terminated, truncated, info


def _wrap_learned(env: gym.Env, path: str, mode: str, scale: float) -> gym.Env:
    spec = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    return LearnedReward(env, load_reward_net(path, env.observation_space, env.action_space, spec), mode, scale)


@dataclass(frozen=True)
class LearnedRewardOptions:
    """Options of ``--learned-reward`` (``--learned-reward-kwargs key=value``), for :func:`learned_reward_wrappers`."""

    mode: str = option("replace", "replace the env's reward with the learned one, or add it",
                       Rule(str, choices=("replace", "add")))
    scale: float = option(1.0, "multiplies the learned reward", Rule(float, finite=True))
    absorbing: bool | None = option(None, "absorbing steps after termination (null: as the reward was learned)")


def learned_reward_wrappers(run_dir: str | Path, **options: Any) -> list[Callable[[gym.Env], gym.Env]]:
    """Wrapper factories that make a gail/airl run's learned reward the reward of a new run.

    For ``make_env(..., reward_wrappers=learned_reward_wrappers(run) + load_shaping(file))``:
    the learned reward replaces the env's (``mode="replace"``) or is added to it
    (``"add"``), times ``scale``; shaping terms listed after it add "our own constraints".
    When the reward was learned with absorbing states (gail/airl's default), the new
    run gets the same :class:`AbsorbAfterTermination` (unless ``absorbing=False``): the
    learned reward gives them their value, which decides whether ending is good.

    Args:
        run_dir: a gail/airl run directory (or its ``reward_net.pt``).
        **options: fields of :class:`LearnedRewardOptions` (``mode``, ``scale``, ``absorbing``).

    Raises:
        UserError: no learned reward there, or an unknown or bad option.
    """
    opts = parse(LearnedRewardOptions, options, "learned-reward option", listing="valid options")
    arch, _ = read_reward_file(run_dir)  # fail now, not inside the env factory
    wrappers: list[Callable[[gym.Env], gym.Env]] = []
    steps = int(arch.get("absorbing_steps") or 0)
    if (steps > 0 if opts.absorbing is None else opts.absorbing):
        wrappers.append(functools.partial(AbsorbAfterTermination, steps=max(steps, 1)))
    wrappers.append(functools.partial(_wrap_learned, path=str(run_dir), mode=opts.mode, scale=opts.scale))
    return wrappers
