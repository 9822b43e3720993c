"""Student code under lock and key while it is graded: bubblewrap around the kernel.

Only the KERNEL (the process that runs the student's code) is sandboxed; nbgrader itself
needs the gradebook and runs as usual. In a grading run (`nbgrader autograde`, and so
`run.py grade-class`), nbgrader_config.py makes the execute preprocessor start kernels
through `kernel_manager.SandboxKernelManager`, which launches

    python -m coursetools.sandbox [limits] -- python -m ipykernel_launcher -f CONNECTION_FILE

This launcher (`launcher.py`) sets resource limits on itself (`limits.py`), joins its own
cgroups (`cgroups.py`) and replaces itself with Debian's bubblewrap (`bubblewrap.py`), so
the kernel runs

* with no network: a fresh network namespace (`--unshare-net`) holds only a loopback that
  is down; the kernel talks to nbgrader over Unix sockets (ZeroMQ `ipc` transport) in a
  private folder, which is the only host folder the kernel can write to;
* on a read-only file system that shows only the operating system (/usr, /etc), the Python
  installation and the packages the course's code imports (`course`, `autograder`, ...).
  The course root, the gradebook, source/, release/, submitted/, autograded/, the exchange,
  the instructor's home (except the Python installation under it) are simply absent;
* in its own working folder: a small tmpfs holding read-only copies of the assignment's
  data files, and a private tmpfs /tmp; the autograded notebook (which holds the hidden
  tests) is not in it;
* in its own process namespace (`--unshare-pid`): it cannot see or signal other processes,
  and when the kernel is killed everything it started dies with it;
* as an unprivileged user (when grading runs as root: a per-kernel uid, no capabilities,
  no new privileges) with limits on address space (memory), number of processes and
  threads, CPU seconds, file size and open files;
* in its own cgroup where grading runs as root and cgroups are writable (v1 or v2): a cap on
  its processes (pids.max), and a CPU quota when `SandboxKernelManager.cpus` is set
  (grade-class sets CPUs / workers on its local cluster), so a fork bomb or a pool of
  spinning processes cannot starve the student graded next to it. The grading side also
  stops a sandbox the moment it reaches its process cap.

Every setting is a traitlet of `SandboxKernelManager` (nbgrader's configuration); the caps
are declared once, in `limits.Limits`. Where bubblewrap is missing (or
`c.SandboxKernelManager.sandbox = False`), grading still works with an ordinary kernel and
every grading run says loudly that student code ran UNSANDBOXED.
"""
from coursetools.sandbox.cgroups import cgroup_dirs, join_cgroups, remove_cgroups  # noqa: E402,F401 (benchmarks use them)
