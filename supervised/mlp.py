"""The one MLP builder, and the MLP backbone ``(B, *O) -> (B, F)``.

B batch, O observation (flattened to ``O`` inputs), F features (the last hidden width).
"""

from __future__ import annotations

from collections.abc import Sequence

from gymnasium import spaces
from stable_baselines3.common.torch_layers import get_flattened_obs_dim
from torch import nn

from gymsuite.common.errors import UserError
from gymsuite.supervised.backbone import Backbone

DEFAULT_NET_ARCH = [64, 64]
FLAT_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


def mlp(widths: Sequence[int], activation: type[nn.Module] = nn.ReLU, activate_last: bool = False) -> nn.Sequential:
    """Linear layers between consecutive ``widths``: ``(B, widths[0]) -> (B, widths[-1])``.

    ``activation`` follows every layer but the last; ``activate_last`` adds it after the last
    one too (a features extractor's output). The layout ``Linear, act, Linear, act`` is SB3's
    ``create_mlp``'s, so extractors built here keep the state-dict keys of saved models.
    """
    if len(widths) < 2:
        raise ValueError(f"an MLP needs an input and an output width, got {list(widths)}")
    layers: list[nn.Module] = []
    for inputs, outputs in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(inputs, outputs), activation()]
    return nn.Sequential(*(layers if activate_last else layers[:-1]))


class MlpBackbone(Backbone):
    """Flatten, then a Linear layer and ``activation_fn`` per width of ``net_arch``: ``(B, *O) -> (B, net_arch[-1])``.

    As the shared actor-critic trunk (:mod:`gymsuite.supervised.trunk`), its layers are those that
    ``net_arch`` would give each head separately.

    Args:
        observation_space: ``Box``, ``Discrete`` (one-hot), ``MultiDiscrete`` or ``MultiBinary``.
        net_arch: hidden widths; the last one is F.
        activation_fn: after every layer (SB3's on-policy default, ``Tanh``).
        freeze: keep the weights fixed (see :class:`~gymsuite.supervised.backbone.Backbone`).
    """

    def __init__(self, observation_space: spaces.Space, net_arch: Sequence[int] = DEFAULT_NET_ARCH,
                 activation_fn: type[nn.Module] = nn.Tanh, freeze: bool = False) -> None:
        if not isinstance(observation_space, FLAT_SPACES):
            raise UserError(f"the mlp backbone takes a Box, Discrete, MultiDiscrete or MultiBinary observation, "
                            f"got {observation_space}",
                            "use MultiInputPolicy for Dict observations, or gymnasium.wrappers.FlattenObservation")
        if not net_arch or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in net_arch):
            raise UserError(f"the mlp backbone needs net_arch as a non-empty list of positive widths, got {net_arch!r}",
                            "e.g. net_arch=[64, 64]")
        layers = mlp([get_flattened_obs_dim(observation_space), *net_arch], activation_fn, activate_last=True)
        super().__init__(observation_space, nn.Sequential(nn.Flatten(), *layers), freeze=freeze)
