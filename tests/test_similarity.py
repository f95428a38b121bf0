"""The similarity check across a class: copies are found however they are disguised, independent work is not."""

import pytest

from mnistkit.similarity import THRESHOLD, similar_pairs
from mnistkit.simulated.independent_students import COPIED_PAIRS, INDEPENDENT, SIMILARITY_CLASS, Student
from mnistkit.simulated.students import PART1, submit
from courses import new_course


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("similarity"))
    for student in SIMILARITY_CLASS:
        submit(course, student)
    return course


def test_planted_copies_are_flagged_with_their_source_and_nobody_else(course):
    pairs, notes = similar_pairs(course, PART1)
    assert {frozenset((pair.student_a, pair.student_b)) for pair in pairs} == COPIED_PAIRS
    assert all(min(pair.similarity_a, pair.similarity_b) >= 0.9 for pair in pairs), pairs
    assert notes == []


def test_independent_solutions_stay_far_below_the_threshold_even_without_leaving_out_common_code(course):
    # common_share=1: nothing is left out for being common, so the short obvious solutions count.
    pairs, _ = similar_pairs(course, PART1, threshold=0.0, common_share=1.0)
    honest = {student.student_id for student in INDEPENDENT}
    scores = {(p.student_a, p.student_b): p.similarity for p in pairs if {p.student_a, p.student_b} <= honest}
    assert len(scores) == len(honest) * (len(honest) - 1) // 2
    assert max(scores.values()) < THRESHOLD / 1.5, sorted(scores.items(), key=lambda item: -item[1])[:3]


def test_the_shared_code_is_marked_in_both_submissions(course):
    pairs, _ = similar_pairs(course, PART1)
    for pair in pairs:
        assert pair.marked_a.count("<mark>") > 0 and pair.marked_b.count("<mark>") > 0
        assert "<mark>" not in pair.marked_a.replace("<mark>", "").replace("</mark>", "")
    # The code is escaped for the web page: a comparison in the code is not taken for a tag.
    assert any("&lt;" in pair.marked_a or "&gt;" in pair.marked_a for pair in pairs)


def test_a_submission_without_code_of_its_own_or_unreadable_is_noted_not_compared(tmp_path):
    course = new_course(tmp_path / "course")
    for student in [*INDEPENDENT[:3], Student("blank", "hands in the release", untouched=True),
                    Student("garbled", "not a notebook", raw=b"\x00\x01")]:
        submit(course, student)
    pairs, notes = similar_pairs(course, PART1)
    assert pairs == []
    assert "garbled: mnist_numpy.ipynb could not be read (JSONDecodeError); not compared." in notes
    assert "No code of their own beyond the template (not compared): blank." in notes


def _flagged(course, assignment, exhaustive):
    pairs, notes = similar_pairs(course, assignment, exhaustive=exhaustive)
    return [(p.student_a, p.student_b, p.similarity_a, p.similarity_b, p.marked_a, p.marked_b) for p in pairs], notes


def _catalogue_course(folder, module):
    course = new_course(folder)
    for entry in module.VALID + module.MISTAKES + module.TAMPERING + module.CRASHES:
        student = entry[0] if isinstance(entry, tuple) else entry
        if student.raw is None and student.filename is None:
            submit(course, student)
    return course


@pytest.mark.parametrize("kind", ["independent and copies", "200 of mixed authors", "catalogue of part 1",
                                  "catalogue of part 2"])
def test_the_fingerprint_index_flags_exactly_what_comparing_every_pair_flags(course, tmp_path, kind):
    from mnistkit.simulated import mnist_mlp_students, mnist_numpy_students
    from mnistkit.simulated.independent_students import mixed_authors_class
    from mnistkit.simulated.students import PART2

    assignment = PART1
    if kind == "200 of mixed authors":
        course = new_course(tmp_path / "mixed")
        for student in mixed_authors_class(200):
            submit(course, student)
    elif kind.startswith("catalogue"):
        module, assignment = (mnist_numpy_students, PART1) if kind.endswith("1") else (mnist_mlp_students, PART2)
        course = _catalogue_course(tmp_path / "catalogue", module)
    indexed, every = _flagged(course, assignment, exhaustive=False), _flagged(course, assignment, exhaustive=True)
    assert indexed == every
    assert indexed[0]  # something is flagged: the comparison is not vacuous


def test_a_fingerprint_made_again_without_more_code_is_copydetects_own(course):
    from mnistkit.similarity import _fingerprint, _without, class_code

    codes, template, _ = class_code(course, PART1)
    template_hashes = list(_fingerprint("template", template, None).hashes)
    first = {student: _fingerprint(student, code, template_hashes) for student, code in codes.items()}
    left_out = template_hashes + sorted({h for fingerprint in first.values() for h in fingerprint.hashes})[::7]
    for student, code in codes.items():
        again, fresh = _without(first[student], left_out), _fingerprint(student, code, left_out)
        assert again.hashes == fresh.hashes and again.token_coverage == fresh.token_coverage
        assert {h: list(i) for h, i in again.hash_idx.items()} == {h: list(i) for h, i in fresh.hash_idx.items()}
