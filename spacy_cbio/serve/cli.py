"""Command: ``serve`` — a NER pipeline behind an HTTP API on this machine."""
from __future__ import annotations

import typer

from .app import Limits


def serve(
    model: str = typer.Argument(..., help="Pipeline: an installed package name (e.g. fr_cbio_ner) or a pipeline folder."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only; 0.0.0.0 exposes it)."),
    port: int = typer.Option(8080, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Requests run through the pipeline at once; the others wait their turn."),
    threads: int = typer.Option(0, "--threads", min=0, help="torch CPU threads (0: torch's default)."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Documents per nlp.pipe batch within a request."),
    max_texts: int = typer.Option(Limits.max_texts, "--max-texts", min=1, help="Texts per request, at most."),
    max_chars: int = typer.Option(Limits.max_chars, "--max-chars", min=1, help="Characters per text, at most."),
    max_body_bytes: int = typer.Option(Limits.max_body_bytes, "--max-body-bytes", min=1, help="Request body size in bytes, at most."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, -1 for CPU."),
) -> None:
    """Serve a NER pipeline over HTTP: POST /annotate, GET /health, GET /model, and the OpenAPI
    page at /docs.

    The pipeline is loaded once, before the server starts. Requests beyond --workers wait their
    turn; texts, batches and bodies past the limits get a 413 with a JSON reason.
    """
    import uvicorn

    from ..annotate.pipe import ModelLoadError, load_pipeline
    from .app import create_app

    if threads:
        import torch

        torch.set_num_threads(threads)
    try:
        nlp = load_pipeline(model, gpu_id=gpu_id)
    except ModelLoadError as err:
        typer.secho(f"serve: {err}", fg="red", err=True)
        raise typer.Exit(1)
    limits = Limits(max_body_bytes=max_body_bytes, max_texts=max_texts, max_chars=max_chars)
    app = create_app(nlp, limits=limits, workers=workers, batch_size=batch_size)
    typer.echo(f"Serving {model} on http://{host}:{port} (API page: http://{host}:{port}/docs)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info")


__all__ = ["serve"]
