"""What a stable-baselines3 ``model.zip`` says about itself, read without unpickling anything.

An SB3 zip holds a ``data`` member: JSON of the algorithm's attributes, where objects
(the policy class, spaces, schedules) are pickled but also described by readable fields
such as ``policy_class["__module__"]``. The algorithm's own class is not recorded, so
:func:`read_model_file` infers it from what is:

* the policy's module tells the off-policy algorithms apart (``stable_baselines3.dqn.policies``...);
* PPO, A2C and gymsuite's policy gradient share ``stable_baselines3.common.policies``; PPO
  saves ``clip_range`` and the policy gradient ``version``, A2C nothing of its own, so it
  stays unknown (any of their zips still loads as PPO where only the policy is needed).

* sb3-contrib's ``RecurrentPPO`` (``backbone=lstm``) saves a policy from
  ``sb3_contrib.common.recurrent.policies``: such a zip is :attr:`ModelFile.recurrent`.

gymsuite's own saves also name their algorithm (:data:`ALGO_FIELD`, the registry name), so any of them
tells; the class inferred above serves older zips and other tools' (the algorithms' specs say which
classes' zips they load: ``AlgoSpec.zip_classes``).

This is the one reader of that JSON (loading, resuming and experts all use it).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymsuite.common.datafiles import DamagedFileError
from gymsuite.common.errors import UserError

ACTOR_CRITIC_MODULE = "stable_baselines3.common.policies"
RECURRENT_MODULE = "sb3_contrib.common.recurrent.policies"
MASKABLE_MODULE = "sb3_contrib.common.maskable.policies"  # MaskablePPO (selfplay)
# SB3 algorithms with a policy module of their own, named by the class that saved the zip.
_OFF_POLICY = {"dqn": "DQN", "sac": "SAC", "td3": "TD3", "ddpg": "DDPG"}
#: The field of a gymsuite zip's JSON that names the algorithm (its registry name) that trained it.
ALGO_FIELD = "gymsuite_algo"


@dataclass(frozen=True)
class ModelFile:
    """The readable metadata of an SB3 model zip.

    Attributes:
        path: the zip.
        policy_module: the module of the saved policy class ("" when the zip does not say).
        algo_class: the name of the SB3 class that saved it (``"PPO"``, ``"DQN"``,
            ``"PolicyGradient"``, ``"RecurrentPPO"``, ...), or None when the file does not tell (A2C, unknown policies).
        algo: the registry name of the algorithm that trained it, when gymsuite saved it (None: an older zip, or
            another tool's).
    """

    path: Path
    policy_module: str
    algo_class: str | None
    algo: str | None = None

    @property
    def actor_critic(self) -> bool:
        """The policy is SB3's ``ActorCriticPolicy`` family, which ``PPO.load`` can restore whoever saved it."""
        return self.policy_module == ACTOR_CRITIC_MODULE

    @property
    def recurrent(self) -> bool:
        """The policy carries an LSTM state across steps (sb3-contrib's ``RecurrentPPO``: ``backbone=lstm``)."""
        return self.policy_module == RECURRENT_MODULE


class UnknownAlgorithmError(UserError):
    """The algorithm that saved a model file cannot be told from the file; ``model_file`` says what can."""

    def __init__(self, model_file: ModelFile, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.model_file = model_file


def read_model_file(path: str | Path) -> ModelFile:
    """Read ``path``'s ``data`` JSON (never its pickles) into a :class:`ModelFile`.

    Raises:
        UserError: ``path`` is not a zip, or a zip without SB3's ``data``.
    """
    path = Path(path)
    data = read_data(path)
    policy = data.get("policy_class")
    module = str(policy.get("__module__", "")) if isinstance(policy, dict) else ""
    algo = data.get(ALGO_FIELD)
    return ModelFile(path, module, _algo_class(module, set(data)), algo if isinstance(algo, str) else None)


def _algo_class(module: str, keys: set[str]) -> str | None:
    """The saving class's name from the policy's module and the saved attribute names."""
    for name, cls in _OFF_POLICY.items():
        if module.startswith(f"stable_baselines3.{name}."):
            return cls
    if module == RECURRENT_MODULE:
        return "RecurrentPPO"
    if module == MASKABLE_MODULE:
        return "MaskablePPO"
    if module == ACTOR_CRITIC_MODULE:
        if "clip_range" in keys:
            return "PPO"
        if "version" in keys:  # gymsuite.agents.algorithms.policy_gradient.PolicyGradient's course version
            return "PolicyGradient"
    return None


_FIX = "pass a model.zip saved by SB3 or gymsuite"


def read_data(path: str | Path) -> dict[str, Any]:
    """The ``data`` JSON of an SB3 zip as a mapping; its pickled values stay base64 text, never loaded.

    Raises:
        DamagedFileError: ``path`` is not a zip, or a zip without SB3's ``data``.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, OSError) as err:  # ValueError: bad JSON or UTF-8
        raise DamagedFileError(Path(path), "an SB3 model file", str(err), _FIX) from err
    if not isinstance(data, dict):
        raise DamagedFileError(Path(path), "an SB3 model file", "its data is not a mapping", _FIX)
    return data
