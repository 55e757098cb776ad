"""From run records to ``results.json``, ``RESULTS.md`` and ``results.png``.

The protocol is enforced here: choices (``[decisions]``) read the dev scores of the
selection seeds; tables, paired comparisons and effects read the test scores of the report
seeds only. A selection run that holds test scores is refused, whatever produced it.
"""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import srsly

from ..evaluate.metrics import mean_std
from ..reporting import markdown_table
from .grid import PHASES, Effect, Grid, record_name

PathLike = Union[str, Path]
METRICS = ("f", "p", "r")
METRIC_NAMES = {"f": "F1", "p": "P", "r": "R"}
N_BOOTSTRAP = 10_000
BOOTSTRAP_SEED = 0


class ProtocolError(ValueError):
    """Records that would put a selection run's test score (or an unknown seed) into a table."""


def load_records(output: PathLike) -> List[Dict[str, Any]]:
    """Every run record under ``<output>/runs`` (sorted by model, dataset, seed)."""
    records = [srsly.read_json(path) for path in sorted(Path(output).glob("runs/*/*/seed*.json"))]
    return sorted(records, key=lambda r: (r["model"], r["dataset"], r["seed"]))


def check_protocol(records: Sequence[Dict[str, Any]], grid: Grid) -> None:
    """Refuse records that break choose-on-dev / report-on-test: a run of a selection seed with
    test scores, a run whose recorded phase disagrees with its seed, or a seed of neither list."""
    problems = []
    for record in records:
        where = record_name(record)
        if record["seed"] in grid.selection_seeds:
            if "test" in record:
                problems.append(f"{where}: a selection run holds test scores (selection seeds "
                                f"{grid.selection_seeds} are scored on dev only)")
            if record.get("phase", "select") != "select":
                problems.append(f"{where}: recorded as {record.get('phase')!r} but seed {record['seed']} "
                                "is a selection seed")
        elif record["seed"] in grid.report_seeds:
            if record.get("phase") != "report":
                problems.append(f"{where}: seed {record['seed']} is a report seed but the record's phase is "
                                f"{record.get('phase')!r}")
        else:
            problems.append(f"{where}: seed {record['seed']} is neither a selection seed {grid.selection_seeds} "
                            f"nor a report seed {grid.report_seeds}")
    if problems:
        raise ProtocolError(f"{len(problems)} record(s) refused:\n" + "\n".join(f"- {p}" for p in problems))


def seed_table(records: Iterable[Dict[str, Any]], split: str = "test") -> Dict[str, Dict[str, Dict[str, Any]]]:
    """``{dataset: {model: {"f"|"p"|"r": {"mean", "std", "n"}, "seeds": [...], "per_seed": {...}}}}``
    over the records that hold ``split``."""
    groups: Dict[str, Dict[str, List[Dict[str, Any]]]] = {}
    for record in records:
        if split in record:
            groups.setdefault(record["dataset"], {}).setdefault(record["model"], []).append(record)
    table: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for dataset, models in groups.items():
        for model, runs in models.items():
            runs = sorted(runs, key=lambda r: r["seed"])
            cell: Dict[str, Any] = {metric: mean_std([run[split][metric] for run in runs]) for metric in METRICS}
            cell["seeds"] = [run["seed"] for run in runs]
            cell["per_seed_f"] = {str(run["seed"]): run[split]["f"] for run in runs}
            table.setdefault(dataset, {})[model] = cell
    return table


def paired_stats(differences: Sequence[float], *, n_bootstrap: int = N_BOOTSTRAP,
                 seed: int = BOOTSTRAP_SEED) -> Dict[str, Any]:
    """Mean ± std of paired differences, a 95% paired-bootstrap interval of the mean and an
    exact two-sided sign test (ties dropped). ``distinguishable``: the interval excludes 0."""
    import numpy as np
    from scipy.stats import binomtest

    values = np.asarray(list(differences), dtype=float)
    if values.size == 0:
        raise ValueError("paired_stats of no pairs")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(n_bootstrap, values.size))].mean(axis=1)
    low, high = (float(x) for x in np.percentile(means, [2.5, 97.5]))
    wins, losses = int((values > 0).sum()), int((values < 0).sum())
    p_sign = float(binomtest(wins, wins + losses, 0.5).pvalue) if wins + losses else 1.0
    return {"n": int(values.size), "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
            "ci95": [low, high], "wins": wins, "losses": losses, "ties": int(values.size - wins - losses),
            "sign_test_p": p_sign, "distinguishable": bool(low > 0 or high < 0)}


