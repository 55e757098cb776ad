"""Exact and near-duplicate document removal.

* exact: blake2b digest of the lower-cased word sequence (punctuation and spacing ignored);
* near: MinHash over word 5-shingles, indexed with ``datasketch``'s banded ``MinHashLSH``.
  A document is a near duplicate when the MinHash estimate of its Jaccard similarity with
  an already kept document reaches ``threshold``; the first document in processing order
  is kept.
"""
from typing import Dict, Optional, Set, Tuple

import numpy
from datasketch import LeanMinHash, MinHashLSH

from .ngrams import ngram_hashes, text_digest

SCHEME = "affine64"  # datasketch's name for 64-bit multiply-add permutations, as below


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
    """MinHash signatures of word-shingle sets (multiply-add hashing on uint64).

    Computed here, vectorised over all shingles of a document, rather than with
    ``datasketch.MinHash.update_batch``, which hashes each shingle in Python (SHA-1) and
    gives other values, i.e. another set of removed documents."""

    def __init__(self, num_perm: int = 128, shingle: int = 5, seed: int = 0) -> None:
        rng = numpy.random.default_rng(seed)
        self.seed = seed
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

    def minhash(self, ids: numpy.ndarray) -> LeanMinHash:
        """The signature as a datasketch ``LeanMinHash`` (what ``NearDuplicateIndex`` takes)."""
        return LeanMinHash(seed=self.seed, hashvalues=self.signature(ids), scheme=SCHEME)


class NearDuplicateIndex:
    """Kept documents in datasketch's ``MinHashLSH`` (``bands`` bands of ``num_perm / bands``
    rows); an LSH candidate is a duplicate when its estimated Jaccard reaches ``threshold``."""

    def __init__(self, num_perm: int = 128, bands: int = 16, threshold: float = 0.8) -> None:
        if num_perm % bands:
            raise ValueError(f"num_perm ({num_perm}) must be a multiple of bands ({bands})")
        self.threshold = threshold
        self._lsh = MinHashLSH(num_perm=num_perm, params=(bands, num_perm // bands))
        self._kept: Dict[str, Tuple[int, LeanMinHash]] = {}  # key -> (insertion rank, minhash)

    def __len__(self) -> int:
        return len(self._kept)

    def query(self, minhash: LeanMinHash) -> Optional[str]:
        """Key of the most similar kept document at or above the threshold (the earliest
        kept on ties), or None."""
        best_key, best_sim = None, -1.0
        for _, key in sorted((self._kept[k][0], k) for k in self._lsh.query(minhash)):
            sim = minhash.jaccard(self._kept[key][1])
            if sim > best_sim:
                best_key, best_sim = key, sim
        return best_key if best_sim >= self.threshold else None

    def insert(self, key: str, minhash: LeanMinHash) -> None:
        self._lsh.insert(key, minhash)
        self._kept[key] = (len(self._kept), minhash)

    def add_if_new(self, key: str, minhash: LeanMinHash) -> Optional[str]:
        """Insert unless a near duplicate is indexed; return that duplicate's key."""
        dup = self.query(minhash)
        if dup is None:
            self.insert(key, minhash)
        return dup
