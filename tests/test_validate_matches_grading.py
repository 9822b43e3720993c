"""Validate tells the truth: the Validate button and grading give every visible test the same verdict.

For each assignment, the release notebook is filled the way students fill it: with the
reference solutions, and with every committed wrong variant (tests/variants). Variants of
different exercises share a notebook (round r holds the r-th variant of each exercise), and the
exercises without a variant in a round are left unsolved or solved by turns, so lesson cells
and earlier exercises leave behind what an unsolved exercise leaves (a student who solves
exercise 3 before exercise 2). Each notebook goes through the Validator the Validate button
uses (coursevalidate, with the course's nbgrader_config.py) and through `nbgrader autograde`
with the course's grading preprocessors; every test cell must get the same verdict from both.
Grading runs in the background while Validate runs, to keep the cost near one pass.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.apps import NbGrader

from conftest import ROOT, copy_course
from coursetools.layout import Assignment
from coursetools.nbgrader_cli import environment, nbgrader
from coursetools.submissions import Variant, load_variants, solved, submit
from coursevalidate import CourseValidator, is_test_cell, score_like_grading

VARIANTS = ROOT / "tests" / "variants"


def _answers(assignment: Assignment, course: Path) -> dict[str, str]:
    """Reference answer of each solution cell, by grade_id."""
    return {cell.metadata.nbgrader.grade_id: cell.source for cell in solved(assignment.path(course)).cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")}


def fillings(assignment: Assignment, course: Path) -> dict[str, nbformat.NotebookNode]:
    """Student notebooks by name: the reference, then one round per depth of the variants."""
    answers = _answers(assignment, course)
    by_exercise: dict[str, list[Variant]] = {}
    for variant in load_variants(VARIANTS, assignment):
        by_exercise.setdefault(variant.solution_id, []).append(variant)
    rounds = max((len(v) for v in by_exercise.values()), default=0)
    notebooks = {"reference": _filled(assignment, course, answers)}
    for round_number in range(rounds):
        chosen = {}
        for position, solution_id in enumerate(answers):
            variants = by_exercise.get(solution_id, [])
            if round_number < len(variants):
                chosen[solution_id] = variants[round_number].code
            elif (position + round_number) % 2 == 0:
                chosen[solution_id] = answers[solution_id]
        notebooks[f"round-{round_number + 1}"] = _filled(assignment, course, chosen)
    return notebooks


def _filled(assignment: Assignment, course: Path, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The release notebook with `answers` typed into their solution cells; the others stay blank."""
    notebook = nbformat.read(assignment.path(course, "release"), as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


def _course_config(course: Path):
    """The configuration the Validate button reads: nbgrader_config.py in the server's folder."""
    app = NbGrader()
    app.config_file_paths.append(str(course))
    app.load_config_file()
    return app.config


def validate_verdicts(path: Path, config) -> dict[str, bool]:
    """Pass (True) or fail of every test cell, as the Validate button reports them."""
    notebook = nbformat.read(path, as_version=4)
    tests = {cell.source.strip(): cell.metadata.nbgrader.grade_id for cell in notebook.cells if is_test_cell(cell)}
    assert len(tests) == sum(map(is_test_cell, notebook.cells)), "test cells must differ to be told apart"
    result = CourseValidator(config=config).validate(str(path))
    assert set(result) <= {"failed"}, f"Validate did not score the notebook: {sorted(result)}"
    failed = {tests[cell["source"]] for cell in result.get("failed", [])}
    return {grade_id: grade_id not in failed for grade_id in tests.values()}


def grading_verdicts(course: Path, assignment: Assignment, student: str, tests: set[str]) -> dict[str, bool]:
    """Pass (full points) or fail of every test cell in `tests`, as grading scored them."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(assignment.notebook[:-6], assignment.id, student)
        return {grade.name: grade.score == grade.max_score for grade in notebook.grades if grade.name in tests}


def test_validate_and_grading_agree_on_every_visible_test(assignment: Assignment, tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course")
    nbgrader("generate_assignment", assignment.id, "--force", cwd=course)
    notebooks = fillings(assignment, course)
    paths = {student: submit(course, student, assignment, notebook) for student, notebook in notebooks.items()}
    log = (tmp_path / "autograde.log").open("w")
    grading = subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", assignment.id, "--force"],
                               cwd=course, env=environment(), stdout=log, stderr=subprocess.STDOUT)
    try:
        config = _course_config(course)
        validated = {}
        for student, path in paths.items():
            scratch = tmp_path / "validate" / student / path.name  # Validate runs where the student works
            scratch.parent.mkdir(parents=True)
            scratch.write_bytes(path.read_bytes())
            validated[student] = validate_verdicts(scratch, config)
    finally:
        assert grading.wait(timeout=1200) == 0, (tmp_path / "autograde.log").read_text()[-3000:]
        log.close()
    disagreements = []
    for student in notebooks:
        graded = grading_verdicts(course, assignment, student, set(validated[student]))
        assert set(graded) == set(validated[student]), f"{student}: the same test cells in both"
        disagreements += [f"{student}: {test} passes Validate: {validated[student][test]}, grading: {graded[test]}"
                          for test in graded if graded[test] != validated[student][test]]
    assert validated["reference"] and all(validated["reference"].values()), validated["reference"]
    assert len(notebooks) == 1 or any(not all(v.values()) for v in validated.values()), "the variants fail something"
    assert not disagreements, "\n".join(disagreements)


def _test_cell(*outputs: dict) -> NotebookNode:
    cell = nbformat.v4.new_code_cell('"""download_all gets every page."""\ncheck_download_all(download_all)')
    cell.metadata.nbgrader = {"grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "t"}
    cell.outputs = [nbformat.v4.output_from_msg({"header": {"msg_type": o.pop("type")}, "content": o}) for o in outputs]
    return cell


def _verdict(cell: NotebookNode) -> bool:
    """nbgrader's own scoring, after Validate's rule is applied: full points?"""
    notebook = nbformat.v4.new_notebook(cells=[cell])
    score, points = utils.determine_grade(score_like_grading(notebook).cells[0])
    return score == points


def test_validate_rule_is_grading_rule() -> None:
    """Text on stderr costs nothing, a displayed number gives no partial credit, an error fails."""
    assert _verdict(_test_cell({"type": "stream", "name": "stderr", "text": "RuntimeWarning: never awaited\n"}))
    assert _verdict(_test_cell({"type": "execute_result", "data": {"text/plain": "0.5"}, "metadata": {},
                                "execution_count": 1}))
    assert _verdict(_test_cell({"type": "stream", "name": "stdout", "text": "passed: download_all\n"}))
    assert not _verdict(_test_cell({"type": "stream", "name": "stderr", "text": "noise\n"},
                                   {"type": "error", "ename": "WrongResult", "evalue": "download_all returned []",
                                    "traceback": ["\x1b[0;31m---\x1b[0m", "\x1b[0;31mWrongResult\x1b[0m: download_all returned []"]}))


def test_validate_shows_the_message_first_and_only_the_students_frames() -> None:
    header = "\x1b[0;31m---------------\x1b[0m\n\x1b[0;31mTaskLeaked\x1b[0m   Traceback (most recent call last)"
    test_frame = "\x1b[0;36mCell In[7], line 2\x1b[0m\n----> 2 check_download_all(download_all)"
    library_frame = "File \x1b[0;32m/site-packages/autograder/checks.py:10\x1b[0m, in \x1b[0;36mcheck\x1b[0m"
    student_frame = "\x1b[0;36mCell In[5], line 4\x1b[0m, in download_all()\n----> 4 asyncio.create_task(fetch(url))"
    message = "\x1b[0;31mTaskLeaked\x1b[0m: download_all left 2 tasks running: cancel them, then await them"
    cell = _test_cell({"type": "stream", "name": "stderr", "text": "noise\n"},
                      {"type": "error", "ename": "TaskLeaked", "evalue": "download_all left 2 tasks running",
                       "traceback": [header, test_frame, library_frame, student_frame, message]})
    [error] = score_like_grading(nbformat.v4.new_notebook(cells=[cell])).cells[0].outputs
    assert error.traceback[0] == "TaskLeaked: download_all left 2 tasks running: cancel them, then await them"
    assert error.traceback[-1] == student_frame
    assert not {header, test_frame, library_frame} & set(error.traceback)
