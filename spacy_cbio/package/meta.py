"""Package metadata for trained pipelines: labels, test scores, data, licence, base model."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import spacy

from ..about import __version__

# What each dataset is, and the licence its annotations come under.
DATASETS: Dict[str, Dict[str, str]] = {
    "e3c": {
        "description": "E3C French clinical cases, CLINENTITY (layer 2 train/dev, layer 1 test)",
        "license": "CC BY-NC 4.0",
        "url": "https://github.com/hltfbk/E3C-Corpus",
    },
    "emea": {
        "description": "QUAERO French Medical Corpus, EMEA drug leaflets, 10 UMLS semantic groups",
        "license": "GFDL-1.3",
        "url": "https://quaerofrenchmed.limsi.fr/",
    },
    "medline": {
        "description": "QUAERO French Medical Corpus, MEDLINE titles, 10 UMLS semantic groups",
        "license": "GFDL-1.3",
        "url": "https://quaerofrenchmed.limsi.fr/",
    },
    "quaero": {
        "description": "QUAERO French Medical Corpus, EMEA + MEDLINE together, 10 UMLS semantic groups",
        "license": "GFDL-1.3",
        "url": "https://quaerofrenchmed.limsi.fr/",
    },
    "cas1": {
        "description": "DEFT 2020 task 3, CAS1 (pathologie, sosy)",
        "license": "DEFT 2020 data-use agreement (not redistributable)",
        "url": "https://deft.lisn.upsaclay.fr/2020/",
    },
    "cas2": {
        "description": "DEFT 2020 task 3, CAS2 (eight classes)",
        "license": "DEFT 2020 data-use agreement (not redistributable)",
        "url": "https://deft.lisn.upsaclay.fr/2020/",
    },
}


def _read_json(path: Optional[Path]) -> Dict[str, Any]:
    if path is None or not Path(path).exists():
        return {}
    return json.loads(Path(path).read_text(encoding="utf8"))


def performance_from_metrics(metrics: Dict[str, Any]) -> Dict[str, Any]:
    """Test scores for ``meta["performance"]``: seqeval strict mode, IOB2 (from ``evaluate``)."""
    strict = metrics.get("seqeval_strict_iob2")
    if not strict:
        return {}
    micro = strict["micro"]
    return {
        "ents_p": micro["p"],
        "ents_r": micro["r"],
        "ents_f": micro["f"],
        "ents_per_type": {
            label: {"p": row["p"], "r": row["r"], "f": row["f"]}
            for label, row in strict.get("per_type", {}).items()
        },
        "ents_macro_f": strict.get("macro", {}).get("f"),
        "scoring": "seqeval strict mode, IOB2 (test set)",
    }


def build_meta(
    model_dir: Path,
    dataset: str,
    name: str,
    version: str = __version__,
    metrics_path: Optional[Path] = None,
    base_model: Optional[str] = None,
    base_card: Optional[Path] = None,
) -> Dict[str, Any]:
    """Build the meta.json for ``spacy package`` from a trained pipeline and its test metrics."""
    nlp_meta = _read_json(Path(model_dir) / "meta.json")
    if not nlp_meta:
        raise FileNotFoundError(f"No meta.json in {model_dir}: is it a trained spaCy pipeline?")
    info = DATASETS.get(dataset, {"description": dataset, "license": "unknown", "url": ""})
    metrics = _read_json(metrics_path)
    sources: List[Dict[str, str]] = [
        {"name": dataset, "url": info["url"], "license": info["license"]}
    ]
    if base_model:
        sources.append({"name": f"transformer: {base_model}", "url": "", "license": "see model card"})
    meta = dict(nlp_meta)
    meta.update(
        {
            "lang": "fr",
            "name": name,
            "version": version,
            "description": (
                f"French biomedical NER ({info['description']}): a CamemBERT-bio style transformer "
                "(spacy-transformers) with a linear IOB2 token-classification head (spacy-cbio)."
            ),
            "author": "spacy-cbio",
            "license": f"{info['license']} (training data); code MIT",
            "sources": sources,
            "spacy_version": f">={spacy.about.__version__},<3.9.0",
        }
    )
    perf = performance_from_metrics(metrics)
    if perf:
        meta["performance"] = perf
    meta.setdefault("requirements", [])
    meta["requirements"] = [
        req for req in meta["requirements"] if not req.startswith("spacy-cbio")
    ] + [f"spacy-cbio>={version}"]
    meta["spacy_cbio"] = {
        "dataset": dataset,
        "base_model": base_model,
        "test_metrics_file": str(metrics_path) if metrics_path else None,
        "scoring": "seqeval strict mode, IOB2",
    }
    return meta
