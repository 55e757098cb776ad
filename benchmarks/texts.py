"""The benchmarks' texts: QUAERO EMEA test documents (French drug leaflets) from the data folder."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List


def emea_test_files(data: Path) -> List[Path]:
    """The ``.txt`` files of QUAERO EMEA test (``<data>/quaero/corpus/test/EMEA``), sorted."""
    folder = Path(data) / "quaero" / "corpus" / "test" / "EMEA"
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise SystemExit(f"no QUAERO EMEA test texts in {folder} (set --data to the data folder, e.g. assets)")
    return files


def emea_lines(data: Path, max_words: int) -> List[str]:
    """Every non-empty line of the EMEA test documents, cut into pieces of at most ``max_words`` words."""
    lines: List[str] = []
    for path in emea_test_files(data):
        for line in path.read_text(encoding="utf8").splitlines():
            words = line.split()
            lines.extend(" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words))
    return lines


def emea_leaflets(data: Path) -> List[str]:
    """Each EMEA test leaflet whole: its parts (``<leaflet>_<part>.txt``) joined in part order."""
    leaflets: Dict[str, List[tuple]] = {}
    for path in emea_test_files(data):
        leaflet, _, part = path.stem.partition("_")
        leaflets.setdefault(leaflet, []).append((int(part or 0), path.read_text(encoding="utf8")))
    return ["\n".join(text for _, text in sorted(parts)) for _, parts in sorted(leaflets.items())]
