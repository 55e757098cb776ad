"""Commands: ``assemble-config`` (write a training config) and ``train`` (spaCy training).

Both take spaCy's config overrides exactly as ``spacy train`` does, e.g.
``--paths.train corpus/ner/emea/train.spacy --paths.dev corpus/ner/emea/dev.spacy
--paths.transformer training/pretrain/small/model --system.seed 1``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

import click
import srsly
import typer
from spacy.cli._util import parse_config_overrides

from .config import HEADS
from .pipeline import (MissingDataError, TrainConfigError, TrainInputError, build_train_config, check_inputs,
                       train_pipeline, vectors_available)

# The library is .pipeline; these names stay importable from here (re-exports).
build_config = build_train_config  # the NER config builder's former name
__all__ = ["assemble_config_cmd", "train", "train_datasets_cmd", "calibrate", "tune", "MissingDataError", "build_config", "build_train_config",
           "check_inputs", "train_pipeline", "vectors_available"]

PROFILE_HELP = "Profile: tiny, small, paper (spacy_cbio/configs/ner/profiles/), or a .cfg file."
RECIPE_HELP = ("transformer (the project's pipelines: base config + head + features + profile) or cnn (spaCy's CNN "
               "baseline, `spacy init config --optimize accuracy`: no transformer, profile and head unused).")
HEAD_HELP = f"NER head: {' or '.join(HEADS)} (token: cbio_token_ner; transition: spaCy's ner)."


def _overrides(ctx: typer.Context) -> Dict[str, Any]:
    """``--section.key value`` arguments, read by spaCy's own parser (and ``$SPACY_CONFIG_OVERRIDES``)."""
    try:
        return parse_config_overrides(list(ctx.args))
    except click.ClickException as err:  # spaCy raises the click package's errors, not typer's
        raise typer.BadParameter(err.format_message(), param_hint="config overrides")


def assemble_config_cmd(
    ctx: typer.Context,
    output: Path = typer.Argument(..., help="Where to write the assembled config (.cfg)."),
    profile: str = typer.Option("small", "--profile", "-p", help=PROFILE_HELP),
    head: str = typer.Option("token", "--head", help=HEAD_HELP),
    recipe: str = typer.Option("transformer", "--recipe", help=RECIPE_HELP),
) -> None:
    """Write a NER training config: base + head + profile + overrides (--paths.train PATH --section.key VALUE).

    The result trains with plain `python -m spacy train CONFIG` (spacy-cbio installed).
    """
    try:
        config = build_train_config(recipe, profile, head, _overrides(ctx))
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--profile/--head/overrides")
    output.parent.mkdir(parents=True, exist_ok=True)
    config.to_disk(output)
    typer.echo(f"Wrote {output}")


def train(
    ctx: typer.Context,
    output: Path = typer.Argument(..., help="Output folder: config.cfg, run.json, model-best, model-last."),
    profile: str = typer.Option("small", "--profile", "-p", help=PROFILE_HELP),
    head: str = typer.Option("token", "--head", help=HEAD_HELP),
    recipe: str = typer.Option("transformer", "--recipe", help=RECIPE_HELP),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, -1 for CPU."),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads (0: torch's default). 1 is much faster when other jobs share the cores."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Exit 0 with a message when the train/dev DocBins are absent (CAS1/CAS2 without the data)."),
    calibrate: bool = typer.Option(True, "--calibrate/--no-calibrate", help="Fit the temperature of the entity scores (span._.score) of model-best on the dev set (token head only)."),
) -> None:
    """Train a NER pipeline (base config + head + profile + overrides) with spaCy.

    Data, transformer and seed are config overrides, as for `spacy train`: --paths.train
    corpus/ner/emea/train.spacy --paths.dev corpus/ner/emea/dev.spacy --paths.transformer
    training/pretrain/small/model [--system.seed 0] [--section.key value ...].

    Writes OUTPUT/config.cfg (the assembled config), OUTPUT/run.json (profile, head, seed,
    paths, overrides, torch threads, library versions, calibration), OUTPUT/model-best (best
    on dev, its entity scores calibrated on dev: see `calibrate`) and OUTPUT/model-last.
    """
    try:
        train_pipeline(output, profile, _overrides(ctx), head=head, recipe=recipe, gpu_id=gpu_id, threads=threads,
                       calibrate=calibrate)
    except TrainConfigError as err:
        raise typer.BadParameter(str(err), param_hint="--profile/--head/overrides")
    except MissingDataError as err:
        if skip_missing:
            typer.echo(f"Skipped training {output}: {err}.")
            return
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    except TrainInputError as err:
        raise typer.BadParameter(str(err), param_hint="--paths.transformer")


