"""The imitation benchmark's section of BENCHMARKS.md and its plot, from the measured returns.

Score = (R - R_random) / (R_expert - R_random) under the same start: 1 is the expert, 0 is random.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import benchlib
from benchmarks.imitation_setup import DEMO_SEED, EVAL_SEED, PERTURB_STEPS, STARTS, TARGETS, Expert, Result

FALL = 0.1  # a score change larger than this is called a fall in the generated text
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
    lines = ["## Imitation learning: BC, DAgger, GAIL, AIRL (`benchmarks/imitation.py`)", "",
             f"Machine: {benchlib.machine()}. Wall time {wall / 60:.1f} min with {args.workers} worker process(es) "
             "(1 torch thread per run; runs share the cores, so compare training times within a table).", "",
             f"Expert: PPO with `agents/hyperparams/ppo.yml`'s defaults (`--preset zoo`), seed {args.expert_seed}; "
             "the learners get the first N of "
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
