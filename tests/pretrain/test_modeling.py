"""Tokenizer sizing, config building, masked-only head, base resolution."""
from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

from spacy_cbio.pretrain.collator import DataCollatorForSentencePieceWholeWordMask
from spacy_cbio.pretrain.modeling import (
    BaseUnreachable,
    CamembertForMaskedOnlyLM,
    as_masked_only,
    build_config,
    init_model,
    resolve_base,
    to_plain_mlm,
)
from spacy_cbio.pretrain.testing import TINY_PROFILE, sample_texts
from spacy_cbio.pretrain.tokenizer import train_tokenizer, vocab_size_for


def test_tokenizer_layout_and_vocab_size(tmp_path):
    tok = train_tokenizer(sample_texts(), tmp_path, vocab_size=300, seed=0)
    assert (tmp_path / "sentencepiece.bpe.model").exists()
    ids = tok("Le paracétamol <mask>")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert (tok.pad_token_id, tok.unk_token_id) == (1, 3)  # fairseq layout
    size = vocab_size_for(tok)
    assert size == max(tok.get_vocab().values()) + 1
    assert tok.mask_token_id == size - 1
    assert all(i < size for i in ids)
    config = build_config(TINY_PROFILE, tok)
    assert config.vocab_size == size
    assert config.max_position_embeddings == TINY_PROFILE["max_len"] + tok.pad_token_id + 1


def test_build_config_rejects_bad_profiles(tiny_hf_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_hf_model_dir)
    with pytest.raises(ValueError, match=r"\[model\] layer: unknown key \(known: dropout, heads, hidden, "):
        build_config({**TINY_PROFILE, "layer": 3}, tok)
    with pytest.raises(ValueError, match=r"\[model\] heads: expected a valid integer, got '2'"):
        build_config({**TINY_PROFILE, "heads": "2"}, tok)
    with pytest.raises(ValueError, match="divisible"):
        build_config({**TINY_PROFILE, "hidden": 33}, tok)


def test_masked_only_head_matches_full_head(tiny_hf_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_hf_model_dir)
    full = AutoModelForMaskedLM.from_pretrained(tiny_hf_model_dir).eval()
    collate = DataCollatorForSentencePieceWholeWordMask(tokenizer=tok, mask_seed=0)
    enc = tok(sample_texts()[:12], truncation=True, max_length=64)
    batch = collate([{"input_ids": ids, "idx": i} for i, ids in enumerate(enc["input_ids"])])
    with torch.no_grad():
        expected = full(**batch).loss
        fast = as_masked_only(AutoModelForMaskedLM.from_pretrained(tiny_hf_model_dir).eval())
        out = fast(**batch)
    assert isinstance(fast, CamembertForMaskedOnlyLM)
    n_masked = int((batch["labels"] != -100).sum())
    assert out.logits.shape == (n_masked, full.config.vocab_size)
    assert torch.allclose(out.loss, expected, atol=1e-5)
    # the sum/num_items form used with gradient accumulation
    with torch.no_grad():
        summed = fast(**batch, num_items_in_batch=torch.tensor(n_masked * 2)).loss
    assert torch.allclose(summed * 2, expected, atol=1e-5)
    plain = to_plain_mlm(fast)
    assert type(plain).__name__ == "CamembertForMaskedLM"
    assert torch.equal(plain.lm_head.dense.weight, full.lm_head.dense.weight)


def test_unreachable_base_is_reported_cleanly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_base("") is None
    with pytest.raises(BaseUnreachable, match="unreachable"):
        resolve_base("almanach/no-such-model-here")
    with pytest.raises(BaseUnreachable):
        resolve_base(str(tmp_path / "missing_dir"))


def test_init_from_base_keeps_base_tokenizer(tiny_hf_model_dir, tmp_path):
    other = train_tokenizer(["Un tout autre texte, sans rapport."] * 50, tmp_path, vocab_size=60, seed=0)
    assert resolve_base(str(tiny_hf_model_dir)) == str(tiny_hf_model_dir)
    model, tok = init_model(TINY_PROFILE, other, base=str(tiny_hf_model_dir))
    assert tok.get_vocab() == AutoTokenizer.from_pretrained(tiny_hf_model_dir).get_vocab()
    assert model.get_input_embeddings().num_embeddings == vocab_size_for(tok)
