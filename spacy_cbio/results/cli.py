"""Commands: ``results-run`` (train and score the grid's runs), ``results-report``
(``results.json``, ``RESULTS.md``, ``results.png``) and ``results-compare`` (two reports, run by run)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

import srsly
import typer

from ..about import __version__

GRID_HELP = "Results grid config: configs/results/<profile>.cfg (models, datasets, selection and report seeds)."
OUTPUT_HELP = "Run folder: runs/<model>/<dataset>/seed<k>.json records (+ models/ while training)."
PHASE_HELP = ("Which runs: select (the candidates on the selection seeds, dev only), report (the reported "
              "configurations on the report seeds, dev and test) or all.")
logger = logging.getLogger(__name__)


def _grid(grid_path: Path, datasets: Optional[str]):
    from .grid import load_grid

    overrides: Dict[str, Any] = {}
    if datasets:
        overrides["results.datasets"] = [d.strip() for d in datasets.split(",")]
    try:
        return load_grid(grid_path, overrides)
    except (ValueError, FileNotFoundError) as err:
        raise typer.BadParameter(str(err), param_hint="GRID")


def _phases(phase: str) -> List[str]:
    if phase not in ("select", "report", "all"):
        raise typer.BadParameter(f"must be select, report or all, not {phase!r}", param_hint="--phase")
    return ["select", "report"] if phase == "all" else [phase]


def results_run(
    grid_path: Path = typer.Argument(..., metavar="GRID", help=GRID_HELP),
    output: Path = typer.Argument(..., help=OUTPUT_HELP),
    models: Optional[List[str]] = typer.Option(None, "--model", "-m", help="Run only this model of the grid (repeatable)."),
    phase: str = typer.Option("all", "--phase", help=PHASE_HELP),
    datasets: Optional[str] = typer.Option(None, "--datasets", help="Comma-separated datasets, instead of the grid's."),
    keep_models: bool = typer.Option(False, "--keep-models", help="Keep each run's model-best/model-last (default: only records and configs)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, -1 for CPU."),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads of each training run (0: torch's default, or the cores shared among --jobs)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Runs trained at once, each in its own process (2 on a 2-core machine)."),
    reuse: Optional[Path] = typer.Option(None, "--reuse", help="An earlier results.json (e.g. the committed docs/results/<profile>/results.json): a run whose record there has the same key is taken from it instead of trained, to go on with a grid on another machine. Leave it out to reproduce every run."),
) -> None:
    """Train every (model, dataset, seed) of the grid and keep the best checkpoint on dev. Runs of
    the selection seeds are scored on dev only; runs of the report seeds on dev and test (seqeval
    strict, IOB2). One JSON record per run, with the content hashes of its inputs.

    A run whose record has the same key (config, DocBins, vectors, transformer weights) is
    skipped: rerun the same command to resume a killed workflow. A failed run is reported and
    the others go on (exit code 1 at the end).
    """
    from .run import run_grid

    grid = _grid(grid_path, datasets)
    phases = _phases(phase)
    try:
        n_runs = len(grid.runs(models, phases))
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--model")
    typer.echo(f"{n_runs} runs ({', '.join(phases)}): models {models or list(grid.models)} × datasets "
               f"{grid.datasets}; selection seeds {grid.selection_seeds}, report seeds {grid.report_seeds} "
               f"(profile {grid.profile}) -> {output}")
    result = run_grid(grid, output, models=models, keep_models=keep_models, gpu_id=gpu_id, threads=threads,
                      jobs=jobs, phases=phases, reuse=reuse)
    failed = result["failed"]
    for key, message in failed.items():
        typer.echo(f"{key}: FAILED: {message.splitlines()[0]}")
    typer.echo(f"{len(result['records'])} of {n_runs} runs done, {len(failed)} failed")
    if failed:  # the output folder may not exist yet when no run got as far as training
        Path(output).mkdir(parents=True, exist_ok=True)
        srsly.write_json(Path(output) / "failed.json", failed)
        raise typer.Exit(1)
    stale = Path(output) / "failed.json"
    if stale.exists():
        stale.unlink()


def results_report(
    grid_path: Path = typer.Argument(..., metavar="GRID", help=GRID_HELP),
    runs: Path = typer.Argument(..., help="Run folder given to results-run."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where to write results.json, RESULTS.md, results.png (default: docs/results/<profile>, the committed folder)."),
    datasets: Optional[str] = typer.Option(None, "--datasets", help="Comma-separated datasets, as given to results-run."),
) -> None:
    """Write the report: the dev choices of the selection seeds (each decision's candidates and
    winner), the reported configurations' test scores on the report seeds (mean ± std and
    every seed), the paired comparisons and effects (paired bootstrap interval, sign test),
    and every run with its provenance. Refuses a selection run that holds test scores."""
    from .grid import PHASES
    from .provenance import git_commit
    from .report import ProtocolError, load_records, write_report

    grid = _grid(grid_path, datasets)
    wanted = {(run.model.name, run.dataset, run.seed) for run in grid.runs(phases=PHASES)}
    records = [r for r in load_records(runs) if (r["model"], r["dataset"], r["seed"]) in wanted]
    missing = len(wanted) - len(records)
    failed_file = Path(runs) / "failed.json"
    failed = srsly.read_json(failed_file) if failed_file.exists() else {}
    commit = git_commit()
    about = {"profile": grid.profile, "grid": grid_path.as_posix(), "runs": f"{len(records)} of {len(wanted)}",
             "spacy-cbio": __version__, "commit": commit["sha"][:12] if commit else "unknown"}
    try:
        paths = write_report(records, grid, output or Path("docs") / "results" / grid.profile, about=about,
                             failed=failed)
    except ProtocolError as err:
        typer.secho(f"Refused: {err}", fg="red", err=True)
        raise typer.Exit(2)
    except ValueError as err:
        typer.secho(str(err), fg="red", err=True)
        raise typer.Exit(1)
    if missing:
        typer.secho(f"WARNING: {missing} of {len(wanted)} runs have no record (not run yet, or failed)", fg="yellow")
    typer.echo(paths["md"].read_text(encoding="utf8").split("## Every run")[0])
    typer.echo("Wrote " + ", ".join(str(p) for p in paths.values()))


def results_compare(
    expected: Path = typer.Argument(..., help="A results.json (e.g. the committed one)."),
    actual: Path = typer.Argument(..., help="Another results.json (e.g. a rerun's)."),
    tolerance: float = typer.Option(1e-6, "--tolerance", help="Largest F1/P/R difference taken as equal."),
) -> None:
    """Compare two reports run by run: the same runs, and scores equal within the tolerance.
    Exit code 1 when they differ."""
    from .compare import compare_results

    diff = compare_results(srsly.read_json(expected), srsly.read_json(actual), tolerance=tolerance)
    for line in diff["lines"]:
        typer.echo(line)
    typer.echo(f"{diff['same']} runs equal, {len(diff['differ'])} differ, {len(diff['only_expected'])} only in "
               f"{expected}, {len(diff['only_actual'])} only in {actual}")
    if diff["differ"] or diff["only_expected"] or diff["only_actual"]:
        raise typer.Exit(1)
