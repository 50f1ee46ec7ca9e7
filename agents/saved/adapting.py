"""Test-time adaptation (``gymsuite adapt``): fine-tune a saved agent's encoder on unlabelled target-domain frames.

    gymsuite adapt runs/pix --env gymsuite/PixelCartPoleRecolored-v0 --steps 4096 --out runs/pix-adapted

The course's test-time training (chapter 9; Sun et al. 2020): the agent meets a new visual domain without rewards.
Its encoder (the policy's features extractor) was shaped by RL and, ideally, by an auxiliary reconstruction loss
(``aux=recon``, :mod:`gymsuite.agents.run.auxiliary`), a task that needs no labels. Here the agent plays ``steps``
steps in the target domain (its greedy actions), and the encoder alone is fine-tuned on those frames by that same
reconstruction loss; the policy and value heads stay frozen, so the adapted features must keep meaning what the
heads read. The decoder is the run's own (``aux.pt``, when it trained with ``aux=recon`` or ``denoise``); a run
without one gets a fresh decoder, first fitted for ``updates`` steps with the encoder frozen so that its first
gradients into the encoder are not noise.

The target domain is an env spec with the run's observation space, or the run's env with parameters set
(:mod:`gymsuite.envs.params`, ``--param background=0.55``); :func:`target_env` builds it (training's
``domain_adversarial`` builds its target envs with it too). The target return is measured before and after, on the
same episode seeds; the adapted model goes to a new run directory (``model.zip`` with the new encoder,
``config.yaml`` with the target env spec when one was given, ``adapt.json`` with the figures), which every
command takes.

Shapes: B batch, O observation (channels first, as the policy sees it), F features, T*N collected frames.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.preprocessing import is_image_space, preprocess_obs
from stable_baselines3.common.torch_layers import FlattenExtractor
from stable_baselines3.common.vec_env import VecEnv

from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.files.safeload import keep_description
from gymsuite.agents.saved.evaluation import run_episodes
from gymsuite.agents.saved.loading import LoadedAgent, make_agent_env
from gymsuite.common.datafiles import read_torch
from gymsuite.common.errors import UserError
from gymsuite.common.files import read_yaml, write_json, write_yaml
from gymsuite.envs.factory import Wrapper, make_one
from gymsuite.envs.params import EnvParam, SetParams, find_param
from gymsuite.supervised.autoencoder import AutoEncoderLoss, make_decoder
from gymsuite.supervised.backbone import encoder_of
from gymsuite.supervised.mlp import MlpBackbone

IMAGE_BACKBONES = "backbone=small_cnn, nature_cnn, impala_cnn or attention"


@dataclass(frozen=True)
class TargetDomain:
    """The target domain: an env spec (None: the agent's own env), with parameters of it set (name -> value)."""

    env: str | None = None
    params: Mapping[str, Any] | None = None

    def describe(self) -> str:
        values = ", ".join(f"{k}={v}" for k, v in (self.params or {}).items())
        return " with ".join(x for x in (self.env, values) if x) or "the agent's own env"


def check_image_encoder(model: BaseAlgorithm, what: str) -> None:
    """Refuse a policy that does not see images through an image backbone (a CNN or attention)."""
    encoder = encoder_of(model.policy)
    space = model.policy.observation_space
    if not is_image_space(space) or isinstance(encoder, FlattenExtractor | MlpBackbone):
        raise UserError(f"{what} needs image observations and an image backbone, but this policy sees {space} "
                        f"through {type(encoder).__name__}",
                        f"use an agent trained on an image env (e.g. gymsuite/PixelCartPole-v0) with {IMAGE_BACKBONES}")


def _setting(values: dict[str, tuple[EnvParam, float]]) -> Wrapper:
    def wrap(env: gym.Env) -> gym.Env:
        return SetParams(env, values)

    return wrap


def target_env(agent: LoadedAgent, target: TargetDomain, n_envs: int, seed: int, space: gym.Space,
               what: str) -> VecEnv:
    """``n_envs`` envs of ``target`` as ``agent``'s policy sees them (its run's observation pipeline, images
    channels first).

    Raises:
        UserError: a parameter the env lacks (listing those it has), a value that breaks it, or an observation space
            other than ``space`` (the policy's).
    """
    acting = dataclasses.replace(agent, env=target.env or agent.env, model=None, memory=None)
    if acting.env is None:
        raise UserError("no environment known for this model", "pass --env ENV")
    wrappers: list[Wrapper] = []
    kwargs: dict[str, Any] = {}
    if target.params:
        probe = make_one(acting.env, env_kwargs=dict(acting.env_options.env_kwargs))
        probe.close()
        values = {}
        for name, value in target.params.items():
            param = find_param(probe, str(name), what)
            values[str(name)] = (param, param.value(value, f"{what} {name}"))
        kwargs = {p.kwarg: int(v) if p.integer else v for p, v in values.values() if p.kwarg is not None}
        wrappers.append(_setting(values))
    venv = make_agent_env(acting, seed=seed, n_envs=n_envs, wrappers=wrappers, env_kwargs=kwargs)
    if venv.observation_space != space:
        venv.close()
        raise UserError(f"the target domain {target.describe()} has the observation space {venv.observation_space}, "
                        f"but the policy sees {space}",
                        "choose a target domain with the source's observations (same size, channels and range)")
    return venv


def collect(agent: LoadedAgent, venv: VecEnv, steps: int) -> np.ndarray:
    """``steps`` observations ``(steps, *O)`` as the policy sees them, the agent acting greedily (envs reset as
    their episodes end)."""
    obs = venv.reset()
    starts = np.ones(venv.num_envs, dtype=bool)
    seen: list[np.ndarray] = []
    while sum(len(x) for x in seen) < steps:
        assert isinstance(obs, np.ndarray)
        seen.append(obs)
        actions = agent.act(obs, venv, True, episode_start=starts)
        obs, _, starts, _ = venv.step(actions)
    return np.concatenate(seen)[:steps]


def _returns(agent: LoadedAgent, target: TargetDomain, episodes: int, seed: int, space: gym.Space) -> list[float]:
    venv = target_env(agent, target, min(4, episodes), seed, space, "adapt")
    try:
        return [float(e["r"]) for e in run_episodes(agent, venv, episodes, True)]
    finally:
        venv.close()


def _decoder(agent: LoadedAgent, space: gym.Space, features: int, device: torch.device) -> tuple[torch.nn.Module, bool]:
    """The run's ``aux.pt`` decoder when it has one, else a fresh one; and whether it was the run's."""
    decoder = make_decoder(space, features).to(device)
    run = agent.run
    if run is not None and run.aux.is_file():
        data = read_torch(run.aux, "the run's auxiliary decoder", "delete aux.pt to adapt with a fresh decoder",
                          map_location=device)
        if isinstance(data, dict) and data.get("aux") in ("recon", "denoise") and "decoder" in data:
            decoder.load_state_dict(data["decoder"])
            return decoder, True
    return decoder, False


def fine_tune(model: BaseAlgorithm, frames: np.ndarray, updates: int, batch_size: int, learning_rate: float,
              fit_decoder: bool, decoder: torch.nn.Module, seed: int) -> dict[str, float]:
    """Fine-tune ``model``'s encoder (only) by reconstruction of ``frames`` ``(T*N, *O)``; the losses before and
    after. ``fit_decoder``: first ``updates`` steps of the decoder alone (the encoder frozen)."""
    space, policy = model.policy.observation_space, model.policy
    encoder = encoder_of(policy)
    loss_fn = AutoEncoderLoss("recon", 1e-6, "gaussian", 0.0)
    rng = np.random.default_rng(seed)

    def batch() -> torch.Tensor:
        x = preprocess_obs(torch.as_tensor(frames[rng.integers(0, len(frames), batch_size)], device=model.device),
                           space, normalize_images=policy.normalize_images)
        assert isinstance(x, torch.Tensor)
        return x.float()

    def evaluate() -> float:
        with torch.no_grad():
            return float(loss_fn(encoder, decoder, batch(), space)["recon_loss"])

    policy.set_training_mode(False)  # no augmentation, no dropout: the encoder as it acts
    before = evaluate()
    phases = ([[*decoder.parameters()]] if fit_decoder else []) + [[*encoder.parameters(), *decoder.parameters()]]
    for params in phases:
        optimizer = torch.optim.Adam(params, lr=learning_rate)
        for _ in range(updates):
            optimizer.zero_grad()
            with torch.enable_grad():
                loss_fn(encoder, decoder, batch(), space)["loss"].backward()
            optimizer.step()
    for p in policy.parameters():
        p.grad = None
    return {"recon_loss_before": before, "recon_loss_after": evaluate()}


def _policy_state(model: BaseAlgorithm) -> dict[str, torch.Tensor]:
    """A copy of every tensor of the policy's state dict."""
    return {k: v.detach().clone() for k, v in model.policy.state_dict().items()}


def adapt(agent: LoadedAgent, target: TargetDomain, out: Path, steps: int = 4096, updates: int = 500,
          batch_size: int = 64, learning_rate: float = 1e-4, episodes: int = 10, seed: int = 0) -> dict[str, Any]:
    """Adapt ``agent``'s encoder to ``target`` and write the adapted run to ``out`` (module docstring).

    Returns:
        ``target``, ``steps``, ``updates``, ``decoder`` (``run`` or ``fresh``), ``before``/``after`` (the target's
        mean return and per-episode ``returns``, same episode seeds), ``recon_loss_before``/``_after``,
        ``changed`` (the policy's parameter tensors that changed: the encoder's only), ``out``.
    """
    model = agent.model
    if model is None:
        raise UserError("the random agent has no encoder to adapt", "adapt a trained run")
    if agent.recurrent:
        raise UserError("adapt does not support recurrent (backbone=lstm) agents", "adapt a feed-forward run")
    check_image_encoder(model, "adapt")
    if out.exists():
        raise UserError(f"{out} already exists", "choose another --out, or delete it")
    space = model.policy.observation_space
    venv = target_env(agent, target, 4, seed, space, "adapt")  # refuses a foreign target before anything runs
    try:
        frames = collect(agent, venv, steps)
    finally:
        venv.close()
    before = _returns(agent, target, episodes, seed + 10_000, space)
    weights = _policy_state(model)
    decoder, own = _decoder(agent, space, int(encoder_of(model.policy).features_dim), model.device)
    losses = fine_tune(model, frames, updates, batch_size, learning_rate, not own, decoder, seed)
    after = _returns(agent, target, episodes, seed + 10_000, space)
    changed = sorted(k for k, v in model.policy.state_dict().items() if not torch.equal(v, weights[k]))
    result = {"target": target.describe(), "target_env": target.env, "params": dict(target.params or {}),
              "steps": steps, "updates": updates, "decoder": "run" if own else "fresh",
              "before": {"mean_return": float(np.mean(before)), "returns": before},
              "after": {"mean_return": float(np.mean(after)), "returns": after}, **losses,
              "changed": changed, "source": str(agent.run.root) if agent.run else None, "out": str(out)}
    try:
        _write(agent, model, target, out, result)
    finally:
        model.policy.load_state_dict(weights)  # the caller's agent is left as it was; the adapted one is in out
    return result


def _write(agent: LoadedAgent, model: BaseAlgorithm, target: TargetDomain, out: Path, result: dict[str, Any]) -> None:
    """The adapted run, whole or not at all: written beside ``out`` and renamed into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        run = RunDir(staging)
        if agent.run is not None and agent.run.config.is_file():
            config = read_yaml(agent.run.config)
            if target.env is not None:
                config["env"] = target.env
            write_yaml(run.config, config)
            if agent.run.vecnormalize.is_file():
                shutil.copy2(agent.run.vecnormalize, run.vecnormalize)
        keep_description(model, agent.algo)  # loadable without unpickling, naming its algorithm
        model.save(run.model)
        write_json(staging / "adapt.json", result)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def parse_params(texts: Sequence[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs (``--param background=0.55``) as a mapping (values checked against the env later)."""
    out: dict[str, str] = {}
    for text in texts:
        name, eq, value = text.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise UserError(f"bad --param {text!r}", "write --param NAME=VALUE, e.g. --param background=0.55")
        out[name.strip()] = value.strip()
    return out


__all__ = ["TargetDomain", "adapt", "check_image_encoder", "collect", "fine_tune", "parse_params",
           "target_env"]
