"""SentenceCorpus: chunks of whole sentences, never cutting an entity."""
import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span

from spacy_cbio.train.readers import SentenceCorpus, chunk_doc, cut_points
from spacy_cbio.train.testing import toy_docs


def make_doc(n_sents=6, sent_len=7, ents=((3, 5, "DISO"), (30, 41, "CHEM"))):
    words = [f"w{i}" for i in range(n_sents * sent_len)]
    starts = [i % sent_len == 0 for i in range(len(words))]
    doc = Doc(spacy.blank("fr").vocab, words=words, sent_starts=starts)
    doc.ents = [Span(doc, s, e, label=l) for s, e, l in ents]
    return doc


@pytest.mark.parametrize("max_tokens", [1, 3, 7, 10, 14, 100])
def test_cut_points_cover_doc_and_keep_entities(max_tokens):
    doc = make_doc()
    ranges = cut_points(doc, max_tokens)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(doc)
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    cuts = {start for start, _ in ranges}
    for ent in doc.ents:
        assert not any(ent.start < c < ent.end for c in cuts)
    for start, end in ranges:
        longest_entity = max(len(e) for e in doc.ents)
        assert end - start <= max(max_tokens, longest_entity)


def test_sentences_are_packed_whole():
    doc = make_doc(ents=())
    assert cut_points(doc, 14) == [(0, 14), (14, 28), (28, 42)]
    assert cut_points(doc, 20) == [(0, 14), (14, 28), (28, 42)]


def test_chunk_doc_keeps_entities_and_text():
    doc = make_doc()
    chunks = chunk_doc(doc, 10)
    assert "".join(c.text_with_ws for c in chunks) == doc.text_with_ws
    assert [(e.text, e.label_) for c in chunks for e in c.ents] == [(e.text, e.label_) for e in doc.ents]


def test_sentence_corpus_reader(tmp_path):
    nlp = spacy.blank("fr")
    docs = toy_docs(n_repeats=1, sentences_per_doc=6)
    DocBin(docs=docs).to_disk(tmp_path / "train.spacy")
    corpus = spacy.util.registry.resolve(
        {"c": {"@readers": "spacy_cbio.SentenceCorpus.v1", "path": str(tmp_path / "train.spacy"), "max_tokens": 12}}
    )["c"]
    examples = list(corpus(nlp))
    assert len(examples) > len(docs)
    assert all(len(eg.reference) <= 12 for eg in examples)
    assert sum(len(eg.reference.ents) for eg in examples) == sum(len(d.ents) for d in docs)
    # gold_tokens: the predicted doc has exactly the reference tokens.
    assert all([t.text for t in eg.predicted] == [t.text for t in eg.reference] for eg in examples)
    whole = list(SentenceCorpus(tmp_path / "train.spacy", max_tokens=0)(nlp))
    assert len(whole) == len(docs)
    with pytest.raises(FileNotFoundError):
        list(SentenceCorpus(tmp_path / "missing.spacy")(nlp))
