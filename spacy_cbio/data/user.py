"""A user's own annotated corpus: a BRAT folder, or JSONL exported from Prodigy or doccano.

Layouts (``PATH`` given to ``convert --user NAME=PATH``):

- a folder with ``train/``, ``dev/`` and ``test/`` subfolders of BRAT files (``.txt`` + ``.ann``)
  or ``train.jsonl``, ``dev.jsonl`` and ``test.jsonl``: those splits;
- a flat folder of BRAT files, or one ``.jsonl`` file: a seeded document split (80/10/10 by
  default, as for CAS).

JSONL lines, detected line by line:

- Prodigy: ``{"text": ..., "spans": [{"start": s, "end": e, "label": L}, ...]}``; a line whose
  ``answer`` is not ``accept`` is skipped and counted;
- doccano: ``{"text": ..., "label": [[s, e, L], ...]}`` (sequence labelling export), or
  ``"entities": [{"start_offset": s, "end_offset": e, "label": L}, ...]``.

The id is ``id``, else ``meta.id``, else the line number. Offsets are character offsets into
``text``. A bad line (not JSON, no text, an entity out of range or empty) is an error naming the
file and line, or with ``lenient``, skipped and counted. Labels are whatever the files use; the
flat view (overlaps, nesting) follows the same policy as QUAERO (:mod:`.flatten`).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .annotations import Entity, SourceDoc
from .brat import _bad, read_brat_dir
from .e3c import seeded_splits
from .errors import DataError, Ledger

SPLITS = ("train", "dev", "test")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
USER_LICENCE = "user-supplied data, see the data owner for its terms"


def check_name(name: str, reserved: Tuple[str, ...] = ()) -> str:
    """A dataset name for a user corpus: lower-case letters, digits and ``_``, not a built-in one."""
    if not NAME.match(name):
        raise ValueError(f"dataset name {name!r}: use lower-case letters, digits and _ (e.g. mine, ward_notes)")
    if name in reserved:
        raise ValueError(f"dataset name {name!r} is a built-in dataset; choose another name")
    return name


def _spans(obj: Dict[str, Any]) -> Optional[List[Tuple[Any, Any, Any]]]:
    """``(start, end, label)`` of a Prodigy or doccano line; ``None`` when it has neither form."""
    if isinstance(obj.get("spans"), list):
        return [(s.get("start"), s.get("end"), s.get("label")) if isinstance(s, dict) else (None, None, None)
                for s in obj["spans"]]
    if isinstance(obj.get("label"), list):
        return [tuple(item) if isinstance(item, (list, tuple)) and len(item) == 3 else (None, None, None)
                for item in obj["label"]]
    if isinstance(obj.get("entities"), list):
        return [(e.get("start_offset"), e.get("end_offset"), e.get("label")) if isinstance(e, dict)
                else (None, None, None) for e in obj["entities"]]
    if "spans" not in obj and "label" not in obj and "entities" not in obj:
        return []  # a text without annotations: a document without entities
    return None


def read_annotated_jsonl(path: Path, *, lenient: bool = False, ledger: Optional[Ledger] = None) -> List[SourceDoc]:
    """The documents of a Prodigy or doccano JSONL file (see the module docstring)."""
    path = Path(path)
    ledger = ledger if ledger is not None else Ledger()
    docs: List[SourceDoc] = []
    seen: Dict[str, int] = {}
    try:
        raw_lines = path.read_bytes().splitlines()
    except OSError as err:
        raise DataError(path, f"cannot read ({err.strerror or err})") from None
    for line_no, raw in enumerate(raw_lines, 1):
        try:
            line = raw.decode("utf8")
        except UnicodeDecodeError as err:
            _bad(path, line_no, f"not UTF-8 ({err.reason} at byte {err.start})", lenient, ledger, "not_utf8")
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as err:
            _bad(path, line_no, f"not valid JSON ({err})", lenient, ledger, "invalid_json")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            _bad(path, line_no, "not a JSON object with a string 'text'", lenient, ledger, "no_text")
            continue
        if obj.get("answer", "accept") != "accept":  # Prodigy: rejected or ignored examples
            ledger.add("skipped.not_accepted", f"{path}:{line_no}")
            continue
        spans = _spans(obj)
        if spans is None:
            _bad(path, line_no, "'spans', 'label' or 'entities' is not a list", lenient, ledger, "bad_spans")
            continue
        text = obj["text"]
        meta = obj.get("meta") if isinstance(obj.get("meta"), dict) else {}
        doc_id = str(obj.get("id") if obj.get("id") not in (None, "") else meta.get("id") or line_no)
        if doc_id in seen:
            _bad(path, line_no, f"id {doc_id!r} already used on line {seen[doc_id]}", lenient, ledger, "duplicate_id")
            continue
        seen[doc_id] = line_no
        entities: List[Entity] = []
        for i, (start, end, label) in enumerate(spans, 1):
            ok = (isinstance(start, int) and isinstance(end, int) and not isinstance(start, bool)
                  and 0 <= start < end <= len(text) and isinstance(label, str) and label.strip())
            if not ok:
                _bad(path, line_no, f"entity {i} ({start}, {end}, {label!r}) is not a non-empty labelled span "
                     f"inside the text (0..{len(text)})", lenient, ledger, "bad_entity")
                continue
            entities.append(Entity(id=f"T{i}", label=label.strip(), fragments=[(start, end)], line=line_no))
        docs.append(SourceDoc(doc_id=doc_id, text=text, entities=entities, path=f"{path}:{line_no}"))
    return docs


def read_user_split(path: Path, split: str, *, seed: int = 0, lenient: bool = False, ledger: Optional[Ledger] = None,
                    dev_fraction: float = 0.1, test_fraction: float = 0.1) -> List[SourceDoc]:
    """The documents of one split of a user corpus at ``path`` (see the module docstring)."""
    path = Path(path)
    ledger = ledger if ledger is not None else Ledger()
    if path.is_dir() and all((path / s).is_dir() for s in SPLITS):
        return read_brat_dir(path / split, lenient=lenient, ledger=ledger)
    if path.is_dir() and all((path / f"{s}.jsonl").is_file() for s in SPLITS):
        return read_annotated_jsonl(path / f"{split}.jsonl", lenient=lenient, ledger=ledger)
    if path.is_dir():
        if not any(path.glob("*.ann")) and not any(path.glob("*.txt")):
            raise DataError(path, "no .ann/.txt files, no train/dev/test subfolders and no train/dev/test.jsonl")
        docs = read_brat_dir(path, lenient=lenient, ledger=Ledger() if split != "train" else ledger)
    elif path.is_file() and path.suffix.lower() == ".jsonl":
        docs = read_annotated_jsonl(path, lenient=lenient, ledger=Ledger() if split != "train" else ledger)
    else:
        raise DataError(path, "not a folder of BRAT files nor a .jsonl file")
    if len(docs) < 3:
        raise DataError(path, f"{len(docs)} document(s): a seeded train/dev/test split needs at least 3")
    keep = set(seeded_splits([d.doc_id for d in docs], seed, dev_fraction, test_fraction)[split])
    return [d for d in docs if d.doc_id in keep]


def discovered_labels(report: Dict[str, Any]) -> Dict[str, int]:
    """Source entities per label over every split of a ``convert`` dataset report."""
    counts: Dict[str, int] = {}
    for stats in report.get("splits", {}).values():
        for label, n in stats.get("source_entities_per_label", {}).items():
            counts[label] = counts.get(label, 0) + n
    return dict(sorted(counts.items()))


__all__ = ["check_name", "read_annotated_jsonl", "read_user_split", "discovered_labels", "USER_LICENCE"]
