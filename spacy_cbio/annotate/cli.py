"""Command: ``annotate`` — run a NER pipeline over raw text, write entities."""
from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional

import srsly
import typer
from tqdm import tqdm

from .pipe import InputReadError, ModelLoadError, Result, add_trf_cleaner, annotate_records, load_pipeline
from .readers import INPUT_FORMATS, STDIN, check_inputs, detect_format, read_inputs
from .writers import OUTPUT_FORMATS, make_writer

MAX_LISTED_ERRORS = 1000
MAX_PRINTED_ERRORS = 20


def error_kind(message: str) -> str:
    """The category of an error message (its text before details): ``"not valid JSON"``..."""
    return message.split(" (", 1)[0].split(":", 1)[0].strip()


@dataclass
class Summary:
    """Counts of an ``annotate`` run (JSON-serializable with :meth:`to_dict`)."""

    n_docs: int = 0
    n_annotated: int = 0
    n_empty: int = 0
    n_errors: int = 0
    n_docs_replaced: int = 0
    n_chars_replaced: int = 0
    n_words: int = 0
    n_chars: int = 0
    seconds: float = 0.0
    errors_by_kind: Counter = field(default_factory=Counter)
    errors: List[Dict[str, Any]] = field(default_factory=list)
    entities_by_label: Counter = field(default_factory=Counter)

    def add(self, result: Result) -> None:
        """Count one result."""
        record = result.record
        self.n_docs += 1
        if record.n_replaced:
            self.n_docs_replaced += 1
            self.n_chars_replaced += record.n_replaced
        if result.error is not None:
            self.n_errors += 1
            self.errors_by_kind[error_kind(result.error)] += 1
            if len(self.errors) < MAX_LISTED_ERRORS:
                self.errors.append({"id": record.id, "where": record.where, "error": result.error})
            return
        self.n_annotated += 1
        self.n_chars += len(record.text)
        self.n_words += sum(1 for t in result.doc if not t.is_space) if result.doc is not None else 0
        if not record.text.strip():
            self.n_empty += 1
        self.entities_by_label.update(ent["label"] for ent in result.entities)

    def to_dict(self) -> Dict[str, Any]:
        """The summary as plain JSON data."""
        return {
            "n_docs": self.n_docs,
            "n_annotated": self.n_annotated,
            "n_empty": self.n_empty,
            "n_errors": self.n_errors,
            "errors_by_kind": dict(sorted(self.errors_by_kind.items())),
            "errors": self.errors,
            "n_docs_with_replaced_chars": self.n_docs_replaced,
            "n_replaced_chars": self.n_chars_replaced,
            "n_entities": sum(self.entities_by_label.values()),
            "entities_by_label": dict(sorted(self.entities_by_label.items())),
            "n_words": self.n_words,
            "n_chars": self.n_chars,
            "seconds": round(self.seconds, 3),
            "words_per_second": round(self.n_words / self.seconds, 1) if self.seconds > 0 else None,
        }

    def format(self) -> str:
        """A short human-readable report."""
        data = self.to_dict()
        lines = [
            f"documents: {self.n_docs} read, {self.n_annotated} annotated ({self.n_empty} empty), {self.n_errors} skipped",
        ]
        for kind, count in data["errors_by_kind"].items():
            lines.append(f"  skipped, {kind}: {count}")
        if self.n_docs_replaced:
            lines.append(
                f"invalid UTF-8: {self.n_chars_replaced} replacement characters (U+FFFD) in {self.n_docs_replaced} "
                "documents; offsets refer to the repaired text"
            )
        labels = ", ".join(f"{label} {n}" for label, n in data["entities_by_label"].items()) or "none"
        lines.append(f"entities: {data['n_entities']} ({labels})")
        wps = data["words_per_second"]
        lines.append(f"words: {self.n_words} in {data['seconds']} s ({wps if wps is not None else '-'} words/s)")
        return "\n".join(lines)


def run_annotate(
    nlp,
    inputs: Iterable[str],
    writer,
    *,
    fmt: str = "auto",
    text_field: str = "text",
    id_field: str = "id",
    batch_size: int = 16,
    n_process: int = 1,
    max_length: Optional[int] = None,
    progress: bool = True,
    stdin=None,
    on_error=None,
) -> Summary:
    """Read, annotate and write every document; RETURNS the :class:`Summary`.

    on_error: called with each failed :class:`Result` (e.g. to print it).
    """
    summary = Summary()
    records = read_inputs(inputs, fmt=fmt, text_field=text_field, id_field=id_field, stdin=stdin)
    results: Iterator[Result] = annotate_records(
        nlp, records, batch_size=batch_size, n_process=n_process, max_length=max_length
    )
    start = time.perf_counter()
    with writer:
        for result in tqdm(results, desc="annotate", unit="doc", file=sys.stderr, disable=not progress):
            summary.add(result)
            if result.error is not None and on_error is not None:
                on_error(result)
            writer.write(result)
    summary.seconds = time.perf_counter() - start
    return summary


