"""Errors and the repair/drop ledger shared by every reader."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Union


class DataError(ValueError):
    """Bad input data. The message always names the file (and line when known)."""

    def __init__(self, path: Union[str, Path], message: str, line: Optional[int] = None):
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


@dataclass
class Ledger:
    """Counts every repair, move and drop by reason, keeping a few examples per reason.

    Reasons are short snake_case strings (see ``spacy_cbio.data.flatten`` for the list).
    """

    counts: Counter = field(default_factory=Counter)
    examples: Dict[str, List[str]] = field(default_factory=dict)
    max_examples: int = 3

    def add(self, reason: str, where: str = "", n: int = 1) -> None:
        """Count ``n`` occurrences of ``reason``; ``where`` is a file:line example."""
        if n <= 0:
            return
        self.counts[reason] += n
        ex = self.examples.setdefault(reason, [])
        if where and len(ex) < self.max_examples:
            ex.append(where)

    def update(self, other: "Ledger") -> None:
        """Merge another ledger into this one."""
        for reason, n in other.counts.items():
            self.counts[reason] += n
            ex = self.examples.setdefault(reason, [])
            for w in other.examples.get(reason, []):
                if len(ex) < self.max_examples:
                    ex.append(w)

    def to_dict(self) -> Dict[str, dict]:
        """JSON-ready ``{reason: {"count": n, "examples": [...]}}``."""
        return {
            r: {"count": n, "examples": list(self.examples.get(r, []))}
            for r, n in sorted(self.counts.items())
        }
