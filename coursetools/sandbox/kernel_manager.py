"""The kernel manager of grading runs: starts each kernel inside the sandbox, or plainly, loudly.

Configure it in nbgrader_config.py, e.g. `c.SandboxKernelManager.memory_mb = 1024` (one
traitlet per field of `limits.Limits`), `c.SandboxKernelManager.sandbox = False` (grade
without the sandbox), `c.SandboxKernelManager.bwrap = "/opt/bin/bwrap"`.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import fields

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Float, Integer, List, Unicode
from traitlets.config import Configurable

from coursetools.sandbox.bubblewrap import describe, find_bwrap, unavailable_reason
from coursetools.sandbox.cgroups import cgroup_processes, remove_cgroups
from coursetools.sandbox.launcher import KERNEL_LOG
from coursetools.sandbox.limits import Limits

#: One configurable trait per resource cap, with the cap's own default and help.
SandboxLimits = type("SandboxLimits", (Configurable,), {
    f.name: (Float if isinstance(f.default, float) else Integer)(f.default, help=f.metadata["help"]).tag(config=True)
    for f in fields(Limits)
})


class SandboxKernelManager(SandboxLimits, AsyncKernelManager):
    """Starts the kernel inside bubblewrap (see the package docstring), or plainly, loudly."""

    sandbox = Bool(True, help="Run kernels in the bubblewrap sandbox when it is available.").tag(config=True)
    bwrap = Unicode("", help="The bubblewrap executable (default: bwrap on PATH).").tag(config=True)
    runtime_dir = Unicode("", help="Folder for the kernels' socket folders (default: the temporary "
                                   "folder); short, since Unix socket paths are limited.").tag(config=True)
    hidden_paths = List(Unicode(), help="Extra folders that must never be shown to the kernel.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.sandbox_problem = unavailable_reason(self.bwrap) if self.sandbox else "disabled in the configuration"
        self._socket_dir: str | None = None
        self._log_file = None
        if self.sandboxed:
            self.transport = "ipc"
            self.cache_ports = False

    @property
    def sandboxed(self) -> bool:
        return self.sandbox_problem is None

    def describe(self) -> str:
        """One line for logs and reports: sandboxed, or clearly not."""
        return describe(self.sandbox_problem)

    def limits(self) -> Limits:
        return Limits(**{f.name: getattr(self, f.name) for f in fields(Limits)})

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None and self.sandboxed:
            # Interrupts travel as messages: a signal to the process group would reach
            # bubblewrap, not the kernel in its own process namespace.
            spec.interrupt_mode = "message"
        return spec

    async def _async_pre_start_kernel(self, **kw):
        if self._socket_dir is None:  # kept across restarts: the connection file lives there
            runtime = self.runtime_dir if os.path.isdir(self.runtime_dir) else tempfile.gettempdir()
            self._socket_dir = tempfile.mkdtemp(prefix="gk-", dir=runtime)
            if self.sandboxed:
                self.connection_file = os.path.join(self._socket_dir, "kernel.json")
                self.ip = os.path.join(self._socket_dir, "k")
        if not self.sandboxed:
            # The kernel's own stdout/stderr go to its log, as in the sandbox (the launcher does it there).
            if self._log_file is None:
                self._log_file = open(os.path.join(self._socket_dir, KERNEL_LOG), "ab")
            kw.setdefault("stdout", self._log_file)
            kw.setdefault("stderr", self._log_file)
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if not self.sandboxed:
            return cmd
        hidden = [os.getcwd(), os.path.expanduser("~"), *self.hidden_paths]
        return [sys.executable, "-m", "coursetools.sandbox", f"--bwrap={find_bwrap(self.bwrap)}",
                f"--socket-dir={self._socket_dir}", f"--connection-file={self.connection_file}", f"--parent={os.getpid()}",
                *self.limits().as_args(), *[f"--hide={h}" for h in hidden], "--", *cmd]

    def kernel_log_tail(self, chars: int = 2000) -> str:
        """The end of the kernel process's own stdout/stderr."""
        if not self._socket_dir:
            return ""
        try:
            with open(os.path.join(self._socket_dir, KERNEL_LOG), "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - chars))
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def process_count(self) -> tuple[int, int] | None:
        """(processes now, cap) of the sandbox, when cgroups track them."""
        return cgroup_processes(os.path.basename(self._socket_dir)) if self._socket_dir else None

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if not restart and self._socket_dir:
            remove_cgroups(os.path.basename(self._socket_dir))
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    cleanup_resources = _async_cleanup_resources
