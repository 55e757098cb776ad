"""Contamination filter: drop pretraining documents that overlap NER evaluation text.

Every word n-gram (default 13 words, lower-cased ``\\w+`` tokens, so tokenisation and
punctuation differences are ignored) of the held-out documents is indexed. A candidate
document is contaminated when it shares at least ``min_matches`` distinct indexed n-grams
that are not *template* n-grams. An n-gram is a template n-gram when it occurs in at least
``template_df`` different held-out documents: standard regulatory wording (the EMA/QRD
leaflet template: "si vous avez d'autres questions sur l'utilisation de ce médicament ...")
recurs in many evaluation documents and in nearly every drug leaflet; it carries no
document-specific content and would otherwise flag the whole leaflet collection.
"""
from collections import Counter
from typing import Iterable, Tuple

import numpy

from .ngrams import ngram_hashes, word_ids


class ContaminationIndex:
    """Index of held-out n-grams; ``matches(text)`` counts the shared, non-template ones."""

    def __init__(
        self,
        heldout: Iterable[Tuple[str, str]],
        n: int = 13,
        template_df: int = 3,
    ) -> None:
        self.n = n
        self.template_df = template_df
        df: Counter = Counter()
        self.n_docs = 0
        for _doc_id, text in heldout:
            self.n_docs += 1
            df.update(numpy.unique(ngram_hashes(word_ids(text), n)).tolist())
        keep = [h for h, c in df.items() if template_df <= 0 or c < template_df]
        self.n_template = len(df) - len(keep)
        self.hashes = numpy.array(sorted(keep), dtype=numpy.uint64)

    def __len__(self) -> int:
        return len(self.hashes)

    def matches_ids(self, ids: numpy.ndarray) -> int:
        """Distinct indexed n-grams shared with a word-hash array."""
        grams = ngram_hashes(ids, self.n)
        if len(grams) == 0 or len(self.hashes) == 0:
            return 0
        return int(numpy.isin(numpy.unique(grams), self.hashes, assume_unique=True).sum())

    def matches(self, text: str) -> int:
        """Distinct indexed n-grams shared with ``text``."""
        return self.matches_ids(word_ids(text))
