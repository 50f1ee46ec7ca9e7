"""Hyperparameter studies: Optuna's TPE asks, gymsuite's training runs each trial as an ordinary run directory.

A study directory (default ``runs/tune/<algo>-<env>``) holds:

- ``study.yaml``: what the study is (algo, env, timesteps, seed, base hyperparameters, search space); a rerun that
  differs is refused, one that matches continues the study;
- ``journal.log``: Optuna's storage, a journal file (``JournalFileBackend``). Chosen over SQLite because it needs
  nothing besides Optuna (no SQLAlchemy), is an append-only log, and its file lock works for worker processes and,
  on shared storage, Ray nodes. ``agents/sweeps/journal.py`` appends whole records or nothing (a full disk leaves
  no torn record) and repairs a damaged journal when the study opens;
- ``lock``: ``pid host`` of the tune process using the study (a dead pid's lock is taken over);
- ``trials/<NNNN>/``: trial NNNN's run directory (config.yaml, eval.json, logs), as ``gymsuite train`` writes; with
  ``seeds_per_trial`` K > 1, one run directory per seed, ``trials/<NNNN>/seed<S>/`` (seeds S = seed .. seed + K - 1);
- ``best/config.yaml``, ``summary.md``, ``importance.png``: rewritten after each finished trial (``tunereport``).

No path inside the study directory may be a symbolic link (:func:`study_lock` refuses the study): the study writes
only inside its directory.

Trials are asked in this process (``study.ask()`` and the declarative space, ``agents/sweeps/space.py``) and trained
as executor jobs (``run_jobs``: here, a worker pool or Ray), one asked whenever a worker is free. A job opens the same
storage to report each periodic evaluation and stops its training when ``trial.should_prune()`` says so
(MedianPruner); this process then tells the study COMPLETE (the value: the final evaluation's ``mean_return``, i.e.
``eval_episodes`` episodes of the policy the trial ends with, the one ``best/config.yaml`` reproduces, rather than
a periodic evaluation's 5), PRUNED or FAIL. With K seeds per trial the seeds train one after the other in the trial's
job, each reporting its evaluations after the steps of the seeds before it (so the pruner compares every trial's
seed k with the others' seed k), and the value is the mean of the seeds' final returns: one seed per trial rewards
the luckiest seed, not the best configuration.

``objective``: ``return`` (above), or ``seconds`` / ``steps`` to the target return (``target_return``, ``auto``: the
env's threshold, :mod:`gymsuite.envs.thresholds`): every trial's runs stop at the first periodic evaluation that
reaches it (confirmed over ``eval_episodes`` more, as ``gymsuite train --target-return`` does), and the value is
minus the expected cost of one solved agent when a seed that misses is run again (:func:`trial_value`): the seeds'
mean cost (seconds or steps to the target, or all they spent when they missed) over the share that reached it. A
configuration none of whose seeds reached the target ranks below every one that reached it once, however cheaply it
missed (among such configurations, by their mean final return): a configuration that is cheap because it never
learns cannot win. The fastest configuration to a solved agent, rather than the best at a fixed budget (issue 28's
shipped defaults).

A trial that repeats a complete trial's configuration is not trained again: it is told that trial's value, with
user attr ``repeat_of`` (:func:`repeat_of`).

A trial cut by Ctrl-C, SIGTERM or a kill is FAIL with user attr
``interrupted`` and its parameters are enqueued, so the continued study tries them first. The sampler's seed is
drawn from the study's seed and its number of trials (:func:`sampler_seed`), so a continued study proposes new
configurations rather than those of its first process again.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm

from gymsuite.agents.algorithms import registry
from gymsuite.agents.files.rundir import safe_env_name
from gymsuite.agents.run.config import build_config, parse_assignments
from gymsuite.agents.run.runconfig import RunConfig
from gymsuite.agents.run.training import EvalListener, train
from gymsuite.agents.sweeps import journal, space, tunereport
from gymsuite.agents.sweeps.executor import Job, Outcome, Report, run_jobs
from gymsuite.agents.sweeps.sweep import plan, quietly, run_summary
from gymsuite.common.errors import UserError, closest_hint
from gymsuite.common.files import ensure_dir, read_yaml, write_yaml
from gymsuite.common.pidlock import pid_lock

if TYPE_CHECKING:
    import optuna

STUDY_NAME = "gymsuite"
JOURNAL = "journal.log"


@dataclass(frozen=True)
class Pruning:
    """MedianPruner's settings: prune below the median of finished trials once ``startup`` trials have finished
    and the trial has trained ``warmup`` env steps."""

    startup: int = 5
    warmup: int = 0

    def pruner(self) -> optuna.pruners.BasePruner:
        import optuna

        return optuna.pruners.MedianPruner(n_startup_trials=self.startup, n_warmup_steps=self.warmup)


@dataclass(frozen=True)
class StudyPlan:
    """A validated study: its record (``study.yaml``), its search space and where it lives."""

    root: Path
    record: dict[str, Any]  # algo, env, timesteps, seed, hyperparams, space
    params: list[space.Param]
    pruning: Pruning

    @property
    def journal(self) -> Path:
        return self.root / JOURNAL

    @property
    def seeds(self) -> int:
        """Seeds each trial trains (``--seeds-per-trial``)."""
        return int(self.record.get("seeds_per_trial", 1))

    @property
    def objective(self) -> str:
        """What a trial's value measures (:data:`OBJECTIVES`)."""
        return str(self.record.get("objective", "return"))

    def config(self, values: dict[str, Any]) -> RunConfig:
        """The run config of a trial with these sampled ``values`` (the training's own checks).

        A dotted name (``backbone_kwargs.context``) sets one key of a mapping hyperparameter, the mapping's other
        keys kept as the trial has them without it (``--hyperparams``', else the shipped defaults').
        """
        rec = self.record
        flat = {k: v for k, v in values.items() if "." not in k}
        pairs = [*rec["hyperparams"], *(f"{k}={_yaml_value(v)}" for k, v in flat.items())]
        cli = {"algo": rec["algo"], "env": rec["env"], "seed": rec["seed"], "timesteps": rec["timesteps"],
               "target_return": rec.get("target_return")}
        dotted = {k: v for k, v in values.items() if "." in k}
        if not dotted:
            return build_config(cli, None, pairs)
        hyper = parse_assignments(pairs)
        hyper.update(nest(dotted, build_config(cli, None, pairs).hyperparams))  # the --hyperparams values on top
        return build_config(cli, None, hyper)


