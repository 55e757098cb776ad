"""Command-line entry point: ``python -m spacy_cbio COMMAND`` (or ``spacy-cbio COMMAND``).

Each stage sub-package exposes its commands in ``<stage>/cli.py``; they are
registered here so that ``--help`` lists every stage in workflow order.
"""
from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="spacy-cbio",
    help="CamemBERT-bio rebuilt: corpora, pretraining, NER training, evaluation, packaging.",
    no_args_is_help=True,
    add_completion=False,
)

# (module, function, command name) in workflow order.
COMMANDS = [
    ("spacy_cbio.data.cli", "assets", "assets"),
    ("spacy_cbio.data.cli", "convert", "convert"),
    ("spacy_cbio.pretrain.cli", "pretrain_tokenizer", "pretrain-tokenizer"),
    ("spacy_cbio.pretrain.cli", "pretrain_run", "pretrain-run"),
    ("spacy_cbio.pretrain.cli", "pretrain_report", "pretrain-report"),
    ("spacy_cbio.pretrain.cli", "pretrain", "pretrain"),
    ("spacy_cbio.pretrain.cli", "benchmark", "benchmark-pretrain"),
    ("spacy_cbio.pretrain.cli", "sweep", "pretrain-sweep"),
    ("spacy_cbio.vectors.cli", "vectors", "vectors"),
    ("spacy_cbio.train.cli", "assemble_config_cmd", "assemble-config"),
    ("spacy_cbio.train.cli", "train", "train"),
    ("spacy_cbio.train.cli", "tune", "tune"),
    ("spacy_cbio.evaluate.cli", "evaluate", "evaluate"),
    ("spacy_cbio.evaluate.cli", "evaluate_seeds", "evaluate-seeds"),
    ("spacy_cbio.evaluate.cli", "summarize", "summarize"),
    ("spacy_cbio.results.cli", "results_run", "results-run"),
    ("spacy_cbio.results.cli", "results_report", "results-report"),
    ("spacy_cbio.package.cli", "package", "package"),
    ("spacy_cbio.annotate.cli", "annotate", "annotate"),
]

# Commands that take spaCy config overrides (--section.key value), registered as `spacy train` is.
OVERRIDE_COMMANDS = ("assemble-config", "train", "tune")
OVERRIDES_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}


def _register() -> None:
    for module_name, func_name, command in COMMANDS:
        module = importlib.import_module(module_name)
        settings = OVERRIDES_CONTEXT if command in OVERRIDE_COMMANDS else None
        app.command(command, context_settings=settings)(getattr(module, func_name))


_register()


def main() -> None:
    """Run the CLI."""
    app()


if __name__ == "__main__":
    main()
