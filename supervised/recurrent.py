"""``backbone=lstm``: a recurrent policy whose LSTM carries a hidden state across an episode's steps.

Course: 第十四部分 "循环神经网络（RNN）" (LSTM). The engine is sb3-contrib's ``RecurrentPPO``
(``MlpLstmPolicy``): each step the encoder turns the observation ``(B, *O)`` into features
``(B, F)``, the LSTM turns them and its state ``(h, c)``, each ``(layers, B, hidden_size)``,
into ``(B, hidden_size)``, and the actor (and critic) heads read that. The state is zeroed
where an episode starts (``episode_start``), in training as in acting.

The options (``backbone_kwargs``) are declared once here, :class:`LstmOptions`;
:func:`lstm_policy_kwargs` turns them into RecurrentPPO's policy arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gymsuite.common.errors import UserError
from gymsuite.common.options import Rule, option, parse
from gymsuite.supervised import backbones

NAME = "lstm"
CRITICS = ("own", "shared", "none")


@dataclass(frozen=True)
class LstmOptions:
    """``backbone_kwargs`` of ``backbone=lstm``."""

    hidden_size: int = option(64, "width of the LSTM's hidden state", Rule(int, low=1))
    layers: int = option(1, "stacked LSTM layers", Rule(int, low=1))
    critic: str = option("own", "the critic's memory: its own LSTM, the actor's (shared) or none (an MLP)",
                         Rule(str, choices=CRITICS))
    encoder: str | None = option(None, "the backbone that turns each observation into the LSTM's input "
                                 "(default: flatten vectors; images get gymsuite.supervised.backbones.default_for)",
                                 Rule(str, nullable=True))


def is_lstm(hyper: Mapping[str, Any]) -> bool:
    """Whether these hyperparameters ask for ``backbone=lstm``."""
    return hyper.get("backbone") == NAME


def parse_options(kwargs: Mapping[str, Any] | None) -> LstmOptions:
    """The :class:`LstmOptions` of ``backbone_kwargs``; an unknown key, a bad value or an unknown encoder is a
    :class:`UserError` naming it."""
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise UserError(f"backbone_kwargs must be a mapping, got {kwargs!r}", "e.g. backbone_kwargs={hidden_size: 64}")
    opts = parse(LstmOptions, dict(kwargs or {}), "option of the lstm backbone")
    if opts.encoder is not None:
        backbones.get(opts.encoder)  # an unknown name raises, with the closest one
    return opts


def lstm_policy_kwargs(opts: LstmOptions) -> dict[str, Any]:
    """RecurrentPPO's ``policy_kwargs`` for ``opts``: the LSTM's width, depth and critic, and the encoder as the
    features extractor (none named: RecurrentPPO's default, which flattens the observation)."""
    out: dict[str, Any] = {"lstm_hidden_size": opts.hidden_size, "n_lstm_layers": opts.layers,
                           "enable_critic_lstm": opts.critic == "own", "shared_lstm": opts.critic == "shared"}
    if opts.encoder is not None:
        out["features_extractor_class"] = backbones.get(opts.encoder)
        out["features_extractor_kwargs"] = {}
    return out


def encoder_name(hyper: Mapping[str, Any]) -> str | None:
    """The encoder that ``backbone=lstm``'s ``backbone_kwargs`` names, or None."""
    kwargs = hyper.get("backbone_kwargs") or {}
    return kwargs.get("encoder") if isinstance(kwargs, Mapping) else None


def lstm_policy(policy: str) -> str:
    """RecurrentPPO's policy for an SB3 policy name: ``MlpPolicy`` -> ``MlpLstmPolicy`` (and Cnn, MultiInput)."""
    return policy if "Lstm" in policy else policy.replace("Policy", "LstmPolicy")
