"""Student code under lock and key while it is graded: bubblewrap around the kernel.

Only the KERNEL (the process that runs the student's code) is sandboxed; nbgrader itself
needs the gradebook and runs as usual. In a grading run (`nbgrader autograde`, and so
`run.py grade-class`), nbgrader_config.py makes the execute preprocessor start kernels
through `SandboxKernelManager`, which launches

    python -m coursetools.sandbox [limits] -- python -m ipykernel_launcher -f CONNECTION_FILE

This launcher sets resource limits on itself and replaces itself with Debian's bubblewrap
(`/usr/bin/bwrap`), so the kernel runs

* with no network: a fresh network namespace (`--unshare-net`) holds only a loopback that
  is down; the kernel talks to nbgrader over Unix sockets (ZeroMQ `ipc` transport) in a
  private folder, which is the only host folder the kernel can write to;
* on a read-only file system that shows only the operating system (/usr, /etc), the Python
  installation and the packages the course's code imports (`course`, `autograder`, ...).
  The course root, the gradebook, source/, release/, submitted/, autograded/, the exchange,
  the instructor's home (except the Python installation under it) are simply absent;
* in its own working folder: a small tmpfs (default 64 MiB) holding read-only copies of
  the assignment's data files, and a private tmpfs /tmp; the autograded notebook (which
  holds the hidden tests) is not in it;
* in its own process namespace (`--unshare-pid`): it cannot see or signal other processes,
  and when the kernel is killed everything it started dies with it;
* as an unprivileged user (when grading runs as root: a per-kernel uid, no capabilities,
  no new privileges) with limits on address space (memory), number of processes and
  threads, CPU seconds, file size and open files (RLIMIT_AS, RLIMIT_NPROC, RLIMIT_CPU,
  RLIMIT_FSIZE, RLIMIT_NOFILE);
* in its own cgroup where grading runs as root and cgroups are writable (v1 or v2): a cap on
  its processes (pids.max), and in grade-class a CPU quota of CPUs / workers, so a fork bomb
  or a pool of spinning processes cannot starve the student graded next to it. The grading
  side also stops a sandbox the moment it reaches its process cap.

Where bubblewrap is missing (or `COURSE_SANDBOX_BWRAP=none`), grading still works with an
ordinary kernel and every grading run says loudly that student code ran UNSANDBOXED.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: Environment variable: path of the bwrap executable to use, or "none" to grade unsandboxed.
BWRAP_ENV = "COURSE_SANDBOX_BWRAP"
#: Environment variable: folder for the kernels' socket folders (default /tmp; grade-class sets its own).
RUNTIME_ENV = "COURSE_SANDBOX_RUNTIME"
#: Inside the sandbox: the kernel's working folder and its private /tmp.
WORKDIR = "/home/student"
#: Unprivileged uids used for sandboxed kernels when grading runs as root: each kernel gets
#: its own uid (from its launcher's pid), so the process limit counts only its own processes.
UID_BASE, UID_SPAN = 200_000, 100_000
#: The sandboxed kernel's own stdout/stderr, in its socket folder.
KERNEL_LOG = "kernel.log"
#: Environment variables passed into the sandbox (everything else is cleared).
PASS_ENV = ("NBGRADER_EXECUTION", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "MPLBACKEND", "PYTHONHASHSEED")
#: System folders shown read-only (when they exist).
SYSTEM_DIRS = ("/usr", "/etc", "/opt/conda")
#: Folders under those that stay hidden (Jupyter and hub configuration, ssh keys).
MASKED_DIRS = ("/etc/jupyter", "/etc/jupyterhub", "/etc/ssh", "/usr/local/etc/jupyter")
#: Editable-installed packages the kernel does not need (instructor tooling).
NOT_FOR_KERNELS = ("coursetools",)


@dataclass(frozen=True)
class Limits:
    """Resource caps for one sandboxed kernel."""

    memory_mb: int = 2048        # address space per process (RLIMIT_AS)
    processes: int = 128         # processes + threads of the kernel (RLIMIT_NPROC; process pools need room)
    cpu_seconds: int = 600       # CPU seconds per process (RLIMIT_CPU; SIGXCPU, then SIGKILL)
    file_mb: int = 64            # largest file it may write (RLIMIT_FSIZE)
    open_files: int = 256        # RLIMIT_NOFILE
    workdir_mb: int = 64         # size of its working folder and of its /tmp (tmpfs)

    def as_args(self) -> list[str]:
        return [f"--{name.replace('_', '-')}={value}" for name, value in vars(self).items()]


def find_bwrap() -> str | None:
    """The bubblewrap executable to use, or None (missing, or disabled with COURSE_SANDBOX_BWRAP=none)."""
    wanted = os.environ.get(BWRAP_ENV)
    if wanted is not None:
        if wanted.lower() in {"", "none", "off", "0", "false"}:
            return None
        return wanted if os.access(wanted, os.X_OK) else None
    return shutil.which("bwrap") or ("/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None)


def unavailable_reason() -> str | None:
    """Why kernels cannot be sandboxed here, or None when they can."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux (this is {sys.platform})"
    bwrap = find_bwrap()
    if bwrap is None:
        if os.environ.get(BWRAP_ENV) is not None:
            return f"{BWRAP_ENV}={os.environ[BWRAP_ENV]!r} (no usable bwrap there)"
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is missing, so the kernel could not drop root"
    return _smoke_test(bwrap)


