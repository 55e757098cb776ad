"""cbio_token_ner with a small CNN tok2vec: labels, training, scores, serialization."""
import numpy
import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example

from spacy_cbio.components.iob import is_valid_iob2
from spacy_cbio.components.token_ner import TokenNER
from spacy_cbio.train.testing import toy_docs

CNN_MODEL = {
    "@architectures": "spacy.Tagger.v2",
    "normalize": True,
    "tok2vec": {
        "@architectures": "spacy.HashEmbedCNN.v2",
        "pretrained_vectors": None,
        "width": 32,
        "depth": 1,
        "embed_size": 300,
        "window_size": 1,
        "maxout_pieces": 2,
        "subword_features": True,
    },
}


def make_nlp(**config):
    nlp = spacy.blank("fr")
    nlp.add_pipe("cbio_token_ner", name="ner", config={"model": CNN_MODEL, **config})
    return nlp


def examples(nlp):
    return [Example(nlp.make_doc(doc.text), doc) for doc in toy_docs(n_repeats=2)]


@pytest.fixture(scope="module")
def trained():
    spacy.util.fix_random_seed(0)
    nlp = make_nlp()
    train = examples(nlp)
    optimizer = nlp.initialize(lambda: train)
    losses = []
    for _ in range(25):
        step = {}
        nlp.update(train, sgd=optimizer, losses=step)
        losses.append(step["ner"])
    return nlp, losses


def test_factory_and_labels_from_examples(trained):
    nlp, _ = trained
    ner = nlp.get_pipe("ner")
    assert isinstance(ner, TokenNER)
    assert ner.labels == ("CHEM", "DISO")
    assert ner.tags == ("O", "B-CHEM", "I-CHEM", "B-DISO", "I-DISO")


def test_add_label_after_initialize_fails(trained):
    nlp, _ = trained
    with pytest.raises(ValueError, match="before initialization"):
        nlp.get_pipe("ner").add_label("ANAT")


def test_add_label_rejects_bad_labels():
    ner = make_nlp().get_pipe("ner")
    assert ner.add_label("DISO") == 1
    assert ner.add_label("DISO") == 0
    for bad in ("", "O", 3):
        with pytest.raises(ValueError):
            ner.add_label(bad)


def test_loss_decreases_and_entities_learned(trained):
    nlp, losses = trained
    assert losses[-1] < losses[0] / 2
    doc = nlp("La fièvre a disparu après amoxicilline .")
    assert [(e.text, e.label_) for e in doc.ents] == [("fièvre", "DISO"), ("amoxicilline", "CHEM")]


def test_span_scores(trained):
    nlp, _ = trained
    doc = nlp("Une toux sèche persiste malgré le paracétamol .")
    group = doc.spans["cbio_ents"]
    assert [(s.start, s.end, s.label_) for s in group] == [(e.start, e.end, e.label_) for e in doc.ents]
    scores = group.attrs["scores"]
    assert len(scores) == len(group) > 0
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert [e._.score for e in doc.ents] == pytest.approx(list(scores))


def test_min_score_method_is_not_above_mean(trained):
    nlp, _ = trained
    ner = nlp.get_pipe("ner")
    text = "Il prend de l' amoxicilline contre la toux ."
    mean_scores = list(nlp(text).spans["cbio_ents"].attrs["scores"])
    ner.cfg["score_method"] = "min"
    try:
        min_scores = list(nlp(text).spans["cbio_ents"].attrs["scores"])
    finally:
        ner.cfg["score_method"] = "mean"
    assert all(m <= a + 1e-7 for m, a in zip(min_scores, mean_scores))


def test_invalid_head_output_is_repaired_before_annotation(trained):
    """The head's best tag per token may be invalid IOB2 (``I-DISO`` after ``O``): the component
    decodes the best valid sequence (``B-DISO I-DISO``) instead, and scores the chosen tags."""
    nlp, _ = trained
    ner = nlp.get_pipe("ner")
    column = {tag: i for i, tag in enumerate(ner.tags)}
    doc = nlp.make_doc("La fièvre persiste .")
    rows = [{"O": 0.9}, {"I-DISO": 0.6, "B-DISO": 0.3, "O": 0.1}, {"I-DISO": 0.8, "O": 0.2}, {"O": 0.9}]
    probs = numpy.full((len(doc), len(ner.tags)), 0.0, dtype="float32")
    for i, row in enumerate(rows):
        rest = (1.0 - sum(row.values())) / (len(ner.tags) - len(row))
        probs[i] = rest
        for tag, p in row.items():
            probs[i, column[tag]] = p
    assert not is_valid_iob2([ner.tags[i] for i in probs.argmax(axis=1)])  # the raw best tags
    ner.set_annotations([doc], [probs])
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(1, 3, "DISO")]
    assert doc.ents[0]._.score == pytest.approx((0.3 + 0.8) / 2)


