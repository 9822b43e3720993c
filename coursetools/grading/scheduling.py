"""Grading a whole class: `python3 run.py grade-class ASSIGNMENT [--workers N]`.

nbgrader autogrades one submission after another. This command grades every submission
under `submitted/*/ASSIGNMENT` with N worker processes, on top of nbgrader itself, and ends
with exactly the gradebook and the `nbgrader export` CSV that a serial `nbgrader autograde`
(plus `nbgrader export`) would have written.

Design
------
* **Workers run nbgrader, unchanged.** Each worker process runs nbgrader's own
  `AutogradeApp` (the code behind `nbgrader autograde ASSIGNMENT --student S --force`)
  in-process, one student at a time, with the course's configuration: the sandboxed,
  failure-isolating execution of coursetools/robust_grading.py applies as in any grading run.
  Workers are long-lived, so nbgrader is imported once per worker, not once per student.
* **SQLite: one writer.** Several processes writing one SQLite file invite "database is
  locked" errors and half-written rows. Each worker gets a PRIVATE copy of the gradebook
  (taken with SQLite's backup API when it starts) and nbgrader writes there. When a student
  is done, the worker reads back what nbgrader wrote for that student (submission timestamp,
  per-cell auto scores and "needs manual grade", auto comments, late penalties) and sends it
  to the main process, the only process that writes the real gradebook: one transaction per
  student, through nbgrader's Gradebook API. Manual grades are never touched.
* **Resumable.** After a student's rows are committed, the main process records the
  submission's fingerprint (its files, the assignment's source files and nbgrader_config.py)
  and a digest of the student's rows in `autograded/.grade-class/ASSIGNMENT.json` (written
  atomically). A later run skips a student whose fingerprint and gradebook rows are
  unchanged (and who was not graded UNSANDBOXED while the sandbox is available now) and
  grades the rest; a student who was in flight when a run was interrupted is
  simply graded again (the rows are overwritten, never added twice). Workers die with the
  main process (PR_SET_PDEATHSIG), and their sandboxed kernels die with them.
* **Robust.** A worker that crashes or takes longer than `--student-timeout` is killed and
  replaced; that student is reported as an error and the class goes on.
* **Clear results.** A progress bar while grading, then a table: score, status, the tests
  each student lost with the error that lost them, what the grader had to repair
  (restored cells, timeouts, kernel restarts) and code worth a human look. Each student's
  nbgrader log is kept in `autograded/.grade-class/logs/ASSIGNMENT/STUDENT.log`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_DIR = ".grade-class"
STATE_VERSION = 1

#: Code worth a human look when it appears in a student's cells (advisory, never a penalty).
SUSPICIOUS = {
    "os._exit": r"\bos\._exit\b", "ctypes": r"\bctypes\b", "os.fork": r"\bos\.fork\b",
    "sys.modules": r"\bsys\.modules\b", "builtins": r"\bbuiltins\b", "__import__": r"__import__",
    "ModuleType": r"\bModuleType\b", "IPython internals": r"set_custom_exc|input_transformers|ast_transformers",
    "gc.get_objects": r"\bgc\.get_objects\b", "frame inspection": r"sys\._getframe|_current_frames",
    "patches autograder": r"\bautograder\.\w+\s*=[^=]", "patches time/asyncio": r"\b(time|asyncio)\.\w+\s*=[^=]",
    "reads files": r"\bopen\(|os\.listdir|os\.walk|glob\.|pathlib|Path\(",
}


@dataclass
class Outcome:
    """What grading one submission came to."""

    student: str
    status: str = "graded"          # graded | error | no notebook | crashed | skipped
    score: float | None = None
    max_score: float | None = None
    tests: list[dict] = field(default_factory=list)   # {id, score, max, error}
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    fingerprint: str = ""
    rows_digest: str = ""

    @property
    def lost(self) -> list[dict]:
        return [t for t in self.tests if t["score"] is None or t["score"] < t["max"]]


# --- the course ------------------------------------------------------------------------

@dataclass
class Course:
    root: Path
    assignment: str
    course_id: str
    db_url: str
    submitted: str
    autograded: str
    source: str
    release: str

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


def load_course(root: Path, assignment: str) -> Course:
    """The course's nbgrader settings, read the way nbgrader reads them."""
    from nbgrader.apps.autogradeapp import AutogradeApp

    cwd = os.getcwd()
    os.chdir(root)
    try:
        app = AutogradeApp()
        app.initialize([assignment, "--log-level=ERROR"])
        cd = app.coursedir
        return Course(Path(cd.root).resolve(), assignment, cd.course_id, cd.db_url, cd.submitted_directory,
                      cd.autograded_directory, cd.source_directory, cd.release_directory)
    finally:
        os.chdir(cwd)