def train_datasets_cmd(
    ctx: typer.Context,
    output: Path = typer.Argument(..., help="Output root: one folder per dataset (OUTPUT/<dataset>/model-best, train.log)."),
    datasets: str = typer.Option("e3c,emea,medline,quaero,cas1,cas2", "--datasets", help="Comma-separated datasets; a non-public one (cas1, cas2) without converted data is skipped."),
    corpus: Path = typer.Option(Path("corpus/ner"), "--corpus", help="Converted DocBins: CORPUS/<dataset>/{train,dev}.spacy."),
    jobs: int = typer.Option(2, "--jobs", "-j", help="Trainings at once (1 on one GPU)."),
    threads: int = typer.Option(0, "--threads", help="torch threads of each training (0: the CPU cores shared out among the jobs)."),
) -> None:
    """Train one NER pipeline per dataset, JOBS at a time, each in its own `train` process.

    Every other option and override goes to each `train` as is (--profile, --head,
    --paths.transformer DIR, --paths.vectors DIR, --system.seed N, --gpu-id, --no-calibrate...);
    --paths.train and --paths.dev come from --corpus. Each training's output is in
    OUTPUT/<dataset>/train.log; this command prints when each starts and ends. Exits 1 when a
    training fails (after the others finish).
    """
    from .many import train_datasets

    names = [name.strip() for name in datasets.split(",") if name.strip()]
    if not names:
        raise typer.BadParameter("no dataset given", param_hint="--datasets")
    if jobs < 1:
        raise typer.BadParameter(f"must be at least 1, not {jobs}", param_hint="--jobs")
    try:
        records = train_datasets(names, output, corpus, list(ctx.args), jobs=jobs, threads=threads)
    except FileNotFoundError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    failed = [r["dataset"] for r in records if r["returncode"] != 0]
    if failed:
        typer.secho(f"Training failed for {', '.join(failed)}: see their train.log", fg="red", err=True)
        raise typer.Exit(1)


def calibrate(
    model: Path = typer.Argument(..., help="Pipeline folder with a cbio_token_ner component (e.g. .../model-best); updated in place."),
    data: Path = typer.Argument(..., help="Gold DocBin to fit on: the dev set (e.g. corpus/ner/emea/dev.spacy), never the test set."),
    batch_size: int = typer.Option(8, "--batch-size", "-b", help="Documents per batch."),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads (0: torch's default)."),
    min_entities: int = typer.Option(20, "--min-entities", help="Fewer predicted entities than this: too few to fit, the temperature is set to 1."),
) -> None:
    """Fit the temperature of a pipeline's entity scores (span._.score) on a dev set, in place.

    The tag probabilities p become softmax(log(p) / T), with T minimising the log loss of the
    entity scores against strict correctness. No entity changes, so no F1 changes. Prints the
    expected calibration error (ECE) before and after; writes MODEL/calibration.json. `train`
    does this on model-best unless --no-calibrate.
    """
    import torch

    from .calibrate import calibrate_model, describe

    if threads > 0:
        torch.set_num_threads(threads)
    if not (model / "config.cfg").is_file():
        raise typer.BadParameter(f"{model} is not a pipeline folder (no config.cfg)", param_hint="model")
    try:
        record = calibrate_model(model, data, batch_size=batch_size, min_entities=min_entities)
    except (FileNotFoundError, ValueError) as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(describe(record))
    typer.echo(f"Wrote {model / record['component'] / 'cfg'} and {model / 'calibration.json'}")


def tune(
    ctx: typer.Context,
    output: Path = typer.Argument(..., help="Study folder: study.db (SQLite), best.cfg, best.json, history.png."),
    profile: str = typer.Option("small", "--profile", "-p", help=PROFILE_HELP),
    head: str = typer.Option("token", "--head", help=HEAD_HELP),
    recipe: str = typer.Option("transformer", "--recipe", help="transformer (tunes learning rate, warmup ratio, batch size) or cnn (spaCy's CNN baseline: learning rate, dropout, Tok2Vec width)."),
    n_trials: int = typer.Option(3, "--n-trials", help="Finished trials (complete or pruned) the study should have; a resumed study runs only the rest."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Stop starting new trials after this many seconds."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL (any RDB URL); default sqlite:///OUTPUT/study.db."),
    study_name: Optional[str] = typer.Option(None, "--study-name", help="Default: the dataset folder of --paths.train."),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads (0: torch's default)."),
) -> None:
    """Tune a recipe's settings with Optuna; the objective is dev F1 only (seqeval strict IOB2).

    Transformer recipe: ranges contain the paper's values (lr 1e-5..1e-3 log, warmup 0..0.3,
    batch 8/16/32); the first trial runs the paper's 5e-5 / 0.224 / 16. CNN recipe (--recipe
    cnn): lr 1e-4..1e-2 log, dropout 0.05..0.4, Tok2Vec width 64/96/128/256; the first trial
    runs spaCy's 1e-3 / 0.1 / 256. best.json records that dev chose the values (dataset, seed). Dev scores are reported at every evaluation and bad
    trials are pruned (median rule). Rerun the same command to resume a killed study. Train with
    the result: `train OUT --profile OUTPUT/best.cfg --paths.train ...`. Cut trials short with
    overrides, e.g. --training.max_steps 200 --training.eval_frequency 50.
    """
    import torch

    from .tune import tune_study

    overrides = _overrides(ctx)
    try:
        config = build_train_config(recipe, profile, head, overrides)
        check_inputs(config)
    except MissingDataError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--recipe/--profile/--head/overrides")
    if threads > 0:
        torch.set_num_threads(threads)
    name = study_name or Path(str(config["paths"]["train"])).parent.name
    study, files = tune_study(config, output, profile=profile, n_trials=n_trials, storage=storage, study_name=name,
                              timeout=timeout, seed=config["system"]["seed"], recipe=recipe)
    best = srsly.read_json(files["json"])
    typer.echo(f"Best trial {best['best_trial']}: dev score {best['best_dev_score']:.4f} with {best['best_values']}")
    typer.echo("Wrote " + ", ".join(str(p) for p in files.values()))
