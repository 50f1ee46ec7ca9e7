"""``gymsuite export``: a saved agent's greedy policy as an ONNX or TorchScript file that takes the env's raw
observation, with a parity report against the Python policy.

The file holds the whole path from the env to the action (:mod:`gymsuite.supervised.exportable`): the run's
``VecNormalize`` statistics, SB3's channel transpose and ``preprocess_obs``, the features extractor (every
backbone), the actor and the greedy head; a recurrent policy (``backbone=lstm``) takes and returns its LSTM state.
Inputs and outputs, by name (B batch, dynamic):

    obs (B, *R)            the env's observation: uint8 images, int64 Discrete, float32 otherwise
    h, c (L, B, H)         LSTM only: the actor's state (zeros at the first step)
    episode_start (B,)     LSTM only: float32, 1 where obs begins an episode (the state is zeroed there)
    -> action, logits | mean | q_values, and h_out, c_out for the LSTM

The parity report (:func:`parity`) compares the file with the Python policy on N on-policy states and on N
random observations: greedy-action agreement, the largest absolute difference of the distribution's parameters
(log-probabilities, the Gaussian's mean, Q-values), the file's size, and latency per call at batch 1 and 64 in
torch (the same module, eager) and in the file's runtime. It is printed, returned, and written beside the file
as ``<file>.parity.json``.

Shapes: N states, R raw observation, O observation as the model sees it, A actions.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import MaskablePPO
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecNormalize, VecTransposeImage
from stable_baselines3.dqn.policies import DQNPolicy
from torch import nn

from gymsuite.agents.saved.loading import LoadedAgent, make_agent_env
from gymsuite.agents.saved.onpolicy import collect_states
from gymsuite.common.errors import UserError, closest_hint
from gymsuite.common.files import atomic_write, write_json
from gymsuite.envs.target import lenient_target
from gymsuite.supervised import exportfile
from gymsuite.supervised.exportable import (
    ActorExport,
    LstmActorExport,
    ObservationPrep,
    QExport,
    lstm_state_shape,
    parameters_name,
)
from gymsuite.supervised.timing import seconds_per_call

LATENCY_BATCHES = (1, 64)
AGREEMENT_ATOL = 1e-4  # Box actions agree when every component is this close (float32 rounding, not a decision)
# Layers torch's dynamic quantisation leaves float: refused for --format torchscript --int8, named in the message
TORCH_FLOAT_ONLY: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.MultiheadAttention)


@dataclass(frozen=True)
class ExportOptions:
    """``gymsuite export``'s flags.

    Attributes:
        format: ``"onnx"`` or ``"torchscript"``.
        out: the file (default ``RUN/export/policy.onnx|.pt``, ``policy.int8.onnx`` with int8; for a bare zip,
            beside it).
        int8: dynamic int8 quantisation (onnxruntime's for ONNX, torch's for TorchScript).
        overwrite: replace an existing file.
        states: N, the on-policy (and random) observations of the parity report.
        seed: the env's seed for the on-policy states, and the random observations'.
        latency: measure the latency (a second or two per format); False leaves it out of the report.
    """

    format: str = "onnx"
    out: Path | None = None
    int8: bool = False
    overwrite: bool = False
    states: int = 200
    seed: int = 0
    latency: bool = True


def output_path(agent: LoadedAgent, options: ExportOptions) -> Path:
    """Where the file goes: ``options.out``, or ``policy[.int8].onnx|.pt`` in ``RUN/export/`` (beside a bare zip)."""
    if options.out is not None:
        return options.out
    name = "policy" + (".int8" if options.int8 else "") + exportfile.SUFFIXES[options.format]
    folder = agent.run.root / "export" if agent.run is not None else Path("export")
    return folder / name


def parity_path(out: Path) -> Path:
    """The parity report beside the file: ``<file>.parity.json``."""
    return out.with_name(out.name + ".parity.json")


def check_exportable(agent: LoadedAgent, options: ExportOptions) -> Path:
    """The file's path, or a :class:`UserError` for what export cannot do (before any work)."""
    if options.format not in exportfile.FORMATS:
        raise UserError(f"unknown export format {options.format!r}",
                        closest_hint(options.format, exportfile.FORMATS, "--format takes"))
    if options.states < 1:
        raise UserError(f"--states must be at least 1, got {options.states}", "e.g. --states 200")
    if agent.model is None:
        raise UserError("export needs a trained agent, not 'random'", "pass a run directory or a model .zip")
    target = lenient_target(agent.env)
    if target is not None and target.multiagent:
        raise UserError(f"export does not support multi-agent runs yet, and {agent.env} is one (its policy acts for "
                        "each agent from the bridge's per-agent observations)", "export a single-agent run")
    policy = agent.model.policy
    if isinstance(agent.model, MaskablePPO):
        raise UserError("export does not support masked policies (MaskablePPO, --algo selfplay) yet: their action "
                        "masks would be a second input", "export a ppo, a2c, pg, dqn or imitation run")
    if not isinstance(policy, ActorCriticPolicy | DQNPolicy):
        raise UserError(f"export reads an actor-critic policy (ppo, a2c, pg, bc, gail...) or DQN's Q-network, and "
                        f"{agent.algo}'s is {type(policy).__name__}", "export a ppo, a2c, pg, dqn or imitation run")
    space = agent.model.observation_space
    if not isinstance(space, spaces.Box | spaces.Discrete | spaces.MultiDiscrete | spaces.MultiBinary):
        raise UserError(f"export does not support {type(space).__name__} observations yet ({agent.env}'s is "
                        f"{space}): the file takes one array", "export an agent with a Box or Discrete observation")
    if isinstance(policy, ActorCriticPolicy) and policy.squash_output:
        raise UserError("export does not support squashed gSDE policies (use_sde with squash_output) yet: their "
                        "greedy action goes through tanh and a rescaling", "export a run trained without squash_output")
    if options.int8 and options.format == "torchscript":
        left = sorted({type(m).__name__ for m in policy.modules() if isinstance(m, TORCH_FLOAT_ONLY)})
        if left:
            raise UserError(f"--int8 with --format torchscript uses torch's dynamic quantisation, which converts "
                            f"Linear and LSTM layers only: this policy's {', '.join(left)} layers would stay float",
                            "use --format onnx --int8 (onnxruntime quantises convolutions and attention too), or "
                            "export without --int8")
    out = output_path(agent, options)
    suffix = exportfile.SUFFIXES[options.format]
    if out.suffix.lower() != suffix:
        raise UserError(f"--format {options.format} writes a {suffix} file, and --out {out} does not end in {suffix}",
                        f"pass --out with a {suffix} name")
    for path in (out, parity_path(out)):
        if path.exists() and not options.overwrite:
            raise UserError(f"{path} exists", "pass --overwrite to replace it, or --out another file")
    return out


