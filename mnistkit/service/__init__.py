"""The grading service, ``python -m mnistkit serve``: feedback while it still helps. Runs in the trusted grader.

It watches nbgrader's exchange (and ``submitted/``), grades each new submission with the kit's
confined grading as it arrives, and releases its feedback with nbgrader's own ``release_feedback``,
so a student fetches it with ``fetch_feedback`` (JupyterLab's Assignments list) before the deadline.

- `settings`: what the instructor chooses (``c.GradingService`` in ``nbgrader_config.py``): what the
  feedback shows, the attempts per period, which submission makes the final grade;
- `journal`: every submission the service has seen and what became of it (SQLite, ``service/journal.db``),
  so that a restart grades nothing twice and misses nothing;
- `pages`: what a student reads: the notice on their feedback, and the pages for a submission that
  waits in the queue or is not graded;
- `worker`: one grading, in a process of its own (a crash or a time-out costs only that grading);
- `loop`: the service itself: notice, queue in order of arrival, dispatch, reap, release.
"""

from mnistkit.service.settings import GradingService, ServiceError

__all__ = ["GradingService", "ServiceError"]
