"""Meta-World tasks as tasks: ``metaworld:BENCHMARK/ENV`` specs, one of the benchmark's goals each.

A Meta-World task spec names a benchmark and one of its environments; its modifiers pick the goal::

    metaworld:ML1/reach-v3                  ML1's reach, train goal 0
    metaworld:ML1/reach-v3 task=3           train goal 3 (of 50)
    metaworld:ML1/reach-v3 split=test task=3   test goal 3: ML1's held-out goals, which never overlap its train goals
    metaworld:ML1/reach-v3 task=0:49        a family (--family): a train goal drawn per sampled task
    metaworld:MT10/push-v3 task=0           MT10's push (its goal is observed: multi-task benchmarks show it)
    metaworld:ML10/drawer-open-v3 split=test   one of ML10's held-out environments

``goal_seed`` (default 0) is the seed Meta-World's benchmark draws its goals with (``metaworld.ML1(name, seed)``),
so that the same spec is the same goal in every process. Benchmarks: :data:`BENCHMARKS`.

The env (:class:`MetaWorldTask`) is Meta-World's own environment with the task set: observations ``(39,)`` float64,
actions ``Box(-1, 1, (4,))``; an episode is truncated at the env's ``max_path_length`` (500 steps) and never
terminated. ``info["success"]`` is Meta-World's (1.0 on a step that meets the goal); ``info["is_success"]`` whether it
was 1 on any step of the episode so far, which SB3 reads at the episode's end (its ``rollout/success_rate``) and
:func:`gymsuite.agents.saved.evaluation.evaluate` counts as the episode's success: Meta-World's evaluation protocol,
where an episode succeeds if ``success`` is ever 1 (its evaluation stops the episode there).

Meta-World is an optional extra (``pip install "gymsuite[metaworld]"``); this module is the only one that imports it,
inside :func:`import_metaworld`, which names the extra when it is missing.
"""

from __future__ import annotations

import functools
import pickle
from typing import Any

import gymnasium as gym
import numpy as np

from gymsuite.common.errors import UserError, closest_hint

PREFIX = "metaworld:"
# benchmark -> whether it is built for one environment (ML1, MT1 take the env's name)
BENCHMARKS = {"ML1": True, "MT1": True, "MT10": False, "MT25": False, "MT50": False, "ML10": False, "ML25": False,
              "ML45": False}
SPLITS = ("train", "test")
DEFAULTS = {"split": "train", "goal_seed": "0"}  # modifiers that restate a default (task=K is always compared)
EXTRA = 'pip install "gymsuite[metaworld]"'


def is_metaworld(spec: object) -> bool:
    """Whether ``spec`` is a Meta-World task spec (``metaworld:BENCHMARK/ENV``)."""
    return isinstance(spec, str) and spec.strip().startswith(PREFIX)


def import_metaworld() -> Any:
    """The ``metaworld`` module.

    Raises:
        UserError: Meta-World is not installed (naming the extra that installs it).
    """
    try:
        import metaworld
    except ImportError as error:
        raise UserError(f"Meta-World tasks need the metaworld package, which is not installed ({error})",
                        f'install the extra: {EXTRA}') from None
    return metaworld


def parse_spec(spec: str) -> tuple[str, str]:
    """``"metaworld:ML1/reach-v3"`` -> ``("ML1", "reach-v3")``.

    Raises:
        UserError: no ``BENCHMARK/ENV`` after the prefix, or an unknown benchmark.
    """
    body = spec.strip()[len(PREFIX):]
    bench, slash, name = body.partition("/")
    if not slash or not bench or not name:
        raise UserError(f"Meta-World task {spec!r} is not metaworld:BENCHMARK/ENV",
                        "write e.g. metaworld:ML1/reach-v3 or metaworld:MT10/push-v3")
    if bench not in BENCHMARKS:
        raise UserError(f"Meta-World task {spec!r}: unknown benchmark {bench!r}",
                        f"choose one of {', '.join(BENCHMARKS)}")
    return bench, name


def _benchmark(bench: str, name: str, goal_seed: int) -> Any:
    """Meta-World's benchmark object, built once per process and goal seed (ML1 takes a second, MT10 about ten)."""
    metaworld = import_metaworld()
    if BENCHMARKS[bench]:
        if name not in metaworld.ALL_V3_ENVIRONMENTS:
            raise UserError(f"Meta-World has no environment {name!r}", _names_hint(name, metaworld.ALL_V3_ENVIRONMENTS))
        return _built(bench, name, goal_seed)
    return _built(bench, None, goal_seed)  # one object for all its environments: not one per name asked for


