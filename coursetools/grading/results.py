"""The typed data that travels from a grading task to the writer, and what the writer keeps."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from coursetools.grading.events import GradingEvent


class Status(StrEnum):
    GRADED = "graded"
    ERROR = "error"                # nbgrader could not grade it (e.g. not valid JSON)
    NO_NOTEBOOK = "no notebook"
    CRASHED = "crashed"            # the grading machinery failed (task or merge): graded again next run


@dataclass(frozen=True)
class GradeRow:
    auto_score: float | None
    needs_manual_grade: bool
    max_score: float


@dataclass(frozen=True)
class NotebookRows:
    late_submission_penalty: float | None
    grades: dict[str, GradeRow]
    comments: dict[str, str | None]


@dataclass(frozen=True)
class SubmissionRows:
    """The autograde-owned fields of one submission (manual grades are never touched)."""

    timestamp: str | None
    notebooks: dict[str, NotebookRows]


@dataclass(frozen=True)
class StudentRows:
    """A student's rows in a gradebook: the student exists; the submission may not."""

    submission: SubmissionRows | None


@dataclass(frozen=True)
class TestResult:
    notebook: str
    id: str
    score: float | None
    max: float
    error: str = ""

    @property
    def lost(self) -> bool:
        return self.score is None or self.score < self.max


@dataclass(frozen=True)
class SubmissionResult:
    """What grading one submission came to, on the worker that graded it."""

    student: str
    fingerprint: str
    status: Status
    rows: StudentRows | None = None
    tests: tuple[TestResult, ...] = ()
    events: tuple[GradingEvent, ...] = ()
    review_notes: tuple[str, ...] = ()     # edited read-only cells (compared with release/)
    flags: tuple[str, ...] = ()            # code worth a human look
    error: str = ""                        # one line: why it could not be graded
    log: str = ""                          # nbgrader's log, and the traceback of a crash
    seconds: float = 0.0
    worker: str = ""


@dataclass
class Outcome:
    """What the writer recorded for one student (kept in the resume state, shown in the summary)."""

    student: str
    status: str = Status.GRADED
    score: float | None = None
    max_score: float | None = None
    tests: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    fingerprint: str = ""
    rows_digest: str = ""

    @property
    def lost(self) -> list[TestResult]:
        return [t for t in self.tests if t.lost]