@dataclass
class Exportable:
    """What goes into the file: the module, its example inputs and names, and the reference it is compared with.

    Attributes:
        module: the torch module (:mod:`~gymsuite.supervised.exportable`), in eval mode.
        input_names, output_names: the file's.
        raw_space: the env's observation space R (before the model's wrappers).
        to_model: raw ``(N, *R)`` -> the model's view ``(N, *O)``, by SB3's own wrappers' code.
        recurrent: the module takes and returns an LSTM state.
    """

    module: nn.Module
    input_names: list[str]
    output_names: list[str]
    raw_space: spaces.Space
    to_model: Callable[[np.ndarray], np.ndarray]
    recurrent: bool

    def inputs(self, raw: np.ndarray, starts: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The file's inputs for a batch of raw observations ``(B, *R)`` (an LSTM's from a zero state)."""
        feed = {"obs": raw_input(raw, self.raw_space)}
        if self.recurrent:
            assert isinstance(self.module, LstmActorExport)
            shape = lstm_state_shape(self.module.policy, len(raw))
            feed.update(h=np.zeros(shape, np.float32), c=np.zeros(shape, np.float32),
                        episode_start=np.ones(len(raw), np.float32) if starts is None else starts.astype(np.float32))
        return feed


def raw_input(raw: np.ndarray, space: spaces.Space) -> np.ndarray:
    """``raw`` in the file's input dtype: uint8 images stay uint8, Discrete observations int64, the rest float32."""
    if isinstance(space, spaces.Box) and space.dtype == np.uint8:
        return np.asarray(raw, np.uint8)
    return np.asarray(raw, np.int64 if isinstance(space, spaces.Discrete | spaces.MultiDiscrete) else np.float32)


