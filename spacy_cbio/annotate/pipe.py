"""Loading a pipeline for ``annotate`` and streaming documents through it.

:func:`annotate_records` is a generator: one :class:`Result` per input record, in
input order, holding only the documents in flight. A document that cannot be
processed (too long, a component error...) gives a Result with ``error`` set and
the run goes on: a batch that fails is retried one document at a time, so only the
bad documents are lost. The transformer output (``doc._.trf_data``) is dropped by a
``doc_cleaner`` component added at the end of the pipeline, in the worker that
made it, so no per-document tensor is kept or sent between processes.

Entity ``score``: ``span._.score`` when the NER component sets it (``cbio_token_ner``:
the mean, or min with ``score_method = "min"``, of the probabilities of the
decoded IOB2 tags of the entity's tokens), else ``None``.
"""
from __future__ import annotations

import contextlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Tuple

import srsly
from spacy.language import Language
from spacy.tokens import Doc, Span

from .readers import Record

CLEANER_NAME = "cbio_annotate_cleaner"
SCORE_DIGITS = 6


class ModelLoadError(Exception):
    """A pipeline that cannot be loaded; the message names the path and what is wrong."""


@dataclass
class Result:
    """The outcome for one record: its doc and entities, or an ``error``."""

    record: Record
    doc: Optional[Doc] = None
    entities: List[Dict[str, Any]] = field(default_factory=list)
    error: Optional[str] = None


# -- loading -------------------------------------------------------------------
def _looks_like_path(model: str) -> bool:
    return Path(model).exists() or any(sep in model for sep in ("/", "\\")) or model.startswith(".")


def check_pipeline_dir(path: Path) -> None:
    """Raise :class:`ModelLoadError` when ``path`` is clearly not a loadable pipeline folder."""
    if not path.exists():
        raise ModelLoadError(f"{path}: no such model directory")
    if not path.is_dir():
        raise ModelLoadError(f"{path}: not a directory (expected a spaCy pipeline folder or package name)")
    for name in ("config.cfg", "meta.json"):
        if not (path / name).is_file():
            raise ModelLoadError(f"{path}: missing {name} (not a complete spaCy pipeline folder)")
    try:
        srsly.read_json(path / "meta.json")
    except ValueError as err:
        raise ModelLoadError(f"{path / 'meta.json'}: not valid JSON ({err})") from None
    from spacy import util

    try:
        config = util.load_config(path / "config.cfg", interpolate=False)
        pipeline = list(config["nlp"]["pipeline"])
    except Exception as err:  # noqa: BLE001 - any parse error is reported the same way
        raise ModelLoadError(f"{path / 'config.cfg'}: unreadable config ({_first_line(err)})") from None
    for name in pipeline:
        component = path / name
        if component.is_dir() and not any(component.iterdir()):
            raise ModelLoadError(f"{path}: component folder {name}/ is empty (truncated copy?)")
    for file in sorted(path.rglob("*")):
        if file.is_file() and file.stat().st_size == 0 and file.name not in ("key2row", "vectors"):
            raise ModelLoadError(f"{path}: {file.relative_to(path).as_posix()} is empty (truncated copy?)")


def _first_line(err: BaseException, limit: int = 200) -> str:
    text = str(err).strip().splitlines()
    msg = text[0] if text else ""
    msg = msg[:limit] + ("..." if len(msg) > limit else "")
    return f"{type(err).__name__}: {msg}" if msg else type(err).__name__


def _path_in_traceback(err: BaseException, root: Path) -> Optional[str]:
    """The deepest file or folder under ``root`` that a frame of the traceback was reading."""
    root = root.resolve()
    found = None
    tb = err.__traceback__
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            if isinstance(value, (str, Path)) and not isinstance(value, bool):
                try:
                    candidate = Path(value).resolve()
                except (OSError, ValueError):
                    continue
                if candidate != root and root in candidate.parents:
                    found = candidate.relative_to(root).as_posix()
        tb = tb.tb_next
    return found


