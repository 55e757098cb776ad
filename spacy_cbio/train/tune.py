"""``tune``: Optuna search over a recipe's knobs, scored on dev only.

The transformer recipe searches the paper's three knobs (learning rate, warmup ratio, batch
size); spaCy's CNN baseline its own (learning rate, dropout, Tok2Vec width), so that both
get the same budget: the same number of trials and steps, each on its own space. The first
trial runs the recipe's stock values (the paper's for the transformer, spaCy's for the CNN).
One study per (model, dataset). Each trial trains with spaCy's own loop (no checkpoints on
disk) and reports every dev evaluation to Optuna through a registered logger
(``spacy_cbio.TrialLogger.v1``), so a bad trial is pruned early. The study lives in an
RDB storage (SQLite in the output folder by default): rerunning the same command resumes it.
The best trial is written as a profile (``best.cfg``: the profile with the best values) that
``train --profile OUTPUT/best.cfg`` takes, with the study's history plotted beside it.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

import srsly
from confection import Config
from spacy.util import registry

from .config import _load, _resolve_profile, config_dir

logger = logging.getLogger(__name__)

# (config key, low, high) ranges; each contains the paper's value (5e-5, 0.224, 16).
LEARN_RATE_KEY = "training.optimizer.learn_rate.initial_rate"
WARMUP_KEY = "training.optimizer.learn_rate.warmup_ratio"
BATCH_KEY = "training.batcher.size"
SEARCH_SPACE = {
    LEARN_RATE_KEY: (1e-5, 1e-3),  # log scale
    WARMUP_KEY: (0.0, 0.3),
    BATCH_KEY: (8, 16, 32),  # categorical
}
PAPER_VALUES = {LEARN_RATE_KEY: 5e-5, WARMUP_KEY: 0.224, BATCH_KEY: 16}


@dataclass(frozen=True)
class Knob:
    """One tuned setting: Optuna's parameter name, the config key it sets, how it is drawn
    (``log``/``float`` between two bounds, or ``categorical`` among values) and the first
    trial's value."""

    name: str
    key: str
    kind: str
    values: Tuple[Any, ...]
    start: Any

    def suggest(self, trial) -> Any:
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.values))
        return trial.suggest_float(self.name, self.values[0], self.values[1], log=self.kind == "log")


SEARCH_SPACES: Dict[str, Tuple[Knob, ...]] = {
    "transformer": (
        Knob("learn_rate", LEARN_RATE_KEY, "log", SEARCH_SPACE[LEARN_RATE_KEY], PAPER_VALUES[LEARN_RATE_KEY]),
        Knob("warmup_ratio", WARMUP_KEY, "float", SEARCH_SPACE[WARMUP_KEY], PAPER_VALUES[WARMUP_KEY]),
        Knob("batch_size", BATCH_KEY, "categorical", SEARCH_SPACE[BATCH_KEY], PAPER_VALUES[BATCH_KEY]),
    ),
    # spaCy's CNN (cnn.cfg): its Adam rate (stock 1e-3), dropout (0.1) and Tok2Vec width (256)
    "cnn": (
        Knob("learn_rate", "training.optimizer.learn_rate", "log", (1e-4, 1e-2), 1e-3),
        Knob("dropout", "training.dropout", "float", (0.05, 0.4), 0.1),
        Knob("width", "components.tok2vec.model.encode.width", "categorical", (64, 96, 128, 256), 256),
    ),
}
TRIAL_LOGGER = {"@loggers": "spacy_cbio.TrialLogger.v1", "progress_bar": False}

# The running trial's reporter: (step, dev score) -> None; raises optuna.TrialPruned to stop.
_reporter: Optional[Callable[[int, float], None]] = None


@registry.loggers("spacy_cbio.TrialLogger.v1")
def trial_logger(progress_bar: bool = False):
    """spaCy's console logger that also hands each dev score to the running Optuna trial."""
    from spacy.training.loggers import console_logger

    console = console_logger(progress_bar=progress_bar)

    def setup(nlp, stdout=sys.stdout, stderr=sys.stderr):
        log_step, finalize = console(nlp, stdout, stderr)

        def step(info: Optional[Dict[str, Any]]) -> None:
            log_step(info)
            if info is not None and _reporter is not None:
                _reporter(int(info["step"]), float(info["score"]))

        return step, finalize

    return setup


def suggest(trial, recipe: str = "transformer") -> Dict[str, Any]:
    """The trial's values of the recipe's knobs, by config key."""
    return {knob.key: knob.suggest(trial) for knob in SEARCH_SPACES[recipe]}


def resume_study(study) -> int:
    """Mark trials left RUNNING by a killed process as failed and queue their parameters again.

    RETURNS: how many were recovered. Only for a study no other process is running.
    """
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        if trial.params:
            study.enqueue_trial(trial.params, skip_if_exists=False)
    return len(stale)


