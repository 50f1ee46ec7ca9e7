"""Which observation spaces training can take: SB3 builds policies for Box, Discrete, MultiDiscrete, MultiBinary
and a flat Dict of them, and nothing else.

An allowlist, not a list of known bad spaces: any other space (gymnasium's ``Text``, ``Graph``, ``Sequence``,
``OneOf``, a package's own ``Space`` subclass such as MiniGrid's ``MissionSpace``) is refused by name.

One rule for every place that refuses an env before SB3's buffers crash on it: the factory (each env it builds),
the check (its report) and the multi-agent bridge (the slots' shared space).
"""

from __future__ import annotations

import gymnasium as gym

from gymsuite.common.errors import UserError

# The observation spaces SB3 builds a policy for (alone, or as the values of a flat Dict).
TRAINABLE = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)
UNTRAINABLE_FIX = ("wrap the env so that it observes arrays only: for minigrid, ImgObsWrapper (the image) or "
                   "FlatObsWrapper (image and mission as numbers); otherwise drop the key with "
                   "gymnasium.wrappers.FilterObservation(env, [keys to keep]) or encode it as a Box; "
                   "pass the wrapped env as file.py:make_env, a function returning it")


def untrainable_parts(space: gym.spaces.Space, where: str = "observation") -> list[str]:
    """The parts of an observation space SB3 cannot train on, e.g. ``["observation['mission'] is Text"]``.

    SB3 takes Box, Discrete, MultiDiscrete, MultiBinary (:data:`TRAINABLE`), or a flat Dict of them.
    """
    if isinstance(space, TRAINABLE):
        return []
    if isinstance(space, gym.spaces.Tuple):
        inner = [p for i, sub in enumerate(space.spaces) for p in untrainable_parts(sub, f"{where}[{i}]")]
        return [f"{where} is a Tuple (use a Dict)", *inner]
    if isinstance(space, gym.spaces.Dict):
        found = []
        for key, sub in space.spaces.items():
            if isinstance(sub, gym.spaces.Dict):
                found.append(f"{where}[{key!r}] is a Dict inside a Dict (flatten it)")
            found += untrainable_parts(sub, f"{where}[{key!r}]") if not isinstance(sub, gym.spaces.Dict) else []
        return found
    return [f"{where} is {type(space).__name__}"]


def require_trainable(env: gym.Env, name: str) -> None:
    """Refuse observation spaces SB3 cannot hold (any but :data:`TRAINABLE`) before its buffers crash on them.

    Raises:
        UserError: naming the parts (``env`` is closed first), with :data:`UNTRAINABLE_FIX` as the fix.
    """
    parts = untrainable_parts(env.observation_space)
    if parts:
        env.close()
        raise UserError(f"{name} has observations that training cannot handle: {'; '.join(parts)}", UNTRAINABLE_FIX)
