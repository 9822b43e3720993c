"""Running real `nbgrader` commands from the course's own Python environment."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """os.environ with this interpreter's bin/ first on PATH (nbgrader runs `alembic` from there)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def nbgrader(*args: str, cwd: Path, extra_env: dict[str, str] | None = None,
             check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` in `cwd` (a course root), capturing its output as text."""
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=environment(extra_env),
        capture_output=True, text=True, timeout=timeout,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result
