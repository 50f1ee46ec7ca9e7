"""supervised/distributions.py: argument checks off for a block, and back as they were after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch as th
from torch.distributions import Categorical, Distribution, Normal

from gymsuite.supervised.distributions import unchecked

NAN = th.tensor([[float("nan"), 0.0]])


@pytest.fixture(autouse=True)
def checks_on() -> Iterator[None]:
    """Checks on, as torch starts; put back after. (Once torch's dynamo starts, e.g. for an ONNX export, it turns
    them off for the whole process: ``TorchPatcher.patch``.)"""
    before = Distribution._validate_args
    Distribution.set_default_validate_args(True)
    yield
    Distribution.set_default_validate_args(before)


def test_the_named_class_is_built_unchecked_and_the_others_still_checked() -> None:
    with unchecked(Categorical):
        Categorical(logits=NAN)  # no check: built
        with pytest.raises(ValueError, match="loc"):
            Normal(NAN, th.ones(1, 2))
        with pytest.raises(RuntimeError, match="probability tensor"):  # sampling still refuses a NaN
            Categorical(logits=NAN).sample()
    with pytest.raises(ValueError, match="logits"):
        Categorical(logits=NAN)


def test_settings_are_put_back_as_they_were_even_after_an_error() -> None:
    before = Distribution._validate_args
    assert "_validate_args" not in Categorical.__dict__
    with pytest.raises(KeyError), unchecked(Categorical), unchecked(Distribution):
        assert not Normal(th.zeros(1), th.ones(1))._validate_args
        raise KeyError("inside")
    assert Distribution._validate_args == before and "_validate_args" not in Categorical.__dict__
    Distribution.set_default_validate_args(False)
    try:
        with unchecked(Distribution):
            pass
        assert Distribution._validate_args is False  # a setting made before is kept
    finally:
        Distribution.set_default_validate_args(before)