def _scores(records: Iterable[Dict[str, Any]], split: str) -> Dict[Tuple[str, str, int], float]:
    return {(r["model"], r["dataset"], r["seed"]): r[split]["f"] for r in records if split in r}


def paired(records: Sequence[Dict[str, Any]], target: str, base: str, split: str = "test") -> Optional[Dict[str, Any]]:
    """``target − base`` F1 over every (dataset, seed) both ran; ``None`` without a shared pair."""
    scores = _scores(records, split)
    pairs = sorted((d, s) for (m, d, s) in scores if m == target and (base, d, s) in scores)
    if not pairs:
        return None
    diffs = [scores[(target, d, s)] - scores[(base, d, s)] for d, s in pairs]
    per_dataset = {name: statistics.fmean(x for (d, _), x in zip(pairs, diffs) if d == name)
                   for name in sorted({d for d, _ in pairs})}
    return {"target": target, "base": base, "split": split, "pairs": [f"{d}/seed{s}" for d, s in pairs],
            "differences": diffs, "per_dataset": per_dataset, **paired_stats(diffs)}


def effect_differences(records: Sequence[Dict[str, Any]], grid: Grid, effect: Effect,
                       split: str = "test") -> List[Tuple[str, float]]:
    """The paired units of an effect: ``(label, difference)`` for every (dataset, seed, levels of
    the other factors) where both sides ran. An interaction subtracts the effect at
    ``within_base`` from the effect at ``within_target``."""
    scores = _scores(records, split)
    by_levels: Dict[Tuple[Tuple[str, str], ...], str] = {}
    for spec in grid.models.values():
        if spec.factors and "report" in spec.phases:
            by_levels[tuple(sorted(spec.factors.items()))] = spec.name

    def model_with(levels: Dict[str, str]) -> Optional[str]:
        return by_levels.get(tuple(sorted(levels.items())))

    units: List[Tuple[str, float]] = []
    for levels_key, name in sorted(by_levels.items()):
        levels = dict(levels_key)
        if levels.get(effect.factor) != effect.target:
            continue
        if effect.within is not None and levels.get(effect.within) != effect.within_target:
            continue
        base_name = model_with({**levels, effect.factor: effect.base})
        if base_name is None:
            continue
        pair = [(name, base_name)]
        if effect.within is not None:
            far = model_with({**levels, effect.within: effect.within_base})
            far_base = model_with({**levels, effect.factor: effect.base, effect.within: effect.within_base})
            if far is None or far_base is None:
                continue
            pair.append((far, far_base))
        others = ", ".join(f"{k}={v}" for k, v in sorted(levels.items())
                           if k not in (effect.factor, effect.within))
        for dataset in grid.datasets:
            for seed in grid.report_seeds:
                needed = [(m, dataset, seed) for duo in pair for m in duo]
                if not all(key in scores for key in needed):
                    continue
                diff = scores[(pair[0][0], dataset, seed)] - scores[(pair[0][1], dataset, seed)]
                if len(pair) == 2:
                    diff -= scores[(pair[1][0], dataset, seed)] - scores[(pair[1][1], dataset, seed)]
                units.append((f"{dataset}/seed{seed}" + (f" [{others}]" if others else ""), diff))
    return units


def effect(records: Sequence[Dict[str, Any]], grid: Grid, name: str, split: str = "test") -> Optional[Dict[str, Any]]:
    """One ``[effects.<name>]`` of the grid, as paired statistics; ``None`` without units."""
    spec = grid.effects[name]
    units = effect_differences(records, grid, spec, split)
    if not units:
        return None
    text = f"{spec.factor}: {spec.target} − {spec.base}"
    if spec.within:
        text = f"({text} | {spec.within}={spec.within_target}) − ({text} | {spec.within}={spec.within_base})"
    return {"effect": text, "split": split, "pairs": [u for u, _ in units], "differences": [d for _, d in units],
            **paired_stats([d for _, d in units])}


