"""The main job: grade the bundled demo class end to end with nbgrader."""

import shutil

from mnistkit.course import generate_release
from mnistkit.grading import grade_class
from mnistkit.gradebook import read_grades
from mnistkit.report import write_report
from mnistkit.students import DEMO_CLASS, submit


def grade_demo_class(course_dir, workers=None, say=print):
    """Release, hand in the demo class, and grade every submission with `grade_class`.

    Everything is written where nbgrader puts it in ``course_dir`` (``submitted/``,
    ``autograded/``, ``feedback/``, ``gradebook.db``, ``grades.csv``) plus the class report in
    ``reports/``. Returns the `ClassResult`.
    """
    say("Generating the student version (nbgrader generate_assignment) ...")
    generate_release(course_dir)
    for student in DEMO_CLASS:  # start the demo students afresh; other students are left alone
        for folder in ("submitted", "autograded", "feedback"):
            shutil.rmtree(course_dir / folder / student.student_id, ignore_errors=True)
        submit(course_dir, student)
        say(f"  handed in {student.student_id}: {student.description}")
    result = grade_class(course_dir, workers=workers, say=say)
    say("\n" + read_grades(course_dir).format())
    say("\n" + write_report(course_dir, result.outcomes))
    say(f"Grades: {result.grades_csv}; feedback: {course_dir / 'feedback'}/<student>/")
    return result
