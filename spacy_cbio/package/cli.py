"""``package``: turn a trained pipeline into an installable wheel (``spacy package``)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

import typer

from ..data.datasets import DATASETS
from .card import model_card
from .code_wheel import CodeWheelError, build_code_wheel, copy_code_wheel, find_source_root, has_setuptools
from .meta import build_meta


def package(
    model: Path = typer.Argument(..., help="Trained pipeline directory (e.g. training/ner/small/quaero/model-best)."),
    output: Path = typer.Argument(..., help="Directory the package is written to: fr_<name>-<version>/ (sources, sdist, wheel), and a copy of its wheel next to the spacy_cbio wheel, for pip install --find-links <output>."),
    dataset: str = typer.Option(..., "--dataset", help=f"Dataset the pipeline was trained on ({', '.join(DATASETS)}, or the NAME of your own corpus from convert --user): licence, labels and description in the package meta."),
    licence: Optional[str] = typer.Option(None, "--licence", help="Licence of your own corpus's data, for the package meta and card (built-in datasets have theirs)."),
    name: Optional[str] = typer.Option(None, "--name", help="Package name without the language prefix (default: cbio_ner_<dataset>)."),
    metrics: Optional[Path] = typer.Option(None, "--metrics", help="Test metrics JSON written by `evaluate`; goes into meta performance."),
    base_model: Optional[str] = typer.Option(None, "--base-model", help="Transformer the pipeline was fine-tuned from (recorded in meta)."),
    version: Optional[str] = typer.Option(None, "--version", help="Package version (default: spacy-cbio's version)."),
    force: bool = typer.Option(True, "--force/--no-force", help="Overwrite an existing package directory."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Exit 0 with a message when the pipeline folder is absent (e.g. CAS1/CAS2 without the data)."),
    code_wheel: str = typer.Option("build", "--code-wheel", help="The spacy_cbio wheel the model requires, written to OUTPUT: 'build' (from the source tree spacy_cbio is installed from), a path to an existing spacy_cbio-*.whl, or 'none' to skip."),
    int8: bool = typer.Option(False, "--int8", help="Package the int8 variant, fr_<name>_int8: the transformer's linear layers quantized to int8 when the pipeline first runs (CPU only; the weights stay fp32 on disk)."),
    measure: bool = typer.Option(True, "--measure/--no-measure", help="Measure words/s (1 and 2 threads), peak RSS, load time and size on this machine, for the meta and the model card (about half a minute)."),
    measure_data: Optional[Path] = typer.Option(None, "--measure-data", help="DocBin whose texts the speed is measured on (default: the test set named in --metrics, else the card's usage sentence)."),
) -> None:
    """Package a trained NER pipeline as ``fr_<name>`` (sdist + wheel).

    The transformer weights travel inside the package; the metadata lists the labels, the
    test scores (seqeval strict, IOB2), the training data and its licence and the base model;
    the README.md is the model card (:mod:`spacy_cbio.package.card`). The spacy_cbio wheel
    (the package's ``cbio_token_ner`` code; on no index) is written to OUTPUT as well, so
    that ``pip install --find-links OUTPUT fr_<name>`` installs everything.
    """
    from ..about import __version__

    if skip_missing and not model.exists():
        typer.echo(f"Skipped packaging {model}: not there (nothing trained for it).")
        return
    if not (model / "meta.json").exists():
        typer.secho(f"{model} is not a trained spaCy pipeline (no meta.json). Run `train` first.", fg="red", err=True)
        raise typer.Exit(1)
    name = name or f"cbio_ner_{dataset}"
    tmp = None
    if int8:
        tmp = tempfile.TemporaryDirectory()
        model = int8_pipeline(model, Path(tmp.name) / "model")
        name = f"{name}_int8"
    try:
        meta = build_meta(
            model,
            dataset=dataset,
            name=name,
            version=version or __version__,
            metrics_path=metrics,
            base_model=base_model,
            licence=licence,
        )
    except ValueError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    if measure:
        from .card import USAGE_TEXT
        from .measure import measure_inference, measurement_texts

        data = measure_data or _metrics_data(metrics)
        texts = measurement_texts(data, USAGE_TEXT)
        typer.echo(f"Measuring {model} ({len(texts['texts'])} texts from {texts['source']}; 1 and 2 threads)...")
        try:
            meta["spacy_cbio"]["inference"] = measure_inference(model, texts)
        except RuntimeError as err:
            typer.secho(str(err), fg="red", err=True)
            raise typer.Exit(1)
        record = meta["spacy_cbio"]["inference"]
        typer.echo(f"  words/s: {record['words_per_s']}, peak RSS {record['peak_rss_mib']} MiB, "
                   f"load {record['load_s']} s, {record['size_mb']} MB")
    if code_wheel not in ("build", "none") and not Path(code_wheel).is_file():
        typer.secho(f"--code-wheel {code_wheel}: no such file (use build, none or a spacy_cbio-*.whl)", fg="red", err=True)
        raise typer.Exit(1)
    try:
        source_root = find_source_root() if code_wheel == "build" else None  # fail before the slow part
    except CodeWheelError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    output.mkdir(parents=True, exist_ok=True)
    wheel = build_package(model, output, meta, force=force)
    flat = output / wheel.name  # next to the spacy_cbio wheel, for pip install --find-links OUTPUT
    if flat.exists():
        flat.unlink()
    try:
        os.link(wheel, flat)  # the weights are large: a hard link where the file system allows
    except OSError:
        shutil.copy2(wheel, flat)
    typer.echo(f"Model wheel: {flat}")
    try:
        if code_wheel == "build":
            code = build_code_wheel(output, source_root)
        elif code_wheel != "none":
            code = copy_code_wheel(Path(code_wheel), output)
        else:
            code = None
    except CodeWheelError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    if code is None:  # --code-wheel none: a wheel another call put there serves as well
        code = next(iter(sorted(output.glob("spacy_cbio-*.whl"))), None)
    if code is not None:
        typer.echo(f"spacy-cbio wheel: {code}")
        typer.echo(f"Install with:\n  pip install --find-links {output} {package_name(meta)}")
    else:
        typer.echo(f"No spacy_cbio wheel written: install spacy-cbio>={__version__} first, then\n"
                   f"  pip install --find-links {output} {package_name(meta)}")


def int8_pipeline(model: Path, output: Path) -> Path:
    """A copy of the pipeline ``model`` whose first component, ``cbio_quantize_int8``, quantizes its
    transformer to int8 when it first runs; its ``run.json`` (training record) beside it."""
    import spacy

    nlp = spacy.load(model)
    if "transformer" not in nlp.pipe_names:
        typer.secho(f"--int8: {model} has no transformer to quantize", fg="red", err=True)
        raise typer.Exit(1)
    nlp.add_pipe("cbio_quantize_int8", first=True)
    nlp.to_disk(output)
    for record in (model.parent / "run.json", model / "run.json"):
        if record.is_file():
            shutil.copy2(record, output.parent / "run.json")
    return output


def _metrics_data(metrics: Optional[Path]) -> Optional[Path]:
    """The DocBin named in an ``evaluate`` metrics file (``data``), when it exists."""
    if metrics is None or not metrics.is_file():
        return None
    data = json.loads(metrics.read_text(encoding="utf8")).get("data")
    return Path(data) if data and Path(data).is_file() else None


def package_name(meta: Dict[str, Any]) -> str:
    """``fr_<name>`` as spaCy names the package."""
    name = meta["name"]
    return name if name.startswith(f"{meta['lang']}_") else f"{meta['lang']}_{name}"


def build_package(model: Path, output: Path, meta: Dict[str, Any], force: bool = True) -> Path:
    """``spacy package`` with the model card as README.md: spaCy writes the package folder
    ``OUTPUT/fr_<name>-<version>``, the card goes in (replacing spaCy's generated README and
    any stale one), then ``python -m build`` makes the sdist and wheel. RETURNS the wheel."""
    from spacy.cli.package import package as spacy_package

    with tempfile.TemporaryDirectory() as tmp:
        meta_path = Path(tmp) / "meta.json"
        meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf8")
        spacy_package(model, output, meta_path=meta_path, name=meta["name"], version=meta["version"],
                      create_sdist=False, create_wheel=False, force=force, silent=False)
    name = package_name(meta)
    main_path = output / f"{name}-{meta['version']}"
    # spaCy's final meta: its requirements include the third-party packages (spacy-transformers)
    final = json.loads((main_path / "meta.json").read_text(encoding="utf8"))
    card = model_card(final, find_links=output.as_posix())
    for readme in (main_path / "README.md", main_path / name / f"{name}-{meta['version']}" / "README.md"):
        readme.write_text(card, encoding="utf8")
    dist = main_path / "dist"
    for old in dist.glob("*"):  # spaCy keeps dist/ across --force runs
        old.unlink()
    cmd = [sys.executable, "-m", "build", ".", "--sdist", "--wheel"]
    result = None
    if has_setuptools():  # offline, with this environment's setuptools
        result = subprocess.run([*cmd, "--no-isolation"], cwd=main_path, capture_output=True, text=True)
    if result is None or result.returncode != 0:  # e.g. an old setuptools: as spaCy does, isolated
        result = subprocess.run(cmd, cwd=main_path, capture_output=True, text=True)
    wheel = dist / f"{re.sub('_+', '_', name)}-{meta['version']}-py3-none-any.whl"
    if result.returncode != 0 or not wheel.is_file():
        typer.secho(f"building {main_path} failed ({' '.join(cmd)}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}",
                    fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"Model card: {main_path / 'README.md'} (replaces spaCy's generated README)")
    typer.echo(f"Built {', '.join(p.name for p in sorted(dist.iterdir()))} in {dist}")
    return wheel

