"""The shared settings helper: typed blocks, one clear error naming the file, block and key."""
from typing import Literal

import pytest
from pydantic import Field, field_validator

from spacy_cbio.settings import SettingsError, SettingsModel, load_block, validate_block


class Training(SettingsModel):
    lr: float = 0.001
    steps: int = 10
    fast: bool = True
    precision: Literal["auto", "fp32"] = "auto"

    @field_validator("steps")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be >= 1")
        return value


class Profile(SettingsModel):
    training: Training = Field(default_factory=Training)


def _cfg(tmp_path, text: str):
    path = tmp_path / "settings.cfg"
    path.write_text(text, encoding="utf8")
    return path


def test_load_block_fills_defaults_and_types(tmp_path):
    path = _cfg(tmp_path, "[training]\nlr = 1\nsteps = 3\n")
    settings = load_block(path, "training", Training)
    assert settings.lr == 1.0 and isinstance(settings.lr, float)
    assert settings.steps == 3 and settings.fast is True and settings.precision == "auto"
    assert load_block(path, "training", Training, {"training.steps": 5}).steps == 5
    assert load_block(_cfg(tmp_path, "[other]\nx = 1\n"), "training", Training) == Training()


@pytest.mark.parametrize("line, expected", [
    ('steps = "abc"', r"\[training\] steps: expected a valid integer, got 'abc' \(str\)"),
    ('steps = "12"', r"\[training\] steps: expected a valid integer, got '12'"),
    ("steps = 1.5", r"\[training\] steps: expected a valid integer, got 1.5"),
    ('lr = "fast"', r"\[training\] lr: expected a valid number, got 'fast'"),
    ("fast = 1", r"\[training\] fast: expected a valid boolean, got 1"),
    ('precision = "fp8"', r"\[training\] precision: expected 'auto' or 'fp32', got 'fp8'"),
    ("steps = 0", r"\[training\] steps: must be >= 1, got 0"),
    ("lrr = 0.1", r"\[training\] lrr: unknown key \(known: fast, lr, precision, steps\)"),
])
def test_one_clear_error_names_file_block_and_key(tmp_path, line, expected):
    path = _cfg(tmp_path, f"[training]\n{line}\n")
    with pytest.raises(SettingsError, match=expected) as info:
        load_block(path, "training", Training)
    assert str(info.value).startswith(f"{path}: ")
    assert isinstance(info.value, ValueError) and info.value.section == "training"
    assert info.value.__cause__ is None and len(info.value.problems) == 1


def test_several_problems_in_one_error(tmp_path):
    path = _cfg(tmp_path, '[training]\nlr = "x"\nsteps = "y"\n')
    with pytest.raises(SettingsError) as info:
        load_block(path, "training", Training)
    assert "2 problems" in str(info.value)
    assert "[training] lr:" in str(info.value) and "[training] steps:" in str(info.value)


def test_whole_file_model_names_blocks(tmp_path):
    with pytest.raises(SettingsError, match=r"\[extra\]: unknown block \(known: training\)"):
        load_block(_cfg(tmp_path, "[extra]\nx = 1\n"), None, Profile)
    with pytest.raises(SettingsError, match=r"\[training\] steps: expected a valid integer"):
        load_block(_cfg(tmp_path, '[training]\nsteps = "x"\n'), None, Profile)
    assert load_block(_cfg(tmp_path, "[training]\nsteps = 2\n"), None, Profile).training.steps == 2


def test_validate_block_and_missing_file(tmp_path):
    assert validate_block({"steps": 4}, Training, source="inline", section="training").steps == 4
    with pytest.raises(SettingsError, match=r"^inline: \[training\] steps: expected a valid integer"):
        validate_block({"steps": "4"}, Training, source="inline", section="training")
    with pytest.raises(FileNotFoundError, match="missing.cfg"):
        load_block(tmp_path / "missing.cfg", "training", Training)
