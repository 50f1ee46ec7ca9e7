"""The environment factory: one place that turns an env spec into environments.

An env spec is one of
  * a registered Gymnasium id: ``"CartPole-v1"``, ``"gymsuite/SparseGrid-v0"``; an id a package
    registers on import (``"MiniGrid-Empty-8x8-v0"``, ``"ALE/Pong-v5"``) imports that package first,
    found by the id's prefix (:data:`PACKAGES_BY_PREFIX`) or namespace;
  * ``"package.module:Class"`` (or ``"package.module:Env-id"`` for a module that
    registers ids when imported);
  * ``"path/to/file.py:Class"``;
  * a ``gymnasium.Env`` subclass or any callable returning an env;
  * a PettingZoo env (:mod:`gymsuite.envs.multiagent.source`): a module path ``"mpe2.simple_spread_v3"``, or
    ``module:function`` / ``file.py:function`` returning a ``ParallelEnv`` or ``AECEnv``; :func:`make_env`
    builds it as :class:`gymsuite.envs.multiagent.ParallelVecEnv` (a turn-based game: one seat per copy).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

import gymsuite.envs.custom  # noqa: F401  (registers the gymsuite/ ids)
from gymsuite.common.errors import UserError
from gymsuite.envs import atari
from gymsuite.envs.atari_vector import NativeAtariVecEnv
from gymsuite.envs.multiagent.build import make_multiagent_vec
from gymsuite.envs.observation import EnvOptions, observation_wrappers
from gymsuite.envs.specs import (
    PACKAGES_BY_PREFIX,
    EnvFactory,
    EnvSpec,
    import_registering,
    load_code,
    spec_name,
)
from gymsuite.envs.target import EnvKind, lenient_target, resolve_env
from gymsuite.envs.trainable import require_trainable
from gymsuite.envs.wrappers import VecFiniteGuard
from gymsuite.envs.wrappers.randomize import RandomizeOptions, RandomizeParams, resolve_ranges

__all__ = ["PACKAGES_BY_PREFIX", "EnvFactory", "EnvOptions", "EnvSpec", "Wrapper", "is_custom", "make_env",
           "make_native_atari", "make_one", "registered_time_limit", "resolve", "spec_name"]

Wrapper = Callable[[gym.Env], gym.Env]


def registered_time_limit(spec: EnvSpec) -> int | None:
    """The time limit ``spec``'s registration sets, or None (a custom class, an unknown id, a PettingZoo module,
    no limit): :attr:`gymsuite.envs.target.EnvTarget.time_limit`."""
    target = lenient_target(spec)
    return None if target is None else target.time_limit


def resolve(spec: EnvSpec) -> EnvFactory:
    """Turn ``spec`` into a factory ``(render_mode=None, **env_kwargs) -> gym.Env``.

    Raises:
        UserError: unknown id (with close matches), missing module, file or class.
    """
    target = resolve_env(spec)  # an unknown id, module, file or attribute fails here, with its fix
    if target.source is not None:
        raise UserError(f"{spec} is a PettingZoo multi-agent env, not a single gymnasium env",
                        "train, evaluate and record it through make_env (gymsuite train --env ...); "
                        "check it with gymsuite check-env")
    if target.env_id is not None:  # an id, bare or package:Env-id (the package registers it when imported)
        return _registered(target.env_id, package=target.package)
    if not isinstance(spec, str):
        return _call_factory(spec)
    module_name, _, attr = spec.rpartition(":")
    return _call_factory(getattr(load_code(module_name), attr))


def is_custom(spec: EnvSpec) -> bool:
    """Whether ``spec`` is user code (``module:Class``, ``file.py:Class``, a callable), which training checks
    before it starts; a registered id is not, in any form (``ale_py:ALE/Pong-v5`` included):
    :attr:`gymsuite.envs.target.EnvTarget.user_code`."""
    return resolve_env(spec).user_code


def make_one(spec: EnvSpec, render_mode: str | None = None, env_kwargs: dict[str, Any] | None = None,
             max_episode_steps: int | None = None) -> gym.Env:
    """Build a single environment from ``spec`` (no Monitor, no guards)."""
    env = resolve(spec)(render_mode=render_mode, **(env_kwargs or {}))
    if not isinstance(env, gym.Env):
        raise UserError(f"{spec_name(spec)} returned {type(env).__name__}, not a gymnasium.Env",
                        "make the class inherit from gymnasium.Env")
    if max_episode_steps is not None:
        env = gym.wrappers.TimeLimit(env, max_episode_steps)
    return env


def make_env(
    spec: EnvSpec,
    n_envs: int = 1,
    seed: int | None = 0,
    options: EnvOptions | None = None,
    wrappers: Sequence[Wrapper] = (),
    render_mode: str | None = None,
    subprocess: bool = False,
    reward_wrappers: Sequence[Wrapper] = (),
) -> VecEnv:
    """Build a seeded SB3 ``VecEnv`` of ``n_envs`` copies of ``spec``.

    This is the one place that decides the order of wrappers::

        VecFiniteGuard(VecEnv([reward_wrappers(Monitor(wrappers(observation_wrappers(RandomizeParams(env))))), ...]))

    ``Monitor`` records the environment's own episode return, so logs and
    evaluation never see the shaped reward that ``reward_wrappers`` (shaping
    terms) add outside it; ``VecFiniteGuard`` stops at the first NaN/inf.

    Args:
        spec: see the module docstring.
        n_envs: number of copies (N); for a multi-agent env, copies of all G agents (N x G slots).
        seed: base seed; copy ``i`` is seeded ``seed + i``.
        options: the run's env options (:class:`gymsuite.envs.observation.EnvOptions`: constructor arguments,
            time limit, observation preprocessing); none: the env as registered. An Atari id gets its
            preprocessing (:mod:`gymsuite.envs.atari`) inside ``Monitor`` (episodic life outside it, and
            ``max_episode_steps`` counts agent steps); other envs the wrappers that
            :func:`gymsuite.envs.observation.observation_wrappers` chooses, innermost; a multi-agent env its
            ``multiagent`` options (:mod:`gymsuite.envs.multiagent.options`).
        wrappers: applied in order to each raw env, inside ``Monitor``.
        render_mode: e.g. ``"rgb_array"`` for video recording.
        subprocess: one process per copy (``SubprocVecEnv``) instead of one loop; refused for a multi-agent env.
        reward_wrappers: reward transforms applied outside ``Monitor``.
    """
    if n_envs < 1:
        raise UserError(f"n_envs must be at least 1, got {n_envs}")
    if seed is not None and not 0 <= seed < 2**32 - n_envs:  # numpy's seeds; copy i gets seed + i
        raise UserError(f"seed must be an integer in [0, 2**32 - {n_envs}), got {seed}", "pass --seed 0 or higher")
    name = spec_name(spec)
    options = options or EnvOptions()
    env_kwargs, max_episode_steps = dict(options.env_kwargs), options.max_episode_steps
    target = resolve_env(spec)
    if target.source is not None:  # n_envs copies of G agents (gymsuite.envs.multiagent)
        if options.randomize is not None:
            raise UserError(f"randomize set for the multi-agent env {name}: domain randomisation applies to "
                            "single-agent envs only", "drop randomize")
        if subprocess and n_envs > 1:  # the bridge steps all copies' agents as one batch, in this process
            raise UserError(f"subprocess=True with the multi-agent env {name}: its copies run in one process "
                            "(the PettingZoo bridge batches every copy's agents)", "leave subprocess out")
        return make_multiagent_vec(target.source, n_envs, seed, env_kwargs, render_mode, max_episode_steps,
                                   options.multiagent, options.given, wrappers, reward_wrappers)
    if target.kind is EnvKind.ATARI:
        if options.mask_velocity:
            EnvOptions.parse({"mask_velocity": True}, spec)  # refused: Atari frames have no velocity entries
        assert target.env_id is not None  # ALE/Game-v5 or GameNoFrameskip-v4, bare or as ale_py:Env-id
        factory, wrappers, reward_wrappers = _atari(target.env_id, options.atari, max_episode_steps, wrappers,
                                                    reward_wrappers)
        max_episode_steps = None  # counted by the game itself (frames = steps x frame_skip)
        obs_wrappers: list[Wrapper] = []
        build_mode = render_mode
    else:
        factory = resolve(spec)  # fail here, in the parent, with a clear error
        obs_wrappers, needs_rgb = observation_wrappers(spec, options, name)
        build_mode = "rgb_array" if needs_rgb else render_mode  # pixels: the frames are the observation
    randomize = options.randomize
    if randomize is not None:  # innermost, inside the time limit's truncation; checked here, in the parent
        _check_randomize(factory, env_kwargs, randomize)
        obs_wrappers = [lambda env: RandomizeParams(env, randomize), *obs_wrappers]

    def thunk(rank: int) -> Callable[[], gym.Env]:
        def _init() -> gym.Env:
            env = factory(render_mode=build_mode, **env_kwargs)
            if max_episode_steps is not None:
                env = gym.wrappers.TimeLimit(env, max_episode_steps)
            for wrap in [*obs_wrappers, *wrappers]:
                env = wrap(env)
            require_trainable(env, name)
            env = Monitor(env)
            for wrap in reward_wrappers:
                env = wrap(env)
            return env

        return _init

    fns = [thunk(i) for i in range(n_envs)]
    venv: VecEnv = SubprocVecEnv(fns) if subprocess and n_envs > 1 else DummyVecEnv(fns)
    venv = VecFiniteGuard(venv, name)
    if seed is not None:
        venv.seed(seed)
        venv.action_space.seed(seed)
    return venv


def _check_randomize(factory: EnvFactory, env_kwargs: dict[str, Any], options: RandomizeOptions) -> None:
    """Refuse, before any env copy is built, a randomised parameter the env lacks or a range that breaks it."""
    env = factory(**env_kwargs)
    try:
        resolve_ranges(env, options)
    finally:
        env.close()


def _atari(env_id: str, opts: atari.AtariOptions, max_episode_steps: int | None, wrappers: Sequence[Wrapper],
           reward_wrappers: Sequence[Wrapper]) -> tuple[EnvFactory, list[Wrapper], list[Wrapper]]:
    """An Atari id's factory and wrappers: preprocessing inside ``Monitor``, episodic life outside it."""
    atari.game_of(env_id)  # ale-py installed, the id known: fail here, in the parent

    def factory(render_mode: str | None = None, **kwargs: Any) -> gym.Env:
        if kwargs:
            raise UserError(f"{env_id} takes no env_kwargs here ({kwargs})", "set Atari options with atari={...}")
        return atari.raw_env(env_id, opts, render_mode, max_episode_steps)

    outer = [atari.EpisodicLife] if opts.episodic_life else []
    return factory, [lambda env: atari.preprocess(env, opts), *wrappers], [*outer, *reward_wrappers]


