#!/usr/bin/env python3
"""One entry point for students, instructors and maintainers.

    python3 run.py lab        set up (first time only) and open the course in JupyterLab
    python3 run.py jupyter-settings   set the running Python's Jupyter up for the course (postBuild uses it)
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
import json
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
# The student edition (`run.py student-edition DIR`) holds this file; the instructor's copy does not.
STUDENT_EDITION_MARKER = ".student-edition"
# Validate scored by grading's rule (autograder.validate) in place of nbgrader's own.
VALIDATE_EXTENSION, NBGRADER_VALIDATE = "autograder.validate", "nbgrader.server_extensions.validate_assignment"
# nbgrader's instructor tools: a student's JupyterLab has none of them (only the Validate button).
INSTRUCTOR_SERVER_EXTENSIONS = ["nbgrader.server_extensions.formgrader",
                                "nbgrader.server_extensions.assignment_list",
                                "nbgrader.server_extensions.course_list"]
INSTRUCTOR_LAB_PLUGINS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:assignment-list",
                          "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:create-assignment",
                          "@jupyter/nbgrader:menu"]
# JupyterLab's defaults for everyone who runs the course: no news pop-up, no update checks.
LAB_SETTINGS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


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


def is_student_edition() -> bool:
    return (ROOT / STUDENT_EDITION_MARKER).exists()


def configure_jupyter(python: str, prefix: Path, student: bool) -> None:
    """Set the Jupyter of the environment at `prefix` up for the course.

    Validate scores test cells the way grading does (autograder.validate replaces nbgrader's
    Validate extension), JupyterLab shows no news pop-up, and a student's JupyterLab has no
    instructor tools (no Formgrader creating gradebook.db, no Create Assignment sidebar, no
    Assignment List showing exchange errors); the instructor's keeps them.
    """
    jupyter = [python, "-m", "jupyter"]
    quiet = {"check": True, "stdout": subprocess.DEVNULL}
    write_json(prefix / "etc" / "jupyter" / "jupyter_server_config.d" / f"{VALIDATE_EXTENSION}.json",
               {"ServerApp": {"jpserver_extensions": {VALIDATE_EXTENSION: True}}})
    off = [NBGRADER_VALIDATE, *(INSTRUCTOR_SERVER_EXTENSIONS if student else [])]
    subprocess.run([*jupyter, "server", "extension", "disable", "--sys-prefix", *off], **quiet)
    if not student:
        subprocess.run([*jupyter, "server", "extension", "enable", "--sys-prefix", *INSTRUCTOR_SERVER_EXTENSIONS], **quiet)
    switch = "disable" if student else "enable"
    subprocess.run([*jupyter, "labextension", switch, "--level=sys_prefix", *INSTRUCTOR_LAB_PLUGINS], **quiet)
    write_json(prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "asyncio-course.json", LAB_SETTINGS)


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def ensure_jupyter_settings() -> None:
    """`configure_jupyter` for .venv, again whenever this file or the edition changes."""
    fingerprint = hashlib.sha256(Path(__file__).read_bytes() + str(is_student_edition()).encode()).hexdigest()
    stamp = VENV / ".jupyter-settings"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    subprocess.run(in_venv(str(ROOT / "run.py"), "jupyter-settings"), check=True)
    stamp.write_text(fingerprint)


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("lab", [])
    if command == "jupyter-settings":
        configure_jupyter(sys.executable, Path(sys.prefix), student=is_student_edition())
        return 0
    create_venv()
    if command == "lab":
        install_packages("")
        ensure_jupyter_settings()
        if is_student_edition():
            say("the course's student edition: work in the notebooks under release/, and use Validate before you hand in")
        else:
            say("this is the INSTRUCTOR's copy of the course: source/ holds every solution and hidden test, and "
                "nbgrader's instructor tools are on. Students work from the student edition "
                "(`python3 run.py student-edition DIR` writes it; see README.md)")
        say("opening the course in JupyterLab (Ctrl+C twice to stop)")
        os.chdir(ROOT)
        as_root = ["--allow-root"] if is_root() else []  # containers and CI machines run as root
        os.environ["PATH"] = f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        os.execv(str(VENV_PYTHON), in_venv("-m", "jupyterlab", "index.ipynb", *as_root, *rest))
    if command == "test":
        install_packages("test,instructor")
        ensure_test_system_packages()
        ensure_jupyter_settings()  # settled before tests copy .venv's Jupyter configuration
        return subprocess.run(in_venv("-m", "pytest", *rest), cwd=ROOT).returncode
    if command in {"regenerate", "student-edition", "grade-class"}:
        install_packages("instructor" if command == "grade-class" else "")  # grade-class runs on Dask
        return subprocess.run(in_venv("-m", "coursetools", command, *rest), cwd=ROOT).returncode
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
