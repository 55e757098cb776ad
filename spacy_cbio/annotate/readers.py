"""Input readers for ``annotate``: ``.txt`` files, folders of them, JSONL, Parquet, stdin.

Each reader is a generator of :class:`Record` (one document) and never holds more
than one file or line. Problems that concern one document (invalid JSON, a missing
text field, an unreadable file) come out as a :class:`Record` whose ``error`` says
what is wrong, so that the run goes on and the problem is counted.

Text is decoded as UTF-8 with invalid bytes replaced by U+FFFD (counted in
``Record.n_replaced``); the offsets of the entities always refer to that decoded
text, which is what the writers write out. Line endings are kept as they are
(``\\r\\n`` stays two characters), so offsets also match the original ``.txt``.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, List, Optional, Tuple

import srsly

INPUT_FORMATS = ("auto", "txt", "jsonl", "parquet")
PARQUET_BATCH_ROWS = 1024
STDIN = "-"
_UTF8_REPLACEMENT = "\ufffd".encode("utf8")


@dataclass
class Record:
    """One input document, or the reason why it could not be read (``error``)."""

    id: str
    text: str = ""
    source: str = ""
    line: Optional[int] = None
    n_replaced: int = 0
    error: Optional[str] = None
    meta: Optional[dict] = None
    relpath: Optional[Path] = None

    @property
    def where(self) -> str:
        """The document's location for messages: ``file:line`` or ``file``."""
        return f"{self.source}:{self.line}" if self.line is not None else self.source


def decode_utf8(data: bytes) -> Tuple[str, int]:
    """Decode UTF-8, replacing invalid bytes with U+FFFD. RETURNS (text, number of replacements)."""
    try:
        return data.decode("utf8"), 0
    except UnicodeDecodeError:
        text = data.decode("utf8", errors="replace")
        return text, text.count("\ufffd") - data.count(_UTF8_REPLACEMENT)


