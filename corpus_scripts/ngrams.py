"""Word tokens and hashed word n-grams shared by deduplication and contamination checks.

Words are lower-cased ``\\w+`` runs, so punctuation and spacing differences (QUAERO's
pre-tokenised ``l ’ administration`` vs ``l’administration``) do not matter. Hashes are
deterministic (blake2b per word, polynomial rolling hash over uint64 with wrap-around),
never Python's salted ``hash``.
"""
import hashlib
import re
from typing import Dict, List

import numpy

WORD_RE = re.compile(r"\w+")
_BASE = numpy.uint64(1_000_003)
_WORD_CACHE: Dict[str, int] = {}
_MAX_CACHE = 2_000_000


def words(text: str) -> List[str]:
    """Lower-cased word tokens used for hashing (not for counting corpus words)."""
    return WORD_RE.findall(text.lower())


def word_hash(word: str) -> int:
    """Deterministic 64-bit hash of one word (cached)."""
    value = _WORD_CACHE.get(word)
    if value is None:
        value = int.from_bytes(hashlib.blake2b(word.encode("utf8"), digest_size=8).digest(), "little")
        if len(_WORD_CACHE) < _MAX_CACHE:
            _WORD_CACHE[word] = value
    return value


def word_ids(text: str) -> numpy.ndarray:
    """Array of word hashes for a text."""
    return numpy.fromiter((word_hash(w) for w in words(text)), dtype=numpy.uint64)


def ngram_hashes(ids: numpy.ndarray, n: int) -> numpy.ndarray:
    """Hashes of all word n-grams of ``ids`` (empty when the text has fewer than n words)."""
    count = len(ids) - n + 1
    if count <= 0:
        return numpy.zeros(0, dtype=numpy.uint64)
    out = numpy.zeros(count, dtype=numpy.uint64)
    with numpy.errstate(over="ignore"):
        for k in range(n):
            out = out * _BASE + ids[k : k + count]
    return out


def text_digest(text: str) -> bytes:
    """Digest of a text's normalised word sequence (exact-duplicate key)."""
    return hashlib.blake2b(" ".join(words(text)).encode("utf8"), digest_size=16).digest()
