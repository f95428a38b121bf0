"""Code that runs inside a student's grading kernel (and so must trust nothing it finds there).

The sandbox mounts this folder, read-only, into every confined kernel; nothing else of
``mnistkit`` is visible to student code.
"""
