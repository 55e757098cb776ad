"""Commands: ``assemble-config`` (write a training config) and ``train`` (spaCy training).

Both take spaCy's config overrides exactly as ``spacy train`` does, e.g.
``--paths.train corpus/ner/emea/train.spacy --paths.dev corpus/ner/emea/dev.spacy
--paths.transformer training/pretrain/small/model --system.seed 1``.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import click
import srsly
import typer
from confection import Config
from spacy.cli._util import parse_config_overrides

from ..about import NER_LIBRARIES, library_versions
from .config import HEADS, RECIPES, assemble_cnn_config, assemble_config

# Registered functions used by the configs (reader, schedule, component and its scorer).
from . import readers, schedules  # noqa: F401
from ..components import features, token_ner  # noqa: F401

PROFILE_HELP = "Profile: tiny, small, paper (spacy_cbio/configs/ner/profiles/), or a .cfg file."
RECIPE_HELP = ("transformer (the project's pipelines: base config + head + features + profile) or cnn (spaCy's CNN "
               "baseline, `spacy init config --optimize accuracy`: no transformer, profile and head unused).")
HEAD_HELP = f"NER head: {' or '.join(HEADS)} (token: cbio_token_ner; transition: spaCy's ner)."


class MissingDataError(FileNotFoundError):
    """The training or dev DocBin named in ``[paths]`` does not exist."""


def _data_help(missing: List[str]) -> str:
    """How to get missing DocBins: the convert step; for a user-supplied dataset, where to ask for it."""
    from ..data.datasets import DATASETS

    message = "run `python -m spacy_cbio convert` first"
    # convert writes corpus/ner/<dataset>/<split>.spacy
    for name in dict.fromkeys(Path(path).parent.name for path in missing):
        spec = DATASETS.get(name)
        if spec is not None and not spec.required:  # not public: the user supplies the folder
            message += (f"; {name} is not public ({spec.licence}): request it at {spec.url} "
                        f"and give its folder to `convert --{name}-dir`")
    return message


def vectors_available(name: Any) -> bool:
    """Whether ``name`` is a vectors directory or an installed spaCy package."""
    import spacy.util

    return name is not None and (Path(str(name)).exists() or spacy.util.is_package(str(name)))


def build_config(recipe: str, profile: str, head: str, overrides: Dict[str, Any],
                 echo: Callable[[str], None] = print) -> Config:
    """The training config of ``recipe``. For the CNN baseline, vectors that are not installed
    are reported and left out (the baseline then runs without static vectors)."""
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {RECIPES}, not {recipe!r}")
    if recipe == "transformer":
        config = assemble_config(profile, head=head, overrides=overrides)
        if config["cbio"]["features"] == "transformer" and "transformer" in config["training"]["frozen_components"]:
            echo("WARNING: the transformer is frozen and the head reads its features alone: only the linear "
                 "head learns. Unfreeze it with --training.frozen_components [] "
                 "--training.annotating_components [] (the paper fine-tunes every layer).")
        return config
    vectors = overrides.get("paths.vectors")
    if vectors is not None and not vectors_available(vectors):
        echo(f"WARNING: vectors {vectors!r} are neither a directory nor an installed spaCy package "
             f"(pip install {vectors}?): the CNN baseline runs without static vectors.")
        overrides = {**overrides, "paths.vectors": None}
    return assemble_cnn_config(overrides)


def check_inputs(config: Config) -> None:
    """Raise ``ValueError`` without a local transformer (or without the vectors that stacked
    features need), ``MissingDataError`` without train/dev data."""
    paths = config["paths"]
    if config["cbio"]["recipe"] == "transformer":
        transformer = paths.get("transformer")
        if transformer is None:
            raise ValueError("not set: give a local Hugging Face model directory (--paths.transformer DIR)")
        if not Path(str(transformer)).is_dir():
            raise ValueError(f"{transformer} is not a local Hugging Face model directory")
    if config["cbio"]["features"] == "stacked":
        vectors = paths.get("vectors")
        if vectors is None or not Path(str(vectors)).exists():
            raise ValueError(f"[cbio] features = \"stacked\" needs static vectors: --paths.vectors DIR "
                             f"(a spaCy vectors directory from `python -m spacy_cbio vectors`), not {vectors}")
    missing = [str(paths.get(split)) for split in ("train", "dev")
               if paths.get(split) is None or not Path(str(paths[split])).exists()]
    if missing:
        raise MissingDataError(f"no training data ({', '.join(missing)}): {_data_help(missing)}")


def train_pipeline(
    output: Path,
    profile: str = "small",
    overrides: Optional[Dict[str, Any]] = None,
    *,
    head: str = "token",
    recipe: str = "transformer",
    gpu_id: int = -1,
    threads: int = 0,
) -> Path:
    """Assemble the config, write ``<output>/config.cfg`` and ``run.json``, train with ``spacy train``.

    RETURNS: ``<output>/model-best``, the best checkpoint on dev.
    """
    config = build_config(recipe, profile, head, overrides or {})
    check_inputs(config)
    return _train(config, Path(output), profile=profile, head=head, overrides=overrides or {},
                  gpu_id=gpu_id, threads=threads)


def _train(config: Config, output: Path, *, profile: str, head: str, overrides: Dict[str, Any],
           gpu_id: int, threads: int) -> Path:
    import torch
    from spacy.cli.train import train as spacy_train

    if threads > 0:
        torch.set_num_threads(threads)
    output.mkdir(parents=True, exist_ok=True)
    config_path = output / "config.cfg"
    config.to_disk(config_path)
    run_info = {
        "recipe": config["cbio"]["recipe"],
        "features": config["cbio"]["features"],
        "profile": profile,
        "head": head,
        "seed": config["system"]["seed"],
        "paths": {key: None if value is None else str(value) for key, value in config["paths"].items()},
        "overrides": {key: str(v) if isinstance(v, Path) else v for key, v in overrides.items()},
        "gpu_id": gpu_id,
        "torch_threads": torch.get_num_threads(),
        "argv": sys.argv,
        "versions": library_versions(NER_LIBRARIES),
    }
    srsly.write_json(output / "run.json", run_info)
    spacy_train(config_path, output, use_gpu=gpu_id)
    return output / "model-best"


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
        config = build_config(recipe, profile, head, _overrides(ctx), echo=typer.echo)
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
) -> None:
    """Train a NER pipeline (base config + head + profile + overrides) with spaCy.

    Data, transformer and seed are config overrides, as for `spacy train`: --paths.train
    corpus/ner/emea/train.spacy --paths.dev corpus/ner/emea/dev.spacy --paths.transformer
    training/pretrain/small/model [--system.seed 0] [--section.key value ...].

    Writes OUTPUT/config.cfg (the assembled config), OUTPUT/run.json (profile, head, seed,
    paths, overrides, torch threads, library versions), OUTPUT/model-best (best on dev)
    and OUTPUT/model-last.
    """
    overrides = _overrides(ctx)
    try:
        config = build_config(recipe, profile, head, overrides, echo=typer.echo)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--profile/--head/overrides")
    try:
        check_inputs(config)
    except MissingDataError as err:
        if skip_missing:
            typer.echo(f"Skipped training {output}: {err}.")
            return
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--paths.transformer")
    _train(config, output, profile=profile, head=head, overrides=overrides, gpu_id=gpu_id, threads=threads)


def tune(
    ctx: typer.Context,
    output: Path = typer.Argument(..., help="Study folder: study.db (SQLite), best.cfg, best.json, history.png."),
    profile: str = typer.Option("small", "--profile", "-p", help=PROFILE_HELP),
    head: str = typer.Option("token", "--head", help=HEAD_HELP),
    n_trials: int = typer.Option(3, "--n-trials", help="Finished trials (complete or pruned) the study should have; a resumed study runs only the rest."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Stop starting new trials after this many seconds."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL (any RDB URL); default sqlite:///OUTPUT/study.db."),
    study_name: Optional[str] = typer.Option(None, "--study-name", help="Default: the dataset folder of --paths.train."),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads (0: torch's default)."),
) -> None:
    """Tune learning rate, warmup ratio and batch size with Optuna (objective: dev F1, seqeval strict IOB2).

    Ranges contain the paper's values (lr 1e-5..1e-3 log, warmup 0..0.3, batch 8/16/32); the first
    trial runs the paper's 5e-5 / 0.224 / 16. Dev scores are reported at every evaluation and bad
    trials are pruned (median rule). Rerun the same command to resume a killed study. Train with
    the result: `train OUT --profile OUTPUT/best.cfg --paths.train ...`. Cut trials short with
    overrides, e.g. --training.max_steps 200 --training.eval_frequency 50.
    """
    import torch

    from .tune import tune_study

    overrides = _overrides(ctx)
    try:
        config = build_config("transformer", profile, head, overrides, echo=typer.echo)
        check_inputs(config)
    except MissingDataError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--profile/--head/overrides")
    if threads > 0:
        torch.set_num_threads(threads)
    name = study_name or Path(str(config["paths"]["train"])).parent.name
    study, files = tune_study(config, output, profile=profile, n_trials=n_trials, storage=storage, study_name=name,
                              timeout=timeout, seed=int(config["system"]["seed"]), echo=typer.echo)
    best = srsly.read_json(files["json"])
    typer.echo(f"Best trial {best['best_trial']}: dev score {best['best_dev_score']:.4f} with {best['best_values']}")
    typer.echo("Wrote " + ", ".join(str(p) for p in files.values()))
