"""Convert the NER corpora to ``.spacy`` DocBins plus JSON and markdown reports."""
from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import spacy
from spacy.tokens import DocBin
from tqdm import tqdm

from ..reporting import library_versions
from .errors import Ledger
from .datasets import CAS_HELP, DATASETS, DatasetSpec, PathLike, get_spec, is_available, user_spec
from .report import markdown_report, split_stats
from .tokenize import source_to_doc

logger = logging.getLogger(__name__)


def _versions() -> Dict[str, str]:
    return library_versions(("spacy", "spacy-cbio", "spacy-transformers"))


def convert_dataset(name: str, mirror: PathLike, output: PathLike, *, protocol: str = "paper",
                    seed: int = 0, lenient: bool = False,
                    cas_dirs: Optional[Dict[str, PathLike]] = None, nlp=None,
                    spec: Optional[DatasetSpec] = None, source: Optional[PathLike] = None) -> Dict[str, object]:
    """Write ``<output>/<name>/<split>.spacy`` and ``report.json``; return the report dict.

    ``spec`` and ``source``: a dataset outside the table (a user corpus, :func:`user_spec`)."""
    spec = spec if spec is not None else get_spec(name)
    nlp = nlp if nlp is not None else spacy.blank("fr")
    out_dir = Path(output) / name
    out_dir.mkdir(parents=True, exist_ok=True)
    if source is None:
        source = (cas_dirs or {}).get(name) if not spec.required else Path(mirror) / spec.required
    report: Dict[str, object] = {
        "dataset": name, "description": spec.description, "status": "converted",
        "source": str(Path(source).resolve()) if source else None,
        "seed": seed, "protocol": protocol if name == "e3c" else None, "lenient": lenient,
        "splits": {},
    }
    for split in spec.splits:
        ledger = Ledger()
        sources = spec.reader(Path(mirror), split, protocol=protocol, seed=seed, lenient=lenient,
                              cas_dirs=cas_dirs, ledger=ledger)
        meta = {"dataset": name, "split": split}
        docs = [source_to_doc(nlp, s, ledger, meta)
                for s in tqdm(sources, desc=f"{name}/{split}", unit="doc", leave=False,
                              disable=not sys.stderr.isatty())]
        DocBin(store_user_data=True, docs=docs).to_disk(out_dir / f"{split}.spacy")
        stats = split_stats(docs)
        stats["doc_ids"] = [d.user_data["doc_id"] for d in docs]
        stats["repairs"] = ledger.to_dict()
        report["splits"][split] = stats
    if not spec.labels:  # labels from the files (CAS, a user corpus): found and reported
        from .user import discovered_labels

        report["labels"] = discovered_labels(report)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    return report


def convert_all(mirror: PathLike, output: PathLike, datasets: Sequence[str] = (), *,
                protocol: str = "paper", seed: int = 0, lenient: bool = False,
                cas_dirs: Optional[Dict[str, PathLike]] = None,
                user_data: Optional[Dict[str, PathLike]] = None) -> Dict[str, object]:
    """Convert ``datasets`` (default: every dataset whose data is present; with ``user_data``,
    ``{name: path}`` of the user's own corpora, those only) and write ``<output>/report.json``
    and ``<output>/report.md``. Missing CAS data is reported with instructions and skipped."""
    start = time.time()
    cas_dirs = {k: v for k, v in (cas_dirs or {}).items() if v}
    user_specs = {name: user_spec(name, path) for name, path in (user_data or {}).items()}
    for name, path in (user_data or {}).items():
        if not Path(path).exists():
            raise ValueError(f"--user {name}={path}: {path} does not exist")
    names: List[str] = list(datasets) + list(user_specs) if (datasets or user_specs) else list(DATASETS)
    for n in names:
        if n not in user_specs:
            get_spec(n)
    nlp = spacy.blank("fr")
    report: Dict[str, object] = {
        "mirror": str(Path(mirror).resolve()), "output": str(Path(output)), "seed": seed,
        "protocol": protocol, "lenient": lenient, "spacy_version": spacy.__version__,
        "versions": _versions(), "datasets": {},
    }
    for name in names:
        if name in user_specs:
            t = time.time()
            ds = convert_dataset(name, mirror, output, seed=seed, lenient=lenient, nlp=nlp,
                                 spec=user_specs[name], source=user_data[name])
            ds["seconds"] = round(time.time() - t, 2)
            report["datasets"][name] = ds
            labels = ", ".join(f"{label} {n}" for label, n in ds["labels"].items()) or "none"
            sizes = ", ".join(f"{s} {st['documents']} docs/{st['entities']} ents" for s, st in ds["splits"].items())
            logger.info(f"{name}: {sizes}; labels found: {labels} ({ds['seconds']} s)")
            continue
        if not is_available(name, mirror, cas_dirs):
            spec = get_spec(name)
            if spec.required:
                msg = f"{name}: data not found at {Path(mirror) / spec.required}; skipped"
            else:
                msg = f"{name}: no directory given; skipped. {CAS_HELP}"
            logger.info(msg)
            report["datasets"][name] = {"dataset": name, "status": "missing", "message": msg}
            continue
        t = time.time()
        ds = convert_dataset(name, mirror, output, protocol=protocol, seed=seed, lenient=lenient,
                             cas_dirs=cas_dirs, nlp=nlp)
        ds["seconds"] = round(time.time() - t, 2)
        report["datasets"][name] = ds
        sizes = ", ".join(f"{s} {st['documents']} docs/{st['entities']} ents"
                          for s, st in ds["splits"].items())
        logger.info(f"{name}: {sizes} ({ds['seconds']} s)")
    report["seconds"] = round(time.time() - start, 2)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    slim = {**report, "datasets": {
        k: {**v, "splits": {s: {kk: vv for kk, vv in st.items() if kk != "doc_ids"}
                            for s, st in v.get("splits", {}).items()}}
        for k, v in report["datasets"].items()}}
    (out / "report.json").write_text(json.dumps(slim, indent=2, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    (out / "report.md").write_text(markdown_report(report), encoding="utf-8")
    return report
