"""The documentation site builds with ``mkdocs build --strict``: every page in the navigation
exists, and no link or included file is broken."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_site_builds_strict(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for page in ("index.html", "data/index.html", "cli/index.html", "benchmarks/index.html"):
        assert (site / page).is_file(), page
    # the benchmark write-up is included, not linked to
    assert "FLOP bound" in (site / "benchmarks" / "index.html").read_text(encoding="utf8")
