"""Cgroups: per-sandbox caps on CPU share and process count.

Resource limits are per process (or per uid); a fork bomb or a pool of spinning processes
could still starve the student graded next to it. When grading runs as root and the cgroup
file system is writable (v1 or v2), each sandbox also gets its own cgroup: `pids.max` caps
its processes, and a CPU quota (`Limits.cpus`, when set) caps its share of the machine.
Best effort: without cgroups the resource limits remain.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

CGROUP_PARENT = "course-grading"
_CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_dirs(name: str) -> dict[str, Path]:
    """controller -> the cgroup folder of sandbox `name` (cgroup v2: one folder for both)."""
    if (_CGROUP_ROOT / "cgroup.controllers").exists():
        folder = _CGROUP_ROOT / CGROUP_PARENT / name
        return {"cpu": folder, "pids": folder}
    return {c: _CGROUP_ROOT / c / CGROUP_PARENT / name for c in ("cpu", "pids")
            if (_CGROUP_ROOT / c / "cgroup.procs").exists()}


def join_cgroups(name: str, processes: int, cpus: float) -> list[str]:
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