def exportable(agent: LoadedAgent, venv: VecEnv) -> Exportable:
    """The module of ``agent``'s policy with the preprocessing of ``venv`` (:func:`make_agent_env`) inside it."""
    assert agent.model is not None
    policy = agent.model.policy
    policy.set_training_mode(False)
    norm, transpose, inner = None, False, venv
    while isinstance(inner, VecEnvWrapper):  # outermost first: the transpose, the normaliser, the env's own
        if isinstance(inner, VecTransposeImage):
            transpose = True
        elif isinstance(inner, VecNormalize) and inner.norm_obs:
            norm = inner
        inner = inner.venv
    raw_space = norm.observation_space if norm is not None else inner.observation_space
    rms = norm.obs_rms if norm is not None else None
    assert rms is None or isinstance(rms, RunningMeanStd), "Dict observations are refused before"
    prep = ObservationPrep(None if rms is None else rms.mean, None if rms is None else rms.var,
                           norm.epsilon if norm else 1e-8, norm.clip_obs if norm else 10.0, transpose)

    def to_model(raw: np.ndarray) -> np.ndarray:
        obs = norm.normalize_obs(raw) if norm is not None else raw
        assert isinstance(obs, np.ndarray)
        return VecTransposeImage.transpose_image(obs) if transpose else obs

    params = parameters_name(policy.action_space, isinstance(policy, DQNPolicy))
    module: nn.Module
    if isinstance(policy, RecurrentActorCriticPolicy):
        module = LstmActorExport(policy, prep)
        return Exportable(module.eval(), ["obs", "h", "c", "episode_start"], ["action", params, "h_out", "c_out"],
                          raw_space, to_model, True)
    module = QExport(policy, prep) if isinstance(policy, DQNPolicy) else ActorExport(policy, prep)  # type: ignore[arg-type]
    return Exportable(module.eval(), ["obs"], ["action", params], raw_space, to_model, False)


