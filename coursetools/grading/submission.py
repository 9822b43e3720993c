"""Grading one submission: the task a grade-class worker runs (in any Dask worker process).

`grade_submission` runs nbgrader's own `AutogradeApp` (the code behind `nbgrader autograde
ASSIGNMENT --student S --force`) in-process, with the course's configuration, against a
PRIVATE gradebook made from the run's template, and returns a `SubmissionResult`: the rows
nbgrader wrote, the tests with the error that lost each one, the grading events recorded in
the autograded notebook, and the review notes. It never raises: any failure becomes a
CRASHED result carrying its traceback, so the class goes on.

A worker needs the course folder at the same path as the grade-class process (a shared file
system on a cluster), the course's Python environment and bubblewrap.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

from coursetools.grading.course import Course
from coursetools.grading.events import GradingEvent, read_events
from coursetools.grading.gradebook import quiet_sqlalchemy, read_rows_at
from coursetools.grading.results import Status, StudentRows, SubmissionResult, TestResult
from coursetools.grading.review import edited_cells, flags_for

SCRATCH_PREFIX = "grade-class-task-"
#: nbgrader reads its configuration from the working folder: one grading at a time per process
#: (give Dask workers one thread each; their processes grade in parallel).
_CWD_LOCK = threading.Lock()


@dataclass(frozen=True)
class GradingJob:
    """One submission to grade."""

    course: Course
    student: str
    fingerprint: str


def grade_submission(job: GradingJob, gradebook_template: bytes) -> SubmissionResult:
    """Grade one submission into a private gradebook; never raises."""
    started = time.monotonic()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        with _CWD_LOCK, _ScratchFolder() as scratch:
            private_db = scratch / "gradebook.db"
            private_db.write_bytes(gradebook_template)
            result = _autograde(job, private_db, scratch)
    except BaseException:  # noqa: BLE001 (reported for this student, with its traceback)
        result = SubmissionResult(job.student, job.fingerprint, Status.CRASHED,
                                  error="the grading task failed (traceback in the student's log)",
                                  log=traceback.format_exc())
    return replace(result, seconds=time.monotonic() - started, worker=worker)


class _ScratchFolder:
    """A folder for one task (private gradebook, kernel sockets), removed afterwards; those
    of processes that died (a killed worker) are removed first."""

    def __enter__(self) -> Path:
        for stale in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
            try:
                os.kill(int(stale.name[len(SCRATCH_PREFIX):].split("-")[0]), 0)
            except (ValueError, PermissionError):
                continue
            except ProcessLookupError:
                shutil.rmtree(stale, ignore_errors=True)
        # Short: the kernels' Unix socket paths live in here.
        self.path = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class _Records(logging.Handler):
    """Keeps the log records of one grading run."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(f"[{r.levelname}] {r.getMessage()}" for r in self.records)


def _autograde(job: GradingJob, private_db: Path, scratch: Path) -> SubmissionResult:
    from nbgrader.apps.autogradeapp import AutogradeApp

    course, student = job.course, job.student
    quiet_sqlalchemy()
    cwd = os.getcwd()
    os.chdir(course.root)
    records = _Records()
    try:
        app = AutogradeApp()
        app.initialize([course.assignment, f"--student={student}", "--force",
                        f"--CourseDirectory.db_url=sqlite:///{private_db}",
                        f"--SandboxKernelManager.runtime_dir={scratch}", *course.nbgrader_args])
        # The log belongs to this student, not to the worker's terminal.
        saved_handlers, app.log.handlers = app.log.handlers, [records]
        failed = False
        try:
            app.start()
        except SystemExit as stop:
            failed = stop.code not in (0, None)
        except Exception:
            failed = True
            app.log.error(traceback.format_exc())
        finally:
            app.log.handlers = saved_handlers
    finally:
        os.chdir(cwd)
    rows = read_rows_at(f"sqlite:///{private_db}", course, student)
    tests, events = _read_autograded(course, student, rows)
    status, error = (Status.GRADED, "") if not failed else _why_not_graded(course, student, records)
    return SubmissionResult(student, job.fingerprint, status, rows=rows, tests=tuple(tests), events=tuple(events),
                            review_notes=tuple(edited_cells(course, student)), flags=tuple(flags_for(course, student)),
                            error=error, log=records.text())


def _read_autograded(course: Course, student: str, rows: StudentRows | None) -> tuple[list[TestResult], list[GradingEvent]]:
    """Per test cell: score, points and the error that cost the points; and the grading events."""
    import nbformat

    if rows is None or rows.submission is None:
        return [], []
    tests: list[TestResult] = []
    events: list[GradingEvent] = []
    for name, notebook_rows in rows.submission.notebooks.items():
        errors: dict[str, str] = {}
        path = course.folder("autograded", student) / f"{name}.ipynb"
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception:
            notebook = None
        if notebook is not None:
            events += read_events(notebook)
            for cell in notebook.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error" and grade_id:
                        evalue = str(output.get("evalue", "")).strip().splitlines()
                        errors[grade_id] = f"{output.get('ename')}: {evalue[0] if evalue else ''}".strip(": ")
                        break
        for grade_id, row in notebook_rows.grades.items():
            tests.append(TestResult(name, grade_id, row.auto_score, row.max_score, errors.get(grade_id, "")))
    return tests, events


def _why_not_graded(course: Course, student: str, records: _Records) -> tuple[Status, str]:
    """Why nbgrader could not grade a submission, in one line (from the submitted files)."""
    import nbformat

    folder = course.folder("submitted", student)
    handed_in = sorted(p.name for p in folder.glob("*.ipynb"))
    expected = sorted(p.name for p in (course.root / course.source / course.assignment).glob("*.ipynb"))
    if not handed_in:
        return Status.NO_NOTEBOOK, "no notebook in the submission folder"
    if not set(expected) & set(handed_in):
        return Status.NO_NOTEBOOK, f"no notebook with the assignment's name; found {', '.join(handed_in)}"
    for name in sorted(set(expected) & set(handed_in)):
        try:
            nbformat.validate(nbformat.read(folder / name, as_version=4))
        except nbformat.reader.NotJSONError:
            return Status.ERROR, "the notebook is not valid JSON"
        except nbformat.ValidationError:
            return Status.ERROR, "the notebook's format or metadata is damaged"
        except (ValueError, KeyError, AttributeError, TypeError):
            return Status.ERROR, "the notebook is not valid JSON"
    errors = [r for r in records.records if r.levelno >= logging.ERROR]
    last = errors[-1].getMessage().strip().splitlines()[-1] if errors else "nbgrader failed"
    return Status.ERROR, last[:200]
