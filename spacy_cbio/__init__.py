"""spacy-cbio: CamemBERT-bio rebuilt as spaCy pipelines.

Stages, one sub-package each: ``data`` (dataset readers, conversion), ``pretrain``
(MLM continual pretraining), ``components`` (registered spaCy components),
``train`` (config assembly), ``evaluate`` (seqeval scoring), ``package``.
"""
from .about import __version__

__all__ = ["__version__"]
