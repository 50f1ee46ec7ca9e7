"""Attacking a saved agent over whole episodes: its return against epsilon, per attack and for the worst of them.

At every step the agent's observation is perturbed before it acts (:class:`AttackedAgent`, an
:class:`~gymsuite.agents.saved.evaluation.Actor` around the agent, played by the evaluation's own loop,
:func:`~gymsuite.agents.saved.evaluation.run_episodes`). Attacks are the network-level ones of
:mod:`gymsuite.supervised.adversarial` (``random``, ``fgsm``, ``pgd``, ``critic``, ``mad``) and the course's
black-box attack ``transfer:RUN2``: PGD crafted with another run's network (same observation space), applied to
the victim. ``eps`` is in the env's units (pixels: 0-255), through the run's normaliser
(:mod:`gymsuite.agents.saved.victims`).

The worst attack is taken per episode: seed ``s``'s episode ``k`` starts from the same state under every attack (the
envs are seeded alike and episode ``k`` is env ``k``'s first), and its worst return is the minimum over the attacks.
An untargeted attack can defeat itself (a CartPole agent pushed to alternate actions keeps the pole up), so a
robustness figure is the worst of several.

Passive defences (:mod:`gymsuite.supervised.defences`, :class:`DefendedAgent`) filter what the agent sees after the
attack; the attack is crafted against the bare network (not adaptive).

Shapes: N envs side by side, O observation, K noisy copies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv, unwrap_vec_normalize
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs

from gymsuite.agents.saved.evaluation import Actor, is_parallel, run_episodes, warn_capped
from gymsuite.agents.saved.loading import LoadedAgent, load_agent, make_agent_env
from gymsuite.agents.saved.victims import AttackView, attack_view
from gymsuite.common import stats
from gymsuite.common.errors import UserError, closest_hint
from gymsuite.common.spaces import same_space
from gymsuite.supervised.adversarial import ATTACKS, craft
from gymsuite.supervised.defences import bit_depth, median_filter, vote

TRANSFER = "transfer"
DEFENCES = ("none", "randomized", "bits", "median")


@dataclass(frozen=True)
class Attack:
    """One attack of ``--attacks``: ``name`` (one of :data:`ATTACKS` or ``transfer``), ``source`` (transfer's run)."""

    name: str
    source: str | None = None

    @property
    def label(self) -> str:
        return f"{TRANSFER}:{self.source}" if self.source else self.name


@dataclass(frozen=True)
class Defence:
    """A passive defence: ``none``; ``randomized`` (``sigma``, ``copies``); ``bits`` (``bits``); ``median`` (``k``)."""

    name: str = "none"
    sigma: float = 0.0
    copies: int = 8
    bits: int = 8
    k: int = 3

    @property
    def label(self) -> str:
        return {"none": "none", "randomized": f"randomized:{self.sigma:g}:{self.copies}", "bits": f"bits:{self.bits}",
                "median": f"median:{self.k}"}[self.name]


def parse_attacks(names: Sequence[str]) -> list[Attack]:
    """Attacks ``random``, ``fgsm``, ``pgd``, ``critic``, ``mad``, ``transfer:RUN2``; a :class:`UserError` names the
    closest to an unknown one."""
    out = []
    for name in names:
        head, _, source = name.partition(":")
        if head == TRANSFER and source:
            out.append(Attack(TRANSFER, source))
        elif head == TRANSFER or name not in ATTACKS:
            raise UserError(f"unknown attack {name!r}", "transfer needs the run to craft on: transfer:RUN_DIR"
                            if head == TRANSFER else closest_hint(name, [*ATTACKS, "transfer:RUN_DIR"], "attacks"))
        else:
            out.append(Attack(name))
    if not out:
        raise UserError("no attack given", f"e.g. --attacks {','.join(ATTACKS)}")
    return out


def check_eps(values: Sequence[float]) -> list[float]:
    """The epsilons, sorted; a :class:`UserError` for one below 0, NaN or infinite."""
    for eps in values:
        if not math.isfinite(eps) or eps < 0:
            raise UserError(f"epsilon must be a finite number >= 0, got {eps}",
                            "e.g. --eps 0,0.05,0.1,0.15 (in the observation's units; 0-255 for pixels)")
    if not values:
        raise UserError("no epsilon given", "e.g. --eps 0,0.05,0.1,0.15")
    return sorted(set(float(e) for e in values))


def parse_defence(text: str) -> Defence:
    """``none``, ``randomized:SIGMA[:N]``, ``bits:B``, ``median:K``; a :class:`UserError` naming the closest."""
    name, *args = text.split(":")
    if name not in DEFENCES:
        raise UserError(f"unknown defence {text!r}", closest_hint(name, DEFENCES, "defences"))
    forms = {"none": "none", "randomized": "randomized:SIGMA[:N]", "bits": "bits:B (1-8)", "median": "median:K"}
    try:
        if name == "randomized" and 1 <= len(args) <= 2:
            sigma, copies = float(args[0]), int(args[1]) if len(args) == 2 else 8
            if math.isfinite(sigma) and sigma > 0 and copies >= 1:
                return Defence(name, sigma=sigma, copies=copies)
        elif name == "bits" and len(args) == 1 and 1 <= int(args[0]) <= 8:
            return Defence(name, bits=int(args[0]))
        elif name == "median" and len(args) == 1 and int(args[0]) >= 1:
            return Defence(name, k=int(args[0]))
        elif name == "none" and not args:
            return Defence()
    except ValueError:
        pass
    raise UserError(f"bad defence {text!r}", f"write it as {forms[name]} (e.g. randomized:0.05:8, bits:4, median:3)")


def check_agent(agent: LoadedAgent, venv: VecEnv, what: str = "the run") -> AttackView:
    """The agent's :class:`AttackView` in ``venv``; a :class:`UserError` for what cannot be attacked."""
    if agent.model is None:
        raise UserError("the random agent has no network to attack", "attack a trained run")
    if is_parallel(venv):
        raise UserError(f"{what} is multi-agent; attacks support single-agent runs", "attack a single-agent run")
    view = attack_view(agent.model, unwrap_vec_normalize(venv), what)
    agent.model.policy.set_training_mode(False)
    return view


def check_defence(defence: Defence, view: AttackView) -> None:
    """Refuse a pixel filter on a run whose observations are not pixels."""
    if defence.name in ("bits", "median") and (not view.bounds.integer or view.bounds.low.dim() != 3):
        raise UserError(f"the {defence.name} defence filters images, but this run's observations are not pixels",
                        "use randomized:SIGMA for vector observations")


class DefendedAgent:
    """An :class:`Actor`: ``agent`` acting through a passive defence (randomised smoothing's noise in the env's
    units, through the normaliser as an attack's ``eps`` is)."""

    def __init__(self, agent: LoadedAgent, defence: Defence, view: AttackView, seed: int = 0) -> None:
        self.agent, self.defence, self.view = agent, defence, view
        self.rng = np.random.default_rng(seed)

    def act(self, obs: VecEnvObs, venv: VecEnv, deterministic: bool = True, *, episode_start: np.ndarray
            ) -> np.ndarray:
        x, d = np.asarray(obs), self.defence
        if d.name == "bits":
            x = bit_depth(x, d.bits)
        elif d.name == "median":
            x = median_filter(x, d.k)
        elif d.name == "randomized":
            return self._smoothed(x, deterministic)
        return self.agent.act(x, venv, deterministic, episode_start=episode_start)

    def _smoothed(self, x: np.ndarray, deterministic: bool) -> np.ndarray:
        """The vote of the agent's actions on ``K`` noisy copies of ``x`` ``(N, *O)``."""
        scale = 1.0 if self.view.scale is None else self.view.scale
        noise = self.rng.normal(0.0, self.defence.sigma, (self.defence.copies, *x.shape)) * scale  # (K, N, *O)
        low, high = (b.cpu().numpy() for b in (self.view.bounds.low, self.view.bounds.high))
        copies = np.clip(x[None] + noise, low, high)
        if self.view.bounds.integer:
            copies = np.round(copies)
        flat = copies.astype(x.dtype).reshape(-1, *x.shape[1:])  # (K*N, *O)
        actions = self.agent.decide(flat, deterministic)
        return vote(actions.reshape(self.defence.copies, len(x), *actions.shape[1:]))


class AttackedAgent:
    """An :class:`Actor`: ``actor`` (the agent, maybe defended) sees each observation perturbed by ``attack`` at
    ``eps``, crafted on ``source`` (the victim's own view, or a transfer run's)."""

    def __init__(self, actor: Actor, target: AttackView, attack: str, eps: float, source: AttackView | None = None,
                 steps: int = 10, seed: int = 0) -> None:
        self.actor, self.target, self.attack, self.eps = actor, target, attack, eps
        self.source, self.steps = source, steps
        self.generator = torch.Generator().manual_seed(seed)

    def perturb(self, obs: np.ndarray) -> np.ndarray:
        """The attacked observations ``(N, *O)``, in the victim's view and dtype."""
        if self.eps == 0:
            return obs
        view = self.source or self.target
        seen = obs if self.source is None else self.source.from_raw(self.target.to_raw(obs))
        x0 = view.tensor(seen)
        x = craft(self.attack, view.victim, x0, view.radius(self.eps), view.bounds, self.steps,
                  generator=self.generator)
        out = x.detach().cpu().numpy()
        if self.source is not None:  # back to the victim's view, kept in its own ball
            own = self.target.tensor(self.target.from_raw(self.source.to_raw(out)))
            out = self.target.bounds.finish(own, self.target.tensor(obs), self.target.radius(self.eps)).cpu().numpy()
        return out.astype(obs.dtype)

    def act(self, obs: VecEnvObs, venv: VecEnv, deterministic: bool = True, *, episode_start: np.ndarray
            ) -> np.ndarray:
        return self.actor.act(self.perturb(np.asarray(obs)), venv, deterministic, episode_start=episode_start)


def transfer_view(agent: LoadedAgent, source: str, victim: AttackView) -> AttackView:
    """The :class:`AttackView` of the transfer run ``source``; a :class:`UserError` when its observations differ."""
    proxy = load_agent(source, trust_pickle=agent.trust_pickle)
    if proxy.model is None or agent.model is None:
        raise UserError(f"transfer:{source} needs a trained run to craft on", "pass a run directory or model .zip")
    if not same_space(proxy.model.observation_space, agent.model.observation_space):
        raise UserError(f"transfer:{source} observes {proxy.model.observation_space}, but the attacked run observes "
                        f"{agent.model.observation_space}: a perturbation crafted on one does not fit the other",
                        "craft on a run trained on the same environment (the same observation space)")
    venv = make_agent_env(proxy, n_envs=1)
    try:
        return check_agent(proxy, venv, f"transfer:{source}")
    finally:
        venv.close()


@dataclass(frozen=True)
class Setting:
    """What :func:`attack_returns` measures: ``eps`` (sorted, in the env's units), ``attacks``, ``defences``, the
    env ``seeds`` and ``episodes`` per seed (played side by side, one per env), PGD's ``steps``."""

    eps: tuple[float, ...]
    attacks: tuple[Attack, ...]
    defences: tuple[Defence, ...] = (Defence(),)
    seeds: tuple[int, ...] = (0,)
    episodes: int = 5
    steps: int = 10
    deterministic: bool = True
    max_episode_steps: int | None = None


def _returns(actor: Actor, agent: LoadedAgent, seed: int, setting: Setting) -> np.ndarray:
    """``(E,)`` returns of episodes ``0..E-1`` (env ``k``'s first episode is episode ``k``) at env seed ``seed``."""
    venv = make_agent_env(agent, seed=seed, n_envs=setting.episodes, max_episode_steps=setting.max_episode_steps)
    try:
        episodes = run_episodes(actor, venv, setting.episodes, setting.deterministic)
    finally:
        venv.close()
    warn_capped(episodes, "attacked")
    out = np.zeros(setting.episodes)
    for e in episodes:
        out[e["env"]] = e["r"]
    return out


def attack_returns(agent: LoadedAgent, setting: Setting) -> dict[str, dict[str, dict[float, np.ndarray]]]:
    """Per defence label, attack label (and ``worst``) and eps: the ``(S * E,)`` returns, seed by seed.

    eps 0 is played once per defence (the clean return) and shared by every attack.
    """
    probe = make_agent_env(agent, n_envs=1, max_episode_steps=setting.max_episode_steps)
    try:
        view = check_agent(agent, probe)
    finally:
        probe.close()
    sources = {a.source: transfer_view(agent, a.source, view) for a in setting.attacks if a.source}
    for defence in setting.defences:
        check_defence(defence, view)
    out: dict[str, dict[str, dict[float, np.ndarray]]] = {}
    for defence in setting.defences:
        table: dict[str, dict[float, np.ndarray]] = {a.label: {} for a in setting.attacks}
        for s, seed in enumerate(setting.seeds):
            actor: Actor = agent if defence.name == "none" else DefendedAgent(agent, defence, view, seed)
            clean = _returns(actor, agent, seed, setting) if 0.0 in setting.eps else None
            for attack in setting.attacks:
                name = "pgd" if attack.source else attack.name
                for eps in setting.eps:
                    got = clean if eps == 0 else _returns(
                        AttackedAgent(actor, view, name, eps, sources[attack.source] if attack.source else None,
                                      setting.steps, seed + s),
                        agent, seed, setting)
                    assert got is not None
                    table[attack.label][eps] = np.concatenate([table[attack.label].get(eps, np.zeros(0)), got])
        table["worst"] = {eps: np.min([table[a.label][eps] for a in setting.attacks], axis=0) for eps in setting.eps}
        out[defence.label] = table
    return out


def summarize(returns: dict[str, dict[str, dict[float, np.ndarray]]], setting: Setting) -> dict[str, Any]:
    """The report of ``gymsuite attack --json``: for the undefended agent (the first defence) ``mean_return``,
    ``iqm`` and ``ci`` (the IQM's 95% bootstrap interval) per attack (and ``worst``) and eps (keys as text), its
    ``clean`` return; ``defences``: the same per defence label, each with its ``clean`` and ``worst``."""
    def one(table: dict[str, dict[float, np.ndarray]]) -> dict[str, Any]:
        cell = {name: {f"{e:g}": r for e, r in row.items()} for name, row in table.items()}
        result: dict[str, Any] = {
            "mean_return": {n: {e: float(r.mean()) for e, r in row.items()} for n, row in cell.items()},
            "iqm": {n: {e: stats.iqm(r) for e, r in row.items()} for n, row in cell.items()},
            "ci": {n: {e: list(stats.iqm_ci(r)) for e, r in row.items()} for n, row in cell.items()},
        }
        result["worst"] = result["mean_return"]["worst"]
        if 0.0 in setting.eps:
            result["clean"] = result["mean_return"]["worst"]["0"]
        return result

    labels = list(returns)
    report = {"eps": list(setting.eps), "attacks": [a.label for a in setting.attacks], "seeds": list(setting.seeds),
              "episodes": setting.episodes, "steps": setting.steps, **one(returns[labels[0]])}
    report["defences"] = {label: one(table) for label, table in returns.items()}
    return report
