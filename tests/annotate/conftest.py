"""Fixtures of the annotate tests: the loaded tiny pipeline (the pipeline folder, `pipeline_dir`, is
built once per session in tests/conftest.py) and a subprocess runner that kills forked workers."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import List, Optional

import pytest
import spacy

TOY_TEXT = "Le patient a une fièvre depuis hier . Il prend du paracétamol ."


@pytest.fixture(scope="session")
def nlp(pipeline_dir):
    """The loaded pipeline (shared: tests must not change it)."""
    return spacy.load(pipeline_dir)


def _run_killable(cmd: List[str], timeout: float, env: Optional[dict] = None, cwd: Optional[Path] = None):
    """``subprocess.run`` whose timeout also kills forked grandchildren (a hung pipe worker)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env, cwd=cwd)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"timed out after {timeout} s (hang): {' '.join(map(str, cmd))}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.fixture
def run_killable():
    """``run_killable(cmd, timeout, env=None, cwd=None)``: a hang fails the test and leaves no process."""
    return _run_killable


@pytest.fixture
def subprocess_env() -> dict:
    """The environment for subprocesses: offline, no inherited thread limits or tokenizers setting."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "TOKENIZERS_PARALLELISM")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env
