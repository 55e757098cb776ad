"""Run the grid: train each (model, dataset, seed), score its best checkpoint, write a record.

Records are ``<output>/runs/<model>/<dataset>/seed<k>.json``. A run whose record exists with
the same key (its config and the contents of its inputs: DocBins, vectors, transformer
weights, tune record) is skipped, so a killed workflow resumes where it stopped and a changed
model, profile or input reruns only what it changes. Selection runs are scored on dev only.

Each run trains and scores in a child process (:func:`spacy_cbio.train.child.start_command`: on
Linux a fork of the job process, which has already imported the stack), so torch never runs in
the process that forks the next one.
"""
from __future__ import annotations

import datetime
import json
import logging
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Dict, List, Optional, Sequence

import srsly

from ..reporting import NER_LIBRARIES, hardware, library_versions
from ..train.child import start_command
from ..train.pipeline import build_train_config, check_inputs
from .grid import PHASES, Grid, Run, record_name, train_overrides
from .provenance import git_commit, input_hash, run_key

logger = logging.getLogger(__name__)


class RunError(RuntimeError):
    """A training run of the grid failed (its log is named in the message)."""


# the training process of this (job) process, stopped with it (see _stop_training_and_exit)
_TRAINING: Optional[Any] = None


def record_path(output: Path, run: Run) -> Path:
    return Path(output) / "runs" / run.model.name / run.dataset / f"seed{run.seed}.json"


def model_path(output: Path, run: Run) -> Path:
    return Path(output) / "models" / run.model.name / run.dataset / f"seed{run.seed}"


def _cli_value(value: Any) -> str:
    """An override value as spaCy's ``parse_config_overrides`` reads it back."""
    return value if isinstance(value, str) else json.dumps(value)


def config_hash(config: Any) -> str:
    """A short content hash of a training config (what a run trained)."""
    import hashlib

    return hashlib.sha256(config.to_str().encode("utf8")).hexdigest()[:16]


def train_command(grid: Grid, run: Run, output: Path, *, gpu_id: int = -1, threads: int = 0,
                  train_data: Optional[Path] = None) -> List[str]:
    """The ``python -m spacy_cbio train`` command line of ``run``."""
    spec = run.model
    command = [sys.executable, "-m", "spacy_cbio", "train", str(output), "--profile", grid.profile,
               "--head", spec.head, "--recipe", spec.recipe, "--gpu-id", str(gpu_id), "--threads", str(threads)]
    for key, value in train_overrides(grid, run, train_data=train_data).items():
        command += [f"--{key}", _cli_value(value)]
    return command


def score(model_dir: Path, data: Path, gpu_id: int = -1) -> Dict[str, Any]:
    """Strict micro P/R/F1, per-type F1 and the ECE of the entity scores (``None`` without
    ``span._.score``) of the pipeline in ``model_dir`` on a DocBin."""
    import spacy
    from spacy.tokens import DocBin

    from ..evaluate.metrics import evaluate_examples, predict_examples

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model_dir)
    references = list(DocBin().from_disk(data).get_docs(nlp.vocab))
    metrics = evaluate_examples(predict_examples(nlp, references, progress=False))
    strict = metrics["seqeval_strict_iob2"]
    return {**{key: strict["micro"][key] for key in ("p", "r", "f")},
            "per_type_f": {label: row["f"] for label, row in strict["per_type"].items()},
            "ece": (metrics["calibration"] or {}).get("ece"),
            "ece_uncalibrated": (metrics.get("calibration_uncalibrated") or {}).get("ece"),
            "n_docs": len(references)}


def merged_train_data(grid: Grid, run: Run, output: Path) -> Optional[Path]:
    """The training DocBin of a model with ``train_on``: those datasets' train sets in one file
    (written once, atomically, under ``<output>/data``); ``None`` for other models."""
    if not run.model.train_on:
        return None
    from spacy.tokens import DocBin

    names = list(run.model.train_on)
    target = Path(output) / "data" / "+".join(names) / "train.spacy"
    if target.is_file():
        return target
    merged = DocBin(store_user_data=True)
    for name in names:
        merged.merge(DocBin(store_user_data=True).from_disk(grid.data(name, "train")))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"train.{os.getpid()}.partial")
    merged.to_disk(partial)
    partial.replace(target)
    return target


def run_inputs(grid: Grid, run: Run, train_data: Optional[Path] = None) -> Dict[str, Optional[str]]:
    """Content hashes of everything ``run`` reads (its reuse key is made of these and its config)."""
    spec = run.model
    inputs = {f"{split}.spacy": input_hash(str(grid.data(run.dataset, split))) for split in run.splits}
    inputs["train.spacy"] = input_hash(str(train_data or grid.data(run.dataset, "train")))
    inputs["vectors"] = input_hash(spec.vectors)
    inputs["transformer"] = input_hash(spec.transformer) if spec.recipe == "transformer" else None
    inputs["tuned"] = input_hash(spec.tuned)
    return inputs


