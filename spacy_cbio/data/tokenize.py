"""Turn a ``SourceDoc`` into a spaCy ``Doc`` with character-exact entity spans.

Tokens come from the ``spacy.blank("fr")`` tokenizer; any token crossing an entity
boundary (flat or ``gold_all``) is split there (``repair.token_split``, one per split
token), so every span is character-exact and ``doc.text`` equals the source text.
Sentences: spaCy's rule-based ``Sentencizer``, plus a sentence start after every
line break; a sentence start inside a flat entity is removed
(``repair.sentence_start_inside_entity``).

Spans stored on the doc:
- ``doc.ents``: the flat view (see ``spacy_cbio.data.flatten``);
- ``doc.spans["gold_all"]``: every source entity with its label, ``kb_id`` (CUI when
  known) and ``id`` (the source annotation id). A discontinuous BRAT entity gives one
  span per fragment, all with the same ``id``; an E3C discontinuous entity (extent
  only) gives its extent, also listed in ``doc.spans["gold_discontinuous"]``.
- ``doc.user_data``: ``doc_id``, ``source`` (file path), ``dataset``, ``split``.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Set

from spacy.language import Language
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc, Span

from .annotations import SourceDoc
from .errors import DataError, Ledger
from .flatten import FlatEntity, flatten_entities

GOLD_ALL = "gold_all"
GOLD_DISCONTINUOUS = "gold_discontinuous"

_sentencizer = Sentencizer()


def split_tokens(nlp: Language, text: str, boundaries: Iterable[int], ledger: Ledger,
                 source: str = "") -> Doc:
    """Tokenize ``text`` and split tokens at every offset in ``boundaries``."""
    cuts: Set[int] = set(boundaries)
    base = nlp.make_doc(text)
    words: List[str] = []
    spaces: List[bool] = []
    for tok in base:
        s, e = tok.idx, tok.idx + len(tok.text)
        inner = sorted(b for b in cuts if s < b < e)
        if inner:
            ledger.add("repair.token_split", f"{source}@{s}:{tok.text!r}")
        points = [s, *inner, e]
        for a, b in zip(points, points[1:]):
            words.append(text[a:b])
            spaces.append(False)
        spaces[-1] = bool(tok.whitespace_)
    doc = Doc(nlp.vocab, words=words, spaces=spaces)
    if doc.text != text:  # pragma: no cover - would be a bug in the splitting above
        raise DataError(source, "tokenization changed the document text")
    return doc


def set_sentences(doc: Doc, flat: List[FlatEntity], ledger: Ledger, source: str = "") -> None:
    """Rule-based sentence starts: Sentencizer + line breaks, never inside an entity."""
    starts = [bool(t) for t in _sentencizer.predict([doc])[0]]
    for i in range(1, len(doc)):
        if "\n" in doc[i - 1].text and doc[i - 1].is_space:
            starts[i] = True
    for i, tok in enumerate(doc):  # a whitespace token never opens a sentence
        if starts[i] and tok.is_space and i + 1 < len(doc):
            starts[i], starts[i + 1] = (i == 0), True
    inside = [False] * len(doc)
    for f in flat:
        span = doc.char_span(f.start, f.end)
        for i in range(span.start + 1, span.end):
            inside[i] = True
    for i in range(len(doc)):
        if starts[i] and inside[i]:
            starts[i] = False
            ledger.add("repair.sentence_start_inside_entity", f"{source}@{doc[i].idx}")
    starts[0] = True
    for tok, st in zip(doc, starts):
        tok.is_sent_start = st


def _span(doc: Doc, start: int, end: int, label: str, kb_id: str, span_id: str, source: str) -> Span:
    span = doc.char_span(start, end, label=label, kb_id=kb_id, span_id=span_id)
    if span is None:  # pragma: no cover - tokens are split at every boundary
        raise DataError(source, f"span {start}-{end} not on token boundaries")
    return span


def source_to_doc(
    nlp: Language,
    src: SourceDoc,
    ledger: Optional[Ledger] = None,
    user_data: Optional[dict] = None,
) -> Doc:
    """Build the ``Doc`` for ``src``: tokens split at entity boundaries, flat ents, gold_all."""
    ledger = ledger if ledger is not None else Ledger()
    source = src.path or src.doc_id
    flat = flatten_entities(src.entities, src.text, ledger, source)
    bounds: Set[int] = set()
    for ent in src.entities:
        for s, e in ent.fragments:
            bounds.update((s, e))
    for f in flat:
        bounds.update((f.start, f.end))
    doc = split_tokens(nlp, src.text, bounds, ledger, source)
    doc.ents = [_span(doc, f.start, f.end, f.label, f.kb_id, f.id, source) for f in flat]
    gold_all, gold_disc = [], []
    for ent in src.entities:
        spans = [_span(doc, s, e, ent.label, ent.kb_id, ent.id, source) for s, e in ent.fragments]
        gold_all.extend(spans)
        if ent.discontinuous:
            gold_disc.append(_span(doc, ent.start, ent.end, ent.label, ent.kb_id, ent.id, source))
    doc.spans[GOLD_ALL] = gold_all
    doc.spans[GOLD_DISCONTINUOUS] = gold_disc
    set_sentences(doc, flat, ledger, source)
    doc.user_data.update({"doc_id": src.doc_id, "source": src.path, **(user_data or {})})
    return doc
