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
from typing import Any, Dict, Iterable, Iterator, Optional, Tuple, Union

from tqdm.auto import tqdm

PathLike = Union[str, Path]
# Words whose nearest neighbours go into the record (a few common medical terms).
PROBE_WORDS = ("paracétamol", "hypertension", "rénale", "tumeur", "antibiotique", "diabète")


def corpus_texts(corpus_dir: PathLike, split: str = "train") -> Tuple[Iterator[str], int]:
    """Texts of a corpus built by ``corpus_scripts.build_corpus`` and their count."""
    from datasets import DatasetDict, load_from_disk

    path = Path(corpus_dir) / "dataset"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no dataset here (build it with `python -m corpus_scripts.build_corpus`)")
    dd = load_from_disk(str(path))
    if not isinstance(dd, DatasetDict) or split not in dd or "text" not in dd[split].column_names:
        raise ValueError(f"{path}: expected a DatasetDict with a '{split}' split and a 'text' column")
    dataset = dd[split]

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


def train_floret(text_file: PathLike, output_prefix: PathLike, settings: Dict[str, Any]) -> Dict[str, Any]:
    """Train floret (cbow or skipgram, ``mode="floret"``) and save ``<prefix>.floret``.

    RETURNS: training time, vocabulary size and the nearest neighbours of
    ``PROBE_WORDS`` (cosine, from the floret model itself).
    """
    import floret

    t0 = time.time()
    model = floret.train_unsupervised(
        str(text_file),
        model=str(settings["model"]),
        mode="floret",
        dim=int(settings["dim"]),
        minn=int(settings["minn"]),
        maxn=int(settings["maxn"]),
        bucket=int(settings["bucket"]),
        hashCount=int(settings["hash_count"]),
        epoch=int(settings["epoch"]),
        minCount=int(settings["min_count"]),
        neg=int(settings["neg"]),
        thread=int(settings["threads"]),
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