_SMOKE: dict[str, str | None] = {}


def _smoke_test(bwrap: str) -> str | None:
    """Can bwrap make its namespaces here? (Containers often forbid user namespaces.)"""
    if bwrap not in _SMOKE:
        import subprocess

        command = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
                   "--unshare-net", "--die-with-parent"]
        if os.geteuid() != 0:
            command.append("--unshare-user")
        try:
            result = subprocess.run([*command, "--", sys.executable, "-c", "pass"], capture_output=True,
                                    text=True, timeout=30)
            _SMOKE[bwrap] = None if result.returncode == 0 else (
                f"bubblewrap cannot create its namespaces here: {result.stderr.strip()[:200]}")
        except (OSError, subprocess.SubprocessError) as error:
            _SMOKE[bwrap] = f"bubblewrap does not run here: {error}"
    return _SMOKE[bwrap]


def describe() -> str:
    """One line for logs and reports: sandboxed, or clearly not."""
    reason = unavailable_reason()
    if reason:
        return f"UNSANDBOXED: student code runs with the grader's own rights ({reason})"
    return ("sandboxed with bubblewrap: no network, read-only file system, private working folder, "
            "no access to the course files, caps on memory, processes and CPU time")


# --- what the kernel may see -----------------------------------------------------------

def _editable_package_dirs() -> list[str]:
    """Folders of packages installed in editable mode (the course's own packages)."""
    found = []
    for path in sys.path:
        for finder in glob.glob(os.path.join(path, "__editable__*finder.py")):
            text = Path(finder).read_text()
            start = text.find("MAPPING")
            if start < 0:
                continue
            try:
                mapping = json.loads(text[text.index("{", start):text.index("}", start) + 1].replace("'", '"'))
            except ValueError:
                continue
            found += [p for name, p in mapping.items() if os.path.isdir(p) and name not in NOT_FOR_KERNELS]
    return found


def readonly_paths(hidden: list[str]) -> list[str]:
    """Host folders shown read-only in the sandbox: system, Python, site-packages, course packages.

    Only these, never the launcher's working folder or other sys.path entries. `hidden` lists
    folders that must stay invisible (course root, home): a folder that is one of them or
    contains one of them is left out.
    """
    hidden_real = [os.path.realpath(h) for h in hidden if h]

    def exposes_hidden(path: str) -> bool:
        real = os.path.realpath(path)
        return any(real == h or h.startswith(real.rstrip(os.sep) + os.sep) for h in hidden_real)

    prefixes = {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix}
    wanted = [d for d in SYSTEM_DIRS if os.path.isdir(d)]
    wanted += list(prefixes)
    wanted += [p for p in sys.path if p and os.path.isdir(p)
               and (os.path.basename(p) in {"site-packages", "dist-packages"}
                    or any(os.path.realpath(p).startswith(os.path.realpath(x) + os.sep) for x in prefixes))]
    wanted += _editable_package_dirs()
    wanted += [os.path.dirname(os.path.realpath(sys.executable))]
    wanted = [p for p in wanted if not exposes_hidden(p)]
    unique: list[str] = []
    for path in sorted({os.path.realpath(p) for p in wanted} | {os.path.abspath(p) for p in wanted}):
        if not any(path.startswith(u.rstrip(os.sep) + os.sep) or path == u for u in unique):
            unique.append(path)
    return unique


