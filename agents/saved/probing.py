"""Probing a trained agent: its backbone's features beside the env's true state, and a linear probe between them.

Rolls the agent's policy out in its own env (:func:`~gymsuite.agents.saved.loading.make_agent_env`),
records at every step the features its policy computes (the actor's features extractor after
SB3's ``preprocess_obs``) and the true state of the env (``env.unwrapped.state``, e.g. pixel
CartPole's position, velocity, angle and angular velocity), then scores a linear probe
(:func:`gymsuite.supervised.probe.probe`) per state variable on held-out episodes. The baseline is the
same probe on the features of a freshly initialised copy of the policy (same architecture,
SB3's initialisation), on the same observations.

Shapes: N samples (steps), F features, V state variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import preprocess_obs
from stable_baselines3.common.vec_env import VecEnv

from gymsuite.agents.saved.evaluation import warn_capped
from gymsuite.agents.saved.loading import LoadedAgent
from gymsuite.common.errors import UserError
from gymsuite.supervised.backbone import encoder_of
from gymsuite.supervised.probe import ProbeResult, probe

CARTPOLE_STATE = ("x", "x_dot", "theta", "theta_dot")  # gymnasium's CartPoleEnv.state, in its order
TEST_FRACTION = 0.3  # the share of the episodes held out to score the probe


@dataclass
class Rollout:
    """Observations as the model sees them ``(N, *O)``, true states ``(N, V)``, episode ids ``(N,)``, names ``V``."""

    observations: np.ndarray
    states: np.ndarray
    episodes: np.ndarray
    names: list[str]


def read_state(venv: VecEnv) -> np.ndarray:
    """The true state of the single env in ``venv``: ``env.unwrapped.state`` as a ``(V,)`` float array.

    Raises:
        UserError: the env has no ``state``, or it is not a 1-D array of finite numbers.
    """
    fix = ("probe an env whose env.unwrapped.state is a 1-D float array of its true state (as gymnasium's "
           "CartPole and gymsuite/PixelCartPole-v0 have)")
    try:
        state = venv.get_attr("unwrapped")[0].state
    except AttributeError as err:
        raise UserError("the environment exposes no true state to probe for (no env.unwrapped.state)", fix) from err
    try:
        array = np.asarray(state, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise UserError(f"the environment's state is not numeric: {state!r}", fix) from err
    if array.ndim != 1 or array.size == 0 or not np.isfinite(array).all():
        raise UserError(f"the environment's state must be a 1-D array of finite numbers, got {state!r}", fix)
    return array


def state_names(venv: VecEnv, env_id: str, size: int) -> list[str]:
    """Names of the V state variables: the env's ``state_names``, else CartPole's, else ``x0..x{V-1}``."""
    env = venv.get_attr("unwrapped")[0]
    names = getattr(env, "state_names", None)
    if names is not None and len(names) == size:
        return [str(n) for n in names]
    if size == len(CARTPOLE_STATE) and ("cartpole" in env_id.lower() or "CartPole" in type(env).__name__):
        return list(CARTPOLE_STATE)
    return [f"x{i}" for i in range(size)]


def collect(agent: LoadedAgent, venv: VecEnv, episodes: int, deterministic: bool = False) -> Rollout:
    """Play ``episodes`` episodes of ``agent`` in ``venv`` (one env) and keep each observation with its true state.

    After a reset or a step the env's state is the one its observation shows (an episode's end
    is auto-reset, so the new episode's first observation comes with the new state): both are
    read at the same moment. Sampled actions by default, which visit more varied states than greedy ones.
    """
    if venv.num_envs != 1:
        raise ValueError("collect reads the state of one env")
    if agent.model is None:
        raise UserError("probing needs a trained agent, not 'random'", "pass a run directory or a model .zip")
    obs, dones = venv.reset(), np.ones(1, dtype=bool)
    observations, states, ids = [], [], []
    finished, ends = 0, []
    while finished < episodes:
        assert isinstance(obs, np.ndarray), "probing takes array observations"
        observations.append(obs[0])
        states.append(read_state(venv))
        ids.append(finished)
        obs, _, dones, infos = venv.step(agent.act(obs, venv, deterministic, episode_start=dones))
        if dones[0]:
            ends.append({"capped": float(infos[0].get("episode_capped", 0))})
            finished += 1
    warn_capped(ends, "probing")
    if len({len(s) for s in states}) != 1:
        raise UserError("the environment's state changes length between steps", "keep env.unwrapped.state one size")
    names = state_names(venv, agent.env or "", len(states[0]))
    return Rollout(np.stack(observations), np.stack(states), np.asarray(ids), names)


def fresh_policy(policy: BasePolicy, seed: int) -> BasePolicy:
    """A new policy of the same class and constructor arguments, initialised by SB3 as at the start of training.

    A constructor that loads its encoder's weights (from a file named in its arguments) would give
    back the trained or pre-trained encoder: an encoder weight equal to the agent's (a non-constant
    tensor, which no two random draws share) means that, and then every layer of the fresh encoder
    is re-initialised with PyTorch's default (``reset_parameters``).
    """
    th.manual_seed(seed)
    fresh = type(policy)(**policy._get_constructor_parameters()).to("cpu")
    new, old = encoder_of(fresh), encoder_of(policy)
    if any(a.numel() > 1 and float(a.detach().std()) > 0 and th.equal(a, b.cpu())
           for a, b in zip(new.parameters(), old.parameters(), strict=False)):
        for module in new.modules():
            reset: Any = getattr(module, "reset_parameters", None)
            if module is not new and callable(reset):
                reset()
    return fresh


@th.no_grad()
def features(policy: BasePolicy, observations: np.ndarray, batch: int = 256) -> np.ndarray:
    """``(N, *O)`` observations -> ``(N, F)`` features of ``policy``'s encoder (after SB3's ``preprocess_obs``)."""
    encoder = encoder_of(policy)
    was_training = encoder.training
    encoder.eval()  # no augmentation or dropout while probing
    out = []
    try:
        for start in range(0, len(observations), batch):
            obs = th.as_tensor(observations[start:start + batch], device=policy.device)
            x = preprocess_obs(obs, policy.observation_space, normalize_images=policy.normalize_images)
            out.append(encoder(x).reshape(len(obs), -1).cpu().numpy())
    finally:
        encoder.train(was_training)
    return np.concatenate(out).astype(np.float64)


def probe_agent(agent: LoadedAgent, venv: VecEnv, episodes: int, seed: int = 0, random_init: bool = False,
                deterministic: bool = False, more_if_needed: bool = False) -> dict[str, Any]:
    """Roll out, probe the agent's features (and, with ``random_init``, a fresh encoder's) for the true state.

    Returns a JSON-ready mapping: ``variables`` (V names), ``r2`` (name -> held-out R^2 of the
    trained encoder), ``r2_random_init`` (the same for the fresh encoder, when asked),
    ``features`` (F), ``samples``/``train_samples``/``test_samples``, ``episodes``, ``alpha``.

    Args:
        more_if_needed: when ``episodes`` give fewer training steps than features, roll out the episodes
            :func:`episodes_needed` names and probe them all (a benchmark's choice), instead of refusing.

    Raises:
        UserError: fewer than 2 episodes, or fewer training steps than features (:func:`episodes_needed`).
    """
    if episodes < 2:
        raise UserError(f"--episodes must be at least 2 (the probe is scored on held-out episodes), got {episodes}")
    rollout = collect(agent, venv, episodes, deterministic)
    assert agent.model is not None
    policy = agent.model.policy
    trained_features = features(policy, rollout.observations)
    fit = probe(trained_features, rollout.states, rollout.episodes, TEST_FRACTION, seed=seed)
    needed = episodes_needed(fit.n_train, trained_features.shape[1], episodes, len(rollout.states))
    while needed and more_if_needed:  # a split that holds out the longer episodes may need another round
        more = collect(agent, venv, needed - episodes, deterministic)
        rollout = Rollout(np.concatenate([rollout.observations, more.observations]),
                          np.concatenate([rollout.states, more.states]),
                          np.concatenate([rollout.episodes, more.episodes + episodes]), rollout.names)
        episodes = needed
        trained_features = np.concatenate([trained_features, features(policy, more.observations)])
        fit = probe(trained_features, rollout.states, rollout.episodes, TEST_FRACTION, seed=seed)
        needed = episodes_needed(fit.n_train, trained_features.shape[1], episodes, len(rollout.states))
    if needed:
        _refuse_too_few_steps(fit.n_train, trained_features.shape[1], episodes, len(rollout.states), needed)
    trained = _scores(fit)
    result: dict[str, Any] = {"variables": rollout.names, "r2": dict(zip(rollout.names, trained.pop("r2"),
                                                                             strict=True)), **trained}
    result.update(episodes=episodes, samples=len(rollout.states), features=int(trained_features.shape[1]))
    if random_init:
        fresh = _scores(probe(features(fresh_policy(policy, seed), rollout.observations), rollout.states,
                              rollout.episodes, TEST_FRACTION, seed=seed))
        result["r2_random_init"] = dict(zip(rollout.names, fresh["r2"], strict=True))
        result["alpha_random_init"] = fresh["alpha"]
    return result


def episodes_needed(train_steps: int, n_features: int, episodes: int, steps: int) -> int:
    """0 when the probe trains on at least as many steps as there are features; else about how many episodes of
    this rollout's mean length would give it that many.

    With fewer training steps than features a linear map fits any training states exactly, so the held-out R^2
    rests on the ridge strength picked from a few episodes and swings from split to split (on pixel CartPole's
    512 features, four splits of about 200 training steps gave from -1.4 to 0.85): it is not a measurement of the
    features, and ``gymsuite probe`` refuses it.
    """
    if train_steps >= n_features:
        return 0
    length = steps / episodes
    needed = episodes + 1
    while (needed - max(1, round(TEST_FRACTION * needed))) * length < n_features:
        needed += 1
    return needed


def _refuse_too_few_steps(train_steps: int, n_features: int, episodes: int, steps: int, needed: int) -> None:
    raise UserError(
        f"the probe would fit {train_steps} training steps (of {steps} steps in {episodes} episodes; the others are "
        f"held out) with {n_features} features: with fewer steps than features a linear map fits the training "
        "states exactly, and its held-out R^2 swings from one split to another, measuring nothing",
        f"roll out more episodes, --episodes {needed} or more (about {steps / episodes:.0f} steps an episode here, "
        f"{1 - TEST_FRACTION:.0%} of the episodes train the probe), or probe an encoder with fewer features "
        "(a smaller features_dim)")


def _scores(result: ProbeResult) -> dict[str, Any]:
    r2 = [None if np.isnan(v) else round(float(v), 4) for v in result.r2]  # NaN (a constant variable) is JSON null
    return {"r2": r2, "alpha": result.alpha, "train_samples": result.n_train, "test_samples": result.n_test}
