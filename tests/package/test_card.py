"""The model card (README.md of a packaged pipeline) from a meta, without building anything."""
from spacy_cbio.package.card import LABEL_MEANINGS, model_card, usage_snippet

META = {
    "lang": "fr", "name": "cbio_ner_e3c", "version": "0.1.0", "description": "French biomedical NER (E3C).",
    "pipeline": ["transformer", "ner", "trf_cleaner"], "labels": {"transformer": [], "ner": ["CLINENTITY"]},
    "license": "CC BY-NC (training data); code MIT", "spacy_version": ">=3.8.18,<3.9.0",
    "requirements": ["spacy-transformers>=1.4.0,<1.5.0", "spacy-cbio>=0.1.0"],
    "sources": [{"name": "e3c", "description": "E3C", "url": "https://github.com/hltfbk/E3C-Corpus", "license": "CC BY-NC"}],
    "performance": {"ents_p": 0.72, "ents_r": 0.69, "ents_f": 0.70,
                    "ents_per_type": {"CLINENTITY": {"p": 0.72, "r": 0.69, "f": 0.70}}},
    "spacy_cbio": {"dataset": "e3c", "dataset_labels": ["CLINENTITY"], "base_model": "training/pretrain/small/model",
                   "training": {"profile": "small", "seed": 0, "max_steps": 600},
                   "features": {"recipe": "transformer", "features": "stacked", "frozen": ["transformer"],
                                "static_vectors": {"width": 300, "vectors": 50000, "mode": "floret", "source": "bio"},
                                "static_tok2vec": {"width": 192, "depth": 4}}},
}


def test_card_without_test_metrics_says_the_scores_are_dev_scores():
    card = model_card(META, find_links="packages/small")
    assert "pip install --find-links packages/small fr_cbio_ner_e3c" in card
    assert "**development-set** scores" in card and "**`small` profile** (seed 0, max_steps 600)" in card
    assert "| micro | 72.00 | 69.00 | 70.00 |" in card and "| `CLINENTITY` | clinical entity" in card
    assert "Token features: `stacked`" in card and "(192 wide, 4 deep)" in card
    assert "width 300, vectors 50000, mode floret, source bio (floret, trained on the biomedical corpus)" in card
    assert "Frozen during training: transformer" in card and "`spacy-transformers>=1.4.0,<1.5.0`" in card
    assert "CC BY-NC" in card and "not for clinical decisions" in card
    assert "**one training run**" in card and "`docs/results/small/RESULTS.md`" in card
    assert 'exclude=["trf_cleaner"]' in card
    assert "Not measured (packaged with `--no-measure`)." in card
    measured = {**META, "spacy_cbio": {**META["spacy_cbio"], "inference": {
        "words_per_s": {"1": 2489.4, "2": 3062.0}, "load_s": 3.21, "peak_rss_mib": 812.4, "size_mb": 141.2,
        "texts": {"source": "corpus/ner/e3c/test.spacy", "documents": 40, "words": 5012}, "batch_size": 16,
        "machine": {"cpu": "AMD EPYC", "cpu_cores": 2}, "measured": "2026-12-01"}}}
    timed = model_card(measured, find_links="packages/small")
    assert "on AMD EPYC (2 cores), 2026-12-01" in timed and "| 2 threads | 3,062 |" in timed
    assert "Peak memory (RSS): 812 MiB; load time: 3.2 s; size on disk: 141.2 MB." in timed
    older = model_card({**META, "pipeline": ["transformer", "ner"]}, find_links="packages/small")
    assert "trf_cleaner" not in older  # a pipeline without one is not said to have one


def test_usage_snippet_is_five_lines_and_every_dataset_label_has_a_meaning():
    from spacy_cbio.data.datasets import DATASETS

    assert len(usage_snippet("fr_cbio_ner").splitlines()) == 5
    labels = {label for spec in DATASETS.values() for label in spec.labels}
    assert labels <= set(LABEL_MEANINGS)


def test_card_gives_the_test_ece_before_and_after_calibration_and_says_when_it_misses_the_goal():
    assert "Not measured: no calibration record" in model_card(META)
    fitted = {"temperature": 6.19, "fitted_on": "corpus/ner/e3c/dev.spacy", "dev_entities": 158, "skipped": None,
              "test_ece_before": 0.374, "test_ece": 0.188, "test_entities": 871}
    card = model_card({**META, "spacy_cbio": {**META["spacy_cbio"], "calibration": fitted}})
    assert "temperature-scaled (T = 6.19)" in card and "(158 predicted entities)" in card
    assert "| before temperature scaling | 0.374 |" in card and "| as packaged | 0.188 |" in card
    assert "At 0.188 it is above 0.05" in card
    good = model_card({**META, "spacy_cbio": {**META["spacy_cbio"], "calibration": {**fitted, "test_ece": 0.041}}})
    assert "It is within 0.05." in good
    skipped = {"temperature": 1.0, "fitted_on": "dev.spacy", "skipped": "3 predicted entities, fewer than 20: "
               "temperature left at 1", "test_ece": None}
    assert "is not calibrated: 3 predicted entities" in model_card({**META, "spacy_cbio": {**META["spacy_cbio"],
                                                                                       "calibration": skipped}})
