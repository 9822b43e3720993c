"""End to end through real nbgrader: generate, submit, autograde, export, feedback.

In a temporary copy of the course: a reference student (the solutions) gets full marks, a
blank student gets zero, and each committed wrong variant loses the points of the tests it
names, and only those. The real course folder is left untouched.
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from conftest import ROOT, copy_course
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
