"""The vectors stage on tiny corpora: floret training, spaCy conversion, equal sizes, concatenation."""
import json
import logging
import re

import numpy
import pytest
import spacy
from datasets import Dataset, DatasetDict
from typer.testing import CliRunner

from spacy_cbio.__main__ import app
from spacy_cbio.vectors.floret_vectors import PROBE_WORDS, write_tokenized
from spacy_cbio.settings import SettingsError
from spacy_cbio.vectors.stage import concatenate_vectors, load_settings, run_vectors

BIO = ("Le patient a reçu du paracétamol pour une hypertension et une insuffisance rénale. "
       "La tumeur a été traitée par un antibiotique ; le diabète est stable.")
GENERAL = ("Le soir tombait sur la ville et les enfants rentraient de l'école en chantant. "
           "Elle ouvrit la fenêtre, regarda la rue et sourit au voisin.")


def _corpus(path, sentence, n_texts):
    texts = [f"{sentence} Texte {i}." for i in range(n_texts)]
    DatasetDict({"train": Dataset.from_dict({"text": texts}),
                 "validation": Dataset.from_dict({"text": texts[:2]})}).save_to_disk(str(path / "dataset"))
    return path


@pytest.fixture(scope="module")
def vectors_dir(tmp_path_factory, repo_root):
    root = tmp_path_factory.mktemp("vectors")
    bio = _corpus(root / "bio_corpus", BIO, 120)
    general = _corpus(root / "general_corpus", GENERAL, 80)  # the smaller one sets the size
    run_vectors(repo_root / "configs" / "vectors" / "tiny.cfg", bio, general, root / "out")
    return root / "out"


def test_equal_sizes_and_record(vectors_dir):
    record = json.loads((vectors_dir / "vectors.json").read_text(encoding="utf8"))
    available = record["corpus_words_available"]
    assert available["general"] < available["bio"]
    assert record["words_per_corpus"] == available["general"]
    runs = record["runs"]
    # bio is cut at the general corpus's size (the last text is written whole)
    assert available["general"] <= runs["bio"]["words"] < available["general"] + len(BIO.split()) + 3
    assert runs["general"]["words"] == available["general"]
    for name in ("bio", "general"):
        assert set(runs[name]["nearest_neighbours"]) == set(PROBE_WORDS)
        assert runs[name]["spacy"] == {"rows": 2000, "dim": 16, "mode": "floret"}
    assert record["settings"]["dim"] == 16 and record["versions"]["floret"] != "not installed"
    assert "| paracétamol |" in (vectors_dir / "README.md").read_text(encoding="utf8")
    assert not (vectors_dir / "work").exists()


def test_one_thread_reruns_are_bit_identical(vectors_dir, tmp_path, repo_root, caplog):
    """The tiny profile trains floret with 1 thread: a rerun gives the same tables, and the
    record says so (with more threads floret's lock-free updates make reruns differ)."""
    record = json.loads((vectors_dir / "vectors.json").read_text(encoding="utf8"))
    assert record["settings"]["threads"] == 1 and record["bit_reproducible"] is True
    assert "bit for bit" in (vectors_dir / "README.md").read_text(encoding="utf8")
    root = vectors_dir.parent
    with caplog.at_level(logging.INFO, logger="spacy_cbio.vectors"):
        again = run_vectors(repo_root / "configs" / "vectors" / "tiny.cfg", root / "bio_corpus",
                            root / "general_corpus", tmp_path / "again")
    assert again["bit_reproducible"] is True
    # progress goes through logging, one message per step
    assert "[bio] training floret (cbow, dim 16, 2 epochs, 1 threads)" in caplog.text
    assert "[vectors] done in" in caplog.text
    for name in ("bio", "general"):
        first = spacy.load(vectors_dir / name).vocab.vectors.data
        second = spacy.load(tmp_path / "again" / name).vocab.vectors.data
        assert numpy.array_equal(numpy.asarray(first), numpy.asarray(second))


def test_two_jobs_train_the_same_vectors_as_one(vectors_dir, tmp_path, repo_root):
    """jobs = 2 trains bio and general in two processes at once: same tables as one by one."""
    config = tmp_path / "two_jobs.cfg"
    config.write_text((repo_root / "configs" / "vectors" / "tiny.cfg").read_text(encoding="utf8")
                      .replace("threads = 1", "threads = 1\njobs = 2"), encoding="utf8")
    assert load_settings(config).jobs == 2
    root = vectors_dir.parent
    record = run_vectors(config, root / "bio_corpus", root / "general_corpus", tmp_path / "two")
    assert record["bit_reproducible"] is True and "both corpora at once" in (tmp_path / "two" / "README.md").read_text()
    for name in ("bio", "general", "both"):
        one = numpy.asarray(spacy.load(vectors_dir / name).vocab.vectors.data)
        assert numpy.array_equal(one, numpy.asarray(spacy.load(tmp_path / "two" / name).vocab.vectors.data))
    config.write_text(config.read_text(encoding="utf8").replace("jobs = 2", "jobs = 3"), encoding="utf8")
    with pytest.raises(SettingsError, match=r"\[vectors\] jobs: must be 1 or 2 \(the bio and general corpora\), got 3"):
        load_settings(config)


