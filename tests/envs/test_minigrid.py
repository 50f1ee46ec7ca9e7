"""MiniGrid through the env factory: the 7x7 view (default) or RGB pixels, codes spread, truncation kept."""

from __future__ import annotations

import numpy as np
import pytest

from gymsuite.common.errors import UserError
from gymsuite.envs.factory import make_env
from gymsuite.envs.minigrid import is_minigrid, minigrid_options
from gymsuite.envs.observation import EnvOptions


def test_doorkey_observes_the_7x7_view_with_codes_spread_over_0_255() -> None:
    venv = make_env("MiniGrid-DoorKey-5x5-v0", n_envs=2, seed=0)
    try:
        obs = venv.reset()
        assert obs.shape == (2, 7, 7, 3) and obs.dtype == np.uint8
        # Walls (object 2, colour grey 5) are 2 x 25 and 5 x 51; cells outside the grid are 0.
        assert {50, 255} <= set(np.unique(obs[..., :2]).tolist())
        assert set(np.unique(obs[..., 0]).tolist()) <= {25 * k for k in range(11)}
    finally:
        venv.close()


@pytest.mark.parametrize(("view", "shape"), [("rgb_agent", (56, 56, 3)), ("rgb_full", (40, 40, 3))])
def test_rgb_views(view: str, shape: tuple[int, ...]) -> None:
    venv = make_env("MiniGrid-DoorKey-5x5-v0", n_envs=1, seed=0, options=EnvOptions.parse({"minigrid": {"view": view}}))
    try:
        assert venv.reset().shape == (1, *shape)
    finally:
        venv.close()


def test_time_limit_truncation_survives() -> None:
    venv = make_env("MiniGrid-DoorKey-5x5-v0", n_envs=1, seed=0, options=EnvOptions(max_episode_steps=3))
    try:
        venv.reset()
        infos = [venv.step(np.array([0]))[3][0] for _ in range(3)]  # turning left never ends an episode
        assert infos[-1]["TimeLimit.truncated"] is True
    finally:
        venv.close()


def test_ids_and_bad_options() -> None:
    assert is_minigrid("MiniGrid-DoorKey-5x5-v0") and is_minigrid("minigrid:BabyAI-GoToLocal-v0")
    assert not is_minigrid("CartPole-v1")
    with pytest.raises(UserError) as err:
        minigrid_options({"view": "full"})
    assert "view" in err.value.message
    with pytest.raises(UserError):
        minigrid_options({"veiw": "agent"})
