"""One MLM run (mlm.py): a killed run resumed with ``resume=True`` ends exactly like an uninterrupted
one; a checkpoint made with other settings is refused; a finished run resumed is saved unchanged."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from spacy_cbio.pretrain.mlm import ResumeMismatch

SCRIPT = Path(__file__).with_name("_resume_script.py")
REPO = Path(__file__).resolve().parents[2]
STEPS = 12


def _run(args, **kw):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(SCRIPT), *map(str, args)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def _in_process(args):
    """``_resume_script.main(args)`` in this process (torch's thread count restored after)."""
    spec = importlib.util.spec_from_file_location("_resume_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    try:
        return module.main(args)
    finally:
        torch.set_num_threads(threads)


def _records(run_dir: Path):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _losses(run_dir: Path):
    records = _records(run_dir)
    return [(r["step"], r["loss"]) for r in records if "loss" in r], [r["step"] for r in records]


def _snapshot(root: Path):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _same_weights(a: Path, b: Path, atol: float = 0.0) -> None:
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.allclose(wa[name], wb[name], atol=atol, rtol=0), name


def test_resume_after_kill_matches_uninterrupted_run(tiny_hf_model_dir, tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    proc = _run([straight, tiny_hf_model_dir, STEPS])
    # the interrupted run: slowed down so that it is killed between checkpoints
    victim = _run([killed, tiny_hf_model_dir, STEPS, "--slow", "0.4"])
    first_ckpt = killed / "checkpoints" / "checkpoint-4" / "trainer_state.json"
    deadline = time.time() + 120
    while not first_ckpt.exists():
        assert victim.poll() is None, victim.stderr.read().decode()[-2000:]
        assert time.time() < deadline, "no checkpoint written"
        time.sleep(0.05)
    time.sleep(0.5)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert not (killed / "model.safetensors").exists()
    assert proc.wait() == 0, proc.stderr.read().decode()[-2000:]

    # resuming with other settings or from another initial model is refused and changes nothing
    before = _snapshot(killed)
    with pytest.raises(ResumeMismatch, match="lr: 0.002 in the checkpoint, 0.001 now"):
        _in_process([killed, tiny_hf_model_dir, STEPS, "--resume", "--lr", "0.001"])
    with pytest.raises(ResumeMismatch, match="initial weights differ"):
        _in_process([killed, tiny_hf_model_dir, STEPS, "--resume", "--model-seed", "1"])
    assert _snapshot(killed) == before

    resumed = _run([killed, tiny_hf_model_dir, STEPS, "--resume"])
    assert resumed.wait() == 0, resumed.stderr.read().decode()[-2000:]

    info_a = json.loads((straight / "run_info.json").read_text())
    info_b = json.loads((killed / "run_info.json").read_text())
    assert info_a["steps"] == info_b["steps"] == STEPS
    assert info_a["tokens_seen"] == info_b["tokens_seen"]
    assert info_a["resumed_from_step"] is None and info_b["resumed_from_step"] in (4, 8)
    losses_a, steps_a = _losses(straight)
    losses_b, steps_b = _losses(killed)
    assert steps_a == steps_b  # no duplicated log records after the resume
    assert [s for s, _ in losses_a] == [s for s, _ in losses_b]
    for (_, a), (_, b) in zip(losses_a, losses_b):
        assert abs(a - b) < 1e-3
    _same_weights(straight, killed, atol=1e-5)

    # a finished run resumed from its last checkpoint: nothing to train, saved unchanged, same log records
    weights = (straight / "model.safetensors").read_bytes()
    steps = [r["step"] for r in _records(straight)]
    summary = _in_process([straight, tiny_hf_model_dir, STEPS, "--resume"])
    assert summary["resumed_from_step"] == STEPS and summary["steps"] == STEPS
    assert (straight / "model.safetensors").read_bytes() == weights
    assert [r["step"] for r in _records(straight)] == steps
