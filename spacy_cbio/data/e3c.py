"""E3C reader: UIMA CAS XMI (WebAnno export), clinical entities.

Entities are ``custom:CLINENTITY`` elements (``begin``/``end`` into the ``cas:Sofa``
``sofaString``). A discontinuous entity carries ``discontinuous="DISCONTINUOUS"`` and
only its extent is stored, so it becomes an ``extent_only`` entity (see
``spacy_cbio.data.flatten`` for what the flat view does with it).
UIMA offsets count UTF-16 code units; they are mapped to Python characters.
"""
from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from .annotations import Entity, SourceDoc
from .errors import DataError, Ledger
from .textio import read_utf8

CUSTOM_NS = "http:///webanno/custom.ecore"
CAS_NS = "http:///uima/cas.ecore"
XMI_ID = "{http://www.omg.org/XMI}id"
LABEL = "CLINENTITY"
FRENCH = "data_annotation/French"
COLLECTION = "data_collection/French"  # raw documents (JSON: metadata + text)
SPLIT_FILE = "documentation/train_test_split.txt"


def _utf16_to_char(text: str) -> Optional[List[int]]:
    """Map UTF-16 offsets to character offsets, or ``None`` when they coincide (BMP only)."""
    if all(ord(c) <= 0xFFFF for c in text):
        return None
    mapping: List[int] = []
    for i, c in enumerate(text):
        mapping.append(i)
        if ord(c) > 0xFFFF:
            mapping.append(i)
    mapping.append(len(text))
    return mapping


def _line_of(raw: str, xmi_id: str) -> Optional[int]:
    pos = raw.find(f'xmi:id="{xmi_id}"')
    return raw.count("\n", 0, pos) + 1 if pos >= 0 else None


def read_e3c_xmi(
    path: Union[str, Path],
    *,
    labels: Sequence[str] = (LABEL,),
    ledger: Optional[Ledger] = None,
) -> SourceDoc:
    """Read one E3C XMI file; entities of the given ``custom:`` types, label = type name."""
    path = Path(path)
    ledger = ledger if ledger is not None else Ledger()
    raw = read_utf8(path)
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as err:
        raise DataError(path, f"XML parse error: {err}", err.position[0]) from None
    sofa = root.find(f"{{{CAS_NS}}}Sofa")
    if sofa is None or sofa.get("sofaString") is None:
        raise DataError(path, "no cas:Sofa with a sofaString (document text)")
    text = sofa.get("sofaString")
    if not text.strip():
        raise DataError(path, "empty document text (sofaString)")
    mapping = _utf16_to_char(text)
    entities: List[Entity] = []
    for label in labels:
        for el in root.iter(f"{{{CUSTOM_NS}}}{label}"):
            xid = el.get(XMI_ID, "?")
            line = _line_of(raw, xid)
            try:
                begin, end = int(el.get("begin")), int(el.get("end"))
            except (TypeError, ValueError):
                raise DataError(path, f"{label} xmi:id={xid} lacks integer begin/end", line) from None
            if mapping is not None:
                if not (0 <= begin <= end < len(mapping)):
                    raise DataError(path, f"{label} xmi:id={xid} offsets {begin}-{end} out of range", line)
                begin, end = mapping[begin], mapping[end]
            if not (0 <= begin < end <= len(text)):
                raise DataError(path, f"{label} xmi:id={xid} offsets {begin}-{end} out of range for a "
                                f"text of {len(text)} characters (or empty span)", line)
            s, e = begin, end
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if s == e:
                raise DataError(path, f"{label} xmi:id={xid} covers only whitespace", line)
            if (s, e) != (begin, end):
                ledger.add("repair.whitespace_trimmed", f"{path}:{line}")
            entities.append(Entity(
                id=f"xmi{xid}", label=label, fragments=[(s, e)], kb_id=el.get("entityID", ""),
                line=line, extent_only=el.get("discontinuous") is not None,
            ))
    entities.sort(key=lambda e: (e.start, e.end))
    return SourceDoc(doc_id=path.stem, text=text, entities=entities, path=str(path))