def replace_surrogates(text: str) -> Tuple[str, int]:
    """Replace lone surrogates (JSON ``"\\ud800"`` escapes; not encodable as UTF-8) with U+FFFD."""
    try:
        text.encode("utf8")
        return text, 0
    except UnicodeEncodeError:
        chars = ["\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text]
        return "".join(chars), sum(1 for c in text if 0xD800 <= ord(c) <= 0xDFFF)


def detect_format(path: str, fmt: str = "auto") -> str:
    """``txt``, ``jsonl`` or ``parquet`` for one input (``auto``: by the ``.jsonl`` or ``.parquet``
    suffix; stdin is text)."""
    if fmt not in INPUT_FORMATS:
        raise ValueError(f"Unknown input format {fmt!r}; expected one of {INPUT_FORMATS}")
    if fmt != "auto":
        return fmt
    suffix = Path(path).suffix.lower() if path != STDIN else ""
    return {".jsonl": "jsonl", ".parquet": "parquet"}.get(suffix, "txt")


def list_text_files(folder: Path, pattern: str = "*.txt") -> List[Path]:
    """The ``.txt`` files under ``folder``, recursively, sorted by relative path."""
    return sorted((p for p in folder.rglob(pattern) if p.is_file()), key=lambda p: p.relative_to(folder).as_posix())


def read_text_file(path: Path, relpath: Optional[Path] = None) -> Record:
    """One ``.txt`` file as one document; its id is the relative path without suffix."""
    relpath = relpath if relpath is not None else Path(path.name)
    doc_id = relpath.with_suffix("").as_posix()
    try:
        data = path.read_bytes()
    except OSError as err:
        return Record(id=doc_id, source=str(path), relpath=relpath, error=f"cannot read file: {err.strerror or err}")
    text, n_replaced = decode_utf8(data)
    return Record(id=doc_id, text=text, source=str(path), n_replaced=n_replaced, relpath=relpath)


def read_jsonl_lines(
    lines: Iterable[bytes], source: str, *, text_field: str = "text", id_field: str = "id"
) -> Iterator[Record]:
    """One document per JSON line; a missing id becomes the line number (1-based).

    Blank lines are ignored; a line that is not a JSON object, or whose text field is
    missing or not a string, yields a Record with ``error`` set.
    """
    for line_no, raw in enumerate(lines, 1):
        line, n_replaced = decode_utf8(raw)
        if not line.strip():
            continue
        fallback_id = str(line_no)
        try:
            obj = srsly.json_loads(line)
        except ValueError as err:
            yield Record(id=fallback_id, source=source, line=line_no, error=f"not valid JSON ({err})")
            continue
        if not isinstance(obj, dict):
            yield Record(id=fallback_id, source=source, line=line_no, error=f"not a JSON object ({type(obj).__name__})")
            continue
        raw_id = obj.get(id_field)
        doc_id = fallback_id if raw_id is None or raw_id == "" else str(raw_id)
        text = obj.get(text_field)
        if text is None:
            yield Record(id=doc_id, source=source, line=line_no, error=f"no {text_field!r} field")
            continue
        if not isinstance(text, str):
            yield Record(id=doc_id, source=source, line=line_no,
                         error=f"field {text_field!r} is a {type(text).__name__}, not a string")
            continue
        text, n_surrogates = replace_surrogates(text)
        meta = {k: v for k, v in obj.items() if k not in (text_field, id_field)}
        yield Record(id=doc_id, text=text, source=source, line=line_no, n_replaced=n_replaced + n_surrogates,
                     meta=meta or None)


def read_parquet(path: Path, *, text_field: str = "text", id_field: str = "id",
                 batch_rows: int = PARQUET_BATCH_ROWS) -> Iterator[Record]:
    """One document per row of a Parquet file, read ``batch_rows`` rows at a time (only the text
    and id columns). The text column holds strings or bytes, decoded as UTF-8 with invalid bytes
    replaced and counted. A missing id becomes the row number (1-based); a null text gives a
    Record with ``error`` set. A file that is not Parquet, or has no ``text_field`` column of
    strings, raises ``ValueError`` naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as err:
        raise ValueError(f"{path}: not a readable Parquet file ({err})") from None
    schema = parquet.schema_arrow
    if text_field not in schema.names:
        raise ValueError(f"{path}: no column {text_field!r} (columns: {', '.join(schema.names)}); set --text-field")
    text_type = schema.field(text_field).type
    if not any(check(text_type) for check in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary,
                                               pa.types.is_large_binary)):
        raise ValueError(f"{path}: column {text_field!r} holds {text_type}, not strings")
    columns = [text_field] + ([id_field] if id_field in schema.names and id_field != text_field else [])
    row = 0
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
        # as bytes, decoded here: invalid UTF-8 (or a binary column) is repaired and counted, not fatal
        texts = batch.column(text_field).cast(pa.large_binary()).to_pylist()
        ids = batch.column(id_field).to_pylist() if len(columns) > 1 else [None] * len(texts)
        for text, raw_id in zip(texts, ids):
            row += 1
            doc_id = str(row) if raw_id is None or raw_id == "" else str(raw_id)
            if text is None:
                yield Record(id=doc_id, source=str(path), line=row, error=f"null {text_field!r}")
                continue
            text, n_replaced = decode_utf8(text)
            yield Record(id=doc_id, text=text, source=str(path), line=row, n_replaced=n_replaced)


def _binary_lines(stream: BinaryIO) -> Iterator[bytes]:
    for line in stream:
        yield line


def read_inputs(
    inputs: Iterable[str],
    *,
    fmt: str = "auto",
    text_field: str = "text",
    id_field: str = "id",
    stdin: Optional[BinaryIO] = None,
) -> Iterator[Record]:
    """Documents from each input in turn: a ``.txt`` file, a folder (its ``.txt`` files,
    recursively, sorted; with ``fmt`` jsonl or parquet, its files of that kind), a ``.jsonl`` or
    ``.parquet`` file, or ``-`` (stdin: one text, or JSONL with ``fmt="jsonl"``).

    A missing input path raises ``FileNotFoundError`` before anything is read
    (see :func:`check_inputs`).
    """
    inputs = list(inputs)
    check_inputs(inputs)
    for name in inputs:
        kind = detect_format(name, fmt)
        if name == STDIN:
            stream = stdin if stdin is not None else sys.stdin.buffer
            if kind == "jsonl":
                yield from read_jsonl_lines(_binary_lines(stream), "<stdin>", text_field=text_field, id_field=id_field)
            else:
                text, n_replaced = decode_utf8(stream.read())
                yield Record(id="stdin", text=text, source="<stdin>", n_replaced=n_replaced)
            continue
        path = Path(name)
        if path.is_dir():
            if fmt == "jsonl":
                for sub in sorted(path.rglob("*.jsonl")):
                    with sub.open("rb") as stream:
                        yield from read_jsonl_lines(stream, str(sub), text_field=text_field, id_field=id_field)
            elif fmt == "parquet":  # a warehouse export: a folder of part files
                for sub in sorted(path.rglob("*.parquet")):
                    yield from read_parquet(sub, text_field=text_field, id_field=id_field)
            else:
                for sub in list_text_files(path):
                    yield read_text_file(sub, sub.relative_to(path))
        elif kind == "jsonl":
            with path.open("rb") as stream:
                yield from read_jsonl_lines(stream, str(path), text_field=text_field, id_field=id_field)
        elif kind == "parquet":
            yield from read_parquet(path, text_field=text_field, id_field=id_field)
        else:
            yield read_text_file(path)


def check_inputs(inputs: Iterable[str]) -> None:
    """Raise ``FileNotFoundError`` naming the first input path that does not exist."""
    for name in inputs:
        if name != STDIN and not Path(name).exists():
            raise FileNotFoundError(f"input not found: {name}")


__all__ = ["Record", "read_inputs", "read_jsonl_lines", "read_parquet", "read_text_file", "decode_utf8", "detect_format",
           "list_text_files", "check_inputs", "INPUT_FORMATS", "STDIN"]