def export(agent: LoadedAgent, options: ExportOptions) -> dict[str, Any]:
    """Export ``agent`` (see the module's docstring); returns the parity report after writing the file and it.

    The file is written and checked in a temporary folder, then moved into place with its report: an error or
    Ctrl-C leaves nothing behind.
    """
    out = check_exportable(agent, options)
    venv = make_agent_env(agent, seed=options.seed)
    try:
        spec = exportable(agent, venv)
        states = collect_states(agent, venv, options.states, deterministic=True, frames=False, raw=True)
    finally:
        venv.close()
    assert states.raw is not None and states.starts is not None
    example = [th.as_tensor(v) for v in spec.inputs(states.raw[:2]).values()]
    with tempfile.TemporaryDirectory(prefix=".export.", dir=_existing_parent(out)) as folder:
        tmp = Path(folder) / out.name
        try:
            written = exportfile.write(spec.module, example, spec.input_names, spec.output_names, options.format,
                                       tmp, options.int8)
        except Exception as err:  # noqa: BLE001  both exporters failed: a part of this policy is not exportable yet
            raise UserError(f"this policy cannot be exported to {options.format} yet: {str(err)[:300]}",
                            "try --format torchscript (or onnx), and report the error with the run's config.yaml"
                            ) from err
        run = exportfile.runner(tmp, options.format, spec.output_names)
        rng = np.random.default_rng(options.seed)
        random_raw = np.stack([_sample(spec.raw_space, rng) for _ in range(options.states)])
        report: dict[str, Any] = {"file": str(out), "parity_file": str(parity_path(out)), "format": options.format,
                  "exporter": written.exporter, "fallback_reason": written.fallback_reason, "int8": options.int8,
                  "algo": agent.algo, "env": agent.env, "backbone": backbone_name(agent),
                  "recurrent": spec.recurrent, "inputs": spec.input_names, "outputs": spec.output_names,
                  "bytes": exportfile.file_bytes(tmp), "states": options.states,
                  "on_policy": parity(agent, spec, run, states.raw, states.starts),
                  "random": parity(agent, spec, run, random_raw, _random_starts(len(random_raw)))}
        if options.latency:
            report["latency_s"] = latency(spec, run, states.raw, options.format)
        report["target_met"] = options.int8 or report["on_policy"]["agreement"] == 1.0  # int8: no target
        atomic_write(out, lambda dest: shutil.copyfile(tmp, dest))
    write_json(parity_path(out), report)
    return report


def _existing_parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.parent


def _random_starts(n: int) -> np.ndarray:
    """A recurrent policy's episode starts over random observations: one episode, begun at the first."""
    starts = np.zeros(n, dtype=bool)
    starts[0] = True
    return starts


def _sample(space: spaces.Space, rng: np.random.Generator) -> np.ndarray:
    """A random raw observation: uniform in a Box's bounds (clipped to +-10 where unbounded), else the space's."""
    if isinstance(space, spaces.Box):
        if space.dtype == np.uint8:
            return rng.integers(0, 256, space.shape, dtype=np.uint8)
        low, high = np.maximum(space.low, -10.0), np.minimum(space.high, 10.0)
        return rng.uniform(low, high).astype(np.float32)
    space.seed(int(rng.integers(2**31)))
    return np.asarray(space.sample())


def backbone_name(agent: LoadedAgent) -> str:
    """The run's backbone (``mlp`` when none is named; ``lstm+ENCODER`` for an LSTM with an encoder)."""
    hyper = agent.hyperparams or {}
    name = str(hyper.get("backbone") or "mlp")
    encoder = (hyper.get("backbone_kwargs") or {}).get("encoder") if name == "lstm" else None
    return f"{name}+{encoder}" if encoder else name


