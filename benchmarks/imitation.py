#!/usr/bin/env python
"""Benchmark imitation learning: BC, DAgger, GAIL and AIRL against a PPO expert, from few demos and perturbed starts.

On CartPole-v1 and Acrobot-v1 a PPO expert is trained with gymsuite's own pipeline
(``agents/hyperparams/ppo.yml``) and 20 of its greedy episodes are recorded as demonstrations.
Each learner trains through the same pipeline, with its ``agents/hyperparams/<algo>.yml``
defaults, from the first 1, 5 or 20 of them, 3 seeds each (DAgger also asks the expert to label
the states it reaches). Every policy, expert and uniformly random ones included, is then
evaluated greedily on the same episodes, on seeds no training used, under two starts:

* normal: the env as registered;
* perturbed: :class:`PerturbedStart` plays K random actions after every reset before the
  policy takes over, so the policy begins in states the demonstrations rarely contain.

Score = (R - R_random) / (R_expert - R_random), all three under the same start: 1 is the
expert, 0 is random. BC's compounding error shows as a score that falls with few
demonstrations or under perturbed starts while DAgger's and GAIL's hold up.

Writes the ``imitation`` section of BENCHMARKS.md and ``docs/benchmark_imitation.png``;
experts, demonstrations, runs and the raw results go to ``bench_out/imitation/``
(``bench_out/imitation-quick/`` with ``--quick``, whose weak experts are never reused by a full run).

    python scripts/benchmark_imitation.py                   # everything (about 12 minutes on 2 cores)
    python scripts/benchmark_imitation.py --quick           # smoke test, tiny budgets, writes nothing (~1 min)
    python scripts/benchmark_imitation.py --envs CartPole-v1 --algos bc gail --no-write
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import multiprocessing
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if __package__ in (None, ""):
    import _cli  # noqa: F401  (puts the project root on sys.path)
from benchmarks import benchlib
from envs.wrappers import PerturbedStart
from gymsuite import _cli

if TYPE_CHECKING:
    from agents.data.demos import Demos

ROOT = Path(__file__).resolve().parent.parent
RUN_ORDER = ["airl", "gail", "dagger", "bc"]  # slowest first, so that the pool ends with short runs
STARTS = ("normal", "perturbed")
# Random actions after each reset in the perturbed start. CartPole's random episodes last ~22
# steps, so 10 leave the pole moving but mostly recoverable; Acrobot needs longer to swing.
PERTURB_STEPS = {"CartPole-v1": 10, "Acrobot-v1": 20}
QUICK_STEPS = {"ppo": {"CartPole-v1": 20_000, "Acrobot-v1": 40_000},  # --quick: smoke-test budgets
               "bc": 5_000, "dagger": 1_500, "gail": 2_048, "airl": 2_048}
TARGETS = [("CartPole-v1", "bc", 20), ("CartPole-v1", "gail", 5)]  # issue 5: >= 95% of the expert's return
DEMO_EPISODES, DEMO_SEED = 20, 1_000  # recorded per expert (more if --episodes asks for more)
EVAL_SEED, EVAL_ENVS = 1_000_000, 5  # training uses env seeds 0.., its own evaluation 10_000..
FALL = 0.1  # a score change larger than this is called a fall in the generated text


@dataclass
class ExpertJob:
    env: str
    out: str  # the benchmark's output folder
    timesteps: int  # 0: ppo.yml's budget
    demo_episodes: int
    eval_episodes: int
    retrain: bool


@dataclass
class Expert:
    env: str
    run_dir: str
    demos: str
    timesteps: int
    trained: bool  # False: an existing run directory was reused
    train_seconds: float
    demo_episodes: int
    demo_return: float  # mean env return of the recorded episodes
    start_distance: dict[str, float]  # start -> median distance of a start state to the nearest demonstrated one
    returns: dict[str, float]  # "expert/normal", "random/perturbed", ... -> mean greedy return


@dataclass
class Job:
    env: str
    algo: str
    episodes: int  # demonstrated episodes the learner may use
    seed: int
    expert: str
    demos: str
    run_dir: str
    timesteps: int  # 0: the algorithm's yml budget
    eval_episodes: int


@dataclass
class Result:
    job: Job
    returns: dict[str, float]  # start -> mean greedy return
    seconds: float  # training wall time (``learn`` only)
    wall: float  # the whole job's wall time: building, training, saving and both evaluations
    steps: int  # the run's timesteps: demo samples (bc), env steps (dagger), generator steps (gail, airl)


def safe(env: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", env)


# ----------------------------------------------------------------- measuring
def mean_returns(target: str, env: str, episodes: int) -> dict[str, float]:
    """Greedy mean return of ``target`` (a run directory or ``"random"``) under each start, on the shared seeds."""
    from agents.pipeline.evaluation import run_episodes
    from agents.pipeline.loading import load_agent, make_agent_env

    agent = load_agent(target, env=env)
    out = {}
    for start in STARTS:
        venv = make_agent_env(agent, seed=EVAL_SEED, n_envs=EVAL_ENVS, wrappers=start_wrappers(env, start))
        try:
            out[start] = float(np.mean([e["r"] for e in run_episodes(agent, venv, episodes)]))
        finally:
            venv.close()
    return out


def start_wrappers(env: str, start: str) -> list[Any]:
    """The env wrappers of a start kind: none for ``normal``, :class:`PerturbedStart` for ``perturbed``."""
    return [functools.partial(PerturbedStart, steps=PERTURB_STEPS[env])] if start == "perturbed" else []


def start_distance(env: str, demo_obs: np.ndarray, starts: int = 200) -> dict[str, float]:
    """How far each start puts the policy from the demonstrations.

    Args:
        env: the env id.
        demo_obs: every demonstrated observation, ``(M, O)``.
        starts: start states drawn per start kind (S).

    Returns:
        start -> median over S start states of the Euclidean distance to the nearest
        demonstrated state, each dimension divided by its std over ``demo_obs``.
    """
    from envs import make_env

    demo = demo_obs.reshape(len(demo_obs), -1).astype(np.float64)  # (M, O)
    scale = demo.std(axis=0) + 1e-8  # (O,)
    out = {}
    for start in STARTS:
        venv = make_env(env, n_envs=1, seed=EVAL_SEED, wrappers=start_wrappers(env, start))
        first = np.concatenate([venv.reset() for _ in range(starts)]).reshape(starts, -1)  # (S, O)
        venv.close()
        gaps = np.sqrt((((first[:, None, :] - demo[None]) / scale) ** 2).sum(axis=-1))  # (S, M)
        out[start] = float(np.median(gaps.min(axis=1)))
    return out


def usable_expert(run_dir: Path, env: str, timesteps: int) -> bool:
    """A run on ``env`` that finished this budget (``eval.json`` is written last), or a hand-made expert.

    A hand-made expert (``agents.data.demos.linear_expert``) has a ``config.yaml`` without ``timesteps``.
    """
    from common.errors import UserError
    from common.files import read_yaml

    try:
        cfg = read_yaml(run_dir / "config.yaml")
    except UserError:
        return False
    if not (run_dir / "model.zip").is_file() or cfg.get("env") != env:
        return False
    return "timesteps" not in cfg or (cfg["timesteps"] == timesteps and (run_dir / "eval.json").is_file())


def record(expert_dir: Path, env: str, path: Path, episodes: int, reuse: bool) -> Demos:
    """The expert's first ``episodes`` greedy episodes in ``path``, recorded anew unless ``reuse`` finds enough."""
    from imitation.data.wrappers import RolloutInfoWrapper

    from agents.data.demos import load_demos, save_demos
    from agents.data.experts import load_expert
    from agents.data.recording import record_demos
    from common.errors import UserError
    from envs import make_env

    if reuse and path.is_file():
        with contextlib.suppress(UserError):
            demos = load_demos(path)
            if demos.env == env and demos.n_episodes >= episodes:
                return demos.head(episodes)
    policy, _ = load_expert(str(expert_dir), env=env)
    venv = make_env(env, n_envs=1, seed=DEMO_SEED, wrappers=[RolloutInfoWrapper])
    try:
        demos = record_demos(policy, venv, episodes, env, seed=DEMO_SEED, source=f"{expert_dir} (greedy)")
    finally:
        venv.close()
    save_demos(path, demos)
    return demos


