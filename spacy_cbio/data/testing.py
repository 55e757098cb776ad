"""A sample of the data mirror with the same layout, for tests and smoke runs of the workflow.

The whole workflow reads the mirror (``vars.mirror``); on the tiny profile most of its time goes
into reading, converting and scoring the full corpora rather than into the tiny models. The
sample keeps every folder and file name the stages look for, but only the first few documents
of each folder and the first lines of the large JSON-lines archives. Files are linked, not
copied, except the archives it cuts.
"""
from __future__ import annotations

import gzip
import os
from collections import defaultdict
from itertools import islice
from pathlib import Path
from typing import Dict, List, Union

PathLike = Union[str, Path]


def _stem(name: str) -> str:
    """The document a file belongs to: its name up to the first dot (``doc.txt`` and ``doc.ann``,
    ``0001_d327.u55.txt`` and ``0001_d327.u55.ann`` go together)."""
    return name.split(".", 1)[0]


def _cut_jsonl_gz(source: Path, dest: Path, max_lines: int) -> None:
    """Write the first ``max_lines`` lines of a gzipped JSON-lines file."""
    with gzip.open(source, "rt", encoding="utf8") as lines, gzip.open(dest, "wt", encoding="utf8") as out:
        out.writelines(islice(lines, max_lines))


def sample_mirror(source: PathLike, dest: PathLike, max_docs: int = 6, max_lines: int = 300) -> Dict[str, int]:
    """Write a sample of the mirror ``source`` to ``dest``, with the same layout.

    In each folder, the documents (files grouped by the name before the first dot) are kept when
    there are at most ``max_docs`` of them, else the first ``max_docs`` in name order. Each
    ``*.jsonl.gz`` keeps its first ``max_lines`` lines. RETURNS counts: folders, documents kept
    and left out, archives cut.
    """
    source, dest = Path(source).resolve(), Path(dest)
    if not source.is_dir():
        raise FileNotFoundError(f"no data mirror at {source}")
    counts = {"folders": 0, "docs_kept": 0, "docs_left_out": 0, "archives_cut": 0}
    for folder, subfolders, files in os.walk(source):
        subfolders.sort()
        here = Path(folder)
        target = dest / here.relative_to(source)
        target.mkdir(parents=True, exist_ok=True)
        counts["folders"] += 1
        docs: Dict[str, List[str]] = defaultdict(list)
        for name in sorted(files):
            docs[_stem(name)].append(name)
        stems = sorted(docs)
        kept = stems[:max_docs]
        counts["docs_kept"] += len(kept)
        counts["docs_left_out"] += len(stems) - len(kept)
        for stem in kept:
            for name in docs[stem]:
                if name.endswith(".jsonl.gz"):
                    _cut_jsonl_gz(here / name, target / name, max_lines)
                    counts["archives_cut"] += 1
                else:
                    (target / name).symlink_to(here / name)
    return counts
