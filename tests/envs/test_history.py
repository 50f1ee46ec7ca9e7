"""The ``history`` observation option: the last K observations, oldest first, zeros before the episode."""

from __future__ import annotations

import numpy as np
import pytest

from gymsuite.common.errors import UserError
from gymsuite.envs.factory import make_env
from gymsuite.envs.observation import EnvOptions, check_observation_options


def test_history_stacks_the_last_k_observations_and_pads_with_zeros() -> None:
    venv = make_env("CartPole-v1", n_envs=2, seed=0, options=EnvOptions.parse({"history": 3}))
    assert venv.observation_space.shape == (3, 4)
    first = venv.reset()
    assert first.shape == (2, 3, 4)
    assert np.all(first[:, :2] == 0) and np.all(first[:, 2] != 0)
    second, _, _, _ = venv.step(np.zeros(2, dtype=int))
    np.testing.assert_array_equal(second[:, 1], first[:, 2])  # the window slid by one
    venv.close()


@pytest.mark.parametrize("value", [0, -2, 1.5, "four"])
def test_a_bad_history_is_refused(value: object) -> None:
    with pytest.raises(UserError, match="history"):
        check_observation_options({"history": value})
