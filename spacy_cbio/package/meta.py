"""Package metadata for trained pipelines: labels, test scores, data, licence, base model."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import spacy

from ..about import __version__
from ..data.datasets import DATASETS, get_spec, user_spec


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


def pipeline_features(model_dir: Path, nlp_meta: Dict[str, Any]) -> Dict[str, Any]:
    """``[cbio]`` of the trained pipeline's config: recipe and token features of the NER head
    (``transformer``, or ``stacked``: transformer + static vectors, whose table ``nlp_meta``,
    the pipeline's meta.json, describes), and the components frozen during training."""
    from confection import Config

    config_file = model_dir / "config.cfg"
    config = Config().from_disk(config_file, interpolate=False) if config_file.exists() else Config()
    cbio = dict(config.get("cbio", {}))
    features: Dict[str, Any] = {"recipe": cbio.get("recipe", "transformer"), "features": cbio.get("features", "transformer")}
    frozen = list(config.get("training", {}).get("frozen_components", []))
    if frozen:  # e.g. a transformer kept fixed while the head trained on its features
        features["frozen"] = frozen
    vectors = nlp_meta.get("vectors", {})
    if vectors.get("width"):
        features["static_vectors"] = {k: vectors.get(k) for k in ("width", "vectors", "keys", "mode") if k in vectors}
        source = (config.get("paths") or {}).get("vectors")
        if source:  # the vectors stage's folder name says which corpora: bio, general or both
            features["static_vectors"]["source"] = Path(str(source)).name
    if features["features"] == "stacked" and "static_width" in cbio:
        features["static_tok2vec"] = {"width": cbio["static_width"], "depth": cbio.get("static_depth")}
    return features


def training_run(model_dir: Path) -> Dict[str, Any]:
    """Profile, seed and steps of the training run that made ``model_dir``: ``run.json`` of
    ``train`` sits next to ``model-best`` (``max_steps`` from the pipeline's config)."""
    run = _read_json(model_dir.parent / "run.json") or _read_json(model_dir / "run.json")
    found: Dict[str, Any] = {key: run.get(key) for key in ("profile", "head", "seed") if run.get(key) is not None}
    config_file = model_dir / "config.cfg"
    if config_file.exists():
        from confection import Config

        steps = Config().from_disk(config_file, interpolate=False).get("training", {}).get("max_steps")
        if isinstance(steps, int):
            found["max_steps"] = steps
    return found


def calibration_record(model_dir: Path, metrics: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """How the entity scores were calibrated (``model_dir/calibration.json``, written by ``train``
    or ``calibrate``) and their ECE on the test set before and after (from ``evaluate``);
    ``None`` when neither is known."""
    fitted = _read_json(Path(model_dir) / "calibration.json")
    test = (metrics.get("calibration") or {}).get("ece")
    test_before = (metrics.get("calibration_uncalibrated") or {}).get("ece")
    if not fitted and test is None:
        return None
    record: Dict[str, Any] = {"temperature": fitted.get("temperature", 1.0) if fitted else 1.0}
    if fitted:
        record.update(fitted_on=fitted.get("data"), dev_entities=fitted.get("n_entities"),
                      dev_ece_before=(fitted.get("before") or {}).get("ece"),
                      dev_ece_after=(fitted.get("after") or {}).get("ece"), skipped=fitted.get("skipped"))
    record.update(test_ece=test, test_ece_before=test_before if test_before is not None else test,
                  test_entities=(metrics.get("calibration") or {}).get("n_entities"))
    return record


def build_meta(
    model_dir: Path,
    dataset: str,
    name: str,
    version: str = __version__,
    metrics_path: Optional[Path] = None,
    base_model: Optional[str] = None,
    licence: Optional[str] = None,
) -> Dict[str, Any]:
    """Build the meta.json for ``spacy package`` from a trained pipeline and its test metrics.

    Description, licence, url and labels of the training data come from the dataset table
    (``spacy_cbio.data.datasets``); ``ValueError`` when the pipeline predicts a label that
    the dataset does not have (packaged under the wrong ``dataset``). A name outside the table
    is a user's own corpus (``convert --user``): its labels are the pipeline's, its licence
    ``licence``.
    """
    nlp_meta = _read_json(Path(model_dir) / "meta.json")
    if not nlp_meta:
        raise FileNotFoundError(f"No meta.json in {model_dir}: is it a trained spaCy pipeline?")
    spec = get_spec(dataset) if dataset in DATASETS else user_spec(dataset, licence=licence)
    predicted = set(nlp_meta.get("labels", {}).get("ner", []))
    if spec.labels and not predicted <= set(spec.labels):
        raise ValueError(f"{model_dir} predicts {sorted(predicted - set(spec.labels))}, "
                         f"which {dataset} does not have ({', '.join(spec.labels)})")
    metrics = _read_json(metrics_path)
    features = pipeline_features(Path(model_dir), nlp_meta)
    # spaCy's meta schema wants str values in sources: the dataset's labels go under spacy_cbio.
    sources: List[Dict[str, str]] = [
        {"name": spec.name, "description": spec.description, "url": spec.url, "license": spec.licence}
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
                f"French biomedical NER ({spec.description}): a CamemBERT-bio style transformer "
                "(spacy-transformers) with a linear IOB2 token-classification head (spacy-cbio)."
            ),
            "author": "spacy-cbio",
            "license": f"{spec.licence} (training data); code MIT",
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
    ] + [f"spacy-cbio>={__version__}"]  # the code that packaged it (not the model's version)
    meta["spacy_cbio"] = {
        "dataset": dataset,
        "dataset_labels": list(spec.labels),
        "base_model": base_model,
        "test_metrics_file": str(metrics_path) if metrics_path else None,
        "scoring": "seqeval strict mode, IOB2",
        "features": features,
        "training": training_run(Path(model_dir)),
        "test_data": metrics.get("data"),
        "calibration": calibration_record(Path(model_dir), metrics),
    }
    return meta
