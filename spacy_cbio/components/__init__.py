"""Registered spaCy components: the ``cbio_token_ner`` token-classification NER (``token_ner``),
its IOB2 tag set and constrained decoding (``iob``) and its scorer, seqeval strict IOB2 (``scorer``)."""
