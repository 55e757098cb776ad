"""Pretraining profiles (config.py) and what the stage derives from them (steps, data order)."""
from __future__ import annotations

from pathlib import Path

import re

import pytest

from spacy_cbio.pretrain.config import load_profile
from spacy_cbio.settings import SettingsError
from spacy_cbio.pretrain.stage import run_steps, shuffle_seed

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "pretrain"


@pytest.mark.parametrize("name", ["tiny", "small", "paper"])
def test_profiles_load(name):
    profile = load_profile(CONFIGS / f"{name}.cfg")
    assert set(profile.model_dump()) == {"base", "tokenizer", "model", "training", "benchmark"}
    assert profile.benchmark.steps >= 1 and profile.benchmark.rounds >= 1
    assert run_steps(profile, "general") == profile.base.general_steps
    assert run_steps(profile, "bio") == run_steps(profile, "control") == profile.training.max_steps
    assert isinstance(profile.training.lr, float) and isinstance(profile.training.max_steps, int)


def test_overrides_and_run_settings():
    profile = load_profile(CONFIGS / "tiny.cfg", {"training.max_steps": 3, "base.general_steps": 5, "training.seed": 7})
    assert (run_steps(profile, "general"), run_steps(profile, "bio")) == (5, 3)
    # general and bio read their corpus in the seed's order, control in another one
    assert [shuffle_seed(profile, run) for run in ("general", "bio", "control")] == [7, 7, 8]
    with pytest.raises(ValueError, match="unknown run"):
        run_steps(profile, "biomedical")


def test_bad_profiles_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_profile(tmp_path / "missing.cfg")
    bad = tmp_path / "bad.cfg"
    bad.write_text((CONFIGS / "tiny.cfg").read_text().replace("\n[training]\n", "\n[training]\nlearning_rate = 0.1\n"))
    with pytest.raises(SettingsError, match=rf"^{re.escape(str(bad))}: \[training\] learning_rate: unknown key "
                                            r"\(known: adam_epsilon, batch_size, .*\blr\b"):
        load_profile(bad)
    bad.write_text((CONFIGS / "tiny.cfg").read_text() + "\n[optimizer]\nname = \"adam\"\n")
    with pytest.raises(SettingsError, match=r"\[optimizer\]: unknown block \(known: base, benchmark, model, tokenizer, training\)"):
        load_profile(bad)


@pytest.mark.parametrize("block, line, expected", [
    ("training", 'max_steps = "abc"', r"\[training\] max_steps: expected a valid integer, got 'abc'"),
    ("training", "lr = \"0.1\"", r"\[training\] lr: expected a valid number, got '0.1'"),
    ("training", "masked_only_head = 1", r"\[training\] masked_only_head: expected a valid boolean, got 1"),
    ("training", 'precision = "fp64"', r"\[training\] precision: expected 'auto', 'fp32', 'bf16' or 'fp16', got 'fp64'"),
    ("model", "layers = 2.5", r"\[model\] layers: expected a valid integer, got 2.5"),
    ("model", "depth = 2", r"\[model\] depth: unknown key \(known: dropout, heads, hidden, intermediate, layers, max_len\)"),
    ("tokenizer", 'vocab_size = "big"', r"\[tokenizer\] vocab_size: expected a valid integer"),
    ("base", "general_steps = true", r"\[base\] general_steps: expected a valid integer, got True"),
    ("benchmark", 'steps = "many"', r"\[benchmark\] steps: expected a valid integer, got 'many'"),
])
def test_wrong_type_or_unknown_key_is_one_clear_error(tmp_path, block, line, expected):
    bad = tmp_path / "bad.cfg"
    text, key = (CONFIGS / "tiny.cfg").read_text(), line.split(" = ")[0]
    if re.search(rf"^{key} = ", text, flags=re.M):  # a wrong value for a key the profile sets
        text = re.sub(rf"^{key} = .*$", line, text, count=1, flags=re.M)
    else:
        text = text.replace(f"\n[{block}]\n", f"\n[{block}]\n{line}\n")
    bad.write_text(text)
    with pytest.raises(SettingsError, match=expected) as info:
        load_profile(bad)
    assert str(info.value).startswith(f"{bad}: ") and len(info.value.problems) == 1


def test_an_int_is_a_valid_float_and_defaults_fill_missing_keys(tmp_path):
    path = tmp_path / "p.cfg"
    path.write_text("[training]\nlr = 1\n")
    profile = load_profile(path)
    assert profile.training.lr == 1.0 and isinstance(profile.training.lr, float)
    assert profile.training.batch_size == 16 and profile.model.hidden == 768 and profile.base.general_steps == 1000
