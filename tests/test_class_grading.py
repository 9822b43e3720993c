"""`grade-class`: parallel autograding that ends exactly where a serial `nbgrader autograde` does.

A small class (a reference student, a blank one and two wrong answers) is graded twice in
temporary copies of the course: serially by `nbgrader autograde` + `nbgrader export`, and by
`python -m coursetools grade-class --workers 2`, which is killed (SIGKILL, main process only)
as soon as the first student is saved and then run again. The second run must grade only
the students not saved yet, and the gradebook (every row of every student) and the CSV must
be identical to the serial ones. The second run grades without the sandbox
(COURSE_SANDBOX_BWRAP=none): it must still work and say so, loudly. A third run (still
without the sandbox) has nothing left to grade.
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

from conftest import ROOT
from coursetools import sandbox
from coursetools.grade_class import gradebook_snapshot
from coursetools.layout import Assignment
from coursetools.nbgrader_cli import environment, nbgrader
from coursetools.submissions import load_variants, submit, with_answer
from hostile.corpus import generated_course, handed_in

ASSIGNMENT = Assignment("01-callbacks")


def _class(course: Path) -> list[str]:
    good = handed_in(course, ASSIGNMENT)
    submit(course, "reference", ASSIGNMENT, good)
    submit(course, "blank", ASSIGNMENT, nbformat.read(ASSIGNMENT.path(course, "release"), as_version=4))
    students = ["reference", "blank"]
    for variant in load_variants(ROOT / "tests" / "variants", ASSIGNMENT)[:2]:
        submit(course, variant.student, ASSIGNMENT, with_answer(good, variant.solution_id, variant.code))
        students.append(variant.student)
    return students


def _grade_class(course: Path, env: dict, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "coursetools", "grade-class", ASSIGNMENT.id, "--workers", "2", "--course", str(course)],
        cwd=course, env=environment(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def _processes_of(course: Path, session: int) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            sid = os.getsid(int(entry.name))
        except OSError:
            continue
        if sid == session or cwd.startswith(str(course)):
            found.append(f"{entry.name} {cwd} {(entry / 'cmdline').read_bytes()[:120]!r}")
    return found


def test_killed_midway_resumes_and_matches_serial_autograde(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home)}
    course = generated_course(tmp_path / "parallel", ASSIGNMENT, env)
    students = _class(course)
    serial = tmp_path / "serial"
    shutil.copytree(course, serial)
    (serial / "nbgrader_config.py").write_text((course / "nbgrader_config.py").read_text())

    # First run: killed as soon as one student is saved.
    state = course / "autograded" / ".grade-class" / f"{ASSIGNMENT.id}.json"
    run = _grade_class(course, env, start_new_session=True)
    deadline = time.monotonic() + 240
    while not (state.exists() and json.loads(state.read_text())["students"]) and time.monotonic() < deadline:
        assert run.poll() is None, run.stdout.read()
        time.sleep(0.2)
    os.kill(run.pid, signal.SIGKILL)
    run.wait(30)
    saved = sorted(json.loads(state.read_text())["students"])
    assert 1 <= len(saved) < len(students), saved
    # Workers and their sandboxed kernels die with the main process.
    deadline = time.monotonic() + 15
    while _processes_of(course, run.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _processes_of(course, run.pid)

    # Second run: only the rest, unsandboxed this time (and saying so).
    second = _grade_class(course, {**env, "COURSE_SANDBOX_BWRAP": "none"})
    output, _ = second.communicate(timeout=400)
    assert second.returncode == 0, output
    assert f"{len(students)} submissions, {len(students) - len(saved)} to grade, {len(saved)} unchanged" in output, output
    assert "UNSANDBOXED" in output, output
    assert "0 crashed the grader" in output, output
    outcomes = json.loads(state.read_text())["students"]
    sandboxed_first = sandbox.unavailable_reason() is None  # where bwrap cannot work, neither run is sandboxed
    assert all(("UNSANDBOXED" in outcomes[s]["notes"]) == (s not in saved or not sandboxed_first)
               for s in students), outcomes

    # The serial reference: plain nbgrader, one process, one student after another.
    nbgrader("autograde", ASSIGNMENT.id, cwd=serial, extra_env=env, check=False, timeout=600)
    nbgrader("export", "--to", str(serial / "grades.csv"), cwd=serial, extra_env=env)

    parallel_rows = gradebook_snapshot(f"sqlite:///{course / 'gradebook.db'}")
    serial_rows = gradebook_snapshot(f"sqlite:///{serial / 'gradebook.db'}")
    assert parallel_rows == serial_rows, {k: (parallel_rows.get(k), serial_rows.get(k))
                                          for k in set(parallel_rows) | set(serial_rows)
                                          if parallel_rows.get(k) != serial_rows.get(k)}
    assert (course / "grades.csv").read_text() == (serial / "grades.csv").read_text()
    scores = {row.split(",")[3]: float(row.split(",")[-2]) for row in (course / "grades.csv").read_text().splitlines()[1:]}
    assert scores["reference"] > 0 and scores["blank"] == 0, scores

    # A third run has nothing left to do (it would grade the unsandboxed ones again if bwrap were back).
    third = _grade_class(course, {**env, "COURSE_SANDBOX_BWRAP": "none"})
    output, _ = third.communicate(timeout=120)
    assert third.returncode == 0 and f"0 to grade, {len(students)} unchanged" in output, output
