#!/usr/bin/env python
"""Benchmark seeing from pixels: backbone speed, auxiliary losses and pre-training, and what a linear probe reads.

Four sections, each a function of (task, budget, seeds), on pixel CartPole (``gymsuite/PixelCartPole-v0``):
  * speed: the env's own step rate (random actions; target for pixel CartPole: >= 5,000 frames/s), then PPO with
    each backbone for a short budget: training steps/s (and the final return, still near random there);
  * return: ``nature_cnn`` against ``small_cnn`` at a budget where returns leave random play behind: the final
    return (10 deterministic episodes) and steps/s (target: ``small_cnn`` at >= 1.5x ``nature_cnn``'s steps/s at an
    equal or better return);
  * aux: plain CNN vs CNN + ``aux=recon`` vs CNN initialised from a pre-trained auto-encoder
    (``gymsuite pretrain``; frozen and fine-tuned) vs ``attention``: env steps and wall time until
    the mean return of the last 10 training episodes reaches the threshold (a run stops there;
    one that never does counts as its budget and is flagged);
  * probe: R^2 of a linear probe from the features to the true state (``gymsuite probe``'s code),
    for the plain-CNN agents of the aux section against a freshly initialised encoder.
Every number is an interquartile mean over seeds with a 95% bootstrap interval (benchmarks/stats.py).
Training goes through ``gymsuite train``'s pipeline (``benchlib.config`` / ``benchlib.train``).

``--env`` runs the sections on another image env.

    python -m benchmarks.pixels              # full run, about 40 min on 2 cores (it prints its estimate)
    python -m benchmarks.pixels --quick      # 1 seed, tiny budgets; writes nothing
    python -m benchmarks.pixels --quick --env tests/toy_envs.py:Slider --backbones icm_cnn --aux-backbone icm_cnn
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import benchlib
from gymsuite.common.stats import iqm, iqm_ci, steps_to_threshold, summary
from gymsuite.envs.factory import make_one


@dataclass(frozen=True)
class Task:
    """An image env and the training return that counts as solving it (aux section)."""

    env: str
    threshold: float
    env_kwargs: dict[str, Any] = field(default_factory=dict)


TASK = Task("gymsuite/PixelCartPole-v0", threshold=100.0)
# One PPO configuration for every variant, so that only the network (or its loss) differs.
PPO_KWARGS = {"policy": "CnnPolicy", "n_steps": 64, "batch_size": 256, "n_epochs": 4, "learning_rate": "lin_0.001",
              "gamma": 0.98, "gae_lambda": 0.9, "ent_coef": 0.0, "clip_range": 0.2, "normalize": False}
N_ENVS = 8
NET_ARCH = [64]
SPEED_BACKBONES = ["nature_cnn", "small_cnn", "impala_cnn", "attention", "icm_cnn"]
RETURN_BACKBONES = ["nature_cnn", "small_cnn"]  # the return section's pair (issue 27, item 5)
RETURN_EPISODES = 10  # deterministic episodes of the return section's final evaluation (5 elsewhere)
SPEEDUP = 1.5  # small_cnn's steps/s over nature_cnn's that the return section's target asks for
AUX_BACKBONE = "small_cnn"
AUX_COEF = 1.0
AUX_KWARGS = {"batch_size": 64}  # the decoder's minibatch: 256 made aux runs 10x slower than plain ones
AUX_EVERY = (4, 8)  # rows that take the auxiliary step at one optimiser step in k (issue 27: its wall time)
WINDOW = 10  # training episodes averaged for the threshold
# Training steps/s assumed by the time estimate: this benchmark's own figures on pixel CartPole, 2 workers on
# 2 cores (2026-11-27; small_cnn and nature_cnn 2026-12-06, small_cnn's 6x9 map); aux runs are estimated at 0.35x
# their backbone's.
EXPECTED_FPS = {"nature_cnn": 900, "small_cnn": 1300, "impala_cnn": 130, "attention": 1550, "icm_cnn": 430}
FULL = {"seeds": 5, "speed_steps": 16_384, "return_steps": 65_536, "aux_steps": 100_000, "pretrain_frames": 20_000,
        "probe_episodes": 10}
QUICK = {"seeds": 1, "speed_steps": 512, "return_steps": 512, "aux_steps": 1024, "pretrain_frames": 256,
         "probe_episodes": 3}


@dataclass(frozen=True)
class Variant:
    """A row of a table: its name and hyperparameters."""

    name: str
    hyper: dict[str, Any]
    pretrained: bool = False  # backbone_init is the section's encoder file


def backbone_hyper(name: str) -> dict[str, Any]:
    """The hyperparameters of a run with backbone ``name`` under the heads of :data:`NET_ARCH`."""
    return {"backbone": name, "policy_kwargs": {"net_arch": NET_ARCH}}


def aux_variants(backbone: str) -> list[Variant]:
    """The aux section's rows: plain, + reconstruction, pre-trained (frozen, fine-tuned), attention."""
    cnn = backbone_hyper(backbone)
    return [Variant(backbone, cnn),
            Variant(f"{backbone} + aux=recon", {**cnn, "aux": "recon", "aux_coef": AUX_COEF, "aux_kwargs": AUX_KWARGS}),
            *(Variant(f"{backbone} + aux=recon, every {k}",
                      {**cnn, "aux": "recon", "aux_coef": AUX_COEF, "aux_kwargs": {**AUX_KWARGS, "every": k}})
              for k in AUX_EVERY),
            Variant(f"{backbone} pre-trained, frozen", {**cnn, "freeze_backbone": True}, pretrained=True),
            Variant(f"{backbone} pre-trained, fine-tuned", {**cnn, "freeze_backbone": False}, pretrained=True),
            Variant("attention", backbone_hyper("attention"))]


