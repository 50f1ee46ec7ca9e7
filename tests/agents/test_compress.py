"""gymsuite compress on a trained CartPole teacher: pruning, structured pruning, distillation, int8, sweeps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch as th
from stable_baselines3 import PPO

import gymsuite
from gymsuite.agents.files.maskfile import load_masks
from gymsuite.agents.run import compressing, pruning
from gymsuite.agents.saved.loading import load_agent
from gymsuite.agents.saved.policynets import ActingNet, acting_prefixes, check_policy, hidden_chains
from gymsuite.supervised import compression as cx

FAST = {"episodes": 3, "states": 200}


def _acting_weights(model: PPO) -> dict[str, th.Tensor]:
    return {name: p.detach().clone() for name, p in model.policy.named_parameters()
            if name.endswith("weight") and not name.startswith(("mlp_extractor.value_net", "value_net"))}


def test_pruning_zeroes_the_weights_and_the_masks_survive_save_and_load(cartpole_teacher: Path,
                                                                        tmp_path: Path) -> None:
    out = tmp_path / "pruned"
    report = gymsuite.compress(cartpole_teacher, out, prune=0.9, **FAST)
    assert sorted(p.name for p in out.iterdir()) == ["compress.json", "config.yaml", "eval.json", "masks.npz",
                                                      "model.zip"]
    model = PPO.load(out / "model.zip", device="cpu")  # plain SB3
    masks = load_masks(out / "masks.npz")
    params = dict(model.policy.named_parameters())
    assert set(masks) == set(cx.prunable_weights(model.policy, acting_prefixes(check_policy(model, "ppo"))))
    assert not any(name.startswith(("mlp_extractor.value_net", "value_net")) for name in masks)  # the critic: dense
    for name, mask in masks.items():
        assert (params[name][~mask] == 0).all()
    kept = [m for n, m in masks.items() if not n.startswith(("mlp_extractor.value_net", "value_net"))]
    total = sum(m.numel() for m in kept)
    assert sum(int(m.sum()) for m in kept) == total - round(0.9 * total)  # exactly 90% of the acting weights
    compressed = report["compressed"]
    acting = sum(w.numel() for w in _acting_weights(model).values())
    assert compressed["parameters"] == report["teacher"]["parameters"]
    assert compressed["parameters"] - compressed["nonzero"] == round(0.9 * acting)
    assert 0 <= compressed["agreement"] <= 1 and len(compressed["returns"]) == 3
    assert json.loads((out / "compress.json").read_text())["compressed"]["nonzero"] == compressed["nonzero"]
    assert gymsuite.evaluate(out, episodes=2)["episodes"] == 2  # an ordinary run directory


@pytest.mark.parametrize("by", ["teacher", "algo"])
def test_fine_tuning_prunes_gradually_and_keeps_the_zeros_at_zero(cartpole_teacher: Path, tmp_path: Path,
                                                                  temp_dir: Path, by: str) -> None:
    report = gymsuite.compress(cartpole_teacher, tmp_path / "tuned", prune=0.8, finetune=1024,
                               finetune_by=None if by == "teacher" else by, **FAST)  # the teacher: the default
    assert not list(temp_dir.glob("SB3-*"))  # fine-tuning logged nowhere else
    details = report["details"]
    assert details["gradual"] and details["finetune"] == 1024 and details["finetune_by"] == by
    assert ("history" in details) == (by == "teacher")
    masks = load_masks(tmp_path / "tuned" / "masks.npz")
    total = sum(m.numel() for m in masks.values())
    assert total - sum(int(m.sum()) for m in masks.values()) == round(0.8 * total)  # the target, reached
    teacher = dict(PPO.load(cartpole_teacher / "model.zip", device="cpu").policy.named_parameters())
    tuned = dict(PPO.load(tmp_path / "tuned" / "model.zip", device="cpu").policy.named_parameters())
    moved = 0.0
    for name, mask in masks.items():
        assert (tuned[name][~mask] == 0).all()
        moved += float((tuned[name][mask] - teacher[name][mask]).detach().abs().sum())
    assert moved > 0  # it trained


def test_the_teacher_teaches_a_pruned_policy_back_to_its_actions(cartpole_teacher: Path, tmp_path: Path) -> None:
    """Pruned to 95% at once, the policy disagrees with its teacher on a third of its states; taught by it for
    4,096 steps (pruned gradually over the first half, in 8 rounds), it takes the teacher's action nearly wherever
    the teacher is sure of one, at the same sparsity."""
    once = gymsuite.compress(cartpole_teacher, tmp_path / "once", prune=0.95, **FAST)
    taught = gymsuite.compress(cartpole_teacher, tmp_path / "taught", prune=0.95, finetune=4096, **FAST)
    assert taught["compressed"]["nonzero"] == once["compressed"]["nonzero"]
    assert taught["compressed"]["agreement"] > once["compressed"]["agreement"] + 0.1
    assert taught["compressed"]["agreement"] >= 0.85
    assert len(taught["details"]["history"]) == 8  # rounds of 512 steps


def test_a_structured_pruning_taught_by_its_teacher_is_a_trained_smaller_policy(cartpole_teacher: Path,
                                                                                 tmp_path: Path) -> None:
    teacher = load_agent(str(cartpole_teacher))
    sliced = pruning.prune(teacher, 0.5, structured=True).model.policy.state_dict()
    report = gymsuite.compress(cartpole_teacher, tmp_path / "small", prune=0.5, structured=True, finetune=2048,
                               **FAST)
    assert report["details"]["net_arch"] == {"pi": [16, 16], "vf": [16, 16]}
    assert report["details"]["finetune_by"] == "teacher" and "masks.npz" not in os.listdir(tmp_path / "small")
    taught = PPO.load(tmp_path / "small" / "model.zip", device="cpu").policy.state_dict()
    assert any(not th.equal(taught[k], sliced[k]) for k in sliced)  # it trained
    assert report["compressed"]["agreement"] >= 0.8


def test_the_gradual_pruner_raises_the_sparsity_along_its_schedule() -> None:
    from stable_baselines3.common.env_util import make_vec_env

    from gymsuite.agents.run.callbacks import GradualPruner

    model = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=1), n_steps=64, batch_size=64, n_epochs=1,
                device="cpu", seed=0)
    weights = lambda: cx.prunable_weights(model.policy, acting_prefixes(model.policy))  # noqa: E731
    seen: list[float] = []

    def masks_at(sparsity: float) -> dict[str, th.Tensor]:
        seen.append(sparsity)
        return cx.magnitude_masks(weights(), sparsity)

    pruner = GradualPruner(model, cx.GradualMasks(model.policy, masks_at, 0.9), ramp=256)
    model.learn(512, callback=pruner)
    assert seen == sorted(seen) and seen[-1] == 0.9 and len(seen) >= 4  # rising, one step per rollout, then none
    assert seen[0] == pytest.approx(0.9 * (1 - (1 - 64 / 256) ** 3))
    nonzero, total = cx.count_parameters(weights().values())
    assert total - nonzero == round(0.9 * total)


def test_structured_pruning_is_a_smaller_standard_policy_equal_to_the_masked_big_one(cartpole_teacher: Path
                                                                                      ) -> None:
    teacher = load_agent(str(cartpole_teacher))
    policy = check_policy(teacher.model, "ppo")
    result = pruning.prune(teacher, 0.5, structured=True)
    assert result.hyperparams["net_arch"] == {"pi": [16, 16], "vf": [16, 16]}
    small = check_policy(result.model, "ppo")
    masks = {}
    for chain in hidden_chains(policy):
        kept = [cx.keep_top(cx.neuron_scores(layer), 0.5) for layer in chain.layers[:-1]]
        masks.update(cx.chain_masks(chain.layers, kept, chain.names))
    cx.apply_masks(policy, masks)  # the big policy with the removed units' connections zeroed
    x = th.randn(64, 4)
    with th.no_grad():
        assert th.allclose(ActingNet(small)(x), ActingNet(policy)(x), atol=1e-5)
        assert th.allclose(small.predict_values(x), policy.predict_values(x), atol=1e-5)
    sizes = [cx.count_parameters(ActingNet(p).parameters())[1] for p in (small, policy)]
    assert sizes[0] < sizes[1]


def test_a_distilled_students_agreement_rises(cartpole_teacher: Path, tmp_path: Path) -> None:
    report = gymsuite.compress(cartpole_teacher, tmp_path / "student", distill="8", steps=10_240, **FAST)
    history = [h["agreement"] for h in report["details"]["history"]]
    assert len(history) == 5
    assert history[-1] > history[0] + 0.2 and history[-1] > 0.75
    assert report["compressed"]["parameters"] * 15 < report["teacher"]["parameters"]
    model = PPO.load(tmp_path / "student" / "model.zip", device="cpu")
    assert model.policy.net_arch == [8]
    cfg = gymsuite.load(tmp_path / "student")  # the config names the student's net_arch
    assert cfg.algo == "ppo"


def test_int8_rounds_every_linear_weight_and_stays_close(cartpole_teacher: Path, tmp_path: Path) -> None:
    report = gymsuite.compress(cartpole_teacher, tmp_path / "int8", int8=True, **FAST)
    model = PPO.load(tmp_path / "int8" / "model.zip", device="cpu")
    for name, weight in _acting_weights(model).items():
        assert len(th.unique(weight)) <= 256, name
    compressed, teacher = report["compressed"], report["teacher"]
    assert compressed["bytes"] < teacher["bytes"]  # torch.save overhead dominates a network this small
    assert compressed["agreement"] >= 0.9
    assert compressed["return_iqm"] >= 0.8 * teacher["return_iqm"]


def test_a_sweep_writes_a_run_per_size_and_the_curve(cartpole_teacher: Path, tmp_path: Path) -> None:
    out = tmp_path / "curve"
    result = gymsuite.compress(cartpole_teacher, out, prune=[0.5, 0.95], sweep=True, **FAST)
    assert [p["value"] for p in result["points"]] == ["0.5", "0.95"]
    assert result["points"][0]["nonzero"] > result["points"][1]["nonzero"]
    assert sorted(p.name for p in out.iterdir()) == ["prune-0.5", "prune-0.95", "sweep.json", "sweep.png"]
    assert json.loads((out / "sweep.json").read_text())["points"][1]["run_dir"] == str(out / "prune-0.95")
    assert gymsuite.evaluate(out / "prune-0.5", episodes=1)["episodes"] == 1


def test_a_failure_leaves_nothing_and_keeps_the_old_output(cartpole_teacher: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "pruned"
    out.mkdir()
    (out / "config.yaml").write_text("algo: ppo\nenv: CartPole-v1\n")  # an older run, which --overwrite replaces
    (out / "keep.txt").write_text("old")

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(compressing, "write_run", broken)
    with pytest.raises(OSError):
        gymsuite.compress(cartpole_teacher, out, prune=0.5, overwrite=True, **FAST)
    assert [p.name for p in tmp_path.iterdir()] == ["pruned"] and (out / "keep.txt").read_text() == "old"


def test_quantisation_aware_fine_tuning_keeps_the_weights_on_the_int8_grid(cartpole_teacher: Path,
                                                                           tmp_path: Path) -> None:
    plain = gymsuite.compress(cartpole_teacher, tmp_path / "int8", int8=True, **FAST)
    tuned = gymsuite.compress(cartpole_teacher, tmp_path / "qat", int8=True, finetune=512, **FAST)
    assert tuned["details"]["finetune"] == 512 and "finetune" not in plain["details"]
    before = _acting_weights(PPO.load(tmp_path / "int8" / "model.zip", device="cpu"))
    after = _acting_weights(PPO.load(tmp_path / "qat" / "model.zip", device="cpu"))
    assert any(not th.equal(before[name], after[name]) for name in before)  # it trained
    for name, weight in after.items():
        assert len(th.unique(weight)) <= 256, name


def test_pruning_a_pruned_run_again_keeps_its_zeros(cartpole_teacher: Path, tmp_path: Path) -> None:
    gymsuite.compress(cartpole_teacher, tmp_path / "half", prune=0.5, finetune=512, **FAST)
    gymsuite.compress(tmp_path / "half", tmp_path / "more", prune=0.7, **FAST)
    first, second = load_masks(tmp_path / "half" / "masks.npz"), load_masks(tmp_path / "more" / "masks.npz")
    assert all(not (second[name] & ~mask).any() for name, mask in first.items())  # a zero stays a zero


def _tiny(root: Path, algo: str, **hyper: object) -> Path:
    from gymsuite.agents.run.config import build_config
    from gymsuite.agents.run.training import train

    cfg = build_config({"algo": algo, "env": "CartPole-v1", "timesteps": 256, "n_envs": 1, "eval_episodes": 1},
                       overrides=hyper)
    train(cfg, root)
    return root


def test_dqn_structured_pruning_equals_the_masked_q_network(tmp_path: Path) -> None:
    teacher = load_agent(str(_tiny(tmp_path / "dqn", "dqn", learning_starts=64)))
    policy = check_policy(teacher.model, "dqn")
    result = pruning.prune(teacher, 0.5, structured=True)
    [chain] = hidden_chains(policy)
    kept = [cx.keep_top(cx.neuron_scores(layer), 0.5) for layer in chain.layers[:-1]]
    cx.apply_masks(policy, cx.chain_masks(chain.layers, kept, chain.names))
    small = check_policy(result.model, "dqn")
    x = th.randn(32, 4)
    with th.no_grad():
        assert th.allclose(small.q_net(x), policy.q_net(x), atol=1e-5)
        assert th.equal(small.q_net(x), small.q_net_target(x))
    assert result.hyperparams["net_arch"] == [128, 128]  # DQN's default [256, 256], halved


def test_a_dqn_taught_after_pruning_keeps_its_target_network_equal_and_pruned(tmp_path: Path) -> None:
    from stable_baselines3 import DQN

    teacher = _tiny(tmp_path / "dqn", "dqn", learning_starts=64)
    report = gymsuite.compress(teacher, tmp_path / "pruned", prune=0.8, finetune=512, temperature=0.01, **FAST)
    assert report["details"]["finetune_by"] == "teacher"
    policy = DQN.load(tmp_path / "pruned" / "model.zip", device="cpu").policy
    masks = load_masks(tmp_path / "pruned" / "masks.npz")
    params = dict(policy.named_parameters())
    for name, mask in masks.items():
        assert (params[name][~mask] == 0).all()
    x = th.randn(16, 4)
    with th.no_grad():
        assert th.equal(policy.q_net(x), policy.q_net_target(x))


def test_a_normalised_run_keeps_its_statistics(tmp_path: Path) -> None:
    teacher = _tiny(tmp_path / "norm", "ppo", normalize=True, n_steps=64, batch_size=64)
    report = gymsuite.compress(teacher, tmp_path / "int8", int8=True, **FAST)
    assert (tmp_path / "int8" / "vecnormalize.npz").read_bytes() == (teacher / "vecnormalize.npz").read_bytes()
    assert report["compressed"]["agreement"] >= 0.9


def test_an_ensemble_labels_with_its_averaged_distribution(cartpole_teacher: Path, tmp_path: Path) -> None:
    report = gymsuite.compress(cartpole_teacher, tmp_path / "ens", distill="8", teachers=[cartpole_teacher],
                               steps=4096, temperature=0.5, **FAST)
    assert report["details"]["teachers"] == [str(cartpole_teacher)] * 2 and report["details"]["temperature"] == 0.5
    assert report["details"]["history"][-1]["agreement"] > report["details"]["history"][0]["agreement"]
