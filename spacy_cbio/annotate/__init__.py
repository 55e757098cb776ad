"""``annotate``: run a NER pipeline over raw text (``.txt``, folders, JSONL, stdin) and
write the entities as JSONL, BRAT standoff, a spaCy DocBin or a displaCy HTML page.

``readers`` (input records), ``pipe`` (model loading, streaming annotation, entity
offsets and scores), ``writers`` (output formats), ``cli`` (the command and its summary).
"""
from .pipe import ModelLoadError, Result, annotate_records, doc_entities, load_pipeline
from .readers import Record, read_inputs

__all__ = ["ModelLoadError", "Result", "annotate_records", "doc_entities", "load_pipeline", "Record", "read_inputs"]
