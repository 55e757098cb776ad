#!/usr/bin/env bash
# GPU check of the paper's pretraining path: NOT RUN by the authors (written on a CPU-only machine, no GPU).
#
# On ONE GPU, in under 10 minutes: continual MLM pretraining from camembert-base with the paper profile
# (configs/pretrain/paper.cfg: seq 512, 8 sequences per device, gradient accumulation 16, bf16) for a
# few optimizer steps; then prints tokens/s, peak GPU memory and the estimated wall time of the full run.
#
# usage (from the repository root, in its virtualenv):
#   bash benchmarks/gpu_check.sh                      # camembert-base from the hub, the fixtures' text
#   BASE=/path/to/camembert-base CORPUS=corpus/pretrain/paper/bio STEPS=20 bash benchmarks/gpu_check.sh
# BASE: hub name or local dir; when unreachable, a random model of camembert-base's exact shape is built
#   locally (same compute: speed and memory are the same, the loss is not).
# CORPUS: a folder written by corpus_scripts/build_corpus.py; default: the test fixtures' biomedical sample
#   (small, its blocks repeat: fine for speed and memory).
# Writes only $OUT (default training/gpu_check, relative to where it runs).
set -euo pipefail

BASE=${BASE:-camembert-base}
STEPS=${STEPS:-20}            # optimizer steps (each 8 x 16 = 128 sequences of 512 tokens)
OUT=${OUT:-training/gpu_check}
PAPER_GPUS=2                  # the paper's effective batch 256 = 8 per GPU x 16 accumulation x 2 GPUs
PY=${PY:-python}
CONFIG=${CONFIG:-configs/pretrain/paper.cfg}   # (CONFIG=configs/pretrain/tiny.cfg ALLOW_CPU=1: a CPU smoke test)

if [ "${ALLOW_CPU:-0}" != 1 ]; then
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || { echo "no GPU: nothing to check"; exit 1; }
fi
rm -rf "$OUT" && mkdir -p "$OUT"

# the paper profile with short evaluation/logging intervals (the steps come from --steps below)
sed -e 's/^eval_steps = .*/eval_steps = 100000/' -e 's/^save_steps = .*/save_steps = 100000/' \
    -e 's/^logging_steps = .*/logging_steps = 2/' -e 's/^max_eval_blocks = .*/max_eval_blocks = 64/' \
    -e 's/^precision = .*/precision = "bf16"/' "$CONFIG" > "$OUT/paper_check.cfg"

# the base (or its shape, offline) and a corpus
if ! $PY -c "from transformers import AutoConfig; AutoConfig.from_pretrained('$BASE')" 2>/dev/null; then
  echo "base $BASE unreachable: building a random model of camembert-base's shape in $OUT/base"
  $PY -c "from spacy_cbio.pretrain.testing import make_camembert_base_layout as m; m('$OUT/base', full=True)"
  BASE=$OUT/base
fi
if [ -z "${CORPUS:-}" ]; then
  CORPUS=$OUT/corpus
  $PY - "$CORPUS" <<'EOF'
import sys
from pathlib import Path
from datasets import Dataset, DatasetDict
from spacy_cbio.pretrain.testing import sample_texts
lines = sample_texts()
docs = [" ".join(lines[i:i + 3]) for i in range(0, len(lines), 3)]
DatasetDict({"train": Dataset.from_dict({"text": docs[:-10]}), "validation": Dataset.from_dict({"text": docs[-10:]})}
            ).save_to_disk(str(Path(sys.argv[1]) / "dataset"))
EOF
fi

# the run: the same command as the spaCy project's pretrain-bio step, fewer steps
start=$(date +%s)
timeout 540 $PY -m spacy_cbio pretrain-run bio "$OUT/paper_check.cfg" "$CORPUS" "$OUT/bio" --init "$BASE" \
  --steps "$STEPS" 2>&1 | grep -v "it/s\]" | tail -5
echo "wall time of the check run: $(( $(date +%s) - start )) s"

# the numbers: tokens/s after the first logged steps, peak memory, the full run's estimate
$PY - "$OUT" "$STEPS" "$PAPER_GPUS" "$CONFIG" <<'EOF'
import json, sys
from pathlib import Path
from spacy_cbio.pretrain.config import load_profile
out, steps, paper_gpus = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
info = json.loads((out / "bio" / "run_info.json").read_text())
logs = [json.loads(l) for l in (out / "bio" / "metrics.jsonl").read_text().splitlines()]
speeds = [r["tokens_per_s"] for r in logs if "tokens_per_s" in r and r["step"] > 2]  # skip warm-up
tps = sorted(speeds)[len(speeds) // 2] if speeds else info["tokens_per_s"]
t = load_profile(sys.argv[4])["training"]
total = t["max_steps"] * t["batch_size"] * t["grad_accum"] * paper_gpus * t["seq_len"]
print(f"GPU: {', '.join(info['hardware']['gpus']) or 'none (CPU)'}; precision {info['mixed_precision']}; "
      f"{info['steps']} steps x {info['effective_batch']} sequences x {t['seq_len']} tokens")
print(f"tokens/s (median of the logs after step 2): {tps:,.0f}")
peak = info.get("peak_gpu_memory_gib")
print(f"peak GPU memory (torch allocated): {peak:.1f} GiB" if peak is not None else "peak GPU memory: n/a (no GPU)")
print(f"full paper run: {t['max_steps']:,} steps x {t['batch_size'] * t['grad_accum'] * paper_gpus} sequences x "
      f"{t['seq_len']} = {total / 1e9:.2f}B tokens -> {total / tps / 3600:.1f} h on this one GPU "
      f"(grad_accum {t['grad_accum'] * paper_gpus} for the same effective batch), "
      f"~{total / tps / 3600 / paper_gpus:.1f} h on {paper_gpus} such GPUs if scaling were perfect")
EOF