@functools.lru_cache(maxsize=8)
def _built(bench: str, name: str | None, goal_seed: int) -> Any:
    cls = getattr(import_metaworld(), bench)
    return cls(seed=goal_seed) if name is None else cls(name, seed=goal_seed)


def _names_hint(name: str, names: Any) -> str:
    return closest_hint(name, sorted(names), "Meta-World environments here")


def goals(bench: str, name: str, split: str = "train", goal_seed: int = 0) -> tuple[type, list[Any]]:
    """The env class and its tasks (goals) in ``split`` of Meta-World's ``bench``.

    Raises:
        UserError: an unknown split, an env the split does not hold (the names it holds), a split without goals.
    """
    if split not in SPLITS:
        raise UserError(f"Meta-World split {split!r} is neither train nor test", "write split=train or split=test")
    benchmark = _benchmark(bench, name, int(goal_seed))
    classes = benchmark.train_classes if split == "train" else benchmark.test_classes
    tasks = [t for t in (benchmark.train_tasks if split == "train" else benchmark.test_tasks) if t.env_name == name]
    if name not in classes or not tasks:
        where = f"{bench}'s {split} split"
        if not classes:
            raise UserError(f"{where} holds no environment (multi-task benchmarks have no test split)",
                            "use split=train, or an ML benchmark for held-out goals (ML1: split=test)")
        raise UserError(f"{where} has no environment {name!r}", _names_hint(name, classes))
    return classes[name], tasks


class MetaWorldTask(gym.Env):
    """One goal of a Meta-World benchmark's environment (module docstring).

    Args:
        spec: ``metaworld:BENCHMARK/ENV``.
        split: ``train`` or ``test`` (the benchmark's held-out goals or environments).
        task: which of the split's goals for this environment (from 0; ML1 has 50 per split).
        goal_seed: the seed Meta-World's benchmark draws its goals with.
        render_mode: Meta-World's (``rgb_array``, ``human``, ``depth_array``).
    """

    # The keywords a task spec may set (gymsuite.envs.tasks reads this rather than the signature: spec is the env).
    task_keywords = ("split", "task", "goal_seed")

    def __init__(self, spec: str, split: str = "train", task: int = 0, goal_seed: int = 0,
                 render_mode: str | None = None) -> None:
        bench, name = parse_spec(spec)
        if isinstance(goal_seed, bool) or not isinstance(goal_seed, int) or goal_seed < 0:
            raise UserError(f"Meta-World task {spec!r}: goal_seed={goal_seed!r} is not a whole number >= 0",
                            "write goal_seed=0 (the default)")
        cls, tasks = goals(bench, name, str(split), goal_seed)
        if isinstance(task, bool) or not isinstance(task, int) or not 0 <= task < len(tasks):
            raise UserError(f"Meta-World task {spec!r} split={split}: task={task!r} is not one of its "
                            f"{len(tasks)} goals", f"write task=K with 0 <= K <= {len(tasks) - 1}")
        self.env = cls(render_mode=render_mode)
        self.env.set_task(tasks[task])  # freezes the goal (Meta-World's rand_vec) and its observability
        self.spec_text, self.split, self.task, self.goal_seed = spec, split, task, goal_seed
        self.goal = np.asarray(pickle.loads(tasks[task].data)["rand_vec"], dtype=np.float64)  # Meta-World's data
        self.render_mode = render_mode
        self.metadata = dict(self.env.metadata)
        self.observation_space = self.env.observation_space
        self.action_space = self.env.action_space
        self.max_path_length = int(self.env.max_path_length)
        self._succeeded = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Reset to the task's start (Meta-World ignores ``reset``'s seed and is seeded through ``seed()``)."""
        super().reset(seed=seed)
        if seed is not None:
            self.env.seed(seed)
        self._succeeded = False
        obs, info = self.env.reset()
        return obs, {**info, "is_success": False}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(np.asarray(action))
        self._succeeded = self._succeeded or bool(info.get("success", 0.0) >= 1.0)
        return obs, float(reward), bool(terminated), bool(truncated), {**info, "is_success": self._succeeded}

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


def factory(spec: str) -> Any:
    """``(render_mode=None, **keywords) -> MetaWorldTask`` for the spec, like :func:`gymsuite.envs.factory.resolve`'s
    factories (the spec checked, and Meta-World imported, now)."""
    parse_spec(spec)
    import_metaworld()
    return functools.partial(MetaWorldTask, spec.strip())


__all__ = ["BENCHMARKS", "DEFAULTS", "EXTRA", "PREFIX", "MetaWorldTask", "factory", "goals", "import_metaworld",
           "is_metaworld", "parse_spec"]
