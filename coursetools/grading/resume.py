"""Resuming a class: which students are graded already, with what, and is that still valid.

After a student's rows are committed, grade-class records the submission's fingerprint and
a digest of the student's rows in `autograded/.grade-class/ASSIGNMENT.json` (written
atomically). A later run skips a student whose fingerprint and rows are unchanged. The
fingerprint covers everything that can change a grade: the submission's files, the
assignment's source files, nbgrader_config.py, the `autograder` and `course` packages the
checks run, the grading code (coursetools.grading, coursetools.sandbox), the versions of
every installed package and the nbgrader options given to grade-class.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
from dataclasses import asdict
from pathlib import Path

from coursetools.grading.course import Course
from coursetools.grading.results import Outcome, TestResult

STATE_VERSION = 2
#: The packages whose code decides a grade, besides the assignment itself.
GRADING_PACKAGES = ("autograder", "course", "coursetools.grading", "coursetools.sandbox")
SANDBOX_SWITCHES = ("--SandboxKernelManager.sandbox=", "--SandboxKernelManager.bwrap=")


def _digest_tree(digest, folder: Path, label: str) -> None:
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file() and not {".ipynb_checkpoints", "__pycache__"} & set(path.parts) and path.suffix != ".pyc":
            digest.update(f"{label}/{path.relative_to(folder)}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")


def package_folder(name: str) -> Path | None:
    """Where an importable package's files are (without importing it)."""
    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def grading_context(course: Course) -> str:
    """A digest of everything besides the submission that can change a grade."""
    digest = hashlib.sha256()
    _digest_tree(digest, course.root / course.source / course.assignment, "source")
    config = course.root / "nbgrader_config.py"
    if config.exists():
        digest.update(b"config\0" + config.read_bytes())
    for name in GRADING_PACKAGES:
        folder = package_folder(name)
        digest.update(f"package {name} at {folder}\0".encode())
        if folder is not None:
            _digest_tree(digest, folder, name)
    versions = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    digest.update("\n".join(versions).encode())
    # Options of this run, except where the sandbox is and whether it is on: a verdict never
    # depends on them (a student graded UNSANDBOXED is graded again once the sandbox is back).
    options = [o for o in course.nbgrader_args if not o.startswith(SANDBOX_SWITCHES)]
    digest.update("\0".join(options).encode())
    return digest.hexdigest()


def fingerprint(course: Course, student: str, context: str) -> str:
    """The submission's files plus `context` (see `grading_context`)."""
    digest = hashlib.sha256(context.encode())
    _digest_tree(digest, course.folder("submitted", student), "submitted")
    return digest.hexdigest()


class State:
    """`autograded/.grade-class/ASSIGNMENT.json`: who is graded, with which submission."""

    def __init__(self, course: Course):
        self.path = course.state_dir / f"{course.assignment}.json"
        self.outcomes: dict[str, Outcome] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text())
                if data.get("version") == STATE_VERSION:
                    self.outcomes = {name: _outcome(saved) for name, saved in data.get("students", {}).items()}
            except (OSError, ValueError, TypeError, KeyError):
                self.outcomes = {}

    def unchanged(self, student: str, print_: str, rows_digest: str, sandboxed_now: bool) -> Outcome | None:
        """The recorded outcome, when the student need not be graded again."""
        known = self.outcomes.get(student)
        if known is None or known.fingerprint != print_ or known.rows_digest != rows_digest:
            return None
        if "UNSANDBOXED" in known.notes and sandboxed_now:  # graded unsandboxed, and the sandbox is back
            return None
        return known

    def record(self, outcome: Outcome) -> None:
        self.outcomes[outcome.student] = outcome
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        students = {name: asdict(saved) for name, saved in self.outcomes.items()}
        temporary.write_text(json.dumps({"version": STATE_VERSION, "students": students}, indent=1, default=str))
        os.replace(temporary, self.path)


def _outcome(saved: dict) -> Outcome:
    return Outcome(**{**saved, "tests": [TestResult(**t) for t in saved.get("tests", [])]})
