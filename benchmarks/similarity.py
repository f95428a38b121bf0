"""How well the similarity check separates copies from independent work, and what it costs for a large class.

    python -m benchmarks.similarity [--class-size 200]

1. The class of `mnistkit.simulated.independent_students` (six independent authors, two
   disguised copies): every pair's similarity, with and without leaving out the code much of the
   class shares. With pycode_similar installed (``pip install pycode_similar==1.4``), the same
   pairs by that tool too, for comparison.
2. Both catalogues of simulated students (each student is the reference solution with one
   thing changed, so they are copies of one reference): how many pairs are flagged.
3. A class of ``--class-size`` submissions, each made of one author's version of every function
   (picked at random from the six): the time of the whole check, from reading the notebooks to
   the marked-up pairs.
"""

import argparse
import itertools
import tempfile
import time
import warnings
from pathlib import Path

from mnistkit.course import new_course
from mnistkit.similarity import THRESHOLD, class_code, similar_pairs
from mnistkit.simulated import mnist_mlp_students, mnist_numpy_students
from mnistkit.simulated.independent_students import COPIED_PAIRS, INDEPENDENT, SIMILARITY_CLASS, mixed_authors_class
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


def _large_class(course, size):
    for student in mixed_authors_class(size):
        submit(course, student)
    pair_count = size * (size - 1) // 2
    for exhaustive in (True, False):
        started = time.perf_counter()
        pairs, _ = similar_pairs(course, PART1, exhaustive=exhaustive)
        seconds = time.perf_counter() - started
        how = "every pair compared" if exhaustive else "candidates from the fingerprint index"
        print(f"{size} submissions ({pair_count} pairs), {how}: {seconds:.1f} s for the whole check; "
              f"{len(pairs)} pairs at or above {THRESHOLD}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-size", type=int, default=200)
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        course = new_course(Path(folder) / "independent")
        for student in SIMILARITY_CLASS:
            submit(course, student)
        _separation(course)
        _catalogues(new_course(Path(folder) / "catalogues"))
        _large_class(new_course(Path(folder) / "large"), arguments.class_size)


if __name__ == "__main__":
    main()
