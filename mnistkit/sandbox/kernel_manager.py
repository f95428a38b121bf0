"""Jupyter kernel managers: one that hands a kernel a file descriptor, and one whose kernels start confined.

nbclient (and so nbgrader's Execute) starts kernels through a ``KernelManager``; this one
wraps the kernel's command in a `KernelBox` before it is launched, so no student code ever
runs unconfined. The kernel talks to the grader over Unix sockets in its box's channel
folder (ZeroMQ's ``ipc`` transport), since it has no network.
"""

import os
import signal
import subprocess
import threading

from jupyter_client.manager import AsyncKernelManager
from traitlets import Any, Instance, Tuple, Unicode

from mnistkit.sandbox.box import KernelBox, Limits


class FdPassingKernelManager(AsyncKernelManager):
    """Starts a kernel that inherits the file descriptors ``pass_fds`` (its end of the tests' connection)."""

    pass_fds = Tuple(help="File descriptors the kernel process inherits, at the same numbers")
    data_folder = Any(None, help="Folder with the verified course data, mounted read-only (or None)")

    async def _async_pre_start_kernel(self, **kw):
        kernel_command, kw = await super()._async_pre_start_kernel(**kw)
        if self.pass_fds:
            kw["pass_fds"] = tuple(self.pass_fds)
        return kernel_command, kw


class ConfinedKernelManager(FdPassingKernelManager):
    """Starts each kernel in a fresh `KernelBox` and deletes the box when the kernel is gone."""

    limits = Instance(Limits, args=())
    bwrap = Unicode("bwrap", help="The bubblewrap command")

    box = None
    stopped_for = None  # why the grader stopped the kernel, or None
    WATCH_SECONDS = 0.2  # how often its channel folder is looked at

    async def _async_pre_start_kernel(self, **kw):
        self._remove_box()
        self.box = KernelBox(kw.get("cwd") or ".", self.data_folder, self.limits, self.bwrap)
        self.transport = "ipc"
        self.ip = str(self.box.channels / "kernel")
        self.connection_file = str(self.box.channels / "kernel.json")
        kw["cwd"] = str(self.box.root)  # bwrap's own; the kernel starts in its submission copy
        kernel_command, kw = await super()._async_pre_start_kernel(**kw)
        kw["env"] = {"PATH": self.box.environment()["PATH"]}  # bwrap needs nothing of the grader's
        kw["stdout"] = subprocess.DEVNULL  # the kernel's start-up notices; cell output travels over its channels
        return self.box.command(kernel_command), kw

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        self.stopped_for = None
        box, pid = self.box, self.provisioner.process.pid
        threading.Thread(target=self._watch_channel_folder, args=(box, pid), daemon=True).start()

    def _watch_channel_folder(self, box, pid):
        """Stop the kernel (and so its whole box) as soon as its channel folder holds more than it should."""
        while self.box is box:
            why = box.channel_folder_overflows()
            if why:
                self.stopped_for = why
                try:
                    os.kill(pid, signal.SIGKILL)  # the box's outermost process: everything in it dies with it
                except ProcessLookupError:
                    pass
                return
            threading.Event().wait(self.WATCH_SECONDS)

    async def _async_interrupt_kernel(self):
        # The launched process is bwrap, which a SIGINT would kill: ask the kernel itself instead.
        if self.has_kernel:
            message = self.session.msg("interrupt_request", content={})
            self._connect_control_socket()
            self.session.send(self._control_socket, message)
        else:
            await super()._async_interrupt_kernel()

    interrupt_kernel = _async_interrupt_kernel  # AsyncKernelManager binds the base class's method by name

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        self._remove_box()

    cleanup_resources = _async_cleanup_resources  # likewise; nbclient calls it after a kernel died

    def _remove_box(self):
        if self.box is not None:
            self.box.remove()
            self.box = None
