"""The class command as an instructor runs it, for the tests (imported by them; pytest puts this folder on sys.path)."""

import subprocess
import sys


def run_kit(course, *arguments, command="grade"):
    """``python -m mnistkit grade --course COURSE --no-progress ARGUMENTS``; its completed process, output captured.

    With ``command="report"``: ``python -m mnistkit report --course COURSE ARGUMENTS``.
    """
    options = ["--no-progress"] if command == "grade" else []
    return subprocess.run([sys.executable, "-m", "mnistkit", command, "--course", str(course), *options, *arguments],
                          capture_output=True, text=True)
