import numpy
from datasketch import LeanMinHash

from corpus_scripts.dedup import SCHEME, ExactDeduper, MinHasher, NearDuplicateIndex
from corpus_scripts.ngrams import ngram_hashes, word_ids


def shingles(text):
    return set(ngram_hashes(word_ids(text), 5).tolist())


def lean(values):
    return LeanMinHash(seed=0, hashvalues=numpy.array(values, dtype=numpy.uint64), scheme=SCHEME)


def test_exact_dedup_ignores_case_punctuation_and_spacing():
    dedup = ExactDeduper()
    assert not dedup.seen("Le patient, âgé de 50 ans.")
    assert dedup.seen("le  PATIENT âgé de 50 ans")
    assert not dedup.seen("Le patient âgé de 51 ans.")


def test_near_duplicate_removed_and_different_doc_kept(make_text):
    hasher, index = MinHasher(seed=0), NearDuplicateIndex(threshold=0.8)
    original = make_text(10, 400)
    words = original.split()
    for i in (5, 80, 160, 240, 330):
        words[i] = "changé"
    near = " ".join(words)
    other = make_text(11, 400)
    assert index.add_if_new("a", hasher.minhash(word_ids(original))) is None
    assert index.add_if_new("near", hasher.minhash(word_ids(near))) == "a"
    assert index.add_if_new("other", hasher.minhash(word_ids(other))) is None
    assert len(index) == 2


def test_lsh_candidates_are_checked_against_the_threshold():
    """16 bands of 8 rows: sharing one band makes a candidate, the estimate decides."""
    index = NearDuplicateIndex(num_perm=128, bands=16, threshold=0.8)
    base = numpy.arange(128)
    index.insert("first", lean(base))
    index.insert("second", lean(base))
    # 100/128 = 0.78 equal values: a candidate (bands 0-11 equal), below the threshold.
    below = base.copy()
    below[100:] += 1000
    assert index.query(lean(below)) is None
    # 104/128 = 0.81: a duplicate of both; the earliest kept document is reported.
    above = base.copy()
    above[104:] += 1000
    assert index.query(lean(above)) == "first"
    # No band in common: never compared, even though 112 of 128 values are equal.
    spread = base.copy()
    spread[::8] += 1000
    assert index.query(lean(spread)) is None


def test_minhash_estimates_jaccard(make_text):
    hasher = MinHasher(num_perm=256, seed=3)
    a = make_text(20, 300)
    b = " ".join(a.split()[:200] + make_text(21, 100).split())
    true = len(shingles(a) & shingles(b)) / len(shingles(a) | shingles(b))
    estimate = hasher.minhash(word_ids(a)).jaccard(hasher.minhash(word_ids(b)))
    assert abs(estimate - true) < 0.12
    assert 0.3 < true < 0.9  # the check is informative


def test_minhash_handles_short_and_empty_texts():
    hasher = MinHasher(num_perm=16)
    assert numpy.array_equal(hasher.signature(word_ids("deux mots")), hasher.signature(word_ids("Deux, mots !")))
    assert hasher.signature(word_ids("")).shape == (16,)
