"""Annotate a Spark DataFrame: one row per entity, computed on the executors.

``annotate_dataframe(df, "fr_cbio_ner", text_col="note", id_col="note_id")`` returns a DataFrame
of ``id, start, end, label, text, score, error``: one row per entity (``error`` null), and one
row per document that could not be annotated (``error`` says why, the rest null; e.g. a null
text, or a document on which the pipeline failed). A bad row never fails the job; a document
without entities adds no row.

It runs with ``mapInPandas`` (Arrow batches of rows). Each Python worker loads the pipeline once,
on its first batch, and keeps it for the next batches and tasks (Spark reuses its Python
workers), so the model is not loaded per row or per batch. On a cluster, the executors need
``spacy-cbio`` and the model package installed: see docs/spark.md.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional

from .pipe import add_trf_cleaner, annotate_records, load_pipeline
from .readers import Record

if TYPE_CHECKING:  # pragma: no cover
    import pandas
    from pyspark.sql import DataFrame

ENTITY_SCHEMA = "id string, start int, end int, label string, text string, score double, error string"
COLUMNS = ("id", "start", "end", "label", "text", "score", "error")
# The pipelines this Python worker has loaded, by model name (one load per worker).
_PIPELINES: Dict[str, Any] = {}


def worker_pipeline(model: str, gpu_id: int = -1):
    """The pipeline ``model``, loaded once per process."""
    if model not in _PIPELINES:
        nlp = load_pipeline(model, gpu_id=gpu_id)
        add_trf_cleaner(nlp)
        _PIPELINES[model] = nlp
    return _PIPELINES[model]


def annotate_pandas(nlp, frame: "pandas.DataFrame", *, batch_size: int = 16,
                    max_length: Optional[int] = None) -> "pandas.DataFrame":
    """The entity rows (:data:`COLUMNS`) of a pandas frame of ``id`` and ``text`` columns."""
    import pandas

    records = []
    for doc_id, text in zip(frame["id"], frame["text"]):
        doc_id = "" if doc_id is None or pandas.isna(doc_id) else str(doc_id)
        if isinstance(text, str):
            records.append(Record(id=doc_id, text=text))
        elif text is None or pandas.isna(text):
            records.append(Record(id=doc_id, error="null text"))
        else:
            records.append(Record(id=doc_id, error=f"text is a {type(text).__name__}, not a string"))
    rows: List[Dict[str, Any]] = []
    for result in annotate_records(nlp, records, batch_size=batch_size, max_length=max_length):
        if result.error is not None:
            rows.append({"id": result.record.id, "error": result.error})
            continue
        rows.extend({"id": result.record.id, **entity, "error": None} for entity in result.entities)
    # Plain object columns for the strings: pandas 3 would infer its Arrow-backed string type (and
    # float for a column of missing values), which PySpark's Arrow writer does not take.
    columns = {name: pandas.Series([row.get(name) for row in rows], dtype=object) for name in COLUMNS}
    out = pandas.DataFrame(columns)
    return out.astype({"start": "Int32", "end": "Int32", "score": "float64"})


def annotate_dataframe(df: "DataFrame", model: str, text_col: str = "text", id_col: str = "id", *,
                       batch_size: int = 16, max_length: Optional[int] = None, gpu_id: int = -1) -> "DataFrame":
    """Entities of every row of ``df`` (see the module docstring): a DataFrame of
    ``id, start, end, label, text, score, error``.

    model: an installed package name or a pipeline folder, as the executors see it.
    text_col, id_col: the columns holding the text (strings) and the document id (cast to string).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    for column in (text_col, id_col):
        if column not in df.columns:
            raise ValueError(f"no column {column!r} in the DataFrame (columns: {', '.join(df.columns)})")
    if not isinstance(df.schema[text_col].dataType, StringType):
        raise ValueError(f"column {text_col!r} holds {df.schema[text_col].dataType.simpleString()}, not strings")

    pairs = df.select(F.col(id_col).cast("string").alias("id"), F.col(text_col).alias("text"))
    task = functools.partial(annotate_frames, model=model, batch_size=batch_size, max_length=max_length, gpu_id=gpu_id)
    return pairs.mapInPandas(task, schema=ENTITY_SCHEMA)


def annotate_frames(frames: Iterator["pandas.DataFrame"], model: str, *, batch_size: int = 16,
                    max_length: Optional[int] = None, gpu_id: int = -1) -> Iterator["pandas.DataFrame"]:
    """What each Spark task runs on its partition's Arrow batches: the worker's pipeline (loaded on
    the first batch this process sees), then :func:`annotate_pandas` per batch."""
    nlp = worker_pipeline(model, gpu_id)
    for frame in frames:
        yield annotate_pandas(nlp, frame, batch_size=batch_size, max_length=max_length)


__all__ = ["annotate_dataframe", "annotate_frames", "annotate_pandas", "worker_pipeline", "ENTITY_SCHEMA", "COLUMNS"]