def train_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one variant and seed through the pipeline; the run directory is kept when ``job["keep"]``."""
    hyper = {**PPO_KWARGS, **job["hyper"], **({"env_kwargs": job["env_kwargs"]} if job["env_kwargs"] else {})}
    cli = {"algo": "ppo", "env": job["env"], "seed": job["seed"], "timesteps": job["steps"], "n_envs": N_ENVS,
           "eval_freq": 0, "eval_episodes": job["eval_episodes"], "checkpoint_freq": 0}
    cfg = benchlib.config(cli, hyper)
    curve = benchlib.EpisodeCurve(job["threshold"] if job["stop"] else None, WINDOW)
    run_dir = Path(job["run_dir"])
    trained = benchlib.train(cfg, run_dir, callbacks=[curve])
    if not job["keep"]:
        shutil.rmtree(run_dir, ignore_errors=True)
    defaults = sorted(k for k in cfg.hyperparams if k not in hyper and k not in ("n_envs", "n_timesteps"))
    return {"fps": trained.steps / trained.seconds, "seconds": trained.seconds, "steps": trained.steps,
            "final_return": trained.eval.get("mean_return"), "curve": [curve.steps, curve.seconds, curve.returns],
            "shipped_defaults": defaults}


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """One job: ``train``, ``pretrain`` (an encoder file) or ``probe`` (a kept run); its job keys plus results."""
    start = time.perf_counter()
    if job["kind"] == "train":
        out = train_job(job)
    elif job["kind"] == "pretrain":
        from gymsuite.commands import pretrain
        argv = ["--env", job["env"], "--frames", str(job["frames"]), "--out", job["out"], "--backbone", job["backbone"]]
        if pretrain.main(argv) != 0:
            raise RuntimeError(f"gymsuite pretrain {' '.join(argv)} failed")
        out = {}
    else:
        from gymsuite.agents.saved.loading import load_agent, make_agent_env
        from gymsuite.agents.saved.probing import probe_agent

        agent = load_agent(job["run_dir"])
        venv = make_agent_env(agent, seed=job["seed"] + 20_000)
        try:
            # another seed than training's, so that the fresh encoder is not the agent's own initial one
            out = probe_agent(agent, venv, job["episodes"], seed=job["seed"] + 20_000, random_init=True,
                              more_if_needed=True)  # never fewer training steps than features
        finally:
            venv.close()
    return benchlib.job_result(job, out, start)


def run_all(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    """:func:`run_one` on ``jobs`` in at most ``workers`` processes (:func:`benchmarks.benchlib.run_jobs`)."""
    return benchlib.run_jobs(run_one, jobs, workers)


Runner = Callable[[list[dict[str, Any]], int], list[dict[str, Any]]]


@dataclass
class Bench:
    """What every section shares: where runs go, how jobs run, how many workers."""

    workdir: Path
    run: Runner = run_all
    workers: int = 2
    kept: dict[int, str] = field(default_factory=dict)  # seed -> plain-CNN run of the aux section (for the probe)

    def train_jobs(self, task: Task, variant: Variant, steps: int, seeds: list[int], stop: bool = False,
                   keep: bool = False, encoder: str | None = None, eval_episodes: int = 5) -> list[dict[str, Any]]:
        hyper = {**variant.hyper, **({"backbone_init": encoder} if variant.pretrained else {})}
        slug = "".join(c if c.isalnum() else "-" for c in variant.name)
        return [{"kind": "train", "variant": variant.name, "seed": s, "steps": steps, "env": task.env,
                 "env_kwargs": task.env_kwargs, "hyper": hyper, "threshold": task.threshold, "stop": stop,
                 "keep": keep, "eval_episodes": eval_episodes, "run_dir": str(self.workdir / f"{slug}-s{s}")}
                for s in seeds]


def estimate_minutes(jobs: list[dict[str, Any]], workers: int) -> float:
    """Wall minutes the train jobs should take at :data:`EXPECTED_FPS` (the budget, were no run to stop early)."""
    def fps(job: dict[str, Any]) -> float:
        name = next((n for n in EXPECTED_FPS if n in job["variant"]), "icm_cnn")
        return EXPECTED_FPS[name] * (0.35 if "aux" in job["variant"] else 1.0)

    return sum(j["steps"] / fps(j) for j in jobs if j["kind"] == "train") / max(workers, 1) / 60


PIXEL_CARTPOLE_FPS = 5000  # frames/s the pixel CartPole env must step at, so rendering never bounds training


def env_frames_per_second(task: Task, steps: int = 3000, repeats: int = 5) -> list[float]:
    """The env's own step rate with random actions, ``repeats`` times (no agent, no vector env)."""
    env = make_one(task.env, env_kwargs=task.env_kwargs)
    rates = []
    for _ in range(repeats):
        env.reset(seed=0)
        start = time.perf_counter()
        for _ in range(steps):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()
        rates.append(steps / (time.perf_counter() - start))
    env.close()
    return rates


