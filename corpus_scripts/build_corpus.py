"""Build the pretraining corpus (biomedical or general French) as a sharded DatasetDict.

Pipeline, per document in a deterministic order: clean -> min length -> exact dedup ->
contamination (NER dev/test n-gram overlap) -> near dedup (MinHash LSH) -> sentence-packed
chunks -> per-source word quota (``--max-words``). The validation split is held out at the
document level. Run ``python -m corpus_scripts.build_corpus --help`` from the project root.
"""
import math
import platform
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy
import typer
from tqdm import tqdm

from spacy_cbio.data import heldout_texts
from spacy_cbio.settings import SettingsError, SettingsModel, load_block

from .clean import clean_text, count_words
from .contamination import ContaminationIndex
from .dedup import ExactDeduper, MinHasher, NearDuplicateIndex
from .ngrams import word_ids
from .segment import chunk_text
from .sources import biomedical_readers, general_readers
from .stats import CorpusStats

RawDocs = Dict[str, List[Tuple[str, str]]]


def load_sources(mirror: Path, general: bool, extra_dirs: Sequence[Path]) -> RawDocs:
    """Read every source into ``{source: [(doc_id, raw text)]}`` (reading order kept)."""
    readers = general_readers(list(extra_dirs)) if general else biomedical_readers(list(extra_dirs))
    docs: RawDocs = {}
    seen = set()
    for name, reader in readers:
        for source, doc_id, text in tqdm(reader(mirror), desc=f"read {name}", unit="doc", mininterval=2.0):
            if (source, doc_id) in seen:
                raise ValueError(f"Duplicate document id {doc_id!r} in source {source!r} ({name})")
            seen.add((source, doc_id))
            docs.setdefault(source, []).append((doc_id, text))
    return docs


