"""``gymsuite compress``: a smaller policy from a trained agent, written as a new ordinary run directory.

One method per call (the course's chapter 12, network compression):

* ``distill``: a student of the same algorithm with a smaller ``net_arch`` (or another image backbone), taught
  on-policy from the teacher or an ensemble (:mod:`gymsuite.agents.run.distilling`);
* ``prune``: global magnitude pruning of the weights (a fraction of zeros, masks kept in ``masks.npz``), or with
  ``structured`` whole hidden units of the ``net_arch`` layers removed (a smaller dense policy); with fine-tuning
  (taught by the unpruned teacher, by default, or the algorithm's own training) the weights are pruned gradually
  during it, the masks re-applied after every optimiser step;
* ``int8``: every ``Linear`` weight rounded through PyTorch's dynamic int8 quantisation grid. SB3 cannot save a
  quantised module, so ``model.zip`` holds these fake-quantised float weights (plain SB3 loads it and its return
  is that of int8 weights); the report's bytes, latency and agreement are those of the really quantised module;
  optionally fine-tuned after, quantisation-aware (:class:`~gymsuite.agents.run.callbacks.Int8Keeper`).

The new run directory holds ``config.yaml`` (the teacher's, with the new ``net_arch``/``backbone``),
``model.zip`` (a standard SB3 model), the teacher's ``vecnormalize.npz`` when it has one, ``eval.json``,
``compress.json`` (the report: :mod:`gymsuite.agents.saved.compressreport`) and, when pruned, ``masks.npz``. It is
built in a hidden folder beside it and renamed into place at the end: an error or Ctrl-C leaves nothing.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecNormalize
from stable_baselines3.dqn.policies import DQNPolicy
from torch import nn

from gymsuite.agents.files.maskfile import MASKS_NAME, save_masks
from gymsuite.agents.files.normstats import save_stats
from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.run.distilling import DistillOptions, distill
from gymsuite.agents.run.pruning import Compressed, finetune, int8, prune, prune_gradually, prune_taught
from gymsuite.agents.saved import compressreport
from gymsuite.agents.saved.loading import LoadedAgent, make_agent_env
from gymsuite.agents.saved.policynets import (
    ActingNet,
    check_policy,
    hidden_chains,
    rebuilt,
)
from gymsuite.common.errors import UserError
from gymsuite.common.files import disk_errors, read_yaml, write_json, write_yaml
from gymsuite.common.signals import held
from gymsuite.common.spaces import same_space
from gymsuite.envs.target import lenient_target
from gymsuite.supervised import backbones
from gymsuite.supervised import compression as cx
from gymsuite.supervised.images import is_image

METHODS = ("distill", "prune", "int8")
FINETUNE_BY = ("algo", "teacher")  # --finetune's training: the run's algorithm on the env's reward, or distillation
SWEEP_NAME = "sweep.json"  # the file that marks a --sweep's folder (gymsuite.agents.sweeps.compression)
UNQUANTISED = (nn.MultiheadAttention, nn.RNNBase)  # dynamic quantisation would leave these float: int8 refuses them


@dataclass(frozen=True)
class CompressOptions:
    """One compression (``gymsuite compress``'s flags).

    Attributes:
        method: ``"distill"``, ``"prune"`` or ``"int8"``.
        size: distill: the student, ``"W[,W...]"`` (its ``net_arch``) or ``"BACKBONE[@FEATURES][:W,...]"`` (an
            image run's backbone, its ``features_dim``, and the widths after it: :func:`parse_size`).
        teachers: distill: more teacher runs; the labels are the ensemble's averaged distribution.
        distill: the distillation's steps, temperature and training (:class:`DistillOptions`).
        fraction: prune: the share of weights (or, ``structured``, of each hidden layer's units) removed, in (0, 1).
        structured: prune whole units of the ``net_arch`` layers (a smaller dense policy).
        finetune: prune or int8: env steps of training after it (0: none), the zeros kept or the weights on their
            int8 grid (quantisation-aware fine-tuning).
        finetune_by: that training: ``"teacher"`` (prune only: distillation from the unpruned teacher, on-policy,
            at ``distill``'s temperature) or ``"algo"`` (the run's algorithm on the env's reward); None: teacher
            for prune, algo for int8 (:attr:`trainer`).
        episodes: greedy episodes of the return (teacher and compressed, same seeds).
        states: on-policy states of the greedy agreement.
        seed: seeds the envs, the distillation and the fine-tuning.
    """

    method: str
    size: str | None = None
    teachers: tuple[str, ...] = ()
    distill: DistillOptions = field(default_factory=DistillOptions)
    fraction: float | None = None
    structured: bool = False
    finetune: int = 0
    finetune_by: str | None = None
    episodes: int = 20
    states: int = 1000
    seed: int = 0

    @property
    def trainer(self) -> str:
        """``finetune_by``, resolved: by default the teacher teaches a pruned policy (five LunarLander PPO teachers
        pruned to 93%: 100,000 steps of it kept 101% of their return, PPO's own training on the reward ended at
        -75%; BENCHMARKS.md), and int8's quantisation-aware training is the algorithm's."""
        return self.finetune_by or ("teacher" if self.method == "prune" else "algo")


def check_options(options: CompressOptions) -> None:
    """Refuse options that cannot work, before anything is loaded or written."""
    if options.method not in METHODS:
        raise UserError(f"unknown compression method {options.method!r}", f"pick one of {', '.join(METHODS)}")
    if options.method == "prune":
        if options.fraction is None or not 0 < options.fraction < 1:
            raise UserError(f"the pruning fraction must be in (0, 1), got {options.fraction}",
                            "e.g. --prune 0.9 (90% of the weights set to zero)")
    elif options.structured:
        raise UserError("--structured goes with --prune", "add --prune FRACTION, or leave it out")
    if options.finetune and options.method == "distill":
        raise UserError("--finetune goes with --prune or --int8 (a student is trained by --steps)",
                        "leave --finetune out, or raise --steps")
    if options.finetune_by not in (None, *FINETUNE_BY):
        raise UserError(f"unknown --finetune-by {options.finetune_by!r}", f"pick one of {', '.join(FINETUNE_BY)}")
    if options.finetune_by is not None and not options.finetune:
        raise UserError(f"--finetune-by {options.finetune_by} says how --finetune trains, and no --finetune is given",
                        "add --finetune STEPS, or leave --finetune-by out")
    if options.finetune_by == "teacher" and options.method != "prune":
        raise UserError("--finetune-by teacher goes with --prune (int8's fine-tuning is the algorithm's own)",
                        "use --finetune-by algo, or leave it out")
    if options.finetune < 0:
        raise UserError(f"--finetune must be at least 0 env steps, got {options.finetune}", "e.g. --finetune 20000")
    if options.method != "distill" and options.teachers:
        raise UserError("--teachers goes with --distill", "add --distill SIZE, or leave --teachers out")
    if options.method == "distill":
        if not options.size:
            raise UserError("--distill needs the student's size", "e.g. --distill 16 or --distill 32,32")
        if options.distill.steps < 1 or options.distill.temperature <= 0:
            raise UserError(f"--steps must be at least 1 and --temperature above 0, got {options.distill.steps} and "
                            f"{options.distill.temperature}", "e.g. --steps 50000 --temperature 1")
    for name, value in (("episodes", options.episodes), ("states", options.states)):
        if value < 1:
            raise UserError(f"--{name} must be at least 1, got {value}", f"e.g. --{name} 20")


def check_out(out: Path, overwrite: bool, teachers: Sequence[LoadedAgent] = ()) -> None:
    """Refuse an output that exists (without ``overwrite``), that a file blocks, that holds a teacher, or (with
    ``overwrite``) that is a folder other than a run or a sweep: replacing it would delete what it holds."""
    blocking = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UserError(f"cannot create {out}: {blocking} is a file", "choose another --out")
    for teacher in teachers:
        if teacher.run is not None and teacher.run.root.resolve().is_relative_to(out.resolve()):
            raise UserError(f"the output {out} holds the teacher {teacher.run.root}", "choose another --out")
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise UserError(f"the output {out} already exists", "pass --overwrite to replace it, or another --out")
    if not (RunDir(out).is_run() or (out / SWEEP_NAME).is_file()):
        raise UserError(f"{out} is neither a run directory nor a compress sweep, and --overwrite would delete it "
                        "whole", "choose another --out, or empty it first")


def check_teacher(teacher: LoadedAgent, options: CompressOptions) -> None:
    """Refuse a teacher compress cannot take: not a trained single-agent actor-critic or DQN with discrete actions,
    or (int8) a backbone dynamic quantisation leaves in float."""
    target = lenient_target(teacher.env)
    if target is not None and target.multiagent:
        raise UserError(f"compress does not support multi-agent envs yet, and {teacher.env} is one",
                        "compress a single-agent run")
    policy = check_policy(teacher.model, teacher.algo)
    if options.method == "int8":
        odd = next((m for m in policy.modules() if isinstance(m, UNQUANTISED)), None)
        if odd is not None:
            raise UserError(f"--int8 quantises Linear layers, and this policy's backbone has a "
                            f"{type(odd).__name__}, which PyTorch's dynamic quantisation leaves in float: the "
                            "report would call a float network int8", "use --int8 on an mlp or CNN backbone run, "
                            "or compress this one with --distill or --prune")


@dataclass(frozen=True)
class StudentSize:
    """A student's size as ``--distill`` gives it: ``W[,W...]`` or ``BACKBONE[@FEATURES][:W,...]``.

    Attributes:
        backbone: an image backbone's name (None: the teacher's). features: its ``features_dim`` (None: its own).
        widths: the ``net_arch`` (None: the teacher's).
    """

    backbone: str | None
    features: int | None
    widths: list[int] | None


_SIZE = re.compile(r"(?:(?P<name>[A-Za-z_]\w*)(?:@(?P<features>\d+))?(?::|$))?(?P<widths>\d+(?:,\d+)*)?")


def parse_size(text: str, image: bool) -> StudentSize:
    """``"16,16"``: widths; ``"small_cnn@32:16"``: the small_cnn backbone with 32 features, then a layer of 16
    (``"small_cnn"`` alone keeps the teacher's widths)."""
    match = _SIZE.fullmatch(text.strip())
    example = "e.g. --distill 16, --distill 32,32, or --distill small_cnn@64:16 for an image run"
    if not text.strip() or match is None:
        raise UserError(f"bad student size {text!r}: widths are positive integers separated by commas, after an "
                        "optional image backbone's name (and @FEATURES) and a colon", example)
    name, features, widths = match.group("name"), match.group("features"), match.group("widths")
    size = StudentSize(name, int(features) if features else None, [int(w) for w in widths.split(",")] if widths
                       else None)
    if (size.widths and min(size.widths) < 1) or size.features == 0:
        raise UserError(f"bad student size {text!r}: every width (and feature count) must be at least 1", example)
    if name:
        backbones.get(name)  # an unknown name: the closest one
        if not image:
            raise UserError(f"--distill {text} names a backbone, and this run's observation is not an image",
                            "give the student's widths alone, e.g. --distill 16 or --distill 32,32")
    return size


@contextmanager
def building(out: Path, overwrite: bool) -> Iterator[Path]:
    """A hidden folder beside ``out`` to build it in, renamed to ``out`` when the block ends without an error
    (an existing ``out`` replaced only then); any error or interruption removes it."""
    check_out(out, overwrite)
    with disk_errors(out, "--out"):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        with held():
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def student_model(teacher: LoadedAgent, options: CompressOptions) -> tuple[BaseAlgorithm, dict[str, Any]]:
    """A fresh student for ``teacher`` of ``options.size`` and what its config changes; a :class:`UserError` when it
    is not smaller than the teacher (parameters of the acting network)."""
    assert teacher.model is not None and options.size is not None
    policy = check_policy(teacher.model, teacher.algo)
    size = parse_size(options.size, is_image(teacher.model.observation_space))
    arch = size.widths if size.widths is not None else hidden_chains(policy)[0].widths
    kwargs: dict[str, Any] = {"net_arch": arch}
    hyper: dict[str, Any] = {"net_arch": arch}
    if size.backbone is not None or size.features is not None:
        extractor = teacher.model.policy_kwargs.get("features_extractor_class")
        name = size.backbone or next((n for n, c in backbones.BACKBONES.items() if c is extractor), None)
        if name is None:
            raise UserError(f"--distill {options.size} sets a backbone's features, and the teacher's extractor "
                            f"{getattr(extractor, '__name__', extractor)} is not one of gymsuite's backbones",
                            "name the student's backbone, e.g. --distill small_cnn@64:16")
        backbone_kwargs = {} if size.features is None else {"features_dim": size.features}
        kwargs.update(features_extractor_class=backbones.get(name), features_extractor_kwargs=backbone_kwargs)
        hyper.update(backbone=name, backbone_kwargs=backbone_kwargs)
    student = rebuilt(teacher.model, **kwargs)
    small, big = (cx.count_parameters(ActingNet(p).parameters())[1]
                  for p in (check_policy(student, teacher.algo), policy))
    if small >= big:
        raise UserError(f"the student ({options.size}: {small:,} parameters) is not smaller than the teacher "
                        f"({big:,})", "pass smaller widths to --distill, e.g. --distill 16")
    return student, hyper


def _student(teacher: LoadedAgent, teachers: Sequence[LoadedAgent], options: CompressOptions) -> Compressed:
    """A smaller student distilled from ``teachers`` (the first is ``teacher``)."""
    assert teacher.model is not None
    student, hyper = student_model(teacher, options)
    venv = make_agent_env(teacher, seed=options.seed, n_envs=max(1, teacher.model.n_envs))
    try:
        history = distill(student, [check_policy(t.model, t.algo) for t in teachers], venv,
                          dataclasses.replace(options.distill, seed=options.seed))
    finally:
        venv.close()
    details = {"size": options.size, "teachers": [str(t.run.root) if t.run else t.algo for t in teachers],
               "temperature": options.distill.temperature, "steps": options.distill.steps, "history": history}
    return Compressed(student, hyperparams=hyper, details=details)


def check_ensemble(teacher: LoadedAgent, others: Sequence[LoadedAgent]) -> None:
    """Every teacher of an ensemble acts in the same env, with the same spaces and observation normalisation."""
    assert teacher.model is not None
    for other in others:
        check_policy(other.model, other.algo)
        assert other.model is not None
        same = other.env == teacher.env and same_space(other.model.observation_space, teacher.model.observation_space) \
            and same_space(other.model.action_space, teacher.model.action_space)
        if not same:
            raise UserError(f"the teacher {other.run.root if other.run else other.algo} was trained on {other.env} "
                            f"with other spaces than {teacher.env}'s", "pass --teachers runs of the same env")
        if _norm_bytes(other) != _norm_bytes(teacher):
            raise UserError("the teachers normalise observations differently (their vecnormalize.npz differ): one "
                            "observation cannot be shown to all of them", "pass --teachers runs without normalize, "
                            "or distil from one teacher")


def _norm_bytes(agent: LoadedAgent) -> bytes | None:
    path = agent.run.vecnormalize if agent.run is not None else None
    return path.read_bytes() if path is not None and path.is_file() else None


def compressed(teacher: LoadedAgent, options: CompressOptions, others: Sequence[LoadedAgent] = ()) -> Compressed:
    """The compressed model (fine-tuned when asked), in memory."""
    if options.method == "distill":
        return _student(teacher, [teacher, *others], options)
    if options.method == "int8":
        result = int8(teacher)
        if options.finetune:  # quantisation-aware: the int8 module is the fine-tuned weights'
            finetune(result.model, teacher, options.finetune, options.seed, int8=True)
            if isinstance(result.model.policy, DQNPolicy):  # the target copy follows q_net's rounded weights
                result.model.policy.q_net_target.load_state_dict(result.model.policy.q_net.state_dict())
            result.deployed = cx.quantize_dynamic(ActingNet(check_policy(result.model, teacher.algo)))
            result.details.update(finetune=options.finetune, finetune_by=options.trainer)
        return result
    assert options.fraction is not None
    if not options.finetune:
        return prune(teacher, options.fraction, options.structured)
    if options.trainer == "teacher":
        result = prune_taught(teacher, options.fraction, options.structured, options.finetune,
                              dataclasses.replace(options.distill, seed=options.seed))
    elif not options.structured:
        result = prune_gradually(teacher, options.fraction, options.finetune, options.seed)
    else:
        result = prune(teacher, options.fraction, options.structured)
        finetune(result.model, teacher, options.finetune, options.seed)
    result.details.update(finetune=options.finetune, finetune_by=options.trainer)
    return result


def _config(teacher: LoadedAgent, result: Compressed, options: CompressOptions) -> dict[str, Any]:
    """The new run's ``config.yaml``: the teacher's, with the student's ``net_arch`` and ``backbone``."""
    cfg = read_yaml(teacher.run.config) if teacher.run is not None else {"algo": teacher.algo, "env": teacher.env}
    hyper: dict[str, Any] = dict(cfg.get("hyperparams") or teacher.hyperparams or {})  # type: ignore[arg-type]
    if "net_arch" in result.hyperparams:
        hyper["policy_kwargs"] = {**(hyper.get("policy_kwargs") or {}), "net_arch": result.hyperparams["net_arch"]}
    if "backbone" in result.hyperparams:
        hyper["backbone"] = result.hyperparams["backbone"]
        hyper["backbone_kwargs"] = result.hyperparams["backbone_kwargs"]
    return {**cfg, "hyperparams": hyper}


def _normaliser(venv: VecEnv) -> VecNormalize | None:
    while isinstance(venv, VecEnvWrapper):
        if isinstance(venv, VecNormalize):
            return venv
        venv = venv.venv
    return None


def write_run(folder: Path, teacher: LoadedAgent, result: Compressed, options: CompressOptions,
              report: dict[str, Any]) -> None:
    """Write the run directory's files into ``folder`` (the hidden folder :func:`building` renames)."""
    run = RunDir(folder)
    write_yaml(run.config, _config(teacher, result, options))
    result.model.save(run.model)
    if teacher.run is not None and teacher.run.vecnormalize.is_file():
        shutil.copyfile(teacher.run.vecnormalize, run.vecnormalize)
    else:  # statistics from elsewhere (an older run's pickle, with --trust-pickle): written as data
        venv = make_agent_env(teacher)
        try:
            norm = _normaliser(venv)
            if norm is not None:
                save_stats(norm, run.vecnormalize)
        finally:
            venv.close()
    if result.masks is not None:
        save_masks(folder / MASKS_NAME, result.masks)
    write_json(run.eval, report["compressed"].pop("eval"))
    write_json(folder / "compress.json", report)


def check(teacher: LoadedAgent, out: Path, options: CompressOptions, others: Sequence[LoadedAgent] = (),
          overwrite: bool = False) -> None:
    """Every check that needs no work: the options, the output, the teacher(s), the student's size."""
    check_options(options)
    check_out(out, overwrite, [teacher, *others])
    check_teacher(teacher, options)
    check_ensemble(teacher, others)
    if options.method == "distill":
        student_model(teacher, options)


def build(teacher: LoadedAgent, out: Path, options: CompressOptions, others: Sequence[LoadedAgent] = (),
          teacher_report: dict[str, Any] | None = None) -> tuple[Compressed, dict[str, Any]]:
    """The compressed model and its report (``compress.json``'s keys, ``run_dir``: ``out``), nothing written.

    ``teacher_report``: the teacher's measurement (:func:`measure_teacher`) when the caller has it (a sweep
    measures it once).
    """
    states = compressreport.teacher_states(teacher, options.states, options.seed)
    if teacher_report is None:
        teacher_report = measure_teacher(teacher, options, states)
    actions = compressreport.greedy(ActingNet(check_policy(teacher.model, teacher.algo)).eval(), states)
    result = compressed(teacher, options, others)
    student = dataclasses.replace(teacher, model=result.model, memory=None)
    mine = compressreport.describe(student, states, options.episodes, options.seed, result.deployed, actions)
    report = {"method": options.method, "algo": teacher.algo, "env": teacher.env,
              "teacher_run": str(teacher.run.root) if teacher.run else None, "run_dir": str(out),
              "details": result.details, "states": options.states, "episodes": options.episodes,
              "seed": options.seed, "teacher": teacher_report, "compressed": mine}
    return result, report


def compress(teacher: LoadedAgent, out: Path, options: CompressOptions, others: Sequence[LoadedAgent] = (),
             overwrite: bool = False) -> dict[str, Any]:
    """Compress ``teacher`` into the run directory ``out``; returns the report (``compress.json``'s keys).

    ``others``: more teachers of a distillation's ensemble. Raises :class:`UserError` before any work for what
    :func:`check` refuses; nothing is left at ``out`` unless the whole run directory was written.
    """
    check(teacher, out, options, others, overwrite)
    result, report = build(teacher, out, options, others)
    with building(out, overwrite) as folder:
        write_run(folder, teacher, result, options, report)
    return report


def measure_teacher(teacher: LoadedAgent, options: CompressOptions, states: Any = None) -> dict[str, Any]:
    """The teacher's report (no agreement), on the same states and episodes as the compressed policy's."""
    if states is None:
        states = compressreport.teacher_states(teacher, options.states, options.seed)
    report = compressreport.describe(teacher, states, options.episodes, options.seed)
    report.pop("eval")
    return report
