"""Model zips that name a module by an old or foreign path: gymsuite's own older runs load, others get a clear error.

SB3 pickles classes inside ``policy_kwargs`` by reference (module + name). These tests save a model
while the shared trunk's class is reachable under another module name, then load it without that name.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from gymsuite.agents.algorithms.policy_gradient import PolicyGradient
from gymsuite.agents.saved.loading import load_agent
from gymsuite.common.errors import UserError
from gymsuite.envs.factory import make_env
from gymsuite.supervised.trunk import SharedTrunk


@contextlib.contextmanager
def trunk_known_as(module: str) -> Iterator[None]:
    """While inside, the shared trunk is ``module.SharedTrunk`` (as the class was before the layers)."""
    fake = types.ModuleType(module)
    fake.__file__ = f"{module}.py"  # a module with a file: cloudpickle saves its classes by reference
    fake.SharedTrunk = SharedTrunk  # type: ignore[attr-defined]
    original = SharedTrunk.__module__, SharedTrunk.__qualname__
    sys.modules[module] = fake
    SharedTrunk.__module__, SharedTrunk.__qualname__ = module, "SharedTrunk"
    try:
        yield
    finally:
        SharedTrunk.__module__, SharedTrunk.__qualname__ = original
        del sys.modules[module]


def save_share_trunk_model(path: Path, module: str) -> Path:
    with trunk_known_as(module):
        model = PolicyGradient("MlpPolicy", make_env("CartPole-v1", n_envs=1), version="4", share_trunk=True,
                               n_steps=8, seed=0, device="cpu")
        model.save(path)
    return path


def test_a_run_saved_before_the_layers_still_loads(tmp_path: Path) -> None:
    zip_path = save_share_trunk_model(tmp_path / "old.zip", "agents.policy_gradient")
    with pytest.raises(ModuleNotFoundError, match="agents.policy_gradient"):  # plain SB3 needs the old name
        PolicyGradient.load(zip_path)
    agent = load_agent(str(zip_path), algo="pg", env="CartPole-v1")  # the old name is on the safe loader's list
    assert isinstance(agent.model.policy.features_extractor, SharedTrunk)
    assert "agents.policy_gradient" not in sys.modules  # the old name is only lent while loading


def test_a_model_naming_a_missing_module_gets_a_clear_error(tmp_path: Path) -> None:
    zip_path = save_share_trunk_model(tmp_path / "foreign.zip", "rl_zoo_fake")
    with pytest.raises(UserError, match="rl_zoo_fake.SharedTrunk") as refused:  # the safe path names the class
        load_agent(str(zip_path), algo="pg", env="CartPole-v1")
    assert "policy_kwargs.features_extractor_class" in str(refused.value)
    with pytest.raises(UserError, match="'rl_zoo_fake'") as err:  # SB3's load, trusted, needs the module
        load_agent(str(zip_path), algo="pg", env="CartPole-v1", trust_pickle=True)
    assert "install the package" in str(err.value)
