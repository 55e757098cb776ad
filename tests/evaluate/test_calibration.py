"""Calibration of the entity scores: reliability bins, ECE, the diagram."""
import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example

import spacy_cbio.components.token_ner  # noqa: F401  (registers span._.score)
from spacy_cbio.evaluate.calibration import calibration, plot_reliability, reliability
from spacy_cbio.evaluate.metrics import evaluate_examples, format_table

VOCAB = spacy.blank("fr").vocab
WORDS = ["Une", "toux", "et", "une", "fièvre", "sous", "paracétamol", "."]


def _doc(ents, scores=None):
    doc = Doc(VOCAB, words=WORDS)
    doc.ents = [Span(doc, s, e, label=label) for s, e, label in ents]
    for ent, score in zip(doc.ents, scores or []):
        ent._.score = score
    return doc


def test_ece_weights_each_bin_by_its_entities():
    gold = _doc([(1, 2, "DISO"), (4, 5, "DISO"), (6, 7, "CHEM")])
    # right (0.95), right (0.92), wrong label (0.91); in another doc, wrong boundaries (0.35)
    pred = _doc([(1, 2, "DISO"), (4, 5, "DISO"), (6, 7, "DISO")], [0.95, 0.92, 0.91])
    more = _doc([(5, 7, "CHEM")], [0.35])
    table = calibration([Example(pred, gold), Example(more, gold)])
    assert table["n_entities"] == 4 and table["accuracy"] == 0.5
    top = table["bins"][9]
    assert top["n"] == 3 and top["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert top["confidence"] == pytest.approx((0.95 + 0.92 + 0.91) / 3, abs=1e-4)
    assert table["bins"][3]["n"] == 1 and table["bins"][3]["accuracy"] == 0.0
    expected = 3 / 4 * abs(2 / 3 - (0.95 + 0.92 + 0.91) / 3) + 1 / 4 * abs(0.0 - 0.35)
    assert table["ece"] == pytest.approx(expected, abs=1e-4)
    assert reliability([(1.0, True), (1.0, True)])["ece"] == 0.0  # a score of exactly 1 is binned
    assert reliability([]) is None


def test_unscored_entities_give_no_calibration_and_the_table_says_the_ece(tmp_path):
    gold = _doc([(1, 2, "DISO")])
    assert evaluate_examples([Example(_doc([(1, 2, "DISO")]), gold)])["calibration"] is None
    metrics = evaluate_examples([Example(_doc([(1, 2, "DISO")], [0.8]), gold)])
    assert metrics["calibration"]["ece"] == pytest.approx(0.2)
    assert "entity scores: ECE 0.2000" in format_table(metrics)
    png = plot_reliability(metrics["calibration"], tmp_path / "plots" / "rel.png", title="toy")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_reliability(None, tmp_path / "none.png").read_bytes()[:4] == b"\x89PNG"  # no scored entity
