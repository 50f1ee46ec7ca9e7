"""Network compression on torch modules: magnitude pruning, neuron removal, int8 rounding, distillation's loss.

The course's chapter 12 (network compression) as functions of networks; ``gymsuite compress``
(:mod:`gymsuite.agents.run.compressing`) applies them to a trained agent's policy.

* **Weight pruning** (:func:`magnitude_masks`): the global smallest fraction of the weights of every
  ``Linear``/``Conv`` layer set to zero, by |w| over its layer's RMS (Han et al. 2015, with scale-free scores).
  Done by hand with boolean masks rather than with ``torch.nn.utils.prune``: that one re-parametrises each
  module (``weight_orig`` and ``weight_mask`` in its state dict, ``weight`` recomputed by a forward pre-hook),
  which plain SB3 cannot load; here the state dict keeps its plain ``weight`` keys and the masks are data beside
  it (an ``.npz``).
  :class:`GradualMasks` raises the sparsity step by step while the network is retrained (Zhu & Gupta 2017).
* **Neuron pruning** (:func:`neuron_scores`, :func:`slice_chain`): whole hidden units of a chain of ``Linear``
  layers, with the next layer's input columns removed, which gives a smaller dense network (Li et al. 2017
  rank filters by the L1 norm of their weights; so do we, per unit).
* **Fewer bits** (:func:`fake_quantize_int8`, :func:`quantize_dynamic`): PyTorch's post-training dynamic
  quantisation stores each ``Linear`` weight as int8 with one scale per tensor (symmetric); rounding a float
  weight through the same int8 grid gives the same weights in a float model that plain SB3 can save and load.
* **Distillation** (:func:`distillation_loss`): KL(teacher || student) with the teacher's outputs softened or
  sharpened by a temperature, from one teacher or the average of an ensemble's distributions (Rusu et al. 2016,
  "Policy distillation"; Hinton et al. 2015).

Shapes: B batch, A actions (logits or Q-values), out/in a layer's output/input width.
"""

from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence

import torch as th
from torch import nn

PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)  # layers whose weights pruning and int8 consider
Masks = dict[str, th.Tensor]  # parameter name -> bool tensor of its shape (True: kept)


def prunable_weights(module: nn.Module, prefixes: Sequence[str] = ("",)) -> dict[str, th.Tensor]:
    """The ``weight`` of every :data:`PRUNABLE` layer of ``module`` whose weight's name starts with a prefix.

    Biases are left out (they are few, and zeroing one shifts a unit rather than removing a connection). A layer
    shared under two names (SB3's ``features_extractor`` and ``pi_features_extractor``) is listed once.
    """
    found: dict[str, th.Tensor] = {}
    seen: set[int] = set()
    for name, layer in module.named_modules():
        named = f"{name}.weight".startswith(tuple(prefixes))
        if isinstance(layer, PRUNABLE) and named and id(layer.weight) not in seen:
            seen.add(id(layer.weight))
            found[f"{name}.weight"] = layer.weight
    return found


def magnitude_masks(weights: Mapping[str, th.Tensor], fraction: float, per_layer_scale: bool = True) -> Masks:
    """Global magnitude pruning: masks that zero the ``fraction`` of all ``weights`` with the smallest scores.

    One threshold over every tensor together (not a fraction per layer), so layers with many redundant weights
    lose more. A weight's score is its |w|, divided by its tensor's root mean square when ``per_layer_scale``
    (the default): layers live on different scales (SB3 initialises a policy's action head with gain 0.01, and
    it stays smaller than the hidden layers after training), and raw magnitudes would strip the smallest-scaled
    layer first (on a LunarLander PPO, 50% of the weights pruned by raw magnitude left 46% greedy agreement).
    The RMS is that of the tensor's non-zero entries: in gradual pruning the tensors hold the zeros of the
    earlier steps, and an RMS over them would favour the survivors of big layers (k equal weights left of n
    score sqrt(n / k)). And no tensor keeps fewer than half its share (``(1 - fraction) * size / 2``, at least
    one weight), its best-scored ones: a global threshold can strip a layer whose weights are all alike (every
    score near 1) whole, and a network without its action head acts the same everywhere (a CartPole PPO pruned
    gradually to 95% kept none of its 64 head weights and fell to a return of 9).
    Exactly ``round(fraction * total)`` weights are pruned (ties broken by position).
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    scores = []
    for w in weights.values():
        magnitude = w.detach().abs().reshape(-1).float()
        alive = magnitude[magnitude > 0]
        scale = alive.pow(2).mean().sqrt().clamp_min(1e-12) if per_layer_scale and alive.numel() else 1.0
        scores.append(magnitude / scale)
    for score in scores:  # each tensor's floor: its best-scored weights, kept whatever the global threshold
        floor = min(score.numel(), max(1, int((1 - fraction) * score.numel() / 2)))
        score[th.topk(score, floor, sorted=False).indices] = float("inf")
    flat = th.cat(scores)
    keep = flat.numel() - int(round(fraction * flat.numel()))
    kept = th.zeros(flat.numel(), dtype=th.bool)
    kept[th.topk(flat, keep, sorted=False).indices] = True
    masks, start = {}, 0
    for name, w in weights.items():
        masks[name] = kept[start:start + w.numel()].reshape(w.shape).to(w.device)
        start += w.numel()
    return masks


@th.no_grad()
def apply_masks(module: nn.Module, masks: Mapping[str, th.Tensor]) -> None:
    """Zero the pruned entries of ``module``'s parameters in place (names as in ``module.named_parameters()``)."""
    params = dict(module.named_parameters())
    for name, mask in masks.items():
        params[name].mul_(mask.to(params[name].device, params[name].dtype))


