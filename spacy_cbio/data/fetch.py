"""Fetch the upstream assets (no local mirror): ``spacy project assets`` plus the unzip steps."""
from __future__ import annotations

import logging
import subprocess
import sys
import zipfile
from pathlib import Path

logger = logging.getLogger(__name__)

MANTRA_ZIP = Path("mantra_gsc") / "Mantra-GSC-brat.zip"
MANTRA_FRENCH = "Mantra-GSC/French/"


def extract_mantra(dest: Path) -> int:
    """Extract the French part of the Mantra GSC zip into ``dest/mantra_gsc``; return files written."""
    zip_path = dest / MANTRA_ZIP
    if not zip_path.exists():
        return 0
    written = 0
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.namelist():
            if MANTRA_FRENCH in member and not member.endswith("/"):
                relative = member[member.index(MANTRA_FRENCH):]
                target = dest / "mantra_gsc" / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
                written += 1
    return written


def fetch_upstream_assets(dest: Path) -> bool:
    """Run ``spacy project assets`` in the project root, then unzip Mantra; True if dest holds data."""
    project_dir = dest.resolve().parent
    result = subprocess.run([sys.executable, "-m", "spacy", "project", "assets", str(project_dir)])
    if result.returncode != 0:
        logger.warning("`spacy project assets` failed: check the network, or point --mirror at a local copy.")
    extracted = extract_mantra(dest)
    if extracted:
        logger.info(f"Mantra GSC: extracted {extracted} French files")
    return dest.is_dir() and any(dest.iterdir())
