"""The grading service: notice submissions, queue them in order of arrival, grade them, release their feedback.

One loop in one process. Each pass it
1. notices new submission folders in the exchange's ``inbound`` (once nothing in them changed for
   ``quiet_seconds``) and, with ``watch_submitted``, submissions in ``submitted/`` not graded yet;
   each is recorded in the journal first, then collected as data (the kit's collect), and either
   queued (its student gets a page with their place in the queue and the expected wait), or, past
   the attempts of the period, not graded (their page says when the next one will be);
2. reaps finished gradings (recording score, lateness and problems), stops those over the time
   limit, and, under ``final = 'best'``, queues the policy's choice to be graded again when the
   gradebook does not hold it;
3. starts the oldest queued submissions, up to ``workers`` at once and one per student and
   assignment at a time, each in a forked process (`mnistkit.service.worker`).

Stopped with Ctrl-C or SIGTERM, it stops the gradings under way; they are graded again at the
next start, as is everything still queued.
"""

import datetime
import fcntl
import hashlib
import logging
import multiprocessing
import os
import shutil
import signal
import time
from pathlib import Path

from mnistkit.course import Course
from mnistkit.deadlines import due_date, read_extensions
from mnistkit.intake import Intake, shown, student_id_problem, submission_stamp
from mnistkit.intake.exchange import arrival, collect_submission, copy_nbgrader_files, made_by
from mnistkit.records import Outcome, submitted_students
from mnistkit.service import pages, worker
from mnistkit.service.journal import WAITING, Journal
from mnistkit.service.settings import GradingService, ServiceError

FOLDER = "service"  # in the course: journal.db, lock, work/<row id>/
CRASHES_ALLOWED = 2  # gradings of one submission that may end without a result before it is failed
DEFAULT_GRADING_SECONDS = 10.0  # the expected time of a grading before any was measured
MAX_NOTICED_PER_PASS = 200  # new exchange folders taken per pass; the rest on the next passes
INBOUND = "inbound/"  # the journal's key of an exchange folder: inbound/<its name>


def inbound_key(name):
    """The journal's key of the exchange folder ``name`` (one that is not text is named by its bytes)."""
    try:
        name.encode("utf-8")
        return INBOUND + name
    except UnicodeEncodeError:
        return "inbound-bytes/" + os.fsencode(name).hex()


def _now_words():
    return f"{datetime.datetime.now(datetime.timezone.utc):%H:%M:%S}"


