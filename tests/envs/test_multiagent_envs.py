"""Multi-agent specs through the env factory: sources, routing, masks, attributes, real PettingZoo envs, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gymsuite.common.errors import UserError
from gymsuite.envs.factory import is_custom, make_env, registered_time_limit, resolve
from gymsuite.envs.multiagent import ParallelVecEnv, multiagent_source
from gymsuite.envs.observation import EnvOptions
from tests.multiagent_toys import MA_TOY_FILE, Toy

TOY = f"{MA_TOY_FILE}:make_toy"


def test_sources_parallel_aec_and_turn_based() -> None:
    spread = multiagent_source("mpe2.simple_spread_v3")
    assert spread is not None and not spread.turn_based
    ttt = multiagent_source("pettingzoo.classic.tictactoe_v3")
    assert ttt is not None and ttt.turn_based and "action_mask" in ttt.make_aec().observation_space("player_1").spaces
    with pytest.raises(UserError, match="selfplay"):
        ttt.make_parallel()
    toy = multiagent_source(TOY)
    assert toy is not None and not toy.turn_based and type(toy.make_parallel()).__name__ == "Toy"
    aec = multiagent_source(f"{MA_TOY_FILE}:make_toy_aec")  # an AEC env that says it is parallelizable
    assert aec is not None and not aec.turn_based and aec.make_parallel().possible_agents == ["a", "b", "c"]
    assert multiagent_source("CartPole-v1") is None and multiagent_source("tests.toy_envs:Counter") is None


def test_specs_through_the_factory_helpers() -> None:
    assert is_custom(TOY) and not is_custom("mpe2.simple_spread_v3")
    assert registered_time_limit("mpe2.simple_spread_v3") is None and registered_time_limit(TOY) is None
    with pytest.raises(UserError, match="multi-agent"):
        resolve("mpe2.simple_spread_v3")
    assert registered_time_limit("CartPole-v1") == 500  # single-agent ids unchanged


def test_make_env_builds_a_guarded_seeded_bridge() -> None:
    venv = make_env(TOY, n_envs=2, seed=5, options=EnvOptions.parse({"multiagent": {"agent_id": True}}))
    assert venv.num_envs == 6 and venv.observation_space.shape == (5,)
    first = venv.reset()
    again = make_env(TOY, n_envs=2, seed=5, options=EnvOptions.parse({"multiagent": {"agent_id": True}})).reset()
    np.testing.assert_array_equal(first, again)
    with pytest.raises(UserError, match="pixels"):
        make_env(TOY, options=EnvOptions.parse({"pixels": True}))
    with pytest.raises(UserError, match="shaping"):
        make_env(TOY, reward_wrappers=[lambda env: env])
    with pytest.raises(UserError, match="subprocess=True with the multi-agent env"):  # it used to be ignored
        make_env(TOY, n_envs=2, subprocess=True)


def test_env_attributes_reach_each_slot() -> None:
    venv = make_env(TOY, n_envs=2, seed=0)
    venv.reset()
    assert venv.get_attr("label") == ["toy"] * 6
    venv.set_attr("label", "other", indices=[3])  # slot 3 is copy 1
    assert venv.get_attr("label") == ["toy"] * 3 + ["other"] * 3
    venv.step(np.zeros(6, np.int64))
    assert venv.env_method("describe", "t=", indices=[0, 4]) == ["t=toy:1", "t=other:1"]
    assert venv.env_is_wrapped(Toy) == [False] * 6


def test_render_gives_one_frame_per_copy() -> None:
    venv = make_env(TOY, n_envs=3, seed=0, render_mode="rgb_array")
    venv.reset()
    frames = venv.get_images()
    assert len(frames) == 3 and frames[0].shape == (4, 6, 3)


def test_action_masks_and_maskable_ppo_never_picks_a_masked_action() -> None:
    from sb3_contrib import MaskablePPO

    venv = make_env(TOY, n_envs=2, seed=0, options=EnvOptions(env_kwargs={"masked": True}))
    venv.reset()
    masks = venv.unwrapped.action_masks()  # step 0: only action 0 is legal
    np.testing.assert_array_equal(masks, np.tile([True, False, False], (6, 1)))
    venv.step(np.zeros(6, np.int64))
    venv.step(np.ones(6, np.int64))
    masks = np.stack(venv.env_method("action_masks"))
    assert masks[1].all() and masks[4].all()  # b is done: its slot allows everything
    np.testing.assert_array_equal(masks[0], [False, False, True])
    torch.manual_seed(0)
    model = MaskablePPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, seed=0)
    model.learn(384)  # Toy raises on any illegal action: finishing is the assertion
    assert model.num_timesteps >= 384


def test_simple_spread_and_pistonball_build_and_step() -> None:
    state = EnvOptions.parse({"multiagent": {"state": True}})
    spread = make_env("mpe2.simple_spread_v3", n_envs=2, seed=0, options=state)
    obs = spread.reset()
    assert obs["obs"].shape == (6, 18) and obs["state"].shape == (6, 54)
    dones = np.zeros(6, bool)
    for _ in range(25):  # max_cycles: every agent truncated at step 25
        _, rewards, dones, infos = spread.step(np.stack([spread.action_space.sample() for _ in range(6)]))
    assert dones.all() and all(i["TimeLimit.truncated"] for i in infos) and "joint_episode" in infos[3]
    piston = make_env("pettingzoo.butterfly.pistonball_v6", n_envs=1, seed=0,
                      options=EnvOptions.parse({"multiagent": {"resize": [32, 32], "grey": True}}))
    obs = piston.reset()
    assert obs.shape == (20, 32, 32, 1) and obs.dtype == np.uint8
    _, rewards, _, _ = piston.step(np.stack([piston.action_space.sample() for _ in range(20)]))
    assert rewards.shape == (20,) and np.isfinite(rewards).all()


def test_errors_name_the_problem() -> None:
    with pytest.raises(UserError, match="mpe2"):
        multiagent_source("pettingzoo.mpe.simple_spread_v3")
    with pytest.raises(UserError, match="parallel_env"):
        multiagent_source("tests.toy_envs")  # a module, but no PettingZoo env in it
    with pytest.raises(UserError, match="b"):
        make_env(f"{MA_TOY_FILE}:make_uneven")
    assert isinstance(ParallelVecEnv([Toy()]).observation_space.shape, tuple)


def test_custom_envs_are_checked_with_pettingzoo_api_test() -> None:
    from gymsuite.envs.check import check, require_fitting_shapes, require_valid

    assert check(TOY).ok and check(f"{MA_TOY_FILE}:make_toy_aec").ok
    require_fitting_shapes(TOY)
    with pytest.raises(UserError, match="API test") as err:
        require_valid(f"{MA_TOY_FILE}:make_bad_api")
    assert "obs" in str(err.value)  # the failed assertion is named
    assert not check(f"{MA_TOY_FILE}:make_lying").ok  # observations outside their space
    uneven = check(f"{MA_TOY_FILE}:make_uneven")
    assert uneven.ok and any("pad" in w for w in uneven.warnings)
    assert "action spaces" in check(f"{MA_TOY_FILE}:make_uneven_actions").problems[0]


def test_check_env_command_reports_a_multiagent_env(capsys: pytest.CaptureFixture[str]) -> None:
    from gymsuite.commands.check_env import main

    assert main([f"{MA_TOY_FILE}:make_bad_api", "--steps", "50"]) == 1
    assert "API test" in capsys.readouterr().out
    assert main(["mpe2.simple_spread_v3", "--steps", "50"]) == 0


def test_multiagent_options_travel_from_the_run_config_to_the_env() -> None:
    from gymsuite.agents.observation import env_options
    from gymsuite.agents.run.config import build_config

    cfg = build_config({"algo": "ppo", "env": TOY, "timesteps": 64}, overrides=["multiagent={agent_id: true}"])
    options = env_options(cfg.hyperparams)
    assert options.multiagent.agent_id and not options.given
    assert make_env(TOY, options=options).observation_space.shape == (5,)
    with pytest.raises(UserError, match="agent_id"):
        build_config({"algo": "ppo", "env": TOY, "timesteps": 64}, overrides=["multiagent={agentid: true}"])


def test_normalisation_learns_from_active_slots_only() -> None:
    """Agent b dies at step 2 of 4: its placeholder observations at step 3 must not move the statistics."""
    from stable_baselines3.common.running_mean_std import RunningMeanStd
    from stable_baselines3.common.vec_env import VecNormalize

    from gymsuite.envs.wrappers import ActiveVecNormalize

    norm = ActiveVecNormalize(make_env(TOY, n_envs=2, seed=0), norm_reward=True)
    plain = VecNormalize(make_env(TOY, n_envs=2, seed=0), norm_reward=True)
    expected = RunningMeanStd(shape=(2,))
    norm.reset()
    plain.reset()
    expected.update(norm.old_obs)  # the raw observations
    saw_inactive = False
    for _ in range(6):
        actions = np.zeros(norm.num_envs, dtype=np.int64)
        norm.step_async(actions)
        _, _, _, infos = norm.step_wait()
        plain.step(actions)
        active = np.array([not info["inactive"] for info in infos])
        saw_inactive |= not active.all()
        expected.update(norm.old_obs[active])
    assert saw_inactive
    np.testing.assert_allclose(norm.obs_rms.mean, expected.mean)
    np.testing.assert_allclose(norm.obs_rms.var, expected.var)
    assert not np.allclose(plain.obs_rms.mean, expected.mean)  # SB3's own counts the placeholders


def test_active_normalisation_equals_sb3_s_when_no_slot_is_inactive() -> None:
    from stable_baselines3.common.vec_env import VecNormalize

    from gymsuite.envs.wrappers import ActiveVecNormalize

    ours, theirs = (cls(make_env("CartPole-v1", n_envs=2, seed=3)) for cls in (ActiveVecNormalize, VecNormalize))
    np.testing.assert_array_equal(ours.reset(), theirs.reset())
    for step in range(40):
        actions = np.array([step % 2, (step // 3) % 2])
        a, b = ours.step(actions), theirs.step(actions)
        for x, y in zip(a[:3], b[:3], strict=True):
            np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(ours.ret_rms.var, theirs.ret_rms.var)
