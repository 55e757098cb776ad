"""Per-split statistics and the markdown data report."""
from __future__ import annotations

from collections import Counter
from typing import Dict, List, Sequence

from spacy.tokens import Doc

from .tokenize import GOLD_ALL


def split_stats(docs: Sequence[Doc]) -> Dict[str, object]:
    """Documents, sentences, tokens, flat entities per label, source entities per label."""
    flat = Counter(e.label_ for d in docs for e in d.ents)
    source = Counter()
    for d in docs:
        seen = {}
        for s in d.spans.get(GOLD_ALL, []):
            seen[s.id_] = s.label_
        source.update(seen.values())
    tokens = [len(d) for d in docs]
    return {
        "documents": len(docs),
        "sentences": sum(len(list(d.sents)) for d in docs),
        "tokens": sum(tokens),
        "max_doc_tokens": max(tokens, default=0),
        "docs_without_entities": sum(1 for d in docs if not d.ents),
        "entities": sum(flat.values()),
        "entities_per_label": dict(sorted(flat.items())),
        "source_entities": sum(source.values()),
        "source_entities_per_label": dict(sorted(source.items())),
    }


def _labels(counts: Dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items()) or "-"


def markdown_report(report: Dict[str, object]) -> str:
    """Markdown: a corpus table (dataset, split, sizes, entities per label) and a repairs table."""
    lines: List[str] = [
        "# NER corpora",
        "",
        f"spaCy {report['spacy_version']}, seed {report['seed']}, E3C protocol `{report['protocol']}`, "
        f"data root `{report['mirror']}`.",
        "",
        "| dataset | split | documents | sentences | tokens | max tokens/doc | entities (flat) | "
        "source entities | entities per label (flat) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    rows: List[str] = []
    for name, ds in report["datasets"].items():
        if ds.get("status") != "converted":
            lines.append(f"| {name} | - | {ds.get('status')} | | | | | | |")
            continue
        for split, st in ds["splits"].items():
            lines.append(
                f"| {name} | {split} | {st['documents']:,} | {st['sentences']:,} | {st['tokens']:,} | "
                f"{st['max_doc_tokens']:,} | {st['entities']:,} | {st['source_entities']:,} | "
                f"{_labels(st['entities_per_label'])} |"
            )
            for reason, info in st["repairs"].items():
                rows.append(f"| {name} | {split} | `{reason}` | {info['count']:,} |")
    lines += ["", "## Repairs and drops", "",
              "`drop.*`: source entities left out of the flat view (kept in `doc.spans[\"gold_all\"]`); "
              "`repair.*`: fixes applied; `skipped.*`: lines skipped with `--lenient`; "
              "`ignored.*`: non-entity annotations. Flat entities + `drop.*` = source entities.", "",
              "| dataset | split | reason | count |", "|---|---|---|---:|"]
    lines += rows or ["| - | - | none | 0 |"]
    return "\n".join(lines) + "\n"
