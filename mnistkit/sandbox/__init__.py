"""Confining grading kernels; runs in the trusted grader.

`ConfinedKernelManager` starts every grading kernel inside a `KernelBox` (bubblewrap:
Linux namespaces, no capabilities, resource limits). `check_sandbox` says whether this
machine can do it, and what to install or change when it cannot.
"""

from mnistkit.sandbox.box import KernelBox, Limits, SandboxUnavailable, check_sandbox, prepared_data
from mnistkit.sandbox.kernel_manager import ConfinedKernelManager, FdPassingKernelManager

__all__ = ["ConfinedKernelManager", "FdPassingKernelManager", "KernelBox", "Limits", "SandboxUnavailable", "check_sandbox", "prepared_data"]
