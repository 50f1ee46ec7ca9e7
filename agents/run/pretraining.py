"""``gymsuite pretrain``: frames from an env -> an auto-encoder trained on them -> an encoder file.

Every check of the request runs before the env steps and nothing is written until the
encoder is trained (the file is written atomically), so a bad request leaves no file.
The loop itself is :func:`gymsuite.supervised.pretrain.pretrain`; the frames
:func:`gymsuite.agents.saved.frames.collect_frames`.

Shapes: N frames, O observation.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from gymsuite.agents.run.config import parse_assignments
from gymsuite.agents.saved.frames import collect_frames
from gymsuite.agents.saved.loading import LoadedAgent, load_agent, make_agent_env
from gymsuite.common.errors import UserError, closest_hint
from gymsuite.supervised import backbones
from gymsuite.supervised.autoencoder import AUX_LOSSES, AutoEncoderLoss, make_decoder
from gymsuite.supervised.backbone import Backbone
from gymsuite.supervised.encoderfile import RUN_ONLY_KWARGS, save_encoder
from gymsuite.supervised.pretrain import PretrainSettings, pretrain


@dataclass
class PretrainRequest:
    """What ``gymsuite pretrain`` was asked (its flags)."""

    env: str | None
    frames: int
    out: Path
    backbone: str | None = None
    backbone_kwargs: list[str] = field(default_factory=list)
    agent: str | None = None
    aux: str = "recon"
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0
    trust_pickle: bool = False


def _check(req: PretrainRequest) -> dict[str, Any]:
    """The backbone kwargs of ``req``, after a :class:`UserError` for any bad flag."""
    for flag, value in (("--frames", req.frames), ("--epochs", req.epochs), ("--batch-size", req.batch_size)):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    if req.seed < 0:
        raise UserError(f"--seed must be at least 0, got {req.seed}")
    if not (0 < req.learning_rate < math.inf):
        raise UserError(f"--learning-rate must be a finite positive number, got {req.learning_rate}")
    if req.aux not in AUX_LOSSES:
        raise UserError(f"unknown auxiliary loss {req.aux!r}", closest_hint(req.aux, AUX_LOSSES, "use"))
    if req.out.is_dir():
        raise UserError(f"--out {req.out} is a directory", "name the encoder file to write, e.g. encoder.pt")
    if req.agent is None and req.env is None:
        raise UserError("no environment given", "pass --env ENV (or --agent RUN_DIR)")
    kwargs = parse_assignments(req.backbone_kwargs)
    frozen = RUN_ONLY_KWARGS & kwargs.keys()
    if frozen:
        raise UserError(f"{', '.join(sorted(frozen))} is a run's choice, not the encoder's",
                        "leave it out of --backbone-kwargs; use --hyperparams freeze_backbone=true when training")
    if req.backbone is not None:
        backbones.get(req.backbone)  # an unknown name is refused with the closest one
    return kwargs


def build_encoder(name: str, kwargs: dict[str, Any], space: Any) -> Backbone:
    """``BACKBONES[name](space, **kwargs)``; an argument the backbone does not take is a :class:`UserError` listing
    those it does (as ``train`` says it), a bad value one naming the backbone's complaint."""
    backbones.check_kwargs(name, kwargs)
    try:
        return backbones.get(name)(space, **kwargs)
    except TypeError as err:
        raise UserError(f"bad --backbone-kwargs for {name}: {err}", "pass the backbone's own arguments") from err


@dataclass
class PretrainResult:
    """What :func:`run_pretraining` made: the file, the backbone, its weight count, each epoch's mean loss."""

    out: Path
    backbone: str
    parameters: int
    env: str | None
    losses: list[float]


def run_pretraining(req: PretrainRequest) -> PretrainResult:
    """Collect ``req.frames`` frames, train the auto-encoder, write the encoder file."""
    kwargs = _check(req)
    if req.agent is not None:
        agent = load_agent(req.agent, env=req.env, trust_pickle=req.trust_pickle)
    else:
        agent = LoadedAgent(None, "random", req.env)
    venv = make_agent_env(agent, seed=req.seed, n_envs=1)
    try:
        space = venv.observation_space
        name = req.backbone or backbones.default_for(space)  # the backbone train would choose for this space
        encoder = build_encoder(name, kwargs, space)
        make_decoder(space, encoder.features_dim)  # refuses a space it cannot rebuild, before collecting
        with tqdm(total=req.frames, unit="frame", desc="collecting", file=sys.stderr) as bar:
            frames = collect_frames(agent, venv, req.frames, progress=bar.update)
    finally:
        venv.close()
    settings = PretrainSettings(req.epochs, req.batch_size, req.learning_rate, req.seed)
    with tqdm(total=req.frames * req.epochs, unit="frame", desc=f"training ({req.aux})", file=sys.stderr) as bar:
        history = pretrain(encoder, frames, space, AutoEncoderLoss(req.aux), settings,
                           progress=lambda n, loss: (bar.update(n), bar.set_postfix(loss=f"{loss:.4f}", refresh=False)))
    save_encoder(req.out, name, kwargs, space, encoder.state_dict())
    return PretrainResult(req.out, name, encoder.parameter_count, agent.env, history)
