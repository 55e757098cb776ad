"""Packing documents into blocks that never split a word."""
from __future__ import annotations

import numpy as np
from datasets import Dataset
from transformers import AutoTokenizer

from spacy_cbio.pretrain.collator import word_start_table
from spacy_cbio.pretrain.blocks import PackedBlocks, tokenize_and_pack
from spacy_cbio.pretrain.testing import sample_texts


def test_blocks_cover_the_stream_and_cut_at_word_starts(tiny_hf_model_dir, tmp_path):
    tok = AutoTokenizer.from_pretrained(tiny_hf_model_dir)
    texts = sample_texts()[:120] + ["", "   "]
    seq_len = 24
    blocks = tokenize_and_pack(Dataset.from_dict({"text": texts}), tok, seq_len)
    stream = []
    for t in texts:
        if t.strip():
            stream += tok(t, add_special_tokens=False)["input_ids"] + [tok.sep_token_id]
    table = word_start_table(tok, max(tok.get_vocab().values()) + 1)
    rebuilt = []
    for i in range(len(blocks)):
        ids = blocks[i]["input_ids"]
        assert blocks[i]["idx"] == i
        assert ids[0] == tok.cls_token_id and len(ids) <= seq_len
        first = ids[1]
        assert table[first] or first == tok.sep_token_id or rebuilt[-1:] == [tok.sep_token_id], "block starts mid-word"
        rebuilt += ids[1:]
    assert rebuilt == stream  # nothing lost, nothing duplicated
    assert np.mean([len(blocks[i]["input_ids"]) for i in range(len(blocks))]) > 0.8 * seq_len
    # capped packing stops early; repeat_to cycles with fresh sample numbers
    capped = tokenize_and_pack(Dataset.from_dict({"text": texts}), tok, seq_len, max_blocks=5)
    assert len(capped) == 5
    longer = capped.repeat_to(12)
    assert len(longer) == 12 and longer[7]["input_ids"] == capped[2]["input_ids"] and longer[7]["idx"] == 7
    capped.save(tmp_path / "b.npz")
    again = PackedBlocks.load(tmp_path / "b.npz")
    assert [again[i]["input_ids"] for i in range(5)] == [capped[i]["input_ids"] for i in range(5)]