def test_empty_doc(trained):
    nlp, _ = trained
    doc = nlp("")
    assert len(doc.ents) == 0
    assert len(doc.spans["cbio_ents"]) == 0
    docs = list(nlp.pipe(["", "La fièvre ."]))
    assert len(docs[0].ents) == 0


def test_overwrite_ents_false_keeps_existing(trained):
    nlp, _ = trained
    ner = nlp.get_pipe("ner")
    doc = nlp.make_doc("La fièvre a disparu après amoxicilline .")
    doc.ents = [Span(doc, 1, 2, label="PRESET")]
    ner.cfg["overwrite_ents"] = False
    try:
        doc = ner(doc)
    finally:
        ner.cfg["overwrite_ents"] = True
    labels = {(e.text, e.label_) for e in doc.ents}
    assert ("fièvre", "PRESET") in labels and ("amoxicilline", "CHEM") in labels


def test_misaligned_gold_is_missing(trained):
    nlp, _ = trained
    ner = nlp.get_pipe("ner")
    ref = Doc(nlp.vocab, words=["La", "fiè", "vre", "."])
    ref.ents = [Span(ref, 2, 3, label="DISO")]  # "vre": inside the predicted token "fièvre"
    example = Example(nlp.make_doc("La fièvre ."), ref)
    assert ner.gold_tags(example) == ["O", None, "O"]


def test_serialization_bytes_and_disk(trained, tmp_path):
    nlp, _ = trained
    texts = ["Une toux sèche persiste malgré le paracétamol .", "Le patient a une fièvre depuis hier ."]
    before = [nlp(t) for t in texts]
    ner_bytes = nlp.get_pipe("ner").to_bytes()
    nlp_bytes = make_nlp()
    nlp_bytes.get_pipe("ner").from_bytes(ner_bytes)
    nlp.to_disk(tmp_path / "pipe")
    nlp_disk = spacy.load(tmp_path / "pipe")
    for reloaded in (nlp_bytes, nlp_disk):
        assert reloaded.get_pipe("ner").labels == ("CHEM", "DISO")
        for doc, text in zip(before, texts):
            again = reloaded(text)
            assert [(e.start, e.end, e.label_) for e in again.ents] == [(e.start, e.end, e.label_) for e in doc.ents]
            numpy.testing.assert_allclose(
                again.spans["cbio_ents"].attrs["scores"], doc.spans["cbio_ents"].attrs["scores"], rtol=1e-5
            )


def test_default_scorer_is_seqeval_on_reference_tokens(trained):
    """A prediction split over two tokens inside one gold token: ours widens and scores it
    once (P = R = 1); spaCy's ner scorer (P 0.5) or span scorer (R 0) would fail here."""
    nlp, _ = trained
    gold = Doc(nlp.vocab, words=["La", "fièvre", "."], spaces=[True, True, False])
    gold.ents = [Span(gold, 1, 2, label="DISO")]
    pred = Doc(nlp.vocab, words=["La", "fiè", "vre", "."], spaces=[True, False, True, False])
    pred.ents = [Span(pred, 1, 2, label="DISO"), Span(pred, 2, 3, label="DISO")]
    for ner in (nlp.get_pipe("ner"), make_nlp(scorer=None).get_pipe("ner")):
        scores = ner.score([Example(pred, gold)])
        assert (scores["ents_p"], scores["ents_r"]) == (1.0, 1.0)


def test_probabilities_and_confidences(trained):
    nlp, _ = trained
    doc = nlp.make_doc("La fièvre a disparu après amoxicilline .")
    (probs,) = nlp.get_pipe("ner").predict([doc])
    numpy.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)  # normalize = true
    doc = nlp(doc.text)
    tag_ids = {t: i for i, t in enumerate(nlp.get_pipe("ner").tags)}
    for ent in doc.ents:
        tags = [f"B-{ent.label_}"] + [f"I-{ent.label_}"] * (len(ent) - 1)
        expected = numpy.mean([probs[ent.start + k, tag_ids[tag]] for k, tag in enumerate(tags)])
        assert ent._.score == pytest.approx(float(expected), rel=1e-5)


def test_invalid_score_method():
    with pytest.raises(ValueError):
        make_nlp(score_method="max")
