"""The main job: grade the bundled demo class end to end with nbgrader."""

import shutil

from mnistkit.course import Course
from mnistkit.grading import grade_class
from mnistkit.gradebook import read_grades
from mnistkit.report import write_report
from mnistkit.simulated.students import DEMO_CLASS, submit


def grade_demo_class(course, workers=None, say=print):
    """Release every assignment, hand in the demo class's work on each, and grade it all with `grade_class`.

    Everything is written where nbgrader puts it in ``course`` (``submitted/``,
    ``autograded/``, ``feedback/``, ``gradebook.db``, ``grades.csv``) plus the class report in
    ``reports/``. Returns the `ClassResult`.
    """
    course = Course.of(course)
    for assignment in course.assignments():
        say(f"Generating the student version of {assignment} (nbgrader generate_assignment) ...")
        course.generate_release(assignment)
    for student in {student.student_id for student in DEMO_CLASS}:  # afresh; other students are left alone
        for step in ("submitted", "autograded", "feedback"):
            shutil.rmtree(course.step_folder(step) / student, ignore_errors=True)
    for student in DEMO_CLASS:
        submit(course, student)
        say(f"  {student.student_id} handed in {student.assignment}: {student.description}")
    result = grade_class(course, workers=workers, say=say)
    for assignment in result.outcomes:
        say(f"\n{assignment}\n" + read_grades(course, assignment).format())
    say("\n" + write_report(course, result.outcomes))
    say(f"Grades: {result.grades_csv}; feedback: {course.step_folder('feedback')}/<student>/")
    return result
