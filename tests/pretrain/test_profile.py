"""Pretraining profiles (config.py) and what the stage derives from them (steps, data order)."""
from __future__ import annotations

from pathlib import Path

import pytest

from spacy_cbio.pretrain.config import load_profile
from spacy_cbio.pretrain.stage import run_steps, shuffle_seed

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "pretrain"


@pytest.mark.parametrize("name", ["tiny", "small", "paper"])
def test_profiles_load(name):
    profile = load_profile(CONFIGS / f"{name}.cfg")
    assert set(profile) == {"base", "tokenizer", "model", "training"}
    assert run_steps(profile, "general") == profile["base"]["general_steps"]
    assert run_steps(profile, "bio") == run_steps(profile, "control") == profile["training"]["max_steps"]


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
    with pytest.raises(ValueError, match=r"\[training\] unknown keys \['learning_rate'\]"):
        load_profile(bad)
    bad.write_text((CONFIGS / "tiny.cfg").read_text() + "\n[optimizer]\nname = \"adam\"\n")
    with pytest.raises(ValueError, match="unknown sections"):
        load_profile(bad)
