"""Every model folder the pretraining writes declares the length its positions embed.

Without ``model_max_length`` in ``tokenizer_config.json`` a strided
token-classification pipeline on a long text crashed ("The expanded size
of the tensor (621) must match the existing size (514)").
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from spacy_cbio.pretrain.cli import pretrain_report, pretrain_run, pretrain_tokenizer
from spacy_cbio.pretrain.modeling import max_tokens_for, set_model_max_length
from spacy_cbio.pretrain.testing import make_camembert_base_layout, sample_texts

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "pretrain" / "tiny.cfg"
TINY_MAX_LEN = 128  # configs/pretrain/tiny.cfg [model] max_len
STEPS = "2"


def invoke(*args) -> str:
    app = typer.Typer()
    app.command("pretrain-tokenizer")(pretrain_tokenizer)
    app.command("pretrain-run")(pretrain_run)
    app.command("pretrain-report")(pretrain_report)
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def scratch_stage(tiny_pretrain_stage) -> Path:
    """The session's tiny stage from scratch: tokenizer, general, bio, control, report (model/)."""
    return tiny_pretrain_stage[0]


@pytest.fixture(scope="module")
def continued_stage(corpora, tmp_path_factory) -> Path:
    """bio continued from a base in camembert-base's layout (model_max_length 512), and model/."""
    out = tmp_path_factory.mktemp("mml_base")
    base = make_camembert_base_layout(out / "base")
    invoke("pretrain-run", "general", CONFIG, corpora["general"], out / "general", "--init", base)
    invoke("pretrain-run", "bio", CONFIG, corpora["bio"], out / "bio", "--init", out / "general", "--steps", STEPS)
    invoke("pretrain-report", CONFIG, corpora["bio"], out)
    return out


def long_text(words: int = 5000) -> str:
    lines, out, n = sample_texts(), [], 0
    while n < words:
        for line in lines:
            out.append(line)
            n += len(line.split())
            if n >= words:
                break
    return " ".join(out)


def _check_pipelines(model_dir: Path, expected_max: int) -> None:
    from transformers import AutoTokenizer, pipeline

    config = json.loads((model_dir / "tokenizer_config.json").read_text())
    assert config["model_max_length"] == expected_max, model_dir
    tok = AutoTokenizer.from_pretrained(model_dir)
    assert tok.model_max_length == expected_max
    fill = pipeline("fill-mask", model=str(model_dir), device=-1)
    preds = fill("Le patient a reçu du <mask> pour une fièvre.", top_k=3)
    assert len(preds) == 3 and all("token_str" in p for p in preds)
    text = long_text()
    assert len(text.split()) >= 5000
    assert len(tok(text)["input_ids"]) > 2 * expected_max  # really longer than the model
    ner = pipeline("token-classification", model=str(model_dir), aggregation_strategy="simple", stride=64,
                   device=-1)
    entities = ner(text)
    assert isinstance(entities, list)
    assert all(0 <= e["start"] <= e["end"] <= len(text) for e in entities)
    assert entities and max(e["end"] for e in entities) > len(text) // 2  # the whole text, not the first window


@pytest.mark.parametrize("run", ["general", "bio", "control", "model"])
def test_scratch_outputs_take_their_length_from_the_positions(scratch_stage, run):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(scratch_stage / run)
    assert config.max_position_embeddings == TINY_MAX_LEN + 2
    assert max_tokens_for(config) == TINY_MAX_LEN
    _check_pipelines(scratch_stage / run, TINY_MAX_LEN)


@pytest.mark.parametrize("run", ["general", "bio", "model"])
def test_continued_outputs_keep_the_base_length(continued_stage, run):
    from transformers import AutoConfig

    assert AutoConfig.from_pretrained(continued_stage / run).max_position_embeddings == 514
    _check_pipelines(continued_stage / run, 512)


def test_set_model_max_length_rules(tmp_path):
    from transformers import AutoConfig, AutoTokenizer

    base = make_camembert_base_layout(tmp_path / "base")
    config = AutoConfig.from_pretrained(base)
    tok = AutoTokenizer.from_pretrained(base)
    tok.model_max_length = 256  # a base that declares less than its positions: kept
    assert set_model_max_length(tok, config, keep_base=True) == 256
    tok.model_max_length = int(1e30)  # unset (transformers' default): from the positions
    assert set_model_max_length(tok, config, keep_base=True) == 512
    tok.model_max_length = 4096  # more than the positions embed: clipped
    assert set_model_max_length(tok, config, keep_base=True) == 512
    tok.model_max_length = 256  # from scratch: always the positions
    assert set_model_max_length(tok, config) == 512
    config.max_position_embeddings = 130
    assert max_tokens_for(config) == 128
