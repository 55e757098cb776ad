"""pretrain-sweep: MLM validation loss against minutes at a fixed budget, one curve per variant."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import typer
from transformers import TrainerControl, TrainerState
from typer.testing import CliRunner

from spacy_cbio.pretrain.cli import sweep
from spacy_cbio.pretrain.sweep import WallClockCurve, load_sweep
from spacy_cbio.settings import SettingsError

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "configs" / "pretrain" / "sweep_tiny.cfg"


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.cfg"
    path.write_text(TINY.read_text(encoding="utf8").replace('"configs/pretrain/tiny.cfg"',
                                                            json.dumps(str(ROOT / "configs/pretrain/tiny.cfg"))) + text,
                    encoding="utf8")
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("pretrain-sweep")(sweep)
    app.command("unused")(sweep)
    return app


def test_sweep_writes_a_curve_per_variant(corpora, tiny_hf_model_dir, tmp_path, caplog):
    out = tmp_path / "sweep"
    with caplog.at_level(logging.INFO, logger="spacy_cbio.pretrain.sweep"):
        result = CliRunner().invoke(_app(), ["pretrain-sweep", str(_config(tmp_path, "")), str(corpora["bio"]),
                                             str(out), "--tokenizer", str(tiny_hf_model_dir)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"sweep.json", "README.md", "sweep.png"}
    data = json.loads((out / "sweep.json").read_text(encoding="utf8"))
    assert list(data["variants"]) == ["current", "wide"]
    current, wide = data["variants"]["current"], data["variants"]["wide"]
    assert wide["hidden"] == 64 and current["hidden"] == 32 and wide["parameters"] > current["parameters"]
    assert wide["overrides"] == {"model.hidden": 64, "model.heads": 4, "model.intermediate": 128}
    for run in (current, wide):
        curve = run["curve"]
        assert curve[0]["step"] == 0 and curve[0]["minutes"] == 0.0
        steps = [p["step"] for p in curve]
        assert steps == sorted(steps) and 0 < run["steps"] <= run["planned_steps"]
        assert run["eval_loss"] == curve[-1]["eval_loss"] < curve[0]["eval_loss"]  # training helped
        assert run["tokens"] == run["steps"] * run["batch_size"] * run["seq_len"]
    # both variants are scored on the same blocks: the untrained start differs only by the weights
    assert data["eval_blocks"] > 0 and data["best"] in ("current", "wide")
    readme = (out / "README.md").read_text(encoding="utf8")
    assert "| current | (profile) |" in readme and "model.hidden=64" in readme and readme.count("**") == 2
    assert "best: " in result.output
    assert "[sweep] 2 variant(s) x 0.05 min of training each" in caplog.text
    assert "[sweep] wide: validation loss" in caplog.text


def test_wall_clock_budget_stops_training():
    """The budget is a hard stop, whatever the step-time estimate said."""
    seen = []
    curve = WallClockCurve(budget_s=0.0, every=100, evaluate=lambda model: seen.append(model) or 1.5, tokens_per_step=8)
    state, control = TrainerState(), TrainerControl()
    state.max_steps, state.global_step = 50, 1
    curve.on_train_begin(None, state, control)
    control = curve.on_step_end(None, state, control, model="m")
    assert control.should_training_stop and seen == ["m"]
    assert curve.curve[0]["step"] == 1 and curve.curve[0]["tokens"] == 8 and curve.curve[0]["eval_loss"] == 1.5


def test_bad_sweep_configs_fail_before_training(tmp_path):
    with pytest.raises(SettingsError, match=r"\[variants.bad\] over .*tiny.cfg: \[model\] depth: unknown key"):
        load_sweep(_config(tmp_path, "\n[variants.bad]\nmodel.depth = 3\n"))
    with pytest.raises(SettingsError, match=r"\[variants.bad\] over .*\[training\] seq_len: expected a valid integer"):
        load_sweep(_config(tmp_path, "\n[variants.bad]\ntraining.seq_len = \"long\"\n"))
    (tmp_path / "none.cfg").write_text("[sweep]\nprofile = \"x.cfg\"\n", encoding="utf8")
    with pytest.raises(ValueError, match="no \\[variants"):
        load_sweep(tmp_path / "none.cfg")
    with pytest.raises(FileNotFoundError):
        load_sweep(tmp_path / "missing.cfg")


@pytest.mark.parametrize("old, new, expected", [
    ("evals = 2", 'evals = "two"', r"\[sweep\] evals: expected a valid integer, got 'two'"),
    ("minutes = 0.05", "minutes = 0", r"\[sweep\] minutes: must be > 0, got 0"),
    ("evals = 2", "evals = 0", r"\[sweep\] evals: must be >= 1, got 0"),
    ("evals = 2", "evals = 2\nbudget = 3", r"\[sweep\] budget: unknown key \(known: calibration_steps, eval_seq_len, "
                                          r"evals, minutes, profile\)"),
])
def test_sweep_block_wrong_type_or_unknown_key_names_file_and_key(tmp_path, old, new, expected):
    path = _config(tmp_path, "")
    path.write_text(path.read_text(encoding="utf8").replace(old, new), encoding="utf8")
    with pytest.raises(SettingsError, match=expected) as info:
        load_sweep(path)
    assert str(info.value).startswith(f"{path}: ")
    no_profile = tmp_path / "no_profile.cfg"
    no_profile.write_text("[sweep]\nminutes = 1\n[variants]\n[variants.a]\n", encoding="utf8")
    with pytest.raises(SettingsError, match=r"\[sweep\] profile: a configs/pretrain/<profile>.cfg is required"):
        load_sweep(no_profile)


def test_eval_longer_than_the_model_is_a_clear_error(corpora, tiny_hf_model_dir, tmp_path):
    config = _config(tmp_path, "")
    config.write_text(config.read_text(encoding="utf8").replace("eval_seq_len = 64", "eval_seq_len = 400"),
                      encoding="utf8")
    result = CliRunner().invoke(_app(), ["pretrain-sweep", str(config), str(corpora["bio"]), str(tmp_path / "o"),
                                         "--tokenizer", str(tiny_hf_model_dir)])
    assert result.exit_code == 1 and "eval_seq_len 400 is longer than the" in result.output


def test_shipped_small_sweep_loads(monkeypatch):
    """The small sweep's variants are valid overrides of the small profile (paths are relative to the project)."""
    monkeypatch.chdir(ROOT)
    spec = load_sweep(ROOT / "configs" / "pretrain" / "sweep_small.cfg")
    assert "current" in spec["variants"] and spec["variants"]["current"] == {}
    assert spec["sweep"].profile == "configs/pretrain/small.cfg" and spec["sweep"].eval_seq_len == 128
