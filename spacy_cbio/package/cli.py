"""``package``: turn a trained pipeline into an installable wheel (``spacy package``)."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import List, Optional

import typer

from ..data.datasets import DATASETS
from .meta import build_meta


def package(
    model: Path = typer.Argument(..., help="Trained pipeline directory (e.g. training/ner/small/quaero/model-best)."),
    output: Path = typer.Argument(..., help="Directory the package (sdist and wheel) is written to."),
    dataset: str = typer.Option(..., "--dataset", help=f"Dataset the pipeline was trained on ({', '.join(DATASETS)}): licence, labels and description in the package meta."),
    name: Optional[str] = typer.Option(None, "--name", help="Package name without the language prefix (default: cbio_ner_<dataset>)."),
    metrics: Optional[Path] = typer.Option(None, "--metrics", help="Test metrics JSON written by `evaluate`; goes into meta performance."),
    base_model: Optional[str] = typer.Option(None, "--base-model", help="Transformer the pipeline was fine-tuned from (recorded in meta)."),
    version: Optional[str] = typer.Option(None, "--version", help="Package version (default: spacy-cbio's version)."),
    force: bool = typer.Option(True, "--force/--no-force", help="Overwrite an existing package directory."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Exit 0 with a message when the pipeline folder is absent (e.g. CAS1/CAS2 without the data)."),
) -> None:
    """Package a trained NER pipeline as ``fr_<name>`` (sdist + wheel).

    The transformer weights travel inside the package; the metadata lists the labels, the
    test scores (seqeval strict, IOB2), the training data and its licence and the base model.
    """
    from spacy.cli.package import package as spacy_package

    from ..about import __version__

    if skip_missing and not model.exists():
        typer.echo(f"Skipped packaging {model}: not there (nothing trained for it).")
        return
    if not (model / "meta.json").exists():
        typer.secho(f"{model} is not a trained spaCy pipeline (no meta.json). Run `train` first.", fg="red", err=True)
        raise typer.Exit(1)
    name = name or f"cbio_ner_{dataset}"
    try:
        meta = build_meta(
            model,
            dataset=dataset,
            name=name,
            version=version or __version__,
            metrics_path=metrics,
            base_model=base_model,
        )
    except ValueError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        meta_path = Path(tmp) / "meta.json"
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf8")
        spacy_package(
            model,
            output,
            meta_path=meta_path,
            name=name,
            version=meta["version"],
            create_sdist=True,
            create_wheel=True,
            force=force,
            silent=False,
        )
    wheels: List[Path] = sorted(output.glob(f"fr_{name}-{meta['version']}/dist/*.whl"))
    if not wheels:
        typer.secho("spacy package produced no wheel", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"Wheel: {wheels[-1]}")