def cubic_sparsity(target: float, t: float) -> float:
    """Gradual pruning's schedule (Zhu & Gupta 2017): ``target * (1 - (1 - t)^3)`` at ``t`` in [0, 1] of the ramp:
    fast at first, while many small weights can go, then slowly."""
    t = min(1.0, max(0.0, t))
    return target * (1 - (1 - t) ** 3)


class GradualMasks:
    """Pruning masks whose sparsity only rises (the course's prune, fine-tune, repeat): each :meth:`prune_to`
    recomputes the masks at a higher sparsity from ``module``'s current weights, a weight once pruned stays pruned,
    and :meth:`apply` zeroes the pruned entries again (after an optimiser step has moved them).

    Args:
        module: the network pruned (its ``named_parameters()`` names the masks).
        masks_at: ``sparsity -> masks`` of its current weights (e.g. :func:`magnitude_masks` of its weights).
        target: the final sparsity, in (0, 1).
        masks: masks that hold from the start (a pruned network pruned again), or none.
    """

    def __init__(self, module: nn.Module, masks_at: Callable[[float], Mapping[str, th.Tensor]], target: float,
                 masks: Mapping[str, th.Tensor] | None = None) -> None:
        self.module, self.masks_at, self.target = module, masks_at, target
        self.masks: dict[str, th.Tensor] = dict(masks or {})
        self.sparsity = 0.0

    def prune_to(self, sparsity: float) -> None:
        """Masks at ``sparsity`` (no lower than the current one), applied."""
        if sparsity > self.sparsity and sparsity > 0:
            fresh = self.masks_at(sparsity)
            self.masks = {name: mask & self.masks[name] if name in self.masks else mask
                          for name, mask in fresh.items()}
            self.sparsity = sparsity
        self.apply()

    def ramp(self, t: float) -> None:
        """:meth:`prune_to` the :func:`cubic_sparsity` of the target at ``t`` of the ramp."""
        self.prune_to(cubic_sparsity(self.target, t))

    def apply(self) -> None:
        apply_masks(self.module, self.masks)


def count_parameters(params: Iterable[th.Tensor]) -> tuple[int, int]:
    """``(non-zero, total)`` entries of ``params`` (each tensor once)."""
    unique = {id(p): p for p in params}.values()
    return (int(sum(int(th.count_nonzero(p.detach())) for p in unique)), int(sum(p.numel() for p in unique)))