def submissions(course: Course) -> list[str]:
    folder = course.root / course.submitted
    if not folder.is_dir():
        return []
    names = [p.name for p in folder.iterdir() if (p / course.assignment).is_dir() and not p.name.startswith(".")]
    # nbgrader's own order: sorted by the submission folder's path.
    return sorted(names, key=lambda name: str(course.folder("submitted", name)))


def _digest_tree(digest, folder: Path, label: str) -> None:
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            digest.update(f"{label}/{path.relative_to(folder)}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")


def fingerprint(course: Course, student: str, context: str) -> str:
    """The submission's files plus `context` (the assignment's source files and the config)."""
    digest = hashlib.sha256(context.encode())
    _digest_tree(digest, course.folder("submitted", student), "submitted")
    return digest.hexdigest()


def grading_context(course: Course) -> str:
    digest = hashlib.sha256()
    _digest_tree(digest, course.root / course.source / course.assignment, "source")
    config = course.root / "nbgrader_config.py"
    if config.exists():
        digest.update(config.read_bytes())
    return digest.hexdigest()


# --- the worker side ---------------------------------------------------------------------

def _die_with_parent() -> None:
    """Get SIGKILL when the main process dies, however it dies (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def copy_sqlite(source: Path, destination: Path) -> None:
    """A consistent copy of an SQLite database, even while another process writes it."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(destination)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def worker_main(index: int, course: Course, conn, parent_pid: int, run_dir: Path) -> None:
    """A worker process: grade the students it is sent, one at a time."""
    _die_with_parent()
    if os.getppid() != parent_pid:
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the main process decides when to stop
    signal.signal(signal.SIGTERM, lambda *_: os._exit(143))
    logs = course.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = os.open(logs / f"worker-{index}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.chdir(course.root)
    private_dir = Path(tempfile.mkdtemp(prefix=f"worker-{index}-", dir=run_dir))
    private_db = private_dir / "gradebook.db"
    print(f"worker {index} (pid {os.getpid()}): private gradebook {private_db}", flush=True)
    try:
        copy_sqlite(course.db_path, private_db)
        while True:
            task = conn.recv()
            if task is None:
                break
            student, print_ = task
            try:
                result = grade_one(course, student, private_db)
            except BaseException:
                result = {"student": student, "status": "crashed", "error": traceback.format_exc(), "rows": None,
                          "tests": [], "notes": [], "flags": [], "log": ""}
            result["fingerprint"] = print_
            conn.send(result)
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        shutil.rmtree(private_dir, ignore_errors=True)
        print(f"worker {index} (pid {os.getpid()}): done", flush=True)
        # No finalizers: the gradebook connection inherited from the main process stays untouched,
        # and leftover library threads cannot keep the worker alive.
        os._exit(0)


class _Records:
    """A logging handler that keeps records."""

    def __init__(self):
        import logging

        self.records: list = []
        handler = logging.Handler(level=logging.INFO)
        handler.emit = self.records.append
        self.handler = handler


def grade_one(course: Course, student: str, private_db: Path) -> dict:
    """Run nbgrader's autograde for one student against the worker's private gradebook."""
    from nbgrader.apps.autogradeapp import AutogradeApp

    started = time.monotonic()
    records = _Records()
    app = AutogradeApp()
    app.initialize([course.assignment, f"--student={student}", "--force",
                    f"--CourseDirectory.db_url=sqlite:///{private_db}"])
    app.log.addHandler(records.handler)
    failed = False
    try:
        app.start()
    except SystemExit as stop:
        failed = stop.code not in (0, None)
    except Exception:
        failed = True
        app.log.error(traceback.format_exc())
    finally:
        app.log.removeHandler(records.handler)
    log_text = "\n".join(f"[{r.levelname}] {r.getMessage()}" for r in records.records)
    messages = [(r.levelname, r.getMessage()) for r in records.records if r.levelno >= 30]
    rows = read_rows(f"sqlite:///{private_db}", course, student)
    tests = read_tests(course, student, rows)
    status, error = "graded", ""
    if failed:
        status, error = summarize_failure(course, student, messages)
    return {"student": student, "status": status, "error": error, "rows": rows, "tests": tests,
            "notes": edited_cells(course, student) + notes_from(messages), "flags": flags_for(course, student),
            "log": log_text, "seconds": time.monotonic() - started}


def read_rows(db_url: str, course: Course, student: str) -> dict | None:
    """The autograde-owned fields of one student's submission, from a gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url, course.course_id) as gb:
        try:
            gb.find_student(student)
        except MissingEntry:
            return None
        try:
            submission = gb.find_submission(course.assignment, student)
        except MissingEntry:
            return {"submission": None}
        notebooks = {}
        for notebook in submission.notebooks:
            notebooks[notebook.name] = {
                "late_submission_penalty": notebook.late_submission_penalty,
                "grades": {g.name: [g.auto_score, bool(g.needs_manual_grade), g.max_score] for g in notebook.grades},
                "comments": {c.name: c.auto_comment for c in notebook.comments},
            }
        return {"submission": {"timestamp": submission.timestamp.isoformat() if submission.timestamp else None},
                "notebooks": notebooks}


def read_tests(course: Course, student: str, rows: dict | None) -> list[dict]:
    """Per test cell: score, points and the error that cost the points (from the autograded notebook)."""
    import nbformat

    if not rows or not rows.get("submission"):
        return []
    tests = []
    for name, notebook_rows in rows["notebooks"].items():
        errors = {}
        path = course.folder("autograded", student) / f"{name}.ipynb"
        if path.exists():
            try:
                notebook = nbformat.read(path, as_version=4)
            except Exception:
                notebook = None
            for cell in notebook.cells if notebook else []:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error" and grade_id:
                        evalue = str(output.get("evalue", "")).strip().splitlines()
                        errors[grade_id] = f"{output.get('ename')}: {evalue[0] if evalue else ''}".strip(": ")
                        break
        for grade_id, (auto, _needs, points) in notebook_rows["grades"].items():
            tests.append({"notebook": name, "id": grade_id, "score": auto, "max": points, "error": errors.get(grade_id, "")})
    return tests


def summarize_failure(course: Course, student: str, messages: list[tuple[str, str]]) -> tuple[str, str]:
    """Why nbgrader could not grade a submission, in one line."""
    folder = course.folder("submitted", student)
    notebooks = sorted(p.name for p in folder.glob("*.ipynb"))
    text = "\n".join(m for _, m in messages)
    if not notebooks:
        return "no notebook", "no notebook in the submission folder"
    if "No notebooks found" in text or "Skipping unknown notebook" in text:
        return "no notebook", f"no notebook with the assignment's name; found {', '.join(notebooks)}"
    for pattern, label in ((r"NotJSONError|JSONDecodeError|not appear to be JSON", "the notebook is not valid JSON"),
                           (r"ValidationError|failed to validate", "the notebook's format or metadata is damaged"),
                           (r"UnresponsiveKernelError", "the kernel could not be interrupted")):
        if re.search(pattern, text):
            return "error", label
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(" ")]
    tail = [line for line in lines if re.match(r"^[\w.]+(Error|Exception)\b", line)]
    return "error", (tail[-1] if tail else (lines[-1] if lines else "nbgrader failed"))[:200]


def notes_from(messages: list[tuple[str, str]]) -> list[str]:
    """What the grader had to repair or work around, from nbgrader's warnings."""
    notes: list[str] = []
    seen_restored: set[str] = set()
    restarts = 0
    for _level, message in messages:
        if match := re.search(r"Cell (\S+) is missing from the submission", message):
            notes.append(f"deleted cell {match[1]} put back")
        elif match := re.search(r"Cell \d+ \([^)]*\): restored what student code had replaced: (.*)", message):
            restored = [name for name in match[1].split(", ") if name not in seen_restored]
            seen_restored.update(restored)
            if restored:
                notes.append("grader restored " + ", ".join(restored))
        elif match := re.search(r"Cell \d+ \(([^)]*)\): (\w+):", message):
            notes.append(f"{match[2]} in cell {match[1]}")
        elif match := re.search(r"Cell \d+ \(([^)]*)\) broke the kernel while re-running", message):
            notes.append(f"cell {match[1]} left out on re-run")
        elif "Restarting the kernel" in message:
            restarts += 1
        elif "UNSANDBOXED" in message and "UNSANDBOXED" not in " ".join(notes):
            notes.append("UNSANDBOXED")
        elif match := re.search(r"No submitted file: (\S+)", message):
            notes.append(f"missing notebook {Path(match[1]).name}")
    if restarts:
        notes.append(f"kernel restarted {restarts}x")
    unique = []
    for note in notes:
        if note not in unique:
            unique.append(note)
    return unique


def edited_cells(course: Course, student: str) -> list[str]:
    """Read-only cells whose text differs from the released notebook (nbgrader restores them).

    nbgrader itself warns about every test cell with hidden tests (their checksum covers the
    hidden part), so the comparison is with release/, which is what students were given.
    """
    import nbformat

    notes = []
    for path in sorted(course.folder("submitted", student).glob("*.ipynb")):
        released = course.root / course.release / course.assignment / path.name
        try:
            given = nbformat.read(released, as_version=4)
            handed_in = nbformat.read(path, as_version=4)
        except Exception:
            continue
        original = {c.metadata["nbgrader"]["grade_id"]: c.source for c in given.cells
                    if c.metadata.get("nbgrader", {}).get("locked") and c.metadata["nbgrader"].get("grade_id")}
        for cell in handed_in.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in original and cell.get("source") != original[grade_id]:
                notes.append(f"edited read-only cell {grade_id} restored")
    return notes


def flags_for(course: Course, student: str) -> list[str]:
    """Advisory: hostile-looking code in the student's own cells."""
    import nbformat

    found: list[str] = []
    for path in sorted(course.folder("submitted", student).glob("*.ipynb")):
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception:
            continue
        for cell in notebook.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.get("cell_type") != "code" or meta.get("locked") or meta.get("grade"):
                continue
            if not meta.get("solution"):
                continue
            for label, pattern in SUSPICIOUS.items():
                if label not in found and re.search(pattern, cell.get("source", "")):
                    found.append(label)
    return found


# --- the writer side ---------------------------------------------------------------------

class GradebookWriter:
    """The only writer of the real gradebook: one transaction per student."""

    def __init__(self, course: Course):
        import warnings

        from nbgrader.api import Gradebook
        from sqlalchemy.exc import SAWarning

        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own, harmless (serial autograde prints them too)

        self.course = course
        self.gradebook = Gradebook(course.db_url, course.course_id)

    def close(self) -> None:
        self.gradebook.close()

    def merge(self, student: str, rows: dict | None) -> None:
        from nbgrader import utils

        gb, assignment = self.gradebook, self.course.assignment
        if rows is None:
            return
        try:
            gb.update_or_create_student(student)
            if rows["submission"] is None:
                return
            submission = gb.update_or_create_submission(assignment, student)
            stamp = rows["submission"]["timestamp"]
            submission.timestamp = utils.parse_utc(stamp) if stamp else None
            for name, notebook_rows in rows["notebooks"].items():
                notebook = gb.find_submission_notebook(name, assignment, student)
                notebook.late_submission_penalty = notebook_rows["late_submission_penalty"]
                for grade_name, (auto, needs, _points) in notebook_rows["grades"].items():
                    grade = gb.find_grade(grade_name, name, assignment, student)
                    grade.auto_score, grade.needs_manual_grade = auto, needs
                for comment_name, auto_comment in notebook_rows["comments"].items():
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
        rows = read_rows_from(self.gradebook, self.course, student)
        return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()

    def totals(self, student: str) -> tuple[float | None, float | None]:
        from nbgrader.api import MissingEntry

        try:
            submission = self.gradebook.find_submission(self.course.assignment, student)
        except MissingEntry:
            return None, None
        return submission.score, submission.max_score


def read_rows_from(gb, course: Course, student: str) -> dict | None:
    from nbgrader.api import MissingEntry

    try:
        gb.find_student(student)
    except MissingEntry:
        return None
    try:
        submission = gb.find_submission(course.assignment, student)
    except MissingEntry:
        return {"submission": None}
    return {"submission": {"timestamp": submission.timestamp.isoformat() if submission.timestamp else None},
            "notebooks": {n.name: {"late_submission_penalty": n.late_submission_penalty,
                                   "grades": {g.name: [g.auto_score, bool(g.needs_manual_grade), g.max_score] for g in n.grades},
                                   "comments": {c.name: c.auto_comment for c in n.comments}}
                          for n in submission.notebooks}}


class State:
    """`autograded/.grade-class/ASSIGNMENT.json`: who is graded, with which submission."""

    def __init__(self, course: Course):
        self.path = course.state_dir / f"{course.assignment}.json"
        self.students: dict[str, dict] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text())
                if data.get("version") == STATE_VERSION:
                    self.students = data.get("students", {})
            except (OSError, ValueError):
                self.students = {}

    def record(self, outcome: Outcome) -> None:
        self.students[outcome.student] = asdict(outcome)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"version": STATE_VERSION, "students": self.students}, indent=1, default=str))
        os.replace(temporary, self.path)