def finished_trials(study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def run_trial(config: Config, values: Dict[str, Any], report: Callable[[int, float], None]) -> float:
    """Train ``config`` with ``values`` (spaCy's loop, nothing on disk); RETURNS the best dev score."""
    global _reporter
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train as train_loop

    config = Config().from_str(config.to_str(), overrides={**values, "training.logger": TRIAL_LOGGER},
                               interpolate=False)
    nlp = init_nlp(config.interpolate())
    best = 0.0

    def track(step: int, score: float) -> None:
        nonlocal best
        best = max(best, score)
        report(step, score)

    _reporter = track
    try:
        train_loop(nlp, None, stdout=sys.stdout, stderr=sys.stderr)
    finally:
        _reporter = None
    return best


def best_profile(profile: str, values: Dict[str, Any]) -> Config:
    """The profile's config with the tuned values set (a profile ``train --profile`` takes)."""
    config = _load(_resolve_profile(profile, config_dir()))
    return Config().from_str(config.to_str(), overrides=values, interpolate=False)


def tune_study(config: Config, output: Path, *, profile: str, n_trials: int, storage: Optional[str] = None,
               study_name: str = "cbio", timeout: Optional[float] = None, seed: int = 0,
               recipe: str = "transformer") -> Tuple[Any, Dict[str, Path]]:
    """Run (or resume) the study until it has ``n_trials`` finished trials; write the best profile.

    RETURNS: the study and the written files (``best.cfg``, ``best.json``, ``history.png``).
    """
    import optuna

    output.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{(output / 'study.db').as_posix()}"
    study = optuna.create_study(
        study_name=study_name, storage=storage, direction="maximize", load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0),
    )
    knobs = SEARCH_SPACES[recipe]
    if not study.trials:  # the first trial tries the recipe's stock values
        study.enqueue_trial({knob.name: knob.start for knob in knobs})
    recovered = resume_study(study)
    done = finished_trials(study)
    if recovered or done:
        logger.info(f"Resuming study {study_name!r} ({storage}): {done} finished trials, {recovered} interrupted (rerun)")
    remaining = max(0, n_trials - done)

    def objective(trial) -> float:
        values = suggest(trial, recipe)
        logger.info("Trial %d: %s", trial.number, ", ".join(f"{knob.name} {values[knob.key]:.4g}" for knob in knobs))

        def report(step: int, score: float) -> None:
            trial.report(score, step)
            if trial.should_prune():
                logger.info(f"Trial {trial.number} pruned at step {step} (dev score {score:.4f})")
                raise optuna.TrialPruned()

        return run_trial(config, values, report)

    if remaining:
        study.optimize(objective, n_trials=remaining, timeout=timeout, catch=())
    chosen_on = {"split": "dev", "dataset": study_name, "seed": seed, "dev": str(config["paths"]["dev"]),
                 "steps": config["training"]["max_steps"], "n_trials": n_trials}
    files = write_best(study, output, profile=profile, recipe=recipe, chosen_on=chosen_on)
    return study, files


def write_best(study, output: Path, *, profile: str, recipe: str = "transformer",
               chosen_on: Optional[Dict[str, Any]] = None) -> Dict[str, Path]:
    """``best.cfg`` (the profile + best values; the CNN's own config for that recipe),
    ``best.json`` (trial, dev score, what chose it, every trial), ``history.png``."""
    from optuna.trial import TrialState

    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not completed:
        raise ValueError(f"study {study.study_name!r} has no completed trial")
    best = study.best_trial
    knobs = SEARCH_SPACES[recipe]
    values = {knob.key: best.params[knob.name] for knob in knobs}
    files = {"cfg": output / "best.cfg", "json": output / "best.json", "png": output / "history.png"}
    if recipe == "cnn":
        cnn = _load(config_dir() / "cnn.cfg")
        Config().from_str(cnn.to_str(), overrides=values, interpolate=False).to_disk(files["cfg"])
    else:
        best_profile(profile, values).to_disk(files["cfg"])
    srsly.write_json(files["json"], {
        "study": study.study_name,
        "recipe": recipe,
        "profile": profile,
        "chosen_on": chosen_on or {"split": "dev"},
        "best_trial": best.number,
        "best_dev_score": best.value,
        "best_values": values,
        "search_space": {knob.key: {"kind": knob.kind, "values": list(knob.values), "first_trial": knob.start}
                         for knob in knobs},
        "trials": [{"number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
                    "intermediate": {str(k): v for k, v in t.intermediate_values.items()}}
                   for t in study.get_trials(deepcopy=False)],
    })
    import matplotlib

    matplotlib.use("Agg")
    from optuna.visualization.matplotlib import plot_optimization_history

    axes = plot_optimization_history(study)
    axes.figure.tight_layout()
    axes.figure.savefig(files["png"], dpi=120)
    import matplotlib.pyplot as plt

    plt.close(axes.figure)
    return files
