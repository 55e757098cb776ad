"""Commands: ``assemble-config`` (write a training config) and ``train`` (spaCy training)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import srsly
import typer

from ..about import library_versions
from .config import assemble_config, parse_overrides

# Registered functions used by the configs (readers, scorer, component).
from . import readers  # noqa: F401
from ..components import token_ner  # noqa: F401
from ..evaluate import seqeval_scorer  # noqa: F401


TRAIN_LIBRARIES = ("spacy-cbio", "spacy", "spacy-transformers", "thinc", "transformers", "torch", "seqeval", "numpy")


def versions() -> Dict[str, str]:
    """Versions of Python and of the libraries that decide the results."""
    return library_versions(TRAIN_LIBRARIES)


def assemble_config_cmd(
    dataset: str = typer.Argument(..., help="Dataset name (configs/ner/datasets/) or a .cfg file."),
    output: Path = typer.Argument(..., help="Where to write the assembled config (.cfg)."),
    profile: str = typer.Option("small", "--profile", "-p", help="tiny, small, paper, or a .cfg file."),
    transformer: Optional[Path] = typer.Option(None, "--transformer", "-t", help="Local Hugging Face model directory."),
    head: str = typer.Option("token", "--head", help="token (cbio_token_ner) or transition (spaCy's ner)."),
    seed: int = typer.Option(0, "--seed", help="[system] seed."),
    overrides: Optional[List[str]] = typer.Option(None, "--set", help="Extra override section.key=value (repeatable)."),
) -> None:
    """Write a NER training config: base + head + dataset + profile (+ --set overrides)."""
    values: Dict[str, Any] = {"system.seed": seed, **parse_overrides(overrides)}
    config = assemble_config(dataset, profile, transformer, head=head, overrides=values)
    output.parent.mkdir(parents=True, exist_ok=True)
    config.to_disk(output)
    typer.echo(f"Wrote {output}")


def train(
    dataset: str = typer.Argument(..., help="Dataset name (configs/ner/datasets/) or a .cfg file."),
    transformer: Path = typer.Option(..., "--transformer", "-t", help="Local Hugging Face model directory."),
    profile: str = typer.Option("small", "--profile", "-p", help="tiny, small, paper, or a .cfg file."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output folder (default training/ner/<dataset>-<profile>-<head>-s<seed>)."),
    seed: int = typer.Option(0, "--seed", help="Random seed ([system] seed), recorded in run.json."),
    head: str = typer.Option("token", "--head", help="token (cbio_token_ner) or transition (spaCy's ner)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, -1 for CPU."),
    overrides: Optional[List[str]] = typer.Option(None, "--set", help="Extra override section.key=value (repeatable)."),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads (0: torch's default). 1 is much faster when other jobs share the cores."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Exit 0 with a message when the dataset's DocBins are absent (CAS1/CAS2 without the data)."),
) -> None:
    """Train a NER pipeline; the best checkpoint on dev is <output>/model-best.

    Writes <output>/config.cfg (the assembled config) and <output>/run.json
    (dataset, profile, head, seed, transformer, overrides, library versions).
    """
    import torch
    from spacy.cli.train import train as spacy_train

    if threads > 0:
        torch.set_num_threads(threads)
    if not transformer.is_dir():
        raise typer.BadParameter(f"{transformer}: not a local model directory", param_hint="--transformer")
    values: Dict[str, Any] = {"system.seed": seed, **parse_overrides(overrides)}
    stem = Path(dataset).stem
    output = output or Path("training") / "ner" / f"{stem}-{Path(profile).stem}-{head}-s{seed}"
    config = assemble_config(dataset, profile, transformer, head=head, overrides=values)
    missing = [str(config["paths"][split]) for split in ("train", "dev")
               if not Path(str(config["paths"][split])).exists()]
    if missing:
        message = f"{stem}: no training data ({', '.join(missing)}); run `convert` first"
        if stem in ("cas1", "cas2"):
            message += f" with --{stem}-dir (DEFT 2020 task 3 data-use agreement, https://deft.lisn.upsaclay.fr/2020/)"
        if skip_missing:
            typer.echo(f"Skipped {message}.")
            return
        typer.secho(message, fg="red", err=True)
        raise typer.Exit(1)
    output.mkdir(parents=True, exist_ok=True)
    config_path = output / "config.cfg"
    config.to_disk(config_path)
    run_info = {
        "dataset": dataset,
        "profile": profile,
        "head": head,
        "seed": seed,
        "transformer": str(transformer),
        "overrides": values,
        "gpu_id": gpu_id,
        "torch_threads": torch.get_num_threads(),
        "argv": sys.argv,
        "versions": versions(),
    }
    srsly.write_json(output / "run.json", run_info)
    spacy_train(config_path, output, use_gpu=gpu_id)