# --- progress and summary ----------------------------------------------------------------

class Progress:
    def __init__(self, total: int, skipped: int, workers: int, out):
        self.total, self.skipped, self.workers, self.out = total, skipped, workers, out
        self.done = 0
        self.problems = 0
        self.started = time.monotonic()
        self.tty = hasattr(out, "isatty") and out.isatty()

    def line(self) -> str:
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0
        return (f"[{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total} graded"
                f"  {self.problems} with errors  {self.skipped} unchanged  {self.workers} workers"
                f"  {elapsed:.0f}s" + (f", ~{left:.0f}s left" if self.done and self.done < self.total else ""))

    def update(self, outcome: Outcome | None = None) -> None:
        if outcome is not None:
            self.done += 1
            self.problems += outcome.status not in {"graded"}
        if self.tty:
            self.out.write("\r" + self.line())
            self.out.flush()
        elif outcome is not None:
            score = f"{_num(outcome.score)}/{_num(outcome.max_score)}" if outcome.max_score else "-"
            self.out.write(f"[{self.done:>{len(str(self.total))}}/{self.total}] {outcome.student}: {score} "
                           f"{outcome.status} ({outcome.seconds:.1f} s)\n")
            self.out.flush()

    def finish(self) -> None:
        if self.tty:
            self.out.write("\r" + self.line() + "\n")
            self.out.flush()


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"


