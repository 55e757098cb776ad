"""``package``: installable wheels of trained NER pipelines (``spacy package`` + metadata)."""
