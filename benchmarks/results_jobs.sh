#!/usr/bin/env bash
# Throughput of `results-run --jobs 2` against one run at a time, side by side on one machine.
# Run from a project folder where `make all` (or `spacy project run all`) has finished:
#   bash benchmarks/results_jobs.sh [OUTPUT_DIR]
# Prints the wall time of: one stacked run with all threads, two stacked runs at once with
# 1 thread each, then the same for the CNN baseline. Records land in OUTPUT_DIR/{seq,par}.
set -euo pipefail
G=configs/results/small.cfg
O=${1:-training/results/jobs-benchmark}
run() { python -m spacy_cbio results-run "$G" "$@" > /dev/null; }
t0=$(date +%s)
run "$O/seq" --model bio --datasets e3c --seeds 7 --threads 0
t1=$(date +%s); echo "stacked, one run, all threads: $((t1 - t0)) s"
run "$O/par" --model bio --datasets e3c --seeds 7 --threads 1 &
run "$O/par" --model general --datasets e3c --seeds 7 --threads 1 &
wait
t2=$(date +%s); echo "stacked, two runs at once, 1 thread each: $((t2 - t1)) s"
run "$O/seq" --model cnn_md --datasets e3c --seeds 7 --threads 0
t3=$(date +%s); echo "CNN, one run: $((t3 - t2)) s"
run "$O/par" --model cnn_md --datasets e3c --seeds 7 --threads 1 &
run "$O/par" --model cnn --datasets e3c --seeds 7 --threads 1 &
wait
t4=$(date +%s); echo "CNN, two runs at once, 1 thread each: $((t4 - t3)) s"
