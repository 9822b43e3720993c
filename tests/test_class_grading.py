"""`grade-class`: grading a class on Dask ends exactly where a serial `nbgrader autograde` does.

One small class (a reference student, a blank one and a wrong answer) is graded serially by
`nbgrader autograde` + `nbgrader export` once, and compared, row by row and CSV line by CSV
line, with grade-class runs in temporary copies of the course:

* on the local default cluster, killed (SIGKILL, main process only) as soon as the first
  student is saved and run again: the second run grades only the students not saved yet,
  without the sandbox (`--SandboxKernelManager.sandbox=False`), and says so loudly; a third
  run has nothing left to grade;
* on a real Dask cluster on 127.0.0.1 (`dask scheduler` and two `dask worker` processes)
  through `--scheduler`, one worker killed while it grades: its submission is graded again
  on the other worker, nothing is lost or counted twice.

Failures of one task or one merge are reported for their student, with the traceback in the
student's log (checked in-process, without a cluster).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from coursetools.grading.course import load_course
from coursetools.grading.gradebook import GradebookWriter, gradebook_snapshot, read_rows_at, template
from coursetools.grading.results import NotebookRows, Status, StudentRows, SubmissionResult, SubmissionRows
from coursetools.grading.resume import State
from coursetools.grading.scheduling import finish
from coursetools.grading.submission import GradingJob, grade_submission
from coursetools.layout import Assignment
from coursetools.nbgrader_cli import environment, nbgrader
from coursetools.sandbox.bubblewrap import unavailable_reason
from coursetools.submissions import load_variants, submit, with_answer
from hostile.corpus import generated_course, handed_in

ASSIGNMENT = Assignment("01-callbacks")
DASK = Path(sys.executable).parent / "dask"
pytestmark = pytest.mark.xdist_group(name="class-grading")  # one serial reference serves every test here


def _class(course: Path) -> list[str]:
    good = handed_in(course, ASSIGNMENT)
    submit(course, "reference", ASSIGNMENT, good)
    submit(course, "blank", ASSIGNMENT, nbformat.read(ASSIGNMENT.path(course, "release"), as_version=4))
    variant = load_variants(ROOT / "tests" / "variants", ASSIGNMENT)[0]
    submit(course, variant.student, ASSIGNMENT, with_answer(good, variant.solution_id, variant.code))
    return ["reference", "blank", variant.student]


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The class, graded by plain nbgrader: one process, one student after another."""
    base = tmp_path_factory.mktemp("serial")
    (base / "home").mkdir()
    course = generated_course(base / "course", ASSIGNMENT, {"HOME": str(base / "home")})
    _class(course)
    nbgrader("autograde", ASSIGNMENT.id, cwd=course, extra_env={"HOME": str(base / "home")}, check=False, timeout=600)
    nbgrader("export", "--to", str(course / "grades.csv"), cwd=course, extra_env={"HOME": str(base / "home")})
    return course


def _fresh_class(tmp_path: Path) -> tuple[Path, dict, list[str]]:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home)}
    course = generated_course(tmp_path / "course", ASSIGNMENT, env)
    return course, env, _class(course)


