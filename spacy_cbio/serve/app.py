"""The HTTP service: a FastAPI app around one loaded NER pipeline.

``POST /annotate`` takes ``{"text": ...}`` (one document, optional ``id``) or ``{"texts": [...]}``
(a batch of strings or ``{"id", "text"}`` objects) and returns the entities in the JSONL schema of
``annotate`` (``{"id", "entities": [{"start", "end", "label", "text", "score"}]}``; a batch gives
``{"results": [...]}`` in input order). ``GET /health`` says the service is up; ``GET /model``
gives the pipeline's name, version, labels and scores from its meta.

The pipeline is loaded once. Requests run it through a bounded pool (``workers`` at a time, one
by default: spaCy pipelines are not made to be called from several threads at once); the others
wait their turn. Limits: the body size, the texts per batch and the characters per text; past
them the answer is 413 with a JSON reason. Malformed JSON is a 400, a wrong type or an empty
batch a 422, each with a JSON ``detail``. A failure inside the pipeline is a 500 whose body names
the request (``request_id``, also the ``X-Request-ID`` header) and the documents that failed;
the service goes on serving.
"""
from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Union

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from spacy.language import Language
from starlette.exceptions import HTTPException

from ..annotate.pipe import annotate_records, ends_with_trf_cleaner, add_trf_cleaner
from ..annotate.readers import Record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """What one request may hold."""

    max_body_bytes: int = 2_000_000
    max_texts: int = 64
    max_chars: int = 100_000


class Document(BaseModel):
    """One document of a batch."""

    id: Optional[str] = Field(None, description="Your id for the document (default: its position).")
    text: str = Field(..., description="The raw text.")


class AnnotateRequest(BaseModel):
    """One text, or a batch of texts."""

    text: Optional[str] = Field(None, description="One document's text.")
    id: Optional[str] = Field(None, description="The id of that document (default: 0).")
    texts: Optional[List[Union[str, Document]]] = Field(
        None, description="A batch: strings or {id, text} objects, answered in input order.")

    model_config = {"extra": "forbid"}


class Entity(BaseModel):
    start: int = Field(..., description="Character offset of the first character (Python string index).")
    end: int = Field(..., description="Character offset after the last character.")
    label: str
    text: str = Field(..., description="text[start:end]")
    score: Optional[float] = Field(None, description="span._.score: mean probability of the entity's tags.")


class Annotated(BaseModel):
    id: str
    entities: List[Entity]


class AnnotatedBatch(BaseModel):
    results: List[Annotated]


class ServiceError(Exception):
    """A request the service refuses, with its HTTP status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _documents(request: AnnotateRequest, limits: Limits) -> List[Record]:
    if (request.text is None) == (request.texts is None):
        raise ServiceError(422, "give either 'text' (one document) or 'texts' (a batch), not both or neither")
    if request.text is not None:
        items: List[Any] = [Document(id=request.id, text=request.text)]
    else:
        if not request.texts:
            raise ServiceError(422, "'texts' is empty: send at least one document")
        if len(request.texts) > limits.max_texts:
            raise ServiceError(413, f"{len(request.texts)} texts in one request; at most {limits.max_texts}")
        items = [item if isinstance(item, Document) else Document(text=item) for item in request.texts]
    records = []
    for i, item in enumerate(items):
        if len(item.text) > limits.max_chars:
            raise ServiceError(413, f"text {i} has {len(item.text)} characters; at most {limits.max_chars}")
        records.append(Record(id=item.id if item.id is not None else str(i), text=item.text, source="request", line=i))
    return records


class RequestGuard:
    """ASGI middleware: names each request (its ``X-Request-ID``, or ``req-<n>``; in
    ``request.state.request_id`` and the response's ``X-Request-ID``), and refuses a body past
    ``max_bytes`` with a 413 and a JSON reason, whether its size is announced (``Content-Length``)
    or not (chunked: counted as it is read)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.counter = itertools.count(1)

    async def __call__(self, scope: Dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1") or f"req-{next(self.counter)}"
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode("latin-1"))]}
            await send(message)

        too_large = f"request body past {self.max_bytes} bytes; at most {self.max_bytes}"
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await JSONResponse({"detail": too_large, "request_id": request_id}, status_code=413)(scope, receive, send_with_id)
            return
        total = 0

        async def limited_receive() -> Dict[str, Any]:
            nonlocal total
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.max_bytes:  # FastAPI passes an HTTPException on to the handlers
                    raise HTTPException(413, too_large)
            return message

        await self.app(scope, limited_receive, send_with_id)


