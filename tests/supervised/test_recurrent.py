"""``backbone=lstm``'s options: RecurrentPPO's policy arguments, and bad options refused naming the key."""

from __future__ import annotations

import pytest

from gymsuite.common.errors import UserError
from gymsuite.supervised import recurrent
from gymsuite.supervised.cnns import SmallCnn


def _policy_kwargs(kwargs: object) -> dict:
    return recurrent.lstm_policy_kwargs(recurrent.parse_options(kwargs))  # type: ignore[arg-type]


def test_options_become_recurrent_ppo_policy_kwargs() -> None:
    assert _policy_kwargs(None) == {"lstm_hidden_size": 64, "n_lstm_layers": 1, "enable_critic_lstm": True,
                                             "shared_lstm": False}
    shared = _policy_kwargs({"hidden_size": 8, "layers": 2.0, "critic": "shared", "encoder": "small_cnn"})
    assert shared["lstm_hidden_size"] == 8 and shared["n_lstm_layers"] == 2
    assert shared["shared_lstm"] and not shared["enable_critic_lstm"]
    assert shared["features_extractor_class"] is SmallCnn
    no_critic = _policy_kwargs({"critic": "none"})
    assert not no_critic["shared_lstm"] and not no_critic["enable_critic_lstm"]
    assert recurrent.lstm_policy("MlpPolicy") == "MlpLstmPolicy"
    assert recurrent.lstm_policy("CnnLstmPolicy") == "CnnLstmPolicy"


@pytest.mark.parametrize(("kwargs", "key"), [
    ({"hidden_size": 0}, "hidden_size"), ({"layers": 1.5}, "layers"), ({"critic": "both"}, "critic"),
    ({"hiden_size": 8}, "hiden_size"), ({"encoder": "small_cnm"}, "small_cnm"), ([8], "mapping"),
])
def test_bad_options_name_the_key(kwargs: object, key: str) -> None:
    with pytest.raises(UserError, match=key):
        _policy_kwargs(kwargs)
