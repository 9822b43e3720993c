"""`python -m coursetools.sandbox`: the command the kernel manager runs instead of the kernel.

It sets the resource limits on itself, joins the sandbox's cgroups, sends its own output to
a log beside the kernel's sockets and replaces itself with bubblewrap running the kernel.
Standard library only: it runs before every kernel and must start fast.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import signal

from coursetools.sandbox.bubblewrap import UID_BASE, UID_SPAN, bwrap_command
from coursetools.sandbox.cgroups import join_cgroups
from coursetools.sandbox.limits import Limits, apply_limits

#: The sandboxed kernel's own stdout/stderr, in its socket folder.
KERNEL_LOG = "kernel.log"


PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    """Be killed when `parent` (the grader that starts this kernel) dies, even before bubblewrap runs.

    bubblewrap's --die-with-parent comes too late if the grader is killed while this launcher
    starts up: the kernel would then outlive it, orphaned. The death signal survives exec.
    """
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the grader died before the signal was set
        os._exit(1)


def launch(kernel_cmd: list[str], *, bwrap: str, socket_dir: str, connection_file: str, limits: Limits,
           hidden: list[str], parent: int | None = None) -> None:
    """Replace this process with the sandboxed kernel."""
    if parent is not None:
        die_with(parent)
    uid = None
    if os.geteuid() == 0:
        uid = UID_BASE + os.getpid() % UID_SPAN
        os.chown(socket_dir, uid, uid)
        os.chmod(socket_dir, 0o700)
        os.chown(connection_file, uid, uid)
    command = bwrap_command(kernel_cmd, bwrap=bwrap, socket_dir=socket_dir, cwd=os.getcwd(),
                            limits=limits, uid=uid, hidden=hidden)
    # The kernel's own stdout/stderr (not cell output: tracebacks of the kernel itself, forked
    # children's complaints) go to a log beside its sockets instead of the grader's terminal.
    log = os.open(os.path.join(socket_dir, KERNEL_LOG), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    applied = join_cgroups(os.path.basename(socket_dir), limits.processes, limits.cpus)
    if applied:
        print(f"sandbox cgroup: {', '.join(applied)}", flush=True)
    apply_limits(limits)
    os.execv(bwrap, command)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m coursetools.sandbox",
                                     description="Start a kernel inside the grading sandbox.")
    parser.add_argument("--bwrap", required=True, help="the bubblewrap executable")
    parser.add_argument("--socket-dir", required=True)
    parser.add_argument("--connection-file", required=True)
    parser.add_argument("--hide", action="append", default=[])
    parser.add_argument("--parent", type=int, help="the grader's process id: the kernel dies with it")
    Limits.add_arguments(parser)
    parser.add_argument("kernel", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    kernel = args.kernel[1:] if args.kernel[:1] == ["--"] else args.kernel
    launch(kernel, bwrap=args.bwrap, socket_dir=args.socket_dir, connection_file=args.connection_file,
           limits=Limits.from_namespace(args), hidden=args.hide, parent=args.parent)
