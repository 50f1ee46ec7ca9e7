"""A study's outputs, rewritten (atomically) after each finished trial: ``best/config.yaml``, ``summary.md`` and,
with two or more complete trials, ``importance.png``.

``best/config.yaml`` is the best trial's own ``config.yaml``: ``gymsuite train --config <study>/best/config.yaml``
trains that setting again. Importance is Optuna's PED-ANOVA evaluator: fANOVA (Optuna's default) and
mean-decrease-impurity need scikit-learn, which gymsuite does not depend on.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gymsuite.agents.sweeps.plots import plot_importance
from gymsuite.common.files import atomic_write, read_yaml, write_yaml

if TYPE_CHECKING:
    import optuna

# A seconds/steps study's value for a trial none of whose seeds reached the target: minus this, plus their mean final
# return, so that it ranks below every trial that reached it once and, among such trials, by how close it came.
UNSOLVED = 1.0e9


def seed_dir(trial_dir: Path, seed: int) -> Path:
    """The run directory of ``seed`` in a trial of several seeds (``--seeds-per-trial``)."""
    return trial_dir / f"seed{seed}"


def trial_config(root: Path, number: int) -> Path:
    """The ``config.yaml`` reproducing trial ``number``: its run's, or with several seeds its first seed's."""
    trial_dir = root / "trials" / f"{number:04d}"
    seeds = sorted((p for p in trial_dir.glob("seed*") if p.name[4:].isdigit()), key=lambda p: int(p.name[4:]))
    own = trial_dir / "config.yaml"
    return seeds[0] / "config.yaml" if seeds and not own.is_file() else own


def write_outputs(study: optuna.Study, root: Path) -> None:
    """Rewrite the study's ``best/config.yaml``, ``summary.md`` and ``importance.png`` from its trials."""
    trials = study.get_trials(deepcopy=False)
    best = best_trial(study)
    if best is not None:  # a repeat (tune.repeat_of) trained nothing: the trial it repeats has the config
        config = trial_config(root, int(best.user_attrs.get("repeat_of", best.number)))
        if config.is_file():
            write_yaml(root / "best" / "config.yaml", read_yaml(config))
    table = summary(trials)
    atomic_write(root / "summary.md", lambda tmp: tmp.write_text(table))
    _importance(study, root / "importance.png")


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The complete trial with the highest value, or None before the first."""
    from optuna.trial import TrialState

    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    return max(complete, key=lambda t: t.value or 0.0) if complete else None


def _order(trial: optuna.trial.FrozenTrial) -> tuple[int, float, int]:
    from optuna.trial import TrialState

    rank = {TrialState.COMPLETE: 0, TrialState.PRUNED: 1, TrialState.RUNNING: 2, TrialState.FAIL: 3}
    value = trial.value if trial.value is not None and not math.isnan(trial.value) else -math.inf
    return rank.get(trial.state, 4), -value, trial.number


def summary(trials: list[optuna.trial.FrozenTrial]) -> str:
    """A markdown table of the trials, best first: trial, state, value, params, seconds, node, note."""
    lines = ["| trial | state | value | params | seconds | node | note |", "|---|---|---|---|---|---|---|"]
    for t in sorted(trials, key=_order):
        attrs: dict[str, Any] = t.user_attrs
        value = "" if t.value is None else f"{t.value:.4g}" if t.value > -UNSOLVED / 2 \
            else f"none reached (return {t.value + UNSOLVED:.4g})"
        shown = t.params or t.system_attrs.get("fixed_params", {})  # a WAITING (enqueued) trial: the values to try
        params = ", ".join(f"{k}={_short(v)}" for k, v in shown.items())
        notes = ("refused", "error", "pruned_at", "retry_of", "repeat_of", "seed_values")
        note = next((f"{k}: {attrs[k]}" for k in notes if k in attrs), "")
        if attrs.get("interrupted"):
            note = "interrupted (tried again)"
        lines.append(f"| {t.number} | {t.state.name} | {value} | {params} | {attrs.get('seconds', '')} | "
                     f"{attrs.get('node', '')} | {note.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _importance(study: optuna.Study, path: Path) -> None:
    """``importance.png``: each hyperparameter's share of the value's variation (needs two complete trials)."""
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances
    from optuna.trial import TrialState

    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 2:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PED-ANOVA warns that few trials make a rough estimate: it is one
        try:
            importances = get_param_importances(study, evaluator=PedAnovaImportanceEvaluator())
        except (ValueError, RuntimeError, ZeroDivisionError):  # e.g. no parameter varied among the complete trials
            return
    if not importances:
        return
    plot_importance(importances, path, "hyperparameter importance (PED-ANOVA)")