def test_spacy_vectors_cover_unseen_words(vectors_dir):
    nlp = spacy.load(vectors_dir / "bio")
    assert nlp.vocab.vectors.mode == "floret"
    seen, unseen = nlp.vocab["paracétamol"].vector, nlp.vocab["paracétamolémie"].vector
    assert seen.shape == (16,) and numpy.abs(unseen).sum() > 0  # subword hashing: no zero vector
    assert numpy.dot(seen, unseen) / (numpy.linalg.norm(seen) * numpy.linalg.norm(unseen)) > 0.3


def test_both_is_the_concatenation(vectors_dir):
    bio, general, both = (spacy.load(vectors_dir / n).vocab for n in ("bio", "general", "both"))
    for word in ("paracétamol", "fenêtre", "inconnuissime"):
        numpy.testing.assert_allclose(both[word].vector, numpy.concatenate([bio[word].vector, general[word].vector]),
                                      rtol=1e-5, atol=1e-6)


def test_concatenation_refuses_other_hashing(vectors_dir, tmp_path):
    from spacy.vectors import Vectors

    other = spacy.blank("fr")
    other.vocab.vectors = Vectors(strings=other.vocab.strings, data=numpy.zeros((100, 16), dtype="float32"),
                                  mode="floret", minn=3, maxn=4, hash_count=2)
    other.to_disk(tmp_path / "other")
    with pytest.raises(ValueError, match="hashing settings"):
        concatenate_vectors(vectors_dir / "bio", tmp_path / "other", tmp_path / "out")


def test_tokenized_text_uses_spacy_tokens(tmp_path):
    counts = write_tokenized(["L'hypertension (HTA) persiste.", "   ", "Deux mots"], tmp_path / "t.txt", max_words=3)
    lines = (tmp_path / "t.txt").read_text(encoding="utf8").splitlines()
    assert lines == ["L' hypertension ( HTA ) persiste ."]  # cap reached after the first text
    assert counts == {"texts": 1, "words": 3, "tokens": 7}


def test_settings_reject_unknown_keys(tmp_path):
    bad = tmp_path / "bad.cfg"
    bad.write_text("[vectors]\ndim = 8\ndimension = 8\n", encoding="utf8")
    with pytest.raises(SettingsError, match=rf"^{re.escape(str(bad))}: \[vectors\] dimension: unknown key "
                                            r"\(known: bucket, dim, epoch, equal_size, "):
        load_settings(bad)


@pytest.mark.parametrize("line, expected", [
    ('dim = "300"', r"\[vectors\] dim: expected a valid integer, got '300' \(str\)"),
    ("equal_size = 1", r"\[vectors\] equal_size: expected a valid boolean, got 1"),
    ('model = "glove"', r"\[vectors\] model: expected 'cbow' or 'skipgram', got 'glove'"),
])
def test_settings_wrong_type_is_one_clear_error(tmp_path, line, expected):
    bad = tmp_path / "bad.cfg"
    bad.write_text(f"[corpus]\nmax_words = 0\n\n[vectors]\n{line}\n", encoding="utf8")
    with pytest.raises(SettingsError, match=expected) as info:
        load_settings(bad)
    assert str(info.value).startswith(f"{bad}: ") and len(info.value.problems) == 1


def test_shipped_profiles_load_with_defaults(repo_root):
    tiny = load_settings(repo_root / "configs" / "vectors" / "tiny.cfg")
    assert (tiny.dim, tiny.minn, tiny.maxn, tiny.threads, tiny.jobs, tiny.equal_size) == (16, 3, 4, 1, 1, True)
    paper = load_settings(repo_root / "configs" / "vectors" / "paper.cfg")
    assert paper.threads >= 1 and paper.epoch == 10 and paper.jobs == 1


def test_cli_missing_corpus_is_a_clear_error(tmp_path, repo_root):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["vectors", str(repo_root / "configs/vectors/tiny.cfg"), str(tmp_path / "empty"),
                                      str(tmp_path / "empty"), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "no dataset here" in result.output
