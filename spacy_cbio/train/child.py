"""Run a ``spacy-cbio`` command in a child process whose output goes to a log file.

On Linux the child is a fork of the calling process, which has already imported spaCy, torch
and transformers: a training starts in a fraction of a second instead of the several seconds a
fresh ``python -m spacy_cbio`` spends on imports. Elsewhere it is that fresh process.

A forked child must not inherit a busy torch thread pool: once a process has run torch's
OpenMP parallel regions with several threads, a fork's first parallel region waits forever
(see :mod:`spacy_cbio.components.forking`). Callers fork from a process that has only imported
torch, or that runs it on one thread; the work that needs torch (training, scoring) happens in
the child.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, List, Optional

FORK = sys.platform.startswith("linux")


def _run_in_child(argv: List[str], log: str, then: Optional[Callable[[], None]]) -> None:
    """A forked child: output to ``log``, then the command, then ``then()`` if it succeeded; its
    exit status is the command's (1 when ``then`` fails)."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    # the streams of the parent may be a caller's (a test runner's): write to the log's descriptors
    sys.stdout = open(1, "w", encoding="utf8", buffering=1, closefd=False)
    sys.stderr = open(2, "w", encoding="utf8", buffering=1, closefd=False)
    sys.argv = ["spacy-cbio", *argv]
    from ..__main__ import main

    code = 1
    try:
        try:
            main()
            code = 0
        except SystemExit as err:  # the command's exit status
            code = err.code if isinstance(err.code, int) else (0 if err.code is None else 1)
        if code == 0 and then is not None:
            code = 1
            then()
            code = 0
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # a fork of a worker thread: leave without multiprocessing's teardown, which would turn any
        # status into 1 here
        os._exit(code)


class Forked:
    """``subprocess.Popen``'s ``wait``/``poll``/``terminate``/``kill`` for a forked child."""

    def __init__(self, process) -> None:
        self.process = process
        self.pid = process.pid

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        self.process.join(timeout)
        if timeout is not None and self.process.exitcode is None:
            raise subprocess.TimeoutExpired(str(self.process.name), timeout)
        return self.process.exitcode

    def poll(self) -> Optional[int]:
        return self.process.exitcode

    def terminate(self) -> None:
        self.process.terminate()

    def kill(self) -> None:
        self.process.kill()


def start_command(command: List[str], log: Path, *, then: Optional[Callable[[], None]] = None, name: str = "spacy-cbio"):
    """Start ``command`` (``[python, -m, spacy_cbio, ...]``), appending its output to ``log``.
    On Linux it runs in a fork of this process, followed by ``then()`` there when it succeeds;
    elsewhere in a subprocess, and ``then`` is the caller's to run (``forked`` is False).
    RETURNS ``(process, forked)``: an object with ``wait()`` (the exit status), ``poll()``,
    ``terminate()`` and ``kill()``, and whether ``then`` ran in the child."""
    if FORK:
        import multiprocessing

        process = multiprocessing.get_context("fork").Process(target=_run_in_child, args=(command[3:], str(log), then),
                                                               name=name)
        process.start()
        return Forked(process), True
    handle = open(log, "a", encoding="utf8")
    try:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    finally:
        handle.close()  # the child holds its own descriptor
    return process, False


__all__ = ["FORK", "Forked", "start_command"]
