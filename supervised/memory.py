"""Window memory backbones: the policy sees the last K observations at once (frame stacking, causal self-attention).

The env gives the window (the run's ``history: K`` hyperparameter, gymnasium's
``FrameStackObservation``, zeros before the episode's first step, oldest first), so the
policy stays a plain feed-forward SB3 policy: nothing is carried between steps, and
save/load, evaluation and every SB3 algorithm work as for any backbone. The training
pipeline sets ``history`` from the backbone's ``context`` (:func:`context_of`).

* :class:`FrameStack` (``framestack``, the baseline): the K steps' features concatenated, then an MLP.
* :class:`CausalTransformer` (``transformer``): a per-step embedding plus a learned position
  embedding, pre-norm causal self-attention blocks (position t attends to positions <= t; the
  course's self-attention and Transformer chapters), optionally with GTrXL's GRU-type gates in place
  of the residual additions (Parisotto et al. 2019); the features are the last position's output.

Each step is a vector (flattened to O) or a uint8 image (channels first or last), which a
per-step image encoder (``encoder=NAME``, default :func:`gymsuite.supervised.images.default_for` of
one frame) turns into F features. SB3 treats a 4-axis uint8 ``Box`` as a vector (no scaling, no
transpose), so the window backbones scale uint8 windows by 1/255 and put channels first themselves.

Shapes: B batch, K context (window length), O one step's observation (flattened), H/W/C one
frame, F per-step features, D ``d_model``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from gymsuite.common.errors import UserError
from gymsuite.supervised.backbone import Backbone, positive_int
from gymsuite.supervised.images import default_for, image_backbone, is_image
from gymsuite.supervised.mlp import mlp

WINDOW_BACKBONES = ("framestack", "transformer")


def context_of(name: str | None, kwargs: Mapping[str, Any] | None) -> int | None:
    """K of backbone ``name`` with ``backbone_kwargs`` ``kwargs`` (its ``context``, else the class default);
    None for a backbone that reads no window. The value is checked where it is used."""
    if name not in WINDOW_BACKBONES:
        return None
    if kwargs and "context" in kwargs:
        return kwargs["context"]
    cls = FrameStack if name == "framestack" else CausalTransformer
    return int(inspect.signature(cls.__init__).parameters["context"].default)


class StepEncoder(nn.Module):
    """One step's features: ``(B, K, *step)`` -> ``(B, K, F)``.

    Vectors are flattened (F = O); images (uint8 values, as SB3 passes a 4-axis Box: 0-255 floats)
    are scaled to ``[0, 1]`` and go through ``image`` (a backbone that puts channels first itself).
    """

    def __init__(self, image: Backbone | None, step_width: int) -> None:
        super().__init__()
        self.image = image
        self.width = image.features_dim if image is not None else step_width

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        b, k = window.shape[:2]
        if self.image is None:
            return window.reshape(b, k, -1)
        frames = window.reshape(b * k, *window.shape[2:]) / 255.0  # (B K, H, W, C) or (B K, C, H, W)
        return self.image(frames).reshape(b, k, -1)


def _window(observation_space: spaces.Space, name: str, context: int, encoder: str | None) -> StepEncoder:
    """Check that ``observation_space`` is a window of ``context`` steps; the per-step encoder for it."""
    context = positive_int(name, "context", context)
    if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) < 2:
        raise UserError(f"the {name} backbone reads a window of observations (K, *obs), got {observation_space}",
                        f"train through gymsuite (it sets history={context} from context), or set history={context}")
    if observation_space.shape[0] != context:
        raise UserError(f"the {name} backbone's context is {context} but the observation holds "
                        f"{observation_space.shape[0]} steps: history and context differ",
                        f"leave history unset (the backbone sets it) or set history={context}")
    step_shape = observation_space.shape[1:]
    frame = spaces.Box(0, 255, step_shape, np.uint8) if observation_space.dtype == np.uint8 else None
    if frame is not None and is_image(frame):
        encoder_name = encoder or default_for(frame)
        if encoder_name in WINDOW_BACKBONES or encoder_name == "mlp":
            raise UserError(f"the {name} backbone's encoder encodes one image, {encoder_name!r} cannot",
                            f"use an image backbone, e.g. encoder={default_for(frame)}")
        return StepEncoder(image_backbone(encoder_name)(frame), 0)  # type: ignore[call-arg]
    if len(step_shape) > 2:
        raise UserError(f"the {name} backbone takes windows of vectors (K, O) or of uint8 images "
                        f"(K, H, W, C) / (K, C, H, W), got {observation_space}",
                        "give image observations as uint8 0-255")
    if encoder not in (None, "mlp"):
        raise UserError(f"the {name} backbone's encoder is for image windows, and this one holds vectors "
                        f"{observation_space.shape}", "leave encoder unset")
    return StepEncoder(None, int(np.prod(step_shape)))


def _refuse_augment(name: str, augment: str | None) -> None:
    if augment is not None:
        raise UserError(f"the {name} backbone does not augment its window (augment={augment})", "leave augment unset")


class FrameStack(Backbone):
    """Frame stacking: ``(B, K, *step)`` -> per-step features ``(B, K, F)`` -> concatenated ``(B, K F)`` -> MLP.

    Args:
        observation_space: a window ``Box`` ``(K, O)`` of vectors or ``(K, H, W, C)`` / ``(K, C, H, W)``
            of uint8 images.
        context: K, the steps the policy sees (default 4).
        net_arch: the MLP's widths after the concatenation (ReLU after each); the last is the features' width.
            Empty (the default): no MLP here, the concatenation ``(B, K F)`` is the features and the policy's own
            ``net_arch`` does the rest (the cheapest, and SB3's ``VecFrameStack`` + ``MlpPolicy``).
        encoder: the per-step image encoder's backbone name (default :func:`gymsuite.supervised.images.default_for`).
        freeze: see :class:`~gymsuite.supervised.backbone.Backbone`. augment: refused (windows are not shifted).
    """

    def __init__(self, observation_space: spaces.Space, context: int = 4, net_arch: Sequence[int] = (),
                 encoder: str | None = None, freeze: bool = False, augment: str | None = None) -> None:
        _refuse_augment("framestack", augment)
        steps = _window(observation_space, "framestack", context, encoder)
        if isinstance(net_arch, str) or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0
                                                for w in net_arch):
            raise UserError(f"the framestack backbone needs net_arch as a list of positive widths, got {net_arch!r}",
                            "e.g. net_arch=[64, 64], or [] for the concatenation alone")
        head = mlp([context * steps.width, *net_arch], activate_last=True) if net_arch else nn.Sequential()
        trunk = nn.Sequential(steps, nn.Flatten(), *head)
        super().__init__(observation_space, trunk, freeze=freeze)
        self.context = context


class GruGate(nn.Module):
    """GTrXL's GRU-type gate ``g(x, y)`` in place of the residual ``x + y`` (Parisotto et al. 2019, eq. 8).

    ``r = s(W_r y + U_r x)``, ``z = s(W_z y + U_z x - b_g)``, ``h = tanh(W_g y + U_g (r * x))``,
    ``g = (1 - z) * x + z * h``: with ``b_g = 2`` the gate starts near the identity (z ~ 0.12).
    ``(B, K, D), (B, K, D) -> (B, K, D)``.
    """

    def __init__(self, d_model: int, bias: float = 2.0) -> None:
        super().__init__()
        self.w = nn.Linear(d_model, 3 * d_model, bias=False)  # W_r, W_z, W_g of y
        self.u = nn.Linear(d_model, 2 * d_model, bias=False)  # U_r, U_z of x
        self.u_g = nn.Linear(d_model, d_model, bias=False)
        self.bias = nn.Parameter(torch.full((d_model,), bias))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        wr, wz, wg = self.w(y).chunk(3, dim=-1)
        ur, uz = self.u(x).chunk(2, dim=-1)
        r = torch.sigmoid(wr + ur)
        z = torch.sigmoid(wz + uz - self.bias)
        h = torch.tanh(wg + self.u_g(r * x))
        return (1 - z) * x + z * h


class CausalBlock(nn.Module):
    """One pre-norm Transformer block with a causal mask: ``(B, K, D)`` -> ``(B, K, D)``.

    ``x + attn(ln(x))`` then ``x + ffn(ln(x))``; gated (GTrXL): ``g(x, relu(attn(ln(x))))`` and
    ``g(x, relu(ffn(ln(x))))`` with :class:`GruGate`. No dropout: SB3 collects rollouts in eval mode.
    """

    def __init__(self, d_model: int, heads: int, gated: bool) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, heads, batch_first=True)
        self.ffn = nn.Sequential(nn.Linear(d_model, 2 * d_model), nn.GELU(), nn.Linear(2 * d_model, d_model))
        self.gates = nn.ModuleList([GruGate(d_model), GruGate(d_model)]) if gated else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, last: bool = False) -> torch.Tensor:
        """``(B, K, D)`` -> ``(B, K, D)``; with ``last``, only the last position's output ``(B, 1, D)``.

        The last position attends to every position, so it needs no mask: its queries, residual and
        feed-forward are one row instead of K (what the policy reads, at 1/K of the cost).
        """
        h = self.norm1(x)
        query = h[:, -1:] if last else h
        attended = self.attn(query, h, h, attn_mask=None if last else mask, need_weights=False)[0]
        x = x[:, -1:] if last else x
        x = x + attended if self.gates is None else self.gates[0](x, torch.relu(attended))
        fed = self.ffn(self.norm2(x))
        return x + fed if self.gates is None else self.gates[1](x, torch.relu(fed))


class TransformerTrunk(nn.Module):
    """``(B, K, *step)`` -> per-step features -> Linear to D + position embedding -> causal blocks -> ``(B, K, D)``."""

    def __init__(self, steps: StepEncoder, context: int, d_model: int, heads: int, layers: int, gated: bool) -> None:
        super().__init__()
        self.steps = steps
        self.embed = nn.Linear(steps.width, d_model)
        self.position = nn.Parameter(torch.randn(1, context, d_model) * 0.02)
        self.blocks = nn.ModuleList([CausalBlock(d_model, heads, gated) for _ in range(layers)])
        self.norm = nn.LayerNorm(d_model)
        # True above the diagonal: position t may not attend to t' > t.
        self.register_buffer("mask", torch.ones(context, context, dtype=torch.bool).triu(1), persistent=False)

    def sequence(self, window: torch.Tensor) -> torch.Tensor:
        x = self.embed(self.steps(window)) + self.position
        for block in self.blocks:
            x = block(x, self.mask)
        return self.norm(x)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        """The last position's output ``(B, D)``: equal to ``sequence(window)[:, -1]``, computed without the
        other positions' rows in the last block."""
        x = self.embed(self.steps(window)) + self.position
        for block in self.blocks[:-1]:
            x = block(x, self.mask)
        return self.norm(self.blocks[-1](x, last=True))[:, 0]


class CausalTransformer(Backbone):
    """Causal self-attention over the window: ``(B, K, *step)`` -> the last position's output ``(B, d_model)``.

    Args:
        observation_space: a window ``Box`` ``(K, O)`` of vectors or ``(K, H, W, C)`` / ``(K, C, H, W)``
            of uint8 images.
        context: K (default 16).
        d_model: D, divisible by ``heads``.
        heads: attention heads.
        layers: Transformer blocks.
        gated: GTrXL's GRU-type gates in place of the residual additions.
        encoder: the per-step image encoder's backbone name (default :func:`gymsuite.supervised.images.default_for`).
        freeze: see :class:`~gymsuite.supervised.backbone.Backbone`. augment: refused.
    """

    def __init__(self, observation_space: spaces.Space, context: int = 16, d_model: int = 64, heads: int = 4,
                 layers: int = 1, gated: bool = False, encoder: str | None = None, freeze: bool = False,
                 augment: str | None = None) -> None:
        _refuse_augment("transformer", augment)
        steps = _window(observation_space, "transformer", context, encoder)
        for key, value in {"d_model": d_model, "heads": heads, "layers": layers}.items():
            positive_int("transformer", key, value)
        if d_model % heads:
            raise UserError(f"the transformer backbone's d_model {d_model} is not divisible by heads={heads}",
                            "e.g. d_model=64 heads=4")
        if not isinstance(gated, bool):
            raise UserError(f"the transformer backbone's gated must be true or false, got {gated!r}", "e.g. gated=true")
        super().__init__(observation_space, TransformerTrunk(steps, context, d_model, heads, layers, gated),
                         freeze=freeze)
        self.context = context

    def sequence(self, observations: torch.Tensor) -> torch.Tensor:
        """Every position's output ``(B, K, d_model)`` for a window batch as :meth:`forward` takes it."""
        trunk: TransformerTrunk = self.trunk  # type: ignore[assignment]
        return trunk.sequence(observations.float())
