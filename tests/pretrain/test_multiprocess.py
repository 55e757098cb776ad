"""Multi-process pretraining on CPU (2 processes, gloo) with gradient accumulation.

``torchrun --standalone --nproc_per_node 2 -m spacy_cbio pretrain-run ...`` and
``accelerate launch --multi_gpu --num_processes 2 -m spacy_cbio pretrain-run ...``
(``--multi_gpu`` is accelerate's name for its torchrun launcher; on a
machine without CUDA the processes form a CPU gloo group. Note that
``accelerate launch --cpu --num_processes 2`` starts ONE process unless
mpirun is set up.) The probes (sample numbers per rank, files opened for
writing, a kill after a checkpoint) come from ``_ddp_entry.py``, which runs
the same CLI. The killed torchrun run is resumed under ``accelerate launch``.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BIN = Path(sys.executable).parent
STEPS, PER_DEVICE, ACCUM, WORLD, SEQ = 8, 8, 2, 2, 64
EFFECTIVE = PER_DEVICE * ACCUM * WORLD


def _config(tmp: Path) -> Path:
    """tiny.cfg with gradient accumulation 2 and a checkpoint every 4 steps (8 steps)."""
    text = (REPO / "configs" / "pretrain" / "tiny.cfg").read_text()
    for old, new in (("grad_accum = 1", f"grad_accum = {ACCUM}"), ("max_steps = 16", f"max_steps = {STEPS}"),
                     ("save_steps = 8", "save_steps = 4"), ("eval_steps = 8", "eval_steps = 4"),
                     ("logging_steps = 4", "logging_steps = 2"), ("num_threads = 0", "num_threads = 1"),
                     ("batch_size = 8", f"batch_size = {PER_DEVICE}"), ("seq_len = 64", f"seq_len = {SEQ}")):
        assert old in text, old
        text = text.replace(old, new)
    path = tmp / "tiny_ddp.cfg"
    path.write_text(text)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(launcher: str, args, env_extra=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": str(REPO), **(env_extra or {})}
    if launcher == "torchrun":
        cmd = [str(BIN / "torchrun"), "--nnodes", "1", "--nproc_per_node", str(WORLD), "--rdzv-backend", "c10d",
               "--rdzv-endpoint", f"127.0.0.1:{_free_port()}"]
    else:
        cmd = [str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", str(WORLD), "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port())]
    return subprocess.run([*cmd, *[str(a) for a in args]], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def runs(corpora, tiny_hf_model_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    cfg = _config(tmp)
    common = ["pretrain-run", "bio", cfg, corpora["bio"]]
    out = {"tmp": tmp}
    # an uninterrupted run, traced
    full = _launch("torchrun", [HERE / "_ddp_entry.py", *common, tmp / "full", "--init", tiny_hf_model_dir],
                   {"SPACY_CBIO_TEST_TRACE": str(tmp / "trace_full")})
    assert full.returncode == 0, full.stderr[-3000:]
    # a run killed right after its step-4 checkpoint, then resumed with the real CLI
    killed = _launch("torchrun", [HERE / "_ddp_entry.py", *common, tmp / "resumed", "--init", tiny_hf_model_dir],
                     {"SPACY_CBIO_TEST_STOP_AT": "4", "SPACY_CBIO_TEST_TRACE": str(tmp / "trace_killed")})
    out["killed_rc"] = killed.returncode
    out["after_kill"] = sorted(p.name for p in (tmp / "resumed").iterdir())
    out["after_kill_ckpts"] = sorted(p.name for p in (tmp / "resumed" / "checkpoints").glob("checkpoint-*"))
    out["after_kill_ckpt4"] = sorted(p.name for p in (tmp / "resumed" / "checkpoints" / "checkpoint-4").iterdir())
    # resumed with the real CLI under the other launcher: accelerate's must go on exactly where
    # torchrun's left off, so one resume checks both (a launch costs ~20 s of imports on 2 cores)
    resumed = _launch("accelerate", ["-m", "spacy_cbio", *common, tmp / "resumed", "--init", tiny_hf_model_dir,
                                     "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return out


def _trace(tmp: Path, name: str):
    return [json.loads((tmp / name / f"rank{r}.json").read_text()) for r in range(WORLD)]


def _info(run_dir: Path):
    return json.loads((run_dir / "run_info.json").read_text())


def test_ranks_see_different_data(runs):
    rank0, rank1 = _trace(runs["tmp"], "trace_full")
    assert rank0["world_size"] == rank1["world_size"] == WORLD
    a, b = rank0["train_idx"], rank1["train_idx"]
    assert len(a) == len(b) == STEPS * ACCUM * PER_DEVICE  # each rank: its micro-batches
    assert not set(a) & set(b)  # no sample seen by both ranks
    assert sorted(a + b) == list(range(STEPS * EFFECTIVE))  # together: every sample once


def test_only_rank_zero_writes(runs):
    tmp = runs["tmp"]
    run_dir = str(tmp / "full")
    rank0, rank1 = _trace(tmp, "trace_full")
    others = [p for p in rank1["writes"] if p.startswith(run_dir)]
    # rank 1 writes only its own RNG state into each checkpoint (needed to resume it), nothing else
    assert others and all(Path(p).name == "rng_state_1.pth" for p in others), others
    mine = {Path(p).relative_to(run_dir).as_posix() for p in rank0["writes"] if p.startswith(run_dir)}
    assert {"metrics.jsonl", "README.md", "run_info.json", "checkpoints/settings.json", "model.safetensors"} <= mine
    assert "checkpoints/checkpoint-4/optimizer.pt" in mine and "checkpoints/checkpoint-4/rng_state_0.pth" in mine
    # one record per event, not one per process
    records = [json.loads(x) for x in (tmp / "full" / "metrics.jsonl").read_text().splitlines()]
    keys = [(r["step"], "loss" in r, "eval_loss" in r, "train_loss" in r, bool(r.get("final"))) for r in records]
    assert len(keys) == len(set(keys))


def test_effective_batch_is_per_device_x_accumulation_x_world_size(runs):
    run_dir = runs["tmp"] / "full"
    info = _info(run_dir)
    assert (info["world_size"], info["per_device_batch"], info["grad_accum"]) == (WORLD, PER_DEVICE, ACCUM)
    assert info["effective_batch"] == EFFECTIVE and info["steps"] == STEPS
    assert info["tokens_seen"] == STEPS * EFFECTIVE * SEQ  # counted over both processes (full packed blocks)
    train_logs = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    train_logs = [r for r in train_logs if "loss" in r]
    assert train_logs and all(r["effective_batch"] == EFFECTIVE for r in train_logs)
    assert info["hardware"]["world_size"] == WORLD
    card = (run_dir / "README.md").read_text()
    assert f"{PER_DEVICE} per device x {ACCUM} accumulation x {WORLD} processes = {EFFECTIVE}" in card


def test_killed_two_process_run_resumes(runs):
    tmp = runs["tmp"]
    assert runs["killed_rc"] != 0
    assert "run_info.json" not in runs["after_kill"]  # not complete
    assert runs["after_kill_ckpts"] == ["checkpoint-4"]
    assert {"rng_state_0.pth", "rng_state_1.pth", "optimizer.pt"} <= set(runs["after_kill_ckpt4"])
    info = _info(tmp / "resumed")
    assert info["resumed_from_step"] == 4 and info["steps"] == STEPS and info["world_size"] == WORLD
    full, resumed = load_file(tmp / "full" / "model.safetensors"), load_file(tmp / "resumed" / "model.safetensors")
    for name in full:
        assert torch.allclose(full[name], resumed[name], atol=1e-6), name
    assert info["eval_loss_final"] == pytest.approx(_info(tmp / "full")["eval_loss_final"], abs=1e-5)
    steps = [json.loads(x)["step"] for x in (tmp / "resumed" / "metrics.jsonl").read_text().splitlines()
             if "loss" in json.loads(x)]
    assert steps == sorted(set(steps))  # the killed run's records are not repeated


def test_accelerate_launch_resumes_a_torchrun_run_with_the_same_setup(runs):
    """The resumed run above went on under ``accelerate launch``: the same world, effective batch
    and final weights as the uninterrupted torchrun run (test_killed_two_process_run_resumes)."""
    info = _info(runs["tmp"] / "resumed")
    assert info["world_size"] == WORLD and info["effective_batch"] == EFFECTIVE
    assert info["hardware"]["world_size"] == WORLD
