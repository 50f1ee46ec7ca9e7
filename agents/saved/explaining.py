"""Explaining a trained agent: which parts of its observation its chosen action (or its value) depends on.

Rolls the agent out in its own env (:func:`~gymsuite.agents.saved.loading.make_agent_env`) for N on-policy
states, turns its SB3 policy into a scalar per state (the log-probability of the action it chose there, or
its critic's value; for DQN the chosen action's Q-value, or the largest), attributes that scalar to the
observation as the model sees it (after the run's observation normalisation, before the division of images
by 255) with a method of :mod:`gymsuite.supervised.attribution`, and checks the map twice: Adebayo et al.'s
randomisation test and a deletion score (:data:`DELETION_MEASURE`).

* vector observations: each feature's share of the mean |attribution| over the N states, as a table and a
  bar chart (png);
* image observations: an mp4 of the env's frames with the map laid over them, beside the agent's own view.

Shapes: N states, O observation (``(O,)`` or ``(C, H, W)``), A action, F map positions.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import MaskablePPO
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import is_image_space, preprocess_obs
from stable_baselines3.dqn.policies import DQNPolicy

from gymsuite.agents.saved.loading import LoadedAgent, make_agent_env
from gymsuite.agents.saved.onpolicy import States, collect_states
from gymsuite.agents.saved.video import beside_agent_view, frame_rate, grey_frames, write_mp4
from gymsuite.common.errors import UserError, closest_hint
from gymsuite.common.files import atomic_write
from gymsuite.envs.target import EnvKind, lenient_target
from gymsuite.supervised import attribution
from gymsuite.supervised.attention import PatchAttention
from gymsuite.supervised.attribution import Forward
from gymsuite.supervised.backbone import encoder_of

TARGETS = ("action", "value")
BASELINES = ("data", "zero")
DEFAULT_STATES = {"vector": 200, "image": 100}
# What the deletion score measures: the chosen action's probability falls, or the value moves (either way).
DELETION_MEASURE = {"action": "drop in the chosen action's probability", "value": "mean |change| of the value",
                    "dqn": "drop in the chosen action's Q-value lead over the next best action"}
IMAGE_CHECK_STATES = 16  # an image's checks run every method three times more: on this many of the states
# Names of well-known vector observations, in the env's order (used when the sizes agree).
FEATURE_NAMES: dict[str, tuple[str, ...]] = {
    "CartPole": ("cart position", "cart velocity", "pole angle", "pole angular velocity"),
    "Pendulum": ("cos(theta)", "sin(theta)", "angular velocity"),
    "MountainCar": ("position", "velocity"),
    "Acrobot": ("cos(theta1)", "sin(theta1)", "cos(theta2)", "sin(theta2)", "theta1 velocity", "theta2 velocity"),
    "LunarLander": ("x", "y", "x velocity", "y velocity", "angle", "angular velocity", "left leg contact",
                    "right leg contact"),
}


@dataclass(frozen=True)
class ExplainOptions:
    """What to explain and how (``gymsuite explain``'s flags).

    Attributes:
        method: one of :data:`gymsuite.supervised.attribution.METHODS`.
        target: ``"action"`` (log-probability of the chosen action) or ``"value"`` (the critic's estimate).
        baseline: ``"data"`` (the mean of the N on-policy observations) or ``"zero"``: the "absent" input of
            ``ig``, ``occlusion``, ``perturb`` on vectors and of the deletion score.
        states: N, on-policy states (default 200 for vectors, 100 frames for images).
        deletion_fraction: the share of inputs (features, or an image's pixels) the deletion score removes.
        seed: the env's seed, and the randomisation's and the random deletion's.
        deterministic: the agent's greedy actions (default), else sampled ones.
    """

    method: str = "grad"
    target: str = "action"
    baseline: str = "data"
    states: int | None = None
    deletion_fraction: float = 0.1
    seed: int = 0
    deterministic: bool = True


def check_explainable(agent: LoadedAgent, options: ExplainOptions) -> spaces.Box:
    """The model's observation space, or a :class:`UserError` for what explain cannot do (before any work)."""
    if options.method not in attribution.METHODS:
        raise UserError(f"unknown attribution method {options.method!r}",
                        closest_hint(options.method, attribution.METHODS, "methods"))
    for name, value, choices in (("target", options.target, TARGETS), ("baseline", options.baseline, BASELINES)):
        if value not in choices:
            raise UserError(f"unknown --{name} {value!r}", closest_hint(value, choices, f"--{name} takes"))
    if options.states is not None and options.states < 2:
        raise UserError(f"--states must be at least 2, got {options.states}", "e.g. --states 200")
    if not 0 < options.deletion_fraction <= 1:
        raise UserError(f"--deletion-fraction must be in (0, 1], got {options.deletion_fraction}",
                        "e.g. --deletion-fraction 0.1 (a tenth of the inputs)")
    if agent.model is None:
        raise UserError("explain needs a trained agent, not 'random'", "pass a run directory or a model .zip")
    target = lenient_target(agent.env)
    if target is not None and target.multiagent:
        raise UserError(f"explain does not support multi-agent envs yet, and {agent.env} is one",
                        "explain a single-agent run")
    if agent.recurrent:
        raise UserError("explain does not support recurrent agents (backbone=lstm) yet: an action there depends on "
                        "the whole history, not on one observation", "explain a run without backbone=lstm")
    policy = agent.model.policy
    if not isinstance(policy, ActorCriticPolicy | DQNPolicy) or isinstance(agent.model, MaskablePPO):
        raise UserError(f"explain reads an actor-critic policy (ppo, a2c, pg) or DQN's Q-network, and "
                        f"{agent.algo}'s is {type(policy).__name__}", "explain a ppo, a2c, pg or dqn run")
    space = agent.model.observation_space
    if not isinstance(space, spaces.Box) or not (np.issubdtype(space.dtype, np.floating) or space.dtype == np.uint8):
        raise UserError(f"explain attributes to continuous observations (a float vector or an image), and "
                        f"{agent.env}'s is {space}: a gradient or a blend of discrete (or dict) observations "
                        "means nothing", "explain an agent with Box observations")
    if len(space.shape) > 2 and not is_image_space(space, check_channels=False):
        raise UserError(f"explain shows a vector's features or an image's pixels, and {agent.env}'s observation "
                        f"{space.shape} is neither (a window of stacked images, history: K?)",
                        "explain an agent whose observation is a vector or one (C, H, W) image")
    if options.method == "attention" and not isinstance(encoder_of(policy), PatchAttention):
        raise UserError(f"--method attention reads the attention backbone's weights, and this agent's backbone is "
                        f"{type(encoder_of(policy)).__name__}",
                        "pick a gradient or perturbation method (grad, smoothgrad, ig, occlusion, perturb), or "
                        "explain a run trained with backbone=attention")
    return space


Policy = ActorCriticPolicy | DQNPolicy


def scalar(policy: Policy, target: str) -> Forward:
    """``forward(x (N, *O), actions (N, ...)) -> (N,)``: the chosen action's log-probability, or the value.

    DQN has no action probabilities: its chosen action's Q-value, and its value max_a Q(s, a).
    """
    if isinstance(policy, DQNPolicy):
        if target == "value":
            return lambda x, actions: policy.q_net(x).max(dim=1).values
        return lambda x, actions: policy.q_net(x).gather(1, actions.long().reshape(-1, 1)).reshape(-1)
    if target == "value":
        return lambda x, actions: policy.predict_values(x).reshape(-1)
    return lambda x, actions: policy.get_distribution(x).log_prob(actions).reshape(-1)


def attributor(method: str, target: str, space: spaces.Box, baseline: th.Tensor,
               actions: th.Tensor) -> attribution.Attributor:
    """``(policy, x (N, *O)) -> (N, *O)``: ``method`` on any copy of the policy (for the randomisation test)."""
    if method == "attention":
        def attend(policy: Any, x: th.Tensor) -> th.Tensor:
            seen = preprocess_obs(x, space, normalize_images=policy.normalize_images)
            backbone = encoder_of(policy)
            assert isinstance(seen, th.Tensor) and isinstance(backbone, PatchAttention)
            return attribution.attention_map(backbone, seen)
        return attend

    def attribute(policy: Any, x: th.Tensor) -> th.Tensor:
        try:
            return attribution.attribute(scalar(policy, target), x, method, baseline=baseline, args=(actions,))
        finally:
            forget_distribution(policy)
    return attribute


def forget_distribution(policy: Policy) -> None:
    """Drop the last batch's distribution that SB3's ``policy.action_dist`` keeps: its tensors are part of an
    autograd graph, which ``copy.deepcopy`` (the randomisation test's copies) refuses."""
    dist = getattr(policy, "action_dist", None)  # DQN's Q-network keeps none
    for key, value in (vars(dist) if dist is not None else {}).items():
        if isinstance(value, th.Tensor | th.distributions.Distribution):
            setattr(dist, key, None)


def output_layer(policy: Policy, target: str) -> str:
    """The dotted name of the layer that computes the explained output: the actor's ``action_net`` or the critic's
    ``value_net``; DQN's last linear layer of ``q_net``."""
    if isinstance(policy, DQNPolicy):
        last = [name for name, module in policy.q_net.q_net.named_children() if isinstance(module, th.nn.Linear)][-1]
        return f"q_net.q_net.{last}"
    return "value_net" if target == "value" else "action_net"


def margin(policy: DQNPolicy) -> Forward:
    """How far DQN's chosen action wins: Q(s, a) - max over the other actions of Q(s, a'), ``(N,)``."""
    def forward(x: th.Tensor, actions: th.Tensor) -> th.Tensor:
        q = policy.q_net(x)
        chosen = q.gather(1, actions.long().reshape(-1, 1)).reshape(-1)
        others = q.scatter(1, actions.long().reshape(-1, 1), float("-inf")).max(dim=1).values
        return chosen - others
    return forward


def output_path(agent: LoadedAgent, options: ExplainOptions, image: bool, out: Path | None) -> Path:
    """Where the plot (vector observations) or the video (images) goes: ``out``, or ``RUN/explain/...``."""
    suffix = ".mp4" if image else ".png"
    if out is not None:
        if out.suffix.lower() != suffix:
            kind = "an mp4 video (image observations)" if image else "a png plot (vector observations)"
            raise UserError(f"explain writes {kind}, and --out {out} does not end in {suffix}",
                            f"pass --out with a {suffix} name")
        return out
    folder = agent.run.root / "explain" if agent.run is not None else Path("explain")
    return folder / f"{options.method}-{options.target}{suffix}"


def explain(agent: LoadedAgent, options: ExplainOptions, out: Path | None = None) -> dict[str, Any]:
    """Explain ``agent`` (see the module's docstring); returns the JSON-ready summary, after writing its file.

    The summary: ``method``, ``target``, ``baseline``, ``algo``, ``env``, ``observation`` (``"vector"`` or
    ``"image"``), ``states``; for vectors ``features`` (names), ``share`` (each feature's share of the mean
    |attribution|, in the observation's order), ``mean_abs`` and ``plot``; for images ``video`` and ``frames``;
    ``checks``: ``sanity`` (:class:`~gymsuite.supervised.attribution.SanityCheck`) and ``deletion``
    (:class:`~gymsuite.supervised.attribution.DeletionScore`), and ``trustworthy``: the map passed both.
    """
    space = check_explainable(agent, options)
    image = is_image_space(space, check_channels=False)
    path = output_path(agent, options, image, out)
    n = options.states or DEFAULT_STATES["image" if image else "vector"]
    assert agent.model is not None
    policy = agent.model.policy
    assert isinstance(policy, Policy)
    policy.set_training_mode(False)
    venv = make_agent_env(agent, seed=options.seed, render_mode="rgb_array" if image else None)
    try:
        states = collect_states(agent, venv, n, options.deterministic, frames=image)
        fps = frame_rate(venv)
    finally:
        venv.close()
    x = th.as_tensor(states.observations, dtype=th.float32, device=policy.device)
    actions = th.as_tensor(states.actions, device=policy.device)
    baseline = x.mean(dim=0) if options.baseline == "data" else th.zeros_like(x[0])
    maps = attribution.saliency(_in_batches(options, space, baseline, policy, x, actions, image))
    checks = run_checks(policy, options, space, baseline, x, actions, maps, image)
    result: dict[str, Any] = {"method": options.method, "target": options.target, "baseline": options.baseline,
                              "algo": agent.algo, "env": agent.env, "observation": "image" if image else "vector",
                              "states": n}
    if image:
        target = lenient_target(agent.env)
        frames = video_frames(states, maps, space.shape, grey_frames(agent),
                              partial_view=target is not None and target.kind is EnvKind.MINIGRID)
        write_mp4(frames, fps, path)
        result.update(video=str(path), frames=len(frames))
    else:
        mean_abs = maps.mean(axis=0)
        total = float(mean_abs.sum())
        share = mean_abs / total if total > 0 else np.full_like(mean_abs, 1 / len(mean_abs))
        names = feature_names(agent.env or "", len(share))
        result.update(features=names, share=[round(float(s), 6) for s in share],
                      mean_abs=[float(v) for v in mean_abs], plot=str(path))
        write_plot(path, names, share, f"{options.method} attribution of the {options.target} "
                                       f"({agent.env}, {n} states, {options.baseline} baseline)", checks["trustworthy"])
    result["checks"] = {"sanity": checks["sanity"], "deletion": checks["deletion"]}
    result["trustworthy"] = checks["trustworthy"]
    return result


def _in_batches(options: ExplainOptions, space: spaces.Box, baseline: th.Tensor, policy: Policy,
                x: th.Tensor, actions: th.Tensor, image: bool) -> th.Tensor:
    """The attribution ``(N, *O)`` of all N states, a few frames at a time for images (bounded memory)."""
    step = 8 if image else len(x)
    parts = [attributor(options.method, options.target, space, baseline, actions[i:i + step])(policy, x[i:i + step])
             for i in range(0, len(x), step)]
    return th.cat(parts)


def run_checks(policy: Policy, options: ExplainOptions, space: spaces.Box, baseline: th.Tensor,
               x: th.Tensor, actions: th.Tensor, maps: np.ndarray, image: bool) -> dict[str, Any]:
    """The randomisation test (on :func:`output_layer`) and the deletion score (:data:`DELETION_MEASURE`), on the
    states (an image's first few)."""
    m = IMAGE_CHECK_STATES if image else len(x)
    xs, acts = x[:m], actions[:m]
    sanity = attribution.sanity_check(attributor(options.method, options.target, space, baseline, acts), policy,
                                      xs, [output_layer(policy, options.target)], seed=options.seed)
    if options.target == "value":  # deleting what the value rests on moves it, up or down: -|V(x') - V(x)|
        value = scalar(policy, "value")
        with th.no_grad():
            before = value(xs, acts)
        deletion = attribution.deletion_score(lambda s, a, v: -(value(s, a) - v).abs(), xs, maps[:m], baseline,
                                              options.deletion_fraction, args=(acts, before), seed=options.seed)
    else:
        log_prob = scalar(policy, "action")
        chosen = margin(policy) if isinstance(policy, DQNPolicy) else lambda s, a: log_prob(s, a).exp()
        deletion = attribution.deletion_score(chosen, xs, maps[:m], baseline, options.deletion_fraction,
                                              args=(acts,), seed=options.seed)
    forget_distribution(policy)
    measure = DELETION_MEASURE["dqn" if isinstance(policy, DQNPolicy) and options.target == "action"
                               else options.target]
    return {"sanity": asdict(sanity), "deletion": {**asdict(deletion), "measure": measure},
            "trustworthy": sanity.trustworthy and deletion.beats_random}


def feature_names(env: str, size: int) -> list[str]:
    """The names of a vector observation's ``size`` features: a known env's, else ``x0 .. x{size-1}``."""
    for key, names in FEATURE_NAMES.items():
        if key.lower() in env.lower() and len(names) == size:
            return list(names)
    return [f"x{i}" for i in range(size)]


def write_plot(path: Path, names: list[str], share: np.ndarray, title: str, trustworthy: bool) -> None:
    """A horizontal bar chart of each feature's share, written atomically as a png at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 0.4 * len(names) + 1.2))
    try:
        ax.barh(range(len(names)), share, color="tab:blue" if trustworthy else "tab:gray")
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set_xlabel("share of mean |attribution|")
        ax.set_title(title + ("" if trustworthy else "\n(failed a trust check: see the checks)"), fontsize=9)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
    finally:
        plt.close(fig)
    atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()))


def video_frames(states: States, maps: np.ndarray, shape: tuple[int, ...], grey: bool,
                 partial_view: bool = False) -> list[np.ndarray]:
    """Each env frame with its map laid over it (inferno colours, opacity growing with the map), beside the
    agent's own view. One colour scale for the whole video: the map's 99th percentile is full strength.

    ``partial_view``: the observation shows part of the scene in its own coordinates (MiniGrid's egocentric
    7x7 view), so the map goes over the agent's view instead, and the env's frame stays as it is.
    """
    _, h, w = shape
    top = float(np.percentile(maps, 99)) or 1.0
    out = []
    for frame, observation, flat in zip(states.frames, states.observations, maps, strict=True):
        heat = np.clip(flat.reshape(h, w) / top, 0, 1).astype(np.float32)
        if not partial_view:
            out.append(beside_agent_view(overlay(frame, heat), observation, grey))
            continue
        both = beside_agent_view(frame, observation, grey)
        view = both[:, frame.shape[1]:]
        side = min(view.shape[0] // h, view.shape[1] // w) * np.array([h, w])  # the enlarged view, padding below
        view[:side[0], :side[1]] = overlay(view[:side[0], :side[1]], heat)
        out.append(both)
    return out


def overlay(image: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """``image`` ``(H, W, 3)`` uint8 under the map ``heat`` ``(h, w)`` in [0, 1], stretched to its size."""
    import matplotlib

    big = cv2.resize(heat, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)[..., None]
    colour = matplotlib.colormaps["inferno"](big[..., 0])[..., :3] * 255
    return (image * (1 - 0.7 * big) + colour * 0.7 * big).astype(np.uint8)
