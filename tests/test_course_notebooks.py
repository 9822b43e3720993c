"""The course's notebooks: solutions pass (blanks fail: test_student_edition), release/ is exactly what regeneration makes."""
from __future__ import annotations

import filecmp
import re
from pathlib import Path

import nbformat
import pytest

from conftest import ASSIGNMENTS, ROOT, copy_course
from coursetools.layout import Assignment
from coursetools.nbgrader_cli import nbgrader
from coursetools.regenerate import RUN_ON_TAG, kernel_metadata, regenerate

SOLUTION = re.compile(r"### BEGIN SOLUTION(.*?)### END SOLUTION", re.S)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)


def test_every_assignment_follows_the_path_rule() -> None:
    assert ASSIGNMENTS, "source/ has no assignments"
    for assignment in ASSIGNMENTS:
        assert assignment.path(ROOT, "release").exists(), f"{assignment.id} has no release notebook"


def test_source_notebooks_pass_all_their_tests(assignment: Assignment) -> None:
    result = nbgrader("validate", str(assignment.path(ROOT)), cwd=ROOT, check=False)
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stdout + result.stderr


def test_source_notebooks_are_stored_without_outputs(assignment: Assignment) -> None:
    notebook = nbformat.read(assignment.path(ROOT), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{assignment.id}: clear outputs"


def test_grade_ids_name_behaviours(assignment: Assignment) -> None:
    notebook = nbformat.read(assignment.path(ROOT), as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            assert re.fullmatch(r"[a-z][a-z0-9_]+", grade_id) and not grade_id.startswith("cell"), grade_id


def test_test_cells_open_with_a_docstring(assignment: Assignment) -> None:
    notebook = nbformat.read(assignment.path(ROOT), as_version=4)
    graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(graded) >= 2, f"{assignment.id} needs at least two graded exercises"
    for cell in graded:
        assert cell.source.startswith('"""'), f"{cell.metadata['nbgrader']['grade_id']}: start with a docstring"


def test_release_holds_no_solution_or_hidden_test_text() -> None:
    leaked = []
    release_text = "\n".join(
        cell.source for path in [*(ROOT / "release").rglob("*.ipynb"), ROOT / "index.ipynb"]
        for cell in nbformat.read(path, as_version=4).cells
    )
    assert "BEGIN SOLUTION" not in release_text and "BEGIN HIDDEN TESTS" not in release_text
    for assignment, secret in _secret_lines():
        if secret in release_text:
            leaked.append(f"{assignment}: {secret}")
    assert not leaked, f"solution or hidden-test lines appear in release/: {leaked[:5]}"


def _secret_lines() -> list[tuple[str, str]]:
    """(assignment, line) for lines found only in solutions and hidden tests: lines that no
    lesson of the course shows openly, long enough to give something away."""
    secret, public = [], []
    for assignment in ASSIGNMENTS:
        for cell in nbformat.read(assignment.path(ROOT), as_version=4).cells:
            hidden = "\n".join(SOLUTION.findall(cell.source) + HIDDEN.findall(cell.source))
            public.append(SOLUTION.sub("", HIDDEN.sub("", cell.source)))
            secret += [(assignment.id, line.strip()) for line in hidden.splitlines() if len(line.strip()) >= 20]
    public_text = "\n".join(public)
    return [(assignment, line) for assignment, line in secret if line not in public_text]


def test_release_is_exactly_what_regeneration_makes(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course")
    regenerate(course)
    mismatch = filecmp.dircmp(course / "release", ROOT / "release")
    differences = _differences(mismatch)
    for name in ["index.ipynb", *[str(a.path(Path(), "source")) for a in ASSIGNMENTS]]:
        if (course / name).read_text() != (ROOT / name).read_text():
            differences.append(name)
    assert not differences, f"regeneration changes {differences}: run `python3 run.py regenerate` and commit"


def _differences(comparison: filecmp.dircmp) -> list[str]:
    found = comparison.left_only + comparison.right_only + comparison.diff_files
    for sub in comparison.subdirs.values():
        found += _differences(sub)
    return found


def test_every_navigation_link_resolves() -> None:
    link = re.compile(r"\]\(([^)#\s]+\.ipynb)\)")
    notebooks = [ROOT / "index.ipynb"] + [a.path(ROOT, folder) for a in ASSIGNMENTS for folder in ("source", "release")]
    checked = 0
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            for target in link.findall(cell.source):
                assert (path.parent / target).resolve().exists(), f"{path.relative_to(ROOT)} links to missing {target}"
                checked += 1
    assert checked >= 3 * len(ASSIGNMENTS)


def test_start_page_lists_exactly_the_assignments_that_exist() -> None:
    """Each numbered entry of the start page is an assignment in source/, in order, and each one has an entry."""
    entries = [line for cell in nbformat.read(ROOT / "index.ipynb", as_version=4).cells
               for line in cell.source.splitlines() if re.match(r"\s*\d+\.\s", line)]
    linked = []
    for entry in entries:
        targets = re.findall(r"\]\(release/([^/)]+)/([^)]+\.ipynb)\)", entry)
        assert len(targets) == 1, f"the start page names a part that is not an assignment: {entry[:100]!r}"
        linked.append(targets[0])
    assert linked == [(a.id, a.notebook) for a in ASSIGNMENTS], "the start page must list every assignment, in order"


def test_notebooks_open_unchanged_and_run_all_goes_past_exercises(assignment: Assignment) -> None:
    """The kernel's metadata is already there (opening changes nothing); solution and test cells carry the Run All tag."""
    for folder in ("source", "release"):
        notebook = nbformat.read(assignment.path(ROOT, folder), as_version=4)
        assert {key: notebook.metadata.get(key) for key in ("kernelspec", "language_info")} == kernel_metadata()
        for cell in notebook.cells:
            nbgrader = cell.metadata.get("nbgrader", {})
            tagged = RUN_ON_TAG in cell.metadata.get("tags", [])
            exercise = cell.cell_type == "code" and bool(nbgrader.get("solution") or nbgrader.get("grade"))
            assert tagged == exercise, f"{assignment.id} {folder} cell {cell.get('id')}: {RUN_ON_TAG} on exactly the exercise cells"
