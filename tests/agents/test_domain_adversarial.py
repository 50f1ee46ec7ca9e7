"""Domain-adversarial training (agents/run/domain.py): tiny real runs on gymsuite/PixelCartPole-v0."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from stable_baselines3 import PPO

from gymsuite.agents.run import training
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import resume, train
from gymsuite.commands import _cli
from gymsuite.commands import train as train_command

ENV = "gymsuite/PixelCartPole-v0"
TINY = ["n_steps=16", "batch_size=16", "n_epochs=2", "n_envs=2", "backbone=small_cnn",
        "backbone_kwargs={features_dim: 32}", "policy_kwargs={net_arch: [16]}"]
DANN = "domain_adversarial={target: gymsuite/PixelCartPoleRecolored-v0, weight: 0.5, batch_size: 8, steps: 8}"


def logged(run: Path, key: str) -> list[float]:
    with open(run / "logs" / "progress.csv") as f:
        return [float(row[key]) for row in csv.DictReader(f) if row.get(key)]


def test_a_dann_run_writes_its_classifier_logs_accuracy_and_resumes_exactly(in_tmp: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "_log_interval", lambda model: 1)  # a dump per rollout (else every 2048 steps)
    cfg = build_config({"algo": "ppo", "env": ENV, "timesteps": 128, "checkpoint_freq": 32, "eval_freq": 0,
                        "eval_episodes": 1}, None, [*TINY, DANN])
    first = train(cfg, "run")
    accuracy = logged(first.run.root, "domain/accuracy")
    assert accuracy and all(0 <= a <= 1 for a in accuracy)
    assert all(r > 0 for r in logged(first.run.root, "domain/grad_ratio"))
    assert first.run.domain.is_file() and first.run.checkpoint(96, "_domain.pt").is_file()
    weights = first.run.model.read_bytes()
    classifier = torch.load(first.run.domain, weights_only=True)["classifier"]
    assert PPO.load(first.run.model, device="cpu").policy is not None  # still a plain SB3 model
    resume("run")  # from step 96 again
    Path("uninterrupted.zip").write_bytes(weights)
    a, b = (PPO.load(p, device="cpu").policy.state_dict() for p in ("uninterrupted.zip", first.run.model))
    assert all(torch.equal(a[k], b[k]) for k in a)
    after = torch.load(first.run.domain, weights_only=True)["classifier"]
    assert all(torch.equal(classifier[k], after[k]) for k in classifier)


def test_the_reversed_or_confusion_gradient_changes_the_extractor_and_a_zero_weight_does_not(in_tmp: Path) -> None:
    """Same seed, same rollouts: weight 0 trains the classifier only, so its extractor equals a plain run's."""
    def extractor(*hyper: str, name: str) -> dict[str, torch.Tensor]:
        cfg = build_config({"algo": "ppo", "env": ENV, "timesteps": 64, "checkpoint_freq": 0, "eval_freq": 0,
                            "eval_episodes": 1}, None, [*TINY, *hyper])
        run = train(cfg, name).run
        state = PPO.load(run.model, device="cpu").policy.state_dict()
        return {k: v for k, v in state.items() if k.startswith("features_extractor.")}

    plain = extractor(name="plain")
    zero = extractor("domain_adversarial={target: {background: 0.5}, weight: 0, batch_size: 8, steps: 4}",
                     name="zero")
    dann = extractor("domain_adversarial={target: {background: 0.5}, weight: 1, batch_size: 8, steps: 4}",
                     name="dann")
    confused = extractor("domain_adversarial={target: {background: 0.5}, weight: 1, objective: confusion, "
                         "batch_size: 8, steps: 4}", name="confused")
    assert plain.keys() == zero.keys() == dann.keys() == confused.keys() and plain
    assert all(torch.equal(plain[k], zero[k]) for k in plain)
    assert not all(torch.equal(plain[k], dann[k]) for k in plain)
    assert not all(torch.equal(plain[k], confused[k]) for k in plain)
    assert not all(torch.equal(dann[k], confused[k]) for k in plain)


@pytest.mark.parametrize(("env", "hyper", "message"), [
    ("CartPole-v1", [DANN], "needs image observations and an image backbone"),
    (ENV, [*TINY, DANN.replace("weight: 0.5", "weight: -1")], "weight"),
    (ENV, [*TINY, DANN.replace("weight: 0.5", "weight: .nan")], "weight"),
    (ENV, [*TINY, "domain_adversarial={target: CartPole-v1}"], "observation space"),
    (ENV, [*TINY, "domain_adversarial={target: {backgrund: 0.5}}"], "background"),
    (ENV, [*TINY, "domain_adversarial={target: {background: 2}}"], "[0, 1]"),
    (ENV, [*TINY, "domain_adversarial={weight: 1}"], "needs a target domain"),
    (ENV, ["--algo", "dqn", DANN], "cannot be used with dqn"),
])
def test_bad_input_is_exit_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str], env: str,
                                                hyper: list[str], message: str) -> None:
    algo = hyper[1] if hyper[0] == "--algo" else "ppo"
    hyper = hyper[2:] if hyper[0] == "--algo" else hyper
    run = tmp_path / "run"
    capsys.readouterr()
    assert _cli.run(train_command.main, ["--algo", algo, "--env", env, "--timesteps", "64", "--run-dir", str(run),
                                         "--hyperparams", *hyper]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert not run.exists()


@pytest.mark.parametrize("algo", ["a2c", "pg"])
def test_other_on_policy_algorithms_train_the_classifier_too(in_tmp: Path, algo: str) -> None:
    cfg = build_config({"algo": algo, "env": ENV, "timesteps": 64, "checkpoint_freq": 0, "eval_freq": 0,
                        "eval_episodes": 1}, None, ["n_steps=16", "n_envs=2", "backbone=small_cnn",
                                                    "backbone_kwargs={features_dim: 32}", DANN])
    run = train(cfg, "run").run
    state = torch.load(run.domain, weights_only=True)
    assert state["optimizer"]["state"][0]["step"] > 0  # the classifier took Adam steps
