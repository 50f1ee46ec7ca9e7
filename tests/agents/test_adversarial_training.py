"""Proactive defences in training: adversarial rollouts and the smoothness regulariser (agents/run/adversarial.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.options import run_options
from gymsuite.agents.run.training import train
from gymsuite.common.errors import UserError
from tests.pinned import PPO_CARTPOLE_FIRST_ENTRY


def _config(hyper: dict, env: str = "CartPole-v1", algo: str = "ppo", timesteps: int = 6000):
    fixed = PPO_CARTPOLE_FIRST_ENTRY if (algo, env) == ("ppo", "CartPole-v1") else {}
    return build_config({"algo": algo, "env": env, "timesteps": timesteps, "eval_episodes": 10, "seed": 0},
                        overrides={**fixed, **hyper})


def _log(run: Path, key: str) -> list[float]:
    rows = list(csv.DictReader(open(run / "logs" / "progress.csv")))
    return [float(r[key]) for r in rows if r.get(key)]


def test_adversarial_and_smooth_training_keeps_learning(tmp_path: Path) -> None:
    """Half the rollout's observations PGD-perturbed at 0.05 and the regulariser on: CartPole's return still rises
    well above a random policy's (about 22) in 10,000 steps (plain PPO: 110 at 6,000, 188 here at 10,000)."""
    cfg = _config({"adversarial": {"attack": "pgd", "eps": 0.05, "fraction": 0.5, "steps": 3},
                   "smooth": {"eps": 0.05, "coef": 0.3, "steps": 2}}, timesteps=10_000)
    result = train(cfg, tmp_path / "run")
    assert result.eval["mean_return"] > 100
    perturbed = _log(tmp_path / "run", "robust/perturbed_observations")
    assert perturbed and 0.3 < perturbed[-1] / result.steps < 0.7  # about half of the observations
    kl = _log(tmp_path / "run", "robust/smooth_kl")
    assert kl and min(kl) >= 0


def test_options_are_parsed_into_the_run_options() -> None:
    hyper = _config({"adversarial": {"eps": 0.2}, "smooth": True}).hyperparams
    robust = run_options(hyper, "CartPole-v1").robust
    assert robust.adversarial is not None and robust.adversarial.eps == 0.2 and robust.adversarial.attack == "pgd"
    assert robust.smooth is not None and robust.smooth.coef == 0.3


@pytest.mark.parametrize(("hyper", "algo", "words"), [
    ({"adversarial": {"attack": "fgsn"}}, "ppo", "did you mean 'fgsm'"),
    ({"adversarial": {"eps": -0.1}}, "ppo", "eps"),
    ({"adversarial": {"eps": float("nan")}}, "ppo", "eps"),
    ({"adversarial": {"fraction": 1.5}}, "ppo", "fraction"),
    ({"smooth": {"eps": 0.1, "coeff": 1}}, "ppo", "did you mean 'coef'"),
    ({"smooth": {"eps": 0.1}}, "dqn", "cannot be used with dqn"),
    ({"adversarial": "pgd"}, "ppo", "must be a mapping"),
])
def test_bad_options_are_refused(hyper: dict, algo: str, words: str) -> None:
    with pytest.raises(UserError) as err:
        _config(hyper, algo=algo)
    assert words in str(err.value) + str(err.value.hint)


def test_discrete_observations_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    cfg = _config({"adversarial": {"eps": 0.1}}, env="FrozenLake-v1", timesteps=256)
    with pytest.raises(UserError, match="discrete observations"):
        train(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_eps_warmup_grows_linearly_then_holds() -> None:
    from types import SimpleNamespace

    from gymsuite.agents.run.adversarial import scheduled

    model = SimpleNamespace(_total_timesteps=1000, num_timesteps=0)
    seen = []
    for steps in (0, 250, 500, 900):
        model.num_timesteps = steps
        seen.append(scheduled(0.2, 0.5, model))  # type: ignore[arg-type]
    assert seen == pytest.approx([0.0, 0.1, 0.2, 0.2]) and scheduled(0.2, 0.0, model) == 0.2  # type: ignore[arg-type]
