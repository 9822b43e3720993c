"""The resource caps of one sandboxed kernel: declared once here, configured as traitlets.

`kernel_manager.SandboxKernelManager` gets one traitlet per field (same name, default and
help), and the launcher gets one command-line option per field, so a cap is added in one place.
"""
from __future__ import annotations

import resource
from dataclasses import dataclass, field, fields

MIB = 1 << 20


def _cap(default: int | float, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Limits:
    """Resource caps for one sandboxed kernel."""

    memory_mb: int = _cap(2048, "Address space cap per process, MiB (RLIMIT_AS).")
    processes: int = _cap(128, "Cap on the kernel's processes and threads (RLIMIT_NPROC and the pids cgroup; "
                               "process pools need room).")
    cpu_seconds: int = _cap(600, "CPU seconds per process (RLIMIT_CPU: SIGXCPU, then SIGKILL 5 s later).")
    file_mb: int = _cap(64, "Largest file the kernel may write, MiB (RLIMIT_FSIZE).")
    open_files: int = _cap(256, "Open files per process (RLIMIT_NOFILE).")
    workdir_mb: int = _cap(64, "Size of the kernel's working folder and of its /tmp (tmpfs), MiB.")
    cpus: float = _cap(0.0, "CPUs the kernel may use (a cgroup CPU quota where grading runs as root); "
                            "0 means no quota. grade-class's local cluster sets CPUs / workers.")

    def as_args(self) -> list[str]:
        """The launcher's command-line options for these caps."""
        return [f"--{f.name.replace('_', '-')}={getattr(self, f.name)}" for f in fields(self)]

    @classmethod
    def add_arguments(cls, parser) -> None:
        for f in fields(cls):
            parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default, help=f.metadata["help"])

    @classmethod
    def from_namespace(cls, namespace) -> "Limits":
        return cls(**{f.name: getattr(namespace, f.name) for f in fields(cls)})


def apply_limits(limits: Limits) -> None:
    """Set the resource limits on this process (inherited through exec by the kernel)."""
    caps = {
        resource.RLIMIT_AS: limits.memory_mb * MIB,
        resource.RLIMIT_NPROC: limits.processes,
        resource.RLIMIT_CPU: limits.cpu_seconds,
        resource.RLIMIT_FSIZE: limits.file_mb * MIB,
        resource.RLIMIT_NOFILE: limits.open_files,
        resource.RLIMIT_CORE: 0,
    }
    for which, value in caps.items():
        hard = value + 5 if which == resource.RLIMIT_CPU else value  # SIGXCPU first, SIGKILL 5 s later
        _, current = resource.getrlimit(which)
        if current != resource.RLIM_INFINITY:  # never above what this process may have
            value, hard = min(value, current), min(hard, current)
        resource.setrlimit(which, (value, hard))
