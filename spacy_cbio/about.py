"""Package metadata, and the library versions recorded in every output."""
from __future__ import annotations

import platform
from importlib import metadata
from typing import Dict, Iterable

__title__ = "spacy-cbio"
__version__ = "0.1.0"

# The libraries that decide NER training and evaluation results (recorded by train and evaluate).
NER_LIBRARIES = ("spacy-cbio", "spacy", "spacy-transformers", "thinc", "transformers", "torch", "seqeval", "numpy")


def library_versions(packages: Iterable[str]) -> Dict[str, str]:
    """Python's version and each installed distribution's (``"not installed"`` if absent)."""
    found = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found