def selection(records: Sequence[Dict[str, Any]], grid: Grid) -> Dict[str, Any]:
    """Each ``[decisions.<name>]``: mean dev F1 of every candidate over the selection seeds, per
    dataset and on average over the datasets all candidates ran; the winner; whether the
    configuration in use (``chosen``) is the winner."""
    result: Dict[str, Any] = {}
    chosen_runs = [r for r in records if r["seed"] in grid.selection_seeds]
    dev = seed_table(chosen_runs, split="dev")
    for name, decision in (grid.decisions or {}).items():
        datasets = [d for d in grid.datasets if all(c in dev.get(d, {}) for c in decision.candidates)]
        per_candidate = {}
        for candidate in decision.candidates:
            cells = {d: dev[d][candidate]["f"] for d in grid.datasets if candidate in dev.get(d, {})}
            per_candidate[candidate] = {
                "per_dataset": {d: cell["mean"] for d, cell in cells.items()},
                "n_seeds": {d: cell["n"] for d, cell in cells.items()},
                "mean": statistics.fmean(cells[d]["mean"] for d in datasets) if datasets else None,
            }
        ranked = sorted((c for c in per_candidate if per_candidate[c]["mean"] is not None),
                        key=lambda c: -per_candidate[c]["mean"])
        winner = ranked[0] if ranked and datasets else None
        result[name] = {"split": "dev", "seeds": list(grid.selection_seeds), "datasets": datasets,
                        "setting": decision.setting, "candidates": per_candidate, "ranking": ranked,
                        "winner": winner, "in_use": decision.chosen,
                        "in_use_is_winner": None if winner is None or not decision.chosen else winner == decision.chosen}
    return result


def _cell(stats: Dict[str, float]) -> str:
    """``mean ± std`` in points; a single run has no spread to show: ``mean (1 seed)``."""
    if stats.get("n", 2) == 1:
        return f"{100 * stats['mean']:.2f} (1 seed)"
    return f"{100 * stats['mean']:.2f} ± {100 * stats['std']:.2f}"


def score_table(table: Dict[str, Dict[str, Dict[str, Any]]], models: Sequence[str], datasets: Sequence[str],
                metrics: Sequence[str] = METRICS) -> str:
    """Rows dataset × metric, one column per model, ``mean ± std``, best mean per row in bold."""
    rows = []
    for dataset in datasets:
        row_models = table.get(dataset, {})
        for metric in metrics:
            means = {m: row_models[m][metric]["mean"] for m in models if m in row_models}
            best = max(means.values()) if means else None
            cells = []
            for model in models:
                if model not in row_models:
                    cells.append("–")
                    continue
                text = _cell(row_models[model][metric])
                cells.append(f"**{text}**" if means[model] == best else text)
            rows.append([dataset, METRIC_NAMES[metric], *cells])
    return markdown_table(rows, ["dataset", "metric", *models], "ll" + "r" * len(models))


def _paired_row(name: str, stats: Dict[str, Any]) -> List[str]:
    low, high = stats["ci95"]
    return [name, str(stats["n"]), f"{100 * stats['mean']:+.2f} ± {100 * stats['std']:.2f}",
            f"[{100 * low:+.2f}, {100 * high:+.2f}]", f"{stats['wins']}/{stats['losses']}/{stats['ties']}",
            f"{stats['sign_test_p']:.3f}", "yes" if stats["distinguishable"] else "no"]


PAIRED_HEADER = ["difference (F1 points)", "pairs", "mean ± std", "95% CI (paired bootstrap)", "wins/losses/ties",
                 "sign test p", "distinguishable from 0"]


def build_report(records: Sequence[Dict[str, Any]], grid: Grid) -> Dict[str, Any]:
    """Everything ``results.json`` holds beside the runs: selection, report tables, paired
    comparisons and effects (after :func:`check_protocol`)."""
    check_protocol(records, grid)
    report_runs = [r for r in records if r["seed"] in grid.report_seeds]
    reported = [m for m, spec in grid.models.items() if "report" in spec.phases
                and any(r["model"] == m for r in report_runs)]
    return {
        "selection": selection(records, grid),
        "reported_models": reported,
        "test": seed_table(report_runs, "test"),
        "dev": seed_table(report_runs, "dev"),
        "comparisons": {name: paired(report_runs, c.target, c.base) for name, c in (grid.comparisons or {}).items()},
        "effects": {name: effect(report_runs, grid, name) for name in (grid.effects or {})},
    }