def _grade_class(course: Path, env: dict, *options: str, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "coursetools", "grade-class", ASSIGNMENT.id, "--course", str(course), *options],
        cwd=course, env=environment(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def _saved(course: Path) -> dict:
    state = course / "autograded" / ".grade-class" / f"{ASSIGNMENT.id}.json"
    return json.loads(state.read_text())["students"] if state.exists() else {}


def _wait_for_first_saved(course: Path, run: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while not _saved(course) and time.monotonic() < deadline:
        assert run.poll() is None, run.stdout.read()
        time.sleep(0.2)
    assert _saved(course), "no student was saved in time"


def _assert_same_as_serial(course: Path, serial: Path) -> None:
    parallel_rows = gradebook_snapshot(f"sqlite:///{course / 'gradebook.db'}")
    serial_rows = gradebook_snapshot(f"sqlite:///{serial / 'gradebook.db'}")
    assert parallel_rows == serial_rows, {k: (parallel_rows.get(k), serial_rows.get(k))
                                          for k in set(parallel_rows) | set(serial_rows)
                                          if parallel_rows.get(k) != serial_rows.get(k)}
    assert (course / "grades.csv").read_text() == (serial / "grades.csv").read_text()
    scores = {row.split(",")[3]: float(row.split(",")[-2]) for row in (course / "grades.csv").read_text().splitlines()[1:]}
    assert scores["reference"] > 0 and scores["blank"] == 0, scores


def _processes(session: int | None = None, folder: Path | None = None) -> list[str]:
    """Processes of a session, or with their working folder or command line in `folder`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            sid = os.getsid(int(entry.name))
        except OSError:
            continue
        if sid == session or (folder is not None and (cwd.startswith(str(folder)) or str(folder) in cmdline)):
            found.append(f"{entry.name} {cwd} {cmdline[:160]}")
    return found


def _gone(check, seconds: float = 20) -> list[str]:
    deadline = time.monotonic() + seconds
    while (left := check()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def test_killed_midway_resumes_and_matches_serial_autograde(tmp_path: Path, serial: Path) -> None:
    course, env, students = _fresh_class(tmp_path)

    # First run, on the local default cluster: killed as soon as one student is saved.
    run = _grade_class(course, env, "--workers", "2", start_new_session=True)
    _wait_for_first_saved(course, run)
    os.kill(run.pid, signal.SIGKILL)
    run.wait(30)
    saved = sorted(_saved(course))
    assert 1 <= len(saved) < len(students), saved
    # Workers and their sandboxed kernels die with the main process.
    assert not _gone(lambda: _processes(session=run.pid, folder=course))

    # Second run: only the rest, unsandboxed this time (and saying so).
    second = _grade_class(course, env, "--workers", "2", "--SandboxKernelManager.sandbox=False")
    output, _ = second.communicate(timeout=400)
    assert second.returncode == 0, output
    assert f"{len(students)} submissions, {len(students) - len(saved)} to grade, {len(saved)} unchanged" in output, output
    assert "local Dask cluster of 2 worker processes" in output, output
    assert "UNSANDBOXED" in output, output
    assert "0 crashed the grader" in output, output
    outcomes = _saved(course)
    sandboxed_first = unavailable_reason() is None  # where bwrap cannot work, neither run is sandboxed
    assert all(("UNSANDBOXED" in outcomes[s]["notes"]) == (s not in saved or not sandboxed_first)
               for s in students), outcomes
    _assert_same_as_serial(course, serial)

    # A third run has nothing left to do (it would grade the unsandboxed ones again if bwrap were back).
    third = _grade_class(course, env, "--workers", "2", "--SandboxKernelManager.sandbox=False")
    output, _ = third.communicate(timeout=120)
    assert third.returncode == 0 and f"0 to grade, {len(students)} unchanged" in output, output


def test_dask_cluster_loses_a_worker_and_matches_serial_autograde(tmp_path: Path, serial: Path) -> None:
    course, env, students = _fresh_class(tmp_path)
    started: list[subprocess.Popen] = []

    def start(*words: str) -> subprocess.Popen:
        process = subprocess.Popen([str(DASK), *words], cwd=tmp_path, env=environment(env), start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=(tmp_path / f"dask-{len(started)}.log").open("w"))
        started.append(process)
        return process

    address_file = tmp_path / "scheduler.json"
    try:
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(address_file))
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(address_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:"), address
        workers = [start("worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard",
                         "--memory-limit", "0", "--name", f"w{i}") for i in range(2)]

        run = _grade_class(course, env, "--scheduler", address)
        _wait_for_first_saved(course, run)
        # The worker that graded the first student has taken the next one by now: kill it mid-run.
        first_log = next(iter(_saved(course)))
        graded_on = (course / "autograded" / ".grade-class" / "logs" / ASSIGNMENT.id / f"{first_log}.log").read_text()
        victim = next(w for w in workers if f":{w.pid} " in graded_on.splitlines()[0])
        survivor = next(w for w in workers if w is not victim)
        graded_before = set(_saved(course))
        os.kill(victim.pid, signal.SIGKILL)
        output, _ = run.communicate(timeout=400)
        assert run.returncode == 0, output
        assert f"Dask cluster at {address}" in output, output
        assert f"{len(students)} submissions: {len(students)} graded" in output and "0 crashed the grader" in output, output
        later = set(_saved(course)) - graded_before
        assert later, "every student was saved before the worker was killed"
        for student in later:  # the killed worker's submission ran again on the other one
            log = (course / "autograded" / ".grade-class" / "logs" / ASSIGNMENT.id / f"{student}.log").read_text()
            assert f":{survivor.pid} " in log.splitlines()[0], log[:200]
        _assert_same_as_serial(course, serial)
    finally:
        for process in started:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(30)
    assert not _gone(lambda: [p for s in started for p in _processes(session=s.pid)] + _processes(folder=course))


def test_a_failing_task_is_reported_for_its_student(tmp_path: Path) -> None:
    course_root, _env, _students = _fresh_class(tmp_path)
    course, _config = load_course(course_root, ASSIGNMENT.id)
    result = grade_submission(GradingJob(course, "reference", "print"), b"this is not an SQLite database")
    assert result.status == Status.CRASHED and result.student == "reference", result
    assert "Traceback" in result.log and "DatabaseError" in result.log, result.log[-2000:]


def test_a_failing_merge_is_reported_and_the_class_goes_on(tmp_path: Path) -> None:
    course_root, _env, _students = _fresh_class(tmp_path)
    course, _config = load_course(course_root, ASSIGNMENT.id)
    assert template(course)  # a readable copy of the gradebook
    writer = GradebookWriter(course)
    state = State(course)
    try:
        broken = StudentRows(SubmissionRows(None, {"no-such-notebook": NotebookRows(None, {}, {})}))
        outcome = finish(course, writer, state, SubmissionResult("reference", "print", Status.GRADED, rows=broken))
        assert outcome.status == Status.CRASHED and "merging into the gradebook failed" in outcome.error, outcome
        log = course.log_path("reference").read_text()
        assert "Traceback" in log and "no-such-notebook" in log, log
        assert outcome.fingerprint == ""  # graded again next run
        fine = finish(course, writer, state, SubmissionResult("blank", "print", Status.GRADED, rows=StudentRows(None)))
        assert fine.status == Status.GRADED
    finally:
        writer.close()
    assert read_rows_at(course.db_url, course, "blank") == StudentRows(None)
    assert set(State(course).outcomes) == {"reference", "blank"}
