"""seqeval strict IOB2 scorer: agreement with seqeval, strict vs default, alignment, CLI, seeds."""
import pytest
import spacy
import srsly
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example

from spacy_cbio.evaluate.cli import aggregate, evaluate, evaluate_examples
from spacy_cbio.evaluate.seqeval_scorer import aligned_iob2, make_seqeval_scorer, seqeval_report

VOCAB = spacy.blank("fr").vocab


def doc(words, ents):
    d = Doc(VOCAB, words=words)
    d.ents = [Span(d, s, e, label=l) for s, e, l in ents]
    return d


WORDS = "Le patient a une fièvre et une toux sous paracétamol".split()


@pytest.fixture
def examples():
    gold = [
        doc(WORDS, [(3, 5, "DISO"), (6, 8, "DISO"), (9, 10, "CHEM")]),
        doc(WORDS[:5], [(4, 5, "DISO")]),
    ]
    pred = [
        doc(WORDS, [(4, 5, "DISO"), (6, 8, "DISO"), (9, 10, "DISO")]),  # boundary error, type error
        doc(WORDS[:5], [(4, 5, "DISO"), (1, 2, "CHEM")]),  # one false positive
    ]
    return [Example(p, g) for p, g in zip(pred, gold)]


def test_scorer_agrees_with_direct_seqeval_call(examples):
    scores = make_seqeval_scorer()(examples)
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


def test_no_entities_gives_none():
    ex = Example(doc(WORDS, []), doc(WORDS, []))
    scores = make_seqeval_scorer()([ex])
    assert scores["ents_f"] is None and scores["ents_per_type"] is None


def test_predicted_tokens_differ_from_reference():
    gold = Doc(VOCAB, words=["La", "fiè", "vre", "."], spaces=[True, False, True, False])
    gold.ents = [Span(gold, 1, 3, label="DISO")]
    pred = Doc(VOCAB, words=["La", "fièvre", "."], spaces=[True, True, False])
    pred.ents = [Span(pred, 1, 2, label="DISO")]
    gold_tags, pred_tags, expanded = aligned_iob2(Example(pred, gold))
    assert gold_tags == pred_tags == ["O", "B-DISO", "I-DISO", "O"]
    assert expanded == 0
    # A predicted entity ending inside a reference token is widened, and counted.
    gold2 = Doc(VOCAB, words=["La", "fièvre", "."], spaces=[True, True, False])
    pred2 = Doc(VOCAB, words=["La", "fiè", "vre", "."], spaces=[True, False, True, False])
    pred2.ents = [Span(pred2, 1, 2, label="DISO")]
    _, tags, expanded = aligned_iob2(Example(pred2, gold2))
    assert tags == ["O", "B-DISO", "O"] and expanded == 1


def test_evaluate_examples_keeps_spacy_scores_for_comparison(examples):
    metrics = evaluate_examples(examples)
    assert metrics["spacy"]["ents_f"] == pytest.approx(metrics["seqeval_strict_iob2"]["micro"]["f"])
    assert metrics["n_docs_scored"] == 2


def test_aggregate_mean_std(tmp_path):
    files = []
    for i, f in enumerate([0.5, 0.7, 0.9]):
        path = tmp_path / f"m{i}.json"
        row = {"p": f, "r": f, "f": f}
        srsly.write_json(path, {"seqeval_strict_iob2": {"micro": row, "macro": row,
                                                        "per_type": {"A": {"f": f}}}})
        files.append(path)
    result = aggregate(files)
    assert result["micro"]["f"]["mean"] == pytest.approx(0.7)
    assert result["micro"]["f"]["std"] == pytest.approx(0.2)
    assert result["per_type_f"]["A"]["n"] == 3
    with pytest.raises(ValueError):
        aggregate([])


def test_evaluate_command(tmp_path, tiny_hf_model_dir):
    from spacy_cbio.train.cli import train
    from spacy_cbio.train.testing import write_toy_corpus

    dataset = write_toy_corpus(tmp_path / "corpus")
    train(str(dataset), transformer=tiny_hf_model_dir, profile="tiny", output=tmp_path / "run", seed=0,
          head="token", gpu_id=-1, overrides=["training.max_steps=2"], threads=1)
    out = tmp_path / "metrics.json"
    metrics = evaluate(str(tmp_path / "run" / "model-best"), tmp_path / "corpus" / "test.spacy", out, -1, True, 4)
    saved = srsly.read_json(out)
    n_gold = sum(len(d.ents) for d in DocBin().from_disk(tmp_path / "corpus" / "test.spacy").get_docs(VOCAB))
    assert saved["seqeval_strict_iob2"]["counts"]["n_gold"] == n_gold
    assert saved["versions"]["seqeval"] == "1.2.2"
    assert saved["model_meta"]["name"]
    assert metrics["n_tokens"] > 0
