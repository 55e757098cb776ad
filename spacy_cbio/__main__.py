"""Command-line entry point: ``python -m spacy_cbio COMMAND`` (or ``spacy-cbio COMMAND``).

Each stage sub-package exposes its commands in ``<stage>/cli.py``; they are
registered here so that ``--help`` lists every stage in workflow order. A run of one
command imports only that command's module (the stages import spaCy, torch, seqeval...
at different costs), so ``spacy-cbio evaluate`` does not pay for ``results`` or
``annotate``; ``app`` (all commands) is built on first access, for tests and callers.

Logging: every library module logs through ``logging.getLogger(__name__)``; on start the
CLI gives the ``spacy_cbio`` and ``corpus_scripts`` loggers one handler that prints each
message bare (warnings and errors prefixed ``WARNING:``/``ERROR:``) to stderr at INFO,
leaving the root logger and its handlers alone.
"""
from __future__ import annotations

import importlib
import logging
import sys
from typing import Iterable, List, Optional

import typer

HELP = "CamemBERT-bio rebuilt: corpora, pretraining, NER training, evaluation, packaging."

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
    ("spacy_cbio.train.cli", "train_datasets_cmd", "train-datasets"),
    ("spacy_cbio.train.cli", "calibrate", "calibrate"),
    ("spacy_cbio.train.cli", "tune", "tune"),
    ("spacy_cbio.evaluate.cli", "evaluate", "evaluate"),
    ("spacy_cbio.evaluate.cli", "evaluate_seeds", "evaluate-seeds"),
    ("spacy_cbio.evaluate.cli", "summarize", "summarize"),
    ("spacy_cbio.results.cli", "results_run", "results-run"),
    ("spacy_cbio.results.cli", "results_report", "results-report"),
    ("spacy_cbio.results.cli", "results_compare", "results-compare"),
    ("spacy_cbio.package.cli", "package", "package"),
    ("spacy_cbio.annotate.cli", "annotate", "annotate"),
    ("spacy_cbio.serve.cli", "serve", "serve"),
]
COMMAND_NAMES = [command for _, _, command in COMMANDS]

# Commands that take spaCy config overrides (--section.key value), registered as `spacy train` is.
OVERRIDE_COMMANDS = ("assemble-config", "train", "train-datasets", "tune")
OVERRIDES_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}


# Loggers the CLI prints (library modules log under these names).
LOGGERS = ("spacy_cbio", "corpus_scripts")


class _MessageFormatter(logging.Formatter):
    """The bare message; warnings and errors say so (``WARNING: ...``), as the echoed text did."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        return message if record.levelno < logging.WARNING else f"{record.levelname}: {message}"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (a test runner may swap it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(_MessageFormatter("%(message)s"))

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ sets it; the property wins
        pass


def setup_logging(level: int = logging.INFO) -> None:
    """Print the project's log messages to stderr (once; the root logger is not touched)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
            logger.addHandler(_StderrHandler())


def _root() -> None:
    """CamemBERT-bio rebuilt: corpora, pretraining, NER training, evaluation, packaging."""
    setup_logging()


def make_app(names: Optional[Iterable[str]] = None) -> typer.Typer:
    """The CLI with the commands ``names`` (default: all), importing only their modules."""
    wanted = set(COMMAND_NAMES if names is None else names)
    cli = typer.Typer(name="spacy-cbio", help=HELP, no_args_is_help=True, add_completion=False)
    # a callback keeps the command group even with one command registered (typer would
    # otherwise turn a lone command into the whole program and read its name as an argument)
    cli.callback()(_root)
    for module_name, func_name, command in COMMANDS:
        if command not in wanted:
            continue
        module = importlib.import_module(module_name)
        settings = OVERRIDES_CONTEXT if command in OVERRIDE_COMMANDS else None
        cli.command(command, context_settings=settings)(getattr(module, func_name))
    return cli


def _commands_for(argv: List[str]) -> Optional[List[str]]:
    """The one command named first in ``argv``, or None (all: help, or an unknown name)."""
    if argv and argv[0] in COMMAND_NAMES:
        return [argv[0]]
    return None


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # built on first access: ``from spacy_cbio.__main__ import app``
        app = make_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Run the CLI."""
    make_app(_commands_for(sys.argv[1:]))()


if __name__ == "__main__":
    main()