def annotate(
    model: str = typer.Argument(..., help="Pipeline: an installed package name (e.g. fr_cbio_ner_quaero) or a pipeline folder."),
    inputs: List[str] = typer.Argument(..., help="Inputs: .txt files, folders (their .txt files, recursively; with --format jsonl or parquet, their files of that kind), .jsonl or .parquet files, or - for stdin."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output: a file (jsonl, parquet, docbin, html; jsonl default: stdout) or a folder (brat; default: .ann next to each .txt)."),
    output_format: str = typer.Option("jsonl", "--output-format", "-f", help=f"One of {', '.join(OUTPUT_FORMATS)}."),
    input_format: str = typer.Option("auto", "--format", help=f"Input format, one of {', '.join(INPUT_FORMATS)} (auto: .jsonl and .parquet files by their suffix, the rest text; stdin is text)."),
    text_field: str = typer.Option("text", "--text-field", help="JSONL field or Parquet column holding the text."),
    id_field: str = typer.Option("id", "--id-field", help="JSONL field or Parquet column holding the document id (missing: the line or row number)."),
    include_text: bool = typer.Option(False, "--include-text/--no-include-text", help="Repeat each document's text in the JSONL output."),
    batch_size: int = typer.Option(16, "--batch-size", "-b", help="Documents per nlp.pipe batch."),
    n_process: int = typer.Option(1, "--n-process", "-n", help="Worker processes (CPU)."),
    html_limit: int = typer.Option(20, "--html-limit", help="Documents shown on the HTML page."),
    max_length: Optional[int] = typer.Option(None, "--max-length", help="Longest text in characters (default: the pipeline's nlp.max_length); longer ones are skipped."),
    summary_path: Optional[Path] = typer.Option(None, "--summary", help="Also write the run summary as JSON here."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, -1 for CPU."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
) -> Dict[str, Any]:
    """Annotate raw text with a NER pipeline: JSONL, Parquet (one row per entity), BRAT, DocBin or HTML output.

    Documents that cannot be read or processed are skipped, named on stderr and
    counted in the summary; entity offsets are character offsets into the
    (UTF-8-decoded) input text.
    """
    if output_format not in OUTPUT_FORMATS:
        raise typer.BadParameter(f"{output_format!r} is not one of {', '.join(OUTPUT_FORMATS)}", param_hint="--output-format")
    if input_format not in INPUT_FORMATS:
        raise typer.BadParameter(f"{input_format!r} is not one of {', '.join(INPUT_FORMATS)}", param_hint="--format")
    try:
        check_inputs(inputs)
    except FileNotFoundError as err:
        _fail(str(err))
    if output_format == "brat" and output is None and any(
        name == STDIN or detect_format(name, input_format) in ("jsonl", "parquet") for name in inputs
    ):
        _fail("--output-format brat with JSONL, Parquet or stdin input needs --output (a folder)")
    try:
        nlp = load_pipeline(model, gpu_id=gpu_id)
    except ModelLoadError as err:
        _fail(str(err))
    add_trf_cleaner(nlp)
    try:
        writer = make_writer(output_format, output, include_text=include_text, html_limit=html_limit)
    except ValueError as err:
        _fail(str(err))
    printed = [0]

    def report_error(result: Result) -> None:
        printed[0] += 1
        if printed[0] <= MAX_PRINTED_ERRORS:
            tqdm.write(f"skipped {result.record.where} (id {result.record.id}): {result.error}", file=sys.stderr)

    try:
        summary = run_annotate(
            nlp, inputs, writer, fmt=input_format, text_field=text_field, id_field=id_field,
            batch_size=batch_size, n_process=n_process, max_length=max_length, progress=progress,
            on_error=report_error,
        )
    except InputReadError as err:
        _fail(str(err))
    if printed[0] > MAX_PRINTED_ERRORS:
        typer.echo(f"... and {printed[0] - MAX_PRINTED_ERRORS} more skipped documents", err=True)
    typer.echo(summary.format(), err=True)
    data = summary.to_dict()
    if summary_path is not None:
        summary_path.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(summary_path, data)
    return data


def _fail(message: str) -> None:
    typer.secho(f"annotate: {message}", fg="red", err=True)
    raise typer.Exit(1)