def details(outcome: Outcome) -> str:
    """One line: why it could not be graded, what the grader repaired, which tests lost points."""
    parts = [outcome.error] if outcome.error else []
    parts += outcome.notes
    if outcome.flags:
        parts.append("review: " + ", ".join(outcome.flags))
    if outcome.lost and outcome.status == "graded":
        parts.append("lost " + ", ".join(
            f"{t['id']} ({t['error'].split(':')[0] if t['error'] else 'no points'})" for t in outcome.lost))
    return "; ".join(parts)


def summary_table(outcomes: list[Outcome], width: int = 160) -> str:
    name_width = max([7] + [len(o.student) for o in outcomes])
    lines = [f"{'student':<{name_width}}  {'score':>9}  {'status':<11}  details",
             f"{'-' * name_width}  {'-' * 9}  {'-' * 11}  {'-' * 40}"]
    for o in outcomes:
        score = f"{_num(o.score)}/{_num(o.max_score)}" if o.max_score else "-"
        text = details(o)
        room = max(20, width - name_width - 26)
        if len(text) > room:
            text = text[: room - 3] + "..."
        lines.append(f"{o.student:<{name_width}}  {score:>9}  {o.status:<11}  {text}")
    return "\n".join(lines)


# --- the run -----------------------------------------------------------------------------

