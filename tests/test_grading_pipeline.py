"""End to end through real nbgrader: generate, submit, autograde, export, feedback.

In a temporary copy of the course: a reference student (the solutions) gets full marks, a
blank student gets zero, and each committed wrong variant loses the points of the tests it
names, and only those. The real course folder is left untouched.

Grading skips lesson cells tagged `demo`: no demo cell may bind a name a later cell reads,
and the reference's verdicts must be the same when the demos run too.
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import ROOT, copy_course
from autograder.demos import DEMO_TAG, defined_names, is_demo, names_used_later, skipped_demos, used_names
from coursetools.grading.events import EventKind, read_events
from coursetools.layout import Assignment
from coursetools.nbgrader_cli import nbgrader
from coursetools.submissions import load_variants, solved, submit, with_answer

VARIANTS = ROOT / "tests" / "variants"


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".git" not in path.parts and ".venv" not in path.parts and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_autograde_export_and_feedback(assignment: Assignment, tmp_path: Path) -> None:
    before = _tree_digest(ROOT / "source") + _tree_digest(ROOT / "release")
    course = copy_course(tmp_path / "course")
    db = f"sqlite:///{course / 'gradebook.db'}"
    nbgrader("generate_assignment", assignment.id, "--force", cwd=course)

    reference = solved(assignment.path(course))
    submit(course, "reference", assignment, reference)
    submit(course, "blank", assignment, nbformat.read(assignment.path(course, "release"), as_version=4))
    variants = load_variants(VARIANTS, assignment)
    for variant in variants:
        submit(course, variant.student, assignment, with_answer(reference, variant.solution_id, variant.code))

    nbgrader("autograde", assignment.id, "--force", cwd=course)
    verdicts = _verdicts(db, assignment)
    if any(is_demo(cell) for cell in reference.cells):
        _assert_demos_skipped(course, assignment, "reference")
        # The reference with its demos run too (the variants' verdicts are proved the same way
        # on 01 in test_skipping_demo_cells_changes_no_verdict, at a fraction of the cost).
        nbgrader("autograde", assignment.id, "--force", "--student", "reference",
                 "--RobustExecute.skip_demos=False", cwd=course)
        assert _verdicts(db, assignment)["reference"] == verdicts["reference"], "a verdict changed when the demos ran"
    nbgrader("generate_feedback", assignment.id, "--force", cwd=course)
    nbgrader("export", "--to", str(course / "grades.csv"), cwd=course)

    with Gradebook(db) as gradebook:
        maximum = gradebook.find_assignment(assignment.id).max_score
        assert maximum > 0
        scores = {s.student.id: s for s in gradebook.assignment_submissions(assignment.id)}
        assert scores["reference"].score == maximum, _lost(gradebook, assignment, "reference")
        assert scores["blank"].score == 0, _lost(gradebook, assignment, "blank")
        for variant in variants:
            lost = _lost(gradebook, assignment, variant.student)
            assert set(variant.loses) <= set(lost), f"{variant.student} should lose {variant.loses}, lost {lost}"
            assert set(lost) <= set(variant.loses), f"{variant.student} lost points on {lost} beyond {variant.loses}"

    rows = {row["student_id"]: row for row in csv.DictReader((course / "grades.csv").open())}
    assert float(rows["reference"]["score"]) == maximum and float(rows["blank"]["score"]) == 0
    for student in ("reference", "blank"):
        feedback = course / "feedback" / student / assignment.id / assignment.notebook.replace(".ipynb", ".html")
        assert feedback.exists() and "asyncio" in feedback.read_text().lower()
    assert _tree_digest(ROOT / "source") + _tree_digest(ROOT / "release") == before


def _lost(gradebook: Gradebook, assignment: Assignment, student: str) -> list[str]:
    """Test cells where `student` scored below the maximum."""
    notebook = gradebook.find_submission_notebook(assignment.notebook[:-6], assignment.id, student)
    return sorted(g.name for g in notebook.grades if g.max_score and g.score < g.max_score)


def _verdicts(db: str, assignment: Assignment) -> dict[str, dict[str, float | None]]:
    """Every student's score on every graded cell."""
    with Gradebook(db) as gradebook:
        return {s.student.id: {g.name: g.score for n in s.notebooks for g in n.grades}
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
    for variant in load_variants(VARIANTS, assignment)[:2]:
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
