"""Spark in local mode against `annotate --n-process`, on the same texts, in one run.

Texts: QUAERO EMEA test lines (cut at --max-words words), repeated to --texts documents, written
once as Parquet. Then, alternating for --rounds rounds:

  spark     annotate_dataframe on local[N] (N = --cores), Parquet in, entities collected
  annotate  `python -m spacy_cbio annotate MODEL texts.parquet -f parquet --n-process N`

Each is timed end to end (process or session start included), and Spark's per-job overhead is
measured on a one-row DataFrame. Reports words/s, the ratio, and the entity counts (equal when
both annotate the same texts alike).

    python benchmarks/bench_spark.py --model fr_cbio_ner      # after `make all`; writes benchmarks/spark.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

from flops import provenance
from texts import emea_lines


def run_spark(parquet: Path, model: str, cores: int) -> Dict[str, Any]:
    from pyspark.sql import SparkSession

    from spacy_cbio.annotate.spark import annotate_dataframe

    start = time.perf_counter()
    spark = (SparkSession.builder.master(f"local[{cores}]").config("spark.ui.enabled", "false")
             .config("spark.executorEnv.OMP_NUM_THREADS", "1").getOrCreate())
    df = spark.read.parquet(str(parquet)).repartition(cores)
    rows = annotate_dataframe(df, model).collect()
    seconds = time.perf_counter() - start
    t0 = time.perf_counter()  # a second, tiny job on the warm workers: Spark's per-job overhead
    annotate_dataframe(spark.createDataFrame([("x", "Une toux .")], "id string, text string"), model).collect()
    overhead = time.perf_counter() - t0
    spark.stop()
    return {"seconds": round(seconds, 2), "entities": sum(1 for r in rows if r.error is None),
            "errors": sum(1 for r in rows if r.error is not None), "per_job_overhead_s": round(overhead, 2)}


def run_annotate(parquet: Path, model: str, cores: int, out: Path) -> Dict[str, Any]:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spacy_cbio", "annotate", model, str(parquet), "-f", "parquet", "-o", str(out),
                    "--n-process", str(cores), "--no-progress"], check=True, capture_output=True,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    seconds = time.perf_counter() - start
    import pyarrow.parquet as pq

    return {"seconds": round(seconds, 2), "entities": pq.read_table(out).num_rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="fr_cbio_ner")
    parser.add_argument("--data", default="assets")
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--max-words", type=int, default=100)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/spark.json")
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = emea_lines(Path(args.data), args.max_words)
    texts = (lines * (args.texts // len(lines) + 1))[: args.texts]
    words = sum(len(t.split()) for t in texts)
    work = Path(tempfile.mkdtemp(prefix="cbio_spark_"))
    parquet = work / "texts.parquet"
    pq.write_table(pa.table({"id": [str(i) for i in range(len(texts))], "text": texts}), parquet)
    results: Dict[str, List[Dict[str, Any]]] = {"spark": [], "annotate": []}
    for _ in range(args.rounds):
        results["spark"].append(run_spark(parquet, args.model, args.cores))
        results["annotate"].append(run_annotate(parquet, args.model, args.cores, work / "entities.parquet"))
        print(json.dumps({k: v[-1] for k, v in results.items()}), flush=True)
    best = {k: min(r["seconds"] for r in v) for k, v in results.items()}
    report = {
        "command": "python benchmarks/bench_spark.py " + " ".join(sys.argv[1:]),
        "model": args.model, "texts": len(texts), "words": words, "cores": args.cores, "rounds": results,
        "words_per_s": {k: round(words / s, 1) for k, s in best.items()},
        "ratio_spark_to_annotate": round(best["annotate"] / best["spark"], 3),
        "same_entity_count": len({r["entities"] for v in results.values() for r in v}) == 1,
        "load_average": os.getloadavg(),
        **provenance(),
    }
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n", encoding="utf8")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
