"""Build the pretraining corpus: ``python -m corpus_scripts.build_corpus --help`` from the
project root (not part of the installed ``spacy_cbio`` package)."""
