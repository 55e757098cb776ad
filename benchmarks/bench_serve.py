"""Load test of `spacy-cbio serve` on loopback, against `nlp.pipe` on the same texts, one run.

Starts `python -m spacy_cbio serve MODEL` on 127.0.0.1, waits for /health, then N client threads
post batches of texts for T seconds (each client cycles through the texts); every answer is
checked (status 200, one result per text, `text[start:end] == entity text`). Then the same texts
go once through `nlp.pipe` in this process, at the same torch thread count. Reports requests/s,
words/s, latency percentiles (p50/p95/p99), answers lost or wrong, and the throughput ratio of
the service to `nlp.pipe`.

    python benchmarks/bench_serve.py --model packages/... or fr_cbio_ner   # after `make all`
    # writes benchmarks/serve.json
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

from flops import provenance
from texts import emea_lines

REPO = Path(__file__).resolve().parents[1]


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="fr_cbio_ner", help="installed package or pipeline folder")
    parser.add_argument("--data", default="assets", help="data folder holding quaero/")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--batch", type=int, default=8, help="texts per request")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the server and of nlp.pipe")
    parser.add_argument("--max-words", type=int, default=100)
    parser.add_argument("--texts", type=int, default=400)
    parser.add_argument("--out", default="benchmarks/serve.json")
    args = parser.parse_args()
    import httpx

    texts = emea_lines(Path(args.data), args.max_words)[: args.texts]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "spacy_cbio", "serve", args.model, "--port", str(port),
                               "--threads", str(args.threads), "--max-texts", str(max(64, args.batch))],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300
        while True:
            if server.poll() is not None:
                raise SystemExit(f"serve exited:\n{server.stderr.read()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise SystemExit("serve did not come up in 5 minutes")
            time.sleep(0.5)
        latencies: List[float] = []
        counts = {"requests": 0, "texts": 0, "words": 0, "wrong": 0, "errors": 0}
        lock = threading.Lock()
        stop = time.time() + args.seconds

        def client(k: int) -> None:
            i = k * args.batch
            with httpx.Client(timeout=120) as http:
                while time.time() < stop:
                    batch = [texts[(i + j) % len(texts)] for j in range(args.batch)]
                    i += args.batch
                    t0 = time.perf_counter()
                    try:
                        response = http.post(f"{url}/annotate", json={"texts": batch})
                    except httpx.HTTPError:
                        with lock:
                            counts["errors"] += 1
                        continue
                    seconds = time.perf_counter() - t0
                    ok = response.status_code == 200
                    results = response.json().get("results", []) if ok else []
                    ok = ok and len(results) == len(batch) and all(
                        text[e["start"]:e["end"]] == e["text"] for text, r in zip(batch, results) for e in r["entities"])
                    with lock:
                        latencies.append(seconds)
                        counts["requests"] += 1
                        counts["texts"] += len(batch)
                        counts["words"] += sum(len(t.split()) for t in batch)
                        counts["wrong"] += 0 if ok else 1

        start = time.perf_counter()
        workers = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
    import spacy
    import torch

    torch.set_num_threads(args.threads)
    nlp = spacy.load(args.model)
    list(nlp.pipe(texts[:16]))
    t0 = time.perf_counter()
    list(nlp.pipe(texts, batch_size=args.batch))
    pipe_wps = sum(len(t.split()) for t in texts) / (time.perf_counter() - t0)
    serve_wps = counts["words"] / wall
    report: Dict[str, Any] = {
        "command": "python benchmarks/bench_serve.py " + " ".join(sys.argv[1:]),
        "model": args.model, "clients": args.clients, "seconds": round(wall, 1), "batch": args.batch,
        "threads": args.threads, **counts,
        "requests_per_s": round(counts["requests"] / wall, 2), "words_per_s": round(serve_wps, 1),
        "latency_s": {f"p{int(q * 100)}": round(percentile(latencies, q), 3) for q in (0.5, 0.95, 0.99)} if latencies else {},
        "nlp_pipe_words_per_s": round(pipe_wps, 1), "ratio_to_nlp_pipe": round(serve_wps / pipe_wps, 3),
        "load_average": os.getloadavg(),
        **provenance(),
    }
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n", encoding="utf8")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
