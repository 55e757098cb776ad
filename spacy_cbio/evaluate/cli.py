"""Commands: ``evaluate`` (seqeval strict IOB2 metrics of a pipeline on a DocBin),
``evaluate-seeds`` (mean ± std over runs with different seeds) and ``summarize``
(one Markdown table of a folder of metrics). The scoring itself is :mod:`.metrics`."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import srsly
import typer
from spacy.tokens import DocBin

from ..reporting import NER_LIBRARIES, library_versions
from .metrics import aggregate, evaluate_examples, format_table, mean_std, predict_examples  # noqa: F401  (re-export)
from .metrics import score_pipeline, summary_table  # noqa: F401  (re-export)


def evaluate(
    model: str = typer.Argument(..., help="Pipeline to evaluate: a package name or a folder (e.g. .../model-best)."),
    data: Path = typer.Argument(..., help="Gold DocBin (.spacy), e.g. corpus/ner/emea/test.spacy."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Metrics JSON to write."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, -1 for CPU."),
    gold_tokens: bool = typer.Option(True, "--gold-tokens/--retokenize", help="Predict on the corpus tokens (default) or re-tokenize the text."),
    batch_size: int = typer.Option(8, "--batch-size", "-b", help="Documents per nlp.pipe batch."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Exit 0 with a message when the model folder or the DocBin is absent (e.g. CAS1/CAS2 without the data)."),
    reliability_plot: Optional[Path] = typer.Option(None, "--reliability-plot", help="Also draw the entity scores' reliability diagram (PNG) here."),
) -> Optional[Dict[str, Any]]:
    """Score a pipeline's entities on a DocBin with seqeval (strict mode, IOB2).

    Writes a JSON with strict micro/macro P/R/F, per-type scores, entity counts,
    seqeval default-mode and spaCy's own ents_* scores for comparison, the
    calibration of the entity scores (span._.score against strict correctness:
    reliability bins and expected calibration error), the library versions and
    the model meta; prints a table.
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
    metrics = score_pipeline(nlp, references, gold_tokens=gold_tokens, batch_size=batch_size)
    metrics.update(model=str(model), data=str(data), versions=library_versions(NER_LIBRARIES), model_meta=nlp.meta)
    typer.echo(format_table(metrics))
    if reliability_plot is not None:
        from .calibration import plot_reliability

        if not metrics.get("calibration"):
            typer.echo(f"{model} predicted no entity with a score (span._.score): the diagram says so.")
        plot_reliability(metrics.get("calibration"), reliability_plot, title=Path(str(model)).name)
        typer.echo(f"Wrote {reliability_plot}")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(output, metrics)
        typer.echo(f"Wrote {output}")
    return metrics


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


__all__ = ["evaluate", "evaluate_seeds", "summarize"]
