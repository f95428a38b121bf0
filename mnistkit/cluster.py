"""Grading on a Dask cluster: connecting to its scheduler, and what the course must be to use one.

The design: the course directory is shared by every machine at the same path (as the home and
course folders of a JupyterHub are, over NFS), and each Dask worker runs `grading.grade_one`
there, that is nbgrader's own autograde and feedback, with every kernel confined as on one
machine. Grades and feedback are therefore exactly nbgrader's. Workers on several machines
then write the gradebook at once, which SQLite cannot take over a network filesystem, so a
cluster needs a database server's gradebook (PostgreSQL).
"""

from sqlalchemy.engine import make_url

from mnistkit.course import Course
from mnistkit.gradebook import database_url

# c.ClassGrading.scheduler = "tcp://HOST:8786" in nbgrader_config.py: the default of --scheduler.
CONFIG_SECTION = "ClassGrading"


class ClusterUnavailable(RuntimeError):
    """Grading cannot run on the cluster asked for; the message says why and what to do."""


def configured_scheduler(course):
    """The scheduler address set in the course's nbgrader_config.py, or None."""
    return Course.of(course).config.get(CONFIG_SECTION, {}).get("scheduler") or None


def check_gradebook_for_cluster(course):
    """Refuse a SQLite gradebook: a cluster's workers, on several machines, all write it."""
    url = make_url(database_url(course))
    if url.get_backend_name() == "sqlite":
        raise ClusterUnavailable(
            f"The gradebook is a SQLite file ({url.database}). On a cluster every worker writes the gradebook, "
            "from several machines at once, and SQLite is not safe with writers on several machines or over a "
            "network filesystem. Use a PostgreSQL gradebook: set c.CourseDirectory.db_url = "
            "'postgresql+psycopg://USER:PASSWORD@HOST/DATABASE' in nbgrader_config.py (README: 'Large courses'), "
            "or grade on this machine alone, without --scheduler.")


def connect(address, timeout=10):
    """A `distributed.Client` of the scheduler at ``address`` with at least one worker, or `ClusterUnavailable`."""
    from distributed import Client

    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ClusterUnavailable(
            f"Cannot reach the Dask scheduler at {address}: {reason}. Start one with 'dask scheduler' and workers "
            "with 'dask worker ADDRESS --nthreads 1' (README: 'Large courses'), or grade on this machine alone, "
            "without --scheduler.") from None
    if not client.scheduler_info().get("workers"):
        client.close()
        raise ClusterUnavailable(f"The Dask scheduler at {address} has no workers: start some with "
                                 f"'dask worker {address} --nthreads 1'.")
    return client


def _worker_problem(course_dir, confine):
    """Run on a worker: what stops it from grading this course, in words, or None."""
    import os

    if not os.path.isfile(os.path.join(course_dir, "nbgrader_config.py")):
        return f"it cannot see the course directory {course_dir} (share it at the same path on every machine)"
    if confine:
        from mnistkit.grading import check_confinement
        from mnistkit.sandbox import SandboxUnavailable

        try:
            check_confinement(course_dir)
        except SandboxUnavailable as error:
            return str(error)
    return None


def check_workers(client, course, confine=True):
    """Make sure every worker sees the course and can confine kernels, before any student is given to one."""
    try:
        problems = client.run(_worker_problem, str(Course.of(course).root), confine)
    except Exception as error:  # a worker without this kit installed cannot even run the check
        raise ClusterUnavailable(f"The cluster's workers cannot run the grader: {error!r}. Install the course's "
                                 "requirements (pip install -r requirements.txt) on every worker machine.") from None
    broken = {worker: problem for worker, problem in problems.items() if problem}
    if broken:
        listed = "; ".join(f"worker {worker}: {problem}" for worker, problem in sorted(broken.items()))
        raise ClusterUnavailable(f"{len(broken)} of {len(problems)} workers cannot grade: {listed}")


def cluster_executor(client):
    """A `concurrent.futures.Executor` that runs each call once on a worker of ``client``'s cluster.

    ``pure=False``: grading the same student again is new work, never a cached result. A task
    whose worker dies is run again on another worker by the scheduler (up to Dask's
    ``distributed.scheduler.allowed-failures`` times, 3 by default).
    """
    return client.get_executor(pure=False)


