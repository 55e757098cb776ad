"""The model card: the README.md of a packaged pipeline (and the long description of its wheel).

Written from the package meta (:func:`spacy_cbio.package.meta.build_meta`): install line,
a usage snippet that runs, the labels and what they mean, the scores and the profile that
made them, the training data and its licence, the token features, and the limits.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..reporting import markdown_table

# What each label means. QUAERO / Mantra: UMLS semantic groups; E3C: its clinical entities.
LABEL_MEANINGS: Dict[str, str] = {
    "ANAT": "anatomy (UMLS semantic group ANAT)",
    "CHEM": "chemicals & drugs (CHEM)",
    "DEVI": "devices (DEVI)",
    "DISO": "disorders: diseases, signs, symptoms, findings (DISO)",
    "GEOG": "geographic areas (GEOG)",
    "LIVB": "living beings: people, animals, organisms (LIVB)",
    "OBJC": "objects (OBJC)",
    "PHEN": "phenomena (PHEN)",
    "PHYS": "physiology: functions and processes of the body (PHYS)",
    "PROC": "procedures: diagnostic, therapeutic, laboratory (PROC)",
    "CLINENTITY": "clinical entity (E3C): a disorder, sign or symptom of a clinical case",
}
UNKNOWN_MEANING = "label of the training data (see its annotation guide)"
USAGE_TEXT = "Le patient présente une fièvre et une toux ; il prend du paracétamol."
LIMITS = (
    "- Research use only: **not for clinical decisions**, diagnosis or any use on patients; "
    "predictions are wrong at the rates shown above, and more often on text unlike the training data.\n"
    "- Pipelines of the `small` (CPU) profile score far below the CamemBERT-bio paper "
    "(a 4-layer, 128-wide encoder pretrained for minutes, NER trained for a few hundred steps); "
    "only the `paper` profile is meant to approach its results.\n"
    "- Entities are flat (no nesting); texts longer than the transformer window are split into "
    "overlapping windows by spacy-transformers.\n"
    "- The training data licence applies to the model (see above): check it before redistributing."
)


def usage_snippet(package: str) -> str:
    """Five lines that load the installed package and print its entities with their score."""
    return (
        "import spacy\n"
        f'nlp = spacy.load("{package}")\n'
        f'doc = nlp("{USAGE_TEXT}")\n'
        "for ent in doc.ents:\n"
        "    print(ent.text, ent.label_, round(ent._.score, 3))\n"
    )


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def _scores(meta: Dict[str, Any]) -> List[str]:
    perf = meta.get("performance") or {}
    cbio = meta.get("spacy_cbio") or {}
    training = cbio.get("training") or {}
    profile = training.get("profile") or "unknown"
    lines: List[str] = []
    if "ents_f" not in perf:
        return ["No scores were recorded for this pipeline."]
    if perf.get("scoring"):  # test metrics from `evaluate`
        where = f"test set{' (' + cbio['test_data'] + ')' if cbio.get('test_data') else ''}"
        lines.append(f"{perf['scoring']}: scores on the **{where}**, pipeline trained with the "
                     f"**`{profile}` profile**{_training_details(training)}.")
    else:
        lines.append(f"No test metrics were given when packaging: these are the **development-set** scores "
                     f"recorded by training (the pipeline's scorer), **`{profile}` profile**{_training_details(training)}.")
    rows = [("micro", _pct(perf.get("ents_p")), _pct(perf.get("ents_r")), _pct(perf.get("ents_f")))]
    if perf.get("ents_macro_f") is not None:
        rows.append(("macro", "", "", _pct(perf.get("ents_macro_f"))))
    for label, row in sorted((perf.get("ents_per_type") or {}).items()):
        rows.append((label, _pct(row.get("p")), _pct(row.get("r")), _pct(row.get("f"))))
    lines += ["", markdown_table(rows, ["", "P", "R", "F1"], aligns="lrrr")]
    lines += ["", f"These are the scores of **one training run**. Scores over several seeds, with the "
                  f"settings chosen on dev and reported on other seeds, are in the spacy-cbio repository's "
                  f"`docs/results/{profile}/RESULTS.md`."]
    return lines


def _training_details(training: Dict[str, Any]) -> str:
    parts = [f"{key} {training[key]}" for key in ("seed", "max_steps") if training.get(key) is not None]
    return f" ({', '.join(parts)})" if parts else ""


def _features(meta: Dict[str, Any]) -> List[str]:
    cbio = meta.get("spacy_cbio") or {}
    features = cbio.get("features") or {}
    kind = features.get("features", "transformer")
    lines = [f"- Pipeline: {', '.join(f'`{p}`' for p in meta.get('pipeline', []))} "
             "(spacy-transformers encoder + `cbio_token_ner`, a linear IOB2 token-classification head "
             "with constrained decoding; `span._.score` is the mean (or, with `score_method = min`, the lowest) "
             "probability of the entity's decoded tags)."]
    if "cbio_quantize_int8" in meta.get("pipeline", []):
        lines.append("- int8: `cbio_quantize_int8` quantizes the transformer's linear layers to int8 (PyTorch dynamic "
                     "quantization) when the pipeline first runs, on the CPU; the weights stay fp32 on disk. "
                     "Speed and dev F1 against the fp32 package: `benchmarks/BENCHMARKS.md`.")
    if "trf_cleaner" in meta.get("pipeline", []):
        lines.append("- `trf_cleaner` (spaCy's `doc_cleaner`) drops each document's transformer output "
                     "(`doc._.trf_data`) once the NER has read it, so documents you keep hold their entities only; "
                     "load with `exclude=[\"trf_cleaner\"]` to keep it.")
    if kind == "stacked":
        line = "- Token features: `stacked`: the transformer output concatenated with a Tok2Vec over static vectors"
        tok2vec = features.get("static_tok2vec")
        if tok2vec:
            line += f" ({tok2vec['width']} wide, {tok2vec['depth']} deep)"
        lines.append(line + ".")
    else:
        lines.append(f"- Token features: `{kind}` (the transformer output alone).")
    vectors = features.get("static_vectors")
    if vectors:
        about = {"bio": "floret, trained on the biomedical corpus",
                 "general": "floret, trained on the general-French corpus",
                 "both": "floret trained on the biomedical corpus and floret trained on the general-French "
                         "corpus, concatenated"}.get(str(vectors.get("source")))
        lines.append("- Static vectors: " + ", ".join(f"{k} {v}" for k, v in vectors.items())
                     + (f" ({about})" if about else "") + ".")
    if features.get("frozen"):
        lines.append(f"- Frozen during training: {', '.join(features['frozen'])}.")
    lines.append(f"- Training recipe: `{features.get('recipe', 'transformer')}`.")
    if cbio.get("base_model"):
        lines.append(f"- Base model (fine-tuned from): `{cbio['base_model']}`.")
    return lines


ECE_GOAL = 0.05


def _confidence(meta: Dict[str, Any]) -> List[str]:
    """How far ``span._.score`` is from how often entities are right (the ECE), before and after
    the temperature fitted on dev."""
    record = (meta.get("spacy_cbio") or {}).get("calibration")
    if not record:
        return ["Not measured: no calibration record and no test metrics were given when packaging."]
    lines = []
    if record.get("fitted_on") and not record.get("skipped"):
        lines.append(f"`span._.score` is calibrated: the tag probabilities are temperature-scaled "
                     f"(T = {record['temperature']:g}), a temperature fitted on the development set "
                     f"({record.get('dev_entities')} predicted entities). It changes no entity, only the scores.")
    elif record.get("skipped"):
        lines.append(f"`span._.score` is not calibrated: {record['skipped']}.")
    else:
        lines.append("`span._.score` is not calibrated (the head's own probabilities).")
    if record.get("test_ece") is not None:
        ece = record["test_ece"]
        lines += ["", markdown_table([("before temperature scaling", f"{record['test_ece_before']:.3f}"),
                                     ("as packaged", f"{ece:.3f}")],
                                    ["entity scores", "ECE on the test set"], aligns="lr"), ""]
        lines.append(f"The expected calibration error (ECE, 10 bins, {record.get('test_entities')} test entities) "
                     "is the gap between an entity's score and how often entities with that score are right "
                     "(strict match). " + ("It is within 0.05." if ece <= ECE_GOAL else
                                          f"At {ece:.3f} it is above 0.05: read the scores as a ranking "
                                          "more than as probabilities."))
    return lines


def _inference(meta: Dict[str, Any]) -> List[str]:
    """The packaging-time measurement (:mod:`spacy_cbio.package.measure`), or why there is none."""
    record = (meta.get("spacy_cbio") or {}).get("inference")
    if not record:
        return ["Not measured (packaged with `--no-measure`)."]
    machine = record.get("machine", {})
    texts = record.get("texts", {})
    rows = [(f"{threads} thread{'s' if threads != '1' else ''}", f"{wps:,.0f}")
            for threads, wps in sorted(record["words_per_s"].items(), key=lambda kv: int(kv[0]))]
    return [
        f"Measured when packaged, on {machine.get('cpu', 'an unnamed CPU')} ({machine.get('cpu_cores', '?')} cores), "
        f"{record.get('measured', '')}: `nlp.pipe` over {texts.get('documents', '?')} documents "
        f"({texts.get('words', '?'):,} words; {texts.get('source', '')}), batch {record.get('batch_size', 16)}, "
        "best of 2 passes after a warm-up, in the packaging process (the load time is the model's, spaCy and torch being imported).",
        "",
        markdown_table(rows, ["torch threads", "words/s"], aligns="lr"),
        "",
        f"- Peak memory (RSS): {record['peak_rss_mib']:,.0f} MiB; load time: {record['load_s']:.1f} s; "
        f"size on disk: {record['size_mb']:,.1f} MB.",
    ]


def model_card(meta: Dict[str, Any], find_links: str = "packages/<profile>") -> str:
    """The README.md of the package ``fr_<meta name>``; ``find_links``: the folder holding its wheels."""
    name = meta["name"] if meta["name"].startswith(f"{meta['lang']}_") else f"{meta['lang']}_{meta['name']}"
    cbio = meta.get("spacy_cbio") or {}
    labels = list((meta.get("labels") or {}).get("ner", [])) or list(cbio.get("dataset_labels", []))
    lines = [
        f"# {name} {meta['version']}",
        "",
        meta.get("description", ""),
        "",
        "## Install",
        "",
        "The folder holding this wheel also holds the `spacy_cbio` wheel it requires "
        "(spacy-cbio is on no package index); the other requirements come from PyPI:",
        "",
        "```bash",
        f"pip install --find-links {find_links} {name}",
        "```",
        "",
        "## Usage",
        "",
        "```python",
        usage_snippet(name).rstrip("\n"),
        "```",
        "",
        "Or on a folder of `.txt` files, from the command line (JSONL, BRAT, DocBin or HTML output):",
        "",
        "```bash",
        f"spacy-cbio annotate {name} notes/ -o entities.jsonl",
        "```",
        "",
        "## Labels",
        "",
        markdown_table([(f"`{label}`", LABEL_MEANINGS.get(label, UNKNOWN_MEANING)) for label in labels],
                       ["Label", "Meaning"]),
    ]
    lines += ["", "## Scores", ""] + _scores(meta)
    lines += ["", "## Confidence", ""] + _confidence(meta)
    lines += ["", "## Training data and licences", ""]
    for source in meta.get("sources", []):
        url = f" <{source['url']}>" if source.get("url") else ""
        desc = f": {source['description']}" if source.get("description") else ""
        lines.append(f"- {source['name']}{desc}{url}; licence: {source.get('license') or 'n/a'}")
    lines.append(f"- This package: {meta.get('license', 'n/a')}.")
    lines += ["", "## Speed and size", ""] + _inference(meta)
    lines += ["", "## Features", ""] + _features(meta)
    versions = [f"spaCy `{meta.get('spacy_version', '')}`"] + [f"`{r}`" for r in meta.get("requirements", [])]
    lines.append(f"- Requirements: {', '.join(versions)}.")
    lines += ["", "## Limits", "", LIMITS, ""]
    return "\n".join(lines)