def backbone_jobs(bench: Bench, task: Task, backbones: list[str], steps: int, seeds: list[int],
                  eval_episodes: int = 5) -> list[dict[str, Any]]:
    """A train job per backbone (under the heads of :data:`NET_ARCH`) and seed: the speed and return sections'."""
    return [j for b in backbones for j in bench.train_jobs(task, Variant(b, backbone_hyper(b)), steps, seeds,
                                                            eval_episodes=eval_episodes)]


def return_pair(backbones: list[str]) -> list[str]:
    """The return section's backbones: those of :data:`RETURN_BACKBONES` that ``--backbones`` names."""
    return [b for b in RETURN_BACKBONES if b in backbones]


def run_by_variant(bench: Bench, jobs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, list]]:
    """The jobs' results, and the same grouped by variant in the jobs' order."""
    results = bench.run(jobs, bench.workers) if jobs else []
    return results, {v: [r for r in results if r["variant"] == v] for v in dict.fromkeys(j["variant"] for j in jobs)}


def section_speed(bench: Bench, task: Task, steps: int, seeds: list[int], backbones: list[str]) -> str:
    """The env's step rate, then PPO with each backbone for ``steps`` env steps: training steps/s and final return."""
    results, by = run_by_variant(bench, backbone_jobs(bench, task, backbones, steps, seeds))
    base = by.get("nature_cnn")
    rows = [[name, summary([r["fps"] for r in rs]), summary([r["final_return"] for r in rs], 1),
             f"{iqm([r['fps'] for r in rs]) / iqm([r['fps'] for r in base]):.2f}x" if base else "n/a"]
            for name, rs in by.items()]
    text = [f"### Backbone speed: PPO on {task.env}, {steps:,} env steps per run, {len(seeds)} seeds", ""]
    rates = env_frames_per_second(task)
    text += [f"The env alone, random actions: {summary(rates, 0)} frames/s (IQM of 5 repeats of 3,000 steps)."
             + (f" Target (>= {PIXEL_CARTPOLE_FPS:,}): {'met' if iqm(rates) >= PIXEL_CARTPOLE_FPS else 'not met'}."
                if task.env == TASK.env else ""), ""]
    if rows:
        text += [benchlib.table(["backbone", "steps/s", "final return", "steps/s vs nature_cnn"], rows), ""]
    return "\n".join(text + _defaults_note(results))


