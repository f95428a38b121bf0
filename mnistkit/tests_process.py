"""The grader's side of deciding verdicts in a process that never runs student code.

Each graded notebook runs in two kernels, both confined alike (`mnistkit.sandbox`):

- the **student's kernel** runs the notebook's cells, the student's code among them;
- the **tests' kernel** runs every graded test cell, and nothing else: it starts in a folder
  holding only the course's own files, and the names a test uses from the notebook are proxies
  that call into the student's kernel (`mnistkit.kernel.tests_side`).

The two are joined by a Unix socket pair made here, one end passed to each kernel when it
starts; only data crosses it (`mnistkit.kernel.wire`). While a test cell runs in the tests'
kernel, the student's kernel runs `mnistkit.kernel.student_side.serve`, and what the student's
code prints meanwhile is added to the test cell's output as plain text.
"""

import asyncio
import socket

from jupyter_core.utils import ensure_async

from mnistkit.kernel import wire

TESTS_INSTALL = """\
import mnistkit.kernel.tests_side
mnistkit.kernel.tests_side.install({fd})
"""
SERVE = "__import__('mnistkit.kernel.student_side').kernel.student_side.serve({cell})"
# After the tests' cell ends, how long the student's kernel may take to stop serving (it is told at once), and
# then to answer an interrupt.
FINISH_SECONDS, INTERRUPTED_SECONDS = 2.0, 10.0


class TestsKernelError(RuntimeError):
    """The tests' kernel could not be started; the message says why."""


def socket_pair():
    """``(student's end, tests' end)``: a connected pair of Unix sockets, inheritable by the kernels."""
    student_end, tests_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    for end in (student_end, tests_end):
        end.set_inheritable(True)
        end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, wire.SOCKET_BUFFER_BYTES)
        end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wire.SOCKET_BUFFER_BYTES)
    return student_end, tests_end


class TestsKernel:
    """The tests' kernel of one notebook run: started beside the student's, stopped with it."""

    def __init__(self, manager, startup_timeout, extra_arguments):
        self.manager = manager
        self.client = None
        self.startup_timeout = startup_timeout
        self.extra_arguments = extra_arguments

    async def launch(self, cwd):
        """Start the kernel process (without waiting for it to answer), in ``cwd``."""
        await ensure_async(self.manager.start_kernel(extra_arguments=self.extra_arguments, cwd=cwd))

    async def ready(self, fd):
        """Wait until the kernel answers, then install the tests' side of the connection in it."""
        self.client = self.manager.client()
        await ensure_async(self.client.start_channels())
        await ensure_async(self.client.wait_for_ready(timeout=self.startup_timeout))
        self.client.allow_stdin = False
        reply = await self._run(TESTS_INSTALL.format(fd=fd))
        if reply["content"]["status"] != "ok":
            content = reply["content"]
            raise TestsKernelError(f"the tests' kernel could not start: {content.get('ename')}: {content.get('evalue')}")

    async def _run(self, code):
        message_id = self.client.execute(code, silent=True, store_history=False)
        while True:
            reply = await ensure_async(self.client.get_shell_msg(timeout=self.startup_timeout))
            if reply["parent_header"].get("msg_id") == message_id:
                return reply

    async def stop(self):
        try:
            if await ensure_async(self.manager.is_alive()):
                await ensure_async(self.manager.shutdown_kernel(now=True))
        except RuntimeError:
            pass
        finally:
            await ensure_async(self.manager.cleanup_resources())
            if self.client is not None:
                self.client.stop_channels()
                self.client = None


class Serving:
    """The student's kernel answering one test cell's calls: `serve` run there, its output collected."""

    def __init__(self, client, manager, cell):
        self.client, self.manager = client, manager
        self.messages = []  # the stream and display messages of the student's code, meanwhile
        self.state = "serving"
        self.message_id = client.execute(SERVE.format(cell=cell), silent=True, store_history=False)
        self.task = asyncio.ensure_future(self._collect())

    async def _collect(self):
        """Gather output until the student's kernel is idle again; then ``state`` is ``"done"`` (or ``"died"``)."""
        while True:
            try:
                message = await ensure_async(self.client.get_iopub_msg(timeout=1))
            except Exception:  # noqa: BLE001 (queue.Empty: nothing within a second)
                if not await ensure_async(self.manager.is_alive()):
                    self.state = "died"
                    return
                continue
            if message["parent_header"].get("msg_id") != self.message_id:
                continue
            kind = message["msg_type"]
            if kind in ("stream", "display_data"):
                self.messages.append(message)
            elif kind == "status" and message["content"].get("execution_state") == "idle":
                self.state = "done"
                return

    async def finish(self):
        """After the test cell: ``"done"``, ``"died"``, or ``"hung"`` (it answered no interrupt)."""
        for attempt, seconds in enumerate((FINISH_SECONDS, INTERRUPTED_SECONDS)):
            try:
                await asyncio.wait_for(asyncio.shield(self.task), seconds)
                return self.state
            except asyncio.TimeoutError:
                if attempt == 0:  # still in the student's code: stop it as a time limit would
                    await ensure_async(self.manager.interrupt_kernel())
        self.task.cancel()
        return "hung"


async def run_with_student_serving(execute_test, tests_manager, serving):
    """Run ``execute_test()`` (the test cell, in the tests' kernel) while the student's kernel serves it.

    If the student's kernel stops serving (its code ended `serve`, or it died) while the test
    still waits, the tests' kernel is interrupted after `INTERRUPTED_SECONDS`, so that a call
    that will never be answered fails then rather than at the cell's time limit.
    """
    test = asyncio.ensure_future(execute_test())
    await asyncio.wait({test, serving.task}, return_when=asyncio.FIRST_COMPLETED)
    if not test.done():
        done, _ = await asyncio.wait({test}, timeout=INTERRUPTED_SECONDS)
        if not done:
            await ensure_async(tests_manager.interrupt_kernel())
    return await test
