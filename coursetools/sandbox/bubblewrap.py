"""Bubblewrap: is it usable here, and the command line that runs a kernel inside it."""
from __future__ import annotations

import glob
import json
import os
import shutil
import sys
from pathlib import Path

from coursetools.sandbox.limits import Limits

#: Inside the sandbox: the kernel's working folder and its private /tmp.
WORKDIR = "/home/student"
#: Unprivileged uids used for sandboxed kernels when grading runs as root: each kernel gets
#: its own uid (from its launcher's pid), so the process limit counts only its own processes.
UID_BASE, UID_SPAN = 200_000, 100_000
#: Environment variables passed into the sandbox (everything else is cleared).
PASS_ENV = ("NBGRADER_EXECUTION", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "MPLBACKEND", "PYTHONHASHSEED")
#: System folders shown read-only (when they exist).
SYSTEM_DIRS = ("/usr", "/etc", "/opt/conda")
#: Folders under those that stay hidden (Jupyter and hub configuration, ssh keys).
MASKED_DIRS = ("/etc/jupyter", "/etc/jupyterhub", "/etc/ssh", "/usr/local/etc/jupyter")
#: Editable-installed packages the kernel does not need (instructor tooling).
NOT_FOR_KERNELS = ("coursetools",)


def find_bwrap(configured: str = "") -> str | None:
    """The bubblewrap executable: `configured` (a path) when given, else bwrap on PATH; None when missing."""
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("bwrap") or ("/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None)


def unavailable_reason(configured: str = "") -> str | None:
    """Why kernels cannot be sandboxed here, or None when they can."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux (this is {sys.platform})"
    bwrap = find_bwrap(configured)
    if bwrap is None:
        if configured:
            return f"no usable bwrap at {configured!r} (SandboxKernelManager.bwrap)"
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


def describe(problem: str | None) -> str:
    """One line for logs and reports: sandboxed, or clearly not (`problem`: why not)."""
    if problem:
        return f"UNSANDBOXED: student code runs with the grader's own rights ({problem})"
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

