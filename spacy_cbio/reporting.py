"""What every output records and how reports are written.

* :func:`library_versions`: Python's version and the installed versions of
  the libraries that shape a result (``NER_LIBRARIES`` for NER training and
  evaluation).
* :func:`hardware`: CPU model, cores, RAM and GPUs of this machine.
* :func:`markdown_table`: a Markdown table, rendered by wasabi's
  ``MarkdownRenderer`` (the one table writer of the reports and cards).
"""
from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Sequence

from wasabi import MarkdownRenderer

# The libraries that decide NER training and evaluation results (recorded by train and evaluate).
NER_LIBRARIES = ("spacy-cbio", "spacy", "spacy-transformers", "thinc", "transformers", "torch", "seqeval", "numpy")


def library_versions(packages: Iterable[str] = NER_LIBRARIES) -> Dict[str, str]:
    """Python's version and each installed distribution's (``"not installed"`` if absent)."""
    found = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gb() -> Optional[float]:
    """Total physical memory in GiB (one decimal), ``None`` where the OS does not say."""
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (AttributeError, OSError, ValueError):
        return None


def gpu_names() -> list:
    """Names of the visible CUDA devices (empty without torch or CUDA)."""
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def hardware() -> Dict[str, Any]:
    """``{"cpu", "cpu_cores", "ram_gb", "gpus"}`` of this machine."""
    return {"cpu": cpu_model(), "cpu_cores": os.cpu_count(), "ram_gb": ram_gb(), "gpus": gpu_names()}


def markdown_table(rows: Iterable[Iterable[Any]], header: Sequence[str],
                   aligns: Optional[Sequence[str]] = None) -> str:
    """A Markdown table (no trailing newline).

    ``rows``: one iterable of cells per row; cells are passed through ``str``.
    ``aligns``: one of ``"l"``, ``"r"``, ``"c"`` per column (a string such as
    ``"llrr"`` works); left-aligned by default.
    """
    body = [[str(cell) for cell in row] for row in rows]
    header = [str(name) for name in header]
    for row in body:
        if len(row) != len(header):
            raise ValueError(f"row has {len(row)} cells, header has {len(header)}: {row}")
    table = MarkdownRenderer().table(body, header, list(aligns) if aligns is not None else None)
    return table.rstrip("\n")
