"""``python -m spacy project run ...`` with each ``python -m <module>`` command of the workflow
run in a forked child of this process instead of a fresh interpreter.

Every command of the tiny workflow starts by importing spaCy, torch and transformers and by
building spaCy's French language data (compiling its tokenizer-exception regex alone takes
seconds). Here that is done once: the children are forks of a process that already holds them,
and each child runs its command as ``python -m`` would (``runpy``, ``sys.argv``, the working
folder first on ``sys.path``) and exits with the command's status. Run it from the project's
folder: the project's copy of the code is what the parent and the children import. Anything else (pip, a shell command, captured output) runs as weasel runs it.

    python tests/warm_run.py project run all PROJECT --vars.profile=tiny ...
"""
from __future__ import annotations

import os
import runpy
import subprocess
import sys
import traceback
from typing import Any, List, Optional, Union


def _warm_up() -> None:
    """Import what every command imports, and build the French language data once."""
    import spacy
    import torch  # noqa: F401
    import transformers  # noqa: F401

    # This also loads the entry points of spaCy's registries, i.e. the project's code: from the
    # working folder, first on sys.path (main), as a fresh `python -m` there would.
    spacy.blank("fr")


def _exit_code(err: SystemExit) -> int:
    if err.code is None:
        return 0
    if isinstance(err.code, int):
        return err.code
    print(err.code, file=sys.stderr)  # sys.exit("message"), as the interpreter prints it
    return 1


def _run_module_in_child(module: str, args: List[str]) -> int:
    """Fork; the child runs ``python -m module args`` in this process's warm state."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)
    code = 0
    try:
        sys.argv = [module, *args]
        sys.path[0] = os.getcwd()  # as `python -m`: the working folder first
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as err:
        code = _exit_code(err)
    except BaseException:  # noqa: BLE001 - reported as the interpreter would, then status 1
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main(argv: List[str]) -> None:
    import weasel.cli.run as weasel_run

    weasel_run_command = weasel_run.run_command

    def run_command(command: Union[str, List[str]], *, stdin: Optional[Any] = None,
                    capture: bool = False) -> subprocess.CompletedProcess:
        if (isinstance(command, str) or capture or stdin is not None or len(command) < 3
                or command[0] != sys.executable or command[1] != "-m" or command[2] == "pip"):
            return weasel_run_command(command, stdin=stdin, capture=capture)
        returncode = _run_module_in_child(command[2], command[3:])
        if returncode != 0:
            sys.exit(returncode)  # what weasel does when a command fails
        return subprocess.CompletedProcess(command, returncode)

    sys.path[0] = os.getcwd()  # the project's copy of the code, as `python -m` in the project finds it
    _warm_up()
    weasel_run.run_command = run_command
    from spacy.cli import setup_cli

    sys.argv = ["spacy", *argv]
    setup_cli()


if __name__ == "__main__":
    main(sys.argv[1:])
