"""The autograder from a real kernel: same verdicts as under pytest, and nothing on stderr.

The corpus runs in a notebook through nbclient (once plainly, once after nest_asyncio.apply()
patched the kernel's loop) and through `nbgrader autograde`, where a correct solution's test
cell must score full marks (nbgrader gives 0 to a test cell that writes anything to stderr).
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import copy_course
from coursetools.nbgrader_cli import nbgrader

CORPUS = Path(__file__).parent / "corpus"
sys.path.insert(0, str(CORPUS))
import autograder_cases  # noqa: E402

SETUP = f"import sys\nsys.path.insert(0, {str(CORPUS)!r})\nimport autograder_cases"


def _case_cell(name: str) -> str:
    return f'"""The corpus solution {name} gets its verdict."""\nautograder_cases.grade({name!r})'


def _verdicts(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """Case name -> "pass" or the exception raised, read from executed cells; no stderr allowed."""
    found = {}
    for cell in notebook.cells:
        if cell.cell_type != "code" or "autograder_cases.grade(" not in cell.source:
            continue
        name = cell.source.split("grade(")[1].split(")")[0].strip("'\"")
        errors = [o for o in cell.outputs if o.output_type == "error"]
        stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not stderr, f"{name} wrote to stderr: {stderr}"
        found[name] = errors[0].ename if errors else "pass"
    return found


def test_kernel_gives_the_same_verdicts_with_and_without_nest_asyncio() -> None:
    """The corpus once plainly, then once more in the same kernel after nest_asyncio patched its loop."""
    names = list(autograder_cases.CASES)
    cells = [SETUP, *map(_case_cell, names),
             "import nest_asyncio\nnest_asyncio.apply()\nimport asyncio\nloop_before = asyncio.get_running_loop()",
             *map(_case_cell, names),
             "assert asyncio.get_running_loop() is loop_before, 'a check replaced the kernel loop'"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True).execute()
    patched_from = len(names) + 2
    first = _verdicts(nbformat.v4.new_notebook(cells=notebook.cells[:patched_from]))
    second = _verdicts(nbformat.v4.new_notebook(cells=notebook.cells[patched_from:]))
    expected = {name: case.verdict for name, case in autograder_cases.CASES.items()}
    assert first == expected
    assert second == expected
    assert not [o for o in notebook.cells[-1].outputs if o.output_type == "error"]


def test_messages_point_at_the_students_cell(tmp_path: Path) -> None:
    cells = [
        "import asyncio, time\nfrom autograder import check, BlockingCallDetected",
        "async def fetch(url):\n    time.sleep(0.01)\n    return url",
        "try:\n    check(fetch, 'a')\nexcept BlockingCallDetected as failure:\n    print(failure)",
        "async def save(text):\n    with open('notes.txt', 'w') as notes:\n        notes.write(text)",
        "try:\n    check(save, 'a')\nexcept BlockingCallDetected as failure:\n    print(failure)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") for o in notebook.cells[2].outputs)
    assert "time.sleep() in your code line 2, in fetch(): `time.sleep(0.01)`" in text, text
    text = "".join(o.get("text", "") for o in notebook.cells[4].outputs)
    assert "open() of a file in your code line 2, in save()" in text, text


def test_nbgrader_autograde_gives_the_same_verdicts(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course")
    folder = course / "source" / "99-corpus"
    folder.mkdir()
    # The corpus travels with the assignment as a data file: grading kernels are sandboxed
    # and see only the assignment's own files, not this repository's tests/.
    for cases in CORPUS.glob("*_cases.py"):
        shutil.copy2(cases, folder)
    setup = nbformat.v4.new_code_cell("import autograder_cases")
    cells = [setup]
    for name in autograder_cases.CASES:
        cell = nbformat.v4.new_code_cell(_case_cell(name))
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": name, "locked": True, "points": 1,
                                     "schema_version": 3, "solution": False, "task": False}
        cells.append(cell)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 99 Corpus"), *cells])
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(notebook, folder / "corpus.ipynb")
    nbgrader("generate_assignment", "99-corpus", "--force", cwd=course)
    shutil.copytree(course / "release" / "99-corpus", course / "submitted" / "student" / "99-corpus")
    nbgrader("autograde", "99-corpus", "--force", cwd=course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        graded = gradebook.find_submission_notebook("corpus", "99-corpus", "student")
        scores = {g.name: g.score for g in graded.grades}
    autograded = nbformat.read(course / "autograded" / "student" / "99-corpus" / "corpus.ipynb", as_version=4)
    verdicts = _verdicts(autograded)
    for name, case in autograder_cases.CASES.items():
        assert verdicts[name] == case.verdict, name
        assert scores[name] == (1 if case.verdict == "pass" else 0), name