class _Worker:
    def __init__(self, index: int, course: Course, context, run_dir: Path):
        self.index = index
        parent_end, child_end = context.Pipe()
        self.conn = parent_end
        self.process = context.Process(target=worker_main, args=(index, course, child_end, os.getpid(), run_dir),
                                       name=f"grade-class-worker-{index}", daemon=True)
        self.process.start()
        child_end.close()
        self.student: str | None = None
        self.fingerprint = ""
        self.since = 0.0

    def send(self, student: str, print_: str) -> None:
        self.student, self.fingerprint, self.since = student, print_, time.monotonic()
        self.conn.send((student, print_))

    def stop(self, kill: bool = False) -> None:
        if self.process.is_alive():
            if kill:
                self.process.kill()
            else:
                try:
                    self.conn.send(None)
                except OSError:
                    pass
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


def grade_class(root: Path, assignment: str, workers: int | None = None, force: bool = False,
                csv: Path | None = Path("grades.csv"), student_timeout: float = 1800.0, out=None) -> list[Outcome]:
    """Grade every submission of `assignment` in the course at `root`; the outcomes, in student order."""
    import multiprocessing
    from multiprocessing.connection import wait

    from coursetools import sandbox

    out = out or sys.stdout
    # nbgrader runs `alembic` (next to this interpreter) when it creates a gradebook.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    course = load_course(root, assignment)
    workers = max(1, workers or os.cpu_count() or 1)
    _check_gradebook(course)
    students = submissions(course)
    state = State(course)
    context = grading_context(course)
    writer = GradebookWriter(course)
    run_dir = _run_dir()
    # Sandboxed kernels keep their sockets in here too; all of it goes when the run ends.
    os.environ["COURSE_SANDBOX_RUNTIME"] = str(run_dir)
    # Each kernel may use its share of the CPUs (a cgroup quota, where available), so one
    # student's fork bomb or spinning process pool cannot starve the student graded next to it.
    os.environ.setdefault("COURSE_SANDBOX_CPUS", f"{max(1.0, (os.cpu_count() or 1) / workers):g}")
    sandbox.remove_stale_cgroups()
    outcomes: dict[str, Outcome] = {}
    todo: list[tuple[str, str]] = []
    sandboxed_now = sandbox.unavailable_reason() is None
    try:
        for student in students:
            print_ = fingerprint(course, student, context)
            known = state.students.get(student)
            # Graded without the sandbox last time, and it is available now: grade again.
            was_unsandboxed = known and "UNSANDBOXED" in known.get("notes", []) and sandboxed_now
            if (not force and known and not was_unsandboxed and known.get("fingerprint") == print_
                    and known.get("rows_digest") == writer.digest(student)):
                outcomes[student] = Outcome(**{**known, "status": known.get("status", "graded")})
                outcomes[student].notes = ["unchanged since the last run: not graded again", *known.get("notes", [])]
            else:
                todo.append((student, print_))
        writer.create_students([student for student, _ in todo])
        out.write(f"grade-class {assignment}: {len(students)} submissions, {len(todo)} to grade, "
                  f"{len(students) - len(todo)} unchanged; {min(workers, max(1, len(todo)))} workers\n")
        out.write(f"kernels: {sandbox.describe()}\n")
        out.flush()
        progress = Progress(len(todo), len(students) - len(todo), min(workers, max(1, len(todo))), out)
        mp = multiprocessing.get_context("fork")
        pool: list[_Worker] = []
        pending = list(reversed(todo))
        interrupted = False
        try:
            pool = [_Worker(i, course, mp, run_dir) for i in range(min(workers, len(todo)))]
            for worker in pool:
                if pending:
                    worker.send(*pending.pop())
            progress.update()
            while any(w.student for w in pool):
                busy = [w for w in pool if w.student]
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
                for worker in busy:
                    result = None
                    if worker.conn in ready:
                        try:
                            result = worker.conn.recv()
                        except (EOFError, OSError):
                            result = None
                    elif worker.process.sentinel in ready or time.monotonic() - worker.since > student_timeout:
                        pass
                    else:
                        continue
                    if result is None:
                        why = ("grading took longer than --student-timeout" if worker.process.is_alive()
                               else f"the grading worker died (exit code {worker.process.exitcode})")
                        result = {"student": worker.student, "status": "crashed", "error": why, "rows": None,
                                  "tests": [], "notes": [], "flags": [], "log": "", "fingerprint": worker.fingerprint,
                                  "seconds": time.monotonic() - worker.since}
                        worker.stop(kill=True)
                        replacement = _Worker(worker.index, course, mp, run_dir)
                        pool[pool.index(worker)] = replacement
                        worker = replacement
                    outcome = _finish(course, writer, state, result)
                    outcomes[outcome.student] = outcome
                    progress.update(outcome)
                    worker.student = None
                    if pending:
                        worker.send(*pending.pop())
                progress.update()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            for worker in pool:
                worker.stop(kill=interrupted)
        progress.finish()
        if interrupted:
            out.write(f"\ninterrupted: {progress.done} submissions graded and saved; "
                      "run the same command again to grade the rest\n")
            raise KeyboardInterrupt
    finally:
        writer.close()
        shutil.rmtree(run_dir, ignore_errors=True)
    ordered = [outcomes[s] for s in students if s in outcomes]
    out.write("\n" + summary_table(ordered, shutil.get_terminal_size((160, 20)).columns) + "\n")
    counts = {status: sum(o.status == status for o in ordered) for status in ("graded", "error", "no notebook", "crashed")}
    out.write(f"\n{len(ordered)} submissions: {counts['graded']} graded, {counts['error']} could not be graded, "
              f"{counts['no notebook']} without the notebook, {counts['crashed']} crashed the grader; "
              f"{len(students) - len(todo)} unchanged since the last run\n")
    if "UNSANDBOXED" in sandbox.describe():
        out.write(f"WARNING: {sandbox.describe()}\n")
    if csv is not None:
        target = csv if csv.is_absolute() else course.root / csv
        export(course, target)
        out.write(f"gradebook: {course.db_path}\ngrades: {target}\n")
    out.write(f"details: {state.path}\n")
    out.flush()
    return ordered


