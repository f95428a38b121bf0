"""What plain nbgrader does with the catalogue's telling cases, next to what the kit does.

Two fresh course directories get the same submissions. "plain" runs nbgrader with its own
default preprocessors (the course's plugins switched off); "kit" runs the course's
configuration through `python -m mnistkit grade`. Both allow 10 s per cell. Printed: each
student's expected total, both totals, and how many feedback pages show hidden test code.

Run from the course directory:  python -m benchmarks.plain_vs_kit_grades
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from mnistkit.simulated.mnist_numpy_students import ASSIGNMENT, BROKEN_FILES, CRASHES, TAMPERING, TWINS, VALID
from mnistkit.course import new_course
from mnistkit.gradebook import read_grades
from mnistkit.grading import grade_class
from mnistkit.simulated.shown import page_text, secret_lines
from mnistkit.simulated.students import notebook_path, submit

CASES = ["valid-loss-warns", "valid-deleted-test-cells", "valid-shuffled-cell-order", "tamper-patches-numpy",
         "tamper-patches-during-tests", "tamper-deletes-tests", "tamper-reorders-cells", "tamper-always-equal",
         "crash-endless-plot-cell", "crash-exit-in-learn", "crash-segfault", "crash-memory-hog",
         "file-not-json", "file-wrong-name", "twin-a", "twin-b"]

NBGRADER_DEFAULTS = """
c.Execute.timeout = 10
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput", "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec", "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata"]
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute", "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata"]
c.GenerateFeedback.preprocessors = ["nbgrader.preprocessors.GetGrades",
                                    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
"""


def catalogue():
    entries = [(s, None) for s in VALID] + TAMPERING + CRASHES + [(s, e) for s, e, _ in BROKEN_FILES]
    entries += [(s, None) for s in TWINS]
    return {student.student_id: (student, expected) for student, expected in entries}


def leaking_pages(course):
    hidden = secret_lines(course, ASSIGNMENT, regions=("HIDDEN TESTS",))
    pages = list((course / "feedback").glob(f"*/{ASSIGNMENT}/*.html"))
    return sum(any(line in page_text(page) for line in hidden) for page in pages), len(pages)


def main():
    chosen = catalogue()
    with tempfile.TemporaryDirectory() as scratch:
        plain = new_course(Path(scratch) / "plain", extra_config=NBGRADER_DEFAULTS)
        kit = new_course(Path(scratch) / "kit", extra_config="c.Execute.timeout = 10")
        for case in CASES:
            for course in (plain, kit):
                submit(course, chosen[case][0])
        for command in (["autograde", ASSIGNMENT], ["generate_feedback", ASSIGNMENT]):
            subprocess.run([sys.executable, "-m", "nbgrader", *command], cwd=plain,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        grade_class(kit, progress=False, say=lambda *_: None)

        plain_scores, kit_scores = read_grades(plain, ASSIGNMENT).scores, read_grades(kit, ASSIGNMENT).scores
        print(f"{'student':<30}{'deserves':>9}{'plain':>7}{'kit':>7}")
        for case in CASES:
            expected = chosen[case][1]
            deserves = sum(expected.values()) if expected else 20
            graded = [f"{sum(scores[case].values()):g}" if case in scores else "absent"
                      for scores in (plain_scores, kit_scores)]
            print(f"{case:<30}{deserves:>9g}{graded[0]:>7}{graded[1]:>7}")
        for name, course in (("plain", plain), ("kit", kit)):
            leaking, pages = leaking_pages(course)
            print(f"{name}: {leaking} of {pages} feedback pages show hidden test code")
        for name, course in (("plain", plain), ("kit", kit)):
            graded = nbformat.read(notebook_path(course, "autograded", ASSIGNMENT, student_id="crash-memory-hog"), as_version=4)
            cell = next(cell for cell in graded.cells if cell.id == "one_hot_encode")
            stopped = any(output.get("ename") == "MemoryError" for output in cell.outputs)
            print(f"{name}: crash-memory-hog's 6 GiB allocation was {'stopped' if stopped else 'allowed'}")


if __name__ == "__main__":
    main()
