"""Commands: ``results-run`` (train and score the grid's runs) and ``results-report``
(``results.json``, ``RESULTS.md``, ``results.png``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import srsly
import typer

from ..about import __version__
from .grid import load_grid
from .report import load_records, write_report
from .run import run_grid

GRID_HELP = "Results grid config: configs/results/<profile>.cfg (models, datasets, seeds)."
OUTPUT_HELP = "Run folder: runs/<model>/<dataset>/seed<k>.json records (+ models/ while training)."


def _grid_overrides(seeds: Optional[str], datasets: Optional[str]) -> Dict[str, Any]:
    overrides: Dict[str, Any] = {}
    if seeds:
        overrides["results.seeds"] = [int(s) for s in seeds.split(",")]
    if datasets:
        overrides["results.datasets"] = [d.strip() for d in datasets.split(",")]
    return overrides


def results_run(
    grid_path: Path = typer.Argument(..., metavar="GRID", help=GRID_HELP),
    output: Path = typer.Argument(..., help=OUTPUT_HELP),
    models: Optional[List[str]] = typer.Option(None, "--model", "-m", help="Run only this model of the grid (repeatable)."),
    seeds: Optional[str] = typer.Option(None, "--seeds", help="Comma-separated seeds, instead of the grid's."),
    datasets: Optional[str] = typer.Option(None, "--datasets", help="Comma-separated datasets, instead of the grid's."),
    keep_models: bool = typer.Option(False, "--keep-models", help="Keep each run's model-best/model-last (default: only records and configs)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, -1 for CPU."),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads of each training run (0: torch's default, or the cores shared among --jobs)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Runs trained at once, each in its own process (2 on a 2-core machine: see the README's results section)."),
) -> None:
    """Train every (model, dataset, seed) of the grid, keep the best checkpoint on dev, score it on
    dev and test (seqeval strict, IOB2); one JSON record per run.

    Finished runs with an unchanged config are skipped: rerun the same command to resume a
    killed workflow. A failed run is reported and the others go on (exit code 1 at the end).
    """
    try:
        grid = load_grid(grid_path, _grid_overrides(seeds, datasets))
    except (ValueError, FileNotFoundError) as err:
        raise typer.BadParameter(str(err), param_hint="GRID")
    n_runs = len(grid.runs(models))
    typer.echo(f"{n_runs} runs: models {models or list(grid.models)} × datasets {grid.datasets} × seeds {grid.seeds} "
               f"(profile {grid.profile}) -> {output}")
    result = run_grid(grid, output, models=models, keep_models=keep_models, gpu_id=gpu_id, threads=threads,
                      jobs=jobs, echo=typer.echo)
    failed = result["failed"]
    typer.echo(f"{len(result['records'])} of {n_runs} runs done, {len(failed)} failed")
    if failed:
        srsly.write_json(Path(output) / "failed.json", failed)
        raise typer.Exit(1)
    stale = Path(output) / "failed.json"
    if stale.exists():
        stale.unlink()


def results_report(
    grid_path: Path = typer.Argument(..., metavar="GRID", help=GRID_HELP),
    runs: Path = typer.Argument(..., help="Run folder given to results-run."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where to write results.json, RESULTS.md, results.png (default: the run folder)."),
    seeds: Optional[str] = typer.Option(None, "--seeds", help="Comma-separated seeds, as given to results-run."),
    datasets: Optional[str] = typer.Option(None, "--datasets", help="Comma-separated datasets, as given to results-run."),
) -> None:
    """Aggregate the run records: the paper's table shape (dataset × {F1, P, R}, one column per
    model, mean ± std over seeds, best in bold), the gain of the grid's target over its base,
    and a bar plot with error bars."""
    try:
        grid = load_grid(grid_path, _grid_overrides(seeds, datasets))
    except (ValueError, FileNotFoundError) as err:
        raise typer.BadParameter(str(err), param_hint="GRID")
    wanted = {(run.model.name, run.dataset, run.seed) for run in grid.runs()}
    records = [r for r in load_records(runs) if (r["model"], r["dataset"], r["seed"]) in wanted]
    missing = len(wanted) - len(records)
    failed_file = Path(runs) / "failed.json"
    failed = srsly.read_json(failed_file) if failed_file.exists() else {}
    about = {"profile": grid.profile, "grid": str(grid_path), "runs": f"{len(records)} of {len(wanted)}",
             "spacy-cbio": __version__}
    try:
        paths = write_report(records, output or runs, models=list(grid.models), datasets=grid.datasets,
                             target=grid.target, base=grid.base, about=about, failed=failed)
    except ValueError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    if missing:
        typer.secho(f"WARNING: {missing} of {len(wanted)} runs have no record (not run yet, or failed)", fg="yellow")
    typer.echo(paths["md"].read_text(encoding="utf8").split("## Every run")[0])
    typer.echo("Wrote " + ", ".join(str(p) for p in paths.values()))
