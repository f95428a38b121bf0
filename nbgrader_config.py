"""nbgrader configuration of the MNIST-in-NumPy course (read by every nbgrader command run here)."""

import os

from mnistkit import formulas
from mnistkit.intake import take_in_before_autograde

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "mnist-numpy"

# The SQLite gradebook beside this file. Parallel graders write to it at once, so a writer
# waits up to a minute for another's lock instead of failing after SQLite's default 5 s.
_gradebook = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gradebook.db")
c.CourseDirectory.db_url = f"sqlite:///{_gradebook}?timeout=60"

# Validate (the button in JupyterLab, or `nbgrader validate`) runs every cell's checks, the visible
# tests included: a student's unfinished notebook then lists its failing cells. JupyterLab's button
# reads the configuration of the folder Jupyter was started in: this one for a server started in
# the course, the release's own nbgrader_config.py (which says the same) in a student's folder.
c.Validator.validate_all = True

# The stub students see in place of each solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Grading limits. A cell that runs longer is interrupted and fails; the rest still runs.
# The slowest correct cell grading runs (part 2's learn_reaches_threshold) takes 2.1 s on a slow 2-core
# machine, and the slowest of all (part 2's training, 3.4 s) comes after the last test, so grading
# does not run it (c.GuardedExecute.run_after_last_test; python -m benchmarks.class_grading --assignment
# mnist_mlp): 120 s is over 35 times either.
c.Execute.timeout = 120
c.GuardedExecute.memory_limit_mb = 4096  # a grading kernel's address space; beyond it, MemoryError
# Grading kernels keep no history, do not log their own start-up notices to the grader's
# terminal, and are stopped at once when the notebook is done (nothing in them is kept).
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
c.Execute.shutdown_kernel = "immediate"

# Grades that can be trusted (see mnistkit/nbgrader_plugins.py): every grading kernel starts
# confined (mnistkit/sandbox: its own scratch copy of the submission, no network, no access to
# the course, the gradebook or other students), deleted or moved cells are restored, numpy and
# the course's modules are reset before each test, a crashed kernel costs only its cell,
# warnings cost nothing, and feedback keeps hidden tests hidden.
# Where the machine cannot confine kernels, grading stops and says why; to grade unconfined
# anyway (student code then runs with your rights): c.GuardedExecute.confine = False
# What a student hands in is taken in as data before nbgrader copies anything (mnistkit/intake):
# only the notebooks, as plain files of bounded size; links, FIFOs, devices, folders and every other
# file are left out, never followed, and named in the grading record. Limits: c.Intake.max_notebook_mb,
# c.Intake.max_cells. (The class command does the same before it calls nbgrader.)
c.Autograde.pre_convert_hook = take_in_before_autograde
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "mnistkit.nbgrader_plugins.RestoreReleasedLayout",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "mnistkit.nbgrader_plugins.GuardedExecute",
    "mnistkit.nbgrader_plugins.MergeStreams",
    "mnistkit.nbgrader_plugins.RemoveHiddenTestLines",
    "mnistkit.nbgrader_plugins.GradeOnErrorsOnly",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "mnistkit.inert.InertContent",
    "nbgrader.preprocessors.SaveAutoGrades",
    "mnistkit.deadlines.GrantExtensions",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Formgrader's and the feedback pages show the course's formulas as MathML and load no script
# from a CDN, so they render offline (mnistkit/formulas.py).
c.HTMLExporter.filters = {"markdown2html": "mnistkit.formulas.markdown2html"}
c.HTMLExporter.extra_template_basedirs = [formulas.TEMPLATES, formulas.NBGRADER_TEMPLATES]
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "mnistkit.inert.InertContent",
    "mnistkit.nbgrader_plugins.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# Deadlines (mnistkit/deadlines.py). The due date is nbgrader's own:
#   nbgrader db assignment add mnist_numpy --duedate="2026-12-11 17:00 UTC"   (or Formgrader's pencil)
# The last submission counts, with its time. Extensions: python -m mnistkit extend (kept in extensions.csv).
# The late policy; by default late work loses nothing (its lateness is still reported). For example:
#   c.LatePolicy.penalty_per_day = 0.1   # 10 % of the score for each day or part of a day late,
#   c.LatePolicy.floor = 0.5             # keeping at least half of it,
#   c.LatePolicy.cutoff_days = 7         # and no points more than 7 days late.
c.AssignLatePenalties.plugin_class = "mnistkit.deadlines.LatePolicy"

# Submissions downloaded from a learning-management system as one zip, collected with
# `python -m mnistkit grade --zip FILE` (or nbgrader zip_collect). The pattern reads the student id
# and notebook name from Canvas-style file names such as
#   doejane_LATE_1234_5678_mnist_numpy.ipynb  or  doejane_1234_5678_mnist_numpy-1.ipynb
# (the -1 is a resubmission). It is matched against the whole path of each extracted file;
# change it to match your system's names. Plain `nbgrader zip_collect` uses the kit's safe unpacking and
# refuses student ids that are not ids (mnistkit/intake/archives.py), as the class command does.
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[^_/]+)_(?:LATE_)?\d+_\d+_(?P<file_id>.+?)(?:-\d+)?\.ipynb$"
)
c.ZipCollectApp.extractor_plugin = "mnistkit.intake.archives.SafeExtractor"
# `nbgrader collect` copies plain files only from the exchange, never following a student's link.
c.ExchangeFactory.collect = "mnistkit.intake.exchange.SafeExchangeCollect"
# ... never collects a submission folder another student's account made in a student's name, and never dates a
# submission earlier than its files arrived; `nbgrader release_feedback` releases everyone it can.
c.ExchangeFactory.release_feedback = "mnistkit.intake.exchange.SafeExchangeReleaseFeedback"
c.ZipCollectApp.collector_plugin = "mnistkit.intake.archives.CheckedFileNameCollector"

# Class data never goes to students with the assignment.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