def load_pipeline(model: str, *, gpu_id: int = -1, exclude: Iterable[str] = ()) -> Language:
    """``spacy.load`` a package name or pipeline folder; errors become one-line :class:`ModelLoadError`."""
    import spacy

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    is_path = _looks_like_path(model)
    if is_path:
        check_pipeline_dir(Path(model))
    try:
        return spacy.load(model, exclude=list(exclude))
    except FileNotFoundError as err:
        missing = err.filename or (_path_in_traceback(err, Path(model)) if is_path else None) or "a file"
        if is_path and Path(missing).is_absolute() and Path(model).resolve() in Path(missing).resolve().parents:
            missing = Path(missing).resolve().relative_to(Path(model).resolve()).as_posix()
        raise ModelLoadError(f"{model}: missing {missing} (incomplete pipeline folder?)") from None
    except Exception as err:  # noqa: BLE001 - deep torch/msgpack errors become one line
        if not is_path:
            raise ModelLoadError(f"cannot load model {model!r}: {_first_line(err)}") from None
        where = _path_in_traceback(err, Path(model))
        part = f" while reading {where}" if where else ""
        raise ModelLoadError(
            f"{model}: cannot load the pipeline{part}; the folder may be truncated or corrupt ({_first_line(err)})"
        ) from None


def ends_with_trf_cleaner(nlp: Language) -> bool:
    """Whether the last enabled component is a ``doc_cleaner`` that drops ``doc._.trf_data``."""
    if not nlp.pipe_names:
        return False
    config = nlp.get_pipe_config(nlp.pipe_names[-1])
    return config.get("factory") == "doc_cleaner" and "_.trf_data" in (config.get("attrs") or {})


def add_trf_cleaner(nlp: Language) -> bool:
    """Add a ``doc_cleaner`` that drops ``doc._.trf_data`` (and ``doc.tensor``) at the end of the pipeline.

    RETURNS whether one was added: not without ``Doc._.trf_data``, nor when the pipeline already
    ends with such a cleaner (pipelines trained from base.cfg have one, ``trf_cleaner``).
    """
    if CLEANER_NAME in nlp.pipe_names or not Doc.has_extension("trf_data") or ends_with_trf_cleaner(nlp):
        return False
    nlp.add_pipe("doc_cleaner", name=CLEANER_NAME, last=True, config={"attrs": {"_.trf_data": None, "tensor": None}})
    return True


# -- entities ------------------------------------------------------------------
def doc_entities(doc: Doc, text: str) -> List[Dict[str, Any]]:
    """``{start, end, label, text, score}`` per ``doc.ents``, character offsets into ``text``.

    Entity edges are trimmed of whitespace (a whitespace token tagged at an entity's
    edge); an entity of whitespace only is dropped. ``score`` is ``span._.score`` or ``None``.
    """
    has_score = Span.has_extension("score")
    out = []
    for ent in doc.ents:
        start, end = ent.start_char, ent.end_char
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start >= end:
            continue
        score = ent._.score if has_score else None
        out.append(
            {
                "start": start,
                "end": end,
                "label": ent.label_,
                "text": text[start:end],
                "score": None if score is None else round(float(score), SCORE_DIGITS),
            }
        )
    return out


# -- streaming -----------------------------------------------------------------
class _ErrorHandler:
    """Component error handler: swallow batch errors (the docs are retried one by one) or raise."""

    def __init__(self) -> None:
        self.strict = False

    def __call__(self, proc_name: str, proc: Any, docs: List[Doc], err: Exception) -> None:
        if self.strict:
            raise err


@contextlib.contextmanager
def _error_handler(nlp: Language, handler: Callable) -> Iterator[None]:
    previous = [(proc, proc.get_error_handler()) for _, proc in nlp.pipeline if hasattr(proc, "get_error_handler")]
    previous_default = nlp.default_error_handler
    nlp.set_error_handler(handler)
    try:
        yield
    finally:
        nlp.default_error_handler = previous_default
        for proc, old in previous:
            proc.set_error_handler(old)


