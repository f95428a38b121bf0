"""The main job: grade the bundled demo class end to end with nbgrader."""

import shutil

from mnistkit.course import assignments, generate_release
from mnistkit.grading import grade_class
from mnistkit.gradebook import read_grades
from mnistkit.report import write_report
from mnistkit.simulated.students import DEMO_CLASS, submit


def grade_demo_class(course_dir, workers=None, say=print):
    """Release every assignment, hand in the demo class's work on each, and grade it all with `grade_class`.

    Everything is written where nbgrader puts it in ``course_dir`` (``submitted/``,
    ``autograded/``, ``feedback/``, ``gradebook.db``, ``grades.csv``) plus the class report in
    ``reports/``. Returns the `ClassResult`.
    """
    for assignment in assignments(course_dir):
        say(f"Generating the student version of {assignment} (nbgrader generate_assignment) ...")
        generate_release(course_dir, assignment)
    for student in {student.student_id for student in DEMO_CLASS}:  # afresh; other students are left alone
        for folder in ("submitted", "autograded", "feedback"):
            shutil.rmtree(course_dir / folder / student, ignore_errors=True)
    for student in DEMO_CLASS:
        submit(course_dir, student)
        say(f"  {student.student_id} handed in {student.assignment}: {student.description}")
    result = grade_class(course_dir, workers=workers, say=say)
    for assignment in result.outcomes:
        say(f"\n{assignment}\n" + read_grades(course_dir, assignment).format())
    say("\n" + write_report(course_dir, result.outcomes))
    say(f"Grades: {result.grades_csv}; feedback: {course_dir / 'feedback'}/<student>/")
    return result
