"""Corpus loading, tokenization and packing into fixed-size blocks.

Documents are tokenized without special tokens and concatenated with
``</s>`` between them; the stream is cut into blocks of at most
``seq_len - 1`` pieces, each prefixed by ``<s>``. Cuts fall on word starts
only, so no word is ever split across two blocks (whole word masking stays
exact); the few pieces this leaves unused at a cut start the next block.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
from datasets import Dataset, DatasetDict, load_from_disk
from torch.utils.data import Dataset as TorchDataset
from tqdm.auto import tqdm

from .collator import special_id_array, word_start_table
from .tokenizer import vocab_size_for

logger = logging.getLogger(__name__)


def load_corpus(corpus_dir: Union[str, Path]) -> DatasetDict:
    """``<corpus_dir>/dataset`` (DatasetDict with ``train``/``validation``, column ``text``)."""
    path = Path(corpus_dir) / "dataset"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no dataset here (expected datasets.save_to_disk output)")
    dd = load_from_disk(str(path))
    if not isinstance(dd, DatasetDict):
        raise ValueError(f"{path}: expected a DatasetDict with train/validation splits, got {type(dd).__name__}")
    for split in ("train", "validation"):
        if split not in dd:
            raise ValueError(f"{path}: split '{split}' missing (has {list(dd)})")
        if "text" not in dd[split].column_names:
            raise ValueError(f"{path}: split '{split}' has no 'text' column ({dd[split].column_names})")
    return dd


def corpus_stats_md(corpus_dir: Union[str, Path]) -> Optional[str]:
    """The corpus helper's ``stats.md`` tables (without its JSON appendix), if present."""
    path = Path(corpus_dir) / "stats.md"
    if not path.exists():
        return None
    text = path.read_text(encoding="utf8").split("```json")[0].rstrip()
    return text + f"\n\nFull statistics: `{Path(corpus_dir) / 'stats.json'}`."


def iter_texts(dataset: Dataset, limit: Optional[int] = None, batch_size: int = 1000) -> Iterator[str]:
    """Texts of ``dataset`` in order (at most ``limit``)."""
    n = len(dataset) if limit is None else min(limit, len(dataset))
    for start in range(0, n, batch_size):
        yield from dataset[start : min(start + batch_size, n)]["text"]


class Packer:
    """Cut a token stream into blocks that start with ``<s>`` and end on word boundaries."""

    def __init__(self, tokenizer, seq_len: int):
        if seq_len < 8:
            raise ValueError(f"seq_len={seq_len} is too small (need >= 8)")
        self.seq_len = seq_len
        self.cls = tokenizer.cls_token_id
        self.sep = tokenizer.sep_token_id
        size = vocab_size_for(tokenizer)
        self.start_table = word_start_table(tokenizer, size)
        self.special = special_id_array(tokenizer)
        self.split_words = 0  # words longer than a block, cut anyway (counted)

    def blocks(self, docs: Sequence[Sequence[int]]) -> List[List[int]]:
        """Pack tokenized documents (no special tokens) into blocks."""
        if not docs:
            return []
        stream = np.fromiter(
            (t for doc in docs for t in (*doc, self.sep)), dtype=np.int64, count=sum(len(d) + 1 for d in docs)
        )
        starts = self.start_table[stream] | np.isin(stream, self.special)
        starts[1:] |= np.isin(stream[:-1], self.special)
        starts[0] = True
        boundary = np.flatnonzero(starts)  # positions where a cut is allowed
        room = self.seq_len - 1  # one slot for <s>
        out: List[List[int]] = []
        pos, n = 0, stream.size
        while pos < n:
            end = pos + room
            if end < n:
                # last allowed cut in (pos, end]
                k = np.searchsorted(boundary, end, side="right") - 1
                if boundary[k] > pos:
                    end = int(boundary[k])
                else:
                    self.split_words += 1
            else:
                end = n
            out.append([self.cls, *stream[pos:end].tolist()])
            pos = end
        return out


class PackedBlocks(TorchDataset):
    """Blocks stored as one flat int32 array plus offsets; item ``i`` of a
    ``length``-long view is block ``i % n_blocks`` with ``idx = i``.

    Repeating the blocks this way (epochs) is lazy, and every sample seen
    gets its own ``idx`` so dynamic masking differs between epochs.
    """

    def __init__(self, flat: np.ndarray, offsets: np.ndarray, length: Optional[int] = None):
        self.flat = flat
        self.offsets = offsets
        self.n_blocks = offsets.size - 1
        if self.n_blocks <= 0:
            raise ValueError("PackedBlocks: no blocks")
        self.length = self.n_blocks if length is None else int(length)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> Dict[str, object]:
        if not 0 <= i < self.length:
            raise IndexError(i)
        b = i % self.n_blocks
        return {"input_ids": self.flat[self.offsets[b] : self.offsets[b + 1]].tolist(), "idx": i}

    def repeat_to(self, length: int) -> "PackedBlocks":
        """The same blocks seen ``length`` times in all (cycled)."""
        return PackedBlocks(self.flat, self.offsets, length)

    @property
    def n_tokens(self) -> int:
        return int(self.flat.size)

    def save(self, path: Union[str, Path]) -> None:
        np.savez(str(path), flat=self.flat, offsets=self.offsets)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "PackedBlocks":
        with np.load(str(path), allow_pickle=False) as z:
            return cls(z["flat"], z["offsets"])


def tokenize_and_pack(
    dataset: Dataset,
    tokenizer,
    seq_len: int,
    max_blocks: Optional[int] = None,
    seed: Optional[int] = None,
    chunk_docs: int = 2000,
    desc: str = "packing",
) -> PackedBlocks:
    """Tokenize ``dataset['text']`` (shuffled with ``seed`` if given) and pack it.

    Stops once ``max_blocks`` blocks are ready (the rest of the corpus is
    not tokenized). Empty documents are skipped and counted.
    """
    if seed is not None:
        dataset = dataset.shuffle(seed=seed, keep_in_memory=True)  # no cache file in the corpus folder (a weasel output)
    packer = Packer(tokenizer, seq_len)
    parts: List[np.ndarray] = []
    lengths: List[int] = []
    empty = 0
    bar = tqdm(total=max_blocks or None, desc=desc, unit="block", leave=False)
    for start in range(0, len(dataset), chunk_docs):
        batch = dataset[start : start + chunk_docs]["text"]
        texts = [t for t in batch if t and t.strip()]
        empty += len(batch) - len(texts)
        if not texts:
            continue
        ids = tokenizer(texts, add_special_tokens=False, return_attention_mask=False, verbose=False)["input_ids"]
        new = packer.blocks(ids)
        if max_blocks:
            new = new[: max_blocks - len(lengths)]
        parts.extend(np.asarray(b, dtype=np.int32) for b in new)
        lengths.extend(len(b) for b in new)
        bar.update(len(new))
        if max_blocks and len(lengths) >= max_blocks:
            break
    bar.close()
    if empty:
        logger.info("%s: skipped %d empty documents", desc, empty)
    if packer.split_words:
        logger.warning("%s: %d words longer than a block were split", desc, packer.split_words)
    if not lengths:
        raise ValueError(f"{desc}: the corpus produced no tokens")
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return PackedBlocks(np.concatenate(parts), offsets)
