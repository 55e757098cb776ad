import numpy

from corpus_scripts.dedup import ExactDeduper, MinHasher, MinHashLSH, estimate_jaccard
from corpus_scripts.ngrams import ngram_hashes, word_ids


def shingles(text):
    return set(ngram_hashes(word_ids(text), 5).tolist())


def test_exact_dedup_ignores_case_punctuation_and_spacing():
    dedup = ExactDeduper()
    assert not dedup.seen("Le patient, âgé de 50 ans.")
    assert dedup.seen("le  PATIENT âgé de 50 ans")
    assert not dedup.seen("Le patient âgé de 51 ans.")


def test_near_duplicate_removed_and_different_doc_kept(make_text):
    hasher, lsh = MinHasher(seed=0), MinHashLSH(threshold=0.8)
    original = make_text(10, 400)
    words = original.split()
    for i in (5, 80, 160, 240, 330):
        words[i] = "changé"
    near = " ".join(words)
    other = make_text(11, 400)
    assert lsh.add_if_new("a", hasher.signature(word_ids(original))) is None
    assert lsh.add_if_new("near", hasher.signature(word_ids(near))) == "a"
    assert lsh.add_if_new("other", hasher.signature(word_ids(other))) is None


def test_minhash_estimates_jaccard(make_text):
    hasher = MinHasher(num_perm=256, seed=3)
    a = make_text(20, 300)
    b = " ".join(a.split()[:200] + make_text(21, 100).split())
    true = len(shingles(a) & shingles(b)) / len(shingles(a) | shingles(b))
    estimate = estimate_jaccard(hasher.signature(word_ids(a)), hasher.signature(word_ids(b)))
    assert abs(estimate - true) < 0.12
    assert 0.3 < true < 0.9  # the check is informative


def test_minhash_handles_short_and_empty_texts():
    hasher = MinHasher(num_perm=16)
    assert numpy.array_equal(hasher.signature(word_ids("deux mots")), hasher.signature(word_ids("Deux, mots !")))
    assert hasher.signature(word_ids("")).shape == (16,)
