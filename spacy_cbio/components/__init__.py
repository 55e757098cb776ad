"""Registered spaCy components: the ``cbio_token_ner`` token-classification NER."""
