"""Package metadata."""

__title__ = "spacy-cbio"
__version__ = "0.1.0"
