"""Making student submissions from the course's notebooks: reference, blank and wrong variants.

Used by the tests, the benchmarks and instructors who want to try their checks: a wrong
variant is a file `tests/variants/<assignment>/<grade_id>--<mistake>.py` whose text replaces
the solution cell `<grade_id>`, and whose first line `# loses: <test grade_id> ...` names the
test cells that must lose points.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from coursetools.layout import Assignment

_SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.M)


@dataclass(frozen=True)
class Variant:
    """A wrong answer to one exercise, and the tests it must fail."""

    assignment: str
    solution_id: str
    mistake: str
    code: str
    loses: tuple[str, ...]

    @property
    def student(self) -> str:
        return f"wrong-{self.solution_id}--{self.mistake}".replace("_", "-")


def load_variants(folder: Path, assignment: Assignment) -> list[Variant]:
    variants = []
    for path in sorted((folder / assignment.id).glob("*--*.py")):
        solution_id, mistake = path.stem.split("--", 1)
        code = path.read_text()
        first = code.splitlines()[0] if code else ""
        if not first.startswith("# loses:"):
            raise ValueError(f"{path}: first line must be '# loses: <test grade_id> ...'")
        variants.append(Variant(assignment.id, solution_id, mistake, code, tuple(first.split(":", 1)[1].split())))
    return variants


def variant_rounds(variants: list[Variant]) -> list[list[Variant]]:
    """Variants grouped so that one notebook can hold each group: round r holds the r-th
    variant of each exercise that has one, so no two in a round answer the same exercise."""
    by_exercise: dict[str, list[Variant]] = {}
    for variant in variants:
        by_exercise.setdefault(variant.solution_id, []).append(variant)
    depth = max((len(found) for found in by_exercise.values()), default=0)
    return [[found[r] for found in by_exercise.values() if r < len(found)] for r in range(depth)]


def solved(source_notebook: Path) -> nbformat.NotebookNode:
    """The source notebook as a student who wrote the reference solutions would submit it."""
    notebook = nbformat.read(source_notebook, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            cell.source = _SOLUTION_MARKERS.sub("", cell.source)
    return notebook


def with_answer(notebook: nbformat.NotebookNode, solution_id: str, code: str) -> nbformat.NotebookNode:
    """A copy of `notebook` whose solution cell `solution_id` holds `code`."""
    copy = nbformat.from_dict(notebook)
    cells = [c for c in copy.cells if c.metadata.get("nbgrader", {}).get("grade_id") == solution_id]
    if len(cells) != 1:
        raise KeyError(f"no solution cell {solution_id!r}")
    cells[0].source = code
    return copy


def submit(course_root: Path, student: str, assignment: Assignment, notebook: nbformat.NotebookNode) -> Path:
    """Place a notebook where `nbgrader autograde` looks for it."""
    folder = course_root / "submitted" / student / assignment.id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    path = folder / assignment.notebook
    nbformat.write(notebook, path)
    return path