def state_bytes(module: nn.Module) -> int:
    """Bytes of ``module``'s state dict as ``torch.save`` writes it (int8 weights of a quantised module included)."""
    buffer = io.BytesIO()
    th.save(module.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def neuron_scores(layer: nn.Linear) -> th.Tensor:
    """``(out,)``: each unit's L1 norm of its incoming weights, the rank :func:`slice_chain` keeps units by."""
    return layer.weight.detach().abs().sum(dim=1)


def keep_top(scores: th.Tensor, fraction: float) -> th.Tensor:
    """Sorted indices of the units to keep when ``fraction`` of them (rounded, at least one kept) is removed."""
    keep = max(1, scores.numel() - int(round(fraction * scores.numel())))
    return th.sort(th.topk(scores, keep).indices).values


@th.no_grad()
def slice_chain(source: Sequence[nn.Linear], target: Sequence[nn.Linear], kept: Sequence[th.Tensor]) -> None:
    """Copy a chain of ``Linear`` layers into a smaller one, keeping the hidden units ``kept``.

    ``source[i]`` feeds ``source[i + 1]`` (through an activation); ``kept[i]`` are the units of ``source[i]``'s
    output kept in ``target[i]`` (one index tensor per hidden layer: ``len(kept) == len(source) - 1``). Layer i
    keeps rows ``kept[i]`` and the input columns ``kept[i - 1]``: the dependency a removed unit leaves behind.
    """
    assert len(source) == len(target) == len(kept) + 1, "one kept set per hidden layer"
    rows: list[th.Tensor | None] = [*kept, None]
    cols: list[th.Tensor | None] = [None, *kept]
    for old, new, row, col in zip(source, target, rows, cols, strict=True):
        w = old.weight if row is None else old.weight[row]
        w = w if col is None else w[:, col]
        assert new.weight.shape == w.shape, f"target layer {tuple(new.weight.shape)} != sliced {tuple(w.shape)}"
        new.weight.copy_(w)
        if old.bias is not None and new.bias is not None:
            new.bias.copy_(old.bias if row is None else old.bias[row])


def chain_masks(source: Sequence[nn.Linear], kept: Sequence[th.Tensor], names: Sequence[str]) -> Masks:
    """The masks that make the big chain compute what :func:`slice_chain`'s small one does: each removed unit's
    incoming row and its column in the next layer set to zero (``names[i]``: ``source[i]``'s weight's name)."""
    masks: Masks = {}
    for i, (layer, name) in enumerate(zip(source, names, strict=True)):
        mask = th.ones_like(layer.weight, dtype=th.bool)
        if i < len(kept):
            rows = th.zeros(layer.weight.shape[0], dtype=th.bool)
            rows[kept[i]] = True
            mask &= rows.reshape(-1, 1).to(mask.device)
        if i > 0:
            cols = th.zeros(layer.weight.shape[1], dtype=th.bool)
            cols[kept[i - 1]] = True
            mask &= cols.reshape(1, -1).to(mask.device)
        masks[name] = mask
    return masks


def int8_scale(weight: th.Tensor) -> float:
    """The scale of PyTorch's dynamic quantisation of ``weight``: symmetric per tensor, max |w| over 127.5."""
    observer = th.ao.quantization.MinMaxObserver(dtype=th.qint8, qscheme=th.per_tensor_symmetric)
    observer(weight.detach().float())
    scale, _ = observer.calculate_qparams()
    return float(scale)


def fake_quantize(weight: th.Tensor) -> th.Tensor:
    """``weight`` rounded through its int8 grid: ``scale * clamp(round(w / scale), -128, 127)`` (:func:`int8_scale`)."""
    return th.fake_quantize_per_tensor_affine(weight.detach(), int8_scale(weight), 0, -128, 127)


@th.no_grad()
def fake_quantize_int8(module: nn.Module, layers: tuple[type[nn.Module], ...] = (nn.Linear,)) -> int:
    """Round the weight of every ``layers`` module of ``module`` through int8, in place; returns how many.

    Each weight becomes ``scale * clamp(round(w / scale), -128, 127)`` with :func:`int8_scale`: what
    :func:`quantize_dynamic` stores, as floats. Biases stay float (dynamic quantisation keeps them so too).
    """
    done = 0
    for layer in module.modules():
        if isinstance(layer, layers):
            w = layer.weight
            assert isinstance(w, th.Tensor)
            w.copy_(fake_quantize(w))
            done += 1
    return done


def quantize_dynamic(module: nn.Module) -> nn.Module:
    """A copy of ``module`` with PyTorch's post-training dynamic int8 quantisation of its ``Linear`` layers.

    ``torch.ao.quantization`` is deprecated in favour of torchao (not installed here); its deprecation warning
    about quantised tensor creation is silenced.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*deprecated", category=UserWarning)
        return th.ao.quantization.quantize_dynamic(copy.deepcopy(module).eval(), {nn.Linear}, dtype=th.qint8)


def distillation_loss(student: th.Tensor, teachers: Sequence[th.Tensor], temperature: float) -> th.Tensor:
    """Mean over the batch of KL(p || q) (Rusu et al. 2016, eq. 3, with an ensemble averaged).

    Args:
        student: ``(B, A)`` the student's logits (or Q-values): ``q = softmax(student)``.
        teachers: ``(B, A)`` each teacher's logits (or Q-values). ``p`` is the average over teachers of
            ``softmax(teacher / temperature)``: below 1 sharpens (Rusu et al. use 0.01 on DQN's Q-values, whose
            differences are small), 1 keeps a policy's own distribution.
        temperature: the teachers' temperature, > 0.
    """
    p = th.stack([th.softmax(t.detach() / temperature, dim=-1) for t in teachers]).mean(dim=0)
    log_q = th.log_softmax(student, dim=-1)
    return (p * (th.log(p.clamp_min(1e-12)) - log_q)).sum(dim=-1).mean()