def make_native_atari(spec: EnvSpec, n_envs: int, seed: int | None, options: EnvOptions | None = None) -> VecEnv:
    """The fast path: ale-py's C++ vector env behind SB3's ``VecEnv`` API (:mod:`gymsuite.envs.atari_vector`),
    seeded, for an Atari id in any form (``ALE/Pong-v5``, ``ale_py:ALE/Pong-v5``); ``options``' ``atari`` and
    ``max_episode_steps`` (its others do not apply)."""
    env_id = resolve_env(spec).env_id
    if resolve_env(spec).kind is not EnvKind.ATARI or env_id is None:
        raise UserError(f"{spec_name(spec)} is not an Atari id", "ale-py's vector env runs ALE/Game-v5 and "
                        "GameNoFrameskip-v4 ids")
    options = options or EnvOptions()
    venv = NativeAtariVecEnv(env_id, n_envs, options.atari, options.max_episode_steps)
    if seed is not None:
        venv.seed(seed)
        venv.action_space.seed(seed)
    return venv


def _registered(env_id: str, package: str | None = None) -> EnvFactory:
    """A factory for a registered id, importing the package that registers it when it is not registered yet.

    ``package`` is imported again inside the factory, so that a fresh process (``SubprocVecEnv``) has the id too.
    """
    if env_id not in gym.registry:
        package = import_registering(env_id)

    def factory(render_mode: str | None = None, **kwargs: Any) -> gym.Env:
        if package is not None:
            load_code(package)
        try:
            return gym.make(env_id, render_mode=render_mode, **kwargs)
        except gym.error.DependencyNotInstalled as err:
            raise UserError(f"{env_id} needs a package that is not installed: {err}") from err
        except TypeError as err:
            raise UserError(f"{env_id} rejected its arguments {kwargs}: {err}", "check env_kwargs") from err

    return factory


def _call_factory(obj: Callable[..., gym.Env]) -> EnvFactory:
    name = spec_name(obj)
    if inspect.isclass(obj) and not issubclass(obj, gym.Env):
        raise UserError(f"{name} is not a gymnasium.Env subclass", "inherit from gymnasium.Env")
    accepts_render = _accepts(obj, "render_mode")

    def factory(render_mode: str | None = None, **kwargs: Any) -> gym.Env:
        if render_mode is not None and not accepts_render:
            raise UserError(f"{spec_name(obj)} does not accept render_mode, so it cannot render frames "
                            "(for a video or --pixels)",
                            "add a render_mode=None argument and an rgb_array render()")
        args = {"render_mode": render_mode} if accepts_render else {}
        try:
            return obj(**args, **kwargs)
        except TypeError as err:
            raise UserError(f"could not construct {spec_name(obj)} with {kwargs or 'no arguments'}: {err}",
                            "check env_kwargs") from err

    return factory


def _accepts(obj: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
