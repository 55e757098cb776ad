"""The spacy-cbio wheel carries the NER configs and registers what they name."""
import zipfile

EXPECTED_CONFIGS = {"base.cfg", "head_transition.cfg", "features_stacked.cfg", "cnn.cfg", "profiles/tiny.cfg", "profiles/small.cfg", "profiles/paper.cfg"}


def test_wheel_ships_ner_configs_and_entry_points(own_wheel):
    with zipfile.ZipFile(own_wheel) as wheel:
        names = wheel.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        entry_points = wheel.read(entry_points).decode("utf8")
    prefix = "spacy_cbio/configs/ner/"
    assert {n[len(prefix):] for n in names if n.startswith(prefix)} == EXPECTED_CONFIGS
    assert "spacy_cbio.warmup_linear_ratio.v1 = spacy_cbio.train.schedules:warmup_linear_ratio" in entry_points
    assert "spacy_cbio.seqeval_scorer.v1 = spacy_cbio.components.scorer:make_seqeval_scorer" in entry_points
    assert "cbio_token_ner = spacy_cbio.components.token_ner:make_token_ner" in entry_points
    assert "spacy_cbio.StackedFeatures.v1 = spacy_cbio.components.features:build_stacked_features" in entry_points
