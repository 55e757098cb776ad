"""Command: ``vectors`` (floret vectors on the biomedical and general corpora)."""
from __future__ import annotations

from pathlib import Path

import typer


def vectors(
    config: Path = typer.Argument(..., help="Vectors profile (configs/vectors/*.cfg): [vectors] floret settings.", exists=True, dir_okay=False),
    bio_corpus: Path = typer.Argument(..., help="Biomedical corpus dir (dataset/ from corpus_scripts.build_corpus).", exists=True),
    general_corpus: Path = typer.Argument(..., help="General-French corpus dir, the domain control.", exists=True),
    output: Path = typer.Argument(..., help="Output dir: bio/, general/, both/ (spaCy vectors), vectors.json, README.md."),
) -> None:
    """Train floret vectors on the biomedical and the general corpus, on equal word counts.

    Tokenizes with spaCy's French tokenizer, trains floret (mode floret: subword
    hashing covers unseen drug and disease names), converts with spaCy
    (`spacy init vectors --mode floret`) and records sizes, times and the
    nearest neighbours of a few medical words. Use a directory as
    `[paths] vectors` of a NER config.
    """
    from .stage import run_vectors

    try:
        run_vectors(config, bio_corpus, general_corpus, output)
    except (ValueError, FileNotFoundError) as err:
        typer.secho(f"ERROR: {err}", fg="red", err=True)
        raise typer.Exit(1)
