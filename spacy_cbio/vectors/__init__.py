"""Vectors stage: floret word vectors trained on the pretraining corpora.

The CamemBERT-bio idea (domain pretraining) applied to features this CPU can
afford: subword-hashed static vectors trained on the decontaminated biomedical
corpus, and, as the domain control, on as many words of general French.
"""
