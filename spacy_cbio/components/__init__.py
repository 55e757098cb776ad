"""Registered spaCy components: the ``cbio_token_ner`` token-classification NER (``token_ner``),
its IOB2 tag set and constrained decoding (``iob``) and its scorer, seqeval strict IOB2 (``scorer``)."""

from .forking import install_fork_guard

# Pipelines with these components run torch; keep `nlp.pipe(n_process=N)` from hanging.
install_fork_guard()
