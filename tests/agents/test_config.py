"""Config merging: defaults < --config file < CLI; every bad key or value is named."""

from __future__ import annotations

from pathlib import Path

import pytest
from stable_baselines3.common.utils import LinearSchedule

from gymsuite.agents.algorithms import registry
from gymsuite.agents.run import config as config_module
from gymsuite.agents.run.config import build_config, parse_assignments, tuned_entries
from gymsuite.agents.run.options import run_options
from gymsuite.agents.run.resolved import model_kwargs
from gymsuite.agents.run.training import train
from gymsuite.common.errors import UserError


def test_defaults_come_from_the_env_entry_then_default() -> None:
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "preset": "zoo"})
    assert cfg.n_envs == 8 and cfg.timesteps == 100_000 and cfg.preset == "zoo"
    assert cfg.hyperparams["n_steps"] == 32 and cfg.hyperparams["learning_rate"] == "lin_0.001"
    generic = build_config({"algo": "ppo", "env": "gymsuite/SparseGrid-v0"})
    assert generic.hyperparams["n_steps"] == 128
    other = build_config({"algo": "ppo", "env": "Taxi-v3"})
    assert other.n_envs == 8 and "n_steps" not in other.hyperparams


def test_the_gymsuite_preset_takes_its_tuned_entry_else_the_zoo_s(tmp_path: Path) -> None:
    ours = build_config({"algo": "ppo", "env": "CartPole-v1"})  # the default preset
    assert ours.preset == "gymsuite" and ours.n_envs == 16 and ours.hyperparams["n_epochs"] == 6
    assert ours.timesteps < 100_000
    for env in ("MountainCarContinuous-v0", "gymsuite/SparseGrid-v0"):  # no tuned entry: the zoo's, under both presets
        assert (build_config({"algo": "ppo", "env": env}).hyperparams
                == build_config({"algo": "ppo", "env": env, "preset": "zoo"}).hyperparams)
    config = tmp_path / "config.yaml"  # a config file's preset is honoured (and a run's config.yaml records it)
    config.write_text("algo: ppo\nenv: CartPole-v1\npreset: zoo\n")
    assert build_config({}, config).hyperparams["n_epochs"] == 20
    with pytest.raises(UserError, match="did you mean 'zoo'"):
        build_config({"algo": "ppo", "env": "CartPole-v1", "preset": "zo"})


@pytest.mark.parametrize(("algo", "env"), tuned_entries())
def test_every_gymsuite_entry_is_its_own_complete_setting_and_trains(algo: str, env: str, tmp_path: Path) -> None:
    cli = {"algo": algo, "env": env, "timesteps": 1024, "eval_freq": 0, "eval_episodes": 1, "checkpoint_freq": 0}
    ours = build_config(cli)
    zoo = build_config({"algo": algo, "env": env, "preset": "zoo"})
    assert ours.preset == "gymsuite" and ours.hyperparams != zoo.hyperparams
    assert "policy" in ours.hyperparams and "n_timesteps" in ours.hyperparams  # complete: nothing from the zoo's
    rollout = ours.n_envs * ours.hyperparams.get("n_steps", 0)
    if algo == "ppo" and rollout > 1024:  # one 1,024-step rollout of the entry's own settings: PixelCartPole's whole
        n_steps = 1024 // ours.n_envs     # 16,384-step one is trained by test_pixel_cartpole_agent_beats_random
        ours = build_config(cli, overrides={"n_steps": n_steps,
                                            "batch_size": min(ours.hyperparams["batch_size"], n_steps * ours.n_envs)})
    result = train(ours, tmp_path / "run")
    assert result.steps >= 1024 and (tmp_path / "run" / "model.zip").is_file()


