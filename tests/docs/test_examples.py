"""Every Python and shell example of the README, the documentation site and the benchmark
write-up runs, against the tiny profile's outputs (the run tests/test_project.py makes). A block
that cannot run there says why in its fence's title (```bash title="needs a GPU"); those are
counted, so that none is left out silently."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from doc_blocks import all_blocks, example_folder

# Blocks that say why they do not run: few, and each with its reason.
MAX_NOT_RUN = 17

RUNNER = r'''
import json, os, sys, traceback
blocks = json.load(open(sys.argv[1], encoding="utf8"))
namespaces = {}
for block in blocks:
    os.chdir(block["cwd"])
    namespace = namespaces.setdefault(block["cwd"], {"__name__": "__main__"})
    print(f"--- {block['name']}", flush=True)
    try:
        exec(compile(block["code"], block["name"], "exec"), namespace)
    except BaseException:
        traceback.print_exc()
        print(f"FAILED {block['name']}", flush=True)
        sys.exit(1)
print("ALL PYTHON EXAMPLES RAN", flush=True)
'''


def test_blocks_are_found_and_the_ones_not_run_say_why():
    blocks = all_blocks()
    files = {block.path for block in blocks}
    assert "README.md" in files and any(path.startswith("docs/") for path in files)
    not_run = [block for block in blocks if block.skip_reason]
    assert all(len(block.skip_reason) > 8 for block in not_run), [b.name for b in not_run]
    assert len(not_run) <= MAX_NOT_RUN, "\n".join(f"{b.name}: {b.skip_reason}" for b in not_run)
    assert sum(1 for block in blocks if not block.skip_reason) >= 8


def test_examples_run_on_the_tiny_outputs(tiny_project, tiny_packages, tmp_path):
    blocks = all_blocks()
    runnable = [block for block in blocks if not block.skip_reason]
    not_run = [block for block in blocks if block.skip_reason]
    folders = {}
    for block in runnable:  # one folder per documentation file, shared by its blocks in order
        if block.path not in folders:
            folders[block.path] = example_folder(tmp_path / block.path.replace("/", "_"), tiny_project)
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(tiny_packages), os.environ.get("PYTHONPATH")])),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    ran = defaultdict(int)

    python = [{"name": b.name, "code": b.code, "cwd": str(folders[b.path])} for b in runnable if b.language == "python"]
    spec = tmp_path / "python_blocks.json"
    spec.write_text(json.dumps(python), encoding="utf8")
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER, encoding="utf8")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(runner), str(spec)], env=env, capture_output=True, text=True)
    seconds = {"python blocks": time.perf_counter() - start}
    assert result.returncode == 0 and "ALL PYTHON EXAMPLES RAN" in result.stdout, (
        result.stdout[-4000:] + result.stderr[-4000:])
    ran["python"] = sum(1 for block in python if f"--- {block['name']}\n" in result.stdout)

    for block in (b for b in runnable if b.language == "bash"):
        start = time.perf_counter()
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=folders[block.path], env=env,
                                capture_output=True, text=True)
        assert result.returncode == 0, f"{block.name}\n{block.code}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        ran["bash"] += 1
        seconds[block.name] = time.perf_counter() - start

    assert ran["python"] == len(python)
    assert ran["bash"] == sum(1 for b in runnable if b.language == "bash")
    assert ran["python"] + ran["bash"] + len(not_run) == len(blocks)
    print(f"{len(runnable)} examples ran:", ", ".join(f"{name} {s:.1f} s" for name, s in seconds.items()))
    print(f"{len(not_run)} not run, each saying why:")
    for block in not_run:
        print(f"  {block.name}: {block.skip_reason}")
