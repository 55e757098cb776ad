"""Per-split statistics and the markdown data report."""
from __future__ import annotations

from collections import Counter
from typing import Dict, List, Sequence

from spacy.tokens import Doc

from ..reporting import markdown_table
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
    ]
    corpus_rows: List[Sequence[object]] = []
    repair_rows: List[Sequence[object]] = []
    for name, ds in report["datasets"].items():
        if ds.get("status") != "converted":
            corpus_rows.append((name, "-", ds.get("status"), "", "", "", "", "", ""))
            continue
        for split, st in ds["splits"].items():
            corpus_rows.append((name, split, f"{st['documents']:,}", f"{st['sentences']:,}", f"{st['tokens']:,}",
                                f"{st['max_doc_tokens']:,}", f"{st['entities']:,}", f"{st['source_entities']:,}",
                                _labels(st["entities_per_label"])))
            for reason, info in st["repairs"].items():
                repair_rows.append((name, split, f"`{reason}`", f"{info['count']:,}"))
    lines.append(markdown_table(corpus_rows, ["dataset", "split", "documents", "sentences", "tokens",
                                              "max tokens/doc", "entities (flat)", "source entities",
                                              "entities per label (flat)"], aligns="llrrrrrrl"))
    lines += ["", "## Repairs and drops", "",
              "`drop.*`: source entities left out of the flat view (kept in `doc.spans[\"gold_all\"]`); "
              "`repair.*`: fixes applied; `skipped.*`: lines skipped with `--lenient`; "
              "`ignored.*`: non-entity annotations. Flat entities + `drop.*` = source entities.", "",
              markdown_table(repair_rows or [("-", "-", "none", "0")], ["dataset", "split", "reason", "count"],
                             aligns="lllr")]
    return "\n".join(lines) + "\n"
