"""The vectors stage: floret vectors on the biomedical and general corpora, equal sizes.

``<output>/bio`` and ``<output>/general`` are spaCy pipeline directories holding
floret vectors trained the same way on the same number of words (the domain
control), ``<output>/both`` their column-wise concatenation (the two tables share
the hashing scheme, so row ``i`` of each is the same subword bucket), and
``vectors.json`` / ``README.md`` the record: settings, words, times, neighbours.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Dict, Union

from ..reporting import library_versions, markdown_table
from ..settings import load_block
from .floret_vectors import (
    PROBE_WORDS,
    VectorsSettings,
    corpus_texts,
    count_words,
    to_spacy_vectors,
    train_floret,
    write_tokenized,
)

PathLike = Union[str, Path]
VECTOR_LIBRARIES = ("spacy-cbio", "spacy", "floret", "numpy")
logger = logging.getLogger(__name__)


def load_settings(config: PathLike) -> VectorsSettings:
    """``[vectors]`` of a vectors profile as typed settings; ``threads = 0`` becomes the cores shared
    among the jobs.

    RAISES: FileNotFoundError; :class:`~spacy_cbio.settings.SettingsError` naming the file and key.
    """
    settings = load_block(config, "vectors", VectorsSettings)
    if not settings.threads:
        settings.threads = max(1, (os.cpu_count() or 1) // settings.jobs)
    return settings


def train_corpus(name: str, path: PathLike, cap: int, settings: VectorsSettings, work: Path,
                 output: Path) -> Dict[str, Any]:
    """Tokenize one corpus (``cap`` words), train floret on it, convert to ``output/name``."""
    texts, total = corpus_texts(Path(path))
    text_file = work / f"{name}.txt"
    counts = write_tokenized(texts, text_file, max_words=cap, total=total, desc=f"{name}: tokenize")
    logger.info("[%s] training floret (%s, dim %d, %d epochs, %d threads) on %s words", name, settings.model,
                settings.dim, settings.epoch, settings.threads, f"{counts['words']:,}")
    trained = train_floret(text_file, work / name, settings)
    converted = to_spacy_vectors(trained["floret_file"], output / name)
    logger.info("[%s] %.0f s, %s words in the vocabulary; neighbours of %s: %s", name, trained["train_s"],
                f"{trained['vocab_words']:,}", PROBE_WORDS[0],
                [w for w, _ in trained["nearest_neighbours"][PROBE_WORDS[0]]])
    return {"corpus": str(path), **counts, **trained, "spacy": converted}


def _train_corpus_job(level: int, *args: Any) -> Dict[str, Any]:
    """:func:`train_corpus` in a fresh (spawned) process: its messages go to stderr as the parent's would."""
    if not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logging.getLogger().addHandler(handler)
    logger.setLevel(level)
    return train_corpus(*args)


def concatenate_vectors(first: PathLike, second: PathLike, output: PathLike) -> Dict[str, Any]:
    """Column-wise concatenation of two floret tables trained with the same hashing settings."""
    import numpy
    import spacy
    from spacy.vectors import Vectors

    a, b = spacy.load(first), spacy.load(second)
    va, vb = a.vocab.vectors, b.vocab.vectors
    if va.mode != "floret" or vb.mode != "floret":
        raise ValueError("only floret tables can be concatenated row by row")
    keys = ("minn", "maxn", "hash_count", "hash_seed", "bow", "eow")
    if va.shape[0] != vb.shape[0] or any(getattr(va, k) != getattr(vb, k) for k in keys):
        raise ValueError(f"{first} and {second}: different floret hashing settings, rows are not comparable")
    data = numpy.hstack([numpy.asarray(va.data), numpy.asarray(vb.data)])
    nlp = spacy.blank(a.lang)
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=data, mode="floret",
                                **{k: getattr(va, k) for k in keys})
    nlp.to_disk(output)
    return {"rows": int(data.shape[0]), "dim": int(data.shape[1]), "mode": "floret"}


