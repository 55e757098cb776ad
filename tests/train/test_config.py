"""assemble_config: every profile x head gives a config spaCy accepts; configs ship with the
package; spaCy-style overrides; the 22.4% warmup schedule."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
from spacy import util
from spacy.cli._util import parse_config_overrides
from thinc.api import warmup_linear
from typer.testing import CliRunner

from spacy_cbio.__main__ import app
from spacy_cbio.settings import SettingsError
from spacy_cbio.train.config import assemble_config, available_profiles, config_dir, model_max_length
from spacy_cbio.train.schedules import warmup_steps

REPO = Path(__file__).resolve().parents[2]
PROFILES = ["tiny", "small", "paper"]


def test_configs_ship_inside_the_package():
    import spacy_cbio

    package_dir = Path(spacy_cbio.__file__).resolve().parent
    assert package_dir in config_dir().resolve().parents
    assert set(PROFILES) <= set(available_profiles())
    # The repository's configs/ner is a link to the packaged configs, not a copy.
    assert (REPO / "configs" / "ner").is_symlink()
    assert (REPO / "configs" / "ner").resolve() == config_dir().resolve()


@pytest.mark.parametrize("head", ["token", "transition"])
@pytest.mark.parametrize("profile", PROFILES)
def test_assembled_config_loads(profile, head, tiny_hf_model_dir):
    overrides = {"paths.train": "corpus/ner/emea/train.spacy", "paths.dev": "corpus/ner/emea/dev.spacy",
                 "paths.transformer": str(tiny_hf_model_dir)}
    config = assemble_config(profile, head=head, overrides=overrides)
    config = util.load_config_from_str(config.to_str())
    nlp = util.load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == ["transformer", "ner", "trf_cleaner"]
    assert nlp.lang == "fr"
    expected = "cbio_token_ner" if head == "token" else "ner"
    assert nlp.get_pipe_meta("ner").factory == expected
    for key, value in overrides.items():
        assert config["paths"][key.split(".")[1]] == value
    # Both heads are scored by the seqeval scorer, not by the factory's default one.
    assert util.registry.resolve(config.interpolate()["components"]["ner"])["scorer"].__name__ == "score_seqeval"


@pytest.mark.parametrize("ratio,steps,expected", [(0.224, 2000, 448), (0.224, 600, 134), (0.224, 4, 1), (0.0, 10, 0)])
def test_warmup_steps(ratio, steps, expected):
    assert warmup_steps(ratio, steps) == expected


@pytest.mark.parametrize("profile", PROFILES)
def test_learning_rate_warms_up_over_22_4_percent(profile):
    config = util.load_config_from_str(assemble_config(profile).to_str(), interpolate=True)
    max_steps = config["training"]["max_steps"]
    schedule = util.registry.resolve({"lr": config["training"]["optimizer"]["learn_rate"]})["lr"]
    rates = [next(schedule) for _ in range(max_steps + 1)]
    initial_rate = config["training"]["optimizer"]["learn_rate"]["initial_rate"]
    # thinc's warmup_linear.v1 with the steps the profiles used to spell out.
    reference = warmup_linear(initial_rate, round(0.224 * max_steps), max_steps)
    assert rates == [next(reference) for _ in range(max_steps + 1)]
    assert rates[0] == 0.0 and max(rates) == pytest.approx(initial_rate) and rates[-1] == 0.0


def test_paper_profile_is_the_seed_recipe():
    config = util.load_config_from_str(assemble_config("paper").to_str(), interpolate=True)
    assert config["training"]["max_steps"] == 2000
    assert config["training"]["batcher"]["size"] == 16
    assert config["training"]["optimizer"]["L2"] == 0.0
    assert config["corpora"]["train"]["max_tokens"] == 128
    schedule = util.registry.resolve({"lr": config["training"]["optimizer"]["learn_rate"]})["lr"]
    rates = [next(schedule) for _ in range(2001)]
    assert max(rates) == pytest.approx(5e-5) and rates.index(max(rates)) == 448


def test_overrides_and_errors():
    overrides = parse_config_overrides(["--training.max_steps", "9", "--system.seed=3",
                                        "--paths.train", "corpus/ner/e3c/train.spacy"])
    config = assemble_config("tiny", overrides=overrides)
    assert config["training"]["max_steps"] == 9 and config["system"]["seed"] == 3
    assert config["paths"]["train"] == "corpus/ner/e3c/train.spacy"
    with pytest.raises(ValueError, match="unknown profile"):
        assemble_config("huge")
    with pytest.raises(ValueError):
        assemble_config("tiny", head="crf")


def test_model_max_length_from_local_model(tiny_hf_model_dir):
    limit = model_max_length(tiny_hf_model_dir)
    assert limit is not None and 0 < limit <= 512
    config = assemble_config("tiny", overrides={"paths.transformer": str(tiny_hf_model_dir)})
    assert config["components"]["transformer"]["model"]["tokenizer_config"]["model_max_length"] == limit
    config = assemble_config("tiny", overrides={
        "paths.transformer": str(tiny_hf_model_dir),
        "components.transformer.model.tokenizer_config.model_max_length": 7})
    assert config["components"]["transformer"]["model"]["tokenizer_config"]["model_max_length"] == 7
    assert model_max_length("/nonexistent") is None


def test_assemble_config_command(tmp_path, tiny_hf_model_dir):
    out = tmp_path / "cfg" / "config.cfg"
    result = CliRunner().invoke(app, ["assemble-config", str(out), "--profile", "tiny", "--head", "transition",
                                      "--paths.transformer", str(tiny_hf_model_dir),
                                      "--system.seed", "7", "--training.max_steps=3"])
    assert result.exit_code == 0, result.output
    config = util.load_config(out)
    assert config["system"]["seed"] == 7 and config["training"]["max_steps"] == 3
    assert config["components"]["ner"]["factory"] == "ner"
    assert config["paths"]["transformer"] == str(tiny_hf_model_dir)


def test_assembled_config_resolves_through_entry_points(tmp_path, tiny_hf_model_dir):
    """`spacy train CONFIG` works without importing spacy_cbio: every registered name the
    config uses (component, scorer, reader, schedule) is found through the entry points."""
    config = assemble_config("tiny", overrides={"paths.transformer": str(tiny_hf_model_dir),
                                                "paths.train": "t.spacy", "paths.dev": "d.spacy"})
    config.to_disk(tmp_path / "config.cfg")
    script = (
        "import sys\n"
        "from spacy import util\n"
        "from spacy.schemas import ConfigSchemaTraining\n"
        f"config = util.load_config({str(tmp_path / 'config.cfg')!r}, interpolate=True)\n"
        "assert 'spacy_cbio' not in sys.modules\n"
        "nlp = util.load_model_from_config(config, auto_fill=True, validate=True)\n"
        "training = util.registry.resolve(config['training'], schema=ConfigSchemaTraining)\n"
        "util.registry.resolve(config['corpora'])\n"
        "next(util.registry.resolve({'lr': config['training']['optimizer']['learn_rate']})['lr'])\n"
        "print(nlp.get_pipe('ner').scorer.__module__)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("spacy_cbio.components.scorer")


@pytest.mark.parametrize("overrides, expected", [
    ({"cbio.features": "both"}, r"\[cbio\] features: expected 'transformer', 'stacked' or 'static', got 'both'"),
    ({"cbio.static_width": "wide"}, r"\[cbio\] static_width: expected a valid integer, got 'wide' \(str\)"),
    ({"cbio.width": 96}, r"\[cbio\] width: unknown key \(known: features, recipe, static_depth, static_width\)"),
])
def test_cbio_block_wrong_type_or_unknown_key_is_one_clear_error(overrides, expected):
    with pytest.raises(SettingsError, match=rf"tiny.cfg with overrides \['[a-z_]+'\]: {expected}"):
        assemble_config("tiny", overrides=overrides)


def test_cbio_block_in_a_profile_file_names_the_file(tmp_path):
    profile = tmp_path / "mine.cfg"
    profile.write_text((config_dir() / "profiles" / "tiny.cfg").read_text(encoding="utf8")
                       .replace('features = "transformer"', 'features = "transformer"\nstatic_depth = 2.5'),
                       encoding="utf8")
    with pytest.raises(SettingsError, match=rf"^{re.escape(str(profile))}: \[cbio\] static_depth: expected a valid "
                                            r"integer, got 2.5"):
        assemble_config(str(profile))
    with pytest.raises(ValueError, match=r"\[cbio\] features must be one of"):
        assemble_config("tiny", overrides={"cbio.features": "static"})
