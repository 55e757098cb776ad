"""Pretraining stage: CamemBERT-style tokenizer, MLM with whole word masking,
continual pretraining from a base checkpoint (or from scratch offline).

Modules: ``stage`` (the steps: tokenizer, runs, report; ``run_all``),
``mlm`` (one Trainer run, resumable), ``blocks`` (corpus loading and packing
into blocks), ``collator`` (whole word masking), ``modeling``, ``tokenizer``,
``config`` (profiles), ``card`` (model cards), ``benchmark``, ``cli``.
"""
