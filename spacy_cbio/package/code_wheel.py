"""The ``spacy-cbio`` wheel, written next to the model wheels.

A packaged model requires ``spacy-cbio`` (its ``cbio_token_ner`` component and registered
functions), which is on no package index: ``package`` therefore also builds the wheel of
the spacy-cbio source tree it runs from, so that ``pip install --find-links <folder>
fr_cbio_ner`` finds both. The sources are copied to a temporary folder first, so that no
stale ``build/`` or ``*.egg-info`` of the working tree can leak into the wheel (or be left
behind in it).
"""
from __future__ import annotations

import configparser
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

DIST_NAME = "spacy-cbio"
PACKAGE = "spacy_cbio"
# Top-level files the build reads (setup.cfg names README.md as long_description).
SOURCE_FILES = ("setup.cfg", "setup.py", "pyproject.toml", "README.md", "MANIFEST.in", "LICENSE")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info")


class CodeWheelError(Exception):
    """The spacy-cbio wheel cannot be built or found; the message says what to do."""


def find_source_root(package_dir: Optional[Path] = None) -> Path:
    """The source tree (the folder holding ``setup.cfg``) that ``spacy_cbio`` is imported from.

    ``CodeWheelError`` when spacy_cbio was installed from a wheel (site-packages holds no
    ``setup.cfg`` naming spacy-cbio).
    """
    if package_dir is None:
        import spacy_cbio

        package_dir = Path(spacy_cbio.__file__).resolve().parent
    root = Path(package_dir).parent
    setup_cfg = root / "setup.cfg"
    name = None
    if setup_cfg.is_file() and (root / "pyproject.toml").is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(setup_cfg, encoding="utf8")
            name = parser.get("metadata", "name", fallback=None)
        except configparser.Error:
            name = None
    if name != DIST_NAME:
        raise CodeWheelError(
            f"spacy_cbio is imported from {package_dir}, which is not in a spacy-cbio source tree "
            f"(no setup.cfg naming {DIST_NAME} in {root}): it was probably installed from a wheel. "
            "Run `package` from a checkout (pip install -e .), pass an existing spacy_cbio wheel with "
            "--code-wheel PATH, or skip it with --code-wheel none (then install spacy-cbio yourself)."
        )
    return root


def has_setuptools() -> bool:
    """Whether this environment can build without an isolated build environment (offline)."""
    return importlib.util.find_spec("setuptools") is not None


def build_code_wheel(output: Path, root: Optional[Path] = None) -> Path:
    """Build the spacy-cbio wheel of ``root`` (default: :func:`find_source_root`) into ``output``.

    Earlier ``spacy_cbio-*.whl`` files in ``output`` are replaced (so that pip cannot pick a
    stale version). RETURNS the wheel's path.
    """
    root = Path(root) if root is not None else find_source_root()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="spacy_cbio_wheel_") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in SOURCE_FILES:
            if (root / name).is_file():
                shutil.copy2(root / name, src / name)
        shutil.copytree(root / PACKAGE, src / PACKAGE, ignore=IGNORED)
        wheelhouse = Path(tmp) / "wheelhouse"
        cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheelhouse), str(src)]
        if has_setuptools():  # build offline with this environment's setuptools
            cmd.insert(5, "--no-build-isolation")
        result = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(wheelhouse.glob(f"{PACKAGE}-*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            raise CodeWheelError(f"building the spacy-cbio wheel of {root} failed ({' '.join(cmd)}):\n"
                                 f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
        return copy_code_wheel(wheels[0], output)


def copy_code_wheel(wheel: Path, output: Path) -> Path:
    """Copy a ``spacy_cbio-*.whl`` into ``output`` (replacing earlier ones); RETURNS the copy."""
    wheel = Path(wheel)
    if not (wheel.is_file() and wheel.name.startswith(f"{PACKAGE}-") and wheel.suffix == ".whl"):
        raise CodeWheelError(f"{wheel}: not a {PACKAGE}-*.whl file")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    target = output / wheel.name
    for old in output.glob(f"{PACKAGE}-*.whl"):
        if old.resolve() != wheel.resolve():
            old.unlink()
    if target.resolve() != wheel.resolve():
        shutil.copy2(wheel, target)
    return target
