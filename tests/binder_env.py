"""A Binder-like environment for a student edition, made without downloading anything.

Binder installs environment.yml into a fresh environment and runs postBuild in the
repository. Here: a venv without pip whose site-packages sees the packages already installed
for the course (not the course itself), with the Jupyter configuration and JupyterLab assets
those packages install, and a Jupyter user folder of its own; then the edition's real postBuild.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

JUPYTER_COMMANDS = ("jupyter", "jupyter-server", "jupyter-labextension", "jupyter-lab")


def _site_packages() -> Path:
    return next(p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_relative_to(sys.prefix))


def binder_environment(edition: Path, scratch: Path) -> tuple[Path, dict[str, str]]:
    """Run `edition`'s postBuild in a fresh environment under `scratch`: (its python, its os.environ)."""
    prefix = scratch / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    # the packages' own Jupyter configuration, as conda installs it (nbgrader enables its extensions there)
    shutil.copytree(Path(sys.prefix) / "etc" / "jupyter", prefix / "etc" / "jupyter")
    shared = Path(sys.prefix) / "share" / "jupyter"
    (prefix / "share" / "jupyter" / "lab").mkdir(parents=True)
    (prefix / "share" / "jupyter" / "labextensions").symlink_to(shared / "labextensions")
    for assets in ("static", "schemas", "themes"):
        (prefix / "share" / "jupyter" / "lab" / assets).symlink_to(shared / "lab" / assets)
    site = next((prefix / "lib").glob("python3*/site-packages"))
    (site / "course-dependencies.pth").write_text(_site_packages().as_posix() + "\n")
    for command in JUPYTER_COMMANDS:  # the same commands, run by this environment's python
        script = prefix / "bin" / command
        body = (Path(sys.executable).parent / command).read_text().split("\n", 1)[1]
        script.write_text(f"#!{prefix / 'bin' / 'python'}\n{body}")
        script.chmod(0o755)
    env = {**os.environ, "PATH": f"{prefix / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "JUPYTER_CONFIG_DIR": str(scratch / "user-config"), "JUPYTER_DATA_DIR": str(scratch / "user-data"),
           "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"), "MPLCONFIGDIR": str(scratch / "mpl")}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(["./postBuild"], cwd=edition, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation failed" not in result.stdout + result.stderr, result.stderr  # jupyter exits 0 even then
    return prefix / "bin" / "python", env