def prepare_expert(job: ExpertJob) -> Expert:
    """Train (or reuse) the PPO expert of ``job.env``, record its demonstrations, score it and random play."""
    import torch

    from agents.pipeline.config import build_config
    from agents.pipeline.training import train

    torch.set_num_threads(1)
    out = Path(job.out)
    run_dir = out / f"expert-{safe(job.env)}"
    cfg = build_config({"algo": "ppo", "env": job.env, "timesteps": job.timesteps or None, "seed": 0})
    trained = job.retrain or not usable_expert(run_dir, job.env, cfg.timesteps)
    if trained:
        with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):  # no progress bars from workers
            train(cfg, run_dir, overwrite=True)
    evaluation = json.loads((run_dir / "eval.json").read_text()) if (run_dir / "eval.json").is_file() else {}
    demos_file = out / f"demos-{safe(job.env)}.npz"
    demos = record(run_dir, job.env, demos_file, job.demo_episodes, reuse=not trained)
    distance = start_distance(job.env, demos.obs)
    returns = {f"{who}/{start}": r for who, target in (("expert", str(run_dir)), ("random", "random"))
               for start, r in mean_returns(target, job.env, job.eval_episodes).items()}
    expert = Expert(job.env, str(run_dir), str(demos_file), cfg.timesteps, trained,
                    float(evaluation.get("train_seconds", "nan")),
                    demos.n_episodes, float(demos.returns().mean()), distance, returns)
    print(json.dumps(asdict(expert)), flush=True)
    return expert


