"""Pretraining stage: CamemBERT-style tokenizer, MLM with whole word masking,
continual pretraining from a base checkpoint (or from scratch offline)."""