def plot(report: Dict[str, Any], datasets: Sequence[str], path: PathLike, title: str = "") -> Path:
    """Left: every report seed's test F1 as a point per model and dataset (mean as a bar mark);
    right: the paired differences (comparisons and effects) with their 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = report["reported_models"]
    paired_items = [(name, stats) for name, stats in {**report["comparisons"], **report["effects"]}.items()
                    if stats is not None]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        color = f"C{i % 10}"
        for j, dataset in enumerate(datasets):
            cell = report["test"].get(dataset, {}).get(model)
            if cell is None:
                continue
            x = j + (i - (len(models) - 1) / 2) * width
            points = [100 * f for f in cell["per_seed_f"].values()]
            left.scatter([x] * len(points), points, s=14, color=color, alpha=0.8,
                         label=model if j == 0 or dataset == datasets[0] else None)
            left.hlines(100 * cell["f"]["mean"], x - width / 2.5, x + width / 2.5, color=color)
    left.set_xticks(range(len(datasets)))
    left.set_xticklabels(datasets)
    left.set_ylabel("test F1, report seeds (seqeval strict, IOB2)")
    if models:
        left.legend(fontsize="x-small", ncol=2)
    for k, (name, stats) in enumerate(paired_items):
        low, high = stats["ci95"]
        right.errorbar(100 * stats["mean"], k, xerr=[[100 * (stats["mean"] - low)], [100 * (high - stats["mean"])]],
                       fmt="o", color="C3" if stats["distinguishable"] else "C7", capsize=3)
        right.scatter([100 * d for d in stats["differences"]], [k] * stats["n"], s=8, color="C0", alpha=0.4)
    if not models:
        left.text(0.5, 0.5, "no report run yet", ha="center", va="center", transform=left.transAxes)
    if not paired_items:
        right.text(0.5, 0.5, "no paired difference yet", ha="center", va="center", transform=right.transAxes)
    right.axvline(0, color="black", linewidth=0.8)
    right.set_yticks(range(len(paired_items)))
    right.set_yticklabels([name for name, _ in paired_items], fontsize="small")
    right.set_xlabel("paired difference, F1 points (95% bootstrap CI)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _selection_markdown(name: str, info: Dict[str, Any]) -> List[str]:
    datasets = sorted({d for c in info["candidates"].values() for d in c["per_dataset"]})
    rows = []
    for candidate in info["ranking"] + [c for c in info["candidates"] if c not in info["ranking"]]:
        data = info["candidates"][candidate]
        cells = [f"{100 * data['per_dataset'][d]:.2f}" if d in data["per_dataset"] else "–" for d in datasets]
        mean = f"{100 * data['mean']:.2f}" if data["mean"] is not None else "–"
        rows.append([f"**{candidate}**" if candidate == info["winner"] else candidate, *cells, mean])
    lines = [f"### {name}", ""]
    if info["setting"]:
        lines += [f"Sets: {info['setting']}.", ""]
    lines += [markdown_table(rows, ["candidate", *datasets, "mean"], "l" + "r" * (len(datasets) + 1)), ""]
    verdict = f"Winner on dev: **{info['winner']}**." if info["winner"] else "Not every candidate has run yet."
    if info["in_use"]:
        verdict += (f" In use: {info['in_use']} (" + ("the dev winner" if info["in_use_is_winner"] else
                    "NOT the dev winner" if info["in_use_is_winner"] is False else "not decided yet") + ").")
    return lines + [verdict, ""]


def _planned_runs(grid: Grid, records: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Per model and phase: the grid's datasets and seeds, and how many of those runs have a record."""
    have = {(r["model"], r["dataset"], r["seed"]) for r in records}
    rows, total, done = [], 0, 0
    for name in grid.models:
        for phase in PHASES:
            runs = grid.runs([name], phases=[phase])
            if not runs:
                continue
            finished = sum((run.model.name, run.dataset, run.seed) in have for run in runs)
            total, done = total + len(runs), done + finished
            rows.append([name, phase, ", ".join(sorted({run.dataset for run in runs}, key=grid.datasets.index)),
                         ", ".join(str(s) for s in sorted({run.seed for run in runs})), f"{finished}/{len(runs)}"])
    return {"rows": rows, "total": total, "done": done}