def read_e3c_layer(root: Union[str, Path], layer: int, ledger: Optional[Ledger] = None) -> List[SourceDoc]:
    """Read all French documents of ``layer`` (1 or 2) under the E3C root, sorted by id."""
    folder = Path(root) / FRENCH / f"layer{layer}"
    if not folder.is_dir():
        raise DataError(folder, "E3C layer folder not found")
    return [read_e3c_xmi(p, ledger=ledger) for p in sorted(folder.glob("*.xml"))]


def read_e3c_collection(root: Union[str, Path], layer: int) -> List[Tuple[str, str]]:
    """``(doc id, text)`` of the raw French documents of ``layer`` under the E3C root
    (``data_collection/French/layer<n>/*.json``), sorted by file name.

    The pretraining corpus uses this text, not the XMI ``sofaString``, as held-out text:
    the two differ in the wording of 23 of the 249 layer-1/2 documents (figure references,
    ligatures), and the corpus has always been decontaminated against this one.
    """
    folder = Path(root) / COLLECTION / f"layer{layer}"
    if not folder.is_dir():
        raise DataError(folder, "E3C collection folder not found")
    docs = []
    for path in sorted(folder.glob("*.json")):
        try:
            text = json.loads(read_utf8(path))["text"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise DataError(path, f"no readable 'text' field ({err})") from None
        docs.append((path.stem, text))
    return docs


def official_train_ids(root: Union[str, Path], language: str = "FRENCH") -> List[str]:
    """The official layer-1 training ids for ``language`` from ``train_test_split.txt``."""
    path = Path(root) / SPLIT_FILE
    lines = read_utf8(path).splitlines()
    for i, line in enumerate(lines):
        if line.strip().upper() == language:
            for j in range(i + 1, len(lines)):
                ids = re.findall(r"'([A-Z]{2}\d+)'", lines[j])
                if ids:
                    return ids
                if lines[j].strip():
                    break
            raise DataError(path, f"no id list after the {language} heading", i + 1)
    raise DataError(path, f"no {language} section")


def hold_out(ids: Sequence[str], fraction: float, seed: int) -> Tuple[List[str], List[str]]:
    """Seeded split of ``ids`` into (kept, held_out); ``held_out`` has round(fraction*n) ids (>=1)."""
    ordered = sorted(ids)
    n_out = max(1, round(fraction * len(ordered)))
    rng = random.Random(seed)
    shuffled = ordered[:]
    rng.shuffle(shuffled)
    out = set(shuffled[:n_out])
    return [i for i in ordered if i not in out], [i for i in ordered if i in out]



def seeded_splits(ids: Sequence[str], seed: int, dev_fraction: float = 0.1,
                  test_fraction: float = 0.1) -> Dict[str, List[str]]:
    """``{"train", "dev", "test": ids}``: a seeded document split (80/10/10 by default)."""
    rest, test = hold_out(ids, test_fraction, seed)
    train, dev = hold_out(rest, dev_fraction / (1 - test_fraction), seed)
    return {"train": train, "dev": dev, "test": test}

def e3c_splits(root: Union[str, Path], protocol: str = "paper", seed: int = 0,
               dev_fraction: float = 0.1) -> Dict[str, Tuple[int, List[str]]]:
    """Document ids per split: ``{split: (layer, ids)}``.

    paper: train = layer 2 minus a seeded ``dev_fraction`` dev set; test = all of layer 1.
    official: layer-1 train ids from ``train_test_split.txt`` minus a seeded dev set;
    test = the other layer-1 documents.
    """
    root = Path(root)
    layer1 = sorted(p.stem for p in (root / FRENCH / "layer1").glob("*.xml"))
    if protocol == "paper":
        layer2 = sorted(p.stem for p in (root / FRENCH / "layer2").glob("*.xml"))
        train, dev = hold_out(layer2, dev_fraction, seed)
        return {"train": (2, train), "dev": (2, dev), "test": (1, layer1)}
    if protocol == "official":
        official = official_train_ids(root)
        missing = sorted(set(official) - set(layer1))
        if missing:
            raise DataError(root / SPLIT_FILE, f"train ids not found in layer 1: {missing[:5]}")
        train, dev = hold_out(official, dev_fraction, seed)
        test = [i for i in layer1 if i not in set(official)]
        return {"train": (1, train), "dev": (1, dev), "test": (1, test)}
    raise ValueError(f"unknown E3C protocol {protocol!r} (use 'paper' or 'official')")