class Service:
    """The grading service of one course."""

    def __init__(self, course, settings=None, say=print, confine=True):
        self.course = Course.of(course)
        self.settings = (settings or GradingService(config=self.course.config)).check()
        self.say = say
        self.confine = confine
        self.folder = self.course.root / FOLDER
        self.folder.mkdir(exist_ok=True)
        self.workers = self.settings.workers or os.cpu_count() or 1
        config = self.course.config
        root = config.Exchange.get("root", "/srv/nbgrader/exchange")
        self.inbound = Path(root) / config.CourseDirectory.get("course_id", "") / "inbound"
        self.check_owner = config.ExchangeCollect.get("check_owner", True)
        self.max_file_bytes = Intake(config=config).max_notebook_bytes
        self.log = logging.getLogger("mnistkit.service")
        self.running = {}  # row id -> (process, started)
        self.stopping = False
        self.journal = None
        self._unrecordable = set()  # keys of exchange folders that could not even be recorded as refused
        self.first_start = False
        self._lock = None

    # -- starting and stopping

    def run(self, exit_when_idle=None):
        """Serve until Ctrl-C or SIGTERM (or, with ``exit_when_idle`` seconds, until nothing happened for that long)."""
        self._take_lock()
        self.journal = Journal(self.folder / "journal.db")
        self.first_start = not self.journal.keys  # submissions collected before it are not graded again
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._recover()
            from mnistkit.grading import warm_up

            warm_up(self.course, self.confine)  # forked gradings start with nbgrader loaded and the data prepared
            self.say(self._banner())
            idle_since = time.monotonic()
            while not self.stopping:
                try:
                    busy = self.notice() + self.reap() + self.dispatch() or bool(self.running)
                except Exception as error:  # noqa: BLE001 (one pass gone wrong: said, and the service goes on)
                    self.say(f"{_now_words()} this pass of the service failed ({type(error).__name__}: "
                             f"{shown(str(error), 200)}); it goes on")
                    busy = True
                if busy:
                    idle_since = time.monotonic()
                elif exit_when_idle is not None and time.monotonic() - idle_since > exit_when_idle:
                    break
                if not self.stopping:
                    time.sleep(min(self.settings.poll_seconds, 0.5) if self.running else self.settings.poll_seconds)
        finally:
            self._stop_gradings()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.journal.close()
            self._lock.close()
        return 0

    def _stop(self, *_):
        self.stopping = True

    def _take_lock(self):
        self._lock = open(self.folder / "lock", "a+")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.seek(0)
            raise ServiceError(f"the grading service of {self.course.root} is already running "
                               f"(process {self._lock.read().strip() or 'unknown'})") from None
        self._lock.seek(0)
        self._lock.truncate()
        self._lock.write(str(os.getpid()))
        self._lock.flush()

    def _banner(self):
        settings = self.settings
        watched = f"{self.inbound}" + (" and submitted/" if settings.watch_submitted else "")
        return (f"Grading service of {self.course.root}: watching {watched}, {self.workers} grading(s) at once, "
                f"each stopped after {settings.time_limit_minutes:g} min. {settings.attempts_in_words()} "
                f"{settings.shown_in_words()} {settings.final_in_words()} Ctrl-C stops it.")

    def _recover(self):
        """Gradings cut off by a stop or a crash: keep the result of those that finished, queue the others again."""
        for row in self.journal.in_state("grading"):
            result = worker.read_result(self._work(row.id))
            if result is not None:
                self._record(row, result)
            else:
                self.journal.update(row.id, state="queued", started=None)
                self.say(f"{_now_words()} {row.student}'s {row.assignment} was being graded when the service "
                         "stopped: queued again")

    def _stop_gradings(self):
        """Stop the gradings under way (SIGTERM, then SIGKILL after 10 s); they are queued again."""
        for process, _ in self.running.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process, _ in self.running.values():
            process.join(max(0.1, deadline - time.monotonic()))
            if process.exitcode is None:
                _signal_group(process, signal.SIGKILL)
                process.join()
        if self.running and self.journal is not None:
            for row_id in self.running:
                self.journal.update(row_id, state="queued", started=None)
            self.say(f"Stopped: {len(self.running)} grading(s) under way are graded again when the service starts.")
        self.running = {}

    # -- noticing

    def notice(self):
        """Record, collect and queue (or refuse) what is new; return how many were noticed."""
        noticed = self._notice_exchange()
        self.first_start = False  # the backlog found at the first start is sorted out; whatever comes next is new
        return noticed + (self._notice_submitted() if self.settings.watch_submitted else 0)

    def _notice_exchange(self):
        try:
            entries = sorted(os.scandir(self.inbound), key=lambda entry: entry.name)
        except OSError:
            return 0
        assignments = set(self.course.assignments())
        now, noticed, arrivals = time.time(), 0, []
        for entry in entries:
            key = inbound_key(entry.name)
            if key in self.journal.keys or key in self._unrecordable:
                continue
            try:
                arrived = arrival(Path(entry.path)).replace(tzinfo=datetime.timezone.utc).timestamp() \
                    if entry.is_dir(follow_symlinks=False) else os.lstat(entry.path).st_ctime
            except OSError:
                continue  # gone meanwhile
            if now - arrived >= self.settings.quiet_seconds:  # else still being written: next pass
                arrivals.append((arrived, key, entry))
        # In order of arrival (which no student sets; a folder's name says what its maker wants), and a bounded
        # number per pass, so that a flood of folders does not hold up the gradings under way.
        for arrived, key, entry in sorted(arrivals, key=lambda found: found[:2])[:MAX_NOTICED_PER_PASS]:
            noticed += 1
            try:
                self._notice_one(key, entry, arrived, assignments)
            except Exception as error:  # noqa: BLE001 (a folder that changed or went while read: refused)
                self._refuse_unreadable(key, entry, arrived, error)
        return noticed

    def _notice_one(self, key, entry, arrived, assignments):
        path = Path(entry.path)
        parts = entry.name.split("+")
        student, assignment = (parts + ["", ""])[:2]
        problem = self._exchange_problem(entry, parts, assignments)
        if problem:
            self.journal.add(key, "exchange", shown(assignment, 40), shown(student, 40), arrived, state="refused",
                             message=problem)
            self.say(f"{_now_words()} not graded: the exchange folder {shown(entry.name)}: {problem}")
            return
        if self._collected_before(assignment, student, parts[2]):
            self.journal.add(key, "exchange", assignment, student, arrived, state="collected before",
                             message="collected before the service first started; not graded by it")
            return
        attempts = self._attempts(assignment, student, arrived, new=True)
        over = self.settings.attempts and attempts.number > self.settings.attempts
        row = self.journal.add(key, "exchange", assignment, student, arrived,
                               state="over limit" if over else "queued", attempt=0 if over else attempts.number)
        if over:  # not graded: only nbgrader's small files are taken, for the page that says so
            copy_nbgrader_files(path, self._work(row.id) / "submission")
            attempts = self._attempts(assignment, student, arrived)
            self.journal.update(row.id, message=f"over the limit of {self.settings.attempts} attempts; next from "
                                                f"{pages.moment(attempts.next_from)}")
            self._release(row, pages.over_limit_page(arrived, attempts))
            self.say(f"{_now_words()} not graded: {student}'s {assignment} of {pages.moment(arrived)}, over the "
                     f"limit of {self.settings.attempts} attempts (next from {pages.moment(attempts.next_from)})")
            return
        if not self._collect(row, path):
            return
        position, expected = self._place_in_queue(row)
        self._release(row, pages.queued_page(arrived, position, expected, attempts))
        self.say(f"{_now_words()} queued: {student}'s {assignment} (attempt {attempts.number}), number "
                 f"{position} in the queue, expected in about {pages.duration(expected)}")

    def _refuse_unreadable(self, key, entry, arrived, error):
        why = f"it could not be read ({type(error).__name__})"
        try:
            row = next((row for row in self.journal.all() if row.key == key), None)
            if row is None:
                self.journal.add(key, "exchange", "", shown(entry.name.split("+")[0], 40), arrived, state="refused",
                                 message=why)
            else:
                self.journal.update(row.id, state="refused", attempt=0, message=why)
        except Exception:  # noqa: BLE001 (not even recordable: left alone from now on)
            self._unrecordable.add(key)
        self.say(f"{_now_words()} not graded: the exchange folder {shown(entry.name)}: {why}")

    def _collected_before(self, assignment, student, stamp):
        """Whether a submission found in the exchange when the service first starts in a course, made at ``stamp``
        (its folder name's time), is one the instructor had already collected (no later than the one in
        ``submitted/``): it is not graded again. Everything that arrives later is graded."""
        if not self.first_start:
            return False
        from nbgrader.utils import parse_utc

        try:
            collected = parse_utc((self.course.folder("submitted", assignment, student) / "timestamp.txt")
                                  .read_text()[:100].strip())
            return parse_utc(stamp) <= collected
        except (OSError, ValueError, OverflowError, TypeError):
            return False

    def _exchange_problem(self, entry, parts, assignments):
        if len(parts) not in (3, 4):
            return "its name is not student+assignment+time[+random], as nbgrader's submit names a submission"
        if parts[1] not in assignments:
            return f"this course has no assignment {shown(parts[1])}"
        problem = student_id_problem(parts[0])
        if problem:
            return problem
        if not entry.is_dir(follow_symlinks=False):
            return "it is not a folder"
        if self.check_owner and not made_by(entry.path, parts[0]):
            return f"it was made by another account than {parts[0]}'s, so it is not their submission"
        return None

    def _collect(self, row, source):
        """Copy the exchange folder into the row's work folder as data (the kit's collect); whether it could be."""
        copy = self._work(row.id) / "submission"
        partial = copy.with_name("submission.partial")  # only a complete copy is ever graded
        for old in (copy, partial):
            if old.exists():
                shutil.rmtree(old)
        copy.parent.mkdir(parents=True, exist_ok=True)
        try:
            collected = collect_submission(source, partial, row.student, self.log, self.max_file_bytes,
                                           self.check_owner)
        except Exception as error:  # noqa: BLE001 (changed or went while read)
            collected, why = False, f"it could not be read ({type(error).__name__})"
        else:
            why = "it could not be collected"
            if collected:
                os.rename(partial, copy)
        if not collected:
            self.journal.update(row.id, state="refused", attempt=0, message=why)
            self.say(f"{_now_words()} not graded: {row.student}'s {row.assignment}: {why}")
        return collected

    def _notice_submitted(self):
        busy = {(row.assignment, row.student) for row in self.journal.in_state(*WAITING)}
        noticed = 0
        for assignment in self.course.assignments():
            for student in submitted_students(self.course, assignment):
                if (assignment, student) in busy:
                    continue
                folder = self.course.folder("submitted", assignment, student)
                stamp = submission_stamp(folder)
                outcome = Outcome.load(self.course, assignment, student)
                if outcome is not None and outcome.submission_stamp == stamp:
                    continue
                key = f"submitted/{student}/{assignment}@{hashlib.sha256(stamp.encode()).hexdigest()[:16]}"
                if key in self.journal.keys:
                    continue
                noticed += 1
                self.journal.add(key, "submitted", assignment, student, os.lstat(folder).st_mtime)
                self.say(f"{_now_words()} queued: {student}'s {assignment}, found in submitted/")
        return noticed

    # -- attempts and the queue

    def _attempts(self, assignment, student, arrived, new=False, number=None):
        """Where a submission arriving at ``arrived`` stands among the student's counted attempts of the period: every
        counted one since ``period_hours`` before it, in whatever order they were noticed (``new``: this one too).
        ``number`` is which attempt it is, when already counted."""
        settings = self.settings
        period = settings.period_hours * 3600
        window = [row.arrived for row in self.journal.counted_since(assignment, student, arrived - period)]
        if new:
            window.append(arrived)
        used = len(window)
        next_from = None
        if settings.attempts and used >= settings.attempts:
            next_from = sorted(window)[used - settings.attempts] + period
        return pages.Attempts(used if number is None else number, settings.attempts, settings.period_hours, next_from,
                              used)

    def _place_in_queue(self, row):
        """``(position, expected seconds)`` of a queued row: those before it in order, spread over the workers."""
        queued = self.journal.in_state("queued")
        position = next(index for index, other in enumerate(queued, 1) if other.id == row.id)
        recent = self.journal.recent_seconds(row.assignment)
        each = sum(recent) / len(recent) if recent else DEFAULT_GRADING_SECONDS
        rounds = (position - 1 + len(self.running)) // self.workers + 1
        return position, rounds * each

    def _due_for(self, assignment, student):
        due = due_date(self.course, assignment)
        if due is None:
            return None
        extension = read_extensions(self.course).get((student, assignment))
        return (due + extension.interval if extension else due).timestamp()

    # -- grading

    def _work(self, row_id):
        return self.folder / "work" / str(row_id)

    def dispatch(self):
        """Start the oldest queued gradings while workers are free; return how many were started."""
        started = 0
        busy = {(row.assignment, row.student) for row in map(self.journal.get, self.running)}
        for row in self.journal.in_state("queued"):
            if len(self.running) >= self.workers or self.stopping:
                break
            if (row.assignment, row.student) in busy:
                continue  # one grading of a student's assignment at a time, in order
            busy.add((row.assignment, row.student))
            self._start(row)
            started += 1
        return started

    def _start(self, row):
        work = self._work(row.id)
        work.mkdir(parents=True, exist_ok=True)
        worker.result_path(work).unlink(missing_ok=True)
        shutil.rmtree(work / "outbox", ignore_errors=True)
        copy_from = None
        if row.source == "exchange":
            copy_from = work / "submission"
            if not copy_from.is_dir() and not self._collect(row, self.inbound / row.key.removeprefix(INBOUND)):
                return
        elif row.source == "final":
            copy_from = self._work(row.copy_of) / "submission"
        now = time.time()
        job = worker.Job(row.id, row.assignment, row.student, str(work), copy_from and str(copy_from),
                         release=row.source == "exchange", arrived=row.arrived, waited=now - row.arrived,
                         attempts=self._attempts(row.assignment, row.student, row.arrived, number=row.attempt)
                         if row.attempt
                         else pages.Attempts(0, 0, 0), due=self._due_for(row.assignment, row.student),
                         confine=self.confine)
        self.journal.update(row.id, state="grading", started=now)
        process = multiprocessing.get_context("fork").Process(
            target=worker.run, args=(self.course, job, self.settings), daemon=False)
        process.start()
        self.running[row.id] = (process, now)
        what = "the final grade's submission again" if row.source == "final" else f"(waited {pages.duration(job.waited)})"
        self.say(f"{_now_words()} grading {row.student}'s {row.assignment} {what} (process {process.pid})")

    def reap(self):
        """Record the gradings that ended; stop those over the time limit. Return how many ended."""
        ended = 0
        for row_id, (process, started) in list(self.running.items()):
            row = self.journal.get(row_id)
            if process.exitcode is None:
                if time.time() - started > self.settings.time_limit_minutes * 60:
                    _signal_group(process, signal.SIGKILL)
                    process.join()
                    del self.running[row_id]
                    self._fail(row, f"its grading took longer than {self.settings.time_limit_minutes:g} minutes "
                                    "and was stopped.")
                    ended += 1
                continue
            process.join()
            del self.running[row_id]
            ended += 1
            result = worker.read_result(self._work(row_id))
            if result is not None:
                self._record(row, result)
            elif row.crashes + 1 < CRASHES_ALLOWED:
                self.journal.update(row_id, state="queued", started=None, crashes=row.crashes + 1)
                self.say(f"{_now_words()} the grading of {row.student}'s {row.assignment} ended without a result "
                         f"(exit code {process.exitcode}): queued again")
            else:
                self.journal.update(row_id, crashes=row.crashes + 1)
                self._fail(row, f"its grading ended without a result {row.crashes + 1} times.")
        return ended

    def _record(self, row, result):
        problems = " ".join(result["problems"])
        if result["release_problem"]:
            problems = f"{problems} Feedback not released: {result['release_problem']}".strip()
        self.journal.update(row.id, state=result["status"], finished=time.time(), score=result["score"],
                            max_score=result["max_score"], seconds_late=result["seconds_late"], message=problems)
        released = "feedback released" if result["released"] else ("no feedback released" if row.source != "final"
                                                                    else "the final grade")
        self.say(f"{_now_words()} {result['status']}: {row.student}'s {row.assignment}, {result['score']:g} of "
                 f"{result['max_score']:g} in {pages.duration(result['graded_in'])}; {released}")
        self._keep_final(row)

    def _fail(self, row, reason):
        """A grading that could not finish: zero points, the student told, the instructor too."""
        from mnistkit.gradebook import record_zero

        record_zero(self.course, row.assignment, row.student)
        folder = self.course.folder("submitted", row.assignment, row.student)
        Outcome(row.student, "failed", problems=[f"The grading service: {reason}"],
                submission_stamp=submission_stamp(folder)).save(self.course, row.assignment)
        self.journal.update(row.id, state="failed", finished=time.time(), score=0.0, message=reason)
        if row.source == "exchange":
            self._release(row, pages.failed_page(row.arrived, reason))
        self.say(f"{_now_words()} failed: {row.student}'s {row.assignment}: {reason}")
        self._keep_final(row)

    def _keep_final(self, row):
        """Under ``final = 'best'``: queue the policy's choice to be graded again when the gradebook does not hold it."""
        if self.settings.final != "best":
            return
        rows = self.journal.of_student(row.assignment, row.student)
        if any(other.state in WAITING for other in rows):
            return  # decided when the last of them is done
        graded = [other for other in rows if other.source != "final" and other.state == "graded"]
        if not graded:
            return
        on_time = [other for other in graded if not other.seconds_late]
        choice = max(on_time, key=lambda other: (other.score, other.arrived)) if on_time else graded[-1]
        held = row.copy_of if row.source == "final" else row.id
        if choice.id != held and choice.source == "exchange":
            self.journal.add(f"final:{choice.id}:after:{row.id}", "final", row.assignment, row.student, time.time(),
                             copy_of=choice.id)
            self.say(f"{_now_words()} queued: {row.student}'s {row.assignment} of {pages.moment(choice.arrived)} "
                     f"again, their best on time ({choice.score:g})")

    def _release(self, row, page):
        """Release a status page for an exchange submission (nbgrader's release_feedback)."""
        outbox = self._work(row.id) / "status"
        shutil.rmtree(outbox, ignore_errors=True)
        result = worker.release_page(self.course, row.assignment, row.student, outbox,
                                     self._work(row.id) / "submission", page)
        if "Feedback released to" not in result.get("log", ""):
            self.say(f"{_now_words()} {row.student} cannot be told about their {row.assignment} of "
                     f"{pages.moment(row.arrived)}: {worker.release_problem(result)}")


def _signal_group(process, signum):
    try:
        os.killpg(process.pid, signum)  # the grading and its kernels
    except (ProcessLookupError, PermissionError):
        pass


def serve(course, exit_when_idle=None, confine=True, say=print):
    """``python -m mnistkit serve``: run the grading service of ``course`` until stopped."""
    return Service(course, say=say, confine=confine).run(exit_when_idle)
