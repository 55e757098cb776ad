"""The tracked text files hold no machine paths and no tracker numbers: the repository reads the
same on any machine and without the tracker. CHANGELOG.md is the one exception (history)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUFFIXES = (".md", ".py", ".cfg", ".yml", ".yaml", ".json", ".sh", ".toml", ".txt")
EXEMPT = {"CHANGELOG.md"}

# An absolute folder outside the project: a temporary or home folder, or a working folder.
MACHINE_PATH = re.compile(r"(?<![\w.~])/(?:tmp|work|root|home|Users|mnt|scratch)/")
# A tracker reference: "issue N", "issues N and M", "issue #N", "PR #N", "(#N)", "see #N".
TRACKER = re.compile(
    r"\b(?:issues?|pull requests?|PRs?)\s*#?\s*\d+\b"
    r"|(?:^|[ (\[,;])#\d{1,5}(?=[ ).,;:\]]|$)",
    re.IGNORECASE | re.MULTILINE,
)


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    for name in out.stdout.split("\0"):
        path = REPO / name
        if name and name.endswith(SUFFIXES) and name not in EXEMPT and path.is_file():
            yield name, path


def hits(pattern: re.Pattern, text: str):
    for match in pattern.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        yield line, match.group(0).strip()


def test_patterns_catch_what_they_should_and_nothing_else():
    # written as templates, so that this file passes its own check
    bad_paths = ["see {0}tmp{0}x", "cd {0}work{0}main", "({0}root{0}cb)", "{0}home{0}me{0}data", "{0}Users{0}me"]
    bad_refs = ["issue {1}", "Issue #{1}", "issues {1}", "PR #{1}", "fixed (#{1})", "see #{1}."]
    for bad in (template.format("/", 12) for template in bad_paths + bad_refs):
        assert list(hits(MACHINE_PATH, bad)) or list(hits(TRACKER, bad)), bad
    for good in ("/dev/null", "https://github.com/explosion/spaCy/issues/", "/usr/bin/time -v make all",
                 "training/tmp/x", "#1\tAnnotatorNotes T1", "`#1<TAB>AnnotatorNotes T1`", "# comment",
                 "'#1\\tAnnotatorNotes T1\\tC0006142'", "\\n#1\\tAnnotatorNotes", "color: #123456",
                 "~/tmp/x", "assets/e3c", "issues to report"):
        assert not list(hits(MACHINE_PATH, good)) and not list(hits(TRACKER, good)), good


def test_no_machine_paths_or_tracker_numbers_in_tracked_files():
    found = []
    for name, path in tracked_files():
        text = path.read_text(encoding="utf8", errors="replace")
        for what, pattern in (("machine path", MACHINE_PATH), ("tracker number", TRACKER)):
            found += [f"{name}:{line}: {what}: {snippet!r}" for line, snippet in hits(pattern, text)]
    assert not found, "\n".join(found)
