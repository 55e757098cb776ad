"""Dataset readers and conversion to spaCy DocBins.

Public API::

    from spacy_cbio.data import load_dataset, iter_raw_texts, read_brat_dir, read_e3c_xmi
    docs = load_dataset("quaero", "assets", "dev")          # list[Doc]
    for doc_id, text in iter_raw_texts("e3c", "assets", ["dev", "test"]): ...
    DATASETS["quaero"].licence, DATASETS["quaero"].labels, DATASETS["quaero"].to_meta()
    for doc_id, text in heldout_texts("assets"): ...        # NER text kept out of pretraining
"""
from .annotations import Entity, SourceDoc
from .brat import parse_ann, read_brat_dir, read_brat_doc
from .e3c import e3c_splits, read_e3c_collection, read_e3c_layer, read_e3c_xmi
from .errors import DataError, Ledger
from .flatten import DROP_REASONS, flatten_entities
from .datasets import (
    DATASETS, HELDOUT_PATHS, SPLITS, DatasetSpec, get_spec, heldout_texts, iter_raw_texts, load_dataset,
    load_sources,
)
from .tokenize import GOLD_ALL, GOLD_DISCONTINUOUS, source_to_doc

__all__ = [
    "DATASETS", "DROP_REASONS", "DataError", "DatasetSpec", "Entity", "GOLD_ALL", "GOLD_DISCONTINUOUS",
    "HELDOUT_PATHS", "Ledger", "SPLITS", "SourceDoc", "e3c_splits", "flatten_entities", "get_spec",
    "heldout_texts", "iter_raw_texts", "load_dataset", "load_sources", "parse_ann", "read_brat_dir",
    "read_brat_doc", "read_e3c_collection", "read_e3c_layer", "read_e3c_xmi", "source_to_doc",
]
