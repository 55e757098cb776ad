"""Training corpus reader that cuts long documents into sentence chunks.

QUAERO EMEA documents run to thousands of words while MEDLINE ones are titles.
To batch *sequences* as the paper does (batch 16), the training reader packs
consecutive sentences into chunks of at most ``max_tokens`` tokens. A sentence
longer than that is cut between tokens, never inside an entity. Documents
without sentence boundaries are treated as one sentence.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import registry


def cut_points(doc: Doc, max_tokens: int) -> List[Tuple[int, int]]:
    """Token ranges ``(start, end)`` covering ``doc``, each at most ``max_tokens`` long.

    Sentences (if set) are packed greedily; a range never starts inside an
    entity, unless an entity is itself longer than ``max_tokens`` (then it is
    kept whole and its range is longer).
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, not {max_tokens}")
    n = len(doc)
    if n == 0:
        return []
    inside = [tok.ent_iob_ == "I" for tok in doc]  # cutting before token i splits an entity
    boundaries = [n]
    if doc.has_annotation("SENT_START"):
        boundaries = [s.start for s in doc.sents if 0 < s.start and not inside[s.start]] + [n]
    ranges: List[Tuple[int, int]] = []
    start = 0
    last_fit = 0  # the furthest sentence boundary that fits in the current chunk
    for boundary in boundaries:
        if boundary - start <= max_tokens:
            last_fit = boundary
            continue
        if last_fit > start:
            ranges.append((start, last_fit))
            start = last_fit
        while boundary - start > max_tokens:  # one sentence longer than max_tokens
            cut = start + max_tokens
            while cut > start and inside[cut]:
                cut -= 1
            if cut == start:  # an entity longer than max_tokens: keep it whole
                cut = start + max_tokens
                while cut < n and inside[cut]:
                    cut += 1
            ranges.append((start, cut))
            start = cut
        last_fit = boundary
    if start < n:
        ranges.append((start, n))
    return ranges


def chunk_doc(doc: Doc, max_tokens: int) -> List[Doc]:
    """``doc`` cut into new docs of at most ``max_tokens`` tokens (entities kept)."""
    if len(doc) <= max_tokens:
        return [doc]
    return [doc[start:end].as_doc() for start, end in cut_points(doc, max_tokens)]


class SentenceCorpus:
    """Examples from a ``.spacy`` DocBin, long docs cut into sentence chunks.

    path: the DocBin. max_tokens: chunk size in tokens (0: no cutting).
    gold_tokens: predict on the reference tokens (the corpus tokenization, as the
    paper scores) instead of re-tokenizing the text with ``nlp.make_doc``.
    shuffle: shuffle the chunks (seeded by ``seed``) each time the corpus is read
    (spaCy's training loop shuffles each epoch anyway).
    limit: keep only the first ``limit`` docs (0: all).
    """

    def __init__(
        self,
        path: Union[str, Path],
        *,
        max_tokens: int = 128,
        gold_tokens: bool = True,
        shuffle: bool = False,
        seed: int = 0,
        limit: int = 0,
    ) -> None:
        self.path = Path(path)
        self.max_tokens = max_tokens
        self.gold_tokens = gold_tokens
        self.shuffle = shuffle
        self.limit = limit
        self._random = random.Random(seed)

    def _docs(self, nlp: Language) -> Iterator[Doc]:
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: training DocBin not found (run the convert step first)")
        doc_bin = DocBin().from_disk(self.path)
        for i, doc in enumerate(doc_bin.get_docs(nlp.vocab)):
            if self.limit and i >= self.limit:
                break
            yield doc

    def chunks(self, nlp: Language) -> List[Doc]:
        """All chunks of the corpus, in order."""
        out: List[Doc] = []
        for doc in self._docs(nlp):
            out.extend(chunk_doc(doc, self.max_tokens) if self.max_tokens else [doc])
        return out

    def __call__(self, nlp: Language) -> Iterator[Example]:
        chunks = self.chunks(nlp)
        if self.shuffle:
            self._random.shuffle(chunks)
        for reference in chunks:
            if len(reference) == 0:
                continue
            if self.gold_tokens:
                words = [t.text for t in reference]
                spaces = [bool(t.whitespace_) for t in reference]
                predicted = Doc(nlp.vocab, words=words, spaces=spaces)
            else:
                predicted = nlp.make_doc(reference.text)
            yield Example(predicted, reference)


@registry.readers("spacy_cbio.SentenceCorpus.v1")
def create_sentence_corpus(
    path: Optional[Path],
    max_tokens: int = 128,
    gold_tokens: bool = True,
    shuffle: bool = False,
    seed: int = 0,
    limit: int = 0,
) -> Callable[[Language], Iterable[Example]]:
    """Examples from a DocBin, long docs cut into chunks of <= ``max_tokens`` tokens (0: whole docs)."""
    if path is None:
        raise ValueError("spacy_cbio.SentenceCorpus.v1: 'path' is null; set [paths] train/dev")
    return SentenceCorpus(
        path, max_tokens=max_tokens, gold_tokens=gold_tokens, shuffle=shuffle, seed=seed, limit=limit
    )