def nest(dotted: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The mapping hyperparameters that dotted ``values`` (``{"backbone_kwargs.context": 4}``) change: each a copy of
    its ``current`` value (none: an empty mapping) with the dotted keys set, at any depth.

    Raises:
        UserError: a dotted name whose head holds something other than a mapping.
    """
    out: dict[str, Any] = {}
    for name, value in dotted.items():
        head, *path = name.split(".")
        if head not in out:
            out[head] = copy.deepcopy(current.get(head)) if current.get(head) is not None else {}
        node = out[head]
        for i, key in enumerate(path):
            if not isinstance(node, dict):
                held = ".".join([head, *path[:i]])
                raise UserError(f"the search space's {name} sets a key of {held}, which holds {node!r}, not a "
                                "mapping", f"set {held} to a mapping with --hyperparams, or sample {held} whole")
            if i == len(path) - 1:
                node[key] = value
            else:
                node = node.setdefault(key, {})
    return out


def _yaml_value(value: Any) -> str:
    """A sampled value as ``--hyperparams`` text that reads back as the same value."""
    return repr(value) if isinstance(value, float) else json.dumps(value)


def default_dir(algo: str, env: str) -> Path:
    return Path("runs/tune") / f"{algo}-{safe_env_name(env)}"


def plan_study(algo: str, env: str, timesteps: int | None, seed: int, hyperparams: list[str],
               space_file: Path | None, root: Path | None, pruning: Pruning | None = None,
               seeds_per_trial: int = 1, objective: str = "return",
               target_return: str | float | None = None) -> StudyPlan:
    """Check everything before anything is written: the algorithm and env (as ``sweep`` does), the base
    hyperparameters, every value the space can give, and an existing study's record.

    ``seeds_per_trial``: seeds each trial trains, its value their mean (part of the study: a continued study
    keeps it). ``objective`` (:data:`OBJECTIVES`) and ``target_return`` (a number or ``auto``; needed by
    ``seconds`` and ``steps``, which every trial's runs stop at): see the module docstring.

    Raises:
        UserError: any of those refused, or ``root`` holding a study of another algo/env/space/settings.
    """
    if seeds_per_trial < 1:
        raise UserError(f"--seeds-per-trial must be at least 1, got {seeds_per_trial}", "e.g. --seeds-per-trial 3")
    if objective not in OBJECTIVES:
        raise UserError(f"unknown --objective {objective!r}", closest_hint(objective, OBJECTIVES, "objectives"))
    if objective != "return" and target_return is None:
        raise UserError(f"--objective {objective} measures the time to a target return, and none is given",
                        "pass --target-return R or --target-return auto (the env's threshold)")
    base = plan(Path("."), [algo], [env], [seed], {"timesteps": timesteps, "target_return": target_return},
                hyperparams)[0].cfg
    where = str(space_file) if space_file else f"agents/hyperparams/spaces/{base.algo}.yml"
    data = space.read_space(space_file or space.shipped_space(base.algo))
    params = space.parse_space(data, where)
    parse_assignments(hyperparams)
    record = {"algo": base.algo, "env": base.env, "timesteps": base.timesteps, "seed": seed,
              "hyperparams": list(hyperparams), "space": data}
    # Absent at their defaults: the studies written before these options continue unchanged.
    if seeds_per_trial > 1:
        record["seeds_per_trial"] = seeds_per_trial
    if objective != "return":
        record["objective"] = objective
    if base.target_return is not None:
        record["target_return"] = base.target_return
    # Early evaluations are noisy: a trial is judged once 5 trials have finished, after its first fifth.
    pruning = pruning or Pruning(startup=5, warmup=base.timesteps // 5)
    study = StudyPlan(root or default_dir(base.algo, base.env), record, params, pruning)
    space.check_against(params, study.config, where)
    _check_record(study)
    return study


def _check_record(study: StudyPlan) -> None:
    file = study.root / "study.yaml"
    if not file.is_file():
        if study.root.is_dir() and any(p.name != "lock" for p in study.root.iterdir()):  # lock: killed at once
            raise UserError(f"{study.root} is not empty and holds no study.yaml",
                            "choose another --study directory")
        return
    saved = read_yaml(file)
    differ = [k for k in sorted({*study.record, *saved}) if saved.get(k) != study.record.get(k)]
    if differ:
        raise UserError(f"{study.root} holds a study with other {', '.join(differ)} ({file})",
                        "choose another --study directory, or repeat that study's settings to continue it")


def study_lock(root: Path) -> contextlib.AbstractContextManager[None]:
    """Hold ``<root>/lock`` while this process uses the study (``gymsuite.common.pidlock``: a dead pid's lock is taken
    over), creating ``root`` first.

    Raises:
        UserError: ``root`` is a file, lies under one or cannot be written; it holds a symbolic link; a live process
            holds the lock.
    """
    ensure_dir(root, "--study")
    refuse_links(root)
    return pid_lock(root / "lock", f"the study {root}", "--study")


def refuse_links(root: Path) -> None:
    """Refuse a study directory holding a symbolic link (``best/``, ``trials/0003``, ``journal.log``, ``lock``...):
    the study would write through it, outside its directory. Optuna's own journal lock (``journal.log.lock``, a link
    it only renames and deletes) is allowed.

    Raises:
        UserError: naming the first link found.
    """
    for folder, dirs, files in os.walk(root):
        for name in sorted([*dirs, *files]):
            path = Path(folder) / name
            if path.is_symlink() and not (Path(folder) == root and name.startswith(f"{JOURNAL}.lock")):
                raise UserError(f"{path} is a symbolic link (to {os.readlink(path)}) inside the study {root}: "
                                "a study writes only inside its directory, never through a link",
                                "replace the link by the file or directory itself, or choose another --study")


def journal_storage(path: Path) -> optuna.storages.BaseStorage:
    """The study's journal file as Optuna's storage (its log lines quiet), appended to in whole records
    (``journal.WholeRecords``): the command, its jobs and readers all open it this way."""
    import optuna
    from optuna.storages.journal import JournalStorage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return JournalStorage(journal.WholeRecords(path))


def open_study(study: StudyPlan) -> optuna.Study:
    """Write ``study.yaml`` and open (or create) the study's journal storage, repairing a damaged journal first
    (``journal.repair``: a warning says what was dropped); hold the lock around this."""
    import optuna

    study.root.mkdir(parents=True, exist_ok=True)
    write_yaml(study.root / "study.yaml", study.record)
    journal.repair(study.journal)
    opened = optuna.create_study(storage=journal_storage(study.journal), pruner=study.pruning.pruner(),
                                 study_name=STUDY_NAME, direction="maximize", load_if_exists=True)
    # constant_liar: running trials count as bad while they run, so trials asked meanwhile spread out.
    seed = sampler_seed(study.record["seed"], len(opened.get_trials(deepcopy=False)))
    opened.sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    return opened


def sampler_seed(seed: int, trials: int) -> int:
    """The sampler's seed in a process that opens a study of ``seed`` holding ``trials`` trials: ``seed`` itself
    for a new study; for a continued one a seed of its own (a sampler seeded alike in each process would propose
    the first process's configurations again). ``trials`` grows with every trial asked, so no two processes of a
    study draw alike."""
    if trials == 0:
        return seed
    return int(np.random.SeedSequence([seed, trials]).generate_state(1)[0])


def load_study(root: Path) -> optuna.Study:
    """A study directory's study, to read (its trials, best value); no lock is taken.

    Raises:
        UserError: ``root`` holds no study, or its journal is damaged (naming the line; ``gymsuite tune`` repairs it).
    """
    import optuna

    if not (root / JOURNAL).is_file():
        raise UserError(f"{root} holds no study ({JOURNAL} is missing)", "pass the directory gymsuite tune wrote")
    journal.check(root / JOURNAL)
    return optuna.load_study(study_name=STUDY_NAME, storage=journal_storage(root / JOURNAL))


def requeue(study: optuna.Study, trial_number: int) -> None:
    """Mark a trial that a stop or kill cut short as FAIL (``interrupted``) and enqueue its parameters again."""
    from optuna.trial import TrialState

    frozen = study.get_trials(deepcopy=False)[trial_number]
    if frozen.state == TrialState.RUNNING:
        _set_attrs(study, frozen._trial_id, {"interrupted": True})
        study.tell(trial_number, state=TrialState.FAIL)
    study.enqueue_trial(frozen.params, user_attrs={"retry_of": trial_number})


def _set_attrs(study: optuna.Study, trial_id: int, attrs: dict[str, Any]) -> None:
    """User attrs of a RUNNING trial. Optuna names a trial in its storage by ``_trial_id`` (there is no public
    accessor); ``Trial(study, trial_id)`` is its public way to write to a trial asked elsewhere."""
    import optuna

    trial = optuna.trial.Trial(study, trial_id)
    for key, value in attrs.items():
        trial.set_user_attr(key, value)


def recover(study: optuna.Study) -> list[int]:
    """Requeue every trial left RUNNING by a process that was killed (the lock says none is alive); their numbers."""
    from optuna.trial import TrialState

    left = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    for number in left:
        requeue(study, number)
    return left


def finished(study: optuna.Study) -> int:
    """Trials that count towards ``--trials``: COMPLETE and PRUNED (FAIL does not)."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


OBJECTIVES = ("return", "seconds", "steps")


def seed_value(objective: str, evaluation: dict[str, Any]) -> float:
    """One seed's value from its ``eval.json``: its return, or minus the training seconds / env steps to the
    target (minus all it spent when it never got there)."""
    if objective == "return":
        return float(evaluation["mean_return"])
    spent = evaluation["train_seconds"] if objective == "seconds" else evaluation["timesteps"]
    reached = evaluation.get(f"target_{objective}") if evaluation.get("target_reached") else None
    return -float(reached if reached is not None else spent)


def trial_value(objective: str, evaluations: list[dict[str, Any]]) -> float:
    """A trial's value (higher is better) from its seeds' ``eval.json``.

    ``return``: the mean final return. ``seconds`` / ``steps``: minus the expected cost of one solved agent when
    each seed that misses the target is run again with a new seed (a renewal argument): the mean cost per seed over
    the share p of seeds that reached it. When none of the K seeds reached it, p has no estimate (0 would be an
    infinite cost, and any guess such as 1 / (K + 1) let a configuration that missed cheaply outrank ones that got
    there: a DQN study on MountainCar ranked first a trial whose three seeds all missed in 11 s, above one whose two
    seeds of three reached -110 in 38 s), so the value is ``-UNSOLVED`` plus the seeds' mean final return: below
    every trial that reached the target once, and ordered among such trials by how close they came.
    """
    values = [seed_value(objective, e) for e in evaluations]
    if objective == "return":
        return float(np.mean(values))
    share = sum(bool(e.get("target_reached")) for e in evaluations) / len(evaluations)
    if not share:
        return -tunereport.UNSOLVED + float(np.mean([e["mean_return"] for e in evaluations]))
    return float(np.mean(values)) / share


@dataclass(frozen=True)
class TrialTask:
    """What a trial's job needs: its config and directory, and how to reach its Optuna trial."""

    cfg: RunConfig
    run_dir: Path
    journal: Path
    trial_id: int
    pruning: Pruning
    seeds: int = 1  # trained one after the other: cfg.seed, cfg.seed + 1, ...
    objective: str = "return"

    def seed_runs(self) -> list[tuple[RunConfig, Path]]:
        """Each seed's config and run directory (``run_dir`` itself for one seed)."""
        if self.seeds == 1:
            return [(self.cfg, self.run_dir)]
        return [(dataclasses.replace(self.cfg, seed=self.cfg.seed + k),
                 tunereport.seed_dir(self.run_dir, self.cfg.seed + k)) for k in range(self.seeds)]


class _Reporter(EvalListener):
    """Hands each periodic evaluation to the Optuna trial; stops the training when the pruner says so."""

    def __init__(self, trial: optuna.trial.Trial) -> None:
        super().__init__()
        self.trial, self.pruned_at = trial, -1
        self.offset = 0  # the env steps of the trial's seeds trained before this one

    def on_evaluation(self, steps: int, result: dict[str, Any]) -> bool:
        self.trial.report(float(result["mean_return"]), self.offset + steps)
        if self.trial.should_prune():
            self.pruned_at = self.offset + steps
            return False
        return True


def run_trial(task: TrialTask) -> dict[str, Any]:
    """Train one trial (a job: here or in a worker), reporting to its Optuna trial; a small summary dict."""
    import optuna

    study = optuna.load_study(study_name=STUDY_NAME, storage=journal_storage(task.journal),
                              pruner=task.pruning.pruner())
    reporter = _Reporter(optuna.trial.Trial(study, task.trial_id))
    evaluations: list[dict[str, Any]] = []
    for cfg, run_dir in task.seed_runs():
        with quietly():
            result = train(cfg, run_dir, overwrite=True, callbacks=[reporter])
        if result.interrupted or reporter.pruned_at >= 0:
            return {**run_summary(run_dir, result), "pruned_at": reporter.pruned_at}
        evaluations.append(result.eval)
        reporter.offset += result.steps
    summary = {**run_summary(task.run_dir, result), "pruned_at": -1,
               "value": trial_value(task.objective, evaluations)}
    if task.seeds > 1:
        summary["seed_values"] = [seed_value(task.objective, e) for e in evaluations]
    return summary


OnTrial = Callable[["optuna.trial.FrozenTrial"], None]


def run_study(study_plan: StudyPlan, study: optuna.Study, trials: int, jobs: int = 1,
              ray_address: str | None = None, on_trial: OnTrial | None = None, timeout: float | None = None) -> int:
    """Continue the study until ``trials`` trials are COMPLETE or PRUNED, or until ``timeout`` seconds have passed
    (no trial starts after it; running ones finish); the stop signal's number, or 0.

    ``study``: :func:`open_study`'s, with :func:`study_lock` held around both. ``on_trial(frozen)`` is called
    here after each finished trial, once the study's outputs are rewritten.

    Raises:
        UserError: trials keep failing (more failures in this call than ``trials``).
    """
    recover(study)
    failures = 0
    deadline = time.monotonic() + timeout if timeout is not None else float("inf")
    while finished(study) < trials and time.monotonic() < deadline:  # again when trials failed
        report = _run_trials(study, study_plan, trials, deadline, jobs, ray_address, on_trial)
        if report.stopped:
            return report.signum
        failures += sum(1 for o in report.outcomes if not o.ok and not o.interrupted)
        if failures > trials:
            raise UserError(f"{failures} trials failed in {study_plan.root} (see summary.md)",
                            "fix the cause (a trial's error is in summary.md), then run the same command again")
    return 0


def _run_trials(study: optuna.Study, study_plan: StudyPlan, trials: int, deadline: float, jobs: int,
                ray_address: str | None, on_trial: OnTrial | None) -> Report:
    """Ask a trial whenever a worker is free (so TPE sees every outcome so far), until the finished and running
    trials make ``trials`` or the deadline passes; each outcome is told to the study as it comes."""
    asked: list[str] = []
    ended: set[str] = set()

    def feed() -> Iterator[Job]:
        while finished(study) + len(asked) - len(ended) < trials and time.monotonic() < deadline:
            job = _ask(study, study_plan, on_trial)
            if job is not None:
                asked.append(job.key)
                yield job

    def done(outcome: Outcome) -> None:
        frozen = _tell(study, outcome)
        ended.add(outcome.job.key)
        tunereport.write_outputs(study, study_plan.root)
        if on_trial is not None:
            on_trial(frozen)

    try:
        return run_jobs(feed(), jobs, ray_address, done)
    finally:  # stopped before it ran or before its outcome came back, or Ray refused: tried again on continue
        for key in asked:
            if key not in ended:
                requeue(study, int(key))


def _ask(study: optuna.Study, study_plan: StudyPlan, on_trial: OnTrial | None) -> Job | None:
    """Ask one trial, as a job. None where it needs no training: a combination training refuses is told PRUNED at
    once with its reason, and a repeat of a complete trial (:func:`repeat_of`) is told that trial's value."""
    from optuna.trial import TrialState

    trial = study.ask()
    values = space.sample(study_plan.params, trial)
    refused = _refused(study_plan, values)
    earlier = None if refused else repeat_of(study, trial.params)
    if refused:
        trial.set_user_attr("refused", refused)
        frozen = study.tell(trial, state=TrialState.PRUNED)
    elif earlier is not None:
        trial.set_user_attr("repeat_of", earlier.number)
        frozen = study.tell(trial, earlier.value)
    else:
        return _job(study_plan, values, trial)
    tunereport.write_outputs(study, study_plan.root)
    if on_trial is not None:
        on_trial(frozen)
    return None


def _job(study_plan: StudyPlan, values: dict[str, Any], trial: optuna.trial.Trial) -> Job:
    """The job that trains ``trial`` (its sampled ``values``) into ``trials/NNNN``."""
    cfg = study_plan.config(values)
    run_dir = study_plan.root / "trials" / f"{trial.number:04d}"
    # Absolute paths: a job may run in another working directory (a Ray worker; the study dir on shared storage).
    task = TrialTask(cfg, run_dir.resolve(), study_plan.journal.resolve(), trial._trial_id, study_plan.pruning,
                     study_plan.seeds, study_plan.objective)
    gpus = 1.0 if str(cfg.device).startswith("cuda") else 0.0
    return Job(str(trial.number), run_trial, (task,), gpus=gpus)


def repeat_of(study: optuna.Study, params: dict[str, Any]) -> optuna.trial.FrozenTrial | None:
    """The first COMPLETE trial with exactly these ``params``, whose value a repeat takes instead of training again.

    Every trial trains the same seeds, and a run on the CPU is deterministic, so a repeated configuration would
    repeat the same runs to the same returns (a ``seconds`` value differs only by the machine's noise). TPE does
    propose one again on a small categorical space: a MountainCar DQN study of 23 trials trained one configuration
    three times and another twice (2026-12-06). Only COMPLETE trials are reused: a PRUNED one was judged against the
    trials before it (MedianPruner), and those have changed since; a FAIL one is tried again.
    """
    from optuna.trial import TrialState

    return next((t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                 if t.params == params and t.value is not None), None)


def _minibatches(cls: type[BaseAlgorithm]) -> bool:
    """The algorithm ``cls`` cuts each rollout of ``n_steps`` x ``n_envs`` into minibatches of ``batch_size`` (PPO)."""
    return {"n_steps", "batch_size"} <= set(inspect.signature(cls.__init__).parameters)


def _refused(study_plan: StudyPlan, values: dict[str, Any]) -> str:
    """Why this combination cannot be trained as meant (empty when it can)."""
    try:
        cfg = study_plan.config(values)
    except UserError as err:
        return err.message
    hyper = cfg.hyperparams
    if "batch_size" in hyper and "n_steps" in hyper and _minibatches(registry.get(cfg.algo).model_class(hyper)):
        rollout = int(hyper["n_steps"]) * int(cfg.n_envs)
        if int(hyper["batch_size"]) > rollout:
            return f"batch_size {hyper['batch_size']} > n_steps * n_envs = {rollout}"
    return ""


def _tell(study: optuna.Study, outcome: Outcome) -> optuna.trial.FrozenTrial:
    """Record a trial's outcome in the study: COMPLETE with its value, PRUNED, or FAIL (interrupted: requeued)."""
    from optuna.trial import TrialState

    number = int(outcome.job.key)
    trial_id = study.get_trials(deepcopy=False)[number]._trial_id
    attrs = {"node": outcome.node, "attempts": outcome.attempts, "seconds": round(outcome.seconds, 2)}
    if outcome.error:
        attrs["error"] = outcome.error
    result = outcome.result or {}
    if outcome.ok and result.get("pruned_at", -1) >= 0:
        attrs["pruned_at"] = result["pruned_at"]
    if result.get("seed_values"):
        attrs["seed_values"] = [round(r, 4) for r in result["seed_values"]]
    _set_attrs(study, trial_id, attrs)
    if outcome.interrupted:
        requeue(study, number)
    elif "pruned_at" in attrs:
        study.tell(number, state=TrialState.PRUNED)
    elif outcome.ok and result.get("value") is not None:
        study.tell(number, float(result["value"]))
    else:
        study.tell(number, state=TrialState.FAIL)
    return study.get_trials(deepcopy=False)[number]
