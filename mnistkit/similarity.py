"""Which students' code is too similar to be independent work: a similarity check across a class.

A submission's own code is the code of its solution cells (the cells nbgrader lets students
write in), concatenated in the notebook's order. Every pair of submissions of an assignment is
compared with copydetect, which implements MOSS's method:

- the code is tokenized by Pygments; every name becomes ``V``, every function name ``F``, every
  string ``S``, and comments and blank space are dropped, so renaming variables and rewording
  comments change nothing;
- the tokens are cut into overlapping k-grams, hashed, and winnowed (the smallest hash of each
  window is kept), so the fingerprint of a function does not depend on where the function is:
  reordering functions or cells changes nothing either;
- the share of each submission's fingerprinted code that the other one also has is its similarity.

Two kinds of shared code are not evidence and are removed before comparing (as MOSS's
base file and ``-m`` option do): the released template (signatures, docstrings, the stub's
``raise NotImplementedError()``), and any fingerprint that appears in more than
``common_share`` of the class, which is what the short obvious solutions look like.

Not every pair is compared: as MOSS does, an index from each fingerprint to the submissions that
have it gives the candidate pairs, and only those are compared (`candidate_pairs`). No pair is
missed: what the fingerprints two students share can cover of one's code is bounded from above
by blocks of fingerprints held by the same students, and a pair whose bound is below the
threshold for both cannot reach it. The flagged pairs and their shares are exactly those of
comparing every pair (`tests/test_similarity.py`).
"""

import copy
import io
import itertools
import json
from collections import Counter
from dataclasses import dataclass

import nbformat

from mnistkit.course import Course

# copydetect's defaults (k-grams of 25 tokens, a window of 1) flag nothing below about 25 shared
# tokens in a row, about one line of code. Measured on mnistkit.simulated.independent_students
# by `python -m benchmarks.similarity`: independent pairs up to 0.21, the disguised copies 0.97 and 1.00.
NOISE_TOKENS = 25
GUARANTEE_TOKENS = 25
THRESHOLD = 0.5
COMMON_SHARE = 0.3


@dataclass
class SimilarPair:
    """Two submissions of ``assignment`` that share code: each one's shared share, and both codes marked up.

    ``similarity_a`` is the share of ``student_a``'s own code that ``student_b`` also has
    (and the other way round); ``marked_a``/``marked_b`` are the codes as HTML with the shared
    parts in ``<mark>``.
    """

    assignment: str
    student_a: str
    student_b: str
    similarity_a: float
    similarity_b: float
    marked_a: str
    marked_b: str

    @property
    def similarity(self):
        """The larger share: a student who copied a part of someone's work still shows."""
        return max(self.similarity_a, self.similarity_b)


def solution_cell_ids(course, assignment, notebook):
    """Ids of the released notebook's cells students write in (nbgrader ``solution`` cells)."""
    released = nbformat.read(course.notebook("release", assignment, notebook), as_version=4)
    return [cell.id for cell in released.cells if cell.get("metadata", {}).get("nbgrader", {}).get("solution")]


def own_code(path, cell_ids):
    """The code of the cells ``cell_ids`` of the notebook at ``path``, in that order ('' for a missing cell).

    The notebook is read as JSON, without nbformat's validation (for part 1's notebook here 0.14 ms
    against 1.70 ms: it counts in a class of thousands); anything that is not a notebook's list of
    cells raises ``ValueError``.
    """
    with open(path, encoding="utf-8") as file:
        cells = json.load(file).get("cells")
    if not isinstance(cells, list) or not all(isinstance(cell, dict) for cell in cells):
        raise ValueError("not a notebook: no list of cells")
    found = {cell.get("id"): cell for cell in cells}
    codes = []
    for cell_id in cell_ids:
        cell = found.get(cell_id)
        if cell is not None and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            if isinstance(source, list) and all(isinstance(line, str) for line in source):
                source = "".join(source)
            if not isinstance(source, str):
                raise ValueError("not a notebook: a cell whose source is not text")
            codes.append(source)
    return "\n\n".join(codes)


def class_code(course, assignment):
    """``({student: own code}, template code, [(student, why unreadable)])`` of every submission."""
    from mnistkit.records import submitted_students

    course = Course.of(course)
    codes, unreadable, template = {}, [], []
    students = submitted_students(course, assignment)
    for notebook in course.notebooks(assignment):
        cell_ids = solution_cell_ids(course, assignment, notebook)
        template.append(own_code(course.notebook("release", assignment, notebook), cell_ids))
        for student in students:
            try:
                code = own_code(course.notebook("submitted", assignment, notebook, student), cell_ids)
            except FileNotFoundError:
                code = ""  # a notebook not handed in has no code to compare
            except Exception as error:  # noqa: BLE001 (any unreadable file: reported, never fatal)
                unreadable.append((student, f"{notebook}.ipynb could not be read ({type(error).__name__})"))
                continue
            codes[student] = codes.get(student, "") + ("\n\n" if student in codes else "") + code
    readable = {student: code for student, code in codes.items() if student not in dict(unreadable)}
    return readable, "\n\n".join(template), unreadable


