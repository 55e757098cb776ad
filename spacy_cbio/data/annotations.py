"""Reader-neutral annotation records: a raw text with character-offset entities."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple


@dataclass
class Entity:
    """One source annotation.

    ``fragments`` are ``(start, end)`` character offsets, sorted by start. A contiguous
    entity has one fragment. ``extent_only`` marks a discontinuous entity whose
    fragments are unknown (E3C XMI stores only the extent of a discontinuous entity).
    """

    id: str
    label: str
    fragments: List[Tuple[int, int]]
    kb_id: str = ""
    line: Optional[int] = None
    extent_only: bool = False

    @property
    def start(self) -> int:
        return self.fragments[0][0]

    @property
    def end(self) -> int:
        return max(e for _, e in self.fragments)

    @property
    def discontinuous(self) -> bool:
        return self.extent_only or len(self.fragments) > 1


@dataclass
class SourceDoc:
    """A source document: its id, exact text, entities and provenance."""

    doc_id: str
    text: str
    entities: List[Entity] = field(default_factory=list)
    path: str = ""
