"""A new virtual environment holding exactly what some wheels declare they need.

``pip install`` of the model wheel into an empty venv spends minutes unpacking torch and the rest
of the stack from the package registries. Here the venv gets, instead, hard links to the files of
the distributions this environment already has, for the transitive closure of the wheels'
``Requires-Dist`` (markers and extras evaluated as pip does): nothing else. Then pip installs the
wheels themselves (``--no-deps``, offline) and ``pip check`` confirms that every requirement of
every installed distribution is met. A dependency a wheel forgets to declare is missing there, as
in a fresh install; the versions are this environment's, i.e. the pinned ``requirements.txt``.
"""
from __future__ import annotations

import os
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Dict, Iterable, List, Set

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def wheel_requirements(wheel: Path) -> List[str]:
    """The ``Requires-Dist`` lines of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(name).decode("utf8")
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Requires-Dist:")]


def _applies(requirement: Requirement, extras: Set[str]) -> bool:
    if requirement.marker is None:
        return True
    environment = default_environment()
    return any(requirement.marker.evaluate({**environment, "extra": extra}) for extra in (extras or {""}))


def requirement_closure(requirements: Iterable[str], skip: Iterable[str] = ()) -> Dict[str, metadata.Distribution]:
    """The installed distributions that ``requirements`` need, transitively, by canonical name
    (``skip``: names left out, e.g. the wheels to be installed). A requirement this environment
    does not satisfy raises ``LookupError``."""
    skipped = {canonicalize_name(name) for name in skip}
    found: Dict[str, metadata.Distribution] = {}
    extras_seen: Dict[str, Set[str]] = {}
    todo = [(Requirement(text), set()) for text in requirements]
    while todo:
        requirement, parent_extras = todo.pop()
        if not _applies(requirement, parent_extras):
            continue
        name = canonicalize_name(requirement.name)
        if name in skipped:
            continue
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise LookupError(f"{requirement} is required but not installed here") from None
        if not requirement.specifier.contains(dist.version, prereleases=True):
            raise LookupError(f"{requirement} is required; this environment has {dist.version}")
        extras = set(requirement.extras)
        if name in found and extras <= extras_seen[name]:
            continue
        found[name] = dist
        extras_seen[name] = extras_seen.get(name, set()) | extras
        todo.extend((Requirement(text), extras_seen[name]) for text in dist.requires or [])
    return found


def link_distributions(dists: Iterable[metadata.Distribution], site_packages: Path) -> int:
    """Hard-link (copy where links fail) each distribution's files that live in its
    site-packages into ``site_packages``. RETURNS the number of files."""
    n = 0
    for dist in dists:
        root = Path(dist.locate_file("")).resolve()
        for file in dist.files or []:
            source = Path(dist.locate_file(file)).resolve()
            try:
                relative = source.relative_to(root)
            except ValueError:  # a script in bin/ or a data file elsewhere: not importable code
                continue
            if not source.is_file():
                continue
            target = site_packages / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                continue
            try:
                os.link(source, target)
            except OSError:
                import shutil

                shutil.copy2(source, target)
            n += 1
    return n


def venv_site_packages(venv: Path) -> Path:
    """The site-packages folder of ``venv`` (same Python as this one)."""
    relative = Path(sysconfig.get_path("purelib")).relative_to(sysconfig.get_paths()["data"])
    return venv / relative
