"""``evaluate``: seqeval strict IOB2 metrics of a pipeline on a DocBin, spaCy's scores beside
them; ``evaluate-seeds``: mean and std over runs."""
from importlib import metadata

import pytest
import spacy
import srsly
from spacy.scorer import Scorer
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example

from spacy_cbio.evaluate.cli import evaluate
from spacy_cbio.evaluate.metrics import aggregate, evaluate_examples
from spacy_cbio.train.pipeline import train_pipeline
from spacy_cbio.train.testing import write_toy_corpus

VOCAB = spacy.blank("fr").vocab


def doc(words, spaces, ents):
    d = Doc(VOCAB, words=words, spaces=spaces)
    d.ents = [Span(d, s, e, label=l) for s, e, l in ents]
    return d


def test_evaluate_examples_reports_seqeval_and_spacy_separately():
    # Gold "fièvre" is one token; the pipeline split it and tagged both pieces.
    gold = doc(["La", "fièvre", "persiste", "."], [True, True, False, False], [(1, 2, "DISO")])
    pred = doc(["La", "fiè", "vre", "persiste", "."], [True, False, True, False, False], [(1, 2, "DISO"), (2, 3, "DISO")])
    no_gold = Doc(VOCAB, words=["Rien", "."])  # no NER annotation: not scored
    examples = [Example(pred, gold), Example(Doc(VOCAB, words=["Rien", "."]), no_gold)]
    metrics = evaluate_examples(examples)
    strict = metrics["seqeval_strict_iob2"]
    assert strict["micro"] == {"p": 1.0, "r": 1.0, "f": 1.0}
    assert strict["counts"]["n_gold"] == strict["counts"]["n_correct"] == 1
    assert metrics["seqeval_default"]["micro"]["f"] == 1.0
    spacy_scores = Scorer.score_spans(examples, "ents")
    assert metrics["spacy"] == {k: spacy_scores[k] for k in ("ents_p", "ents_r", "ents_f")}
    assert metrics["spacy"]["ents_r"] == 0.0  # spaCy drops the misaligned predictions
    assert metrics["n_docs"] == 2 and metrics["n_docs_scored"] == 1
    assert metrics["n_pred_ents_expanded_to_reference_tokens"] == 3


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
    paths = write_toy_corpus(tmp_path / "corpus")
    train_pipeline(tmp_path / "run", "tiny", {**paths, "paths.transformer": str(tiny_hf_model_dir),
                                              "training.max_steps": 2}, threads=1)
    out = tmp_path / "metrics.json"
    metrics = evaluate(str(tmp_path / "run" / "model-best"), tmp_path / "corpus" / "test.spacy", out,
                       gpu_id=-1, gold_tokens=True, batch_size=4, skip_missing=False, reliability_plot=None)
    saved = srsly.read_json(out)
    test_docs = list(DocBin().from_disk(tmp_path / "corpus" / "test.spacy").get_docs(VOCAB))
    assert saved["seqeval_strict_iob2"]["counts"]["n_gold"] == sum(len(d.ents) for d in test_docs)
    assert saved["n_tokens"] == metrics["n_tokens"] == sum(len(d) for d in test_docs)  # gold tokens predicted
    assert saved["versions"]["seqeval"] == metadata.version("seqeval")
    assert saved["model_meta"]["name"]
