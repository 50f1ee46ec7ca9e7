"""The one YAML reader of gymsuite's config files, hyperparameter files, ``--hyperparams`` and shaping files.

PyYAML follows YAML 1.1, where a float needs a dot: ``1e-4`` and ``3e5`` load as the strings
``'1e-4'`` and ``'3e5'``, so ``--hyperparams learning_rate=1e-4`` would be rejected as "not a
number". This loader also reads them as floats (as YAML 1.2 and Python do); everything else is
``yaml.safe_load``'s.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` plus exponent floats without a dot."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_yaml(text: str) -> Any:
    """Parse ``text`` like ``yaml.safe_load``, with ``1e-4`` a float; raises ``yaml.YAMLError`` on bad syntax."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506  (a SafeLoader subclass)