def _root_symlinks() -> list[str]:
    """Merged-/usr systems: /bin, /lib, ... are symlinks into /usr; recreate them."""
    args = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = f"/{name}"
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def bwrap_command(kernel_cmd: list[str], *, bwrap: str, socket_dir: str, cwd: str,
                  limits: Limits, uid: int | None, hidden: list[str]) -> list[str]:
    """The bubblewrap command line that runs `kernel_cmd` in the sandbox."""
    args = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--hostname", "grading", "--unshare-cgroup-try"]
    if uid is None:  # unprivileged bwrap: a user namespace; RLIMIT_NPROC then counts only in it
        args += ["--unshare-user"]
    shown = readonly_paths(hidden)
    # Private /proc, /dev and /tmp first: a course or virtual environment that lives under /tmp
    # (a CI clone, say) is bound read-only on top of the private /tmp, not hidden by it.
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(limits.workdir_mb << 20), "--tmpfs", "/dev/shm",
             "--perms", "1777", "--size", str(limits.workdir_mb << 20), "--tmpfs", "/tmp"]
    # Parent folders made by bwrap copy the host's modes (/root is 0700): make them traversable.
    parents = sorted({str(parent) for path in shown for parent in Path(path).parents if str(parent) != "/"})
    for parent in parents:
        if not any(parent == s or parent.startswith(s + os.sep) for s in shown):
            args += ["--perms", "0755", "--dir", parent]
    for path in shown:
        args += ["--ro-bind", path, path]
    for path in MASKED_DIRS:
        if os.path.isdir(path) and any(path.startswith(s + os.sep) for s in shown):
            args += ["--tmpfs", path]
    args += _root_symlinks()
    args += ["--perms", "1777", "--size", str(limits.workdir_mb << 20), "--tmpfs", WORKDIR]
    # The assignment's data files (never the notebooks: the one being graded holds hidden tests).
    for entry in sorted(os.listdir(cwd)) if os.path.isdir(cwd) else []:
        if entry.startswith(".") or entry.endswith(".ipynb") or os.path.islink(os.path.join(cwd, entry)):
            continue
        args += ["--ro-bind", os.path.join(cwd, entry), f"{WORKDIR}/{entry}"]
    # The kernel's sockets and connection file: the only host folder it can write to.
    for parent in reversed(Path(socket_dir).parents):
        if str(parent) not in ("/", "/tmp"):
            args += ["--perms", "0755", "--dir", str(parent)]
    args += ["--bind", socket_dir, socket_dir, "--chdir", WORKDIR, "--clearenv"]
    env = {
        "HOME": WORKDIR, "USER": "student", "LOGNAME": "student", "TMPDIR": "/tmp",
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
        "IPYTHONDIR": "/tmp/.ipython", "MPLCONFIGDIR": "/tmp/.matplotlib",
        "JUPYTER_RUNTIME_DIR": "/tmp/.jupyter-runtime", "XDG_CACHE_HOME": "/tmp/.cache",
        "COURSE_SANDBOXED": "1",
        # ipykernel watches JPY_PARENT_PID and exits when it is gone; 1 means "no parent to watch".
        "JPY_PARENT_PID": "1",
    }
    env.update({k: os.environ[k] for k in PASS_ENV if k in os.environ})
    for key, value in env.items():
        args += ["--setenv", key, value]
    args.append("--")
    if uid is not None:
        args += [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}",
                 "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
    return args + kernel_cmd


def apply_limits(limits: Limits) -> None:
    """Set the resource limits on this process (inherited through exec by the kernel)."""
    mib = 1 << 20
    caps = {
        resource.RLIMIT_AS: limits.memory_mb * mib,
        resource.RLIMIT_NPROC: limits.processes,
        resource.RLIMIT_CPU: limits.cpu_seconds,
        resource.RLIMIT_FSIZE: limits.file_mb * mib,
        resource.RLIMIT_NOFILE: limits.open_files,
        resource.RLIMIT_CORE: 0,
    }
    for which, value in caps.items():
        hard = value + 5 if which == resource.RLIMIT_CPU else value  # SIGXCPU first, SIGKILL 5 s later
        _, current = resource.getrlimit(which)
        if current != resource.RLIM_INFINITY:  # never above what this process may have
            value, hard = min(value, current), min(hard, current)
        resource.setrlimit(which, (value, hard))


