"""Broken and hostile submissions, graded as one class in parallel: each gets a clear result.

The corpus (tests/hostile/, see corpus.py there) is handed in for 01-callbacks next to a
reference student and graded with `python -m coursetools grade-class --workers 2` in a
temporary course whose per-cell limit is 15 s. Every case must come to its stated outcome:
an endless, crashing or resource-eating first exercise costs exactly that exercise's points
and the rest of the notebook is still graded; tampering fakes no pass; stderr noise from the
student's own code costs nothing; the sandbox keeps the course's files and the network out
of reach; no other student's grade changes.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from coursetools.sandbox.bubblewrap import unavailable_reason
from coursetools.layout import Assignment
from coursetools.nbgrader_cli import environment
from coursetools.submissions import submit
from hostile.corpus import exercises, generated_course, handed_in, load_cases, render

ASSIGNMENT = Assignment("01-callbacks")
CASES = load_cases()
# One graded class serves every test here: with pytest-xdist, keep them on one worker
# (`--dist loadgroup` or `--dist loadscope`). Fork bombs and memory bombs are only ever run
# inside the sandbox: where it cannot work, these tests are skipped and say why.
pytestmark = [
    pytest.mark.xdist_group(name="hostile-corpus"),
    pytest.mark.skipif(unavailable_reason() is not None,
                       reason=f"the hostile corpus needs the grading sandbox: {unavailable_reason()}"),
]

#: Submissions that are broken in their structure rather than their code, with their outcome.
STRUCTURAL = {
    "reference": "full",
    "deleted-test-cell": "full",          # nbgrader puts the test back and runs it
    "edited-test-cell": "first-exercise",  # the edit is undone; the unsolved exercise still fails
    "reordered-test-cell": "first-test",   # graded in the student's order: a test above its solution fails
    "corrupted-json": "error",
    "misnamed-notebook": "no notebook",
    "missing-notebook": "no notebook",
    "empty-notebook": "zero",
}
#: What the summary must say about some cases.
NOTES = {
    "infinite-loop": "CellTimeoutError",
    "kernel-exit": "KernelDied",
    "segfault": "KernelDied",
    "background-task": "KernelBroken",
    "deleted-test-cell": "put back",
    "edited-test-cell": "edited read-only cell",
    "fake-pass-autograder": "grader restored sys.modules['autograder'], autograder.check",
    "fake-pass-ipython": "grader restored IPython input_transformers_cleanup, IPython custom exception handler",
    "fake-pass-time-asyncio": "grader restored time.monotonic, time.perf_counter, asyncio.sleep",
}
EXPECTED = {**STRUCTURAL, **{case.name: case.expect for case in CASES}}


@dataclass
class GradedClass:
    course: Path
    home: Path
    outcomes: dict[str, dict]
    output: str
    pid: int
    exercises: list
    connections: list


class _Listener:
    """A TCP port on 127.0.0.1 that records every connection made to it."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.socket.settimeout(0.5)
        self.port = self.socket.getsockname()[1]
        self.connections: list = []
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while self.running:
            try:
                conn, peer = self.socket.accept()
                self.connections.append(peer)
                conn.close()
            except OSError:
                continue

    def close(self):
        self.running = False
        self.thread.join(2)
        self.socket.close()


