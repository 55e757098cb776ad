"""Commands: ``evaluate`` (seqeval strict IOB2 metrics of a pipeline on a DocBin)
and ``evaluate-seeds`` (mean ± std over runs with different seeds)."""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import srsly
import typer
from spacy.scorer import Scorer
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from tqdm import tqdm

from ..about import NER_LIBRARIES, library_versions
from ..components.scorer import examples_iob2, seqeval_report

PathLike = Union[str, Path]


def predict_examples(
    nlp, references: Sequence[Doc], *, gold_tokens: bool = True, batch_size: int = 8, progress: bool = True
) -> List[Example]:
    """Run ``nlp`` over the texts of ``references``; Examples (predicted, reference).

    gold_tokens: predict on the reference tokens (corpus tokenization), else re-tokenize.
    """
    if gold_tokens:
        inputs: Iterable = (
            Doc(nlp.vocab, words=[t.text for t in ref], spaces=[bool(t.whitespace_) for t in ref])
            for ref in references
        )
    else:
        inputs = (ref.text for ref in references)
    predicted = nlp.pipe(inputs, batch_size=batch_size)
    examples = []
    for doc, ref in tqdm(zip(predicted, references), total=len(references), disable=not progress, desc="predict"):
        examples.append(Example(doc, ref))
    return examples


def evaluate_examples(examples: Sequence[Example]) -> Dict[str, Any]:
    """seqeval strict IOB2 (and default-mode, for comparison) + spaCy's own ``ents_*`` scores."""
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
    }


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
    return "\n".join(lines)


def evaluate(
    model: str = typer.Argument(..., help="Pipeline to evaluate: a package name or a folder (e.g. .../model-best)."),
    data: Path = typer.Argument(..., help="Gold DocBin (.spacy), e.g. corpus/ner/emea/test.spacy."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Metrics JSON to write."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, -1 for CPU."),
    gold_tokens: bool = typer.Option(True, "--gold-tokens/--retokenize", help="Predict on the corpus tokens (default) or re-tokenize the text."),
    batch_size: int = typer.Option(8, "--batch-size", "-b", help="Documents per nlp.pipe batch."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Exit 0 with a message when the model folder or the DocBin is absent (e.g. CAS1/CAS2 without the data)."),
) -> Optional[Dict[str, Any]]:
    """Score a pipeline's entities on a DocBin with seqeval (strict mode, IOB2).

    Writes a JSON with strict micro/macro P/R/F, per-type scores, entity counts,
    seqeval default-mode and spaCy's own ents_* scores for comparison, the
    library versions and the model meta; prints a table.
    """
    import spacy

    if skip_missing and (not data.is_file() or ("/" in model and not Path(model).exists())):
        typer.echo(f"Skipped evaluation of {model} on {data}: not there (nothing trained for it).")
        return None
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    if not data.is_file():
        raise typer.BadParameter(f"{data}: no such DocBin", param_hint="data")
    nlp = spacy.load(model)
    references = list(DocBin().from_disk(data).get_docs(nlp.vocab))
    start = time.perf_counter()
    examples = predict_examples(nlp, references, gold_tokens=gold_tokens, batch_size=batch_size)
    seconds = time.perf_counter() - start
    metrics = evaluate_examples(examples)
    n_words = sum(len(ref) for ref in references)
    metrics.update(
        model=str(model),
        data=str(data),
        gold_tokens=gold_tokens,
        n_tokens=n_words,
        seconds=round(seconds, 3),
        tokens_per_second=round(n_words / seconds, 1) if seconds > 0 else None,
        versions=library_versions(NER_LIBRARIES),
        model_meta=nlp.meta,
    )
    typer.echo(format_table(metrics))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(output, metrics)
        typer.echo(f"Wrote {output}")
    return metrics


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


def evaluate_seeds(
    metrics: List[Path] = typer.Argument(..., help="Metrics JSON files from `evaluate`, one per seed."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Aggregate JSON to write."),
) -> Dict[str, Any]:
    """Mean ± std (over seeds) of the seqeval strict scores of several `evaluate` runs."""
    result = aggregate(metrics)
    for avg in ("micro", "macro"):
        row = result[avg]
        cells = "  ".join(f"{k.upper()} {100 * row[k]['mean']:.2f} ± {100 * row[k]['std']:.2f}" for k in ("p", "r", "f"))
        typer.echo(f"{avg:<6} {cells}  (n={result['n_runs']})")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(output, result)
        typer.echo(f"Wrote {output}")
    return result


# -- summary -----------------------------------------------------------------
def summary_table(metrics_dir: PathLike) -> str:
    """Markdown table of every ``evaluate`` JSON in ``metrics_dir`` (strict micro/macro F1)."""
    rows = [
        "| metrics file | model | test data | docs | P | R | F1 (micro) | F1 (macro) | tokens/s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    files = sorted(Path(metrics_dir).glob("*.json"))
    for path in files:
        data = srsly.read_json(path)
        strict = data.get("seqeval_strict_iob2")
        if not strict:
            continue
        micro, macro = strict["micro"], strict["macro"]
        rows.append(
            f"| {path.name} | {data.get('model', '')} | {data.get('data', '')} | {data.get('n_docs', '')} "
            f"| {100 * micro['p']:.2f} | {100 * micro['r']:.2f} | {100 * micro['f']:.2f} "
            f"| {100 * macro['f']:.2f} | {data.get('tokens_per_second', '')} |"
        )
    if len(rows) == 2:
        raise ValueError(f"{metrics_dir}: no metrics JSON from `evaluate`")
    return "\n".join(rows) + "\n"


def summarize(
    metrics_dir: Path = typer.Argument(..., help="Folder of metrics JSON files written by `evaluate`."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Markdown file to write (default: <metrics_dir>/README.md)."),
) -> None:
    """Markdown table of all test scores in a folder (seqeval strict mode, IOB2)."""
    try:
        table = summary_table(metrics_dir)
    except ValueError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    output = output or metrics_dir / "README.md"
    header = f"# Test scores: seqeval strict mode, IOB2 ({metrics_dir})\n\n"
    output.write_text(header + table, encoding="utf8")
    typer.echo(table)
    typer.echo(f"Wrote {output}")


__all__ = ["mean_std", "evaluate", "evaluate_seeds", "aggregate", "evaluate_examples", "predict_examples", "summarize"]
