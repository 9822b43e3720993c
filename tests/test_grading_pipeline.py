"""End to end through real nbgrader: generate, submit, autograde, export, feedback, and Validate.

In a temporary copy of the course, each assignment's release notebook is filled the way
students fill it and graded by `nbgrader autograde` with the course's grading preprocessors:

* the reference (every exercise solved) gets full marks, the blank notebook zero;
* every committed wrong variant (tests/variants) loses the points of the tests it names, and
  only those. Variants of different exercises share a notebook, the others solved: round r
  holds the r-th variant of each exercise, and loses exactly the union of what they name.
  Where exercises build on each other (the capstone), one mistake can hide another: a round
  that loses anything else has each of its variants graded alone, beside the reference;
* "skipping" solves every other exercise, starting with the second (a student who solves
  exercise 2 before exercise 1), so later exercises run after an unsolved one.

Each of these notebooks also goes through the Validator behind the Validate button
(`autograder.validate`, with the course's nbgrader_config.py), in a copy of the release
folder as a student's, while grading runs: every visible test must get the same verdict from
both. The real course folder is left untouched.

Grading and Validate skip lesson cells tagged `demo`: no demo cell may bind a name a later
cell reads. With the demos run, the reference passes every test too (test_course_notebooks
validates the source notebooks, demos included).
"""
from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.apps import NbGrader

from autograder.demos import DEMO_TAG, defined_names, is_demo, names_used_later, skipped_demos, used_names
from autograder.validate import CourseValidator, is_test_cell
from conftest import ROOT, copy_course
from coursetools.grading.events import EventKind, read_events
from coursetools.layout import Assignment
from coursetools.nbgrader_cli import environment, nbgrader
from coursetools.submissions import Variant, load_variants, solved, submit, variant_rounds, with_answer