def run_learner(job: Job) -> Result:
    """Train one learner through ``agents.pipeline.training.train`` and score it under both starts."""
    import torch

    from agents.pipeline.config import build_config
    from agents.pipeline.training import train

    torch.set_num_threads(1)
    begin = time.perf_counter()
    cli = {"algo": job.algo, "env": job.env, "seed": job.seed, "timesteps": job.timesteps or None,
           "demos": job.demos, "expert": job.expert if job.algo == "dagger" else None,
           "eval_freq": 0, "eval_episodes": EVAL_ENVS}  # we evaluate ourselves, on the shared seeds
    cfg = build_config(cli, overrides=[f"demo_episodes={job.episodes}"])
    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
        trained = train(cfg, job.run_dir, overwrite=True)
    returns = mean_returns(job.run_dir, job.env, job.eval_episodes)
    result = Result(job, returns, trained.seconds, time.perf_counter() - begin, trained.steps)
    print(json.dumps(asdict(result)), flush=True)
    return result


def learner_jobs(expert: Expert, args: argparse.Namespace) -> list[Job]:
    out = Path(args.out)
    return [Job(expert.env, algo, n, seed, expert.run_dir, expert.demos,
                str(out / "runs" / f"{safe(expert.env)}-{algo}-{n}-{seed}"),
                QUICK_STEPS[algo] if args.quick else 0, args.eval_episodes)
            for algo in RUN_ORDER if algo in args.algos for n in args.episodes for seed in range(args.seeds)]


def run_all(args: argparse.Namespace) -> tuple[dict[str, Expert], list[Result]]:
    """Experts first; each env's learners are queued as soon as its expert is ready."""
    demos = max(DEMO_EPISODES, *args.episodes)
    todo = [ExpertJob(env, str(args.out), QUICK_STEPS["ppo"][env] if args.quick else 0, demos, args.eval_episodes,
                      args.retrain_experts) for env in args.envs]
    experts: dict[str, Expert] = {}
    results: list[Result] = []
    if args.workers <= 1:
        for ejob in todo:
            experts[ejob.env] = prepare_expert(ejob)
            results += [run_learner(job) for job in learner_jobs(experts[ejob.env], args)]
        return experts, results
    with multiprocessing.get_context("spawn").Pool(args.workers, maxtasksperchild=8) as pool:
        waiting = {ejob.env: pool.apply_async(prepare_expert, (ejob,)) for ejob in todo}
        running = []
        while waiting or running:
            for env, pending in list(waiting.items()):
                if pending.ready():
                    experts[env] = pending.get()
                    running += [pool.apply_async(run_learner, (job,)) for job in learner_jobs(experts[env], args)]
                    del waiting[env]
            done = [r for r in running if r.ready()]
            results += [r.get() for r in done]
            running = [r for r in running if r not in done]
            time.sleep(0.5)
        pool.close()  # every task is done: let the workers exit rather than be terminated
        pool.join()
    return experts, results


# ----------------------------------------------------------------- reporting
UNITS = {"bc": "demo samples", "dagger": "env steps", "gail": "generator steps", "airl": "generator steps"}
LABELS = {"bc": "BC", "dagger": "DAgger", "gail": "GAIL", "airl": "AIRL"}
Cells = dict[tuple[str, str, int], dict[str, Any]]


