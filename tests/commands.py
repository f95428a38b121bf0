"""The class command as an instructor runs it, for the tests (imported by them; pytest puts this folder on sys.path)."""

import subprocess
import sys


def run_kit(course, *arguments):
    """``python -m mnistkit grade --course COURSE --no-progress ARGUMENTS``; its completed process, output captured."""
    return subprocess.run([sys.executable, "-m", "mnistkit", "grade", "--course", str(course), "--no-progress",
                           *arguments], capture_output=True, text=True)
