"""BRAT standoff reader (``.txt`` + ``.ann``): QUAERO, Mantra GSC, DEFT CAS corpora.

Only text-bound annotations (``T`` lines) become entities. Relations, events,
attributes and normalisations are counted as ``ignored.*`` in the ledger.
``AnnotatorNotes`` (``#`` lines) give the knowledge-base id (QUAERO: the CUIs) or,
for Mantra GSC, the semantic group used as label (``label_from="notes_group"``).

Checks (``DataError`` naming file and line): missing ``.txt``, non-UTF-8 bytes,
empty ``.txt``, malformed lines, offsets out of range, span text differing from
the annotated text. With ``lenient=True`` the last three skip the line instead and
count it (``skipped.*``). Repairs that are always applied and counted:
whitespace trimmed off fragment ends (``repair.whitespace_trimmed``), span text
equal only up to whitespace (``repair.text_whitespace_differs``).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from .annotations import Entity, SourceDoc
from .errors import DataError, Ledger
from .textio import read_utf8

IGNORED_KINDS = {"R": "relation", "E": "event", "A": "attribute", "M": "attribute",
                 "N": "normalization", "*": "equivalence"}
_OFFSETS = re.compile(r"^\d+ \d+(;\d+ \d+)*$")
_WS = re.compile(r"\s+")


def _bad(path: Path, line: int, message: str, lenient: bool, ledger: Ledger, reason: str) -> None:
    if not lenient:
        raise DataError(path, message, line)
    ledger.add(f"skipped.{reason}", f"{path}:{line}")


def _trim(text: str, start: int, end: int) -> Tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


UMLS_GROUPS = frozenset({"ACTI", "ANAT", "CHEM", "CONC", "DEVI", "DISO", "GENE", "GEOG", "LIVB",
                         "OBJC", "OCCU", "ORGA", "PHEN", "PHYS", "PROC"})


def _group_from_note(note: str, ledger: Ledger, where: str) -> str:
    """Semantic group of a Mantra GSC note ``"CUI", "name", "semantic type" ,"GROUP"``.

    The group is the last quoted field holding UMLS group codes. Repairs counted:
    group found in another field (``repair.semantic_group_field_swapped``); several
    groups ``"OBJC|CHEM"``: the first is kept (``repair.semantic_group_first_of_several``).
    """
    fields = [f.strip() for f in re.findall(r'"([^"]*)"', note)]
    for i in range(len(fields) - 1, -1, -1):
        codes = fields[i].split("|")
        if all(c in UMLS_GROUPS for c in codes):
            if i != len(fields) - 1:
                ledger.add("repair.semantic_group_field_swapped", where)
            if len(codes) > 1:
                ledger.add("repair.semantic_group_first_of_several", where)
            return codes[0]
    return ""


def parse_ann(
    ann_path: Union[str, Path],
    text: str,
    *,
    label_from: str = "type",
    lenient: bool = False,
    ledger: Optional[Ledger] = None,
) -> List[Entity]:
    """Parse one ``.ann`` file against its text; return the entities in file order.

    label_from: ``"type"`` (the BRAT type is the label) or ``"notes_group"`` (the type
    is a CUI, the label is the semantic group at the end of the AnnotatorNotes).
    """
    ann_path = Path(ann_path)
    ledger = ledger if ledger is not None else Ledger()
    content = read_utf8(ann_path, allow_empty=True)
    entities: List[Entity] = []
    notes: Dict[str, str] = {}
    for lineno, raw in enumerate(content.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        where = f"{ann_path}:{lineno}"
        kind = line[0]
        if kind == "#":
            parts = line.split("\t")
            if len(parts) >= 3 and parts[1].startswith("AnnotatorNotes "):
                notes[parts[1].split(" ", 1)[1].strip()] = parts[2].strip()
            else:
                ledger.add("ignored.comment", where)
            continue
        if kind in IGNORED_KINDS:
            ledger.add(f"ignored.{IGNORED_KINDS[kind]}", where)
            continue
        if kind != "T":
            _bad(ann_path, lineno, f"malformed annotation line (unknown kind {kind!r}): {line!r}",
                 lenient, ledger, "malformed_line")
            continue
        parts = line.split("\t")
        if len(parts) != 3 or " " not in parts[1]:
            _bad(ann_path, lineno, f"malformed entity line (want 'ID<TAB>TYPE START END<TAB>TEXT'): {line!r}",
                 lenient, ledger, "malformed_line")
            continue
        ent_id, type_offsets, ann_text = parts
        label, offsets = type_offsets.split(" ", 1)
        if not _OFFSETS.match(offsets):
            _bad(ann_path, lineno, f"malformed offsets {offsets!r}", lenient, ledger, "malformed_line")
            continue
        frags = [tuple(int(x) for x in frag.split(" ")) for frag in offsets.split(";")]
        bad = [(s, e) for s, e in frags if not (0 <= s < e <= len(text))]
        if bad:
            _bad(ann_path, lineno, f"offsets {bad[0][0]}-{bad[0][1]} out of range for a text of "
                 f"{len(text)} characters (or empty span)", lenient, ledger, "out_of_range")
            continue
        actual = " ".join(text[s:e] for s, e in frags)
        if actual != ann_text:
            if _WS.sub(" ", actual).strip() == _WS.sub(" ", ann_text).strip():
                ledger.add("repair.text_whitespace_differs", where)
            else:
                _bad(ann_path, lineno, f"span text {actual!r} does not match annotated text {ann_text!r}",
                     lenient, ledger, "text_mismatch")
                continue
        trimmed = []
        for s, e in sorted(frags):
            ts, te = _trim(text, s, e)
            if (ts, te) != (s, e):
                ledger.add("repair.whitespace_trimmed", where)
            if ts < te:
                trimmed.append((ts, te))
        if not trimmed:
            _bad(ann_path, lineno, "span holds only whitespace", lenient, ledger, "whitespace_span")
            continue
        # Merge fragments that touch or overlap (keeps fragments disjoint and sorted).
        merged: List[Tuple[int, int]] = []
        for s, e in trimmed:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
                ledger.add("repair.fragments_merged", where)
            else:
                merged.append((s, e))
        entities.append(Entity(id=ent_id, label=label, fragments=merged, line=lineno))
    for ent in entities:
        note = notes.get(ent.id, "")
        if label_from == "notes_group":
            group = _group_from_note(note, ledger, f"{ann_path}:{ent.line}")
            ent.kb_id = ent.label
            if not group:
                _bad(ann_path, ent.line or 0, f"no semantic group in AnnotatorNotes for {ent.id}",
                     lenient, ledger, "no_semantic_group")
                ent.label = ""
            else:
                ent.label = group
        else:
            ent.kb_id = note
    return [e for e in entities if e.label]


def read_brat_doc(
    ann_path: Union[str, Path],
    *,
    doc_id: Optional[str] = None,
    label_from: str = "type",
    lenient: bool = False,
    ledger: Optional[Ledger] = None,
) -> SourceDoc:
    """Read one ``.ann`` and its ``.txt`` sibling into a ``SourceDoc``."""
    ann_path = Path(ann_path)
    txt_path = ann_path.with_suffix(".txt")
    if not txt_path.exists():
        raise DataError(ann_path, f"missing text file {txt_path.name} for this annotation file")
    text = read_utf8(txt_path)
    ents = parse_ann(ann_path, text, label_from=label_from, lenient=lenient, ledger=ledger)
    return SourceDoc(doc_id=doc_id or ann_path.stem, text=text, entities=ents, path=str(ann_path))


def read_brat_dir(
    directory: Union[str, Path],
    *,
    label_from: str = "type",
    lenient: bool = False,
    ledger: Optional[Ledger] = None,
    id_prefix: str = "",
) -> List[SourceDoc]:
    """Read every ``*.ann`` (+ ``.txt``) in ``directory`` (not recursive), sorted by name.

    A ``.txt`` without ``.ann`` is read as a document without entities and counted
    (``repair.txt_without_ann``).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(directory, "not a directory")
    ledger = ledger if ledger is not None else Ledger()
    docs = [
        read_brat_doc(p, doc_id=id_prefix + p.stem, label_from=label_from, lenient=lenient, ledger=ledger)
        for p in sorted(directory.glob("*.ann"))
    ]
    for txt in sorted(directory.glob("*.txt")):
        if not txt.with_suffix(".ann").exists():
            ledger.add("repair.txt_without_ann", str(txt))
            docs.append(SourceDoc(doc_id=id_prefix + txt.stem, text=read_utf8(txt), path=str(txt)))
    return docs