def score(ret: float, expert: Expert, start: str) -> float:
    """``(R - R_random) / (R_expert - R_random)`` under ``start``; NaN when expert and random tie."""
    best, worst = expert.returns[f"expert/{start}"], expert.returns[f"random/{start}"]
    return (ret - worst) / (best - worst) if abs(best - worst) > 1e-9 else float("nan")


def summarise(results: list[Result], experts: dict[str, Expert]) -> Cells:
    """Per (env, algo, episodes): per-seed scores, fractions and returns under each start, and training seconds."""
    cells: Cells = {}
    for r in sorted(results, key=lambda r: r.job.seed):
        expert = experts[r.job.env]
        cell = cells.setdefault((r.job.env, r.job.algo, r.job.episodes),
                                {"seconds": [], "steps": r.steps, **{k: {s: [] for s in STARTS}
                                                                     for k in ("score", "fraction", "return")}})
        cell["seconds"].append(r.seconds)
        for start in STARTS:
            best = expert.returns[f"expert/{start}"]
            cell["return"][start].append(r.returns[start])
            cell["score"][start].append(score(r.returns[start], expert, start))
            cell["fraction"][start].append(r.returns[start] / best if best else float("nan"))
    return cells


def mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else float("nan")


def get(cells: Cells, env: str, algo: str, n: int, start: str = "normal", key: str = "score") -> float:
    cell = cells.get((env, algo, n))
    return mean(cell[key][start]) if cell else float("nan")


def fmt(xs: list[float]) -> str:
    return f"{np.mean(xs):.2f} ± {np.std(xs):.2f}" if xs else "–"


def env_tables(cells: Cells, env: str, args: argparse.Namespace) -> list[str]:
    """The score table and the return table of ``env``."""
    algos = [a for a in LABELS if a in args.algos]
    scores, returns = [], []
    for algo in algos:
        row = [cells.get((env, algo, n)) for n in args.episodes]
        if not any(row):
            continue
        some = next(c for c in row if c)
        seconds = [s for c in row if c for s in c["seconds"]]
        scores.append([LABELS[algo], f"{some['steps']:,} {UNITS[algo]}",
                       *(fmt(c["score"][start]) if c else "–" for start in STARTS for c in row),
                       f"{np.median(seconds):.1f}"])
        returns.append([LABELS[algo], *(f"{mean(c['return']['normal']):.1f} / {mean(c['return']['perturbed']):.1f}"
                                        if c else "–" for c in row)])
    header = ["algorithm", "budget", *(f"{'perturbed, ' if start == 'perturbed' else ''}N={n}"
                                       for start in STARTS for n in args.episodes), "median train s"]
    return ["Score (0 random, 1 expert; mean ± std over seeds) by demonstrated episodes N, normal and perturbed start:",
            "", benchlib.table(header, scores), "",
            "Mean greedy return, normal / perturbed start (mean over seeds):", "",
            benchlib.table(["algorithm", *(f"N={n}" for n in args.episodes)], returns), ""]


def targets(cells: Cells, env: str) -> list[str]:
    """PASS/FAIL of the issue's targets on ``env``: mean over seeds of R_learner / R_expert >= 0.95."""
    lines = []
    for target_env, algo, n in TARGETS:
        if target_env != env:
            continue
        fraction, normalised = get(cells, env, algo, n, key="fraction"), get(cells, env, algo, n)
        what = f"- {LABELS[algo]} with {n} episodes reaches at least 95% of the expert's return: "
        if np.isnan(fraction):
            lines.append(what + "not run")
        else:
            verdict = "**PASS**" if fraction >= 0.95 else "**FAIL**"
            lines.append(what + f"{fraction:.1%} (score {normalised:.2f}): {verdict}")
    if lines:
        lines = ["Targets (issue 5), judged on the mean over seeds of R_learner / R_expert, normal start "
                 "(the plain fraction of the expert's return; the score, which also subtracts random play, beside it):",
                 "", *lines, ""]
    return lines


def change(drop: float) -> str:
    """Words for a fall ``drop`` (positive: the score went down)."""
    if np.isnan(drop):
        return "was not measured"
    if drop > FALL:
        return f"falls by {drop:.2f}"
    if drop < -FALL:
        return f"rises by {-drop:.2f}"
    return f"holds ({-drop:+.2f})"


