"""The shared actor-critic trunk (course RL 3: "share the first layers"): the mlp backbone under both heads.

``(B, *O) -> (B, net_arch[-1])``, B batch, O observation.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from gymsuite.supervised.mlp import DEFAULT_NET_ARCH, MlpBackbone

SharedTrunk = MlpBackbone
"""The trunk is the mlp backbone; models saved with ``gymsuite.supervised.trunk.SharedTrunk`` still load."""


def network_kwargs(policy_kwargs: dict[str, Any] | None, share_trunk: bool) -> dict[str, Any]:
    """``policy_kwargs`` with ``net_arch`` made explicit, and mapped onto a shared trunk when asked.

    Separate networks: ``net_arch=[64, 64]`` gives actor and critic two hidden layers
    each. Shared trunk: the same layers become one :class:`SharedTrunk` feature
    extractor, followed by linear action and value heads.

    With a backbone (``features_extractor_class`` other than the mlp one, e.g. a CNN),
    ``share_trunk`` decides whether actor and critic share it: one backbone under both
    heads (SB3's own default for CNNs), or one each (``share_features_extractor=False``,
    twice the work); ``net_arch`` stays each head's own hidden layers after it.
    """
    kwargs = dict(policy_kwargs or {})
    net_arch = kwargs.pop("net_arch", DEFAULT_NET_ARCH)
    extractor = kwargs.get("features_extractor_class")
    if extractor is not None and extractor is not MlpBackbone:
        return {**kwargs, "net_arch": net_arch, "share_features_extractor": share_trunk}
    if not share_trunk:
        return {**kwargs, "net_arch": net_arch}
    if not isinstance(net_arch, list | tuple):
        raise ValueError(f"share_trunk=True needs net_arch as a list of widths, got {net_arch!r}")
    if not net_arch:
        raise ValueError("share_trunk needs at least one hidden layer in net_arch")
    trunk = {"net_arch": list(net_arch), "activation_fn": kwargs.get("activation_fn", nn.Tanh)}
    return {**kwargs, "net_arch": {"pi": [], "vf": []}, "features_extractor_class": SharedTrunk,
            "features_extractor_kwargs": trunk, "share_features_extractor": True}