# --- cgroups: per-sandbox caps on CPU share and process count ---------------------------
# Resource limits are per process (or per uid); a fork bomb or a pool of spinning processes
# could still starve the student graded next to it. When grading runs as root and the
# cgroup file system is writable, each sandbox also gets its own cgroup: `pids.max` caps
# its processes, and, when COURSE_SANDBOX_CPUS is set (grade-class sets CPUs / workers), a
# CPU quota caps its share of the machine. Best effort: without cgroups the rlimits remain.

CGROUP_PARENT = "course-grading"
#: Environment variable: CPUs one sandbox may use (a float), for parallel grading runs.
CPUS_ENV = "COURSE_SANDBOX_CPUS"
_CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_dirs(name: str) -> dict[str, Path]:
    """controller -> the cgroup folder of sandbox `name` (cgroup v2: one folder for both)."""
    if (_CGROUP_ROOT / "cgroup.controllers").exists():
        folder = _CGROUP_ROOT / CGROUP_PARENT / name
        return {"cpu": folder, "pids": folder}
    return {c: _CGROUP_ROOT / c / CGROUP_PARENT / name for c in ("cpu", "pids")
            if (_CGROUP_ROOT / c / "cgroup.procs").exists()}


def join_cgroups(name: str, processes: int, cpus: float | None) -> list[str]:
    """Move this process into new cgroups for sandbox `name`; the caps that are in force."""
    if os.geteuid() != 0:
        return []
    applied = []
    v2 = (_CGROUP_ROOT / "cgroup.controllers").exists()
    for controller, folder in cgroup_dirs(name).items():
        try:
            if v2 and controller == "pids":  # same folder as "cpu", set up there
                continue
            if v2:
                folder.parent.mkdir(exist_ok=True)
                for parent in (_CGROUP_ROOT, folder.parent):
                    try:
                        (parent / "cgroup.subtree_control").write_text("+cpu +pids")
                    except OSError:
                        pass
            folder.mkdir(parents=True, exist_ok=True)
            if v2:
                if cpus:
                    (folder / "cpu.max").write_text(f"{int(cpus * 100_000)} 100000")
                    applied.append(f"{cpus:g} CPU")
                (folder / "pids.max").write_text(str(processes))
                applied.append(f"{processes} processes")
            elif controller == "cpu" and cpus:
                (folder / "cpu.cfs_period_us").write_text("100000")
                (folder / "cpu.cfs_quota_us").write_text(str(int(cpus * 100_000)))
                applied.append(f"{cpus:g} CPU")
            elif controller == "pids":
                (folder / "pids.max").write_text(str(processes))
                applied.append(f"{processes} processes")
            (folder / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            continue
    return applied


def remove_cgroups(name: str) -> None:
    """Remove sandbox `name`'s cgroups, killing whatever of it is still running."""
    import signal

    for folder in set(cgroup_dirs(name).values()):
        for attempt in range(60):
            try:
                folder.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                if attempt >= 10:  # the sandbox should be gone by now: make sure of it
                    try:
                        for pid in (folder / "cgroup.procs").read_text().split():
                            os.kill(int(pid), signal.SIGKILL)
                    except (OSError, ValueError):
                        pass
                time.sleep(0.05)


def remove_stale_cgroups() -> None:
    """Remove the empty cgroups that killed grading runs left behind (busy ones stay)."""
    for folder in {p.parent for p in cgroup_dirs("x").values()}:
        for child in folder.glob("gk-*") if folder.is_dir() else []:
            try:
                child.rmdir()
            except OSError:
                pass


def cgroup_processes(name: str) -> tuple[int, int] | None:
    """(processes now, cap) of sandbox `name`, when it has a pids cgroup."""
    folder = cgroup_dirs(name).get("pids")
    try:
        current = int((folder / "pids.current").read_text())
        cap = (folder / "pids.max").read_text().strip()
        return current, (int(cap) if cap != "max" else 1 << 30)
    except (OSError, ValueError, TypeError):
        return None


def launch(kernel_cmd: list[str], *, socket_dir: str, connection_file: str, limits: Limits,
           hidden: list[str]) -> None:
    """Replace this process with the sandboxed kernel (called by the kernel manager's command)."""
    bwrap = find_bwrap()
    if bwrap is None:
        raise SystemExit(f"sandbox: {unavailable_reason()}")
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
    cpus = float(os.environ[CPUS_ENV]) if os.environ.get(CPUS_ENV) else None
    applied = join_cgroups(os.path.basename(socket_dir), limits.processes, cpus)
    if applied:
        print(f"sandbox cgroup: {', '.join(applied)}", flush=True)
    apply_limits(limits)
    os.execv(bwrap, command)


# --- the kernel manager used by grading runs -----------------------------------------------

def _kernel_manager_class():
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Bool, Integer, List, Unicode

    class SandboxKernelManager(AsyncKernelManager):
        """Starts the kernel inside bubblewrap (see the module docstring), or plainly, loudly.

        Configure in nbgrader_config.py, e.g. `c.SandboxKernelManager.memory_mb = 1024`.
        """

        sandbox = Bool(True, help="Run kernels in the bubblewrap sandbox when it is available.").tag(config=True)
        memory_mb = Integer(Limits.memory_mb, help="Address space cap per process, MiB.").tag(config=True)
        processes = Integer(Limits.processes, help="Cap on processes and threads.").tag(config=True)
        cpu_seconds = Integer(Limits.cpu_seconds, help="CPU seconds per process.").tag(config=True)
        file_mb = Integer(Limits.file_mb, help="Largest file the kernel may write, MiB.").tag(config=True)
        open_files = Integer(Limits.open_files, help="Open files per process.").tag(config=True)
        workdir_mb = Integer(Limits.workdir_mb, help="Size of the working folder and /tmp, MiB.").tag(config=True)
        hidden_paths = List(Unicode(), help="Extra folders that must never be shown to the kernel.").tag(config=True)

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.sandbox_problem = unavailable_reason() if self.sandbox else "disabled in the configuration"
            self._socket_dir: str | None = None
            if self.sandboxed:
                self.transport = "ipc"
                self.cache_ports = False

        @property
        def sandboxed(self) -> bool:
            return self.sandbox_problem is None

        def limits(self) -> Limits:
            return Limits(self.memory_mb, self.processes, self.cpu_seconds, self.file_mb,
                          self.open_files, self.workdir_mb)

        @property
        def kernel_spec(self):
            spec = super().kernel_spec
            if spec is not None and self.sandboxed:
                # Interrupts travel as messages: a signal to the process group would reach
                # bubblewrap, not the kernel in its own process namespace.
                spec.interrupt_mode = "message"
            return spec

        async def _async_pre_start_kernel(self, **kw):
            if self.sandboxed:
                if self._socket_dir is None:  # kept across restarts: the connection file lives there
                    # Short path: Unix socket names are limited to about 100 characters.
                    runtime = os.environ.get(RUNTIME_ENV) or "/tmp"
                    self._socket_dir = tempfile.mkdtemp(prefix="gk-", dir=runtime if os.path.isdir(runtime) else "/tmp")
                    self.connection_file = os.path.join(self._socket_dir, "kernel.json")
                    self.ip = os.path.join(self._socket_dir, "k")
            return await super()._async_pre_start_kernel(**kw)

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            if not self.sandboxed:
                return cmd
            hidden = [os.getcwd(), os.path.expanduser("~"), *self.hidden_paths]
            return [sys.executable, "-m", "coursetools.sandbox", f"--socket-dir={self._socket_dir}",
                    f"--connection-file={self.connection_file}", *self.limits().as_args(),
                    *[f"--hide={h}" for h in hidden], "--", *cmd]

        def kernel_log_tail(self, chars: int = 2000) -> str:
            """The end of the kernel process's own stdout/stderr (sandboxed kernels only)."""
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
            if not restart and self._socket_dir:
                remove_cgroups(os.path.basename(self._socket_dir))
                shutil.rmtree(self._socket_dir, ignore_errors=True)
                self._socket_dir = None

        cleanup_resources = _async_cleanup_resources

    return SandboxKernelManager


def __getattr__(name: str):
    # Lazy: the launcher runs before every kernel and must start fast (stdlib only).
    if name == "SandboxKernelManager":
        cls = _kernel_manager_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m coursetools.sandbox",
                                     description="Start a kernel inside the grading sandbox.")
    parser.add_argument("--socket-dir", required=True)
    parser.add_argument("--connection-file", required=True)
    parser.add_argument("--hide", action="append", default=[])
    for name, value in vars(Limits()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=value)
    parser.add_argument("kernel", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    kernel = args.kernel[1:] if args.kernel[:1] == ["--"] else args.kernel
    limits = Limits(**{name: getattr(args, name) for name in vars(Limits())})
    launch(kernel, socket_dir=args.socket_dir, connection_file=args.connection_file,
           limits=limits, hidden=args.hide)


if __name__ == "__main__":
    main()
