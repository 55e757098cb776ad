"""Package metadata; the library versions recorded in every output live in :mod:`.reporting`."""
from __future__ import annotations

from .reporting import NER_LIBRARIES, library_versions  # re-export: importable from here

__title__ = "spacy-cbio"
__version__ = "0.1.0"

__all__ = ["__title__", "__version__", "NER_LIBRARIES", "library_versions"]