def reusable_records(path: Optional[Path]) -> Dict[str, Dict[str, Any]]:
    """The run records of a ``results.json`` (e.g. the committed report), by run key
    (``model/dataset/seed<k>``); ``{}`` without a file."""
    if path is None or not Path(path).is_file():
        return {}
    return {record_name(r): r for r in srsly.read_json(path).get("runs", [])}


def _write_record(target: Path, record: Dict[str, Any]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".json.partial")
    srsly.write_json(partial, record)
    partial.replace(target)


def run_one(grid: Grid, run: Run, output: Path, *, keep_models: bool = False, gpu_id: int = -1,
            threads: int = 0, reuse: Optional[Dict[str, Dict[str, Any]]] = None) -> Dict[str, Any]:
    """Train and score ``run`` unless its record exists with the same key (config and input
    contents), in ``output`` or in ``reuse`` (records of an earlier report); RETURNS its record.
    A selection run is scored on dev only."""
    train_data = merged_train_data(grid, run, output)
    overrides = train_overrides(grid, run, train_data=train_data)
    config = build_train_config(run.model.recipe, grid.profile, run.model.head, overrides)
    check_inputs(config)
    digest = config_hash(config)
    inputs = run_inputs(grid, run, train_data)
    key = run_key(digest, inputs)
    target = record_path(output, run)
    if target.is_file():
        record = srsly.read_json(target)
        if record.get("key") == key:
            logger.info("%s: done before (dev F1 %.2f), skipped", run.key, 100 * record["dev"]["f"])
            return record
        logger.info("%s: config or inputs changed since its record, rerunning", run.key)
    earlier = (reuse or {}).get(run.key)
    if earlier is not None and earlier.get("key") == key:
        _write_record(target, earlier)
        logger.info("%s: same key as in the earlier report (dev F1 %.2f), reused", run.key, 100 * earlier["dev"]["f"])
        return earlier
    model_dir = model_path(output, run)
    if model_dir.exists():
        shutil.rmtree(model_dir)  # a killed run's partial output
    model_dir.mkdir(parents=True)
    log = model_dir / "train.log"
    command = train_command(grid, run, model_dir, gpu_id=gpu_id, threads=threads, train_data=train_data)
    log.write_text(" ".join(command) + "\n", encoding="utf8")
    scores_file = model_dir / "scores.json"
    splits = {split: grid.data(run.dataset, split) for split in run.splits}

    def score_splits() -> Dict[str, Any]:
        started = time.perf_counter()
        scores = {split: score(model_dir / "model-best", data, gpu_id) for split, data in splits.items()}
        return {"scores": scores, "eval_wall_s": time.perf_counter() - started}

    def score_in_child() -> None:  # a forked training scores its model too: torch stays out of this process
        srsly.write_json(scores_file, score_splits())

    # 0 threads is torch's default: this process's, which a forked child would not inherit
    resolved = train_command(grid, run, model_dir, gpu_id=gpu_id, threads=threads or _torch_threads(),
                             train_data=train_data)
    start = time.perf_counter()
    global _TRAINING
    _TRAINING, forked = start_command(resolved, log, then=score_in_child, name=f"train-{run.key}")
    try:
        returncode = _TRAINING.wait()
    finally:
        if _TRAINING.poll() is None:  # interrupted here: the training does not outlive this process
            _TRAINING.kill()
            _TRAINING.wait()
        _TRAINING = None
    elapsed = time.perf_counter() - start
    if returncode != 0 or not (model_dir / "model-best").is_dir():
        tail = "".join(log.read_text(encoding="utf8", errors="replace").splitlines(True)[-15:])
        raise RunError(f"{run.key}: training failed (exit {returncode}); log {log}:\n{tail}")
    scored = srsly.read_json(scores_file) if forked else score_splits()  # (a subprocess: scored here)
    scores, eval_s = scored["scores"], scored["eval_wall_s"]
    train_s = elapsed - eval_s if forked else elapsed
    record = {
        "model": run.model.name,
        "dataset": run.dataset,
        "seed": run.seed,
        "phase": run.phase,
        "recipe": run.model.recipe,
        "features": run.model.features if run.model.recipe == "transformer" else "static",
        "head": run.model.head,
        "transformer": run.model.transformer,
        "vectors": run.model.vectors,
        "train_on": list(run.model.train_on or [run.dataset]),
        "tuned": run.model.tuned,
        "factors": dict(run.model.factors),
        "profile": grid.profile,
        "steps": config["training"]["max_steps"],
        **scores,
        "temperature": _temperature(model_dir),
        "train_wall_s": round(train_s, 1),
        "eval_wall_s": round(eval_s, 1),
        "key": key,
        "config_hash": digest,
        "inputs": inputs,
        "commit": git_commit(),
        "command": _portable(command[1:]),
        "versions": library_versions(NER_LIBRARIES),
        "hardware": hardware(),
        "threads": threads,
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    _write_record(target, record)
    shutil.copy(model_dir / "config.cfg", target.with_suffix(".cfg"))
    if not keep_models:
        shutil.rmtree(model_dir)
    shown = ", ".join(f"{split} F1 {100 * scores[split]['f']:.2f}" for split in run.splits)
    logger.info("%s: %s (%.1f min training)", run.key, shown, train_s / 60)
    return record


def _temperature(model_dir: Path) -> Optional[float]:
    """The entity scores' temperature fitted on dev by ``train`` (``None``: not calibrated)."""
    fitted = model_dir / "model-best" / "calibration.json"
    return srsly.read_json(fitted).get("temperature") if fitted.is_file() else None


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _portable(command: List[str]) -> List[str]:
    """A recorded command line with paths inside the working folder made relative to it."""
    cwd = str(Path.cwd())
    return [part.replace(cwd + os.sep, "") for part in command]


def _stop_training_and_exit(signum: int, frame: Any) -> None:
    """SIGTERM in a job process: stop its training process, then exit."""
    training = _TRAINING
    if training is not None and training.poll() is None:
        training.terminate()
        try:
            training.wait(timeout=10)
        except subprocess.TimeoutExpired:
            training.kill()
    os._exit(128 + signum)


def _watch_parent(parent: int, every_s: float = 1.0) -> None:
    """Stop this job process (and its training) once the ``results-run`` process is gone:
    killed, it cannot tell its pool, whose workers would otherwise go on with queued runs."""
    while os.getppid() == parent:
        time.sleep(every_s)
    os.kill(os.getpid(), signal.SIGTERM)


def _worker_init(threads: int) -> None:
    """A job process of a parallel grid: torch (scoring) keeps to its share of the cores, and
    the process stops with its parent."""
    signal.signal(signal.SIGTERM, _stop_training_and_exit)
    from ..__main__ import setup_logging

    setup_logging()  # a spawned process: progress goes to stderr, as in the parent
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def _run_job(grid: Grid, run: Run, output: Path, keep_models: bool, gpu_id: int, threads: int,
             reuse: Optional[Dict[str, Dict[str, Any]]]) -> Dict[str, Any]:
    return run_one(grid, run, output, keep_models=keep_models, gpu_id=gpu_id, threads=threads, reuse=reuse)


def job_threads(jobs: int, threads: int) -> int:
    """torch threads per run: ``threads`` if set, else the CPU cores shared among ``jobs`` runs."""
    if threads > 0 or jobs <= 1:
        return threads
    return max(1, (os.cpu_count() or 1) // jobs)


def run_grid(grid: Grid, output: Path, *, models: Optional[List[str]] = None, keep_models: bool = False,
             gpu_id: int = -1, threads: int = 0, jobs: int = 1,
             phases: Sequence[str] = PHASES, reuse: Optional[Path] = None) -> Dict[str, Any]:
    """Every run of the grid (skipping finished ones). A failed run is reported and the others go
    on; RETURNS ``{"records": [...], "failed": {run key: message}}``.

    ``jobs`` > 1 trains that many runs at once, each in its own process with its share of the
    cores (``threads``, 0 = cores // jobs): spaCy's CNN and the frozen transformer's features use
    a core poorly, so two 1-thread runs finish sooner than two 2-thread runs one after the other.
    """
    runs = grid.runs(models, phases)
    earlier = reusable_records(reuse)
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    records, failed = [], {}
    if jobs == 1 or len(runs) <= 1:
        for index, run in enumerate(runs, 1):
            logger.info("[%d/%d] %s (%s)", index, len(runs), run.key, run.phase)
            try:
                records.append(run_one(grid, run, output, keep_models=keep_models, gpu_id=gpu_id,
                                       threads=threads, reuse=earlier))
            except (RunError, ValueError, FileNotFoundError) as err:
                failed[run.key] = str(err)
                logger.error("%s: FAILED: %s", run.key, err)
        return {"records": records, "failed": failed}
    threads = job_threads(jobs, threads)
    logger.info("%d runs at a time, %d torch thread(s) each", jobs, threads)
    # spawn, not fork: a forked child would inherit this process's torch/OpenMP state
    context = multiprocessing.get_context("spawn")
    order = {run.key: index for index, run in enumerate(runs)}
    done: Dict[str, Dict[str, Any]] = {}
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init, initargs=(threads,))
    try:
        futures = {pool.submit(_run_job, grid, run, output, keep_models, gpu_id, threads,
                               {run.key: earlier[run.key]} if run.key in earlier else None): run for run in runs}
        for finished, future in enumerate(as_completed(futures), 1):
            run = futures[future]
            try:
                done[run.key] = future.result()
                logger.info("[%d/%d] %s finished", finished, len(runs), run.key)
            except (RunError, ValueError, FileNotFoundError) as err:
                failed[run.key] = str(err)
                logger.error("[%d/%d] %s: FAILED: %s", finished, len(runs), run.key, err)
    except BaseException:  # Ctrl-C: the queued runs are dropped and the running ones stopped
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            if process.is_alive():
                process.terminate()  # SIGTERM: the job process stops its training first
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    records = [done[key] for key in sorted(done, key=order.__getitem__)]
    return {"records": records, "failed": failed}
