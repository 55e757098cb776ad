"""``train.child``: a ``spacy-cbio`` command in a forked child (Linux) or a fresh process, its
output appended to a log, its exit status back to the caller."""
import subprocess
import sys
import time

import pytest

from spacy_cbio.train import child

COMMAND = [sys.executable, "-m", "spacy_cbio"]


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "fresh process"])
def test_a_failing_command_gives_its_status_and_output_and_skips_then(tmp_path, monkeypatch, fork):
    monkeypatch.setattr(child, "FORK", fork)
    log, ran = tmp_path / "command.log", tmp_path / "then.txt"
    log.write_text("the command line\n", encoding="utf8")
    process, forked = child.start_command([*COMMAND, "no-such-command"], log, then=lambda: ran.write_text("ran"))
    assert forked is fork
    assert process.wait() == 2 and process.poll() == 2  # click's status for a usage error
    text = log.read_text(encoding="utf8")
    assert text.startswith("the command line\n") and "No such command" in text  # appended, not replaced
    assert not ran.exists()  # `then` follows a success only


def test_then_runs_in_the_forked_child_after_success_and_its_failure_is_the_status(tmp_path):
    log = tmp_path / "command.log"
    log.touch()
    ran = tmp_path / "then.txt"
    process, forked = child.start_command([*COMMAND, "--help"], log, then=lambda: ran.write_text("ran"))
    assert forked and process.wait() == 0 and ran.read_text() == "ran"
    assert "Usage" in log.read_text(encoding="utf8")

    def broken() -> None:
        raise RuntimeError("scoring failed")

    process, _ = child.start_command([*COMMAND, "--help"], log, then=broken)
    assert process.wait() == 1 and "RuntimeError: scoring failed" in log.read_text(encoding="utf8")


def test_a_forked_child_can_be_waited_on_with_a_timeout_and_terminated(tmp_path):
    log = tmp_path / "command.log"
    log.touch()
    process, _ = child.start_command([*COMMAND, "--help"], log, then=lambda: time.sleep(60))
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=0.5)
    assert process.poll() is None
    process.terminate()
    assert process.wait(timeout=30) == -15  # SIGTERM