VARIANTS = ROOT / "tests" / "variants"
GRADING_TIMEOUT = 1200


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".git" not in path.parts and ".venv" not in path.parts and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _filled(release: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The release notebook with `answers` typed into their solution cells; the others stay blank."""
    notebook = nbformat.from_dict(release)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in answers:
            cell.source = answers[cell.metadata.nbgrader.grade_id]
    return notebook


def students(assignment: Assignment, course: Path) -> tuple[dict[str, nbformat.NotebookNode], dict[str, list[Variant]]]:
    """(notebook of each student, the variants in each round's notebook)."""
    release = nbformat.read(assignment.path(course, "release"), as_version=4)
    answers = {cell.metadata.nbgrader.grade_id: cell.source for cell in solved(assignment.path(course)).cells
               if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")}
    notebooks = {"reference": _filled(release, answers), "blank": release,
                 "skipping": _filled(release, {k: v for n, (k, v) in enumerate(answers.items()) if n % 2})}
    in_round: dict[str, list[Variant]] = {}
    for number, chosen in enumerate(variant_rounds(load_variants(VARIANTS, assignment)), start=1):
        notebooks[f"round-{number}"] = _filled(release, {**answers, **{v.solution_id: v.code for v in chosen}})
        in_round[f"round-{number}"] = chosen
    return notebooks, in_round


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
    failed = {tests[cell["source"].strip()] for cell in result.get("failed", [])}
    return {grade_id: grade_id not in failed for grade_id in tests.values()}


def test_autograde_validate_export_and_feedback(assignment: Assignment, tmp_path: Path) -> None:
    before = _tree_digest(ROOT / "source") + _tree_digest(ROOT / "release")
    course = copy_course(tmp_path / "course")
    db = f"sqlite:///{course / 'gradebook.db'}"
    nbgrader("generate_assignment", assignment.id, "--force", cwd=course)
    notebooks, in_round = students(assignment, course)
    for student, notebook in notebooks.items():
        submit(course, student, assignment, notebook)

    log = (tmp_path / "autograde.log").open("w")
    grading = subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", assignment.id, "--force"],
                               cwd=course, env=environment(), stdout=log, stderr=subprocess.STDOUT)
    try:
        config = _course_config(course)
        validated = {}
        for student, notebook in notebooks.items():
            folder = tmp_path / "validate" / student  # a student's copy of the release folder
            shutil.copytree(assignment.path(course, "release").parent, folder)
            nbformat.write(notebook, folder / assignment.notebook)
            validated[student] = validate_verdicts(folder / assignment.notebook, config)
    finally:
        assert grading.wait(timeout=GRADING_TIMEOUT) == 0, (tmp_path / "autograde.log").read_text()[-3000:]
        log.close()
    if any(is_demo(cell) for cell in notebooks["reference"].cells):
        _assert_demos_skipped(course, assignment, "reference")
    nbgrader("generate_feedback", assignment.id, "--force", cwd=course)
    nbgrader("export", "--to", str(course / "grades.csv"), cwd=course)

    with Gradebook(db) as gradebook:
        maximum = gradebook.find_assignment(assignment.id).max_score
        assert maximum > 0
        scores = {s.student.id: s for s in gradebook.assignment_submissions(assignment.id)}
        assert scores["reference"].score == maximum, _lost(gradebook, assignment, "reference")
        assert scores["blank"].score == 0, _lost(gradebook, assignment, "blank")
        alone = [variant for student, chosen in in_round.items()
                 if set(_lost(gradebook, assignment, student)) != {t for v in chosen for t in v.loses} for variant in chosen]
    for variant in alone:
        submit(course, variant.student, assignment, with_answer(notebooks["reference"], variant.solution_id, variant.code))
    if alone:  # without --force, only the new submissions are graded
        nbgrader("autograde", assignment.id, cwd=course)
    with Gradebook(db) as gradebook:
        expected = {**{s: {t for v in chosen for t in v.loses} for s, chosen in in_round.items()
                       if not any(v in alone for v in chosen)},
                    **{v.student: set(v.loses) for v in alone}}
        for student, named in expected.items():
            lost = set(_lost(gradebook, assignment, student))
            assert named <= lost, f"{student} should lose {sorted(named)}, lost {sorted(lost)}"
            assert lost <= named, f"{student} lost points on {sorted(lost - named)} beyond {sorted(named)}"
    graded = _passes(db, assignment)
    disagreements = [f"{student}: {test} passes Validate: {passed}, grading: {graded[student][test]}"
                     for student, verdicts in validated.items() for test, passed in verdicts.items()
                     if graded[student][test] != passed]
    assert all(validated["reference"].values()) and not any(validated["blank"].values())
    assert not disagreements, "Validate and grading disagree:\n" + "\n".join(disagreements)

    rows = {row["student_id"]: row for row in csv.DictReader((course / "grades.csv").open())}
    assert float(rows["reference"]["score"]) == maximum and float(rows["blank"]["score"]) == 0
    for student in ("reference", "blank"):
        feedback = course / "feedback" / student / assignment.id / assignment.notebook.replace(".ipynb", ".html")
        assert feedback.exists() and "asyncio" in feedback.read_text().lower()
    assert _tree_digest(ROOT / "source") + _tree_digest(ROOT / "release") == before


def test_rounds_hold_every_variant_once_and_one_per_exercise() -> None:
    variants = [Variant("a", exercise, mistake, "", ()) for exercise, mistake in
                [("x", "1"), ("x", "2"), ("x", "3"), ("y", "1"), ("z", "1"), ("z", "2")]]
    grouped = variant_rounds(variants)
    assert sorted(v.student for found in grouped for v in found) == sorted(v.student for v in variants)
    assert all(len({v.solution_id for v in found}) == len(found) for found in grouped)
    assert [len(found) for found in grouped] == [3, 2, 1]


def _lost(gradebook: Gradebook, assignment: Assignment, student: str) -> list[str]:
    """Test cells where `student` scored below the maximum."""
    notebook = gradebook.find_submission_notebook(assignment.notebook[:-6], assignment.id, student)
    return sorted(g.name for g in notebook.grades if g.max_score and g.score < g.max_score)


def _verdicts(db: str, assignment: Assignment) -> dict[str, dict[str, float | None]]:
    """Every student's score on every graded cell."""
    with Gradebook(db) as gradebook:
        return {s.student.id: {g.name: g.score for n in s.notebooks for g in n.grades}
                for s in gradebook.assignment_submissions(assignment.id)}


def _passes(db: str, assignment: Assignment) -> dict[str, dict[str, bool]]:
    """Every student's verdict on every graded cell: full points or not."""
    with Gradebook(db) as gradebook:
        return {s.student.id: {g.name: g.score == g.max_score for n in s.notebooks for g in n.grades}
                for s in gradebook.assignment_submissions(assignment.id)}


def _assert_demos_skipped(course: Path, assignment: Assignment, student: str) -> None:
    graded = nbformat.read(course / "autograded" / student / assignment.id / assignment.notebook, as_version=4)
    skipped = skipped_demos(graded.cells)
    assert skipped == {i for i, cell in enumerate(graded.cells) if is_demo(cell)}, "a demo cell of the course ran"
    assert all(not graded.cells[i].outputs and graded.cells[i].execution_count is None for i in skipped)
    ran = [cell for i, cell in enumerate(graded.cells) if cell.cell_type == "code" and i not in skipped and cell.source.strip()]
    assert all(cell.execution_count for cell in ran), "a cell that is not a demo was not run"
    assert any(event.kind == EventKind.DEMOS_SKIPPED for event in read_events(graded))


@pytest.mark.parametrize(("source", "binds", "reads"), [
    ("x = 1\nprint(x)", {"x"}, {"print"}),
    ("x = x + 1", {"x"}, {"x"}),
    ("def f(db):\n    return db.get(y)\n", {"f"}, {"y"}),
    ("for i in range(3):\n    j = i\nprint(j)", {"i", "j"}, {"range", "print", "j"}),
    ("[a for a in items if a > limit]", set(), {"items", "limit"}),
    ("%time x = 1\nimport asyncio\nawait asyncio.sleep(t)", {"asyncio"}, {"t"}),
    ("async def g():\n    global counter\n    counter = 1\n    return other", {"g", "counter"}, {"other"}),
    ("class A(Base):\n    def m(self):\n        return helper(self)\n", {"A"}, {"Base", "helper"}),
    ("try:\n    x = g()\nexcept E as e:\n    print(e, x)", {"x", "e"}, {"g", "E", "print", "x"}),
    ("if c:\n    y = 1\nprint(y)", {"y"}, {"c", "print", "y"}),
    ("async def f(port):\n    async def one():\n        return [port + k for k in g]\n    return one", {"f"}, {"g"}),
])
def test_what_a_cell_binds_and_reads(source: str, binds: set[str], reads: set[str]) -> None:
    """A demo is skipped only if no later cell reads what it binds: reads in functions' own
    scope and names a cell surely binds before reading them do not count; branches do."""
    assert (defined_names(source), used_names(source)) == (binds, reads)


def test_demo_cells_define_nothing_later_cells_use(assignment: Assignment) -> None:
    notebook = nbformat.read(assignment.path(ROOT), as_version=4)
    assert names_used_later(notebook.cells) == {}


def test_skipping_demo_cells_changes_no_verdict(tmp_path: Path) -> None:
    """The mechanism, on 01: a demo cell inserted before the first exercise and the lesson
    cells after the last test, tagged `demo`, are skipped; no verdict changes."""
    assignment = Assignment("01-callbacks")
    course = copy_course(tmp_path / "course")
    source = nbformat.read(assignment.path(course), as_version=4)
    last_graded = max(i for i, c in enumerate(source.cells) if c.metadata.get("nbgrader", {}).get("grade"))
    closing = [c for c in source.cells[last_graded + 1:] if c.cell_type == "code" and not c.metadata.get("nbgrader")]
    for cell in closing:
        tags = cell.metadata.setdefault("tags", [])
        if DEMO_TAG not in tags:  # a closing lesson cell may be tagged already
            tags.append(DEMO_TAG)
    marker = nbformat.v4.new_code_cell('shown = "DEMO-RAN"\nprint(shown)', metadata={"tags": [DEMO_TAG]})
    source.cells.insert(next(i for i, c in enumerate(source.cells) if c.metadata.get("nbgrader", {}).get("solution")), marker)
    assert closing and not names_used_later(source.cells)
    nbformat.write(source, assignment.path(course))
    db = f"sqlite:///{course / 'gradebook.db'}"
    nbgrader("generate_assignment", assignment.id, "--force", cwd=course)
    reference = solved(assignment.path(course))
    submit(course, "reference", assignment, reference)
    for variant in load_variants(VARIANTS, assignment)[:1]:
        submit(course, variant.student, assignment, with_answer(reference, variant.solution_id, variant.code))
    # A student who tags every cell `demo` skips no test: nbgrader's cells always run.
    sneaky = nbformat.read(assignment.path(course, "release"), as_version=4)
    for cell in sneaky.cells:
        cell.metadata["tags"] = [DEMO_TAG]
    submit(course, "tags-everything", assignment, sneaky)

    nbgrader("autograde", assignment.id, "--force", cwd=course)
    skipped = _verdicts(db, assignment)
    _assert_demos_skipped(course, assignment, "reference")
    graded = nbformat.read(course / "autograded" / "reference" / assignment.id / assignment.notebook, as_version=4)
    assert not any("DEMO-RAN" in output.get("text", "") for cell in graded.cells for output in cell.get("outputs", []))
    nbgrader("autograde", assignment.id, "--force", "--RobustExecute.skip_demos=False", cwd=course)
    assert _verdicts(db, assignment) == skipped
    graded = nbformat.read(course / "autograded" / "reference" / assignment.id / assignment.notebook, as_version=4)
    assert all(cell.execution_count for cell in graded.cells if is_demo(cell))  # they ran this time
    assert any("DEMO-RAN" in output.get("text", "") for cell in graded.cells for output in cell.get("outputs", []))
    with Gradebook(db) as gradebook:
        maximum = gradebook.find_assignment(assignment.id).max_score
    assert sum(skipped["reference"].values()) == maximum
    assert all(sum(v.values()) < maximum for s, v in skipped.items() if s != "reference")
    assert sum(skipped["tags-everything"].values()) == 0
