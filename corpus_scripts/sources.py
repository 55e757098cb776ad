"""One reader per corpus source, each yielding ``(source, doc_id, text)``.

Paths are relative to the data mirror root (``assets/`` or ``../shared/data``); layouts are
described in the mirror's README. Readers do format handling only; cleaning is separate.

The NER corpora are read by ``spacy_cbio.data``: held-out evaluation text (never in the
pretraining corpus) is ``spacy_cbio.data.heldout_texts`` (all E3C layer 1 and layer 2
documents, QUAERO dev and test, Mantra GSC), and the only NER text used for pretraining,
QUAERO *train*, comes from the same QUAERO reader.
"""
import gzip
import json
import re
from itertools import groupby
from pathlib import Path
from typing import Callable, Iterator, List, Tuple

from spacy_cbio.data import iter_raw_texts
from spacy_cbio.data.e3c import COLLECTION

Doc = Tuple[str, str, str]

E3C_LAYER3 = Path("e3c") / "layer3" / "e3c_fr_layer3.jsonl.gz"
E3C_COLLECTION = Path("e3c") / COLLECTION
WMT_DIR = Path("wmt_biomed_fr")
ELTEC_DIR = Path("eltec_fra") / "plain1"
SEQUOIA_DIR = Path("ud_french_sequoia")

NOTICES_SOURCE = "Ministère des Solidarités et de la Santé"


class SourceFormatError(ValueError):
    """Bad input, with file and line in the message."""


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"Missing corpus input: {path}")
    return path


