"""A killed run resumed with ``resume=True`` ends exactly like an uninterrupted one."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

SCRIPT = Path(__file__).with_name("_resume_script.py")
REPO = Path(__file__).resolve().parents[2]
STEPS = 12


def _run(args, **kw):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(SCRIPT), *map(str, args)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def _losses(run_dir: Path):
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [(r["step"], r["loss"]) for r in records if "loss" in r], [r["step"] for r in records]


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

    resumed = _run([killed, tiny_hf_model_dir, STEPS, "--resume"])
    assert resumed.wait() == 0, resumed.stderr.read().decode()[-2000:]

    info_a = json.loads((straight / "run_info.json").read_text())
    info_b = json.loads((killed / "run_info.json").read_text())
    assert info_a["steps"] == info_b["steps"] == STEPS
    assert info_a["tokens_seen"] == info_b["tokens_seen"]
    losses_a, steps_a = _losses(straight)
    losses_b, steps_b = _losses(killed)
    assert steps_a == steps_b  # no duplicated log records after the resume
    assert [s for s, _ in losses_a] == [s for s, _ in losses_b]
    for (_, a), (_, b) in zip(losses_a, losses_b):
        assert abs(a - b) < 1e-3
    wa, wb = load_file(straight / "model.safetensors"), load_file(killed / "model.safetensors")
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.allclose(wa[name], wb[name], atol=1e-5), name
