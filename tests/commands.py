"""The class command as an instructor runs it, for the tests (imported by them; pytest puts this folder on sys.path)."""

import contextlib
import io
import subprocess
import sys


def run_kit(course, *arguments, command="grade"):
    """``python -m mnistkit grade --course COURSE --no-progress ARGUMENTS``; its completed process, output captured.

    With ``command="report"``: ``python -m mnistkit report --course COURSE ARGUMENTS``.
    """
    options = ["--no-progress"] if command == "grade" else []
    return subprocess.run([sys.executable, "-m", "mnistkit", command, "--course", str(course), *options, *arguments],
                          capture_output=True, text=True)


def kit(course, command, *arguments):
    """``python -m mnistkit COMMAND --course COURSE ARGUMENTS``, run in this process (the command line's own code,
    without a Python start per call): a completed process with its exit code and output."""
    from mnistkit.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([command, "--course", str(course), *map(str, arguments)])
        except SystemExit as exit:  # argparse's refusals
            code = exit.code
    return subprocess.CompletedProcess([command, *arguments], code, out.getvalue(), err.getvalue())
