"""Corpus statistics: per-source sizes, removal steps, repairs, markdown and JSON output."""
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, List

from spacy_cbio.reporting import markdown_table

REMOVAL_STEPS = ("cleaned_out", "exact_duplicates", "near_duplicates", "contaminated", "capped")
STEP_LABELS = {
    "cleaned_out": "cleaned out (empty or < min words)",
    "exact_duplicates": "exact duplicates",
    "near_duplicates": "near duplicates",
    "contaminated": "contaminated (NER dev/test overlap)",
    "capped": "capped (--max-words)",
}


class CorpusStats:
    """Counts documents and words per source for the input, the output and each removal."""

    def __init__(self) -> None:
        self.raw: Dict[str, Counter] = defaultdict(Counter)
        self.kept: Dict[str, Counter] = defaultdict(Counter)
        self.removed: Dict[str, Dict[str, Counter]] = {step: defaultdict(Counter) for step in REMOVAL_STEPS}
        self.repairs: Counter = Counter()
        self.splits: Dict[str, Dict[str, int]] = {}

    def add(self, table: Dict[str, Counter], source: str, words: int, docs: int = 1) -> None:
        table[source]["documents"] += docs
        table[source]["words"] += words

    def remove(self, step: str, source: str, words: int, docs: int = 1) -> None:
        self.add(self.removed[step], source, words, docs)

    @staticmethod
    def _total(table: Dict[str, Counter]) -> Counter:
        total: Counter = Counter()
        for counts in table.values():
            total.update(counts)
        return total

    def source_rows(self) -> List[Dict[str, Any]]:
        total_words = self._total(self.kept)["words"] or 1
        rows = []
        for source in sorted(self.raw):
            kept = self.kept.get(source, Counter())
            rows.append(
                {
                    "source": source,
                    "documents": kept["documents"],
                    "words": kept["words"],
                    "share": round(100.0 * kept["words"] / total_words, 2),
                    "input_documents": self.raw[source]["documents"],
                    "input_words": self.raw[source]["words"],
                    "removed": {
                        step: dict(self.removed[step][source]) for step in REMOVAL_STEPS if source in self.removed[step]
                    },
                }
            )
        return rows

    def to_dict(self, meta: Dict[str, Any]) -> Dict[str, Any]:
        total = self._total(self.kept)
        raw = self._total(self.raw)
        return {
            "sources": self.source_rows(),
            "total": {"documents": total["documents"], "words": total["words"]},
            "input_total": {"documents": raw["documents"], "words": raw["words"]},
            "removal_steps": {step: dict(self._total(self.removed[step])) for step in REMOVAL_STEPS},
            "repairs": dict(self.repairs),
            "splits": self.splits,
            **meta,
        }

    def to_markdown(self, meta: Dict[str, Any]) -> str:
        rows = [(row["source"], f"{row['documents']:,}", f"{row['words']:,}", f"{row['share']:.2f}")
                for row in self.source_rows()]
        total = self._total(self.kept)
        rows.append(("**total**", f"{total['documents']:,}", f"{total['words']:,}", "100.00"))
        raw = self._total(self.raw)
        rows.append(("input (before removals)", f"{raw['documents']:,}", f"{raw['words']:,}", ""))
        for step in REMOVAL_STEPS:
            counts = self._total(self.removed[step])
            rows.append((f"removed: {STEP_LABELS[step]}", f"{counts['documents']:,}", f"{counts['words']:,}", ""))
        lines = [markdown_table(rows, ["source", "documents", "words", "share %"], aligns="lrrr"), ""]
        if self.splits:
            lines.append(markdown_table([(name, f"{split['documents']:,}", f"{split['chunks']:,}",
                                          f"{split['words']:,}") for name, split in self.splits.items()],
                                        ["split", "documents", "chunks", "words"], aligns="lrrr"))
            lines.append("")
        if self.repairs:
            lines.append("Repairs: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.repairs.items())))
            lines.append("")
        lines.append("```json")
        lines.append(json.dumps(meta, indent=2, ensure_ascii=False, default=str))
        lines.append("```")
        return "\n".join(lines) + "\n"

    def write(self, output: Path, meta: Dict[str, Any]) -> str:
        """Write ``stats.json`` and ``stats.md`` under ``output``; return the markdown."""
        output.mkdir(parents=True, exist_ok=True)
        (output / "stats.json").write_text(
            json.dumps(self.to_dict(meta), indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf8"
        )
        markdown = self.to_markdown(meta)
        (output / "stats.md").write_text(markdown, encoding="utf8")
        return markdown