def reference(agent: LoadedAgent, obs: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Python policy's greedy actions ``(N, ...)`` and distribution parameters ``(N, P)`` on the model's view
    ``obs`` ``(N, *O)``, through SB3's own code: ``predict`` and the policy's distribution (or Q-values).

    A recurrent policy steps through ``obs`` in order, its state carried and zeroed where ``starts`` ``(N,)`` is True.
    """
    assert agent.model is not None
    policy = agent.model.policy
    with th.no_grad():
        if isinstance(policy, RecurrentActorCriticPolicy):
            steps: list[np.ndarray] = []
            rows: list[np.ndarray] = []
            state = None
            for x, start in zip(obs, starts, strict=True):
                begin = np.array([start])
                action, next_state = policy.predict(x[None], state, begin, deterministic=True)
                h, c = (th.zeros(lstm_state_shape(policy, 1)),) * 2 if state is None else map(th.as_tensor, state)
                tensor = policy.obs_to_tensor(x[None])[0]
                assert isinstance(tensor, th.Tensor)
                dist, _ = policy.get_distribution(tensor, (h, c), th.as_tensor(begin, dtype=th.float32))
                steps.append(action[0])
                rows.append(_dist_params(dist)[0])
                state = next_state
            return np.stack(steps), np.stack(rows)
        actions = np.asarray(policy.predict(obs, deterministic=True)[0])
        tensor = policy.obs_to_tensor(obs)[0]
        assert isinstance(tensor, th.Tensor)
        if isinstance(policy, DQNPolicy):
            return actions, policy.q_net(tensor).numpy()
        assert isinstance(policy, ActorCriticPolicy)
        return actions, _dist_params(policy.get_distribution(tensor))


def _dist_params(dist: Any) -> np.ndarray:
    """``(N, P)``: a Categorical's log-probabilities (per part for MultiDiscrete), a Bernoulli's logits, a
    Gaussian's mean."""
    inner = dist.distribution
    if isinstance(inner, list):  # MultiCategorical
        return th.cat([d.logits for d in inner], dim=-1).numpy()
    if isinstance(inner, th.distributions.Normal):
        return inner.mean.numpy()
    return inner.logits.numpy()


def run_file(spec: Exportable, run: exportfile.Runner, raw: np.ndarray, starts: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """The file's actions and parameters on raw observations ``(N, *R)``: one batch, or an LSTM stepped in order
    with its state carried (batch 1)."""
    if not spec.recurrent:
        out = run(spec.inputs(raw))
        return out["action"], out[spec.output_names[1]]
    feed = spec.inputs(raw[:1])
    actions, params = [], []
    for x, start in zip(raw, starts, strict=True):
        feed.update(obs=raw_input(x[None], spec.raw_space), episode_start=np.array([start], np.float32))
        out = run(feed)
        feed.update(h=out["h_out"], c=out["c_out"])
        actions.append(out["action"][0])
        params.append(out[spec.output_names[1]][0])
    return np.stack(actions), np.stack(params)


def parity(agent: LoadedAgent, spec: Exportable, run: exportfile.Runner, raw: np.ndarray, starts: np.ndarray
           ) -> dict[str, Any]:
    """The file against the Python policy on raw observations ``(N, *R)``: ``agreement`` (share of equal greedy
    actions; Box: every component within :data:`AGREEMENT_ATOL`), ``max_abs_diff`` of the parameters, ``states``."""
    want_actions, want_params = reference(agent, spec.to_model(raw), starts)
    got_actions, got_params = run_file(spec, run, raw, starts)
    got_actions = got_actions.reshape(want_actions.shape)
    if np.issubdtype(want_actions.dtype, np.floating):
        same = np.isclose(got_actions, want_actions, rtol=0, atol=AGREEMENT_ATOL)
    else:
        same = got_actions == want_actions
    rows = same.reshape(len(raw), -1).all(axis=1)
    return {"agreement": float(rows.mean()), "max_abs_diff": float(np.abs(got_params - want_params).max()),
            "states": len(raw)}


def latency(spec: Exportable, run: exportfile.Runner, raw: np.ndarray, fmt: str) -> dict[str, dict[str, float]]:
    """Seconds per call at batch 1 and 64 (:data:`LATENCY_BATCHES`) in torch (the module, eager, no grad) and in the
    file's runtime (``onnxruntime`` or ``torchscript``), on on-policy observations (repeated to fill a batch)."""
    runtime = "onnxruntime" if fmt == "onnx" else "torchscript"
    result: dict[str, dict[str, float]] = {"torch": {}, runtime: {}}
    for batch in LATENCY_BATCHES:
        feed = spec.inputs(np.resize(raw, (batch, *raw.shape[1:])))
        tensors = [th.as_tensor(v) for v in feed.values()]

        def eager(tensors: list[th.Tensor] = tensors) -> object:
            with th.no_grad():
                return spec.module(*tensors)

        result["torch"][str(batch)] = seconds_per_call(eager)
        def exported(feed: dict[str, np.ndarray] = feed) -> object:
            return run(feed)

        result[runtime][str(batch)] = seconds_per_call(exported)
    return result
