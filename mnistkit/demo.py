"""The main job: grade the bundled demo class end to end with nbgrader."""

import shutil

from mnistkit import ASSIGNMENT
from mnistkit.course import generate_release, nbgrader
from mnistkit.gradebook import read_grades
from mnistkit.students import DEMO_CLASS, submit


def grade_demo_class(course_dir, say=print):
    """Release, submit the demo class, autograde, write feedback and export grades.

    Returns the `GradeTable`. Everything is written where nbgrader puts it in
    ``course_dir``: ``submitted/``, ``autograded/``, ``feedback/``, ``gradebook.db``
    and ``grades.csv``.
    """
    say("Generating the student version (nbgrader generate_assignment) ...")
    generate_release(course_dir)
    for folder in ("submitted", "autograded", "feedback"):
        for student in DEMO_CLASS:  # start the demo students afresh; other students are left alone
            shutil.rmtree(course_dir / folder / student.student_id, ignore_errors=True)
    for student in DEMO_CLASS:
        submit(course_dir, student)
        say(f"  submitted {student.student_id}: {student.description}")
    say("Autograding (nbgrader autograde) ...")
    nbgrader(course_dir, "autograde", ASSIGNMENT, "--force")
    say("Writing feedback (nbgrader generate_feedback) ...")
    nbgrader(course_dir, "generate_feedback", ASSIGNMENT, "--force")
    nbgrader(course_dir, "export", "--to", "grades.csv")
    table = read_grades(course_dir)
    say("\n" + table.format([s.student_id for s in DEMO_CLASS]))
    say(f"\nGrades: {course_dir / 'grades.csv'}; feedback: {course_dir / 'feedback'}/<student>/{ASSIGNMENT}/")
    return table
