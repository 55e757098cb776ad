"""Output writers for ``annotate``: JSONL, Parquet, BRAT standoff, spaCy DocBin, displaCy HTML.

Each writer takes one :class:`~.pipe.Result` at a time (``write``) and finishes in
``close``; only the DocBin (compact token arrays) and the HTML page (the first
``limit`` documents) keep anything per document.
"""
from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Set, Tuple

import srsly
from spacy.tokens import Doc, DocBin

from .pipe import Result

OUTPUT_FORMATS = ("jsonl", "parquet", "brat", "docbin", "html")
# One row per entity: the table a warehouse joins back on the document id.
ENTITY_COLUMNS = ("id", "start", "end", "label", "text", "score")
# Characters that end a line for Python's str.splitlines (and so for BRAT's .ann reader).
_LINE_BREAKS = re.compile(r"[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")
_UNSAFE_NAME = re.compile(r"[^\w.-]+")


class Writer:
    """Base class: ``write`` one result, ``close`` at the end (``with`` works too)."""

    def write(self, result: Result) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def result_to_dict(result: Result, include_text: bool = False) -> Dict[str, Any]:
    """The JSONL object of one annotated document; a JSONL input's other fields go in ``meta``."""
    record = result.record
    out: Dict[str, Any] = {"id": record.id}
    if include_text:
        out["text"] = record.text
    out["entities"] = result.entities
    if record.n_replaced:
        out["replaced_chars"] = record.n_replaced
    if record.meta:
        out["meta"] = record.meta
    return out


class JsonlWriter(Writer):
    """One JSON object per annotated document: ``id``, optional ``text``, ``entities``."""

    def __init__(self, output: Optional[Path], include_text: bool = False) -> None:
        self.include_text = include_text
        if output is None or str(output) == "-":
            self.file: IO[str] = sys.stdout
            self._own = False
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            self.file = output.open("w", encoding="utf8", newline="\n")
            self._own = True

    def write(self, result: Result) -> None:
        if result.error is None:
            self.file.write(srsly.json_dumps(result_to_dict(result, self.include_text)) + "\n")

    def close(self) -> None:
        if self._own:
            self.file.close()
        else:
            self.file.flush()


class ParquetWriter(Writer):
    """One row per entity (:data:`ENTITY_COLUMNS`: document id, character offsets, label, text,
    score), written in row groups of ``rows_per_group``. Documents without entities add no row;
    the run summary counts every document."""

    def __init__(self, output: Path, rows_per_group: int = 50_000) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.schema = pa.schema([("id", pa.string()), ("start", pa.int64()), ("end", pa.int64()),
                                 ("label", pa.string()), ("text", pa.string()), ("score", pa.float64())])
        output.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(output, self.schema)
        self.rows_per_group = rows_per_group
        self._rows: Dict[str, List[Any]] = {name: [] for name in ENTITY_COLUMNS}

    def write(self, result: Result) -> None:
        if result.error is not None:
            return
        for ent in result.entities:
            self._rows["id"].append(result.record.id)
            for name in ENTITY_COLUMNS[1:]:
                self._rows[name].append(ent.get(name))
        if len(self._rows["id"]) >= self.rows_per_group:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._rows["id"]:
            self._writer.write_table(pa.table(self._rows, schema=self.schema))
            self._rows = {name: [] for name in ENTITY_COLUMNS}

    def close(self) -> None:
        self._flush()
        self._writer.close()


def brat_fragments(text: str, start: int, end: int) -> List[Tuple[int, int]]:
    """BRAT fragments of ``text[start:end]``: split at line breaks, trimmed, empty ones dropped."""
    frags = []
    pos = start
    for match in list(_LINE_BREAKS.finditer(text, start, end)) + [None]:
        stop = match.start() if match is not None else end
        s, e = pos, stop
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            frags.append((s, e))
        if match is not None:
            pos = match.end()
    return frags


def brat_lines(text: str, entities: List[Dict[str, Any]]) -> List[str]:
    """``T`` lines (and ``#`` AnnotatorNotes with the score) of a ``.ann`` file."""
    lines = []
    n = 0
    for ent in entities:
        frags = brat_fragments(text, ent["start"], ent["end"])
        if not frags:
            continue
        n += 1
        offsets = ";".join(f"{s} {e}" for s, e in frags)
        covered = " ".join(text[s:e] for s, e in frags)
        lines.append(f"T{n}\t{ent['label']} {offsets}\t{covered}")
        if ent.get("score") is not None:
            lines.append(f"#{n}\tAnnotatorNotes T{n}\tscore={ent['score']:.4f}")
    return lines


