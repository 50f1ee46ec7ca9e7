"""Checking a custom PettingZoo env before training: PettingZoo's own API test plus gymsuite's report.

PettingZoo's ``parallel_api_test`` / ``api_test`` are bare ``assert`` statements that print progress;
:func:`check_multiagent` runs them quietly under a time limit and turns the first failure into one line
naming the failed assertion. Then gymsuite's own checks: one observation and action space that SB3 can
hold and that every agent shares (or ``pad`` makes shared), and a short random rollout through the
bridge (finite rewards, observations of the declared shape).
"""

from __future__ import annotations

import contextlib
import io
import signal
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo.test import api_test, parallel_api_test

from gymsuite.common.errors import UserError
from gymsuite.envs.multiagent.bridge import ParallelVecEnv
from gymsuite.envs.multiagent.options import MultiAgentOptions
from gymsuite.envs.multiagent.source import MultiAgentSource
from gymsuite.envs.report import CheckReport
from gymsuite.envs.specs import describe_error


def check_multiagent(source: MultiAgentSource, env_kwargs: dict[str, Any] | None = None, steps: int = 200,
                     seconds: float = 60.0) -> CheckReport:
    """PettingZoo's API test (``steps`` cycles, at most ``seconds``) and gymsuite's checks; never raises for a
    broken env (the report says what broke)."""
    report = CheckReport(source.name)
    kwargs = env_kwargs or {}
    tests: list[tuple[str, Callable[[], Any], Callable[[Any], None]]] = []
    if source.aec_maker is not None:
        tests.append(("AEC API test", lambda: source.make_aec(**kwargs), lambda env: api_test(env, steps)))
    if source.parallel_maker is not None:
        tests.append(("parallel API test", lambda: source.make_parallel(**kwargs),
                      lambda env: parallel_api_test(env, steps)))
    for label, make, test in tests:
        _run_test(label, make, test, report, seconds)
    if report.ok and not source.turn_based:
        _bridge_rollout(source, kwargs, report, steps)
    return report


def _run_test(label: str, make: Callable[[], Any], test: Callable[[Any], None], report: CheckReport,
              seconds: float) -> None:
    try:
        env = make()
    except UserError:
        raise
    except Exception as err:  # the user's constructor crashed
        report.problems.append(f"constructing it raised {describe_error(err)}")
        return
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("always")
        try:
            with _time_limit(seconds):
                test(env)
        except TimeoutError:
            report.problems.append(f"PettingZoo's {label} did not finish in {seconds:g} s (does an episode end?)")
        except Exception as err:  # its bare asserts and the env's own crashes
            report.problems.append(f"PettingZoo's {label} failed: {_where(err)}")
        finally:
            with contextlib.suppress(Exception):
                env.close()
    report.warnings += sorted({str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)})


def _where(err: Exception) -> str:
    """``"AssertionError at `assert x == y` (parallel_test.py:47)"``: the failed line when the message is empty."""
    frames = traceback.extract_tb(err.__traceback__)
    last = frames[-1] if frames else None
    where = f" at `{last.line}` ({last.filename.rsplit('/', 1)[-1]}:{last.lineno})" if last and last.line else ""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}{': ' + text if text else ''}{where}"


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise ``TimeoutError`` after ``seconds`` (SIGALRM: main thread only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def _alarm(signum: int, frame: Any) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _bridge_rollout(source: MultiAgentSource, kwargs: dict[str, Any], report: CheckReport, steps: int) -> None:
    """A random rollout of the raw env (observations inside their spaces, finite rewards), then the bridge's
    shared spaces (a warning when only ``pad`` makes them shared) and a few steps through it."""
    env = source.make_parallel(**kwargs)
    try:
        _raw_rollout(env, report, steps)
    except Exception as err:
        report.problems.append(f"a random rollout crashed: {_where(err)}")
    finally:
        env.close()
    if not report.ok:
        return
    try:
        venv = ParallelVecEnv([source.make_parallel(**kwargs)], name=source.name)
    except UserError as err:
        try:
            venv = ParallelVecEnv([source.make_parallel(**kwargs)], MultiAgentOptions(pad=True), source.name)
        except UserError:
            report.problems.append(err.message + (f". Fix: {err.hint}" if err.hint else ""))
            return
        report.warnings.append(f"{err.message}: train with --hyperparams 'multiagent={{pad: true}}'")
    try:
        venv.seed(0)
        venv.reset()
        for _ in range(min(steps, 20)):
            venv.step(np.stack([venv.action_space.sample() for _ in range(venv.num_envs)]))
    except UserError as err:
        report.problems.append(err.message)
    finally:
        venv.close()


def _raw_rollout(env: Any, report: CheckReport, steps: int) -> None:
    """``steps`` random joint steps (legal ones where observations carry an ``action_mask``)."""
    obs, _ = env.reset(seed=0)
    for t in range(steps):
        for agent, o in obs.items():
            if not env.observation_space(agent).contains(o):
                report.problems.append(f"step {t}: agent {agent}'s observation {np.asarray(o)!r} is outside its "
                                       f"observation_space {env.observation_space(agent)} (check dtype, shape and "
                                       "bounds)")
                return
        actions = {}
        for agent in env.agents:
            space, o = env.action_space(agent), obs.get(agent)
            mask = o.get("action_mask") if isinstance(o, dict) else None
            masked = mask is not None and isinstance(space, spaces.Discrete)
            actions[agent] = space.sample(np.asarray(mask, np.int8)) if masked else space.sample()
        obs, rewards, _, _, _ = env.step(actions)
        bad = {a: r for a, r in rewards.items() if not np.isfinite(r)}
        if bad:
            report.problems.append(f"step {t}: rewards {bad} are not finite")
            return
        if not env.agents:
            obs, _ = env.reset()
