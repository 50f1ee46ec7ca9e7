"""PolicyGradient: version handling, time-limit bootstrap, critic-free versions, save/load, registry, learning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium.wrappers import TimeLimit
from stable_baselines3 import A2C
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

from gymsuite.agents.algorithms import registry
from gymsuite.agents.algorithms.policy_gradient import PolicyGradient, parse_version
from gymsuite.agents.run.config import build_config
from gymsuite.supervised.trunk import SharedTrunk
from tests.toy_envs import Counter

torch.set_num_threads(1)



def counter_model(version: str, env_fn: object, gamma: float = 0.9) -> PolicyGradient:
    """A model whose critic is exactly V(obs) = obs (a linear value head on the raw observation)."""
    model = PolicyGradient("MlpPolicy", make_vec_env(env_fn, n_envs=2), version=version, n_steps=6, gamma=gamma,
                           policy_kwargs={"net_arch": {"pi": [8], "vf": []}}, seed=0, device="cpu")
    with torch.no_grad():
        model.policy.value_net.weight.fill_(1.0)
        model.policy.value_net.bias.zero_()
    return model


def collect(model: PolicyGradient) -> None:
    """One rollout of ``n_steps``, as ``learn`` would collect it."""
    _, callback = model._setup_learn(model.n_steps * model.n_envs, None)
    assert model.collect_rollouts(model.env, callback, model.rollout_buffer, model.n_steps)


# ----------------------------------------------------------------- versions
@pytest.mark.parametrize(("given", "expected"), [(4, "4"), (4.0, "4"), ("4", "4"), (0, "0"), ("3.5-TD", "3.5-td"),
                                                  ("3.5-mc", "3.5-mc"), (3, "3")])
def test_parse_version(given: object, expected: str) -> None:
    assert parse_version(given) == expected


@pytest.mark.parametrize("given", [3.5, "3.5"])
def test_bare_3_5_asks_for_mc_or_td(given: object) -> None:
    with pytest.raises(ValueError, match="3.5-mc.*3.5-td"):
        parse_version(given)


@pytest.mark.parametrize("given", [5, "five", True, None])
def test_unknown_version_lists_the_valid_ones(given: object) -> None:
    with pytest.raises(ValueError, match="3.5-td"):
        parse_version(given)


# ------------------------------------------------------- time-limit bootstrap
def test_truncation_target_includes_gamma_v_of_the_final_observation() -> None:
    # Time limit of 3 steps: obs 0, 1, 2 -> final obs 3, truncated; the env resets to 0.
    model = counter_model("3.5-td", lambda: TimeLimit(Counter(), max_episode_steps=3))
    collect(model)
    buffer = model.rollout_buffer
    obs = buffer.observations[:, 0, 0]
    np.testing.assert_array_equal(obs, [0, 1, 2, 0, 1, 2])
    # TD target r + gamma * V(s'): V(s') = obs + 1 everywhere, including V(final obs = 3) at the time limit.
    np.testing.assert_allclose(buffer.returns[:, 0], 1 + 0.9 * (obs + 1), rtol=1e-6)


def test_termination_target_has_no_bootstrap() -> None:
    model = counter_model("3.5-td", lambda: Counter(terminate_at=3))
    collect(model)
    obs = model.rollout_buffer.observations[:, 0, 0]
    np.testing.assert_allclose(model.rollout_buffer.returns[:, 0], np.where(obs == 2, 1.0, 1 + 0.9 * (obs + 1)),
                               rtol=1e-6)


def test_monte_carlo_return_continues_with_v_final_and_v_last() -> None:
    model = counter_model("3.5-mc", lambda: TimeLimit(Counter(), max_episode_steps=3), gamma=0.5)
    collect(model)
    # Each 3-step episode: G'_2 = 1 + .5 * V(3) = 2.5, G'_1 = 2.25, G'_0 = 2.125; the second one is cut
    # by the rollout and the time limit at the same step, so it also ends with V(final obs) = 3.
    np.testing.assert_allclose(model.rollout_buffer.returns[:, 0], [2.125, 2.25, 2.5] * 2, rtol=1e-6)
    np.testing.assert_allclose(model.rollout_buffer.advantages[:, 0], [2.125, 1.25, 0.5] * 2, rtol=1e-6)


def test_version_4_with_lambda_1_is_sb3_a2c() -> None:
    """Same seed and settings: identical weights after 25 updates on Pendulum (Box actions), whose
    episodes all end at the 16-step time limit, where SB3 bootstraps by adding gamma * V(final obs)
    to the reward and we by next_values."""
    kwargs = {"n_steps": 8, "gamma": 0.9, "gae_lambda": 1.0, "learning_rate": 1e-3, "ent_coef": 0.01,
              "seed": 3, "device": "cpu"}

    def env() -> object:
        return make_vec_env("Pendulum-v1", n_envs=2, seed=0, env_kwargs={"max_episode_steps": 16})

    a2c = A2C("MlpPolicy", env(), use_rms_prop=False, **kwargs).learn(400)  # learn each right after building:
    pg = PolicyGradient("MlpPolicy", env(), version=4, **kwargs).learn(400)  # the torch RNG is global
    assert pg._n_updates == 25
    for ours, theirs in zip(pg.policy.parameters(), a2c.policy.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    assert not np.allclose(a2c.policy.log_std.detach().numpy(), 0.0)  # training did move the weights


# ------------------------------------------------------------ critic-free versions
@pytest.mark.parametrize(("version", "trained"), [("0", False), ("3", False), ("3.5-mc", True), ("4", True)])
def test_only_critic_versions_train_the_value_head(version: str, trained: bool) -> None:
    model = PolicyGradient("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), version=version, n_steps=16,
                           seed=0, device="cpu")
    before = [p.detach().clone() for p in model.policy.value_net.parameters()]
    actor_before = model.policy.action_net.weight.detach().clone()
    model.learn(64)
    after = list(model.policy.value_net.parameters())
    assert any(not torch.equal(b, a) for b, a in zip(before, after, strict=True)) == trained
    assert not torch.equal(actor_before, model.policy.action_net.weight)


# ------------------------------------------------------------ options
def test_shared_trunk_maps_net_arch_onto_one_extractor() -> None:
    model = PolicyGradient("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), share_trunk=True,
                           policy_kwargs={"net_arch": [32, 16]}, n_steps=8, seed=0, device="cpu")
    policy = model.policy
    assert isinstance(policy.features_extractor, SharedTrunk)
    assert policy.pi_features_extractor is policy.vf_features_extractor
    assert policy.action_net.in_features == policy.value_net.in_features == 16
    model.learn(32)


def test_parameter_noise_perturbs_a_copy_of_the_actor_only() -> None:
    model = PolicyGradient("MlpPolicy", make_vec_env("CartPole-v1", n_envs=2, seed=0), param_noise_std=0.1,
                           n_steps=8, seed=0, device="cpu")
    weights = {k: v.clone() for k, v in model.policy.state_dict().items()}
    noisy = dict(model._acting_policy().named_parameters())
    for name, param in model.policy.named_parameters():
        changed = not torch.equal(noisy[name], param)
        assert changed == (not name.startswith(("value_net", "mlp_extractor.value_net", "log_std"))), name
    assert all(torch.equal(weights[k], v) for k, v in model.policy.state_dict().items())
    model.learn(32)


def test_box_actions_gradient_clipping_off_and_normalized_advantages() -> None:
    model = PolicyGradient("MlpPolicy", make_vec_env("Pendulum-v1", n_envs=2, seed=0), version="3.5-td",
                           max_grad_norm=None, normalize_advantage=True, param_noise_std=0.05, n_steps=16, seed=0,
                           device="cpu").learn(128)
    actions, _ = model.predict(np.zeros((4, 3), np.float32))
    assert actions.shape == (4, 1) and np.all(np.abs(actions) <= 2.0)


def test_save_load_keeps_version_options_and_predictions(tmp_path: Path) -> None:
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    model = PolicyGradient("MlpPolicy", env, version="3.5-td", share_trunk=True, param_noise_std=0.1, n_steps=8,
                           seed=0, device="cpu").learn(64)
    model.save(tmp_path / "model.zip")
    loaded = PolicyGradient.load(tmp_path / "model.zip", device="cpu")
    assert (loaded.version, loaded.share_trunk, loaded.param_noise_std) == ("3.5-td", True, 0.1)
    assert isinstance(loaded.policy.features_extractor, SharedTrunk)
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    loaded.set_env(env)
    loaded.learn(32)  # and it keeps training


# ------------------------------------------------------------ registry
def test_registry_names() -> None:
    names = registry.available()
    for name in ("pg", "pg0", "pg1", "pg2", "pg3", "pg3.5-mc", "pg3.5-td", "pg4"):
        assert name in names
    assert {"version", "share_trunk", "param_noise_std", "normalize_advantage"} <= registry.get("pg").hyperparam_names()


def test_short_names_fix_the_version() -> None:
    env = make_vec_env("CartPole-v1", n_envs=1, seed=0)
    assert registry.get("pg3.5-td").make_model("MlpPolicy", env, {"n_steps": 4}).version == "3.5-td"
    assert registry.get("pg4").make_model("MlpPolicy", env, {"version": 4}).version == "4"
    assert registry.get("pg").make_model("MlpPolicy", env, {"version": 2}).version == "2"
    with pytest.raises(ValueError, match="--algo pg"):
        registry.get("pg4").make_model("MlpPolicy", env, {"version": "3"})


def test_a_short_name_takes_pg_s_defaults_space_and_window_backbones() -> None:
    # pg4 on Acrobot used to train 1 env with the class's defaults where pg --hyperparams version=4 took pg.yml's entry
    for preset in ("zoo", "gymsuite"):
        for env in ("CartPole-v1", "Acrobot-v1", "MountainCar-v0"):
            pg = build_config({"algo": "pg", "env": env, "preset": preset})
            for name in ("pg0", "pg3.5-td", "pg4"):
                short = build_config({"algo": name, "env": env, "preset": preset})
                assert short.algo == name and short.hyperparams == pg.hyperparams
    assert build_config({"algo": "pg4", "env": "Acrobot-v1", "preset": "zoo"}).hyperparams["n_envs"] == 8  # pg.yml's
    stacked = build_config({"algo": "pg2", "env": "CartPole-v1"}, overrides=["backbone=framestack"])
    assert stacked.hyperparams["backbone"] == "framestack"
    assert registry.get("pg4").space == registry.get("pg").space is not None  # gymsuite tune --algo pg4
    assert "pg" in registry.window_names() and "pg4" not in registry.window_names()  # messages name pg once


# ------------------------------------------------------------ learning
def test_version_4_learns_cartpole() -> None:
    env = make_vec_env("CartPole-v1", n_envs=8, seed=0)
    model = PolicyGradient("MlpPolicy", env, version="4", n_steps=16, gae_lambda=0.95, learning_rate=2e-3, seed=0,
                           device="cpu")

    def score() -> float:  # the stochastic policy that collects the data, on fixed evaluation seeds
        return evaluate_policy(model, make_vec_env("CartPole-v1", n_envs=4, seed=100), n_eval_episodes=12,
                               deterministic=False)[0]

    before = score()
    model.learn(60_000)
    after = score()
    assert before < 40 and after > 100 and after > 4 * before, (before, after)


def test_learn_restores_distribution_checks_and_reports_a_non_finite_loss() -> None:
    model = counter_model("4", lambda: Counter())
    before = torch.distributions.Distribution._validate_args
    model.learn(12)
    assert torch.distributions.Distribution._validate_args == before
    with torch.no_grad():
        model.policy.action_net.weight.fill_(float("nan"))
    model.policy.optimizer.zero_grad()
    with pytest.raises((FloatingPointError, RuntimeError), match="loss became nan|probability tensor"):
        model.learn(12)
    assert torch.distributions.Distribution._validate_args == before


def test_a_nan_advantage_is_reported_with_the_fix() -> None:
    model = counter_model("4", lambda: Counter())
    collect(model)
    model.rollout_buffer.advantages[0, 0] = np.nan
    with pytest.raises(FloatingPointError, match="loss became nan at update 1.*learning_rate"):
        model.train()


def test_every_shipped_pg_entry_serves_every_version_so_leaves_advantages_unnormalised() -> None:
    # normalize_advantage would subtract a batch mean from versions 1 and 2, i.e. turn them into version 3
    for preset in ("zoo", "gymsuite"):
        for env in ("CartPole-v1", "Acrobot-v1", "Pendulum-v1"):
            hyper = build_config({"algo": "pg", "env": env, "preset": preset}).hyperparams
            assert not hyper.get("normalize_advantage", False) and "version" not in hyper