def export(course: Course, target: Path) -> None:
    """`nbgrader export --to TARGET`, run in this process (nbgrader is already imported here)."""
    from nbgrader.apps.exportapp import ExportApp

    cwd = os.getcwd()
    os.chdir(course.root)
    try:
        app = ExportApp()
        app.initialize(["--to", str(target), "--log-level=WARN"])
        app.start()
    finally:
        os.chdir(cwd)


def _run_dir() -> Path:
    """A scratch folder for this run (private gradebooks, kernel sockets), short enough for
    Unix socket paths; folders left by runs that were killed are removed first."""
    for stale in Path(tempfile.gettempdir()).glob("grade-class-run-*"):
        try:
            pid = int(stale.name.split("-")[3])
            os.kill(pid, 0)
        except (ValueError, IndexError):
            continue
        except ProcessLookupError:
            shutil.rmtree(stale, ignore_errors=True)
        except PermissionError:
            continue
    return Path(tempfile.mkdtemp(prefix=f"grade-class-run-{os.getpid()}-"))


def _check_gradebook(course: Course) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    if not course.db_path.exists():
        raise SystemExit(f"no gradebook at {course.db_path}: run `nbgrader generate_assignment {course.assignment}` first")
    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            gb.find_assignment(course.assignment)
        except MissingEntry:
            raise SystemExit(f"{course.assignment} is not in the gradebook: run "
                             f"`nbgrader generate_assignment {course.assignment}` first") from None