def compute_quotas(sizes: Dict[str, int], cap: int) -> Dict[str, int]:
    """Split a word cap over sources: each first gets up to ``cap / (2 * n_sources)`` words
    (so every source is represented), the rest is shared in proportion to the remaining
    sizes (water-filling, never above a source's size). The quotas sum to at most ``cap``."""
    quotas = {s: min(size, cap // (2 * len(sizes))) for s, size in sizes.items()} if sizes else {}
    while True:
        left = cap - sum(quotas.values())
        room = {s: sizes[s] - quotas[s] for s in sizes if sizes[s] > quotas[s]}
        if left <= 0 or not room:
            return quotas
        total_room = sum(room.values())
        added = 0
        for s in sorted(room):
            extra = min(room[s], left * room[s] // total_room)
            quotas[s] += extra
            added += extra
        if added == 0:  # rounding left a remainder smaller than the number of sources
            for s in sorted(room, key=lambda s: -room[s])[:left]:
                quotas[s] += 1
            return quotas


def _order(n: int, source: str, seed: int, shuffle: bool) -> numpy.ndarray:
    if not shuffle:
        return numpy.arange(n)
    rng = numpy.random.default_rng([seed, zlib.crc32(source.encode("utf8"))])
    return rng.permutation(n)


def _versions() -> Dict[str, str]:
    from importlib.metadata import version

    return {"python": platform.python_version(), "numpy": numpy.__version__, "datasets": version("datasets"),
            "datasketch": version("datasketch")}


def build_corpus(
    mirror: Path,
    output: Path,
    max_words: int = 0,
    general: bool = False,
    extra_dirs: Sequence[Path] = (),
    val_fraction: float = 0.01,
    min_val_docs: int = 3,
    seed: int = 0,
    shard_size: int = 50_000,
    num_proc: int = 1,
    chunk_words: int = 200,
    min_words: int = 5,
    ngram: int = 13,
    template_df: int = 3,
    min_matches: int = 1,
    near_threshold: float = 0.8,
    num_perm: int = 128,
    bands: int = 16,
) -> Dict[str, Any]:
    """Build the corpus under ``output`` (``dataset/``, ``stats.json``, ``stats.md``)."""
    import datasets

    start = time.time()
    args = {k: (str(v) if isinstance(v, Path) else v) for k, v in locals().items() if k not in ("datasets", "start")}
    args["extra_dirs"] = [str(d) for d in extra_dirs]
    stats = CorpusStats()
    raw = load_sources(mirror, general, extra_dirs)
    for source, docs in raw.items():
        for _, text in docs:
            stats.add(stats.raw, source, count_words(text))
    sizes = {s: stats.raw[s]["words"] for s in raw}
    quotas = compute_quotas(sizes, max_words) if max_words > 0 else None

    heldout = list(heldout_texts(mirror))
    index = ContaminationIndex(heldout, n=ngram, template_df=template_df)
    exact = ExactDeduper()
    hasher = MinHasher(num_perm=num_perm, shingle=5, seed=seed)
    near = NearDuplicateIndex(num_perm=num_perm, bands=bands, threshold=near_threshold)
    contaminated_ids: Dict[str, List[str]] = {}
    kept: List[Tuple[str, str, List[str]]] = []

    for source, docs in raw.items():
        quota = quotas[source] if quotas is not None else None
        used = 0
        full = False  # set once a chunk did not fit: the rest of the source is capped
        order = _order(len(docs), source, seed, shuffle=quotas is not None)
        bar = tqdm(order, desc=f"filter {source}", unit="doc", mininterval=2.0)
        for position, i in enumerate(bar):
            doc_id, text = docs[i]
            if quota is not None and (full or quota - used < min(chunk_words, max(min_words, 1))):
                for j in order[position:]:
                    stats.remove("capped", source, count_words(docs[j][1]))
                break
            text = clean_text(text, stats.repairs)
            n_words = count_words(text)
            if n_words < min_words:
                stats.remove("cleaned_out", source, count_words(docs[i][1]))
                continue
            if exact.seen(text):
                stats.remove("exact_duplicates", source, n_words)
                continue
            ids = word_ids(text)
            if index.matches_ids(ids) >= min_matches:
                stats.remove("contaminated", source, n_words)
                contaminated_ids.setdefault(source, []).append(doc_id)
                continue
            if near.add_if_new(f"{source}/{doc_id}", hasher.minhash(ids)) is not None:
                stats.remove("near_duplicates", source, n_words)
                continue
            chunks = chunk_text(text, chunk_words)
            if quota is not None:
                taken: List[str] = []
                for chunk in chunks:
                    n = count_words(chunk)
                    if used + n > quota:
                        full = True
                        break
                    taken.append(chunk)
                    used += n
                dropped = n_words - sum(count_words(c) for c in taken)
                if dropped:
                    stats.remove("capped", source, dropped, docs=0 if taken else 1)
                chunks = taken
            if chunks:
                kept.append((source, doc_id, chunks))
                stats.add(stats.kept, source, sum(count_words(c) for c in chunks))
    del raw

    splits = split_documents(kept, val_fraction, min_val_docs, seed)
    dataset = datasets.DatasetDict(
        {name: _to_dataset(rows, datasets) for name, rows in splits.items()}
    )
    for name, rows in splits.items():
        stats.splits[name] = {
            "documents": len(rows),
            "chunks": sum(len(chunks) for _, _, chunks in rows),
            "words": sum(count_words(c) for _, _, chunks in rows for c in chunks),
        }
    output.mkdir(parents=True, exist_ok=True)
    num_shards = {name: max(1, math.ceil(len(ds) / max(shard_size, 1))) for name, ds in dataset.items()}
    procs = max(1, min([num_proc] + list(num_shards.values())))
    dataset.save_to_disk(str(output / "dataset"), num_shards=num_shards, num_proc=procs if procs > 1 else None)

    heldout_counts = Counter(doc_id.split("/")[0] for doc_id, _ in heldout)
    meta = {
        "kind": "general" if general else "biomedical",
        "seed": seed,
        "arguments": args,
        "versions": _versions(),
        "quotas": quotas,
        "heldout_documents": dict(heldout_counts),
        "contamination": {
            "ngram": ngram,
            "indexed_ngrams": len(index),
            "template_ngrams_ignored": index.n_template,
            "per_source": {s: len(v) for s, v in contaminated_ids.items()},
            "documents": contaminated_ids,
        },
        "seconds": round(time.time() - start, 1),
    }
    markdown = stats.write(output, meta)
    result = stats.to_dict(meta)
    result["markdown"] = markdown
    return result


def split_documents(
    kept: List[Tuple[str, str, List[str]]], val_fraction: float, min_val_docs: int, seed: int
) -> Dict[str, List[Tuple[str, str, List[str]]]]:
    """Seeded document-level split: documents in a seeded random order go to validation
    until it holds ``val_fraction`` of the words and at least ``min_val_docs`` documents
    (at least one document always stays in train). Both splits keep that random order."""
    if len(kept) < 2:
        raise ValueError(f"Only {len(kept)} document(s) left after filtering: cannot make a validation split")
    sizes = [sum(count_words(c) for c in chunks) for _, _, chunks in kept]
    target = val_fraction * sum(sizes)
    order = numpy.random.default_rng(seed).permutation(len(kept))
    n_val, val_words = 0, 0
    while n_val < len(kept) - 1 and (n_val < min_val_docs or val_words < target):
        val_words += sizes[order[n_val]]
        n_val += 1
    return {
        "train": [kept[i] for i in order[n_val:]],
        "validation": [kept[i] for i in order[:n_val]],
    }


def _to_dataset(rows: List[Tuple[str, str, List[str]]], datasets: Any) -> Any:
    features = datasets.Features(
        {"text": datasets.Value("string"), "source": datasets.Value("string"), "doc_id": datasets.Value("string")}
    )
    columns: Dict[str, List[str]] = {"text": [], "source": [], "doc_id": []}
    for source, doc_id, chunks in rows:
        for chunk in chunks:
            columns["text"].append(chunk)
            columns["source"].append(source)
            columns["doc_id"].append(doc_id)
    return datasets.Dataset.from_dict(columns, features=features)


class CorpusSettings(SettingsModel):
    """``[corpus]`` of a corpus or vectors profile: word caps, source-stratified (0 = no cap)."""

    max_words: Optional[int] = None  # the biomedical corpus
    general_max_words: Optional[int] = None  # the general-French corpus


def profile_max_words(config: Path, general: bool) -> int:
    """Word cap of a corpus profile (configs/corpus/*.cfg or configs/vectors/*.cfg): ``[corpus] max_words`` (or ``general_max_words``)."""
    try:
        settings = load_block(config, "corpus", CorpusSettings, interpolate=False)
    except (SettingsError, FileNotFoundError) as err:
        raise typer.BadParameter(str(err), param_hint="--config") from None
    key = "general_max_words" if general else "max_words"
    value = getattr(settings, key)
    if value is None:
        raise typer.BadParameter(f"{config} has no [corpus] {key}", param_hint="--config")
    return value


def build(
    mirror: Path = typer.Option(Path("assets"), "--mirror", help="Data root (the mirror of the raw corpora)."),
    output: Path = typer.Option(Path("corpus/pretrain/full"), "--output", help="Output folder."),
    config: Optional[Path] = typer.Option(None, "--config", help="Corpus profile (configs/corpus/*.cfg for the pretraining samples, configs/vectors/*.cfg for the vectors corpora): its [corpus] section gives max_words / general_max_words when --max-words is not given."),
    max_words: Optional[int] = typer.Option(None, "--max-words", help="Word cap, source-stratified (0 = no cap; default: the profile's, else 0)."),
    general: bool = typer.Option(False, "--general", help="Build the general-French corpus instead."),
    extra_dir: Optional[List[Path]] = typer.Option(None, "--extra-dir", help="Extra folder of *.txt (repeatable)."),
    val_fraction: float = typer.Option(0.01, "--val-fraction", help="Fraction of documents held out."),
    min_val_docs: int = typer.Option(3, "--min-val-docs", help="Least number of validation documents."),
    seed: int = typer.Option(0, "--seed", help="Random seed (sampling, split, MinHash)."),
    shard_size: int = typer.Option(50_000, "--shard-size", help="Rows per Arrow shard."),
    num_proc: int = typer.Option(1, "--num-proc", help="Processes used to write shards."),
    chunk_words: int = typer.Option(200, "--chunk-words", help="Most words per text chunk."),
    min_words: int = typer.Option(5, "--min-words", help="Documents shorter than this are dropped."),
    ngram: int = typer.Option(13, "--ngram", help="Word n-gram length of the contamination check."),
    template_df: int = typer.Option(3, "--template-df", help="Held-out n-grams in this many held-out docs are template (ignored); 0 = none."),
    min_matches: int = typer.Option(1, "--min-matches", help="Shared n-grams that make a document contaminated."),
    near_threshold: float = typer.Option(0.8, "--near-threshold", help="MinHash Jaccard for near duplicates."),
) -> None:
    """Build the pretraining corpus: clean, deduplicate, decontaminate, chunk and split."""
    if max_words is None:
        max_words = profile_max_words(config, general) if config else 0
    result = build_corpus(
        mirror, output, max_words=max_words, general=general, extra_dirs=extra_dir or [],
        val_fraction=val_fraction, min_val_docs=min_val_docs, seed=seed, shard_size=shard_size,
        num_proc=num_proc, chunk_words=chunk_words, min_words=min_words, ngram=ngram,
        template_df=template_df, min_matches=min_matches, near_threshold=near_threshold,
    )
    typer.echo(result["markdown"].split("```json")[0])
    typer.echo(f"Saved {output / 'dataset'} ({result['seconds']} s)")


if __name__ == "__main__":
    typer.run(build)
