"""The nbgrader exchange, end to end, as on a JupyterHub: release, fetch, submit, collect,
autograde, feedback, and the student reads their score.

Everything happens in temporary folders: a copy of the course (the instructor's course
root), an exchange folder (the course's nbgrader_config.py reads it from NBGRADER_EXCHANGE),
and a home folder per person (HOME points there, so nbgrader's cache and Jupyter's runtime
files never touch the real home). Students run nbgrader from their own home with their own
nbgrader_config.py, as on a hub where each student has a server: it names the course and
the exchange, and their student id (nbgrader takes it from the OS user name otherwise, and
every process here runs as the same OS user).
"""
from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from conftest import copy_course
from coursetools.layout import Assignment
from coursetools.nbgrader_cli import nbgrader
from hostile.corpus import handed_in

ASSIGNMENT = Assignment("01-callbacks")
COURSE_ID = "asyncio-course"


def _student(tmp_path: Path, name: str, exchange: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "homes" / name
    home.mkdir(parents=True)
    (home / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        "c.Exchange.path_includes_course = True\n"
        f"c.CourseDirectory.student_id = {name!r}\n"
    )
    return home, {"HOME": str(home), "USER": name, "LOGNAME": name, "NBGRADER_EXCHANGE": ""}


def _each_student(students: dict, *command: str) -> None:
    """Run one nbgrader command for every student, all at once, each in their own home."""
    with ThreadPoolExecutor(len(students)) as pool:
        for done in [pool.submit(nbgrader, *command, cwd=home, extra_env=env) for home, env in students.values()]:
            done.result()


def test_release_fetch_submit_collect_autograde_feedback(tmp_path: Path) -> None:
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o1777)
    course = copy_course(tmp_path / "course")
    instructor_home = tmp_path / "homes" / "instructor"
    instructor_home.mkdir(parents=True)
    instructor = {"HOME": str(instructor_home), "NBGRADER_EXCHANGE": str(exchange)}

    nbgrader("generate_assignment", ASSIGNMENT.id, "--force", cwd=course, extra_env=instructor)
    nbgrader("release_assignment", ASSIGNMENT.id, "--force", cwd=course, extra_env=instructor)
    assert (exchange / COURSE_ID / "outbound" / ASSIGNMENT.id / ASSIGNMENT.notebook).exists()

    # The students work at the same time, each on their own server.
    students = {name: _student(tmp_path, name, exchange) for name in ("alice", "bob")}
    _each_student(students, "fetch_assignment", ASSIGNMENT.id)
    for name, (home, _env) in students.items():
        fetched = home / COURSE_ID / ASSIGNMENT.id / ASSIGNMENT.notebook
        assert fetched.exists(), sorted(str(p.relative_to(home)) for p in home.rglob("*"))
        if name == "alice":  # alice solves everything; bob hands in the notebook as he got it
            nbformat.write(handed_in(course, ASSIGNMENT), fetched)
    _each_student(students, "submit", ASSIGNMENT.id)

    nbgrader("collect", ASSIGNMENT.id, cwd=course, extra_env=instructor)
    for name in students:
        assert (course / "submitted" / name / ASSIGNMENT.id / "timestamp.txt").exists()
    nbgrader("autograde", ASSIGNMENT.id, cwd=course, extra_env=instructor, timeout=600)
    nbgrader("generate_feedback", ASSIGNMENT.id, cwd=course, extra_env=instructor)
    nbgrader("release_feedback", ASSIGNMENT.id, cwd=course, extra_env=instructor)

    _each_student(students, "fetch_feedback", ASSIGNMENT.id)
    scores = {}
    for name, (home, _env) in students.items():
        pages = list((home / COURSE_ID / ASSIGNMENT.id / "feedback").glob(f"*/{ASSIGNMENT.notebook[:-6]}.html"))
        assert len(pages) == 1, sorted(str(p.relative_to(home)) for p in home.rglob("*"))
        text = html.unescape(re.sub(r"<[^>]+>", " ", pages[0].read_text()))
        found = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", text)
        assert found, text[:2000]
        scores[name] = (float(found[1]), float(found[2]))
    maximum = scores["alice"][1]
    assert maximum > 0
    assert scores == {"alice": (maximum, maximum), "bob": (0.0, maximum)}, scores