def section_return(bench: Bench, task: Task, steps: int, seeds: list[int], backbones: list[str]) -> str:
    """``nature_cnn`` against ``small_cnn`` (those of them in ``backbones``) for ``steps`` env steps: the final
    return and steps/s, and the target."""
    results, by = run_by_variant(bench, backbone_jobs(bench, task, return_pair(backbones), steps, seeds,
                                                      RETURN_EPISODES))
    rows = [[name, summary([r["final_return"] for r in rs], 1), summary([r["fps"] for r in rs]),
             summary([r["seconds"] for r in rs], 1)] for name, rs in by.items() if rs]
    text = [f"### Backbone return: PPO on {task.env}, {steps:,} env steps per run, {len(seeds)} seeds", "",
            f"*Final return*: the deterministic evaluation ({RETURN_EPISODES} episodes) of the model at the end "
            "of the run, at a budget where it has left random play behind.", ""]
    if rows:
        text += [benchlib.table(["backbone", "final return", "steps/s", "seconds"], rows), ""]
    nature, small = by.get("nature_cnn"), by.get("small_cnn")
    if nature and small:
        text += [return_target(nature, small), ""]
    return "\n".join(text + _defaults_note(results))


def return_target(nature: list[dict[str, Any]], small: list[dict[str, Any]]) -> str:
    """The target's line: ``small_cnn`` at >= :data:`SPEEDUP` x ``nature_cnn``'s steps/s at an equal or better
    return, equal meaning ``nature_cnn``'s IQM inside ``small_cnn``'s 95% interval (5 seeds cannot tell less)."""
    ratio = iqm([r["fps"] for r in small]) / iqm([r["fps"] for r in nature])
    small_returns = [r["final_return"] for r in small]
    mid, (low, high) = iqm(small_returns), iqm_ci(small_returns)
    other = iqm([r["final_return"] for r in nature])
    verdict = "better" if mid > other else "equal" if low <= other <= high or mid == other else "worse"
    met = ratio >= SPEEDUP and verdict != "worse"
    return (f"Target (small_cnn at >= {SPEEDUP:g}x nature_cnn's steps/s at an equal or better final return; equal: "
            f"nature_cnn's IQM inside small_cnn's interval): {'met' if met else 'not met'} ({ratio:.2f}x the "
            f"steps/s, a return of {mid:.1f} against {other:.1f}: {verdict}).")


