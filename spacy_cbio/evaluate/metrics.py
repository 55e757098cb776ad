"""Scoring: predict a DocBin's texts, seqeval strict IOB2 metrics, mean ± std over seeds, summary tables.

The commands of :mod:`.cli` call these; :mod:`..results` reuses them.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence, Union

import srsly
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example
from tqdm import tqdm

from ..components.scorer import examples_iob2, seqeval_report
from ..reporting import markdown_table
from .calibration import calibration, uncalibrated

PathLike = Union[str, Path]


def gold_token_doc(vocab, reference: Doc) -> Doc:
    """A new, unannotated ``Doc`` with ``reference``'s tokens and spaces (the corpus tokenization)."""
    return Doc(vocab, words=[t.text for t in reference], spaces=[bool(t.whitespace_) for t in reference])


def predict_examples(
    nlp, references: Sequence[Doc], *, gold_tokens: bool = True, batch_size: int = 8, progress: bool = True
) -> List[Example]:
    """Run ``nlp`` over the texts of ``references``; Examples (predicted, reference).

    gold_tokens: predict on the reference tokens (corpus tokenization), else re-tokenize.
    """
    if gold_tokens:
        inputs: Iterable = (gold_token_doc(nlp.vocab, ref) for ref in references)
    else:
        inputs = (ref.text for ref in references)
    predicted = nlp.pipe(inputs, batch_size=batch_size)
    examples = []
    for doc, ref in tqdm(zip(predicted, references), total=len(references), disable=not progress, desc="predict"):
        examples.append(Example(doc, ref))
    return examples


def evaluate_examples(examples: Sequence[Example]) -> Dict[str, Any]:
    """seqeval strict IOB2 (and default-mode, for comparison), spaCy's own ``ents_*`` scores and the
    calibration of the entity scores (:mod:`.calibration`; ``None`` without ``span._.score``), also
    before temperature scaling (``calibration_uncalibrated``; ``None`` without those scores)."""
    y_true, y_pred, n_expanded = examples_iob2(examples)
    strict = seqeval_report(y_true, y_pred, mode="strict")
    default = seqeval_report(y_true, y_pred, mode="default")
    spacy_scores = Scorer.score_spans(examples, "ents")
    return {
        "seqeval_strict_iob2": strict,
        "seqeval_default": {k: default[k] for k in ("micro", "macro", "counts")},
        "spacy": {k: spacy_scores[k] for k in ("ents_p", "ents_r", "ents_f")},
        "n_docs": len(examples),
        "n_docs_scored": len(y_true),
        "n_pred_ents_expanded_to_reference_tokens": n_expanded,
        "calibration": calibration(examples),
        "calibration_uncalibrated": uncalibrated(examples),
    }


def score_pipeline(nlp, references: Sequence[Doc], *, gold_tokens: bool = True, batch_size: int = 8) -> Dict[str, Any]:
    """:func:`evaluate_examples` of ``nlp`` on ``references``, with token count, time and speed."""
    start = time.perf_counter()
    examples = predict_examples(nlp, references, gold_tokens=gold_tokens, batch_size=batch_size)
    seconds = time.perf_counter() - start
    metrics = evaluate_examples(examples)
    n_words = sum(len(ref) for ref in references)
    metrics.update(
        gold_tokens=gold_tokens,
        n_tokens=n_words,
        seconds=round(seconds, 3),
        tokens_per_second=round(n_words / seconds, 1) if seconds > 0 else None,
    )
    return metrics