def create_app(nlp: Language, *, limits: Limits = Limits(), workers: int = 1, batch_size: int = 16,
               model_name: Optional[str] = None) -> FastAPI:
    """The FastAPI app serving ``nlp`` (already loaded)."""
    if not ends_with_trf_cleaner(nlp):
        add_trf_cleaner(nlp)  # no transformer output kept per document
    meta = nlp.meta
    name = model_name or f"{meta.get('lang', 'xx')}_{meta.get('name', 'pipeline')}"
    app = FastAPI(title="spacy-cbio", version=str(meta.get("version", "")),
                  description=f"French biomedical NER with {name}. " + (__doc__ or "").split("\n\n")[1].replace("\n", " "))
    limiter = anyio.CapacityLimiter(workers)

    def run(records: List[Record]) -> List[Any]:
        return list(annotate_records(nlp, records, batch_size=batch_size, max_length=limits.max_chars))

    app.add_middleware(RequestGuard, max_bytes=limits.max_body_bytes)

    @app.exception_handler(Exception)
    async def failed(request: Request, err: Exception):  # the server goes on: this request only
        request_id = getattr(request.state, "request_id", None)
        logger.error("request %s failed: %s: %s", request_id, type(err).__name__, err)
        return JSONResponse({"detail": f"internal error: {type(err).__name__}", "request_id": request_id},
                            status_code=500, headers={"X-Request-ID": str(request_id)})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException):
        return JSONResponse({"detail": err.detail, "request_id": getattr(request.state, "request_id", None)},
                            status_code=err.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError):
        errors = err.errors()
        malformed = any(e.get("type") == "json_invalid" for e in errors)
        detail = "malformed JSON" if malformed else "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}" for e in errors)
        return JSONResponse({"detail": detail, "request_id": request.state.request_id},
                            status_code=400 if malformed else 422)

    @app.exception_handler(ServiceError)
    async def refused(request: Request, err: ServiceError):
        return JSONResponse({"detail": err.detail, "request_id": request.state.request_id}, status_code=err.status)

    @app.get("/health", summary="The service is up and its pipeline loaded")
    async def health() -> Dict[str, Any]:
        return {"status": "ok", "model": name}

    @app.get("/model", summary="The pipeline: name, version, labels and test scores from its meta")
    async def model() -> Dict[str, Any]:
        labels = list(nlp.get_pipe("ner").labels) if "ner" in nlp.pipe_names else []
        return {"name": name, "version": meta.get("version"), "labels": labels, "pipeline": nlp.pipe_names,
                "performance": meta.get("performance", {}), "spacy_version": meta.get("spacy_version"),
                "limits": limits.__dict__}

    @app.post("/annotate", response_model=Union[Annotated, AnnotatedBatch],
              summary="Entities of one text ({text}) or of a batch ({texts}), in input order",
              responses={400: {"description": "malformed JSON"}, 413: {"description": "a limit passed"},
                         422: {"description": "wrong type or empty batch"},
                         500: {"description": "the pipeline failed; the body names the request"}})
    async def annotate(body: AnnotateRequest, request: Request):
        records = _documents(body, limits)
        start = time.perf_counter()
        results = await anyio.to_thread.run_sync(run, records, limiter=limiter)
        failed = [{"index": i, "id": r.record.id, "error": r.error} for i, r in enumerate(results) if r.error]
        if failed:
            logger.error("request %s: %d document(s) failed: %s", request.state.request_id, len(failed), failed[0]["error"])
            return JSONResponse({"detail": "the pipeline failed on some documents", "failed": failed,
                                 "request_id": request.state.request_id}, status_code=500)
        logger.debug("request %s: %d document(s) in %.3f s", request.state.request_id, len(records),
                     time.perf_counter() - start)
        out = [{"id": r.record.id, "entities": r.entities} for r in results]
        return out[0] if body.text is not None else {"results": out}

    return app


__all__ = ["Limits", "create_app", "AnnotateRequest", "ServiceError"]
