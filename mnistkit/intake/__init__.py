"""The intake: what a student hands in, taken in as data, in front of nbgrader. Runs in the trusted grader.

- `rules`: which student ids are accepted, and the limits an instructor sets (``c.Intake``);
- `folder`: a submission folder in ``submitted/`` made to hold only what is graded;
- `archives`: a learning-management system's zip of submissions, unpacked safely.

The class command takes every submission in with `take_in` before it grades it. Plain
``nbgrader autograde`` with the course's configuration does the same through
`take_in_before_autograde`, nbgrader's ``pre_convert_hook``.
"""

import logging
import os
import shutil
from pathlib import Path

from mnistkit.intake.folder import TakenIn, submission_stamp, take_in
from mnistkit.intake.rules import Intake, shown, student_id_problem
from mnistkit.nbgrader_plugins import LOG_PREFIX

__all__ = ["Intake", "TakenIn", "shown", "student_id_problem", "submission_stamp", "take_in",
           "take_in_before_autograde"]


def take_in_before_autograde(assignment=None, student=None, notebooks=(), **_):
    """nbgrader's ``Autograde.pre_convert_hook``: `take_in` the folder of the submission about to be graded.

    nbgrader runs it just before it copies the submission's files, and carries on if it raises;
    so whatever goes wrong here, the folder is emptied (fail closed) and nbgrader then finds
    nothing to grade for this student. nbgrader gives the hook no configuration: the limits are
    those of the course's own ``nbgrader_config.py``, found from the folder's place in the course.
    """
    from traitlets.config import Application

    from mnistkit.course import Course

    app = Application.instance() if Application.initialized() else None
    log = app.log if app is not None else logging.getLogger("nbgrader")
    for folder in sorted({Path(path).parent for path in notebooks}):
        try:
            course = Course(folder.parents[2])  # <course>/submitted/<student>/<assignment>
            if course.folder("submitted", folder.name, folder.parent.name) != course.root.joinpath(*folder.parts[-3:]):
                raise ValueError("the submission folder is not where the course's layout puts it")
            result = take_in(folder, course.notebooks(folder.name), Intake(config=course.config))
            for problem in result.problems:
                log.warning("%s %s", LOG_PREFIX, problem)
            if not result.gradable:
                _empty(folder)
        except Exception as error:  # noqa: BLE001 (nbgrader would ignore it and copy what is there)
            log.error("%s the intake failed (%s): nothing of %s is graded", LOG_PREFIX, type(error).__name__,
                      shown(str(folder)))
            _empty(folder)


def _empty(folder):
    """Leave nbgrader nothing to copy from ``folder``: unlink it if it (or its student folder) is a link, else empty it."""
    for path in (folder.parent, folder):
        if os.path.islink(path):
            os.unlink(path)  # the link only, never what it points to
            return
    for entry in os.scandir(folder):
        shutil.rmtree(entry.path) if entry.is_dir(follow_symlinks=False) else os.unlink(entry.path)
