"""The NER scorer (seqeval strict IOB2): agreement with seqeval, where it differs from spaCy's
scorers, strict vs default mode, alignment of predicted to reference tokens."""
import pytest
import spacy
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2
from spacy.scorer import Scorer, get_ner_prf
from spacy.tokens import Doc, Span
from spacy.training import Example

from spacy_cbio.components.scorer import aligned_iob2, seqeval_report

VOCAB = spacy.blank("fr").vocab
WORDS = "Le patient a une fièvre et une toux sous paracétamol".split()


def doc(words, ents, spaces=None):
    d = Doc(VOCAB, words=words, spaces=spaces)
    d.ents = [Span(d, s, e, label=l) for s, e, l in ents]
    return d


def registered_scorer():
    """The scorer as configs name it (what spaCy's training loop and nlp.evaluate call)."""
    return spacy.util.registry.resolve({"s": {"@scorers": "spacy_cbio.seqeval_scorer.v1"}})["s"]


def split_token_examples():
    """Gold "fièvre" (one token); predicted tokens "fiè" "vre", each tagged DISO."""
    gold = doc(["La", "fièvre", "persiste", "."], [(1, 2, "DISO")], spaces=[True, True, False, False])
    pred = doc(["La", "fiè", "vre", "persiste", "."], [(1, 2, "DISO"), (2, 3, "DISO")],
               spaces=[True, False, True, False, False])
    return [Example(pred, gold)]


def test_scorer_agrees_with_direct_seqeval_call():
    gold = [doc(WORDS, [(3, 5, "DISO"), (6, 8, "DISO"), (9, 10, "CHEM")]), doc(WORDS[:5], [(4, 5, "DISO")])]
    pred = [
        doc(WORDS, [(4, 5, "DISO"), (6, 8, "DISO"), (9, 10, "DISO")]),  # boundary error, type error
        doc(WORDS[:5], [(4, 5, "DISO"), (1, 2, "CHEM")]),  # one false positive
    ]
    scores = registered_scorer()([Example(p, g) for p, g in zip(pred, gold)])
    y_true = [
        ["O", "O", "O", "B-DISO", "I-DISO", "O", "B-DISO", "I-DISO", "O", "B-CHEM"],
        ["O", "O", "O", "O", "B-DISO"],
    ]
    y_pred = [
        ["O", "O", "O", "O", "B-DISO", "O", "B-DISO", "I-DISO", "O", "B-DISO"],
        ["O", "B-CHEM", "O", "O", "B-DISO"],
    ]
    kw = {"mode": "strict", "scheme": IOB2}
    assert scores["ents_p"] == pytest.approx(precision_score(y_true, y_pred, **kw))
    assert scores["ents_r"] == pytest.approx(recall_score(y_true, y_pred, **kw))
    assert scores["ents_f"] == pytest.approx(f1_score(y_true, y_pred, **kw))
    assert scores["ents_p"] == pytest.approx(2 / 5) and scores["ents_r"] == pytest.approx(2 / 4)
    assert scores["ents_per_type"]["CHEM"]["f"] == 0.0
    assert scores["ents_per_type"]["DISO"]["r"] == pytest.approx(2 / 3)


def test_scorer_differs_from_spacys_scorers_on_split_tokens():
    """Predictions are widened to the reference tokens and scored once per reference span:
    spaCy's span scorer drops the misaligned predictions, its ner scorer counts the second
    one as a false positive. Either in place of ours fails here."""
    examples = split_token_examples()
    ours = registered_scorer()(examples)
    assert (ours["ents_p"], ours["ents_r"]) == (1.0, 1.0)
    assert Scorer.score_spans(examples, "ents")["ents_r"] == 0.0
    assert get_ner_prf(examples)["ents_p"] == pytest.approx(0.5)


def test_strict_and_default_modes_differ_on_invalid_sequences():
    y_true = [["B-DISO", "I-DISO", "O", "B-CHEM"]]
    y_pred = [["I-DISO", "I-DISO", "O", "B-CHEM"]]  # entity opened by I-: conlleval accepts it
    strict = seqeval_report(y_true, y_pred, mode="strict")
    default = seqeval_report(y_true, y_pred, mode="default")
    assert strict["micro"]["f"] == pytest.approx(f1_score(y_true, y_pred, mode="strict", scheme=IOB2))
    assert default["micro"]["f"] == pytest.approx(f1_score(y_true, y_pred))
    assert strict["counts"]["n_correct"] == 1 and default["counts"]["n_correct"] == 2
    assert strict["micro"]["f"] < default["micro"]["f"]


def test_report_counts_and_macro():
    y_true = [["B-A", "I-A", "O", "B-B"], ["B-A"]]
    y_pred = [["B-A", "I-A", "O", "O"], ["B-B"]]
    report = seqeval_report(y_true, y_pred)
    assert report["counts"] == {"n_gold": 3, "n_pred": 2, "n_correct": 1, "n_sequences": 2, "n_tokens": 5}
    assert report["per_type"]["A"]["support"] == 2 and report["per_type"]["B"]["n_pred"] == 1
    macro_f = (report["per_type"]["A"]["f"] + report["per_type"]["B"]["f"]) / 2
    assert report["macro"]["f"] == pytest.approx(macro_f)


def test_report_rejects_mismatched_sequences():
    with pytest.raises(ValueError):
        seqeval_report([["O", "B-A"]], [["O"]])
    with pytest.raises(ValueError):
        seqeval_report([["O"]], [["O"]], mode="lenient")


def test_no_entities_gives_none():
    ex = Example(doc(WORDS, []), doc(WORDS, []))
    scores = registered_scorer()([ex])
    assert scores["ents_f"] is None and scores["ents_per_type"] is None


def test_predicted_tokens_differ_from_reference():
    gold = doc(["La", "fiè", "vre", "."], [(1, 3, "DISO")], spaces=[True, False, True, False])
    pred = doc(["La", "fièvre", "."], [(1, 2, "DISO")], spaces=[True, True, False])
    gold_tags, pred_tags, expanded = aligned_iob2(Example(pred, gold))
    assert gold_tags == pred_tags == ["O", "B-DISO", "I-DISO", "O"]
    assert expanded == 0
    # A predicted entity ending inside a reference token is widened, and counted.
    gold2 = doc(["La", "fièvre", "."], [], spaces=[True, True, False])
    pred2 = doc(["La", "fiè", "vre", "."], [(1, 2, "DISO")], spaces=[True, False, True, False])
    _, tags, expanded = aligned_iob2(Example(pred2, gold2))
    assert tags == ["O", "B-DISO", "O"] and expanded == 1
    # Two predictions widened onto the same reference token: the first is kept, both counted.
    _, tags, expanded = aligned_iob2(split_token_examples()[0])
    assert tags == ["O", "B-DISO", "O", "O"] and expanded == 3
