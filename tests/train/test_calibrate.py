"""Temperature scaling of the entity scores: the fit, the component, the saved pipeline, the command."""
import shutil

import numpy
import pytest
import spacy
import srsly
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_cbio.__main__ import app
from spacy_cbio.components.token_ner import temper
from spacy_cbio.evaluate.metrics import evaluate_examples, predict_examples
from spacy_cbio.train.calibrate import (EntityProbs, calibrate, calibrate_model, entity_probabilities,
                                        fit_temperature, log_loss, summary)
from spacy_cbio.train.testing import write_toy_corpus

runner = CliRunner()


def test_temper_keeps_each_rows_argmax_and_softens_or_sharpens():
    probs = numpy.asarray([[0.7, 0.2, 0.1], [0.05, 0.9, 0.05]], dtype="float32")
    assert temper(probs, 1.0) is probs
    soft, sharp = temper(probs, 3.0), temper(probs, 0.5)
    for scaled in (soft, sharp):
        assert numpy.allclose(scaled.sum(axis=1), 1.0, atol=1e-5)
        assert (scaled.argmax(axis=1) == probs.argmax(axis=1)).all()
    assert (soft.max(axis=1) < probs.max(axis=1)).all() and (sharp.max(axis=1) > probs.max(axis=1)).all()
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="positive"):
            temper(probs, bad)


def _entities(top: float, correct) -> EntityProbs:
    """One-token entities whose chosen tag has probability ``top`` (3 tags)."""
    n = len(correct)
    rest = (1 - top) / 2
    rows = numpy.tile(numpy.asarray([[rest, top, rest]], dtype="float32"), (n, 1))
    return EntityProbs(rows=rows, tag_ids=numpy.ones(n, dtype="int64"), starts=numpy.arange(n),
                       correct=numpy.asarray(correct, dtype=bool))


def test_fit_softens_overconfident_scores_and_sharpens_underconfident_ones():
    over = _entities(0.99, [True, False] * 20)  # scored 0.99, right half the time
    t_over = fit_temperature(over)
    assert t_over > 1
    assert summary(over, t_over, "mean")["ece"] < summary(over, 1.0, "mean")["ece"] - 0.3
    assert over.scores(t_over).mean() == pytest.approx(0.5, abs=0.02)
    under = _entities(0.6, [True] * 9 + [False])  # scored 0.6, right 90% of the time
    t_under = fit_temperature(under)
    assert t_under < 1
    assert log_loss(under.scores(t_under), under.correct) < log_loss(under.scores(1.0), under.correct)
    with pytest.raises(ValueError, match="no predicted entity"):
        fit_temperature(_entities(0.9, []))


def test_multi_token_entities_score_with_the_mean_or_the_min_of_their_tokens():
    rows = numpy.asarray([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1]], dtype="float32")
    probs = EntityProbs(rows=rows, tag_ids=numpy.asarray([1, 2, 1]), starts=numpy.asarray([0, 2]),
                        correct=numpy.asarray([True, False]))
    assert probs.scores(1.0).tolist() == pytest.approx([0.8, 0.6])
    assert probs.scores(1.0, "min").tolist() == pytest.approx([0.8, 0.6])
    assert probs.scores(1.0, "mean")[0] == pytest.approx(0.8) and len(probs) == 2


@pytest.fixture(scope="module")
def toy_dev(tmp_path_factory):
    return write_toy_corpus(tmp_path_factory.mktemp("calibration_toy"))["paths.dev"]


def test_temperature_moves_the_scores_not_the_entities(pipeline_dir, toy_dev):
    nlp = spacy.load(pipeline_dir)
    references = list(DocBin().from_disk(toy_dev).get_docs(nlp.vocab))
    before = predict_examples(nlp, references, progress=False)
    nlp.get_pipe("ner").set_temperature(4.0)
    after = predict_examples(nlp, references, progress=False)
    ents = lambda egs: [[(e.start, e.end, e.label_) for e in eg.predicted.ents] for eg in egs]  # noqa: E731
    assert ents(before) == ents(after) and any(ents(after))
    raw = [e._.score for eg in before for e in eg.predicted.ents]
    scaled = [e._.score for eg in after for e in eg.predicted.ents]
    assert all(s < r for s, r in zip(scaled, raw))
    kept = [s for eg in after for s in eg.predicted.spans["cbio_ents"].attrs["uncalibrated_scores"]]
    assert kept == pytest.approx(raw, abs=1e-6)
    metrics = evaluate_examples(after)
    assert metrics["calibration_uncalibrated"]["mean_confidence"] > metrics["calibration"]["mean_confidence"]
    with pytest.raises(ValueError, match="positive"):
        nlp.get_pipe("ner").set_temperature(0)


def test_calibrate_fits_on_the_predicted_entities_and_says_when_there_are_too_few(pipeline_dir, toy_dev):
    nlp = spacy.load(pipeline_dir)
    references = list(DocBin().from_disk(toy_dev).get_docs(nlp.vocab))
    probs = entity_probabilities(nlp, references, "ner")
    n_pred = sum(len(eg.predicted.ents) for eg in predict_examples(nlp, references, progress=False))
    assert len(probs) == n_pred > 0
    record = calibrate(nlp, references, min_entities=1)
    assert record["temperature"] == nlp.get_pipe("ner").temperature != 1.0
    assert record["after"]["log_loss"] <= record["before"]["log_loss"]
    skipped = calibrate(nlp, references, min_entities=n_pred + 1)
    assert skipped["temperature"] == 1.0 == nlp.get_pipe("ner").temperature
    assert f"{n_pred} predicted entities" in skipped["skipped"]
    with pytest.raises(ValueError, match="no cbio_token_ner"):
        calibrate(spacy.blank("fr"), references)


def test_calibrate_model_saves_the_temperature_with_the_pipeline(pipeline_dir, toy_dev, tmp_path):
    model = shutil.copytree(pipeline_dir, tmp_path / "model")
    weights = (model / "ner" / "model").read_bytes()
    record = calibrate_model(model, toy_dev, min_entities=1)
    saved = srsly.read_json(model / "calibration.json")
    assert saved["temperature"] == record["temperature"] and saved["data"] == toy_dev
    assert saved["after"]["ece"] == pytest.approx(record["after"]["ece"])
    assert (model / "ner" / "model").read_bytes() == weights
    assert spacy.load(model).get_pipe("ner").temperature == record["temperature"] != 1.0
    assert spacy.load(pipeline_dir).get_pipe("ner").temperature == 1.0  # the original is untouched


def test_calibrate_command(pipeline_dir, toy_dev, tmp_path):
    model = shutil.copytree(pipeline_dir, tmp_path / "model")
    result = runner.invoke(app, ["calibrate", str(model), toy_dev])
    assert result.exit_code == 0, result.output
    assert "Entity scores" in result.output and (model / "calibration.json").is_file()
    missing = runner.invoke(app, ["calibrate", str(model), str(tmp_path / "nope.spacy")])
    assert missing.exit_code == 1 and "no such DocBin" in missing.output
    not_a_model = runner.invoke(app, ["calibrate", str(tmp_path), toy_dev])
    assert not_a_model.exit_code == 2 and "config.cfg" in not_a_model.output
