"""The package meta: data licence, scores, base model and token features of a trained pipeline."""
from __future__ import annotations

import json

import pytest

from spacy_cbio.data.datasets import DATASETS
from spacy_cbio.package.meta import build_meta, pipeline_features


def _metrics(tmp_path):
    metrics = tmp_path / "metrics.json"
    strict = {"micro": {"p": 0.5, "r": 0.25, "f": 1 / 3}, "macro": {"p": 0.5, "r": 0.25, "f": 0.3},
              "per_type": {"DISO": {"p": 0.5, "r": 0.25, "f": 1 / 3, "support": 4, "n_pred": 2}}}
    metrics.write_text(json.dumps({"seqeval_strict_iob2": strict}))
    return metrics


def test_build_meta_records_data_licence_scores_and_base(tiny_pipeline, tmp_path):
    meta = build_meta(tiny_pipeline, "quaero", "cbio_ner", metrics_path=_metrics(tmp_path),
                      base_model="training/pretrain/small/model")
    assert meta["name"] == "cbio_ner" and meta["lang"] == "fr"
    assert meta["performance"]["ents_f"] == pytest.approx(1 / 3)
    assert meta["performance"]["ents_per_type"]["DISO"]["r"] == pytest.approx(0.25)
    assert {"DISO", "CHEM"} <= set(meta["labels"]["ner"])
    assert any(src["name"].startswith("transformer:") for src in meta["sources"])
    assert any(req.startswith("spacy-cbio") for req in meta["requirements"])
    # Licence, description and labels of the training data come from the dataset table.
    source = meta["sources"][0]
    assert source["name"] == "quaero" and source["url"] == DATASETS["quaero"].url
    assert meta["spacy_cbio"]["dataset_labels"] == list(DATASETS["quaero"].labels)
    assert meta["license"].startswith(DATASETS["quaero"].licence)
    assert DATASETS["quaero"].description in meta["description"]
    emea = build_meta(tiny_pipeline, "emea", "cbio_ner_emea")
    assert emea["sources"][0]["name"] == "emea" and DATASETS["emea"].description in emea["description"]
    # train tried to calibrate on dev; the toy pipeline predicts too few entities there to fit
    assert meta["spacy_cbio"]["calibration"]["temperature"] == 1.0
    assert "fewer than 20" in meta["spacy_cbio"]["calibration"]["skipped"]
    # the trained pipeline's token features (tiny profile: the transformer alone, no vectors)
    assert meta["spacy_cbio"]["features"] == {"recipe": "transformer", "features": "transformer"}


def test_meta_records_stacked_features(tmp_path):
    (tmp_path / "config.cfg").write_text('[paths]\nvectors = "training/vectors/small/both"\n\n'
                                         '[cbio]\nrecipe = "transformer"\nfeatures = "stacked"\n'
                                         'static_width = 192\nstatic_depth = 4\n\n'
                                         '[training]\nfrozen_components = ["transformer"]\n', encoding="utf8")
    meta = {"vectors": {"width": 600, "vectors": 50000, "keys": 0, "mode": "floret"}}
    assert pipeline_features(tmp_path, meta) == {
        "recipe": "transformer", "features": "stacked", "frozen": ["transformer"],
        "static_vectors": {"width": 600, "vectors": 50000, "keys": 0, "mode": "floret", "source": "both"},
        "static_tok2vec": {"width": 192, "depth": 4}}


def test_build_meta_rejects_wrong_dataset_and_non_pipeline(tiny_pipeline, tmp_path):
    with pytest.raises(ValueError, match="CHEM"):  # E3C has CLINENTITY only
        build_meta(tiny_pipeline, "e3c", "cbio_ner_e3c")
    with pytest.raises(ValueError, match="lower-case letters"):  # neither a dataset nor a corpus name
        build_meta(tiny_pipeline, "Not a name", "cbio_ner_x")
    mine = build_meta(tiny_pipeline, "mine", "cbio_ner_mine", licence="CC BY 4.0")  # a user's own corpus
    assert mine["license"] == "CC BY 4.0 (training data); code MIT" and mine["sources"][0]["name"] == "mine"
    with pytest.raises(FileNotFoundError, match="meta.json"):
        build_meta(tmp_path, "quaero", "cbio_ner")


def test_meta_records_the_fitted_temperature_and_the_test_ece(tiny_pipeline, tmp_path):
    import shutil

    model = shutil.copytree(tiny_pipeline, tmp_path / "model")
    (model / "calibration.json").write_text(json.dumps(
        {"temperature": 3.5, "data": "corpus/ner/quaero/dev.spacy", "n_entities": 40,
         "before": {"ece": 0.3}, "after": {"ece": 0.06}}))
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"calibration": {"ece": 0.09, "n_entities": 120},
                                   "calibration_uncalibrated": {"ece": 0.31, "n_entities": 120}}))
    record = build_meta(model, "quaero", "cbio_ner", metrics_path=metrics)["spacy_cbio"]["calibration"]
    assert record == {"temperature": 3.5, "fitted_on": "corpus/ner/quaero/dev.spacy", "dev_entities": 40,
                      "dev_ece_before": 0.3, "dev_ece_after": 0.06, "skipped": None,
                      "test_ece": 0.09, "test_ece_before": 0.31, "test_entities": 120}