def test_an_entry_s_per_backbone_defaults_apply_to_that_backbone_under_the_user_s(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gymsuite").mkdir()
    (tmp_path / "ppo.yml").write_text(
        "CartPole-v1:\n  n_envs: 4\n  n_steps: 32\n  learning_rate: 0.001\n"
        "  backbones:\n    framestack: {n_steps: 64, backbone_kwargs: {context: 2}}\n")
    monkeypatch.setattr(config_module, "HYPERPARAMS_DIR", tmp_path)
    plain = build_config({"algo": "ppo", "env": "CartPole-v1"})
    assert plain.hyperparams["n_steps"] == 32 and "backbones" not in plain.hyperparams
    assert "backbone_kwargs" not in plain.hyperparams
    stacked = build_config({"algo": "ppo", "env": "CartPole-v1"}, overrides=["backbone=framestack"])
    assert stacked.hyperparams["n_steps"] == 64 and stacked.hyperparams["backbone_kwargs"] == {"context": 2}
    assert stacked.hyperparams["learning_rate"] == 0.001  # the entry's own values stay
    mine = build_config({"algo": "ppo", "env": "CartPole-v1"},
                        overrides=["backbone=framestack", "n_steps=16", "backbone_kwargs={context: 3}"])
    assert mine.hyperparams["n_steps"] == 16 and mine.hyperparams["backbone_kwargs"] == {"context": 3}
    file = tmp_path / "c.yaml"  # a config file's backbone picks them too (a run's config.yaml names its own)
    file.write_text("hyperparams: {backbone: framestack}\n")
    assert build_config({"algo": "ppo", "env": "CartPole-v1"}, file).hyperparams["n_steps"] == 64


def test_an_entry_s_reward_shaping_is_the_run_s_unless_the_user_gives_one_or_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gymsuite").mkdir()
    terms = {"terms": {"alive": {"kind": "living", "weight": -0.01}}}
    (tmp_path / "gymsuite" / "ppo.yml").write_text(
        "CartPole-v1:\n  n_envs: 2\n  policy: MlpPolicy\n  n_timesteps: 1000\n"
        "  reward_shaping: {terms: {alive: {kind: living, weight: -0.01}}}\n")
    (tmp_path / "ppo.yml").write_text("CartPole-v1:\n  n_envs: 8\n  policy: MlpPolicy\n")
    monkeypatch.setattr(config_module, "HYPERPARAMS_DIR", tmp_path)
    cli = {"algo": "ppo", "env": "CartPole-v1"}
    entry = build_config(cli)
    assert entry.reward_shaping == entry.shaping == terms and "reward_shaping" not in entry.hyperparams
    assert build_config({**cli, "reward_shaping": "mine.yaml"}).shaping == "mine.yaml"
    assert build_config({**cli, "reward_shaping": {"terms": {}}}).shaping == {"terms": {}}  # the API's mapping
    off = build_config({**cli, "reward_shaping": "none"})
    assert off.reward_shaping == "none" and off.shaping is None
    assert build_config({**cli, "preset": "zoo"}).shaping is None
    with pytest.raises(UserError, match="unknown hyperparameter 'reward_shaping'"):
        build_config(cli, overrides=["reward_shaping=none"])  # a run setting, not a hyperparameter


@pytest.mark.parametrize("preset", ["gymsuite", "zoo"])
def test_cartpole_novel_ships_transformer_defaults_and_leaves_other_backbones_alone(preset: str) -> None:
    """The shipped entry's transformer part (docs/studies/ppo-transformer-CartPoleNoVel.md) in both presets: the zoo
    has no transformer entry to keep."""
    cli = {"algo": "ppo", "env": "gymsuite/CartPoleNoVel-v0", "preset": preset}
    transformer = build_config(cli, overrides=["backbone=transformer"]).hyperparams
    assert transformer["backbone_kwargs"] == {"context": 3, "d_model": 16, "gated": True}
    assert transformer["n_epochs"] == 10 and transformer["n_steps"] == 32
    assert transformer["learning_rate"] == "lin_0.001"  # the entry's own values stay
    lstm = build_config(cli, overrides=["backbone=lstm"]).hyperparams
    assert lstm["n_epochs"] == 20 and "backbone_kwargs" not in lstm and "backbones" not in lstm


def test_precedence_file_then_cli(tmp_path: Path) -> None:
    file = tmp_path / "c.yaml"
    file.write_text("timesteps: 5000\nseed: 3\nhyperparams: {n_steps: 64, gamma: 0.9}\n")
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "seed": 5}, str(file), ["gamma=0.95"])
    assert (cfg.timesteps, cfg.seed) == (5000, 5)
    assert cfg.hyperparams["n_steps"] == 64 and cfg.hyperparams["gamma"] == 0.95
    assert cfg.hyperparams["batch_size"] == 128  # still the tuned default (the gymsuite preset's)


