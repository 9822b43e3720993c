"""The gradebook: private copies for grading tasks, one writer for the course's own.

Several processes writing one SQLite file invite "database is locked" errors and
half-written rows, so each grading task lets nbgrader write into a PRIVATE copy of the
gradebook, reads back what nbgrader wrote for its student (`read_rows`) and returns it;
`GradebookWriter`, in the grade-class process, is the only writer of the real gradebook:
one transaction per student through nbgrader's Gradebook API. A merge SETS the student's
autograde-owned fields (it never adds to them), so merging a result twice changes nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path

from coursetools.grading.course import Course
from coursetools.grading.results import GradeRow, NotebookRows, StudentRows, SubmissionRows


def copy_sqlite(source: Path, destination: Path) -> None:
    """A consistent copy of an SQLite database, even while another process writes it."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(destination)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def template(course: Course) -> bytes:
    """The gradebook as it is now, as bytes: each grading task starts from a copy of it."""
    with tempfile.TemporaryDirectory(prefix="grade-class-template-") as scratch:
        copy = Path(scratch) / "gradebook.db"
        copy_sqlite(course.db_path, copy)
        return copy.read_bytes()


def quiet_sqlalchemy() -> None:
    from sqlalchemy.exc import SAWarning

    warnings.simplefilter("ignore", SAWarning)  # nbgrader's own, harmless (serial autograde prints them too)


def read_rows(gradebook, course: Course, student: str) -> StudentRows | None:
    """The autograde-owned fields of one student's submission in an open nbgrader Gradebook."""
    from nbgrader.api import MissingEntry

    try:
        gradebook.find_student(student)
    except MissingEntry:
        return None
    try:
        submission = gradebook.find_submission(course.assignment, student)
    except MissingEntry:
        return StudentRows(None)
    notebooks = {
        notebook.name: NotebookRows(
            late_submission_penalty=notebook.late_submission_penalty,
            grades={g.name: GradeRow(g.auto_score, bool(g.needs_manual_grade), g.max_score) for g in notebook.grades},
            comments={c.name: c.auto_comment for c in notebook.comments})
        for notebook in submission.notebooks}
    stamp = submission.timestamp.isoformat() if submission.timestamp else None
    return StudentRows(SubmissionRows(stamp, notebooks))


def read_rows_at(db_url: str, course: Course, student: str) -> StudentRows | None:
    """`read_rows` from the gradebook at `db_url`."""
    from nbgrader.api import Gradebook

    quiet_sqlalchemy()
    with Gradebook(db_url, course.course_id) as gradebook:
        return read_rows(gradebook, course, student)


class GradebookWriter:
    """The only writer of the real gradebook: one transaction per student."""

    def __init__(self, course: Course):
        from nbgrader.api import Gradebook

        quiet_sqlalchemy()
        self.course = course
        self.gradebook = Gradebook(course.db_url, course.course_id)

    def close(self) -> None:
        self.gradebook.close()

    def merge(self, student: str, rows: StudentRows | None) -> None:
        """Set the student's autograde-owned fields to `rows` (idempotent)."""
        from nbgrader import utils

        gb, assignment = self.gradebook, self.course.assignment
        if rows is None:
            return
        try:
            gb.update_or_create_student(student)
            if rows.submission is None:
                gb.db.commit()
                return
            submission = gb.update_or_create_submission(assignment, student)
            stamp = rows.submission.timestamp
            submission.timestamp = utils.parse_utc(stamp) if stamp else None
            for name, notebook_rows in rows.submission.notebooks.items():
                notebook = gb.find_submission_notebook(name, assignment, student)
                notebook.late_submission_penalty = notebook_rows.late_submission_penalty
                for grade_name, row in notebook_rows.grades.items():
                    grade = gb.find_grade(grade_name, name, assignment, student)
                    grade.auto_score, grade.needs_manual_grade = row.auto_score, row.needs_manual_grade
                for comment_name, auto_comment in notebook_rows.comments.items():
                    gb.find_comment(comment_name, name, assignment, student).auto_comment = auto_comment
            gb.db.commit()
        except BaseException:
            gb.db.rollback()
            raise

    def create_students(self, students: list[str]) -> None:
        """Create the students nbgrader will create, in nbgrader's order (exports list them in that order)."""
        for student in students:
            if any(self.course.folder("submitted", student).glob("*.ipynb")):
                self.gradebook.update_or_create_student(student)
        self.gradebook.db.commit()

    def digest(self, student: str) -> str:
        """A digest of the student's rows: a later run sees whether someone changed them."""
        rows = read_rows(self.gradebook, self.course, student)
        plain = asdict(rows) if rows is not None else None
        return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).hexdigest()

    def totals(self, student: str) -> tuple[float | None, float | None]:
        from nbgrader.api import MissingEntry

        try:
            submission = self.gradebook.find_submission(self.course.assignment, student)
        except MissingEntry:
            return None, None
        return submission.score, submission.max_score


def check_gradebook(course: Course) -> None:
    """Stop with a clear message unless the gradebook exists and knows the assignment."""
    from nbgrader.api import Gradebook, MissingEntry

    if not course.db_path.exists():
        raise SystemExit(f"no gradebook at {course.db_path}: run `nbgrader generate_assignment {course.assignment}` first")
    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            gb.find_assignment(course.assignment)
        except MissingEntry:
            raise SystemExit(f"{course.assignment} is not in the gradebook: run "
                             f"`nbgrader generate_assignment {course.assignment}` first") from None


def export(course: Course, target: Path) -> None:
    """`nbgrader export --to TARGET`, run in this process (nbgrader is already imported here)."""
    from nbgrader.apps.exportapp import ExportApp

    cwd = os.getcwd()
    os.chdir(course.root)
    try:
        app = ExportApp()
        app.initialize(["--to", str(target), "--log-level=WARN", *course.nbgrader_args])
        app.start()
    finally:
        os.chdir(cwd)


def gradebook_snapshot(db_url: str) -> dict:
    """Every student and submission row of a gradebook, keyed by names instead of random ids.

    Two gradebooks with equal snapshots hold the same grades, comments, timestamps and flags:
    the tests and the benchmark compare grade-class with a serial `nbgrader autograde` this way.
    """
    from nbgrader.api import Comment, Gradebook, Grade, Student, SubmittedAssignment, SubmittedNotebook

    quiet_sqlalchemy()

    def plain(row) -> dict:
        return {c.name: getattr(row, c.name) for c in row.__table__.columns
                if not c.foreign_keys and not (c.name == "id" and not isinstance(row, Student))}

    snapshot: dict = {}
    with Gradebook(db_url) as gb:
        for student in gb.db.query(Student):
            snapshot[f"student {student.id}"] = plain(student)
        for sub in gb.db.query(SubmittedAssignment):
            snapshot[f"submission {sub.assignment.name}/{sub.student.id}"] = plain(sub)
        for nb in gb.db.query(SubmittedNotebook):
            key = f"{nb.assignment.assignment.name}/{nb.student.id}/{nb.name}"
            snapshot[f"notebook {key}"] = plain(nb)
        for grade in gb.db.query(Grade):
            nb = grade.notebook
            snapshot[f"grade {nb.assignment.assignment.name}/{nb.student.id}/{nb.name}/{grade.name}"] = plain(grade)
        for comment in gb.db.query(Comment):
            nb = comment.notebook
            snapshot[f"comment {nb.assignment.assignment.name}/{nb.student.id}/{nb.name}/{comment.name}"] = plain(comment)
    return snapshot
