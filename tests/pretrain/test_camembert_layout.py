"""Continuing from a base in camembert-base's layout, as `--init camembert-base` would.

The base is built locally (no hub): camembert-base's config values, a
SentencePiece BPE model in CamemBERT's fairseq layout, model_max_length
512, random safetensors weights. The fast tests use a 2 x 64 variant; the
slow one camembert-base's full 12 x 768 shape (1 step).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from spacy_cbio.pretrain.cli import pretrain_run, pretrain_tokenizer
from spacy_cbio.pretrain.collator import (
    DataCollatorForSentencePieceWholeWordMask,
    IGNORE_INDEX,
    special_id_array,
    word_start_table,
    word_starts,
)
from spacy_cbio.pretrain.testing import CAMEMBERT_BASE_CONFIG, NARROW, make_camembert_base_layout, sample_texts
from spacy_cbio.pretrain.tokenizer import SPM_FILE, vocab_size_for

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "pretrain" / "tiny.cfg"


def invoke(*args) -> str:
    app = typer.Typer()
    app.command("pretrain-tokenizer")(pretrain_tokenizer)
    app.command("pretrain-run")(pretrain_run)
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert "Falling back" not in result.output
    return result.output


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return make_camembert_base_layout(tmp_path_factory.mktemp("camembert_layout") / "base")


def test_base_has_camembert_base_layout(base):
    from sentencepiece import sentencepiece_model_pb2
    from transformers import AutoConfig, AutoTokenizer

    config = json.loads((base / "config.json").read_text())
    for key, value in CAMEMBERT_BASE_CONFIG.items():
        if key not in NARROW and key != "vocab_size":
            assert config[key] == value, key
    assert {p.name for p in base.iterdir()} >= {"config.json", "model.safetensors", SPM_FILE, "tokenizer.json",
                                                  "tokenizer_config.json"}
    assert json.loads((base / "tokenizer_config.json").read_text())["model_max_length"] == 512
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString((base / SPM_FILE).read_bytes())
    assert proto.trainer_spec.model_type == sentencepiece_model_pb2.TrainerSpec.BPE
    tok = AutoTokenizer.from_pretrained(base)
    assert tok.convert_ids_to_tokens([0, 1, 2, 3]) == ["<s>NOTUSED", "<pad>", "</s>NOTUSED", "<unk>"]
    assert (tok.cls_token_id, tok.sep_token_id, tok.pad_token_id) == (5, 6, 1)
    # fairseq offsets: ids above len(tokenizer); the narrow variant is sized from the largest id
    assert tok.mask_token_id == max(tok.get_vocab().values())
    assert config["vocab_size"] == vocab_size_for(tok) == tok.mask_token_id + 1
    assert AutoConfig.from_pretrained(base).model_type == "camembert"


def test_whole_word_masking_groups_bpe_pieces_into_words(base):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base)
    table = word_start_table(tok, vocab_size_for(tok))
    special = special_id_array(tok)
    multi_piece = 0
    for sentence in sample_texts()[:40]:
        ids = np.array([tok(sentence)["input_ids"]])
        starts = word_starts(ids, table, special)[0]
        pieces = tok.convert_ids_to_tokens(ids[0].tolist())
        groups, current = [], []
        for piece, start in zip(pieces[1:-1], starts[1:-1]):  # without <s> </s>
            if start and current:
                groups.append(current)
                current = []
            current.append(piece)
        groups.append(current)
        words = ["".join(g).replace("\u2581", "") for g in groups]
        assert words == sentence.split(), sentence
        multi_piece += sum(len(g) > 1 for g in groups)
    assert multi_piece > 20  # BPE splits words, so grouping is really exercised
    # the collator masks those groups whole: a word's pieces are all labelled or none
    collate = DataCollatorForSentencePieceWholeWordMask(tokenizer=tok, mlm_probability=0.3, mask_seed=0)
    examples = [{"input_ids": tok(s)["input_ids"], "idx": i} for i, s in enumerate(sample_texts()[:32])]
    batch = collate(examples)
    assert (batch["labels"] != IGNORE_INDEX).any()
    for ex, labels in zip(examples, batch["labels"].numpy()):
        ids = np.array([ex["input_ids"]])
        st = word_starts(ids, table, special)[0]
        word_id = np.cumsum(st)
        lab = labels[: ids.shape[1]] != IGNORE_INDEX
        for w in np.unique(word_id):
            assert lab[word_id == w].all() or not lab[word_id == w].any()


def test_continues_from_the_base_keeping_its_tokenizer_vocabulary_and_positions(base, corpora, tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    base_tok = AutoTokenizer.from_pretrained(base)
    # the tokenizer step saves the base's tokenizer; it trains none
    invoke("pretrain-tokenizer", CONFIG, corpora["general"], tmp_path / "tokenizer", "--base", base)
    assert json.loads((tmp_path / "tokenizer" / "tokenizer_info.json").read_text())["source"] == "base"
    assert (tmp_path / "tokenizer" / SPM_FILE).read_bytes() == (base / SPM_FILE).read_bytes()
    # general = the base saved; bio continues it; bio also continues the base directly
    invoke("pretrain-run", "general", CONFIG, corpora["general"], tmp_path / "general", "--init", base)
    assert json.loads((tmp_path / "general" / "run_info.json").read_text())["init"] == str(base)
    for init, run_dir in ((tmp_path / "general", tmp_path / "bio"), (base, tmp_path / "bio_direct")):
        invoke("pretrain-run", "bio", CONFIG, corpora["bio"], run_dir, "--init", init, "--steps", "2")
        tok = AutoTokenizer.from_pretrained(run_dir)
        assert tok.get_vocab() == base_tok.get_vocab()
        assert (run_dir / SPM_FILE).read_bytes() == (base / SPM_FILE).read_bytes()
        assert tok.model_max_length == 512
        config, base_config = (json.loads((d / "config.json").read_text()) for d in (run_dir, base))
        for key in ("vocab_size", "max_position_embeddings", "hidden_size", "num_hidden_layers", "pad_token_id",
                    "bos_token_id", "eos_token_id", "type_vocab_size", "layer_norm_eps"):
            assert config[key] == base_config[key], key
        info = json.loads((run_dir / "run_info.json").read_text())
        assert info["init"] == str(init) and info["steps"] == 2
        card = (run_dir / "README.md").read_text()
        assert f"| initialised from | {init} |" in card
    # the card of the run continued straight from the base records the base
    assert str(base) in (tmp_path / "bio_direct" / "README.md").read_text()
    # trained: the weights moved away from the base's
    before, after = load_file(base / "model.safetensors"), load_file(tmp_path / "bio_direct" / "model.safetensors")
    name = "roberta.encoder.layer.0.attention.self.query.weight"
    assert not (before[name] == after[name]).all()


@pytest.mark.slow
def test_full_camembert_base_shape_continues_one_step(corpora, tmp_path):
    """camembert-base's full shape (12 x 768, vocab 32005, 514 positions): kept through a 1-step bio run."""
    from transformers import AutoTokenizer

    base = make_camembert_base_layout(tmp_path / "base", full=True)
    config = json.loads((base / "config.json").read_text())
    for key, value in CAMEMBERT_BASE_CONFIG.items():
        assert config[key] == value, key
    invoke("pretrain-run", "bio", CONFIG, corpora["bio"], tmp_path / "bio", "--init", base, "--steps", "1")
    out = json.loads((tmp_path / "bio" / "config.json").read_text())
    for key, value in CAMEMBERT_BASE_CONFIG.items():
        if key != "architectures":
            assert out[key] == value, key
    assert AutoTokenizer.from_pretrained(tmp_path / "bio").model_max_length == 512
    info = json.loads((tmp_path / "bio" / "run_info.json").read_text())
    assert info["steps"] == 1 and info["init"] == str(base)
