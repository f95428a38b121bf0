"""Command line: ``python -m mnistkit COMMAND`` (run ``python -m mnistkit --help``)."""

import argparse
import signal
import sys
from pathlib import Path

from mnistkit.cluster import ClusterUnavailable
from mnistkit.course import COURSE_ROOT, Course, NbgraderError
from mnistkit.deadlines import DeadlineError
from mnistkit.lms import LmsError
from mnistkit.gradebook import GradebookUnavailable
from mnistkit.sandbox import SandboxUnavailable
from mnistkit.service import ServiceError


def default_course():
    """The course directory the command is run in (nbgrader's own rule), else the kit's own."""
    here = Path.cwd()
    return here if (here / "nbgrader_config.py").is_file() and (here / "source").is_dir() else COURSE_ROOT


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mnistkit", description="Instructor tools of the MNIST course")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course", type=Path, default=default_course(),
                        help="course directory (default: the current folder if it is one, else the kit's own)")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", parents=[common],
                               help="grade the bundled demo class end to end and print the grades")
    demo.add_argument("--workers", type=int, default=None, help="parallel graders (default: the machine's cores)")

    grade = commands.add_parser("grade", parents=[common], help="grade every submission: autograde, feedback, grades.csv, report")
    grade.add_argument("assignment", nargs="?", default=None,
                       help="the assignment to grade (default: every assignment that has submissions)")
    grade.add_argument("--student", action="append", dest="students", metavar="ID",
                       help="grade only this student (repeat for several)")
    grade.add_argument("--workers", type=int, default=None, help="parallel graders (default: the machine's cores)")
    grade.add_argument("--skip-graded", action="store_true",
                       help="leave students whose current submission is already graded")
    grade.add_argument("--zip", type=Path, metavar="FILE",
                       help="first collect the submissions in this zip downloaded from a learning-management system")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on the Dask cluster of this scheduler, e.g. tcp://HOST:8786 (default: "
                            "c.ClassGrading.scheduler in nbgrader_config.py, else this machine's processes)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="grade without confining student code (it then runs with your rights); "
                            "only where the machine cannot confine it")

    report = commands.add_parser(
        "report", parents=[common],
        help="after manual grading in Formgrader: write the feedback, grades.csv and the report again from the gradebook")
    report.add_argument("assignment", nargs="?", default=None,
                        help="the assignment whose feedback to write again (default: every assignment with submissions)")

    extend = commands.add_parser(
        "extend", parents=[common],
        help="give a student more time for an assignment (kept in extensions.csv, shown in the report); "
             "it replaces any earlier extension, and 0 days removes it")
    extend.add_argument("assignment")
    extend.add_argument("student")
    length = extend.add_mutually_exclusive_group(required=True)
    length.add_argument("--days", type=float, help="days after the assignment's due date")
    length.add_argument("--hours", type=float, help="hours after the assignment's due date")
    length.add_argument("--until", metavar="DATE", help='their own due date, e.g. "2026-12-14 17:00 UTC"')
    extend.add_argument("--reason", default="", help="why (required; the report shows it)")

    lms = commands.add_parser(
        "lms", parents=[common],
        help="write the grades (after late penalties) for a learning-management system's gradebook import: "
             "lms/canvas_grades.csv or lms/moodle_grades.csv, mapped through its roster in lms/")
    lms.add_argument("system", choices=["canvas", "moodle"])
    lms.add_argument("--roster", type=Path, default=None,
                     help="the LMS's own gradebook export (default: lms/canvas_roster.csv or lms/moodle_roster.csv)")

    serve = commands.add_parser(
        "serve", parents=[common],
        help="the grading service: grade each submission as it arrives in nbgrader's exchange (or submitted/) and "
             "release its feedback at once, as c.GradingService in nbgrader_config.py says; Ctrl-C stops it")
    serve.add_argument("--workers", type=int, default=None,
                       help="submissions graded at once (default: c.GradingService.workers, else the machine's cores)")
    serve.add_argument("--exit-when-idle", type=float, metavar="SECONDS", default=None,
                       help="stop once nothing arrived or was graded for this long (default: serve until stopped)")
    serve.add_argument("--no-sandbox", action="store_true",
                       help="grade without confining student code (it then runs with your rights)")

    hub = commands.add_parser("hub", help="run the course's JupyterHub, as root: every person of hub.toml logs in "
                                          "to a server of their own account; each course's Formgrader is a service")
    hub.add_argument("--roster", type=Path, default=COURSE_ROOT / "hub.toml",
                     help="the courses and their people (default: hub.toml here)")
    hub.add_argument("--root", type=Path, default=None,
                     help="the hub's folder: exchange, data, settings, state (default: /srv/mnistkit-hub)")
    hub.add_argument("--ip", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    hub.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")

    arguments = parser.parse_args(argv)
    # Ctrl-C finishes the students being graded (see grading.py), even where the shell that started
    # this command ignores SIGINT, as a script's background jobs do.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_as_interrupted)  # SIGTERM (a scheduler, systemd) stops it as Ctrl-C does
    if arguments.command == "hub":
        from mnistkit.hub import machine
        from mnistkit.hub.running import serve

        return serve(arguments.roster, arguments.root or machine.DEFAULT_ROOT, arguments.ip, arguments.port)
    if not (arguments.course / "nbgrader_config.py").is_file():
        parser.error(f"{arguments.course.resolve()} is not a course directory: it has no nbgrader_config.py")
    course = Course(arguments.course)

    try:
        if arguments.command == "demo":
            from mnistkit.demo import grade_demo_class

            grade_demo_class(course, workers=arguments.workers)
        elif arguments.command == "grade":
            from mnistkit.gradebook import read_grades
            from mnistkit.intake.archives import ArchiveRefused, collect_zip

            if arguments.zip:
                if arguments.assignment is None:
                    parser.error("--zip needs the assignment its submissions belong to: grade ASSIGNMENT --zip FILE")
                try:
                    print("\n".join(collect_zip(course, arguments.assignment, arguments.zip).summary()))
                except ArchiveRefused as error:
                    print(f"error: {error}", file=sys.stderr)
                    return 1
            result = _grade(course, arguments)
            if not result.outcomes:
                print(f"No submissions to grade in {course.step_folder('submitted')}.")
                return 0
            for assignment in result.outcomes:
                print(f"\n{assignment}\n" + read_grades(course, assignment).format())
            print("\n" + _course_report(course))
            print(f"Graded {len(result.graded_now)} submission(s) in {result.seconds:.1f} s. "
                  f"Grades: {result.grades_csv}")
        elif arguments.command == "serve":
            return _serve(course, arguments)
        elif arguments.command == "extend":
            return _extend(course, arguments)
        elif arguments.command == "lms":
            return _lms(course, arguments)
        elif arguments.command == "report":
            from mnistkit.deadlines import settle
            from mnistkit.gradebook import export_grades
            from mnistkit.grading import assignments_to_grade, refresh_feedback

            for assignment in assignments_to_grade(course, arguments.assignment):
                settle(course, assignment)  # extensions granted since, and penalties of changed scores
                print(f"{assignment}: feedback written again for {refresh_feedback(course, assignment)} student(s).")
            print(f"Grades: {export_grades(course)}")
            print(_course_report(course))
    except (NbgraderError, FileNotFoundError, SandboxUnavailable, ClusterUnavailable, GradebookUnavailable,
            DeadlineError, LmsError, ServiceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted. Students finished so far are recorded; run the same command with "
              "--skip-graded to grade the rest.", file=sys.stderr)
        return 130
    return 0


def _stop_as_interrupted(*_):
    raise KeyboardInterrupt


def _extend(course, arguments):
    """Grant (or remove) one extension; say what the student's due date now is, and what to run next."""
    from mnistkit.deadlines import due_date, grant_extension, hours_until, parse_moment, settle

    if arguments.until is not None:
        hours = hours_until(course, arguments.assignment, parse_moment(arguments.until))
    else:
        hours = arguments.hours if arguments.hours is not None else arguments.days * 24
    granted = grant_extension(course, arguments.assignment, arguments.student, hours, arguments.reason)
    due = due_date(course, arguments.assignment)
    if granted is None:
        print(f"{arguments.student} has no extension of {arguments.assignment} now.")
    else:
        until = f" (due for them {due + granted.interval:%Y-%m-%d %H:%M} UTC)" if due else ""
        print(f"{arguments.student} has {granted.in_words.split(':')[0]} more for {arguments.assignment}{until}: "
              f"{granted.reason}")
    if arguments.student in settle(course, arguments.assignment):  # already in the gradebook: Formgrader shows it
        print("Their submission is graded: run python -m mnistkit report to write their grades and feedback again.")
    return 0


def _serve(course, arguments):
    """Run the grading service until Ctrl-C or SIGTERM."""
    from mnistkit.grading import check_confinement
    from mnistkit.service import GradingService
    from mnistkit.service.loop import Service

    settings = GradingService(config=course.config)
    if arguments.workers is not None:
        settings.workers = arguments.workers
    if not arguments.no_sandbox:
        check_confinement(course)
    service = Service(course, settings, say=lambda line: print(line, flush=True), confine=not arguments.no_sandbox)
    return service.run(arguments.exit_when_idle)


def _lms(course, arguments):
    """Write one LMS's import file from the gradebook, penalties settled first; say what it holds."""
    from mnistkit.deadlines import settle
    from mnistkit.grading import assignments_to_grade
    from mnistkit.lms import canvas_csv, moodle_csv

    for assignment in assignments_to_grade(course):
        settle(course, assignment)
    written = (canvas_csv if arguments.system == "canvas" else moodle_csv)(course, arguments.roster)
    print(f"Wrote {written.path}: the final scores of {written.students} student(s), each assignment and the "
          "course total.")
    if written.blank:
        print(f"Left blank, not in nbgrader's gradebook: {', '.join(written.blank)}.")
    return 0


def _course_report(course):
    """Write the class report of every assignment with submissions (also those not graded in this run); its summary."""
    from mnistkit.grading import assignments_to_grade
    from mnistkit.records import load_outcomes
    from mnistkit.report import write_report

    return write_report(course, {name: load_outcomes(course, name) for name in assignments_to_grade(course)})


def _grade(course, arguments):
    """`grade_class` on this machine's processes, or on the Dask cluster asked for."""
    from mnistkit.cluster import (
        check_gradebook_for_cluster, check_workers, cluster_executor, configured_scheduler, connect,
    )
    from mnistkit.grading import grade_class

    scheduler = arguments.scheduler or configured_scheduler(course)
    options = dict(students=arguments.students, workers=arguments.workers, skip_graded=arguments.skip_graded,
                   progress=not arguments.no_progress, confine=not arguments.no_sandbox)
    if not scheduler:
        return grade_class(course, arguments.assignment, **options)
    check_gradebook_for_cluster(course)
    client = connect(scheduler)
    try:
        check_workers(client, course, confine=not arguments.no_sandbox)
        workers = len(client.scheduler_info()["workers"])
        print(f"Grading on the Dask cluster at {scheduler} ({workers} workers).")
        return grade_class(course, arguments.assignment, executor=cluster_executor(client), **options)
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
