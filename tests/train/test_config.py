"""assemble_config: every dataset x profile x head gives a config spaCy accepts."""
import pytest
from spacy import util

from spacy_cbio.train.config import assemble_config, available, model_max_length, parse_overrides
from spacy_cbio.train.cli import assemble_config_cmd

DATASETS = ["e3c", "emea", "medline", "quaero", "cas1", "cas2"]
PROFILES = ["tiny", "small", "paper"]


def test_all_configs_present():
    assert set(DATASETS) <= set(available("datasets"))
    assert set(PROFILES) <= set(available("profiles"))


@pytest.mark.parametrize("head", ["token", "transition"])
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("dataset", DATASETS)
def test_assembled_config_loads(dataset, profile, head, tiny_hf_model_dir):
    config = assemble_config(dataset, profile, tiny_hf_model_dir, head=head)
    config = util.load_config_from_str(config.to_str())
    nlp = util.load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == ["transformer", "ner"]
    assert nlp.lang == "fr"
    expected = "cbio_token_ner" if head == "token" else "ner"
    assert nlp.get_pipe_meta("ner").factory == expected
    assert config["paths"]["train"] == f"corpus/ner/{dataset}/train.spacy"
    assert config["paths"]["dev"] == f"corpus/ner/{dataset}/dev.spacy"
    assert config["paths"]["transformer"] == str(tiny_hf_model_dir)
    assert config["training"]["frozen_components"] == []
    assert config["training"]["score_weights"]["ents_f"] == 1.0
    assert config["components"]["ner"]["scorer"]["@scorers"] == "spacy_cbio.seqeval_scorer.v1"


@pytest.mark.parametrize("profile", PROFILES)
def test_warmup_is_22_4_percent(profile):
    config = assemble_config("emea", profile).interpolate()
    schedule = config["training"]["optimizer"]["learn_rate"]
    assert schedule["warmup_steps"] == round(0.224 * config["training"]["max_steps"])
    assert schedule["total_steps"] == config["training"]["max_steps"]


def test_paper_profile_is_the_seed_recipe():
    config = assemble_config("quaero", "paper").interpolate()
    assert config["training"]["max_steps"] == 2000
    assert config["training"]["batcher"]["size"] == 16
    assert config["training"]["optimizer"]["learn_rate"]["warmup_steps"] == 448
    assert config["training"]["optimizer"]["learn_rate"]["initial_rate"] == 5e-5
    assert config["training"]["optimizer"]["L2"] == 0.0
    assert config["corpora"]["train"]["max_tokens"] == 128


def test_overrides_and_errors(tmp_path):
    config = assemble_config("emea", "tiny", overrides=parse_overrides(["training.max_steps=9", "system.seed=3"]))
    assert config["training"]["max_steps"] == 9 and config["system"]["seed"] == 3
    with pytest.raises(ValueError, match="unknown dataset"):
        assemble_config("nope", "tiny")
    with pytest.raises(ValueError, match="unknown profile"):
        assemble_config("emea", "huge")
    with pytest.raises(ValueError):
        assemble_config("emea", "tiny", head="crf")
    with pytest.raises(ValueError):
        parse_overrides(["max_steps"])


def test_model_max_length_from_local_model(tiny_hf_model_dir):
    limit = model_max_length(tiny_hf_model_dir)
    assert limit is not None and 0 < limit <= 512
    config = assemble_config("emea", "tiny", tiny_hf_model_dir)
    assert config["components"]["transformer"]["model"]["tokenizer_config"]["model_max_length"] == limit
    assert model_max_length("/nonexistent") is None


def test_assemble_config_command(tmp_path, tiny_hf_model_dir):
    out = tmp_path / "cfg" / "config.cfg"
    assemble_config_cmd("medline", out, "tiny", tiny_hf_model_dir, "transition", 7, ["training.max_steps=3"])
    config = util.load_config(out)
    assert config["system"]["seed"] == 7 and config["training"]["max_steps"] == 3
    assert config["components"]["ner"]["factory"] == "ner"
