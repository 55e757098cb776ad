"""n_process=2 with a transformer pipeline: plain nlp.pipe and `annotate --n-process 2` finish
(they hung: forked workers blocked in torch's OpenMP pool, see spacy_cbio.components.forking).

Each run is a fresh interpreter, with torch's default thread count (not the tests' single thread),
that uses torch in the parent before forking; a hang fails on the timeout and leaves no process.
"""
from __future__ import annotations

import json
import sys
import textwrap

TIMEOUT = 240

PLAIN_PIPE = textwrap.dedent(
    """
    import json, sys
    import spacy
    import torch
    torch.set_num_threads(2)
    nlp = spacy.load(sys.argv[1])  # no spacy_cbio import: the entry points load the components
    texts = ["Le patient a une fièvre depuis hier .", "Il prend du paracétamol .", ""] * 8
    single = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]
    multi = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts, n_process=2, batch_size=4)]
    print(json.dumps({"same": single == multi, "n": len(multi), "n_ents": sum(map(len, multi)),
                      "guard": "spacy_cbio.components.forking" in sys.modules}))
    """
)


def test_plain_nlp_pipe_n_process_2_returns(pipeline_dir, tmp_path, run_killable, subprocess_env):
    script = tmp_path / "plain_pipe.py"
    script.write_text(PLAIN_PIPE, encoding="utf8")
    result = run_killable([sys.executable, str(script), str(pipeline_dir)], TIMEOUT, env=subprocess_env)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["same"] and out["n"] == 24 and out["n_ents"] > 0 and out["guard"]
    assert "The current process just got forked" not in result.stderr


def test_annotate_n_process_2_matches_single_process(pipeline_dir, tmp_path, run_killable, subprocess_env):
    data = tmp_path / "in.jsonl"
    rows = [{"id": f"d{i}", "text": t} for i, t in enumerate(["Le patient a une fièvre .", "Il prend du paracétamol .", ""] * 10)]
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + "pas du JSON\n", encoding="utf8")
    outputs = {}
    for n in (1, 2):
        out = tmp_path / f"out{n}.jsonl"
        cmd = [sys.executable, "-m", "spacy_cbio", "annotate", str(pipeline_dir), str(data), "-o", str(out),
               "--n-process", str(n), "--batch-size", "4", "--summary", str(tmp_path / f"s{n}.json")]
        result = run_killable(cmd, TIMEOUT, env=subprocess_env)
        assert result.returncode == 0, result.stderr[-3000:]
        outputs[n] = [json.loads(line) for line in out.read_text(encoding="utf8").splitlines()]
    assert [r["id"] for r in outputs[2]] == [r["id"] for r in rows]
    assert outputs[1] == outputs[2]  # entities and scores survive the worker round trip
    assert sum(len(r["entities"]) for r in outputs[2]) > 0
    summary = json.loads((tmp_path / "s2.json").read_text())
    assert summary["n_errors"] == 1 and summary["errors"][0]["where"].endswith("in.jsonl:31")
