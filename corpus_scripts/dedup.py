"""Exact and near-duplicate document removal.

* exact: blake2b digest of the lower-cased word sequence (punctuation and spacing ignored);
* near: MinHash over word 5-shingles with banded LSH (numpy only). A document is a near
  duplicate when the MinHash estimate of its Jaccard similarity with an already kept
  document reaches ``threshold``; the first document in processing order is kept.
"""
from collections import defaultdict
from typing import Dict, List, Optional, Set

import numpy

from .ngrams import ngram_hashes, text_digest



class ExactDeduper:
    """Remembers normalised digests; ``seen`` is True for a repeated text."""

    def __init__(self) -> None:
        self._digests: Set[bytes] = set()

    def seen(self, text: str) -> bool:
        digest = text_digest(text)
        if digest in self._digests:
            return True
        self._digests.add(digest)
        return False


class MinHasher:
    """MinHash signatures of word-shingle sets (multiply-add hashing on uint64)."""

    def __init__(self, num_perm: int = 128, shingle: int = 5, seed: int = 0) -> None:
        rng = numpy.random.default_rng(seed)
        self.num_perm = num_perm
        self.shingle = shingle
        self.a = rng.integers(1, 2**63, size=num_perm, dtype=numpy.uint64) | numpy.uint64(1)
        self.b = rng.integers(0, 2**63, size=num_perm, dtype=numpy.uint64)

    def signature(self, ids: numpy.ndarray, block: int = 4096) -> numpy.ndarray:
        """Signature of the shingle set of a word-hash array (a short text is one shingle)."""
        shingles = ngram_hashes(ids, min(self.shingle, max(len(ids), 1)))
        if len(shingles) == 0:
            shingles = numpy.zeros(1, dtype=numpy.uint64)
        shingles = numpy.unique(shingles)
        sig = numpy.full(self.num_perm, numpy.iinfo(numpy.uint64).max, dtype=numpy.uint64)
        with numpy.errstate(over="ignore"):
            for start in range(0, len(shingles), block):
                part = shingles[start : start + block, None]
                values = (part * self.a[None, :] + self.b[None, :]) >> numpy.uint64(3)
                numpy.minimum(sig, values.min(axis=0), out=sig)
        return sig


class MinHashLSH:
    """Banded LSH index over MinHash signatures, verified by the signature estimate."""

    def __init__(self, num_perm: int = 128, bands: int = 16, threshold: float = 0.8) -> None:
        if num_perm % bands:
            raise ValueError(f"num_perm ({num_perm}) must be a multiple of bands ({bands})")
        self.bands = bands
        self.rows = num_perm // bands
        self.threshold = threshold
        self._tables: List[Dict[bytes, List[int]]] = [defaultdict(list) for _ in range(bands)]
        self._sigs = numpy.zeros((1024, num_perm), dtype=numpy.uint64)
        self._keys: List[str] = []

    def _band_keys(self, sig: numpy.ndarray) -> List[bytes]:
        return [sig[i * self.rows : (i + 1) * self.rows].tobytes() for i in range(self.bands)]

    def query(self, sig: numpy.ndarray) -> Optional[str]:
        """Key of the most similar kept document at or above the threshold, or None."""
        candidates: Set[int] = set()
        for table, key in zip(self._tables, self._band_keys(sig)):
            candidates.update(table.get(key, ()))
        if not candidates:
            return None
        rows = numpy.fromiter(sorted(candidates), dtype=numpy.int64)
        sims = (self._sigs[rows] == sig[None, :]).mean(axis=1)
        best = int(numpy.argmax(sims))
        return self._keys[rows[best]] if sims[best] >= self.threshold else None

    def insert(self, key: str, sig: numpy.ndarray) -> None:
        idx = len(self._keys)
        if idx == len(self._sigs):
            self._sigs = numpy.concatenate([self._sigs, numpy.zeros_like(self._sigs)])
        self._sigs[idx] = sig
        self._keys.append(key)
        for table, band in zip(self._tables, self._band_keys(sig)):
            table[band].append(idx)

    def add_if_new(self, key: str, sig: numpy.ndarray) -> Optional[str]:
        """Insert unless a near duplicate is indexed; return that duplicate's key."""
        dup = self.query(sig)
        if dup is None:
            self.insert(key, sig)
        return dup


def estimate_jaccard(sig_a: numpy.ndarray, sig_b: numpy.ndarray) -> float:
    """MinHash estimate of the Jaccard similarity of two shingle sets."""
    return float(numpy.mean(sig_a == sig_b))
