"""Whole word masking for SentencePiece (``▁`` word starts) tokenizers.

Hand-written on purpose, not a re-implementation of a library class:
transformers' ``DataCollatorForWholeWordMask`` follows BERT's ``##``
continuation convention, so with CamemBERT every piece looks like a word and
the pieces of one word are masked independently (tests/pretrain/test_collator.py
shows it). This collator groups pieces into words from ``▁`` starts (plus the
token after a special token), selects ``mlm_probability`` of the WORDS, and
applies the 80/10/10 rule per word.

Masking is a pure function of ``(mask_seed, example ids)``: each example
carries an ``idx`` (its global sample number), so a resumed run re-creates
exactly the masks of an uninterrupted one, whatever the global RNG state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from transformers import DataCollatorForLanguageModeling
from transformers.data.data_collator import pad_without_fast_tokenizer_warning

IGNORE_INDEX = -100


def special_id_array(tokenizer) -> np.ndarray:
    """Ids that are never masked and that end a word (``<s> </s> <pad> <mask>``...).

    ``<unk>`` is excluded: it stands for text inside a word.
    """
    ids = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    return np.array(sorted(ids), dtype=np.int64)


def word_start_table(tokenizer, size: int) -> np.ndarray:
    """Boolean lookup over ids: True where the piece starts with ``▁``."""
    table = np.zeros(size, dtype=bool)
    for piece, idx in tokenizer.get_vocab().items():
        if piece.startswith("\u2581") and idx < size:
            table[idx] = True
    return table


def word_starts(input_ids: np.ndarray, start_table: np.ndarray, special: np.ndarray) -> np.ndarray:
    """Word-start flags for a (batch, length) id array.

    A token starts a word if its piece starts with ``▁``, if it is special,
    or if it follows a special token (e.g. the first piece after ``<s>``).
    """
    is_special = np.isin(input_ids, special)
    after_special = np.zeros_like(is_special)
    after_special[:, 1:] = is_special[:, :-1]
    starts = start_table[input_ids] | is_special | after_special
    starts[:, 0] = True
    return starts


def whole_word_mask(
    input_ids: np.ndarray,
    rng: np.random.Generator,
    start_table: np.ndarray,
    special: np.ndarray,
    mask_id: int,
    random_pool: np.ndarray,
    mlm_probability: float = 0.15,
    mask_replace_prob: float = 0.8,
    random_replace_prob: float = 0.1,
):
    """Mask whole words; return ``(masked_ids, labels)`` as numpy arrays.

    One uniform draw per word decides selection, a second decides the action
    (``<mask>`` / random piece / unchanged), so all pieces of a word share it.
    """
    batch, length = input_ids.shape
    flat = input_ids.reshape(-1)
    is_special = np.isin(flat, special)
    starts = word_starts(input_ids, start_table, special).reshape(-1)
    pos = np.arange(flat.size)
    # index of each token's word start (every row begins with a start, so no leak)
    start_of = np.maximum.accumulate(np.where(starts, pos, 0))
    draw_select = rng.random(flat.size)
    draw_action = rng.random(flat.size)
    selected = (draw_select[start_of] < mlm_probability) & ~is_special
    action = draw_action[start_of]
    to_mask = selected & (action < mask_replace_prob)
    to_random = selected & (action >= mask_replace_prob) & (action < mask_replace_prob + random_replace_prob)
    labels = np.where(selected, flat, IGNORE_INDEX)
    out = flat.copy()
    out[to_mask] = mask_id
    n_random = int(to_random.sum())
    if n_random:
        out[to_random] = random_pool[rng.integers(0, random_pool.size, n_random)]
    return out.reshape(batch, length), labels.reshape(batch, length)


@dataclass
class DataCollatorForSentencePieceWholeWordMask(DataCollatorForLanguageModeling):
    """Pads like ``DataCollatorForLanguageModeling`` and masks whole ``▁`` words.

    Examples are dicts with ``input_ids`` and optionally ``idx`` (int, the
    sample number); ``idx`` seeds the masks together with ``mask_seed``.
    """

    mask_seed: int = 0
    vocab_size: Optional[int] = None

    def __post_init__(self):
        super().__post_init__()
        from .tokenizer import vocab_size_for

        size = self.vocab_size or vocab_size_for(self.tokenizer)
        self._special = special_id_array(self.tokenizer)
        self._start_table = word_start_table(self.tokenizer, size)
        pool = np.setdiff1d(np.arange(size), self._special)
        unused = [i for t, i in self.tokenizer.get_vocab().items() if t.endswith("NOTUSED")]
        self._random_pool = np.setdiff1d(pool, np.array(unused + [self.tokenizer.unk_token_id], dtype=np.int64))
        self._calls = 0

    def _rng(self, examples: List[Dict[str, Any]]) -> np.random.Generator:
        if examples and isinstance(examples[0], dict) and "idx" in examples[0]:
            key = [int(e["idx"]) for e in examples]
        else:  # no sample numbers: fall back to a per-collator call counter
            self._calls += 1
            key = [-1, self._calls]
        return np.random.default_rng([self.mask_seed, *key])

    def torch_call(self, examples: List[Dict[str, Any]]) -> Dict[str, Any]:
        rng = self._rng(examples)
        feats = [{"input_ids": e["input_ids"]} if isinstance(e, dict) else {"input_ids": e} for e in examples]
        batch = pad_without_fast_tokenizer_warning(
            self.tokenizer, feats, return_tensors="np", pad_to_multiple_of=self.pad_to_multiple_of
        )
        ids = np.asarray(batch["input_ids"], dtype=np.int64)
        masked, labels = whole_word_mask(
            ids,
            rng,
            self._start_table,
            self._special,
            self.tokenizer.mask_token_id,
            self._random_pool,
            self.mlm_probability,
            self.mask_replace_prob,
            self.random_replace_prob,
        )
        return {
            "input_ids": torch.from_numpy(masked),
            "attention_mask": torch.from_numpy(np.asarray(batch["attention_mask"], dtype=np.int64)),
            "labels": torch.from_numpy(labels),
        }