def test_schedules_and_policy_kwargs_become_objects() -> None:
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "preset": "zoo"}, None,
                       ["policy_kwargs={net_arch: [16], activation_fn: relu}"])
    policy, kwargs = model_kwargs(registry.get("ppo"), cfg)
    assert policy == "MlpPolicy"
    assert isinstance(kwargs["learning_rate"], LinearSchedule) and kwargs["learning_rate"](0.5) == pytest.approx(5e-4)
    assert kwargs["policy_kwargs"]["activation_fn"].__name__ == "ReLU"
    assert "n_envs" not in kwargs and "n_timesteps" not in kwargs


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["lerning_rate=0.1"], "(?s)unknown hyperparameter 'lerning_rate'.*learning_rate"),
        (["gamma=1.5"], "bad value for hyperparameter 'gamma'"),
        (["n_steps=abc"], "bad value for hyperparameter 'n_steps'"),
        (["batch_size=0"], "bad value for hyperparameter 'batch_size'"),
        (["learning_rate=lin_x"], "bad value for 'learning_rate'"),
        (["novalue"], "expected key=value"),
        (["exploration_fraction=0.1"], "unknown hyperparameter 'exploration_fraction' for ppo"),
    ],
)
def test_bad_hyperparameters_are_named(overrides: list[str], message: str) -> None:
    with pytest.raises(UserError, match=message):
        build_config({"algo": "ppo", "env": "CartPole-v1"}, None, overrides)


def test_bad_config_files(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("hyperparams: {n_steps: [1, 2\n")
    with pytest.raises(UserError, match="not valid YAML"):
        build_config({"algo": "ppo", "env": "CartPole-v1"}, str(bad_yaml))
    bad_key = tmp_path / "key.yaml"
    bad_key.write_text("timestep: 10\n")
    with pytest.raises(UserError, match="(?s)unknown key.*timestep"):
        build_config({"algo": "ppo", "env": "CartPole-v1"}, str(bad_key))
    with pytest.raises(UserError, match="does not exist"):
        build_config({"algo": "ppo", "env": "CartPole-v1"}, str(tmp_path / "nope.yaml"))


def test_negative_timesteps_and_unknown_algo() -> None:
    with pytest.raises(UserError, match="timesteps must be an integer >= 1"):
        build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": -1})
    with pytest.raises(UserError, match="(?s)unknown algorithm 'ppx'.*ppo"):
        build_config({"algo": "ppx", "env": "CartPole-v1"})


def test_hyperparameters_among_the_settings_are_refused_not_dropped() -> None:
    with pytest.raises(UserError, match="'hyperparams' key.*ignored") as err:
        build_config({"algo": "ppo", "env": "CartPole-v1", "hyperparams": {"n_steps": 64}})
    assert "overrides" in str(err.value.hint)
    assert build_config({"algo": "ppo", "env": "CartPole-v1"}, None, {"n_steps": 64}).hyperparams["n_steps"] == 64


def test_parse_assignments_reads_yaml_values() -> None:
    assert parse_assignments(["a=1", "b=0.5", "c=true", "d=[1, 2]", "e=lin_0.1"]) == {
        "a": 1, "b": 0.5, "c": True, "d": [1, 2], "e": "lin_0.1"}


def test_exponent_numbers_without_a_dot_are_numbers(tmp_path: Path) -> None:
    # YAML 1.1 (PyYAML) would read "1e-4" as a string and reject learning_rate=1e-4 as "not a number".
    assert parse_assignments(["lr=1e-4", "n=3E5", "neg=-2e-3", "word=e5", "half=1e"]) == {
        "lr": 1e-4, "n": 3e5, "neg": -2e-3, "word": "e5", "half": "1e"}
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1"}, overrides=["learning_rate=1e-4", "n_steps=1e2"])
    assert cfg.hyperparams["learning_rate"] == 1e-4
    assert cfg.hyperparams["n_steps"] == 100 and isinstance(cfg.hyperparams["n_steps"], int)
    config = tmp_path / "run.yaml"
    config.write_text("algo: ppo\nenv: CartPole-v1\ntimesteps: 2e3\nhyperparams: {ent_coef: 1e-2}\n")
    cfg = build_config({}, config_file=str(config))
    assert cfg.timesteps == 2000 and cfg.hyperparams["ent_coef"] == 0.01


@pytest.mark.parametrize("setting", [{"timesteps": 0}, {"n_envs": 0}, {"eval_freq": -2}, {"checkpoint_freq": -5},
                                     {"eval_max_episode_steps": 0}])
def test_zero_and_negative_counts_are_refused_not_read_as_defaults(setting: dict) -> None:
    # 0 used to mean "tuned per env" (an `or`), and any negative frequency meant the default.
    key = next(iter(setting))
    with pytest.raises(UserError, match=f"bad value for setting '{key}'"):
        build_config({"algo": "ppo", "env": "CartPole-v1", **setting})


def test_not_given_counts_take_the_tuned_values_and_sentinels_still_work() -> None:
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": None, "n_envs": None, "preset": "zoo"})
    assert (cfg.timesteps, cfg.n_envs) == (100_000, 8)  # ppo.yml's CartPole-v1 entry
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 64, "n_envs": 1, "eval_freq": -1,
                        "checkpoint_freq": 0})
    assert (cfg.timesteps, cfg.n_envs, cfg.eval_freq, cfg.checkpoint_freq) == (64, 1, -1, 0)
    assert cfg.hyperparams["n_timesteps"] == 64 and cfg.hyperparams["n_envs"] == 1


