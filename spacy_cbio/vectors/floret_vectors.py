"""Train floret vectors on a pretraining corpus and convert them to spaCy vectors.

The corpus text is tokenized with spaCy's French tokenizer (so the vector keys
are the tokens the NER pipelines see), written one chunk per line, and fed to
``floret`` (fastText with subword hashing: every word, seen or not, gets a
vector from its character n-grams). The result is converted with spaCy's own
``convert_vectors(mode="floret")`` into a pipeline directory that
``[initialize] vectors`` accepts.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, Literal, Mapping, Optional, Tuple, Union

from pydantic import field_validator
from tqdm.auto import tqdm

from ..settings import SettingsModel, validate_block

PathLike = Union[str, Path]
# Words whose nearest neighbours go into the record (a few common medical terms).
PROBE_WORDS = ("paracétamol", "hypertension", "rénale", "tumeur", "antibiotique", "diabète")


class VectorsSettings(SettingsModel):
    """``[vectors]`` of a vectors profile: floret's settings and how the two corpora are trained."""

    model: Literal["cbow", "skipgram"] = "cbow"
    dim: int = 300
    minn: int = 4  # character n-grams, shortest
    maxn: int = 5  # character n-grams, longest
    bucket: int = 50000  # rows of the hashed table
    hash_count: int = 2
    epoch: int = 5
    min_count: int = 5
    neg: int = 10
    threads: int = 0  # per floret run; 0 = the cores shared among the jobs
    equal_size: bool = True  # cut both corpora to the same word count (the domain control)
    max_words: int = 0  # word cap per corpus (0 = none beyond the equal-size cut)
    jobs: int = 1  # corpora trained at the same time, each in its own process with `threads` threads

    @field_validator("jobs")
    @classmethod
    def _one_or_two(cls, value: int) -> int:
        if value not in (1, 2):
            raise ValueError("must be 1 or 2 (the bio and general corpora)")
        return value


def corpus_texts(corpus_dir: PathLike, split: str = "train") -> Tuple[Iterator[str], int]:
    """Texts of a corpus built by ``corpus_scripts.build_corpus`` and their count."""
    from datasets import DatasetDict, load_from_disk

    path = Path(corpus_dir) / "dataset"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no dataset here (build it with `python -m corpus_scripts.build_corpus`)")
    corpus_splits = load_from_disk(str(path))
    if not isinstance(corpus_splits, DatasetDict) or split not in corpus_splits or "text" not in corpus_splits[split].column_names:
        raise ValueError(f"{path}: expected a DatasetDict with a '{split}' split and a 'text' column")
    dataset = corpus_splits[split]

    def texts() -> Iterator[str]:
        for start in range(0, len(dataset), 1000):
            yield from dataset[start : start + 1000]["text"]

    return texts(), len(dataset)


def write_tokenized(texts: Iterable[str], output: PathLike, max_words: int = 0,
                    total: Optional[int] = None, desc: str = "tokenize") -> Dict[str, int]:
    """Tokenize ``texts`` with spaCy's French tokenizer into ``output``, one text per line.

    max_words: stop once this many whitespace-separated input words were written
    (0: no cap); the last text is written whole. RETURNS counts of texts, input
    words and tokens written.
    """
    import spacy

    tokenizer = spacy.blank("fr").tokenizer
    n_texts = n_words = n_tokens = 0
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf8") as out, tqdm(total=total, desc=desc, unit="text", mininterval=2.0) as bar:
        for doc in tokenizer.pipe(texts, batch_size=256):
            tokens = [t.text for t in doc if not t.is_space]
            if not tokens:
                continue
            out.write(" ".join(tokens) + "\n")
            n_texts += 1
            n_words += len(doc.text.split())
            n_tokens += len(tokens)
            bar.update(1)
            if max_words and n_words >= max_words:
                break
    return {"texts": n_texts, "words": n_words, "tokens": n_tokens}


def count_words(texts: Iterable[str]) -> int:
    """Whitespace-separated words of ``texts`` (the unit of the corpus statistics)."""
    return sum(len(t.split()) for t in texts)


def train_floret(text_file: PathLike, output_prefix: PathLike,
                 settings: Union[VectorsSettings, Mapping[str, Any]]) -> Dict[str, Any]:
    """Train floret (cbow or skipgram, ``mode="floret"``) and save ``<prefix>.floret``.

    RETURNS: training time, vocabulary size and the nearest neighbours of
    ``PROBE_WORDS`` (cosine, from the floret model itself).
    """
    import floret

    settings = validate_block(settings, VectorsSettings, source="", section="vectors")
    t0 = time.time()
    model = floret.train_unsupervised(
        str(text_file),
        model=settings.model,
        mode="floret",
        dim=settings.dim,
        minn=settings.minn,
        maxn=settings.maxn,
        bucket=settings.bucket,
        hashCount=settings.hash_count,
        epoch=settings.epoch,
        minCount=settings.min_count,
        neg=settings.neg,
        thread=settings.threads,
        verbose=0,
    )
    train_s = time.time() - t0
    floret_file = Path(f"{output_prefix}.floret")
    model.save_floret_vectors(str(floret_file))
    neighbours = {
        word: [(w, round(float(s), 3)) for s, w in model.get_nearest_neighbors(word, k=5)]
        for word in PROBE_WORDS
    }
    return {"train_s": round(train_s, 1), "vocab_words": len(model.words), "floret_file": str(floret_file),
            "nearest_neighbours": neighbours}


def to_spacy_vectors(floret_file: PathLike, output_dir: PathLike, lang: str = "fr") -> Dict[str, Any]:
    """Convert ``floret_file`` with spaCy (``spacy init vectors --mode floret``) into ``output_dir``."""
    import spacy
    from spacy.training.initialize import convert_vectors

    nlp = spacy.blank(lang)
    convert_vectors(nlp, Path(floret_file), truncate=0, prune=-1, mode="floret")
    nlp.to_disk(output_dir)
    rows, dim = nlp.vocab.vectors.shape
    return {"rows": int(rows), "dim": int(dim), "mode": nlp.vocab.vectors.mode}
