"""``serve``: a real uvicorn on 127.0.0.1 and a real HTTP client (httpx), every error class, and a
bounded load test (concurrent clients; every request answered, offsets equal to the text)."""
from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import spacy
import uvicorn

from spacy_cbio.serve.app import Limits, create_app

TEXT = "Le patient a une fièvre depuis hier . Il prend du paracétamol ."
BOOM = "BOOM"  # what the cbio_test_boom component (tests/conftest.py) fails on


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(pipeline_dir):
    """uvicorn serving the tiny pipeline (plus a component that fails on BOOM) in a thread."""
    nlp = spacy.load(pipeline_dir)
    nlp.add_pipe("cbio_test_boom", before="ner")  # tests/conftest.py
    app = create_app(nlp, limits=Limits(max_body_bytes=20_000, max_texts=8, max_chars=2_000), workers=1)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        assert time.time() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", nlp
    srv.should_exit = True
    thread.join(timeout=10)


def _check_offsets(text, entities):
    for ent in entities:
        assert text[ent["start"]:ent["end"]] == ent["text"] and ent["label"] in {"CHEM", "DISO"}


def test_health_model_and_openapi(server):
    url, nlp = server
    assert httpx.get(f"{url}/health").json()["status"] == "ok"
    model = httpx.get(f"{url}/model").json()
    assert set(model["labels"]) == {"CHEM", "DISO"} and model["limits"]["max_texts"] == 8
    spec = httpx.get(f"{url}/openapi.json").json()
    assert {"/annotate", "/health", "/model"} <= set(spec["paths"]) and httpx.get(f"{url}/docs").status_code == 200


def test_one_text_and_a_batch_give_the_annotate_schema(server):
    url, nlp = server
    one = httpx.post(f"{url}/annotate", json={"text": TEXT, "id": "a"})
    assert one.status_code == 200 and one.headers["x-request-id"]
    body = one.json()
    assert body["id"] == "a" and [e["text"] for e in body["entities"]] == ["fièvre", "paracétamol"]
    _check_offsets(TEXT, body["entities"])
    texts = [TEXT, {"id": "x", "text": "Une toux ."}, ""]
    batch = httpx.post(f"{url}/annotate", json={"texts": texts}).json()["results"]
    assert [r["id"] for r in batch] == ["0", "x", "2"] and batch[2]["entities"] == []
    assert batch[0]["entities"] == body["entities"]  # the same as alone


@pytest.mark.parametrize("payload,status,reason", [
    ('{"text": "x"', 400, "malformed JSON"),
    ('{"text": 3}', 422, "text: Input should be a valid string"),
    ('{"texts": []}', 422, "'texts' is empty"),
    ('{"text": "a", "texts": ["b"]}', 422, "not both or neither"),
    ('{"txt": "a"}', 422, "Extra inputs are not permitted"),
    (json.dumps({"texts": ["a"] * 9}), 413, "9 texts in one request; at most 8"),
    (json.dumps({"text": "a" * 2001}), 413, "text 0 has 2001 characters; at most 2000"),
    (json.dumps({"texts": ["a" * 1500] * 8, "id": "x" * 9000}), 413, "at most 20000"),
])
def test_refused_requests_get_a_json_reason_and_the_server_goes_on(server, payload, status, reason):
    url, _ = server
    response = httpx.post(f"{url}/annotate", content=payload, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert reason in response.json()["detail"] and response.json()["request_id"]
    assert httpx.post(f"{url}/annotate", json={"text": TEXT}).status_code == 200


def test_a_chunked_body_past_the_limit_is_refused(server):
    url, _ = server

    def chunks():
        yield b'{"text": "'
        for _ in range(30):
            yield b"a" * 1000
        yield b'"}'

    response = httpx.post(f"{url}/annotate", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "at most 20000" in response.json()["detail"]


def test_internal_failure_is_a_500_naming_the_request_and_serving_goes_on(server):
    url, _ = server
    failed = httpx.post(f"{url}/annotate", json={"texts": [TEXT, f"{BOOM} fièvre"]}, headers={"x-request-id": "r42"})
    assert failed.status_code == 500
    body = failed.json()
    assert body["request_id"] == "r42" and failed.headers["x-request-id"] == "r42"
    assert body["failed"] == [{"index": 1, "id": "1", "error": "pipeline failed: RuntimeError: boom in this document"}]
    assert httpx.post(f"{url}/annotate", json={"text": TEXT}).status_code == 200


def test_bounded_load_every_request_answered_with_right_offsets(server):
    """8 concurrent clients for 3 seconds: requests queue behind one worker; none is lost or wrong."""
    url, _ = server
    texts = [TEXT, "Une toux sèche depuis hier .", "Il prend du paracétamol et de l' amoxicilline ."]
    stop = time.time() + 3.0

    def client(k: int):
        done, latencies = 0, []
        with httpx.Client(timeout=30) as http:
            while time.time() < stop:
                text = texts[(k + done) % len(texts)]
                t0 = time.perf_counter()
                response = http.post(f"{url}/annotate", json={"texts": [text, text]})
                latencies.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.text
                results = response.json()["results"]
                assert len(results) == 2 and results[0]["entities"] == results[1]["entities"]
                _check_offsets(text, results[0]["entities"])
                done += 1
        return done, latencies

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(client, range(8)))
    assert all(done > 0 for done, _ in outcomes)  # every client was served, none refused or lost


def test_an_unexpected_failure_is_a_500_too(server, monkeypatch):
    url, nlp = server

    def broken(*args, **kwargs):
        raise MemoryError("no more memory")

    monkeypatch.setattr(nlp, "pipe", broken)
    response = httpx.post(f"{url}/annotate", json={"text": TEXT}, headers={"x-request-id": "r7"})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error: MemoryError", "request_id": "r7"}
    monkeypatch.undo()
    assert httpx.post(f"{url}/annotate", json={"text": TEXT}).status_code == 200
