"""The fenced code blocks of the README, the documentation site and the benchmark write-up, and
the folder the examples run in."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List

REPO = Path(__file__).resolve().parents[2]
LANGUAGES = {"python": "python", "py": "python", "bash": "bash", "sh": "bash", "shell": "bash", "console": "bash"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
TITLE = re.compile(r'\btitle="(?P<title>[^"]*)"')
# The outputs of the tiny run the examples read; configs/ is the project's own.
LINKED = ("assets", "corpus", "training", "metrics", "packages")


@dataclass
class Block:
    """One fenced code block: its file and first line, language, code, and the reason it is not
    run (its title), if any."""

    path: str
    line: int
    language: str
    code: str
    skip_reason: str

    @property
    def name(self) -> str:
        return f"{self.path}:{self.line}"


def doc_files() -> List[Path]:
    """The README, the site's pages (not the generated results report) and the benchmark write-up
    the site includes."""
    pages = [p for p in sorted((REPO / "docs").rglob("*.md")) if "results" not in p.relative_to(REPO / "docs").parts]
    return [REPO / "README.md", *pages, REPO / "benchmarks" / "ENCODER.md"]


def code_blocks(path: Path) -> List[Block]:
    """Every fenced ```python / ```bash (sh, shell, console) block of a Markdown file."""
    blocks, lines, i = [], path.read_text(encoding="utf8").splitlines(), 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].strip()
        body, j = [], i + 1
        while j < len(lines) and not re.match(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[j]):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        language = LANGUAGES.get(info.split()[0].lower() if info else "")
        if language:
            title = TITLE.search(info)
            blocks.append(Block(str(path.relative_to(REPO)), i + 1, language, "\n".join(body) + "\n",
                                title["title"].strip() if title else ""))
        i = j + 1
    return blocks


def all_blocks() -> List[Block]:
    return [block for path in doc_files() for block in code_blocks(path)]


def example_folder(root: Path, project: Path) -> Path:
    """A folder holding the tiny run's outputs (symbolic links) and the project's configs, where
    the examples run and write their own files."""
    root.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        if (project / name).exists():
            (root / name).symlink_to(project / name, target_is_directory=True)
    (root / "configs").symlink_to(REPO / "configs", target_is_directory=True)
    return root