def _build(course: Path, home: Path, port: int) -> list:
    source = ASSIGNMENT.path(course)
    exs = exercises(source)
    first = exs[0]
    release = nbformat.read(ASSIGNMENT.path(course, "release"), as_version=4)
    good = handed_in(course, ASSIGNMENT)
    import course as course_package

    for case in CASES:
        values = {"__COURSE__": str(course), "__HOME__": str(home), "__SELF__": case.name,
                  "__OTHER__": "reference", "__PORT__": str(port),
                  "__PACKAGE__": str(Path(course_package.__file__).parent)}
        submit(course, case.name, ASSIGNMENT, render(case, good, release, first, values))

    submit(course, "reference", ASSIGNMENT, good)
    deleted = nbformat.from_dict(good)
    deleted.cells = [c for c in deleted.cells if c.metadata.get("nbgrader", {}).get("grade_id") != first.tests[0]]
    submit(course, "deleted-test-cell", ASSIGNMENT, deleted)
    edited = nbformat.from_dict(good)
    for cell in edited.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == first.solution_id:
            cell.source = next(c.source for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        if grade_id in first.tests:
            cell.source = '"""Edited by the student."""\npass\n'
    submit(course, "edited-test-cell", ASSIGNMENT, edited)
    reordered = nbformat.from_dict(good)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in reordered.cells]
    moved = reordered.cells.pop(ids.index(first.tests[0]))
    reordered.cells.insert(ids.index(first.solution_id), moved)
    submit(course, "reordered-test-cell", ASSIGNMENT, reordered)
    path = submit(course, "corrupted-json", ASSIGNMENT, good)
    path.write_text(path.read_text()[: len(path.read_text()) // 2])
    path = submit(course, "misnamed-notebook", ASSIGNMENT, good)
    path.rename(path.with_name(path.stem + " (1).ipynb"))
    path = submit(course, "missing-notebook", ASSIGNMENT, good)
    path.unlink()
    (path.parent / "README.txt").write_text("I forgot the notebook.\n")
    empty = nbformat.v4.new_notebook(metadata=good.metadata)
    submit(course, "empty-notebook", ASSIGNMENT, empty)
    return exs


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> GradedClass:
    base = tmp_path_factory.mktemp("hostile")
    home = base / "home"
    home.mkdir()
    env = {"HOME": str(home)}
    course = generated_course(base / "course", ASSIGNMENT, env)
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\n# The hostile corpus: a short per-cell limit keeps endless cells cheap.\nc.Execute.timeout = 15\n")
    listener = _Listener()
    try:
        exs = _build(course, home, listener.port)
        run = subprocess.Popen(
            [sys.executable, "-m", "coursetools", "grade-class", ASSIGNMENT.id, "--workers", "2", "--course", str(course)],
            cwd=course, env=environment(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stdout, stderr = run.communicate(timeout=600)
    finally:
        listener.close()
    result = subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stdout)
    state = json.loads((course / "autograded" / ".grade-class" / f"{ASSIGNMENT.id}.json").read_text())
    return GradedClass(course, home, state["students"], result.stdout, run.pid, exs, listener.connections)


def _lost(outcome: dict) -> set[str]:
    return {t["id"] for t in outcome["tests"] if t["score"] is None or t["score"] < t["max"]}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_submission_gets_its_outcome(graded: GradedClass, name: str) -> None:
    outcome = graded.outcomes[name]
    expect = EXPECTED[name]
    first = graded.exercises[0]
    every_test = {t for e in graded.exercises for t in e.tests}
    described = json.dumps({k: outcome[k] for k in ("status", "score", "max_score", "notes", "error")}, indent=1)
    if expect in {"full", "first-exercise", "first-test", "zero"}:
        assert outcome["status"] == "graded", described
        assert {t["id"] for t in outcome["tests"]} == every_test, described
        lost = _lost(outcome)
        wanted = {"full": set(), "first-exercise": set(first.tests), "first-test": {first.tests[0]},
                  "zero": every_test}[expect]
        assert lost == wanted, f"{name} lost {sorted(lost)}, expected {sorted(wanted)}\n{described}"
    elif expect == "error":
        assert outcome["status"] == "error" and not outcome["score"], described
        assert "not valid JSON" in outcome["error"], described
    elif expect == "no notebook":
        assert outcome["status"] == "no notebook" and not outcome["score"], described
    else:
        raise AssertionError(f"unknown outcome {expect!r}")
    if name in NOTES:
        assert any(NOTES[name] in note for note in outcome["notes"]), described
    assert f"\n{name} " in graded.output, f"{name} is missing from the summary table:\n{graded.output}"


def test_summary_explains_what_went_wrong(graded: GradedClass) -> None:
    assert "sandboxed with bubblewrap" in graded.output
    assert "UNSANDBOXED" not in graded.output
    misnamed = graded.outcomes["misnamed-notebook"]
    assert "callbacks (1).ipynb" in misnamed["error"], misnamed
    assert graded.outcomes["missing-notebook"]["error"] == "no notebook in the submission folder"
    assert (graded.course / "grades.csv").exists()


def test_sandbox_keeps_the_course_and_the_network_out_of_reach(graded: GradedClass) -> None:
    notebook = nbformat.read(graded.course / "autograded" / "read-course-files" / ASSIGNMENT.id / ASSIGNMENT.notebook,
                             as_version=4)
    first = graded.exercises[0]
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == first.solution_id)
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    assert "SNOOP-BLOCKED" in text, text[:3000]
    for forbidden in ("SNOOP-READ", "SNOOP-WROTE", "SNOOP-CONNECTED"):
        assert forbidden not in text, text[:3000]
    assert text.count("SNOOP-BLOCKED write") == 4 and "SNOOP-BLOCKED network" in text, text[:3000]
    found = json.loads(text.split("SNOOP-FOUND ", 1)[1].splitlines()[0])
    assert not [p for p in found if p.startswith((str(graded.course), str(graded.home)))], found
    limits = json.loads(text.split("SNOOP-LIMITS ", 1)[1].splitlines()[0])
    assert limits["uid"] != 0 and limits["processes"] == 128 and limits["memory"] == 2048 << 20, limits
    assert len(limits["pids"]) < 10, limits  # its own process namespace: only the sandbox's processes
    assert graded.connections == []
    assert not (graded.course / "planted.txt").exists()
    import course as course_package

    assert not (Path(course_package.__file__).parent / "planted.py").exists()


def test_output_flood_is_capped(graded: GradedClass) -> None:
    autograded = graded.course / "autograded" / "output-flood" / ASSIGNMENT.id / ASSIGNMENT.notebook
    assert autograded.stat().st_size < 3_000_000


def test_no_grading_processes_are_left_behind(graded: GradedClass) -> None:
    leftovers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(graded.course)) or str(graded.course) in cmdline:
            leftovers.append((entry.name, cwd, cmdline[:200]))
    assert not leftovers, leftovers
    logs = graded.course / "autograded" / ".grade-class" / "logs" / ASSIGNMENT.id
    workers = {log.read_text().split(" in ", 1)[0].rsplit(":", 1)[-1] for log in logs.glob("*.log")}
    scratch = [p for w in workers for p in Path(tempfile.gettempdir()).glob(f"grade-class-task-{w}-*")]
    assert workers and not scratch, (workers, scratch)


def test_stderr_from_student_code_costs_nothing(graded: GradedClass) -> None:
    """nbgrader alone scores a test cell with any stderr output 0; the course's rule does not."""
    notebook = nbformat.read(graded.course / "autograded" / "stderr-noise" / ASSIGNMENT.id / ASSIGNMENT.notebook,
                             as_version=4)
    noisy = [c.metadata["nbgrader"]["grade_id"] for c in notebook.cells
             if c.metadata.get("nbgrader", {}).get("grade")
             and any(o.get("name") == "stderr" for o in c.get("outputs", []))]
    assert set(graded.exercises[0].tests) <= set(noisy), noisy
    assert not _lost(graded.outcomes["stderr-noise"])