class InputReadError(RuntimeError):
    """The input could not be read to its end (the documents read before were processed)."""


def annotate_records(
    nlp: Language,
    records: Iterable[Record],
    *,
    batch_size: int = 16,
    n_process: int = 1,
    max_length: Optional[int] = None,
) -> Iterator[Result]:
    """Run ``nlp`` over ``records``; one :class:`Result` per record, in input order.

    Records that already carry an ``error`` (unreadable input) are passed through.
    max_length: longest text in characters (default ``nlp.max_length``); longer ones are errors.
    """
    max_length = nlp.max_length if max_length is None else max_length
    pending: Deque[Tuple[int, Record, Optional[str]]] = deque()
    handler = _ErrorHandler()

    pulled = [0]
    read_error: List[BaseException] = []

    def next_records() -> Iterator[Tuple[int, Record]]:
        """The input records; an error while reading them (not a bad document: the reader
        itself failing, e.g. an I/O error) ends the input and is raised once all that was
        read has been annotated and yielded."""
        iterator = iter(records)
        index = 0
        while True:
            try:
                record = next(iterator)
            except StopIteration:
                return
            except Exception as err:  # noqa: BLE001 - kept, raised after the flush below
                read_error.append(err)
                return
            yield index, record
            index += 1

    def feed() -> Iterator[Tuple[Doc, int]]:
        for index, record in next_records():
            pulled[0] += 1
            if record.error is not None:
                pending.append((index, record, record.error))
                continue
            if len(record.text) > max_length:
                msg = f"text too long ({len(record.text)} characters > max length {max_length}; see --max-length)"
                pending.append((index, record, msg))
                continue
            try:
                doc = nlp.make_doc(record.text)
            except Exception as err:  # noqa: BLE001 - one bad text must not stop the run
                pending.append((index, record, f"tokenizer failed: {_first_line(err)}"))
                continue
            if doc.text != record.text:
                pending.append((index, record, "tokenization changed the text; offsets would be wrong"))
                continue
            pending.append((index, record, None))
            yield doc, index

    def retry(record: Record) -> Result:
        handler.strict = True
        try:
            doc = nlp(nlp.make_doc(record.text))
        except Exception as err:  # noqa: BLE001
            return Result(record, error=f"pipeline failed: {_first_line(err)}")
        finally:
            handler.strict = False
        return Result(record, doc=doc, entities=doc_entities(doc, record.text))

    def flush(until: Optional[int]) -> Iterator[Result]:
        """Results of the pending records before index ``until`` (all when None): errors, or retried."""
        while pending and (until is None or pending[0][0] < until):
            _, record, error = pending.popleft()
            yield Result(record, error=error) if error is not None else retry(record)

    stream = feed()
    with _error_handler(nlp, handler):
        while True:
            n_before = pulled[0]
            try:
                for doc, index in nlp.pipe(stream, as_tuples=True, batch_size=batch_size, n_process=n_process):
                    yield from flush(index)
                    _, record, _ = pending.popleft()
                    yield Result(record, doc=doc, entities=doc_entities(doc, record.text))
            except Exception:  # noqa: BLE001 - a component raised through nlp.pipe: retry what was in flight
                if pulled[0] == n_before and not pending:
                    raise
                yield from flush(None)
                continue
            break
        yield from flush(None)
    if read_error:
        raise InputReadError(f"reading the input failed after {pulled[0]} document(s), all annotated and "
                             f"written: {_first_line(read_error[0])}") from read_error[0]


__all__ = ["InputReadError", "ModelLoadError", "Result", "load_pipeline", "check_pipeline_dir", "add_trf_cleaner",
           "doc_entities", "annotate_records", "CLEANER_NAME", "ends_with_trf_cleaner"]