class BratWriter(Writer):
    """A ``.ann`` per document: next to its ``.txt`` (no ``output``), or in ``output``
    with a copy of the (decoded) text as ``.txt``, mirroring the input's relative paths.

    Documents from JSONL or stdin need ``output``; they are named by their id (made file-safe).
    """

    def __init__(self, output: Optional[Path]) -> None:
        self.output = output
        self._names: Set[str] = set()
        if output is not None:
            output.mkdir(parents=True, exist_ok=True)

    def _stem(self, result: Result) -> Path:
        record = result.record
        if record.relpath is not None:
            rel = record.relpath.with_suffix("")
        else:
            rel = Path(_UNSAFE_NAME.sub("_", record.id).strip("._") or "doc")
        name = rel.as_posix()
        if name in self._names:
            suffix = 2
            while f"{name}-{suffix}" in self._names:
                suffix += 1
            name = f"{name}-{suffix}"
        self._names.add(name)
        return Path(name)

    def write(self, result: Result) -> None:
        if result.error is not None:
            return
        record = result.record
        lines = brat_lines(record.text, result.entities)
        content = "".join(line + "\n" for line in lines)
        if self.output is None:
            if record.relpath is None:
                raise ValueError("BRAT output for JSONL or stdin input needs --output (a folder)")
            ann = Path(record.source).with_suffix(".ann")
        else:
            stem = self.output / self._stem(result)
            stem.parent.mkdir(parents=True, exist_ok=True)
            (stem.parent / (stem.name + ".txt")).write_text(record.text, encoding="utf8", newline="")
            ann = stem.parent / (stem.name + ".ann")
        ann.write_text(content, encoding="utf8", newline="\n")


class DocBinWriter(Writer):
    """A spaCy ``DocBin`` (``.spacy``) of the annotated docs, with ``user_data["id"]`` and entity scores."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.docbin = DocBin(store_user_data=True)

    def write(self, result: Result) -> None:
        if result.error is None and result.doc is not None:
            result.doc.user_data["id"] = result.record.id
            self.docbin.add(result.doc)

    def close(self) -> None:
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.docbin.to_disk(self.output)


class HtmlWriter(Writer):
    """A displaCy ``ent`` page of the first ``limit`` annotated documents."""

    def __init__(self, output: Path, limit: int = 20) -> None:
        self.output = output
        self.limit = limit
        self.docs: List[Doc] = []

    def write(self, result: Result) -> None:
        if result.error is None and result.doc is not None and len(self.docs) < self.limit:
            result.doc.user_data["title"] = result.record.id
            self.docs.append(result.doc)

    def close(self) -> None:
        from spacy import displacy

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # W006: a document without entities is fine
            html = displacy.render(self.docs, style="ent", page=True, jupyter=False) if self.docs else (
                "<!DOCTYPE html><html><body><p>No annotated document.</p></body></html>"
            )
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.output.write_text(html, encoding="utf8")


def make_writer(fmt: str, output: Optional[Path], *, include_text: bool = False, html_limit: int = 20) -> Writer:
    """The writer for ``fmt`` (one of :data:`OUTPUT_FORMATS`)."""
    if fmt == "jsonl":
        return JsonlWriter(output, include_text=include_text)
    if fmt == "brat":
        return BratWriter(output)
    if output is None or str(output) == "-":
        raise ValueError(f"--output-format {fmt} needs --output (a file)")
    if fmt == "parquet":
        return ParquetWriter(output)
    if fmt == "docbin":
        return DocBinWriter(output)
    if fmt == "html":
        return HtmlWriter(output, limit=html_limit)
    raise ValueError(f"Unknown output format {fmt!r}; expected one of {OUTPUT_FORMATS}")


__all__ = ["Writer", "JsonlWriter", "ParquetWriter", "BratWriter", "DocBinWriter", "HtmlWriter", "make_writer",
           "result_to_dict", "brat_lines", "brat_fragments", "OUTPUT_FORMATS", "ENTITY_COLUMNS"]
