"""Attribution of a network's scalar output to its input, and two checks of whether to trust the map.

A *forward* is a function ``forward(x, *args) -> (B,)``: one scalar per sample (an agent's log-probability
of the action it chose, or its value), where ``args`` are tensors with the same first dimension B (the
chosen actions), which every method repeats alongside ``x`` when it evaluates perturbed copies.

| method       | attribution of feature i (same shape as the input)                  | engine                 |
|--------------|--------------------------------------------------------------------|------------------------|
| `grad`       | d f / d x_i (Simonyan et al. 2014)                                  | captum `Saliency`      |
| `smoothgrad` | the gradient averaged over Gaussian noise on x (Smilkov et al. 2017)| captum `NoiseTunnel`   |
| `ig`         | (x_i - b_i) x the mean gradient on the line b -> x (Sundararajan 2017)| captum `IntegratedGradients` |
| `occlusion`  | f(x) - f(x with a window set to the baseline) (Zeiler & Fergus 2014)| captum `Occlusion`     |
| `perturb`    | 1/2 (f(x) - f(x blurred in a Gaussian patch))^2 (Greydanus et al. 2018) | here (:func:`perturb`) |
| `attention`  | the attention backbone's own weights, rolled out over its layers    | here (:func:`attention_map`) |

The checks: :func:`sanity_check` (Adebayo et al. 2018: a map that stays the same once the network's weights
are random says nothing about the network) and :func:`deletion_score` (set the top-k salient inputs to the
baseline; the output should fall more than for k random inputs).

Shapes: B batch, O observation (``(O,)`` a vector, ``(C, H, W)`` an image), F the map's positions (O
for a vector, H * W for an image: channels summed), K patches, N tokens.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch as th
from torch import nn

from gymsuite.supervised.attention import PatchAttention, PatchTransformer

METHODS = ("grad", "smoothgrad", "ig", "occlusion", "perturb", "attention")
Forward = Callable[..., th.Tensor]  # (B, *O), *args -> (B,)
Attributor = Callable[[nn.Module, th.Tensor], th.Tensor]  # (network, (B, *O)) -> (B, *O)

IG_STEPS = 32  # Gauss-Legendre points: the completeness error is below 1% on the agents tried here
SMOOTHGRAD_SAMPLES = 16
SMOOTHGRAD_NOISE = 0.15  # of the inputs' range: Smilkov et al. found 10-20% gives the sharpest maps
UNTRUSTED_ABOVE = 0.9  # rank correlation with the original map after full randomisation: the map did not change


@dataclass(frozen=True)
class Options:
    """How each method is run. ``batch``: inputs per forward pass of the perturbation methods."""

    ig_steps: int = IG_STEPS
    smoothgrad_samples: int = SMOOTHGRAD_SAMPLES
    smoothgrad_noise: float = SMOOTHGRAD_NOISE
    batch: int = 512


def attribute(forward: Forward, inputs: th.Tensor, method: str, *, baseline: th.Tensor | None = None,
              args: Sequence[th.Tensor] = (), options: Options = Options()) -> th.Tensor:
    """The attribution ``(B, *O)`` of ``forward``'s output to ``inputs`` ``(B, *O)`` by ``method``.

    Args:
        forward: ``forward(x, *args) -> (B,)``.
        inputs: float observations; images ``(B, C, H, W)`` (any other input is treated feature by feature).
        method: one of :data:`METHODS` but ``attention`` (:func:`attention_map` takes the backbone).
        baseline: ``(*O)`` or ``(B, *O)``, the "absent" input of ``ig``, ``occlusion``, ``perturb`` on vectors
            (default zeros).
        args: tensors ``(B, ...)`` passed to ``forward`` after ``x``.
    """
    # captum on first use: with the matplotlib it imports, about 1 s that every command would pay at start
    from captum.attr import IntegratedGradients, NoiseTunnel, Occlusion, Saliency

    x = inputs.detach().float().requires_grad_(method in ("grad", "smoothgrad", "ig"))
    base = th.zeros_like(x) if baseline is None else baseline.to(x).expand_as(x).contiguous()
    extra = tuple(args) or None
    if method == "grad":
        return Saliency(forward).attribute(x, abs=False, additional_forward_args=extra).detach()
    if method == "smoothgrad":
        spread = float(x.detach().max() - x.detach().min()) or 1.0
        return NoiseTunnel(Saliency(forward)).attribute(
            x, nt_type="smoothgrad", nt_samples=options.smoothgrad_samples,
            nt_samples_batch_size=max(1, options.batch // len(x)), stdevs=options.smoothgrad_noise * spread,
            abs=False, additional_forward_args=extra).detach()
    if method == "ig":
        return IntegratedGradients(forward).attribute(
            x, baselines=base, n_steps=options.ig_steps, additional_forward_args=extra,
            internal_batch_size=max(len(x), options.batch)).detach()
    if method == "occlusion":
        window, stride = occlusion_window(x.shape[1:])
        return Occlusion(forward).attribute(
            x, sliding_window_shapes=window, strides=stride, baselines=base, additional_forward_args=extra,
            perturbations_per_eval=max(1, options.batch // len(x))).detach()
    if method == "perturb":
        return perturb(forward, x.detach(), base, args, options.batch)
    raise ValueError(f"unknown attribution method {method!r} (attention: use attention_map)")


def is_image(shape: Sequence[int]) -> bool:
    """Whether an observation of ``shape`` (one sample) is an image ``(C, H, W)``."""
    return len(shape) == 3


def occlusion_window(shape: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The occluding window and its stride: one feature of a vector; a square of a tenth of an image's side
    (8 px at 84x84) across its channels, moved by half its side."""
    if not is_image(shape):
        return tuple(1 for _ in shape), tuple(1 for _ in shape)
    c, h, w = shape
    side = max(1, round(min(h, w) / 10))
    return (c, side, side), (c, max(1, side // 2), max(1, side // 2))


def perturb(forward: Forward, x: th.Tensor, baseline: th.Tensor, args: Sequence[th.Tensor] = (),
            batch: int = 512) -> th.Tensor:
    """Greydanus et al. (2018)'s perturbation saliency ``(B, *O)``: 1/2 (f(x) - f(x'))^2 for each x' below.

    For an image, x' blends x with a Gaussian blur of itself inside a Gaussian patch centred on each point
    of a grid (sigma a sixteenth of the side, 5 px at 80x80 as in the paper, the grid that far apart); the
    coarse map is upsampled to the image and shared out over its channels. For a vector, x' sets one
    feature to ``baseline`` (a vector has no neighbourhood to blur: its baseline, e.g. the data mean, is
    the "uninformative" value). Written here because captum has no blurred-patch method; every perturbed
    copy of every sample goes through ``forward`` in batches of ``batch`` (the paper's code ran one
    forward pass per patch).
    """
    n = len(x)
    with th.no_grad():
        reference = forward(x, *args)  # (B,)
        if is_image(x.shape[1:]):
            _, c, h, w = x.shape
            sigma = max(1.0, min(h, w) / 16)
            masks, grid = patch_masks(h, w, sigma, x)  # (K, 1, H, W), (rows, cols)
            other = gaussian_blur(x, sigma * 0.6)
        else:
            size = int(np.prod(x.shape[1:]))
            masks = th.eye(size, dtype=x.dtype, device=x.device).reshape(size, *x.shape[1:])  # (K=O, *O)
            grid, other = (size, 1), baseline
        k = len(masks)
        scores = th.empty(n * k, dtype=x.dtype, device=x.device)
        for start in range(0, n * k, batch):
            index = th.arange(start, min(start + batch, n * k), device=x.device)
            sample, patch = index // k, index % k
            m = masks[patch]
            perturbed = x[sample] * (1 - m) + other[sample] * m
            out = forward(perturbed, *(a[sample] for a in args))
            scores[index] = 0.5 * (reference[sample] - out) ** 2
        coarse = scores.reshape(n, *grid)
        if not is_image(x.shape[1:]):
            return coarse.reshape(x.shape)
        full = nn.functional.interpolate(coarse[:, None], size=(h, w), mode="bilinear", align_corners=False)
        return (full / c).expand(-1, c, -1, -1).contiguous()  # (B, C, H, W): channels sum to the map


def patch_masks(h: int, w: int, sigma: float, like: th.Tensor) -> tuple[th.Tensor, tuple[int, int]]:
    """Gaussian patches ``(K, 1, H, W)`` in ``[0, 1]`` centred every ``sigma`` px, and the grid's (rows, cols)."""
    step = max(1, round(sigma))
    ys, xs = th.arange(0, h, step, dtype=like.dtype), th.arange(0, w, step, dtype=like.dtype)
    rows, cols = th.arange(h, dtype=like.dtype), th.arange(w, dtype=like.dtype)
    dy = (rows[None, :] - ys[:, None]) ** 2  # (rows, H)
    dx = (cols[None, :] - xs[:, None]) ** 2  # (cols, W)
    masks = th.exp(-(dy[:, None, :, None] + dx[None, :, None, :]) / (2 * sigma**2))  # (rows, cols, H, W)
    return masks.reshape(-1, 1, h, w).to(like.device), (len(ys), len(xs))


def gaussian_blur(x: th.Tensor, sigma: float) -> th.Tensor:
    """``(B, C, H, W)`` blurred channel by channel with a Gaussian of ``sigma`` px (edges reflected)."""
    radius = min(math.ceil(2 * sigma), x.shape[2] - 1, x.shape[3] - 1)
    if radius < 1:
        return x
    offsets = th.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = th.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    rows = nn.functional.pad(x, (radius, radius, 0, 0), mode="reflect")
    out = nn.functional.conv2d(rows, kernel.reshape(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    cols = nn.functional.pad(out, (0, 0, radius, radius), mode="reflect")
    return nn.functional.conv2d(cols, kernel.reshape(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def attention_map(backbone: PatchAttention, x: th.Tensor) -> th.Tensor:
    """What an attention backbone looks at, ``(B, C, H, W)``: attention rollout (Abnar & Zuidema 2020).

    Each layer's attention ``(B, N, N)`` (averaged over heads) plus the identity (the residual path),
    rows renormalised, multiplied through the layers; the pooled token's row (the CLS token, or the mean
    of the rows for mean pooling) gives each patch's share, spread over its pixels (pixels outside whole
    patches get none) and over the channels. ``x`` is the input as the backbone takes it (images in [0, 1]).
    The weights do not depend on which output is explained.
    """
    trunk = backbone.trunk
    assert isinstance(trunk, PatchTransformer)
    layers = list(trunk.encoder.layers)
    captured: list[th.Tensor] = []

    def keep_query(module: nn.Module, args: tuple, kwargs: dict) -> None:
        captured.append(args[0].detach())

    hooks = [layer.self_attn.register_forward_pre_hook(keep_query, with_kwargs=True)
             for layer in layers]
    try:
        with th.no_grad():
            backbone(x)  # records each layer's attention input (its normed tokens, (B, N', D))
    finally:
        for hook in hooks:
            hook.remove()
    rollout = None
    with th.no_grad():
        for layer, tokens in zip(layers, captured, strict=True):
            _, weights = layer.self_attn(tokens, tokens, tokens, need_weights=True, average_attn_weights=True)
            eye = th.eye(weights.shape[-1], dtype=weights.dtype, device=weights.device)
            step = (weights + eye) / 2  # the residual path carries half of each token on
            step = step / step.sum(dim=-1, keepdim=True)
            rollout = step if rollout is None else step @ rollout  # (B, N', N')
    assert rollout is not None
    share = rollout[:, 0, 1:] if trunk.cls is not None else rollout.mean(dim=1)  # (B, N)
    b, c, h, w = x.shape
    p = backbone.patch_size
    grid = share.reshape(b, 1, h // p, w // p)
    pixels = th.zeros(b, 1, h, w, dtype=x.dtype, device=x.device)
    pixels[:, :, :(h // p) * p, :(w // p) * p] = grid.repeat_interleave(p, 2).repeat_interleave(p, 3) / p**2
    return (pixels / c).expand(-1, c, -1, -1).contiguous()


def saliency(attribution: th.Tensor) -> np.ndarray:
    """The map ``(B, F)`` of an attribution ``(B, *O)``: |a| per feature, or summed over an image's channels."""
    a = attribution.detach().abs()
    if is_image(a.shape[1:]):
        a = a.sum(dim=1)
    return a.reshape(len(a), -1).cpu().numpy().astype(np.float64)


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """The mean over samples of Spearman's rank correlation between maps ``a`` and ``b``, each ``(B, F)``.

    Positions where both maps are exactly 0 are left out: there no method could credit anything, whatever the
    weights (a black background equal to the baseline gets 0 from ig, occlusion and perturb), and their tied
    ranks would make any two maps look alike. Ties take their mean rank. Fewer than two positions left, or a
    constant map: the same positions count as unchanged (1), others as unrelated (0).
    """
    from scipy.stats import rankdata  # on first use, as captum above

    rho = []
    for row_a, row_b in zip(a, b, strict=True):
        keep = (row_a != 0) | (row_b != 0)
        ra, rb = rankdata(row_a[keep]), rankdata(row_b[keep])
        ra, rb = ra - ra.mean() if len(ra) else ra, rb - rb.mean() if len(rb) else rb
        na, nb = float(np.linalg.norm(ra)), float(np.linalg.norm(rb))
        if na > 0 and nb > 0:
            rho.append(float(ra @ rb) / (na * nb))
        else:
            rho.append(1.0 if na == nb == 0 and np.array_equal(row_a != 0, row_b != 0) else 0.0)
    return float(np.mean(rho))


def randomize(network: nn.Module, layers: Sequence[str] | None = None, seed: int = 0) -> nn.Module:
    """A copy of ``network`` with the submodules named ``layers`` (dotted names; None: all of it) re-initialised.

    Each module's own ``reset_parameters`` (PyTorch's default initialisation); a weight no such method
    covers (a position embedding, attention's input projection) is redrawn from a normal of its own spread.
    A network built with PyTorch's default initialisation under the same seed (an untrained DQN of seed 0)
    would come back unchanged: a weight equal to the original (a non-constant tensor, which no two random draws
    share) means that, and the draw is repeated with another seed. The global random state is left as it was.
    """
    for attempt in range(8):
        fresh = copy.deepcopy(network)
        targets = [fresh] if layers is None else [fresh.get_submodule(name) for name in layers]
        with th.random.fork_rng(devices=[]), th.no_grad():
            th.manual_seed(seed + attempt * 7919)
            for target in targets:
                _reset(target)
        originals = [network] if layers is None else [network.get_submodule(name) for name in layers]
        if not any(_same_draw(a, b) for new, old in zip(targets, originals, strict=True)
                   for a, b in zip(new.parameters(), old.parameters(), strict=True)):
            break
    return fresh


def _reset(target: nn.Module) -> None:
    for module in target.modules():
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()
            continue
        for param in module.parameters(recurse=False):
            spread = float(param.std()) if param.numel() > 1 else 0.0
            param.normal_(0.0, spread if spread > 0 else 0.02)


def _same_draw(a: th.Tensor, b: th.Tensor) -> bool:
    """Two non-constant tensors that are equal: the same random draw."""
    return a.numel() > 1 and float(b.detach().std()) > 0 and th.equal(a, b)


@dataclass(frozen=True)
class SanityCheck:
    """Adebayo et al.'s model-randomisation test: rank correlations with the original map after randomising
    the output layer, then the whole network; ``trustworthy`` when the latter is at most ``threshold``."""

    output_layer: float
    full: float
    threshold: float
    trustworthy: bool


def sanity_check(attributor: Attributor, network: nn.Module, inputs: th.Tensor, output_layers: Sequence[str],
                 threshold: float = UNTRUSTED_ABOVE, seed: int = 0) -> SanityCheck:
    """Compare the map of ``network`` on ``inputs`` with the maps of its randomised copies.

    Args:
        attributor: ``attributor(net, x) -> (B, *O)``, the method under test on any copy of the network.
        network: the trained network.
        inputs: ``(B, *O)``.
        output_layers: the dotted names of its output layer(s) (an actor's ``action_net``).
        threshold: the rank correlation above which a map is untrustworthy after full randomisation.
    """
    original = saliency(attributor(network, inputs))
    top = rank_correlation(original, saliency(attributor(randomize(network, output_layers, seed), inputs)))
    full = rank_correlation(original, saliency(attributor(randomize(network, None, seed), inputs)))
    return SanityCheck(round(top, 4), round(full, 4), threshold, full <= threshold)


@dataclass(frozen=True)
class DeletionScore:
    """The mean drop of the output when the ``k`` most salient inputs of each sample are set to the baseline,
    and when ``k`` random ones are; ``beats_random`` when the first drop is the larger."""

    fraction: float
    k: int
    top_drop: float
    random_drop: float
    beats_random: bool


def deletion_score(output: Forward, inputs: th.Tensor, maps: np.ndarray, baseline: th.Tensor, fraction: float,
                   args: Sequence[th.Tensor] = (), seed: int = 0) -> DeletionScore:
    """Delete (set to ``baseline``) the top ``fraction`` of each sample's map positions against as many random ones.

    Args:
        output: ``output(x, *args) -> (B,)``, e.g. the chosen action's probability.
        inputs: ``(B, *O)``.
        maps: ``(B, F)`` (:func:`saliency`): an image's positions are pixels, deleted in every channel.
        baseline: ``(*O)`` or ``(B, *O)``.
        fraction: the share of positions deleted, in (0, 1]; at least one position.
    """
    x = inputs.detach().float()
    base = baseline.to(x).expand_as(x)
    n, f = maps.shape
    k = max(1, min(f, round(fraction * f)))
    top = np.argsort(-maps, axis=1, kind="stable")[:, :k]
    rng = np.random.default_rng(seed)
    chosen = np.stack([rng.choice(f, k, replace=False) for _ in range(n)])
    with th.no_grad():
        reference = output(x, *args)
        drops = []
        for picked in (top, chosen):
            mask = np.zeros((n, f), dtype=bool)
            np.put_along_axis(mask, picked, True, axis=1)
            m = th.as_tensor(mask, device=x.device)
            m = m.reshape(n, 1, *x.shape[2:]) if is_image(x.shape[1:]) else m.reshape(x.shape)
            drops.append(float((reference - output(th.where(m, base, x), *args)).mean()))
    return DeletionScore(fraction, k, drops[0], drops[1], drops[0] > drops[1])
