"""From run records to ``results.json``, ``RESULTS.md`` (the paper's table shape) and ``results.png``."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import srsly

from ..evaluate.cli import mean_std

PathLike = Union[str, Path]
METRICS = ("f", "p", "r")
METRIC_NAMES = {"f": "F1", "p": "P", "r": "R"}


def load_records(output: PathLike) -> List[Dict[str, Any]]:
    """Every run record under ``<output>/runs`` (sorted by model, dataset, seed)."""
    records = [srsly.read_json(path) for path in sorted(Path(output).glob("runs/*/*/seed*.json"))]
    return sorted(records, key=lambda r: (r["model"], r["dataset"], r["seed"]))


def aggregate(records: Iterable[Dict[str, Any]], split: str = "test") -> Dict[str, Dict[str, Dict[str, Any]]]:
    """``{dataset: {model: {"f"|"p"|"r": {"mean", "std", "n"}, "seeds": [...]}}}`` over seeds."""
    groups: Dict[str, Dict[str, List[Dict[str, Any]]]] = {}
    for record in records:
        groups.setdefault(record["dataset"], {}).setdefault(record["model"], []).append(record)
    table: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for dataset, models in groups.items():
        for model, runs in models.items():
            cell = {metric: mean_std([run[split][metric] for run in runs]) for metric in METRICS}
            cell["seeds"] = sorted(run["seed"] for run in runs)
            table.setdefault(dataset, {})[model] = cell
    return table


def gain(records: Sequence[Dict[str, Any]], target: str, base: str, split: str = "test") -> Optional[Dict[str, Any]]:
    """F1 gain of ``target`` over ``base``, averaged over the datasets both have.

    Per dataset: difference of the mean F1s. Spread: for each seed both models ran on every
    shared dataset, the average gain over datasets; the std of those per-seed gains.
    RETURNS ``None`` when the two models share no dataset.
    """
    scores: Dict[str, Dict[str, Dict[int, float]]] = {target: {}, base: {}}
    for record in records:
        if record["model"] in scores:
            scores[record["model"]].setdefault(record["dataset"], {})[record["seed"]] = record[split]["f"]
    datasets = sorted(set(scores[target]) & set(scores[base]))
    if not datasets:
        return None
    per_dataset = {
        dataset: statistics.fmean(scores[target][dataset].values()) - statistics.fmean(scores[base][dataset].values())
        for dataset in datasets
    }
    seeds = sorted(set.intersection(*(set(scores[m][d]) for m in (target, base) for d in datasets)))
    per_seed = {seed: statistics.fmean(scores[target][d][seed] - scores[base][d][seed] for d in datasets)
                for seed in seeds}
    return {
        "target": target,
        "base": base,
        "datasets": datasets,
        "per_dataset": per_dataset,
        "mean": statistics.fmean(per_dataset.values()),
        "per_seed": per_seed,
        "std": statistics.stdev(per_seed.values()) if len(per_seed) > 1 else 0.0,
    }


def _cell(stats: Dict[str, float]) -> str:
    """``mean ± std`` in points; a single run has no spread to show: ``mean (1 seed)``."""
    if stats.get("n", 2) == 1:
        return f"{100 * stats['mean']:.2f} (1 seed)"
    return f"{100 * stats['mean']:.2f} ± {100 * stats['std']:.2f}"


def markdown_table(table: Dict[str, Dict[str, Dict[str, Any]]], models: Sequence[str],
                   datasets: Sequence[str]) -> str:
    """Rows dataset × {F1, P, R}, one column per model, ``mean ± std``, best mean per row in bold."""
    lines = ["| dataset | metric | " + " | ".join(models) + " |",
             "|---|---|" + "---:|" * len(models)]
    for dataset in datasets:
        row_models = table.get(dataset, {})
        for metric in METRICS:
            means = {m: row_models[m][metric]["mean"] for m in models if m in row_models}
            best = max(means.values()) if means else None
            cells = []
            for model in models:
                if model not in row_models:
                    cells.append("–")
                    continue
                text = _cell(row_models[model][metric])
                cells.append(f"**{text}**" if means[model] == best else text)
            lines.append(f"| {dataset} | {METRIC_NAMES[metric]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(table: Dict[str, Dict[str, Dict[str, Any]]], models: Sequence[str], datasets: Sequence[str],
         path: PathLike, title: str = "") -> Path:
    """Grouped bars: test F1 per dataset per model, with std error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.8 / max(len(models), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(datasets) * max(1, len(models)) / 3), 4))
    for i, model in enumerate(models):
        xs, means, stds = [], [], []
        for j, dataset in enumerate(datasets):
            cell = table.get(dataset, {}).get(model)
            if cell is not None:
                xs.append(j + (i - (len(models) - 1) / 2) * width)
                means.append(100 * cell["f"]["mean"])
                stds.append(100 * cell["f"]["std"])
        ax.bar(xs, means, width, yerr=stds, capsize=3, label=model)
    ax.set_xticks(range(len(datasets)))
    ax.set_xticklabels(datasets)
    ax.set_ylabel("test F1 (seqeval strict, IOB2)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small", ncol=min(len(models), 4))
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(records: Sequence[Dict[str, Any]], folder: PathLike, *, models: Sequence[str],
                 datasets: Sequence[str], target: Optional[str] = None, base: Optional[str] = None,
                 about: Optional[Dict[str, Any]] = None, failed: Optional[Dict[str, str]] = None) -> Dict[str, Path]:
    """Write ``results.json``, ``RESULTS.md`` and ``results.png`` into ``folder``."""
    if not records:
        raise ValueError("no run records: run the grid first (`python -m spacy_cbio results-run`)")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    models = [m for m in models if any(r["model"] == m for r in records)]
    datasets = [d for d in datasets if any(r["dataset"] == d for r in records)]
    table = aggregate(records)
    dev_table = aggregate(records, split="dev")
    gain_info = gain(records, target, base) if target and base else None
    data = {"about": about or {}, "models": models, "datasets": datasets, "runs": list(records),
            "test": table, "dev": dev_table, "gain": gain_info, "failed": failed or {}}
    paths = {"json": folder / "results.json", "md": folder / "RESULTS.md", "png": folder / "results.png"}
    srsly.write_json(paths["json"], data)
    seeds = sorted({r["seed"] for r in records})
    lines = ["# Results", ""]
    if about:
        lines += [f"- {key}: {value}" for key, value in about.items()]
    lines += [f"- seeds: {seeds}; test scores of the best checkpoint on dev; seqeval strict mode, IOB2; "
              "cells: mean ± std over seeds (sample std), best mean per row in bold", ""]
    lines.append(markdown_table(table, models, datasets))
    if gain_info is not None:
        per_dataset = ", ".join(f"{d} {100 * g:+.2f}" for d, g in gain_info["per_dataset"].items())
        lines += ["", f"Average F1 gain of **{target}** over **{base}**: "
                  f"**{100 * gain_info['mean']:+.2f} ± {100 * gain_info['std']:.2f}** "
                  f"(per dataset: {per_dataset}; spread: std over seeds of the per-seed average gain). "
                  "The paper reports +2.54 at full scale."]
    lines += ["", "Dev F1 of the same checkpoints:", "", _dev_f1_table(dev_table, models, datasets)]
    runs_lines = ["", "| model | dataset | seed | steps | dev F1 | test F1 | training (min) | config |",
                  "|---|---|---:|---:|---:|---:|---:|---|"]
    for record in records:
        runs_lines.append(f"| {record['model']} | {record['dataset']} | {record['seed']} | {record['steps']} | "
                          f"{100 * record['dev']['f']:.2f} | {100 * record['test']['f']:.2f} | "
                          f"{record['train_wall_s'] / 60:.1f} | {record['config_hash']} |")
    lines += ["", "## Every run"] + runs_lines
    if failed:
        lines += ["", "## Failed runs", ""] + [f"- {key}: {message.splitlines()[0]}" for key, message in failed.items()]
    paths["md"].write_text("\n".join(lines) + "\n", encoding="utf8")
    plot(table, models, datasets, paths["png"], title="; ".join(f"{k} {v}" for k, v in (about or {}).items()
                                                                 if k == "profile"))
    return paths


def _dev_f1_table(dev_table: Dict[str, Dict[str, Dict[str, Any]]], models: Sequence[str],
                  datasets: Sequence[str]) -> str:
    lines = ["| dataset | " + " | ".join(models) + " |", "|---|" + "---:|" * len(models)]
    for dataset in datasets:
        row = dev_table.get(dataset, {})
        lines.append(f"| {dataset} | " + " | ".join(_cell(row[m]["f"]) if m in row else "–" for m in models) + " |")
    return "\n".join(lines) + "\n"