def observations(cells: Cells, env: str, args: argparse.Namespace) -> str:
    """What the numbers of ``env`` show about compounding error, generated from them."""
    algos = [a for a in LABELS if a in args.algos]
    lo, hi = min(args.episodes), max(args.episodes)
    falls = {}
    if lo < hi:
        falls[f"with {lo} instead of {hi} demonstrated episodes (normal start)"] = {
            a: get(cells, env, a, hi) - get(cells, env, a, lo) for a in algos}
    # Compounding error is largest where the demonstrations cover least: compare the starts at the fewest episodes.
    falls[f"under perturbed instead of normal starts, with {lo} demonstrated episode{'s' * (lo > 1)}"] = {
        a: get(cells, env, a, lo) - get(cells, env, a, lo, "perturbed") for a in algos}
    parts = []
    for when, drop in falls.items():
        text = (f"{when[0].upper()}{when[1:]}, the score "
                + ", ".join(f"of {LABELS[a]} {change(drop[a])}" for a in algos) + ".")
        others = [a for a in ("dagger", "gail") if a in algos]
        if "bc" in algos and others and not np.isnan(drop["bc"]):
            fell = [LABELS[a] for a in others if not drop[a] <= FALL]
            if drop["bc"] <= FALL:
                text += " BC does not fall, so the compounding-error effect does not show here at these budgets."
            elif fell:
                text += f" BC falls, but so does {' and '.join(fell)}: the effect is not specific to BC here."
            else:
                text += (" That is the compounding-error effect: BC falls while "
                         f"{' and '.join(LABELS[a] for a in others)} hold up.")
        parts.append(text)
    parts.append(f"(A fall is a drop of more than {FALL} of the expert-random gap, in means over seeds; "
                 "compare it with the std over seeds in the table.)")
    return " ".join(parts)


def markdown(experts: dict[str, Expert], results: list[Result], args: argparse.Namespace, wall: float,
             plot_ref: str) -> str:
    """The ``imitation`` section of BENCHMARKS.md."""
    cells = summarise(results, experts)
    seeds = "seed 0" if args.seeds == 1 else f"seeds 0..{args.seeds - 1}"
    recorded = max((e.demo_episodes for e in experts.values()), default=0)
    lines = ["## Imitation learning: BC, DAgger, GAIL, AIRL (`scripts/benchmark_imitation.py`)", "",
             f"Machine: {benchlib.machine()}. Wall time {wall / 60:.1f} min with {args.workers} worker process(es) "
             "(1 torch thread per run; runs share the cores, so compare training times within a table).", "",
             "Expert: PPO with `agents/hyperparams/ppo.yml`'s defaults, seed 0; the learners get the first N of "
             f"its {recorded} recorded greedy episodes (env seed {DEMO_SEED}) and train with "
             f"`agents/hyperparams/<algo>.yml`'s defaults (the budget column), {seeds}. DAgger "
             "starts from the same N episodes and also has the expert label every state it reaches, so N is not "
             f"all it sees. Evaluation: greedy, {args.eval_episodes} episodes per policy and start on env seeds "
             f"from {EVAL_SEED:,} (training used 0.. and 10,000..), the same episodes for every policy. "
             "Perturbed start: after each reset, K uniformly random actions ("
             + ", ".join(f"K={PERTURB_STEPS[e]} on {e}" for e in args.envs)
             + ") that are not scored but count against the time limit (on CartPole the policy then plays at most "
             "500 - K steps); an episode that ends during them is reset again. "
             "Score = (R - R_random) / (R_expert - R_random), with expert and random play measured under the same "
             "start.", ""]
    for env in args.envs:
        if env not in experts:
            continue
        e = experts[env]
        how = (f"trained for {e.timesteps:,} steps in {e.train_seconds:.0f} s" if e.trained
               else f"{e.timesteps:,} steps, reused from `{Path(e.run_dir).name}/`")
        lines += [f"### {env}", "",
                  f"Expert ({how}): return {e.returns['expert/normal']:.1f} normal, "
                  f"{e.returns['expert/perturbed']:.1f} perturbed; its demonstrations average {e.demo_return:.1f}. "
                  f"Random play: {e.returns['random/normal']:.1f} normal, {e.returns['random/perturbed']:.1f} "
                  "perturbed. Start states lie at a median distance of "
                  f"{e.start_distance['normal']:.2f} (normal) and {e.start_distance['perturbed']:.2f} (perturbed) "
                  "from the nearest demonstrated state (each dimension in units of its std over the demonstrations).",
                  "", *env_tables(cells, env, args), *targets(cells, env),
                  f"What we see: {observations(cells, env, args)}", ""]
    lines += [f"![score against demonstrated episodes]({plot_ref})", ""]
    return "\n".join(lines)


