"""Speed, memory, load time and size of a pipeline, measured when it is packaged.

``package`` runs :func:`measure_inference` on the trained folder before building the wheel: it
loads the pipeline (the load time: the model, spaCy and torch being imported already), then for
1 and 2 torch threads runs ``nlp.pipe`` over the texts (best of ``passes``, after a warm-up) and
reports words/s; then the process's peak RSS and the folder's size on disk, which is what the
package installs. The record names the machine, the texts, the versions, the load average and
the date; it goes into the package meta and the model card prints it.
"""
from __future__ import annotations

import datetime
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

THREADS = (1, 2)
MAX_WORDS = 5000


def folder_mb(path: Path) -> float:
    """The size on disk of the files under ``path``, in MB (10^6 bytes)."""
    return round(sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1e6, 1)


def measurement_texts(data: Optional[Path], fallback: str, max_words: int = MAX_WORDS) -> Dict[str, Any]:
    """``{"texts": [...], "source": ...}``: the documents of a DocBin (``data``, e.g. the test set),
    up to ``max_words`` words; without one, ``fallback`` repeated to 1,000 words."""
    if data is not None and Path(data).is_file():
        from spacy.tokens import DocBin
        from spacy.vocab import Vocab

        texts, words = [], 0
        for doc in DocBin().from_disk(data).get_docs(Vocab()):
            if words >= max_words:
                break
            texts.append(doc.text)
            words += len(doc.text.split())
        if texts:
            return {"texts": texts, "source": str(data)}
    n = max(1, 1000 // max(1, len(fallback.split())))
    return {"texts": [fallback] * n, "source": "the model card's usage sentence, repeated"}


def peak_rss_mib() -> Optional[float]:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure_inference(model_dir: Path, texts: Dict[str, Any], threads: Sequence[int] = THREADS,
                      batch_size: int = 16, passes: int = 2) -> Dict[str, Any]:
    """The measurement record of ``model_dir``, taken in this process: the load time, then words/s
    of ``nlp.pipe`` over the texts at each thread count (best of ``passes``, after a warm-up), the
    process's peak RSS, and the folder's size."""
    import spacy
    import torch

    from ..about import __version__
    from ..reporting import hardware, library_versions

    previous = torch.get_num_threads()
    start = time.perf_counter()
    nlp = spacy.load(model_dir)
    load_s = time.perf_counter() - start
    docs = texts["texts"]
    words = sum(len(t.split()) for t in docs)
    runs: List[Dict[str, Any]] = []
    try:
        for n in threads:
            torch.set_num_threads(n)
            list(nlp.pipe(docs[:batch_size], batch_size=batch_size))  # warm up
            best = float("inf")
            for _ in range(passes):
                t0 = time.perf_counter()
                list(nlp.pipe(docs, batch_size=batch_size))
                best = min(best, time.perf_counter() - t0)
            runs.append({"threads": n, "seconds": round(best, 3), "words_per_s": round(words / best, 1)})
    finally:
        torch.set_num_threads(previous)
    machine = hardware()
    return {
        "words_per_s": {str(r["threads"]): r["words_per_s"] for r in runs},
        "load_s": round(load_s, 2),
        "peak_rss_mib": peak_rss_mib(),
        "size_mb": folder_mb(model_dir),
        "texts": {"source": texts["source"], "documents": len(docs), "words": words},
        "batch_size": batch_size,
        "passes": passes,
        "machine": {"cpu": machine["cpu"], "cpu_cores": machine["cpu_cores"]},
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "versions": {"spacy-cbio": __version__, **library_versions(("spacy", "torch"))},
        "measured": datetime.date.today().isoformat(),
        "runs": runs,
    }


__all__ = ["measure_inference", "measurement_texts", "folder_mb", "peak_rss_mib", "THREADS"]