def section_aux(bench: Bench, task: Task, steps: int, seeds: list[int], backbone: str, frames: int) -> str:
    """Env steps and wall time to ``task.threshold`` of the plain, auxiliary, pre-trained and attention variants."""
    variants = aux_variants(backbone)
    encoder = str(bench.workdir / "encoder.pt")
    pretrain = [{"kind": "pretrain", "variant": "pretrain", "seed": 0, "env": task.env, "frames": frames,
                 "out": encoder, "backbone": backbone}] if any(v.pretrained for v in variants) else []
    first = [j for v in variants if not v.pretrained
             for j in bench.train_jobs(task, v, steps, seeds, stop=True, keep=v.name == backbone)]
    second = [j for v in variants if v.pretrained
              for j in bench.train_jobs(task, v, steps, seeds, stop=True, encoder=encoder)]
    results = bench.run(pretrain + first, bench.workers) if first or pretrain else []
    results += bench.run(second, bench.workers) if second else []
    bench.kept.update({r["seed"]: r["run_dir"] for r in results if r.get("keep")})
    rows, base = [], None
    for v in variants:
        rs = [r for r in results if r["variant"] == v.name]
        hits = [steps_to_threshold(r["curve"][0], r["curve"][1], r["curve"][2], task.threshold, r["steps"],
                                   r["seconds"], WINDOW) for r in rs]
        need = iqm([h.steps for h in hits])
        base = need if v.name == backbone else base
        rows.append([v.name, f"{sum(h.reached for h in hits)}/{len(hits)}", summary([h.steps for h in hits]),
                     summary([h.seconds for h in hits], 1), f"{base / need:.2f}x" if base else "n/a",
                     summary([r["fps"] for r in rs])])
    text = [f"### Auxiliary tasks and pre-training: PPO on {task.env}, at most {steps:,} env steps, {len(seeds)} "
            f"seeds, threshold: mean return of the last {WINDOW} training episodes >= {task.threshold:g}", "",
            "A run stops at the threshold; one that never reaches it counts as its whole run (*reached* says how "
            "many did)." + (f" The encoder was pre-trained once, by `gymsuite pretrain --frames {frames:,} "
                             f"--backbone {backbone}`, for both pre-trained rows." if pretrain else "")
            + f" `aux_coef={AUX_COEF:g}`, the decoder trained on minibatches of {AUX_KWARGS['batch_size']} "
            "(`aux_kwargs`); *every k*: the auxiliary step at one PPO optimiser step in k (`aux_kwargs={every: k}`), "
            "its gradient not scaled up.", ""]
    if rows:
        text += [benchlib.table(["variant", "reached", "env steps to threshold", "seconds to threshold",
                                 f"fewer steps than {backbone}", "steps/s"], rows), ""]
    return "\n".join(text + _defaults_note(results))


def section_probe(bench: Bench, task: Task, steps: int, seeds: list[int], backbone: str, episodes: int) -> str:
    """R^2 per state variable of a linear probe: the plain-CNN agents (the aux section's, else trained here)."""
    variant = Variant(backbone, backbone_hyper(backbone))
    todo = [s for s in seeds if s not in bench.kept]
    if todo:
        trained = bench.run(bench.train_jobs(task, variant, steps, todo, stop=True, keep=True), bench.workers)
        bench.kept.update({r["seed"]: r["run_dir"] for r in trained})
    jobs = [{"kind": "probe", "variant": "probe", "seed": s, "run_dir": bench.kept[s], "episodes": episodes}
            for s in seeds]
    results = bench.run(jobs, bench.workers)
    names = results[0]["variables"]

    def cell(key: str, name: str) -> str:
        values = [r[key][name] for r in results if r[key][name] is not None]
        return summary(values, 3) if values else "n/a (constant)"

    rows = [[name, cell("r2", name), cell("r2_random_init", name)] for name in names]
    return "\n".join([f"### Linear probe: {task.env}, {backbone} agents at the threshold (or their budget), "
                      f"{len(seeds)} seeds", "",
                      f"Held-out R^2 of a ridge probe from the actor's features ({results[0]['features']}) to each "
                      f"state variable, {episodes} episodes of sampled actions per agent, or more where those gave "
                      "the probe fewer training steps than features (by seed: "
                      f"{', '.join(str(r['episodes']) for r in results)}), 30% of them held out; "
                      "*random init*: the same frames through a freshly initialised encoder of the same "
                      "architecture.", "",
                      benchlib.table(["state variable", "trained encoder", "random init"], rows)])


