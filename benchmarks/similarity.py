"""How well the similarity check separates copies from independent work, and what it costs for a large class.

    python -m benchmarks.similarity [--class-size 200 --class-size 2000 --class-size 10000] [--exhaustive-up-to 2000]

1. The class of `mnistkit.simulated.independent_students` (six independent authors, two
   disguised copies): every pair's similarity, with and without leaving out the code much of the
   class shares. With pycode_similar installed (``pip install pycode_similar==1.4``), the same
   pairs by that tool too, for comparison.
2. Both catalogues of simulated students (each student is the reference solution with one
   thing changed, so they are copies of one reference): how many pairs are flagged.
3. Classes of ``--class-size`` submissions: the time of the whole check, from reading the notebooks
   to the marked-up pairs, with the fingerprint index and (up to ``--exhaustive-up-to``) comparing
   every pair. Up to 1,296 students (every choice at most once), each function is one author's
   version, picked at random from the six; a larger class has, besides, a line of each student's
   own between every two statements (so that two students share what two authors' versions
   share, as independent students do), and one student in a hundred copies a classmate's notebook.
"""

import argparse
import itertools
import tempfile
import random
import resource
import time
import warnings
from pathlib import Path

from mnistkit.course import new_course
from mnistkit.similarity import THRESHOLD, class_code, similar_pairs
from mnistkit.simulated import mnist_mlp_students, mnist_numpy_students
from mnistkit.simulated.independent_students import (
    COPIED_PAIRS, INDEPENDENT, SIMILARITY_CLASS, Student, mixed_authors_class,
)
from mnistkit.simulated.students import PART1, PART2, submit


def _separation(course):
    honest = {student.student_id for student in INDEPENDENT}
    for common_share, label in ((0.3, "class-common code left out (the default)"), (1.0, "nothing left out")):
        pairs, _ = similar_pairs(course, PART1, threshold=0.0, common_share=common_share)
        copies = sorted(p.similarity for p in pairs if frozenset((p.student_a, p.student_b)) in COPIED_PAIRS)
        independent = sorted(p.similarity for p in pairs if {p.student_a, p.student_b} <= honest)
        print(f"copydetect, {label}: copies {', '.join(f'{s:.2f}' for s in copies)}; "
              f"{len(independent)} independent pairs: highest {independent[-1]:.2f}, median "
              f"{independent[len(independent) // 2]:.2f}")
    try:
        import pycode_similar
    except ImportError:
        print("(pycode_similar is not installed: pip install pycode_similar==1.4 to compare with it)")
        return
    codes, _, _ = class_code(course, PART1)
    scores = {}
    for a, b in itertools.combinations(sorted(codes), 2):
        ((_, functions),) = pycode_similar.detect([codes[a], codes[b]], diff_method=pycode_similar.UnifiedDiff,
                                                  keep_prints=True, module_level=False)
        scores[frozenset((a, b))] = pycode_similar.summarize(functions)[0]
    copies = sorted(score for pair, score in scores.items() if pair in COPIED_PAIRS)
    independent = sorted(score for pair, score in scores.items() if pair <= honest)
    print(f"pycode_similar: copies {', '.join(f'{s:.2f}' for s in copies)}; independent pairs: highest "
          f"{independent[-1]:.2f}, median {independent[len(independent) // 2]:.2f}")


def _catalogues(course):
    for assignment, module in ((PART1, mnist_numpy_students), (PART2, mnist_mlp_students)):
        students = [entry[0] if isinstance(entry, tuple) else entry
                    for entry in module.VALID + module.MISTAKES + module.TAMPERING + module.CRASHES]
        for student in students:
            if student.raw is None and student.filename is None:
                submit(course, student)
        pairs, notes = similar_pairs(course, assignment)
        compared = len(class_code(course, assignment)[0])
        print(f"catalogue of {assignment}: {compared} submissions, {compared * (compared - 1) // 2} pairs, "
              f"{len(pairs)} flagged (all are the reference solution with one change: copies of one another)")


def _with_own_lines(code, generator):
    """``code`` with a statement of the student's own between every two statements (an assignment of a random
    number to an unused name): code in which no two students share more than the authors' lines."""
    import ast

    tree = ast.parse(code)

    def own():
        return ast.parse(f"_{generator.randrange(10**6)} = {generator.randrange(10**9)} * {generator.randrange(10**9)}").body[0]

    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and not isinstance(node, ast.Module):
                setattr(node, name, [statement for original in block for statement in (own(), original)])
    return ast.unparse(tree)


def _submit_class(course, size, seed=0):
    """``size`` students: each function by one of the six authors, each student with lines of their own; one in
    a hundred copies a classmate's whole notebook."""
    authors = [student.answers for student in INDEPENDENT]
    generator = random.Random(seed)
    made = []
    for number in range(size):
        if made and number % 100 == 99:
            answers = generator.choice(made)  # a copy
        else:
            answers = {cell: _with_own_lines(generator.choice(authors)[cell], generator) for cell in authors[0]}
        made.append(answers)
        submit(course, Student(f"student{number:05d}", "mixed authors, lines of their own", answers=answers))


def _large_class(folder, size, exhaustive_up_to):
    """The whole check's time on ``size`` submissions; comparing every pair too, up to ``exhaustive_up_to``."""
    course = new_course(folder)
    if size <= 1296:  # every choice of authors at most once: the class of 200 the README's first figures are for
        for student in mixed_authors_class(size):
            submit(course, student)
        kind = "mixed authors"
    else:
        _submit_class(course, size)
        kind = "mixed authors with lines of their own, 1% copies"
    pair_count = size * (size - 1) // 2
    for exhaustive in ([True] if size <= exhaustive_up_to else []) + [False]:
        started = time.perf_counter()
        pairs, _ = similar_pairs(course, PART1, exhaustive=exhaustive)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB, the whole process's peak
        how = "every pair compared" if exhaustive else "candidates from the fingerprint index"
        print(f"{size} submissions ({kind}; {pair_count} pairs), {how}: {seconds:.1f} s for the whole check, "
              f"the process's peak memory {peak:.0f} MiB so far; {len(pairs)} pairs at or above {THRESHOLD}",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-size", type=int, action="append", help="repeat for several (default: 200)")
    parser.add_argument("--exhaustive-up-to", type=int, default=2000,
                        help="also compare every pair for classes up to this size (default: 2000)")
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        course = new_course(Path(folder) / "independent")
        for student in SIMILARITY_CLASS:
            submit(course, student)
        _separation(course)
        _catalogues(new_course(Path(folder) / "catalogues"))
        for size in arguments.class_size or [200]:
            _large_class(Path(folder) / f"large-{size}", size, arguments.exhaustive_up_to)


if __name__ == "__main__":
    main()
