"""Train a CamemBERT-style SentencePiece unigram tokenizer.

CamemBERT wraps a SentencePiece model with fairseq offsets: ``<s>NOTUSED``,
``<pad>``, ``</s>NOTUSED``, ``<unk>`` take ids 0-3, SentencePiece piece ``i``
maps to ``i + 4`` and ``<mask>`` is appended last. So the largest id is
*above* ``len(tokenizer)``: size embeddings with :func:`vocab_size_for`.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Iterable, Iterator, Union

import sentencepiece as spm
from transformers import CamembertTokenizer, CamembertTokenizerFast, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

SPM_FILE = "sentencepiece.bpe.model"  # the name CamembertTokenizer expects
MAX_SENTENCE_BYTES = 4192  # SentencePiece's default max_sentence_length


def _training_lines(texts: Iterable[str], stats: dict) -> Iterator[str]:
    """Split documents into non-empty lines short enough for SentencePiece.

    Over-long lines are cut at whitespace (counted in ``stats["split"]``)
    instead of being dropped silently by the trainer.
    """
    for text in texts:
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            if len(line.encode("utf8")) <= MAX_SENTENCE_BYTES:
                stats["lines"] += 1
                yield line
                continue
            stats["split"] += 1
            chunk: list = []
            size = 0
            for word in line.split():
                n = len(word.encode("utf8")) + 1
                if chunk and size + n > MAX_SENTENCE_BYTES:
                    stats["lines"] += 1
                    yield " ".join(chunk)
                    chunk, size = [], 0
                if n <= MAX_SENTENCE_BYTES:  # a single absurd "word" is dropped, counted
                    chunk.append(word)
                    size += n
                else:
                    stats["dropped_words"] += 1
            if chunk:
                stats["lines"] += 1
                yield " ".join(chunk)


def train_tokenizer(
    texts: Iterable[str],
    output_dir: Union[str, Path],
    vocab_size: int,
    seed: int = 0,
    *,
    character_coverage: float = 1.0,
    input_sentence_size: int = 2_000_000,
    num_threads: int = 2,
    model_type: str = "unigram",
) -> PreTrainedTokenizerBase:
    """Train a SentencePiece unigram model and save a CamemBERT tokenizer.

    texts: documents (any iterable of strings; lines become training sentences).
    output_dir: written with ``save_pretrained`` (fast ``tokenizer.json`` plus
        the slow ``sentencepiece.bpe.model``).
    vocab_size: SentencePiece pieces (the model vocabulary is this + 5, see
        :func:`vocab_size_for`). It is a soft limit on tiny corpora.
    seed: SentencePiece's random seed (sentence sampling).
    model_type: ``unigram`` (this stage's tokenizers) or ``bpe`` (used to
        build test bases in camembert-base's layout).
    Returns the tokenizer (fast when conversion works, else slow).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    stats = {"lines": 0, "split": 0, "dropped_words": 0}
    spm.set_random_generator_seed(seed)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=_training_lines(texts, stats),
        model_writer=model,
        model_type=model_type,
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        character_coverage=character_coverage,
        input_sentence_size=input_sentence_size,
        shuffle_input_sentence=True,
        # CamemBERT layout: unk/bos/eos at 0/1/2, no pad piece (pad is a fairseq id)
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=num_threads,
        minloglevel=2,
    )
    if stats["lines"] == 0:
        raise ValueError("train_tokenizer: no non-empty text lines given")
    if stats["split"] or stats["dropped_words"]:
        logger.warning(
            "train_tokenizer: %d over-long lines split at whitespace, %d over-long words dropped",
            stats["split"],
            stats["dropped_words"],
        )
    spm_path = output_dir / SPM_FILE
    spm_path.write_bytes(model.getvalue())
    tokenizer = load_spm_tokenizer(spm_path)
    tokenizer.save_pretrained(str(output_dir))
    return tokenizer


def load_spm_tokenizer(spm_path: Union[str, Path]) -> PreTrainedTokenizerBase:
    """Wrap a SentencePiece model as CamembertTokenizerFast (slow if conversion fails)."""
    slow = CamembertTokenizer(vocab_file=str(spm_path))
    try:
        return CamembertTokenizerFast(vocab_file=str(spm_path))
    except Exception as err:  # conversion needs protobuf; keep the slow one
        logger.warning("CamembertTokenizerFast conversion failed (%s); using the slow tokenizer", err)
        return slow


def vocab_size_for(tokenizer: PreTrainedTokenizerBase) -> int:
    """Embedding rows needed for ``tokenizer``: largest id + 1 (not ``len()``)."""
    return max(max(tokenizer.get_vocab().values()), len(tokenizer) - 1) + 1