@pytest.mark.parametrize(("value", "message"), [
    ("nope", "bad value for 'normalize'"), ("1", "bad value for 'normalize'"),
    ("{norm_rewrd: false}", "(?s)unknown VecNormalize option 'norm_rewrd'.*norm_reward"),
])
def test_normalize_is_a_bool_or_vecnormalize_options(value: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        build_config({"algo": "ppo", "env": "CartPole-v1"}, None, [f"normalize={value}"])
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1"}, None, ["normalize={norm_reward: false, clip_obs: 5}"])
    assert cfg.hyperparams["normalize"] == {"norm_reward": False, "clip_obs": 5}


def test_the_agents_discount_is_resolved_once_for_vecnormalize_and_shaping() -> None:
    """VecNormalize discounts returns with the agent's gamma (the run's, else the algorithm's default), unless
    ``normalize`` gives its own."""
    ppo = registry.get("ppo")
    options = run_options({"normalize": True}, None, ppo.discount({"normalize": True}))
    assert options.discount == 0.99 and options.normalize == {"gamma": 0.99}
    hyper = {"normalize": {"gamma": 0.9, "clip_obs": 5}, "gamma": 0.98}
    options = run_options(hyper, None, ppo.discount(hyper))
    assert options.discount == 0.98 and options.normalize == {"gamma": 0.9, "clip_obs": 5}
    assert run_options({"normalize": True}).normalize == {}  # no agent discount known: VecNormalize's own


@pytest.mark.parametrize("override", ["ent_coef=.nan", "gamma=.nan", "gae_lambda=.nan", "vf_coef=.inf",
                                      "max_grad_norm=.inf", "learning_rate=.inf", "learning_rate=.nan",
                                      "learning_rate=lin_inf", "learning_rate=lin_nan", "clip_range=.nan",
                                      "target_kl=.nan"])
def test_nan_and_infinity_fail_the_range_checks(override: str) -> None:
    with pytest.raises(UserError, match=f"bad value for (hyperparameter )?'{override.split('=')[0]}'"):
        build_config({"algo": "ppo", "env": "CartPole-v1"}, None, [override])


@pytest.mark.parametrize(("algo", "override"), [("dqn", "tau=.nan"), ("a2c", "rms_prop_eps=.inf"),
                                                ("pg", "param_noise_std=.nan")])
def test_nan_fails_the_other_algorithms_numbers(algo: str, override: str) -> None:
    with pytest.raises(UserError, match=f"bad value for hyperparameter '{override.split('=')[0]}'"):
        build_config({"algo": algo, "env": "CartPole-v1"}, None, [override])