def write_report(records: Sequence[Dict[str, Any]], grid: Grid, folder: PathLike, *,
                 about: Optional[Dict[str, Any]] = None, failed: Optional[Dict[str, str]] = None) -> Dict[str, Path]:
    """Write ``results.json`` (every run with its provenance, and the report), ``RESULTS.md`` and
    ``results.png`` into ``folder``. Raises :class:`ProtocolError` on a selection run scored on test."""
    report = build_report(records, grid)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    datasets = [d for d in grid.datasets if any(r["dataset"] == d for r in records)]
    protocol = {"selection_seeds": grid.selection_seeds, "selection_split": "dev",
                "report_seeds": grid.report_seeds, "report_split": "test",
                "scoring": "seqeval strict mode, IOB2; the best checkpoint on dev",
                "paired_test": f"paired bootstrap of the mean ({N_BOOTSTRAP} resamples, seed {BOOTSTRAP_SEED}), "
                               "exact two-sided sign test"}
    data = {"about": about or {}, "protocol": protocol, "datasets": datasets, **report,
            "runs": sorted(records, key=lambda r: (r["model"], r["dataset"], r["seed"])), "failed": failed or {}}
    paths = {"json": folder / "results.json", "md": folder / "RESULTS.md", "png": folder / "results.png"}
    srsly.write_json(paths["json"], data)
    models = report["reported_models"]
    lines = ["# Results", "", "Generated by `results-report` from the run records; do not edit by hand.", ""]
    lines += [f"- {key}: {value}" for key, value in (about or {}).items()]
    lines += [f"- choices: mean dev F1 over selection seeds {grid.selection_seeds}; tables: test scores of "
              f"report seeds {grid.report_seeds} only, best checkpoint on dev, seqeval strict IOB2; cells: "
              "mean ± sample std over seeds, best mean per row in bold", ""]
    planned = _planned_runs(grid, records)
    lines += ["## Runs", "", markdown_table(planned["rows"], ["model", "phase", "datasets", "seeds", "done"],
                                            "lllll"), "",
              f"{planned['done']} of {planned['total']} runs done.", ""]
    lines += ["## Reported configurations (test, report seeds)", ""]
    if models:
        lines += [score_table(report["test"], models, datasets), ""]
        lines += ["Dev F1 of the same checkpoints:", "", score_table(report["dev"], models, datasets, ("f",)), ""]
    else:
        lines += ["No report run yet.", ""]
    paired_items = [(n, s) for n, s in {**report["comparisons"], **report["effects"]}.items() if s is not None]
    if paired_items:
        lines += ["## Paired differences (test, report seeds)", "",
                  "Each pair is one (dataset, seed) — and, for an effect, one level of the other factors — "
                  "where both sides ran.", ""]
        rows = [_paired_row(name, stats) for name, stats in paired_items]
        lines += [markdown_table(rows, PAIRED_HEADER, "lrrrrrl"), ""]
        for name, stats in paired_items:
            what = stats.get("effect") or f"{stats['target']} − {stats['base']}"
            lines.append(f"- **{name}**: {what}")
        lines.append("")
    if report["selection"]:
        lines += ["## Choices (dev, selection seeds)", ""]
        for name, info in report["selection"].items():
            lines += _selection_markdown(name, info)
    rows = [[r["model"], r["dataset"], str(r["seed"]), r.get("phase", ""), str(r["steps"]),
             f"{100 * r['dev']['f']:.2f}", f"{100 * r['test']['f']:.2f}" if "test" in r else "–",
             f"{r['train_wall_s'] / 60:.1f}", r.get("key", r.get("config_hash", ""))]
            for r in data["runs"]]
    lines += ["## Every run", "", markdown_table(rows, ["model", "dataset", "seed", "phase", "steps", "dev F1",
                                                        "test F1", "training (min)", "key"], "lllllrrrl"), ""]
    if failed:
        lines += ["## Failed runs", ""] + [f"- {key}: {message.splitlines()[0]}" for key, message in failed.items()]
    paths["md"].write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf8")
    plot(report, datasets, paths["png"], title=f"profile {grid.profile}")
    return paths
