"""The course being graded: its nbgrader settings, read the way nbgrader reads them."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".grade-class"


@dataclass(frozen=True)
class Course:
    """Where one assignment's files and gradebook are, and the nbgrader options of this run."""

    root: Path
    assignment: str
    course_id: str
    db_url: str
    submitted: str
    autograded: str
    source: str
    release: str
    #: `--Class.trait=value` options given to grade-class, passed on to every nbgrader run.
    nbgrader_args: tuple[str, ...] = ()

    @property
    def db_path(self) -> Path:
        if not self.db_url.startswith("sqlite:///"):
            raise SystemExit(f"grade-class needs an SQLite gradebook; db_url is {self.db_url!r} "
                             "(use `nbgrader autograde` for other databases)")
        return Path(self.db_url[len("sqlite:///"):])

    def folder(self, kind: str, student: str) -> Path:
        return self.root / getattr(self, kind) / student / self.assignment

    @property
    def state_dir(self) -> Path:
        return self.root / self.autograded / STATE_DIR

    def log_path(self, student: str) -> Path:
        """Where the student's nbgrader log (and any traceback of the grading run) is kept."""
        return self.state_dir / "logs" / self.assignment / f"{student}.log"


def load_course(root: Path, assignment: str, nbgrader_args: tuple[str, ...] = ()):
    """The course and nbgrader's configuration (nbgrader_config.py plus `nbgrader_args`)."""
    from nbgrader.apps.autogradeapp import AutogradeApp

    cwd = os.getcwd()
    os.chdir(root)
    try:
        app = AutogradeApp()
        app.initialize([assignment, "--log-level=ERROR", *nbgrader_args])
        cd = app.coursedir
        course = Course(Path(cd.root).resolve(), assignment, cd.course_id, cd.db_url, cd.submitted_directory,
                        cd.autograded_directory, cd.source_directory, cd.release_directory, tuple(nbgrader_args))
        return course, app.config
    finally:
        os.chdir(cwd)


def submissions(course: Course) -> list[str]:
    """The students with a submission folder for the assignment, in nbgrader's own order."""
    folder = course.root / course.submitted
    if not folder.is_dir():
        return []
    names = [p.name for p in folder.iterdir() if (p / course.assignment).is_dir() and not p.name.startswith(".")]
    return sorted(names, key=lambda name: str(course.folder("submitted", name)))
