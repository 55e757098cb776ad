"""Data commands: ``assets`` (link a local data mirror) and ``convert`` (corpora -> DocBins)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer

from .errors import DataError

MIRROR_FOLDERS = ("e3c", "quaero", "mantra_gsc", "eltec_fra", "wmt_biomed_fr", "ud_french_sequoia")


def assets(
    mirror: Optional[str] = typer.Option(
        None, "--mirror", help="Local data mirror root (default: $CBIO_DATA_MIRROR; empty: download "
        "the upstream sources with `spacy project assets`).", show_default=False),
    dest: Path = typer.Option(Path("assets"), "--dest", help="Assets folder to fill with symlinks."),
) -> None:
    """Link the corpora of a local data mirror into assets/ (assets/e3c -> MIRROR/e3c, ...).

    Without a mirror, fetch the upstream sources with `python -m spacy project assets`.
    """
    if not mirror and os.environ.get("CBIO_DATA_MIRROR"):
        mirror = os.environ["CBIO_DATA_MIRROR"]
    if not mirror:
        typer.echo("No mirror given (--mirror or $CBIO_DATA_MIRROR): fetching the upstream sources "
                   "listed in project.yml with `python -m spacy project assets`.")
        from .fetch import fetch_upstream_assets

        if not fetch_upstream_assets(dest):
            typer.echo(f"{dest}/ is empty: no data to work with.", err=True)
            raise typer.Exit(1)
        return
    mirror = Path(mirror).resolve()
    if not mirror.is_dir():
        typer.echo(f"Mirror {mirror} is not a directory.", err=True)
        raise typer.Exit(1)
    dest.mkdir(parents=True, exist_ok=True)
    linked = 0
    for name in MIRROR_FOLDERS:
        src, link = mirror / name, dest / name
        if not src.is_dir():
            typer.echo(f"missing  {name}: {src} not found")
            continue
        if link.is_symlink() or link.exists():
            if link.is_symlink() and link.resolve() == src:
                typer.echo(f"ok       {name}: {link} -> {src} (already linked)")
                linked += 1
                continue
            if not link.is_symlink():
                typer.echo(f"kept     {name}: {link} exists and is not a symlink")
                continue
            link.unlink()
        link.symlink_to(src, target_is_directory=True)
        typer.echo(f"linked   {name}: {link} -> {src}")
        linked += 1
    typer.echo(f"{linked}/{len(MIRROR_FOLDERS)} corpora available under {dest}/")
    if linked == 0:
        raise typer.Exit(1)


def convert(
    mirror: Path = typer.Option(Path("assets"), "--mirror", help="Data root (holds e3c/, quaero/, mantra_gsc/)."),
    output: Path = typer.Option(Path("corpus/ner"), "--output", help="Output folder for <dataset>/<split>.spacy."),
    dataset: Optional[List[str]] = typer.Option(
        None, "--dataset", help="Dataset to convert (repeatable): e3c, emea, medline, quaero, mantra, "
        "cas1, cas2. Default: every dataset present.", show_default=False),
    protocol: str = typer.Option("paper", "--protocol", help="E3C protocol: paper (train layer 2, test "
                                 "layer 1) or official (layer-1 train/test split)."),
    cas1_dir: Optional[str] = typer.Option(None, "--cas1-dir", help="DEFT 2020 CAS1 BRAT folder.",
                                            show_default=False),
    cas2_dir: Optional[str] = typer.Option(None, "--cas2-dir", help="DEFT 2020 CAS2 BRAT folder.",
                                            show_default=False),
    seed: int = typer.Option(0, "--seed", help="Seed of the held-out dev/test document splits."),
    lenient: bool = typer.Option(False, "--lenient", help="Skip (and count) bad annotation lines "
                                 "instead of stopping."),
    user: Optional[List[str]] = typer.Option(
        None, "--user", help="Your own corpus as NAME=PATH (repeatable): a BRAT folder (with train/dev/test "
        "subfolders, or flat: seeded 80/10/10 split), train/dev/test.jsonl, or one .jsonl file, in Prodigy "
        "(spans) or doccano (label) form. Converts only these (and the --dataset ones).", show_default=False),
) -> None:
    """Convert the NER corpora to <output>/<dataset>/{train,dev,test}.spacy plus report.json/report.md.

    Flat entities (doc.ents) follow the documented nested/discontinuous policy; every
    source entity is kept in doc.spans["gold_all"]. Every repair and drop is counted.
    A corpus of your own (--user NAME=PATH) goes through the same steps; its labels are
    those its files use, found and reported.
    """
    from .convert import convert_all

    if protocol not in ("paper", "official"):
        raise typer.BadParameter("use 'paper' or 'official'", param_hint="--protocol")
    user_data = {}
    for item in user or ():
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise typer.BadParameter(f"{item!r}: use NAME=PATH (e.g. mine=data/my_brat)", param_hint="--user")
        user_data[name] = Path(path)
    try:
        report = convert_all(mirror, output, dataset or (), protocol=protocol, seed=seed,
                             lenient=lenient, cas_dirs={"cas1": Path(cas1_dir) if cas1_dir else None,
                                                 "cas2": Path(cas2_dir) if cas2_dir else None},
                             user_data=user_data)
    except (DataError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1)
    converted = [n for n, d in report["datasets"].items() if d.get("status") == "converted"]
    if not converted:
        typer.echo(f"No dataset found under {mirror}: run `python -m spacy_cbio assets` first.", err=True)
        raise typer.Exit(1)
    typer.echo(f"Wrote {', '.join(converted)} to {output}/ ({report['seconds']} s); "
               f"report: {output}/report.md")
