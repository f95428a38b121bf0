"""nbgrader preprocessors that make grades trustworthy; switched on in ``nbgrader_config.py``.

- `RestoreReleasedLayout` (autograde, sanitising): every cell of the released notebook is
  graded in the released order, whatever the student deleted or moved.
- `GuardedExecute` (autograde, executing): the notebook's cells in a confined kernel and its
  graded test cells in a second one that never runs student code (`mnistkit.tests_process`);
  per-cell time limit, a memory cap, seeded random generators, NumPy and the course's modules
  reset before every call of the student's code, a kernel that dies or hangs costs only the
  cell it died in, a bounded output, and no time spent on the cells after the last graded one
  (they cannot change a grade).
- `MergeStreams` (autograde, after executing): printed output in a fixed order, so the same
  code always gives the same graded notebook and feedback.
- `RemoveHiddenTestLines` (autograde, after executing): no output of any cell keeps a line of a
  hidden test, however student code got hold of it (its callers' frames, ``In``, an error message).
- `GradeOnErrorsOnly` (autograde, after executing): a warning on stderr, or a value a test
  cell happens to display, does not change the grade; only an error does.
- `HideHiddenTests` (feedback): students see which check failed and why, not its code or
  anything it displayed.

Each logs what it did with the prefix ``[mnistkit]``, which the class report collects.
"""

import copy
import functools
import html
import re
from pathlib import Path

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_code_cell, new_output
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from mnistkit.course import Course
from mnistkit.sandbox import ConfinedKernelManager, FdPassingKernelManager, Limits, check_sandbox, prepared_data
from mnistkit.tests_process import Serving, TestsKernel, run_with_student_serving, socket_pair

LOG_PREFIX = "[mnistkit]"


def _is_code_grade_cell(cell):
    return cell.cell_type == "code" and utils.is_grade(cell)


def _is_test_cell(cell):
    """A graded cell of the course's tests (not a student's answer): it runs in the tests' kernel."""
    return _is_code_grade_cell(cell) and not utils.is_solution(cell)


