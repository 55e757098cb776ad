"""Train one pipeline per dataset, several at once: what the project's ``train`` step runs.

Each dataset trains in its own process running the ``train`` command, its output in
``<output>/<dataset>/train.log`` (:func:`spacy_cbio.train.child.start_command`: a fork of this
process on Linux, which has already imported spaCy, torch and transformers). On a small CPU, two
trainings at one torch thread each finish sooner than the same two one after the other with two
threads each: the small models' matrix products are too small to keep two threads busy (the
results grid measures the same effect, ``benchmarks/results_jobs.sh``). A dataset that is not
public (CAS1/CAS2), with no converted data, is skipped with a message; a missing public dataset
is an error.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence

from .child import FORK, start_command

logger = logging.getLogger(__name__)


@dataclass
class DatasetRun:
    """One dataset's training: its name, data, output folder and command line."""

    dataset: str
    train: Path
    dev: Path
    output: Path
    command: List[str]

    @property
    def argv(self) -> List[str]:
        """The ``spacy-cbio`` arguments: the command line without ``python -m spacy_cbio``."""
        return self.command[3:]


def optional_dataset(name: str) -> bool:
    """Whether a dataset without converted data is skipped, not an error: one of the table's
    non-public datasets (CAS1/CAS2, which the user must request)."""
    from ..data.datasets import DATASETS

    spec = DATASETS.get(name)
    return spec is not None and not spec.required


def threads_per_job(threads: int, jobs: int) -> int:
    """torch threads of each training: ``threads`` when given, else the CPU cores shared out."""
    if threads > 0:
        return threads
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


def plan(datasets: Sequence[str], output: Path, corpus: Path, args: Sequence[str], *, threads: int) -> List[DatasetRun]:
    """The ``train`` command of each dataset: ``--paths.train/--paths.dev`` from ``corpus/<dataset>``,
    then ``args`` (profile, head, overrides...)."""
    runs = []
    for name in datasets:
        train, dev = corpus / name / "train.spacy", corpus / name / "dev.spacy"
        command = [sys.executable, "-m", "spacy_cbio", "train", str(output / name), f"--paths.train={train}",
                   f"--paths.dev={dev}", f"--threads={threads}", *args]
        runs.append(DatasetRun(name, train, dev, output / name, command))
    return runs


def _run(run: DatasetRun, lock: threading.Lock) -> Dict[str, Any]:
    run.output.mkdir(parents=True, exist_ok=True)
    log = run.output / "train.log"
    start = time.perf_counter()
    with lock:
        logger.info("%s: training (log: %s)", run.dataset, log)
    log.write_text(" ".join(run.command) + "\n", encoding="utf8")
    process, _ = start_command(run.command, log, name=f"train-{run.dataset}")
    try:
        returncode = process.wait()
    finally:
        if process.poll() is None:  # interrupted: the training does not outlive this process
            process.kill()
            process.wait()
    minutes = (time.perf_counter() - start) / 60
    lines = log.read_text(encoding="utf8", errors="replace").splitlines()
    with lock:
        if returncode == 0:
            calibrated = [line for line in lines if line.startswith("Entity scores")]
            logger.info("%s: done in %.1f min%s", run.dataset, minutes, f"; {calibrated[-1]}" if calibrated else "")
        else:
            logger.error("%s: training failed (exit %s) after %.1f min; last lines of %s:\n%s", run.dataset,
                         returncode, minutes, log, "\n".join(lines[-15:]))
    return {"dataset": run.dataset, "returncode": returncode, "minutes": round(minutes, 2), "log": str(log)}


def train_datasets(datasets: Sequence[str], output: Path, corpus: Path, args: Sequence[str], *, jobs: int = 1,
                   threads: int = 0) -> List[Dict[str, Any]]:
    """Train ``datasets`` (``jobs`` at once); RETURNS one record per dataset trained (exit status,
    minutes, log). Raises ``FileNotFoundError`` when a public dataset has no data (before any
    training starts)."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    per_job = threads_per_job(threads, jobs)
    runs: List[DatasetRun] = []
    for run in plan(datasets, Path(output), Path(corpus), args, threads=per_job):
        if run.train.is_file() and run.dev.is_file():
            runs.append(run)
        elif optional_dataset(run.dataset):
            from .pipeline import data_help

            logger.info("%s: skipped, no converted data (%s): %s", run.dataset, run.train.parent,
                        data_help([str(run.train)]))
        else:
            raise FileNotFoundError(f"{run.dataset}: no {run.train} or {run.dev}: run `python -m spacy_cbio convert` first")
    if not runs:
        return []
    logger.info("Training %d pipelines, %d at a time, %d torch thread(s) each: %s", len(runs), min(jobs, len(runs)),
                per_job, ", ".join(r.dataset for r in runs))
    if FORK:  # the forked children start with these imported
        import spacy_transformers  # noqa: F401
        import torch  # noqa: F401

        from . import pipeline  # noqa: F401
    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=min(jobs, len(runs))) as pool:
        return list(pool.map(lambda r: _run(r, lock), runs))


__all__ = ["DatasetRun", "optional_dataset", "plan", "threads_per_job", "train_datasets"]
