#!/usr/bin/env python3
"""One entry point for students, instructors and maintainers.

    python3 run.py lab        set up (first time only) and open the course in JupyterLab
    python3 run.py test       set up (first time only) and run the whole test suite
    python3 run.py regenerate rebuild index.ipynb, navigation cells and release/ from source/
    python3 run.py student-edition DIR   write the public student copy of the course to DIR
    python3 run.py grade-class ASSIGNMENT [--workers N]   autograde a whole class in parallel

Only the standard library is used here: this file creates `.venv/`, installs the tested
set of packages from `constraints.txt` into it, and hands over to the tools inside it.
A second run skips the installation unless pyproject.toml or constraints.txt changed.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
MIN_PYTHON = (3, 11)
# Debian packages the test suite needs: a real browser and the grading sandbox.
TEST_SYSTEM_PACKAGES = {"chromium": "/usr/bin/chromium", "bubblewrap": "/usr/bin/bwrap"}


def say(message: str) -> None:
    print(f"[run.py] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[run.py] error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apt_install(packages: list[str]) -> None:
    if not packages:
        return
    if not shutil.which("apt-get"):
        fail(f"please install these system packages: {' '.join(packages)}")
    prefix = [] if is_root() else (["sudo"] if shutil.which("sudo") else None)
    if prefix is None:
        fail(f"please install these Debian packages as root: apt-get install {' '.join(packages)}")
    say(f"installing Debian packages: {' '.join(packages)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
                   check=True, env=env, stdout=subprocess.DEVNULL)


def create_venv() -> None:
    if VENV_PYTHON.exists():
        return
    if sys.version_info < MIN_PYTHON:
        fail(f"the course needs Python {'.'.join(map(str, MIN_PYTHON))} or newer; this is {sys.version.split()[0]}")
    say("creating a virtual environment in .venv/")
    if subprocess.run([sys.executable, "-m", "venv", str(VENV)]).returncode != 0:
        # Debian ships venv separately from python3.
        shutil.rmtree(VENV, ignore_errors=True)
        apt_install([f"python3.{sys.version_info.minor}-venv"])
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)


def install_packages(extras: str) -> None:
    """Install the course (editable) with the pinned, tested set of dependencies."""
    fingerprint = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        fingerprint.update((ROOT / name).read_bytes())
    fingerprint.update(extras.encode())
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == fingerprint.hexdigest():
        return
    say(f"installing the course's packages into .venv/ ({extras or 'base'} set)")
    pip = [str(VENV_PYTHON), "-m", "pip", "--disable-pip-version-check", "-q"]
    target = f".[{extras}]" if extras else "."
    subprocess.run([*pip, "install", "-c", "constraints.txt", "-e", target], cwd=ROOT, check=True)
    stamp.write_text(fingerprint.hexdigest())


def ensure_test_system_packages() -> None:
    missing = [pkg for pkg, path in TEST_SYSTEM_PACKAGES.items() if not Path(path).exists()]
    apt_install(missing)


def in_venv(*args: str) -> list[str]:
    return [str(VENV_PYTHON), *args]


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("lab", [])
    create_venv()
    if command == "lab":
        install_packages("")
        say("opening the course in JupyterLab (Ctrl+C twice to stop)")
        os.chdir(ROOT)
        as_root = ["--allow-root"] if is_root() else []  # containers and CI machines run as root
        os.environ["PATH"] = f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        os.execv(str(VENV_PYTHON), in_venv("-m", "jupyterlab", "index.ipynb", *as_root, *rest))
    if command == "test":
        install_packages("test,instructor")
        ensure_test_system_packages()
        return subprocess.run(in_venv("-m", "pytest", *rest), cwd=ROOT).returncode
    if command in {"regenerate", "student-edition", "grade-class"}:
        install_packages("")
        return subprocess.run(in_venv("-m", "coursetools", command, *rest), cwd=ROOT).returncode
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