def cell_key(cell):
    """How a cell is matched between the release and a submission: its grade_id, else its cell id."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return grade_id or cell.get("id")


def marked_lines(cells, regions=("SOLUTION", "HIDDEN TESTS")):
    """Lines that only the ``### BEGIN/END <region>`` parts of ``cells`` contain.

    Short lines, imports and lines that also appear outside those parts give nothing away and are left out.
    """
    secrets, public = set(), set()
    for cell in cells:
        inside = None
        for line in cell.source.splitlines():
            marker = re.search(r"### (BEGIN|END) (SOLUTION|HIDDEN TESTS)", line)
            if marker:
                inside = marker.group(2) if marker.group(1) == "BEGIN" else None
            elif inside in regions:
                secrets.add(line.strip())
            elif inside is None:
                public.add(line.strip())
    return {line for line in secrets - public if len(line) > 12 and not line.startswith(("import ", "from "))}


def _error(ename, message):
    return new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class RestoreReleasedLayout(NbGraderPreprocessor):
    """Rebuild a submission on the released notebook's cells and order.

    Solution cells and the cells students may edit keep the student's version; locked and
    test cells come from the release; cells the student deleted come back; cells the student
    added stay right after the cell they followed.
    """

    def preprocess(self, nb, resources):
        released = nbformat.read(released_notebook(self.config, resources), as_version=nbformat.NO_CONVERT)
        released_keys = [cell_key(cell) for cell in released.cells]
        known = set(released_keys)

        submitted, added_after, anchor = {}, {}, None
        for cell in nb.cells:
            key = cell_key(cell)
            if key in known and key not in submitted:
                submitted[key] = cell
                anchor = key
            else:
                added_after.setdefault(anchor, []).append(cell)

        cells, changed = list(added_after.get(None, [])), []
        for key, released_cell in zip(released_keys, released.cells):
            student_cell = submitted.get(key)
            editable = utils.is_solution(released_cell) or not (
                utils.is_locked(released_cell) or utils.is_grade(released_cell)
            )
            if student_cell is not None and not editable and student_cell.source != released_cell.source:
                changed.append(key)
            cells.append(student_cell if student_cell is not None and editable else copy.deepcopy(released_cell))
            cells += added_after.get(key, [])

        if changed:
            self.log.warning("%s put back %d test or locked cell(s) whose code was changed: %s", LOG_PREFIX,
                             len(changed), ", ".join(changed))
        missing = [key for key in released_keys if key not in submitted]
        if missing:
            self.log.warning("%s restored %d deleted cell(s): %s", LOG_PREFIX, len(missing), ", ".join(missing))
        order = [cell_key(cell) for cell in nb.cells if cell_key(cell) in submitted]
        if order != [key for key in released_keys if key in submitted]:
            self.log.warning("%s cells were out of order; graded in the released order", LOG_PREFIX)
        nb.cells = cells
        return nb, resources


def released_notebook(config, resources):
    """The path of the released notebook that ``resources`` (an nbgrader conversion's) is a submission of."""
    coursedir = CourseDirectory(config=config)
    folder = coursedir.format_path(coursedir.release_directory, ".", resources["nbgrader"]["assignment"])
    return Path(folder) / f"{resources['nbgrader']['notebook']}.ipynb"


def _master_folder(config, resources):
    """The assignment's folder in ``source/``."""
    coursedir = CourseDirectory(config=config)
    return Path(coursedir.format_path(coursedir.source_directory, ".", resources["nbgrader"]["assignment"]))


MAX_ERROR_CHARACTERS = 20_000  # of an error's message, and of each line of its traceback
NOT_RUN_AFTER_TESTS = "[not run when graded: no graded cell comes after this one]\n"


def prepared_course_data(course_root, master_folder):
    """The folder of verified course data the confined kernels of an assignment read (`prepared_data`), made once
    per process; None for an assignment without the course's data and loader."""
    data = Path(course_root) / "mnist_data" / "mnist.npz"
    loader = Path(master_folder) / "mnist_loader.py"
    store = Path(course_root) / Course.OUTCOMES / ".course-data"  # class data, beside the kit's grading records
    return prepared_data(data, loader, store) if data.is_file() and loader.is_file() else None


class _KernelLost(Exception):
    """The kernel died or stopped answering while running a cell."""


GUARD_CELL = """\
import mnistkit.kernel.guard
mnistkit.kernel.guard.install(memory_limit_bytes={memory}, seed={seed}, course_modules={modules!r}, calls_fd={fd})
"""


class GuardedExecute(Execute):
    """nbgrader's Execute, in two confined kernels, with the kernel guard installed and kernel deaths contained.

    The notebook's cells run in the student's kernel; its graded test cells run in the tests'
    kernel, which calls the student's functions across (`mnistkit.tests_process`), so a verdict
    is decided where no student code runs. Each kernel starts in its own sandbox
    (`mnistkit.sandbox`) unless ``confine`` is off; where the machine cannot confine it,
    grading stops with an error that says why. A cell during which the student's kernel dies,
    or after whose time limit it no longer answers, gets an error saying so; the notebook then
    runs again in fresh kernels without that cell, so the cells after it still earn their
    points (at most ``max_kernel_restarts`` times).
    """

    memory_limit_mb = Integer(4096, help="Address-space cap of a grading kernel, in MiB (0: none)").tag(config=True)
    max_kernel_restarts = Integer(5, help="Fresh kernels a notebook may get after crashes").tag(config=True)
    seed = Integer(0, help="Seed of Python's and NumPy's global random generators").tag(config=True)
    confine = Bool(True, help="Start every grading kernel in a sandbox (False: student code runs with "
                              "the grader's rights)").tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap command that confines kernels").tag(config=True)
    max_processes = Integer(128, help="Processes and threads a confined kernel may run").tag(config=True)
    max_file_mb = Integer(512, help="Largest file a confined kernel may write, in MiB").tag(config=True)
    max_open_files = Integer(1024, help="Files a confined kernel may hold open").tag(config=True)
    max_scratch_mb = Integer(256, help="Size of a confined kernel's home, and of its /tmp, in MiB").tag(config=True)
    max_output_mb = Integer(8, help="Output a notebook's cells may print or display while graded, in MiB; beyond "
                                    "it, output is left out").tag(config=True)
    run_after_last_test = Bool(False, help="Also run the cells after the last graded cell (they cannot change a "
                                           "grade: False saves their time, a training run in this course)").tag(config=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.data_folder = self._data_folder
        if isinstance(km, ConfinedKernelManager):
            km.limits = Limits(memory_bytes=self.memory_limit_mb * 2**20 or 2**62, processes=self.max_processes,
                               file_bytes=self.max_file_mb * 2**20, open_files=self.max_open_files,
                               scratch_bytes=self.max_scratch_mb * 2**20)
            km.bwrap = self.bwrap
        return km

    # The two kernels start together: the tests' kernel is launched right after the student's, and
    # both are waited for once both run (nbclient binds these names to its own methods, hence the rebinding).

    async def async_start_new_kernel(self, **kwargs):
        student_end, tests_end = socket_pair()
        try:
            self.km.pass_fds = (student_end.fileno(),)
            self._guard_cell.source = self._guard_cell.source.replace("calls_fd=None", f"calls_fd={student_end.fileno()}")
            await super().async_start_new_kernel(**kwargs)
            student_manager = self.km
            tests_manager = self.create_kernel_manager()  # which nbclient also makes self.km: put back
            self.km = student_manager
            tests_manager.pass_fds = (tests_end.fileno(),)
            self._tests = TestsKernel(tests_manager, self.startup_timeout, self.extra_arguments)
            self._tests_fd, self._test_cells_run = tests_end.fileno(), 0
            await self._tests.launch(cwd=str(released_notebook(self.config, self.resources).parent))
        finally:
            student_end.close()  # the kernels hold their ends: when one dies, the other sees the connection end
            tests_end.close()

    start_new_kernel = run_sync(async_start_new_kernel)

    async def async_start_new_kernel_client(self):
        client = await super().async_start_new_kernel_client()
        try:
            await self._tests.ready(self._tests_fd)
        except Exception:
            await self._async_cleanup_kernel()
            raise
        return client

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    async def _async_cleanup_kernel(self):
        tests, self._tests = self._tests, None
        try:
            await super()._async_cleanup_kernel()
        finally:
            if tests is not None:
                await tests.stop()

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        """Run a test cell in the tests' kernel while the student's kernel answers its calls; other cells as usual."""
        if self._tests is None or not _is_test_cell(cell):
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        self._test_cells_run += 1
        serving = Serving(self.kc, self.km, self._test_cells_run)
        run_test = functools.partial(super().async_execute_cell, cell, cell_index, execution_count, store_history)
        student = self.kc, self.km
        self.kc, self.km = self._tests.client, self._tests.manager  # nbclient runs the cell, and its time limit, there
        try:
            cell = await run_with_student_serving(run_test, self._tests.manager, serving)
        finally:
            self.kc, self.km = student
        state = await serving.finish()
        for message in serving.messages:  # what the student's code printed meanwhile: shown, never an error
            self.output(cell.outputs, message, None, cell_index)
        if state == "died":
            raise DeadKernelError("the student's kernel died while the tests called it")
        if state == "hung":
            raise CellTimeoutError("the student's kernel did not stop when the test's time was up")
        return cell

    execute_cell = run_sync(async_execute_cell)

    def _prepare_sandbox(self, resources):
        """Refuse to run unconfined unless told to; prepare the verified data the kernels will read."""
        self._data_folder = None
        if not self.confine:
            self.kernel_manager_class = FdPassingKernelManager
            self.log.warning("%s graded unconfined: student code ran with the grader's rights", LOG_PREFIX)
            return
        check_sandbox(self.bwrap)  # raises SandboxUnavailable with what to do
        self.kernel_manager_class = ConfinedKernelManager
        self._data_folder = prepared_course_data(CourseDirectory(config=self.config).root,
                                                 _master_folder(self.config, resources))

    def preprocess(self, nb, resources=None, km=None):
        self._prepare_sandbox(resources)
        memory = 0 if self.confine else self.memory_limit_mb * 2**20  # a confined kernel is capped at its launch
        # The assignment's own modules, shipped with it (and put back over the student's copies by nbgrader).
        modules = sorted(path.stem for path in _master_folder(self.config, resources).glob("*.py")
                         if path.stem.isidentifier() and path.stem != "nbgrader_config")
        self._tests = None
        self._guard_source = GUARD_CELL.format(memory=memory, seed=self.seed, modules=modules, fd=None)
        guard = new_code_cell(self._guard_source)
        nb.cells.insert(0, guard)
        self._lost = {}  # cell index -> the error output that replaces the cell's run
        self._output_bytes, self._output_cut = 0, set()
        graded = [index for index, cell in enumerate(nb.cells) if _is_code_grade_cell(cell)]
        self._last_test = max(graded) if graded and not self.run_after_last_test else len(nb.cells)
        try:
            for _ in range(self.max_kernel_restarts + 1):
                try:
                    self._guard_cell = nb.cells[0]
                    self._guard_cell.source = self._guard_source  # its socket is named when its kernel starts
                    nb, resources = super().preprocess(nb, resources, km)
                    break
                except _KernelLost:
                    continue
            else:
                self._give_up(nb)
        finally:
            guard = nb.cells.pop(0)
        failures = [o for o in guard.outputs if o.output_type == "error"]
        if failures:
            raise RuntimeError(f"the grading guard could not start: {failures[0].ename}: {failures[0].evalue}")
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if index in self._lost:
            cell.outputs, cell.execution_count = [self._lost[index]], None
            return cell, resources
        if index > self._last_test and cell.cell_type == "code":
            cell.outputs, cell.execution_count = [new_output("stream", name="stdout", text=NOT_RUN_AFTER_TESTS)], None
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as error:
            died = isinstance(error, DeadKernelError)
            stopped_for = getattr(self.km, "stopped_for", None)
            message = (
                f"The kernel was stopped while running this cell: {stopped_for}." if died and stopped_for else
                "The kernel died while running this cell (for example os._exit, a crash, or running out "
                "of memory)." if died else
                "The kernel stopped answering after this cell's time limit."
            ) + " The notebook was run again in a fresh kernel without this cell."
            self._lost[index] = _error("KernelDied" if died else "KernelUnresponsive", message)
            cell.outputs, cell.execution_count = [self._lost[index]], None
            self.log.warning("%s %s in cell %s: %s", LOG_PREFIX, "kernel died" if died else "kernel hung",
                             cell_key(cell), message)
            raise _KernelLost from error
        if any(output.get("ename") == "CellTimeoutError" for output in cell.get("outputs", [])):
            self.log.warning("%s cell %s ran longer than %s s and was stopped", LOG_PREFIX, cell_key(cell), self.timeout)
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's handling of one output, within the notebook's output budget (``max_output_mb``).

        Errors always pass (their text bounded): they decide the grade. Other output beyond the
        budget is left out, with a line saying so in each cell that lost some.
        """
        content = msg.get("content", {})
        if msg.get("msg_type") == "error":
            content["evalue"] = str(content.get("evalue", ""))[:MAX_ERROR_CHARACTERS]
            content["traceback"] = [str(line)[:MAX_ERROR_CHARACTERS] for line in content.get("traceback", [])[:200]]
            return super().output(outs, msg, display_id, cell_index)
        size = len(str(content.get("text", ""))) + sum(len(str(value)) for value in content.get("data", {}).values())
        self._output_bytes += size
        if self._output_bytes <= self.max_output_mb * 2**20:
            return super().output(outs, msg, display_id, cell_index)
        if cell_index not in self._output_cut:
            if not self._output_cut:
                self.log.warning("%s output beyond the %d MiB a notebook may print was left out, from cell %s on",
                                 LOG_PREFIX, self.max_output_mb, cell_key(self.nb.cells[cell_index]))
            self._output_cut.add(cell_index)
            notice = f"[output beyond the {self.max_output_mb} MiB a notebook may print was left out]\n"
            outs.append(new_output("stream", name="stdout", text=notice))
        return None

    def _give_up(self, nb):
        message = f"Not run: the kernel died {len(self._lost)} times, the most a notebook may."
        first_loss = max(self._lost)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and index > first_loss and index not in self._lost:
                cell.outputs = [_error("NotRun", message)]
        self.log.warning("%s %s", LOG_PREFIX, message)


class MergeStreams(NbGraderPreprocessor):
    """Each cell's printed output as one stdout block then one stderr block, before its other outputs.

    A kernel sends stdout and stderr separately, and how they interleave depends on timing;
    merged this way, the same code always gives the same graded notebook and feedback.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        streams, others = {}, []
        for output in cell.outputs:
            if output.output_type == "stream":
                streams[output.name] = streams.get(output.name, "") + output.text
            else:
                others.append(output)
        merged = [new_output("stream", name=name, text=streams[name]) for name in ("stdout", "stderr") if name in streams]
        cell.outputs = merged + others
        return cell, resources


REMOVED_LINE = "[a line of a hidden test was removed from this output]"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_WARNING_HEADER = re.compile(r"^\S.*:\d+: \w*Warning: ")  # how Python's warnings module starts a warning


class RemoveHiddenTestLines(NbGraderPreprocessor):
    """Replace every output line that quotes a hidden test's code, in every cell.

    The kernel has to run the hidden tests, so student code can read them (its callers'
    frames, ``linecache``, IPython's ``In``) and print them or put them in an error message.
    Whatever cell shows them, such lines never reach the graded notebook or the feedback.
    (Text re-encoded by the student, reversed or base64, is not recognised: see the README.)
    """

    def preprocess(self, nb, resources):
        secrets = marked_lines(nb.cells, regions=("HIDDEN TESTS",))
        printed = 0  # lines the student's code put in an output or an error message
        for cell in nb.cells:
            for output in cell.get("outputs", []) if secrets else []:
                for key, value in self._texts(output):
                    cleaned, count, quoted_by_python = self._scrub(value, secrets)
                    if count:
                        self._store(output, key, cleaned)
                    # A failing test's traceback, and a warning raised in a test, quote the test's own
                    # lines: that is Python's doing, not the student's.
                    printed += 0 if key == "traceback" else count - quoted_by_python
        if printed:
            self.log.warning("%s removed %d output line(s) quoting hidden tests, printed by the student's code",
                             LOG_PREFIX, printed)
        return nb, resources

    @staticmethod
    def _texts(output):
        """``(key, text)`` of every text an output holds: ``("text", ...)``, ``("data", mime)``, ..."""
        for key in ("text", "evalue"):
            if isinstance(output.get(key), str):
                yield key, output[key]
        if isinstance(output.get("traceback"), list):
            yield "traceback", "\n".join(output["traceback"])
        for mime, value in output.get("data", {}).items():
            if isinstance(value, str) and mime.startswith("text/"):
                yield ("data", mime), value

    @staticmethod
    def _scrub(text, secrets):
        """``text`` with its secret lines replaced; how many, and how many of them follow a warning's header."""
        lines, count, after_warning = text.splitlines(keepends=True), 0, 0
        for index, line in enumerate(lines):
            plain = html.unescape(_ANSI.sub("", line))
            if any(secret in plain for secret in secrets):
                lines[index] = REMOVED_LINE + ("\n" if line.endswith("\n") else "")
                count += 1
                after_warning += index > 0 and bool(_WARNING_HEADER.match(_ANSI.sub("", lines[index - 1])))
        return "".join(lines), count, after_warning

    @staticmethod
    def _store(output, key, text):
        if key == "traceback":
            output["traceback"] = text.split("\n")
        elif isinstance(key, tuple):
            output["data"][key[1]] = text
        else:
            output[key] = text


class GradeOnErrorsOnly(NbGraderPreprocessor):
    """A graded cell earns its points unless it raised an error.

    nbgrader also gives zero to a cell with any stderr output (a harmless warning), and reads
    a cell's final value as partial credit. Here stderr is shown as ordinary output and a
    final value as a plain display, so neither changes the grade.
    """

    def preprocess_cell(self, cell, resources, index):
        if _is_code_grade_cell(cell):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
                elif output.output_type == "execute_result":
                    output.output_type = "display_data"
                    output.pop("execution_count", None)
        return cell, resources


class HideHiddenTests(NbGraderPreprocessor):
    """In feedback, show a hidden test cell's description and verdict, not its code, traceback or other output."""

    verdict_only = Bool(False, help="Show a failed hidden test's verdict and points only, not its message (the "
                                    "grading service's feedback before the deadline)").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if not _is_code_grade_cell(cell):
            return cell, resources
        shown = ClearHiddenTests(config=self.config).preprocess_cell(copy.deepcopy(cell), resources, index)[0]
        if shown.source == cell.source:  # a visible test: students may see everything
            return cell, resources
        cell.source = shown.source
        points = cell.metadata["nbgrader"].get("points", 0)
        cell.outputs = [output for output in cell.outputs if output.output_type == "error"]
        for output in cell.outputs:
            verdict = f"Failed (0 of {points:g} points)."
            output.traceback = [verdict if self.verdict_only else f"{verdict} {output.ename}: {output.evalue}".rstrip(": ")]
            if self.verdict_only:
                output.ename, output.evalue = "Failed", ""
        return cell, resources
