"""Space descriptions that model files keep: every space gymsuite trains on round-trips through JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gymnasium import spaces

from gymsuite.common.spaces import space_from_json, space_to_json


@pytest.mark.parametrize("space", [
    spaces.Box(np.array([-4.8, -np.inf], np.float32), np.array([4.8, np.inf], np.float32), dtype=np.float32),
    spaces.Box(0, 255, (3, 84, 84), np.uint8),
    spaces.Discrete(5, start=-2),
    spaces.MultiDiscrete([3, 4], start=[1, 0]),
    spaces.MultiBinary(6),
    spaces.Dict({"image": spaces.Box(0, 255, (3, 8, 8), np.uint8), "mode": spaces.Discrete(3)}),
    spaces.Tuple([spaces.Discrete(2), spaces.Box(-1, 1, (2,), np.float32)]),
])
def test_space_descriptions_round_trip_through_json(space: spaces.Space) -> None:
    desc = space_to_json(space)
    assert space_from_json(json.loads(json.dumps(desc))) == space
    assert len(json.dumps(desc)) < 1000  # uniform bounds (images) are one number, not H*W*C of them