def plot(experts: dict[str, Expert], results: list[Result], args: argparse.Namespace, path: Path) -> None:
    """Per env, mean score against demonstrated episodes: one colour per algorithm, solid normal, dashed perturbed."""
    cells = summarise(results, experts)
    envs = [e for e in args.envs if e in experts]
    fig, axes = benchlib.subplots(len(envs), 5.5, 4)
    for ax, env in zip(axes, envs, strict=True):
        for i, algo in enumerate(a for a in LABELS if a in args.algos):
            for start, style in zip(STARTS, ("-", "--"), strict=True):
                ys = [get(cells, env, algo, n, start) for n in args.episodes]
                ax.plot(args.episodes, ys, style, marker="o", color=f"C{i}",
                        label=f"{LABELS[algo]}{' (perturbed)' if start == 'perturbed' else ''}")
        ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        ax.axhline(0.0, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(args.episodes, [str(n) for n in args.episodes])
        ax.set(title=env, xlabel="demonstrated episodes", ylabel="score (0 random, 1 expert), mean over seeds")
        ax.legend(fontsize=7)
    benchlib.save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--envs", nargs="+", default=list(PERTURB_STEPS), choices=list(PERTURB_STEPS))
    p.add_argument("--algos", nargs="+", default=list(LABELS), choices=list(LABELS))
    p.add_argument("--episodes", nargs="+", type=int, help="demonstrated episodes per learner (default 1 5 20; "
                   "--quick 1 5)")
    p.add_argument("--seeds", type=int, help="seeds 0..S-1 per learner (default 3; --quick 1)")
    p.add_argument("--eval-episodes", type=int, help="greedy episodes per policy and start (default 30; --quick 10)")
    p.add_argument("--workers", type=int, default=2, help="parallel runs (at most 2 on the shared machine)")
    p.add_argument("--quick", action="store_true", help="tiny budgets for a smoke test; implies --no-write")
    p.add_argument("--retrain-experts", action="store_true", help="train the experts even if usable ones exist")
    p.add_argument("--out", type=Path, help="experts, demos, runs and results.json (default bench_out/imitation, "
                   "--quick: bench_out/imitation-quick)")
    p.add_argument("--benchmarks", type=Path, default=benchlib.BENCHMARKS, help="markdown file to update")
    p.add_argument("--plot", type=Path, default=ROOT / "docs" / "benchmark_imitation.png")
    p.add_argument("--no-write", action="store_true", help="print the section instead of writing files")
    args = p.parse_args(argv)
    args.episodes = sorted(set(args.episodes or ([1, 5] if args.quick else [1, 5, 20])))
    args.seeds = (1 if args.quick else 3) if args.seeds is None else args.seeds
    args.eval_episodes = (10 if args.quick else 30) if args.eval_episodes is None else args.eval_episodes
    args.out = (args.out or ROOT / "bench_out" / ("imitation-quick" if args.quick else "imitation")).resolve()
    args.workers = max(1, min(args.workers, 2))
    args.no_write = args.no_write or args.quick  # quick numbers never reach BENCHMARKS.md
    if min(args.episodes) < 1 or args.seeds < 1 or args.eval_episodes < 1:
        p.error("--episodes, --seeds and --eval-episodes must be at least 1")

    start = time.perf_counter()
    experts, results = run_all(args)
    wall = time.perf_counter() - start
    (args.out / "results.json").write_text(json.dumps({"experts": [asdict(e) for e in experts.values()],
                                                       "results": [asdict(r) for r in results]}, indent=1))
    plot_ref = benchlib.link(args.plot, args.benchmarks)
    text = markdown(experts, results, args, wall, plot_ref)
    print(text)
    if not args.no_write:
        plot(experts, results, args, args.plot)
        benchlib.write_section("imitation", text, args.benchmarks)
        print(f"wrote the imitation section of {args.benchmarks} and {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_cli.run(main))