def _finish(course: Course, writer: GradebookWriter, state: State, result: dict) -> Outcome:
    """Commit one student's rows to the real gradebook, then record them as done."""
    student = result["student"]
    writer.merge(student, result.get("rows"))
    score, max_score = writer.totals(student)
    outcome = Outcome(student=student, status=result["status"], score=score, max_score=max_score,
                      tests=result.get("tests", []), notes=result.get("notes", []), flags=result.get("flags", []),
                      error=result.get("error", "")[:2000] if result["status"] == "crashed" else result.get("error", ""),
                      seconds=round(result.get("seconds", 0.0), 2), fingerprint=result.get("fingerprint", ""),
                      rows_digest=writer.digest(student))
    logs = course.state_dir / "logs" / course.assignment
    logs.mkdir(parents=True, exist_ok=True)
    (logs / f"{student}.log").write_text(result.get("log", "") + ("\n" + result["error"] if result.get("error") else ""))
    if outcome.status == "crashed":
        outcome.fingerprint = ""  # never skipped: graded again next time
    state.record(outcome)
    return outcome


# --- command line ------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment id, e.g. 01-callbacks")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: number of CPUs)")
    parser.add_argument("--force", action="store_true", help="grade every submission again, even unchanged ones")
    parser.add_argument("--course", type=Path, default=None, help="course root (default: this repository)")
    parser.add_argument("--csv", type=Path, default=Path("grades.csv"),
                        help="where `nbgrader export` writes the grades, relative to the course root (default: grades.csv)")
    parser.add_argument("--no-csv", action="store_true", help="do not run `nbgrader export` at the end")
    parser.add_argument("--student-timeout", type=float, default=1800.0,
                        help="seconds after which one submission's grading is abandoned (default: 1800)")


def run_from_args(args: argparse.Namespace, default_root: Path) -> int:
    root = (args.course or default_root).resolve()

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        grade_class(root, args.assignment, workers=args.workers, force=args.force,
                    csv=None if args.no_csv else args.csv, student_timeout=args.student_timeout)
    except KeyboardInterrupt:
        return 130
    return 0


def gradebook_snapshot(db_url: str) -> dict:
    """Every student and submission row of a gradebook, keyed by names instead of random ids.

    Two gradebooks with equal snapshots hold the same grades, comments, timestamps and flags:
    the tests and the benchmark compare grade-class with a serial `nbgrader autograde` this way.
    """
    import warnings

    from nbgrader.api import Comment, Gradebook, Grade, Student, SubmittedAssignment, SubmittedNotebook
    from sqlalchemy.exc import SAWarning

    warnings.simplefilter("ignore", SAWarning)

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