def _e3c_layer3_json_dir(root: Path) -> Iterator[Doc]:
    """Upstream layout (what `spacy project assets` fetches): one JSON file per document."""
    for path in sorted((root / E3C_COLLECTION / "layer3").glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf8"))
            doc_id, source, text = record["id"], record["source"], record["text"]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
            raise SourceFormatError(f"{path}:1: bad layer-3 document ({err})") from err
        name = "e3c_l3_notices" if source == NOTICES_SOURCE else "e3c_l3_pamj"
        yield name, str(doc_id), text


def read_e3c_layer3(root: Path) -> Iterator[Doc]:
    """E3C French layer 3 (streamed): drug leaflets and PAMJ clinical cases as two sources.

    Reads the mirror's single ``layer3/e3c_fr_layer3.jsonl.gz`` or, when absent, upstream's
    ``data_collection/French/layer3/*.json`` (one document per file).
    """
    if not (root / E3C_LAYER3).exists() and (root / E3C_COLLECTION / "layer3").is_dir():
        yield from _e3c_layer3_json_dir(root)
        return
    path = _require(root / E3C_LAYER3)
    with gzip.open(path, "rt", encoding="utf8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                doc_id, source, text = record["id"], record["source"], record["text"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise SourceFormatError(f"{path}:{line_no}: bad layer-3 record ({err})") from err
            name = "e3c_l3_notices" if source == NOTICES_SOURCE else "e3c_l3_pamj"
            yield name, str(doc_id), text


def _wmt_documents(lines: List[str]) -> List[Tuple[int, List[List[str]]]]:
    """Split WMT lines into (first line index, document); documents are separated by two
    blank lines and made of sections separated by one blank line."""
    docs: List[Tuple[int, List[List[str]]]] = []
    doc: List[List[str]] = []
    section: List[str] = []
    start = 0
    blanks = 0
    for index, line in enumerate(lines + ["", ""]):
        if line.strip():
            if blanks >= 2 and doc:
                docs.append((start, doc))
                doc = []
            if not doc and not section:
                start = index
            blanks = 0
            section.append(line.strip())
        else:
            blanks += 1
            if section:
                doc.append(section)
                section = []
    if doc:
        docs.append((start, doc))
    return docs


def _wmt_text(doc: List[List[str]]) -> str:
    """Each section's first line is its heading (Title, Abstract, Contexte...): drop it."""
    return "\n\n".join(" ".join(section[1:]) for section in doc if len(section) > 1)


def read_wmt(root: Path) -> Iterator[Doc]:
    """French side of WMT biomedical: train sets (medline, scielo, edp) and test sets."""
    base = _require(root / WMT_DIR)
    train_dir = base / "Train data with section information"
    for name in ("medline", "scielo", "edp"):
        text_path = train_dir / f"{name}_d1.fr"
        id_path = train_dir / f"{name}_d1_id.fr"
        lines = _require(text_path).read_text(encoding="utf8").split("\n")
        ids = _require(id_path).read_text(encoding="utf8").split("\n")
        if len(lines) != len(ids):
            raise SourceFormatError(
                f"{text_path}: {len(lines)} lines but {id_path} has {len(ids)}"
            )
        for k, (start, doc) in enumerate(_wmt_documents(lines)):
            doc_id = ids[start].strip() or f"{name}#{k}"
            yield f"wmt_{name}", f"{name}:{doc_id}:{k}", _wmt_text(doc)
    for path in sorted((base / "Document level test sets").glob("*.fr")):
        lines = path.read_text(encoding="utf8").split("\n")
        for k, (_start, doc) in enumerate(_wmt_documents(lines)):
            yield "wmt_test", f"{path.stem}#{k}", _wmt_text(doc)


_DETOK = [
    (re.compile(r" ([,.;:)\]}%])"), r"\1"),
    (re.compile(r"([(\[{]) "), r"\1"),
    (re.compile(r"(\w) ?([’']) ?(?=\w)"), r"\1\2"),
]


def detokenise(text: str) -> str:
    """Undo QUAERO's space-separated tokenisation (``l ’ usage ,`` -> ``l’usage,``)."""
    lines = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        for pattern, repl in _DETOK:
            line = pattern.sub(repl, line)
        lines.append(line)
    return "\n".join(lines)


def read_quaero_train(root: Path) -> Iterator[Doc]:
    """Raw text of the QUAERO *training* split only (EMEA then MEDLINE), detokenised."""
    for doc_id, text in iter_raw_texts("quaero", root, ["train"]):
        yield "quaero_train", doc_id, detokenise(text)


def read_extra_dir(directory: Path) -> Iterator[Doc]:
    """User-supplied French biomedical text: every ``*.txt`` below ``directory``."""
    base = _require(Path(directory))
    name = f"extra_{base.resolve().name}"
    for path in sorted(base.rglob("*.txt")):
        yield name, str(path.relative_to(base)), path.read_text(encoding="utf8", errors="strict")


def read_eltec(root: Path) -> Iterator[Doc]:
    """ELTeC French novels (general French), one document per novel."""
    for path in sorted(_require(root / ELTEC_DIR).glob("*.txt")):
        yield "eltec", path.stem, path.read_text(encoding="utf8")


def _conllu_sentences(path: Path) -> Iterator[Tuple[str, str]]:
    sent_id, text = None, None
    with path.open(encoding="utf8") as fh:
        for line_no, line in enumerate(fh, start=1):
            line = line.rstrip("\n")
            if line.startswith("# sent_id ="):
                sent_id = line.split("=", 1)[1].strip()
            elif line.startswith("# text ="):
                text = line.split("=", 1)[1].strip()
            elif not line.strip():
                if sent_id is not None or text is not None:
                    if sent_id is None or text is None:
                        raise SourceFormatError(f"{path}:{line_no}: sentence without sent_id or text")
                    yield sent_id, text
                sent_id, text = None, None


def read_sequoia_general(root: Path, block: int = 25) -> Iterator[Doc]:
    """Sequoia sentences except EMEA ones (``emea-fr-*``): blocks of ``block`` consecutive
    sentences of one sub-corpus (``annodis.er``, ``Europar.550``, ``frwiki_50.1000``...)."""
    base = _require(root / SEQUOIA_DIR)
    for path in sorted(base.glob("*.conllu")):
        sentences = [(sid, text) for sid, text in _conllu_sentences(path) if not sid.startswith("emea-fr-")]
        n_blocks = 0
        for part, group in groupby(sentences, key=lambda item: re.sub(r"_\d+$", "", item[0])):
            texts = [text for _, text in group]
            for k in range(0, len(texts), block):
                yield "sequoia", f"{path.stem}:{part}:{n_blocks}", " ".join(texts[k : k + block])
                n_blocks += 1


def biomedical_readers(extra_dirs: List[Path]) -> List[Tuple[str, Callable[[Path], Iterator[Doc]]]]:
    """Readers of the biomedical corpus, in processing order (first kept wins on duplicates)."""
    readers: List[Tuple[str, Callable[[Path], Iterator[Doc]]]] = [
        ("quaero_train", read_quaero_train),
        ("e3c_layer3", read_e3c_layer3),
        ("wmt", read_wmt),
    ]
    for directory in extra_dirs:
        readers.append((f"extra:{directory}", lambda _root, d=directory: read_extra_dir(d)))
    return readers


def general_readers(extra_dirs: List[Path]) -> List[Tuple[str, Callable[[Path], Iterator[Doc]]]]:
    """Readers of the general-French corpus."""
    readers: List[Tuple[str, Callable[[Path], Iterator[Doc]]]] = [
        ("eltec", read_eltec),
        ("sequoia", read_sequoia_general),
    ]
    for directory in extra_dirs:
        readers.append((f"extra:{directory}", lambda _root, d=directory: read_extra_dir(d)))
    return readers