def run_vectors(config: PathLike, bio_corpus: PathLike, general_corpus: PathLike, output: PathLike) -> Dict[str, Any]:
    """Train bio and general floret vectors on equal word counts; write the record."""
    t_stage = time.time()
    settings = load_settings(config)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    work = output / "work"  # tokenized text and .floret files, removed at the end
    work.mkdir(exist_ok=True)
    corpora = {"bio": Path(bio_corpus), "general": Path(general_corpus)}
    available: Dict[str, int] = {}
    for name, path in corpora.items():
        available[name] = count_words(corpus_texts(path)[0])
    cap = settings.max_words or max(available.values())
    if settings.equal_size:
        cap = min([cap, *available.values()])
    logger.info("[vectors] corpus words: %s; training each on %s words", available, f"{cap:,}")
    # floret's threads update the vectors without locks: with more than one, two runs differ
    record: Dict[str, Any] = {"settings": settings.model_dump(), "corpus_words_available": available,
                              "words_per_corpus": cap, "bit_reproducible": settings.threads == 1,
                              "runs": {}}
    if settings.jobs == 1:
        for name, path in corpora.items():
            record["runs"][name] = train_corpus(name, path, cap, settings, work, output)
    else:  # both corpora at once, one process each (a fresh interpreter: no forked threads)
        logger.info("[vectors] training bio and general at the same time, %d thread(s) each", settings.threads)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
            futures = {name: pool.submit(_train_corpus_job, logger.getEffectiveLevel(), name, path, cap, settings,
                                         work, output)
                       for name, path in corpora.items()}
            for name, future in futures.items():
                record["runs"][name] = future.result()
    record["runs"]["both"] = {"spacy": concatenate_vectors(output / "bio", output / "general", output / "both")}
    shutil.rmtree(work)  # large, and rebuilt from the corpus in minutes
    record.update(wall_time_s=round(time.time() - t_stage, 1), machine=platform.processor() or platform.machine(),
                  versions=library_versions(VECTOR_LIBRARIES))
    (output / "vectors.json").write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf8")
    (output / "README.md").write_text(record_markdown(record), encoding="utf8")
    logger.info("[vectors] done in %.0f s: %s/{bio,general,both}", record["wall_time_s"], output)
    return record


def record_markdown(record: Dict[str, Any]) -> str:
    """The human-readable record: settings, sizes, times and nearest neighbours."""
    s = record["settings"]
    lines = [
        "# floret vectors: biomedical vs general French (equal sizes)",
        "",
        f"floret `{s['model']}`, mode floret, dim {s['dim']}, char n-grams {s['minn']}-{s['maxn']}, "
        f"{s['bucket']:,} buckets x {s['hash_count']} hashes, {s['epoch']} epochs, min count {s['min_count']}, "
        f"{s['threads']} threads{' per corpus, both corpora at once' if int(s.get('jobs', 1)) > 1 else ''}. Each corpus is cut to {record['words_per_corpus']:,} words "
        f"(available: {', '.join(f'{k} {v:,}' for k, v in record['corpus_words_available'].items())}).",
        "",
        ("Trained with 1 thread: a rerun gives the same vectors, bit for bit." if record.get("bit_reproducible")
         else f"Trained with {s['threads']} threads, which update the vectors without locks: a rerun gives "
              "slightly different vectors (and NER scores). `threads = 1` in [vectors] makes them bit-identical."),
        "",
    ]
    rows = []
    for name in ("bio", "general"):
        r = record["runs"][name]
        rows.append((name, f"{r['words']:,}", f"{r['tokens']:,}", f"{r['vocab_words']:,}", r["train_s"],
                     f"{r['spacy']['rows']:,} x {r['spacy']['dim']}"))
    both = record["runs"]["both"]["spacy"]
    rows.append(("both (bio + general, concatenated)", "", "", "", "", f"{both['rows']:,} x {both['dim']}"))
    lines.append(markdown_table(rows, ["vectors", "words", "tokens", "vocabulary", "train time (s)", "table"],
                                aligns="lrrrrl"))
    neighbours = [(word, *(", ".join(w for w, _ in record["runs"][n]["nearest_neighbours"][word])
                           for n in ("bio", "general"))) for word in PROBE_WORDS]
    lines += ["", "Nearest neighbours (floret model, cosine):", "",
              markdown_table(neighbours, ["word", "bio", "general"])]
    lines += ["", f"Stage wall time {record['wall_time_s']} s. Versions: "
              + ", ".join(f"{k} {v}" for k, v in record["versions"].items()) + ".", ""]
    return "\n".join(lines)