def format_table(metrics: Dict[str, Any]) -> str:
    """A plain-text table: per-type and averaged strict P/R/F with supports."""
    report = metrics["seqeval_strict_iob2"]
    lines = [f"{'type':<12}{'P':>8}{'R':>8}{'F1':>8}{'gold':>8}{'pred':>8}"]
    for label, row in report["per_type"].items():
        lines.append(
            f"{label:<12}{row['p']:>8.4f}{row['r']:>8.4f}{row['f']:>8.4f}{row['support']:>8d}{row['n_pred']:>8d}"
        )
    counts = report["counts"]
    for name in ("micro", "macro"):
        row = report[name]
        gold = counts["n_gold"] if name == "micro" else ""
        pred = counts["n_pred"] if name == "micro" else ""
        lines.append(f"{name:<12}{row['p']:>8.4f}{row['r']:>8.4f}{row['f']:>8.4f}{gold:>8}{pred:>8}")
    table = metrics.get("calibration")
    if table:
        lines.append(f"entity scores: ECE {table['ece']:.4f} (mean score {table['mean_confidence']:.4f}, "
                     f"{table['accuracy']:.4f} of {table['n_entities']} entities correct)")
        raw = metrics.get("calibration_uncalibrated")
        if raw and raw["ece"] != table["ece"]:
            lines.append(f"  before temperature scaling: ECE {raw['ece']:.4f} (mean score {raw['mean_confidence']:.4f})")
    return "\n".join(lines)


# -- several seeds ---------------------------------------------------------
def mean_std(values: Sequence[float]) -> Dict[str, float]:
    """Mean and sample standard deviation (0 for a single value) of seed scores."""
    if not values:
        raise ValueError("mean_std of no values")
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": mean, "std": std, "n": len(values)}


def aggregate(metrics_files: Sequence[PathLike]) -> Dict[str, Any]:
    """Mean ± sample standard deviation of strict micro/macro P/R/F and per-type F1.

    metrics_files: JSON files written by ``evaluate`` (one per seed). A type
    missing from a run (no gold, no prediction) is averaged over the runs that have it.
    """
    if not metrics_files:
        raise ValueError("aggregate: no metrics files given")
    runs = []
    for path in metrics_files:
        data = srsly.read_json(path)
        if "seqeval_strict_iob2" not in data:
            raise ValueError(f"{path}: not a metrics file from `evaluate` (no 'seqeval_strict_iob2')")
        runs.append(data["seqeval_strict_iob2"])
    out: Dict[str, Any] = {"n_runs": len(runs), "files": [str(p) for p in metrics_files]}
    for avg in ("micro", "macro"):
        out[avg] = {k: mean_std([run[avg][k] for run in runs]) for k in ("p", "r", "f")}
    labels = sorted({label for run in runs for label in run["per_type"]})
    out["per_type_f"] = {
        label: mean_std([run["per_type"][label]["f"] for run in runs if label in run["per_type"]])
        for label in labels
    }
    return out


# -- summary -----------------------------------------------------------------
def summary_table(metrics_dir: PathLike) -> str:
    """Markdown table of every ``evaluate`` JSON in ``metrics_dir`` (strict micro/macro F1)."""
    rows = []
    for path in sorted(Path(metrics_dir).glob("*.json")):
        data = srsly.read_json(path)
        strict = data.get("seqeval_strict_iob2")
        if not strict:
            continue
        micro, macro = strict["micro"], strict["macro"]
        rows.append((path.name, data.get("model", ""), data.get("data", ""), data.get("n_docs", ""),
                     f"{100 * micro['p']:.2f}", f"{100 * micro['r']:.2f}", f"{100 * micro['f']:.2f}",
                     f"{100 * macro['f']:.2f}", data.get("tokens_per_second", "")))
    if not rows:
        raise ValueError(f"{metrics_dir}: no metrics JSON from `evaluate`")
    header = ["metrics file", "model", "test data", "docs", "P", "R", "F1 (micro)", "F1 (macro)", "tokens/s"]
    return (markdown_table(rows, header, aligns="lllrrrrrr") + "\n\nOne training run per pipeline (a single seed): "
            "the protocol's table (settings chosen on dev, scores over report seeds) is "
            "`docs/results/<profile>/RESULTS.md` (`spacy project run results`).\n")


__all__ = ["gold_token_doc", "predict_examples", "evaluate_examples", "score_pipeline", "format_table", "mean_std", "aggregate", "summary_table"]