def _fingerprint(name, code, boilerplate):
    from copydetect import CodeFingerprint

    return CodeFingerprint(f"{name}.py", NOISE_TOKENS, GUARANTEE_TOKENS - NOISE_TOKENS + 1,
                           boilerplate=boilerplate, language="python", fp=io.StringIO(code))


def _without(fingerprint, boilerplate):
    """``fingerprint`` made again with more ``boilerplate`` left out: what copydetect's `CodeFingerprint` computes
    from the same code, without tokenizing it again (its code's tokens do not change; tokenizing is most of the
    check's time)."""
    from copydetect.utils import get_document_fingerprints, get_token_coverage

    again = copy.copy(fingerprint)
    again.hashes, again.hash_idx = get_document_fingerprints(fingerprint.filtered_code, fingerprint.k,
                                                             GUARANTEE_TOKENS - NOISE_TOKENS + 1, boilerplate)
    again.token_coverage = get_token_coverage(again.hash_idx, fingerprint.k, len(fingerprint.filtered_code))
    return again


def similar_pairs(course, assignment, threshold=THRESHOLD, common_share=COMMON_SHARE, exhaustive=False):
    """Every pair of ``assignment``'s submissions whose similarity is at least ``threshold``, most similar first.

    Returns ``(pairs, notes)``: `SimilarPair` s, and sentences about submissions left out
    (unreadable, or with no code of their own beyond the template). Only the candidate pairs of the
    fingerprint index are compared, unless ``exhaustive`` (every pair: the same result, slower).
    """
    import numpy as np
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap

    codes, template, unreadable = class_code(course, assignment)
    notes = [f"{student}: {why}; not compared." for student, why in unreadable]
    template_hashes = list(_fingerprint("template", template, None).hashes)
    prints = {student: _fingerprint(student, code, template_hashes) for student, code in codes.items()}
    # Fingerprints that much of the class shares are how everyone writes it, not evidence of copying.
    counts = Counter(h for fingerprint in prints.values() for h in set(fingerprint.hashes))
    common = [h for h, count in counts.items() if count > max(2, common_share * len(prints))]
    if common:
        prints = {student: _without(fingerprint, template_hashes + common) for student, fingerprint in prints.items()}
    empty = sorted(student for student, fingerprint in prints.items() if len(fingerprint.hashes) == 0)
    if empty:
        notes.append(f"No code of their own beyond the template (not compared): {', '.join(empty)}.")

    pairs = []
    compared = sorted(student for student in prints if student not in empty)
    to_compare = itertools.combinations(compared, 2) if exhaustive or threshold <= 0 else \
        candidate_pairs({student: prints[student] for student in compared}, threshold)
    for a, b in to_compare:
        _, (share_a, share_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
        if max(share_a, share_b) < threshold:
            continue
        marked = [highlight_overlap(codes[s], np.asarray(slices), "<mark>", "</mark>", escape_html=True)[0]
                  for s, slices in ((a, slices_a), (b, slices_b))]
        pairs.append(SimilarPair(assignment, a, b, float(share_a), float(share_b), *marked))
    pairs.sort(key=lambda pair: (-pair.similarity, pair.student_a, pair.student_b))
    return pairs, notes



def candidate_pairs(prints, threshold):
    """The pairs ``(a, b)`` (``a < b``) of ``prints`` (``{student: CodeFingerprint}``) that may reach ``threshold``.

    Student ``a``'s share of a pair is the part of its code (``token_coverage`` characters) covered
    by the ``k``-character spans of the fingerprints both have. Fingerprints held by exactly the
    same students form a block (a function copied whole is one); two students share whole blocks,
    and the spans of a union of blocks cover at most the sum of what each block's spans cover. So
    summing, over the blocks a pair shares, what each covers of ``a``'s code bounds ``a``'s share
    from above: a pair is a candidate when that bound reaches the threshold for either student.
    """
    import numpy as np
    from collections import defaultdict

    students = sorted(prints)
    holders = defaultdict(list)  # fingerprint -> the students who have it, in order
    for number, student in enumerate(students):
        for value in prints[student].hashes:
            holders[value].append(number)
    blocks = defaultdict(list)  # the students who have them -> those fingerprints
    for value, who in holders.items():
        if len(who) > 1:
            blocks[tuple(who)].append(value)
    shared = defaultdict(list)  # student a -> [(the students of a block a is in, what the block covers of a's code)]
    for who, values in blocks.items():
        holding = np.asarray(who)
        for a in who:
            fingerprint = prints[students[a]]
            starts = np.sort(np.concatenate([np.asarray(fingerprint.hash_idx[value]) for value in values]))
            # The union of the spans [start, start + k): the gaps between spans are what it does not cover.
            covered = fingerprint.k * len(starts) - np.maximum(0, fingerprint.k - np.diff(starts)).sum()
            shared[a].append((holding, covered))
    candidates = set()
    for a, held in shared.items():
        bound = np.zeros(len(students))  # what the blocks a shares with each student cover of a's code, at most
        for holding, covered in held:
            bound[holding] += covered
        bound[a] = 0
        reaching = np.nonzero(bound >= threshold * prints[students[a]].token_coverage - 1e-9)[0]
        candidates.update((students[min(a, b)], students[max(a, b)]) for b in reaching.tolist())
    return sorted(candidates)
