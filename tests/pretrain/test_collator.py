"""Whole word masking for SentencePiece ``▁`` words."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, DataCollatorForWholeWordMask

from spacy_cbio.pretrain.collator import DataCollatorForSentencePieceWholeWordMask, word_start_table, word_starts
from spacy_cbio.pretrain.testing import sample_texts


@pytest.fixture(scope="module")
def tokenizer(tiny_hf_model_dir):
    return AutoTokenizer.from_pretrained(tiny_hf_model_dir)


@pytest.fixture(scope="module")
def examples(tokenizer):
    enc = tokenizer(sample_texts(), truncation=True, max_length=96)
    return [{"input_ids": ids, "idx": i} for i, ids in enumerate(enc["input_ids"])]


def _words(ids: np.ndarray, tokenizer) -> list:
    """Per row, lists of token positions forming each word (special tokens excluded)."""
    special = np.array(sorted(set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}))
    table = word_start_table(tokenizer, int(ids.max()) + 1 + len(tokenizer))
    starts = word_starts(ids, table, special)
    out = []
    for r in range(ids.shape[0]):
        words, cur = [], []
        for p in range(ids.shape[1]):
            if starts[r, p] and cur:
                words.append(cur)
                cur = []
            if ids[r, p] in special:
                continue
            cur.append(p)
        if cur:
            words.append(cur)
        out.append(words)
    return out


def _batches(collator, examples, size=16):
    for start in range(0, len(examples), size):
        chunk = examples[start : start + size]
        yield chunk, collator(chunk)


def test_masks_whole_words_at_the_right_rates(tokenizer, examples):
    collator = DataCollatorForSentencePieceWholeWordMask(tokenizer=tokenizer, mlm_probability=0.15, mask_seed=3)
    special = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    n_words = n_selected = n_mask = n_random = n_kept = 0
    multi_piece_selected = 0
    for repeat in range(6):
        exs = [{**e, "idx": e["idx"] + repeat * 10_000} for e in examples]
        for chunk, batch in _batches(collator, exs):
            original = collator.tokenizer.pad([{"input_ids": e["input_ids"]} for e in chunk], return_tensors="np")[
                "input_ids"
            ]
            ids, labels = batch["input_ids"].numpy(), batch["labels"].numpy()
            assert ids.shape == original.shape
            # never special or padding positions
            is_special = np.isin(original, list(special))
            assert (labels[is_special] == -100).all()
            assert (ids[is_special] == original[is_special]).all()
            # labels hold the original ids where selected, unselected tokens unchanged
            sel = labels != -100
            assert (labels[sel] == original[sel]).all()
            assert (ids[~sel] == original[~sel]).all()
            for r, words in enumerate(_words(original, tokenizer)):
                for word in words:
                    flags = sel[r, word]
                    assert flags.all() or not flags.any(), "partially masked word"
                    n_words += 1
                    if flags.all():
                        n_selected += 1
                        multi_piece_selected += len(word) > 1
                        got = ids[r, word]
                        if (got == tokenizer.mask_token_id).all():
                            n_mask += 1
                        elif (got == original[r, word]).all():
                            n_kept += 1
                        else:
                            n_random += 1
                            assert (got != tokenizer.mask_token_id).all()
    assert n_words > 5000
    assert multi_piece_selected > 100  # the test covers multi-piece words
    rate = n_selected / n_words
    assert abs(rate - 0.15) < 0.015, rate
    assert abs(n_mask / n_selected - 0.8) < 0.04
    # a random replacement can hit the same piece by chance: count it as kept
    assert abs(n_random / n_selected - 0.1) < 0.04
    assert abs(n_kept / n_selected - 0.1) < 0.04


def test_masks_depend_on_sample_index_only(tokenizer, examples):
    a = DataCollatorForSentencePieceWholeWordMask(tokenizer=tokenizer, mask_seed=1)
    b = DataCollatorForSentencePieceWholeWordMask(tokenizer=tokenizer, mask_seed=1)
    torch.manual_seed(0)
    first = a(examples[:8])
    torch.manual_seed(123)
    b(examples[8:16])  # a different history must not matter
    second = b(examples[:8])
    assert torch.equal(first["labels"], second["labels"])
    assert torch.equal(first["input_ids"], second["input_ids"])
    moved = a([{**e, "idx": e["idx"] + 1000} for e in examples[:8]])
    assert not torch.equal(first["labels"], moved["labels"])


def test_bert_whole_word_collator_splits_sentencepiece_words(tokenizer, examples):
    """transformers' ## based collator masks pieces of one ▁ word independently."""
    torch.manual_seed(0)
    import random

    random.seed(0)
    bert = DataCollatorForWholeWordMask(tokenizer=tokenizer, mlm_probability=0.15)
    partial = 0
    for chunk, batch in _batches(bert, [{"input_ids": e["input_ids"]} for e in examples]):
        original = tokenizer.pad(chunk, return_tensors="np")["input_ids"]
        sel = batch["labels"].numpy() != -100
        for r, words in enumerate(_words(original, tokenizer)):
            for word in words:
                flags = sel[r, word]
                partial += bool(flags.any() and not flags.all())
    assert partial > 10