def _defaults_note(results: list[dict[str, Any]]) -> list[str]:
    extra = sorted({k for r in results for k in r.get("shipped_defaults", [])})
    return [f"Shipped defaults the runs also used (agents/hyperparams/ppo.yml): {', '.join(extra)}."] if extra else []


SECTIONS = ("speed", "return", "aux", "probe")


def plan_minutes(bench: Bench, task: Task, args: argparse.Namespace, seeds: list[int]) -> float:
    """The chosen sections' train jobs timed by :func:`estimate_minutes` (pre-training and probing not counted)."""
    aux = aux_variants(args.aux_backbone) if "aux" in args.sections else []
    if "probe" in args.sections and not aux:
        aux = aux_variants(args.aux_backbone)[:1]
    jobs = backbone_jobs(bench, task, args.backbones, args.speed_steps, seeds) if "speed" in args.sections else []
    if "return" in args.sections:
        jobs += backbone_jobs(bench, task, return_pair(args.backbones), args.return_steps, seeds)
    jobs += [j for v in aux for j in bench.train_jobs(task, v, args.aux_steps, seeds)]
    return estimate_minutes(jobs, bench.workers)


def main(argv: list[str] | None = None, run: Runner = run_all) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    p.add_argument("--env", help=f"image env to run every section on (default {TASK.env})")
    p.add_argument("--threshold", type=float, help=f"return threshold of the aux section (default {TASK.threshold:g})")
    p.add_argument("--seeds", type=int, help=f"seeds per variant (default {FULL['seeds']}; --quick {QUICK['seeds']})")
    for key in ("speed_steps", "return_steps", "aux_steps", "pretrain_frames", "probe_episodes"):
        p.add_argument(f"--{key.replace('_', '-')}", type=int, help=f"default {FULL[key]:,} (--quick {QUICK[key]:,})")
    p.add_argument("--backbones", nargs="+", default=SPEED_BACKBONES, help="backbones of the speed section")
    p.add_argument("--aux-backbone", default=AUX_BACKBONE, help="the CNN of the aux and probe sections")
    benchlib.add_run_options(p)
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)
    task = Task(args.env or TASK.env, TASK.threshold if args.threshold is None else args.threshold,
                TASK.env_kwargs if args.env is None else {})
    seeds = list(range(args.seeds))
    start = time.perf_counter()
    parts = []
    with tempfile.TemporaryDirectory(prefix="gymsuite-bench-pixels-") as tmp:
        bench = Bench(Path(tmp), run, min(args.workers, 2))
        print(f"estimated wall time: at most about {plan_minutes(bench, task, args, seeds):.0f} min "
              f"(at the assumed steps/s of EXPECTED_FPS, were no aux run to stop early)", flush=True)
        if "speed" in args.sections:
            parts.append(section_speed(bench, task, args.speed_steps, seeds, args.backbones))
        if "return" in args.sections:
            parts.append(section_return(bench, task, args.return_steps, seeds, args.backbones))
        if "aux" in args.sections:
            parts.append(section_aux(bench, task, args.aux_steps, seeds, args.aux_backbone, args.pretrain_frames))
        if "probe" in args.sections:
            parts.append(section_probe(bench, task, args.aux_steps, seeds, args.aux_backbone, args.probe_episodes))
    text = "\n\n".join([f"## Seeing from pixels (`benchmarks/pixels.py`)\n\nMachine: {benchlib.machine()}. Wall time "
                        f"{(time.perf_counter() - start) / 60:.1f} min with {bench.workers} worker processes (two "
                        "runs share the 2 cores: compare steps/s within a table). PPO "
                        f"{json.dumps(PPO_KWARGS)}, {N_ENVS} envs, net_arch {NET_ARCH}, in every run. Cells: "
                        "interquartile mean over seeds [95% bootstrap interval].", *parts])
    benchlib.publish("pixels", text, args.benchmarks, not (args.no_write or args.quick))
    return text


if __name__ == "__main__":
    main()
    sys.exit(0)
