"""The hostile corpus: broken and malicious submissions, and what each must come to.

Code cases are files in this folder. Their text replaces the solution cell of the
assignment's FIRST exercise (every other exercise keeps the reference solution, so every
other exercise must keep its full points). The first lines are comments: a description,
then `# expect: OUTCOME`. In the text,

* `# <reference solution>` becomes the reference solution of that cell,
* `# <no solution>` becomes the stub students were given (the exercise left unsolved),
* `__FUNCTION__` becomes the exercise's function (solution cells are named after it),
* `__COURSE__`, `__HOME__`, `__SELF__`, `__OTHER__`, `__PORT__`, `__PACKAGE__` become the
  course root, the grader's home, this student, another student, a port that listens on
  127.0.0.1 and the folder of the installed `course` package (for the snooping case).

Outcomes: `full` (every test passes), `first-exercise` (exactly the first exercise's tests
lose their points), `first-test` (exactly the first exercise's first test), `zero`,
`error` (nbgrader cannot grade it), `no notebook`.
"""
from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from coursetools.layout import Assignment
from coursetools.nbgrader_cli import nbgrader
from coursetools.submissions import solved

FOLDER = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Exercise:
    solution_id: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class CodeCase:
    name: str
    description: str
    expect: str
    text: str


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def exercises(source_notebook: Path) -> list[Exercise]:
    """Solution cells in order, each with the test cells that follow it (up to the next solution)."""
    notebook = nbformat.read(source_notebook, as_version=4)
    found: list[tuple[str, list[str]]] = []
    for cell in notebook.cells:
        meta = _meta(cell)
        if cell.cell_type != "code":
            continue
        if meta.get("solution") and not meta.get("grade"):
            found.append((meta["grade_id"], []))
        elif meta.get("grade") and not meta.get("solution") and found:
            found[-1][1].append(meta["grade_id"])
    return [Exercise(solution, tuple(tests)) for solution, tests in found if tests]


def handed_in(course: Path, assignment: Assignment) -> nbformat.NotebookNode:
    """The released notebook with every exercise solved, as a good student hands it in."""
    release = nbformat.read(assignment.path(course, "release"), as_version=4)
    answers = {_meta(c).get("grade_id"): c.source for c in solved(assignment.path(course)).cells
               if _meta(c).get("solution")}
    for cell in release.cells:
        if _meta(cell).get("solution") and _meta(cell)["grade_id"] in answers:
            cell.source = answers[_meta(cell)["grade_id"]]
    return release


def load_cases() -> list[CodeCase]:
    cases = []
    for path in sorted(FOLDER.glob("*.py")):
        if path.name in {"corpus.py", "__init__.py"}:
            continue
        text = path.read_text()
        header = []
        for line in text.splitlines():
            if not line.startswith("# ") or line.startswith("# <"):
                break
            header.append(line[2:])
        expect = [h.split(":", 1)[1].strip() for h in header if h.startswith("expect:")]
        if len(expect) != 1:
            raise ValueError(f"{path}: needs one '# expect: OUTCOME' line in its opening comments")
        description = " ".join(h for h in header if not h.startswith("expect:"))
        cases.append(CodeCase(path.stem, description, expect[0], text))
    return cases


def render(case: CodeCase, notebook: nbformat.NotebookNode, release: nbformat.NotebookNode,
           exercise: Exercise, values: dict[str, str]) -> nbformat.NotebookNode:
    """`notebook` with the first exercise's solution cell replaced by the case's code."""
    copy = nbformat.from_dict(notebook)
    cell = next(c for c in copy.cells if _meta(c).get("grade_id") == exercise.solution_id)
    stub = next(c for c in release.cells if _meta(c).get("grade_id") == exercise.solution_id).source
    code = case.text.replace("# <reference solution>", cell.source).replace("# <no solution>", stub)
    code = code.replace("__FUNCTION__", exercise.solution_id)
    for key, value in values.items():
        code = code.replace(key, value)
    leftover = re.findall(r"__[A-Z]+__", code)
    if leftover:
        raise ValueError(f"{case.name}: no value for {leftover}")
    cell.source = code
    return copy


_GENERATED: dict[str, Path] = {}


def generated_course(destination: Path, assignment: Assignment, env: dict[str, str] | None = None) -> Path:
    """A throwaway course root whose gradebook already holds `assignment` (generate_assignment ran).

    `nbgrader generate_assignment` takes seconds; it runs once per test process and later
    courses are copies (the gradebook holds no paths, the config finds its root itself).
    """
    from conftest import copy_course

    if assignment.id not in _GENERATED:
        base = Path(tempfile.mkdtemp(prefix="generated-course-"))
        atexit.register(shutil.rmtree, base, True)
        copy_course(base / "course")
        nbgrader("generate_assignment", assignment.id, "--force", cwd=base / "course", extra_env=env)
        _GENERATED[assignment.id] = base / "course"
    shutil.copytree(_GENERATED[assignment.id], destination, symlinks=True)
    return destination
