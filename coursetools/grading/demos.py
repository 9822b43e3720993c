"""Lesson demos: code cells tagged `demo` only measure and show, so grading need not run them.

A notebook author tags a cell `demo` when nothing after it uses what it defines (a live
measurement of servers, lag or thread costs, a timeline widget). Grading skips them
(`execute.RobustExecute.skip_demos`), and so can Validate: `ExecuteWithoutDemos` is
nbgrader's Execute preprocessor that skips them the same way; a Validator subclass lists it
in place of Execute (`preprocessors = [CheckCellMetadata, ClearOutput, ExecuteWithoutDemos]`).

The tag is read from the notebook being graded, which the student may have changed, so a
cell is skipped only when that cannot change a verdict: it is tagged `demo`, it is not one
of nbgrader's cells (tests, solutions, read-only cells always run), and no later cell that
runs reads a name it binds (`skipped_demos`). A student who defines a helper in a demo cell
and uses it later simply has that cell run.
"""
from __future__ import annotations

import ast

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors.execute import Execute

DEMO_TAG = "demo"


def is_demo(cell: NotebookNode) -> bool:
    """A code cell tagged `demo`."""
    return cell.get("cell_type") == "code" and DEMO_TAG in cell.get("metadata", {}).get("tags", [])


class ExecuteWithoutDemos(Execute):
    """nbgrader's Execute, skipping the demo cells `skipped_demos` allows (their outputs are cleared)."""

    def preprocess(self, nb, resources=None, km=None):
        self._skipped = skipped_demos(nb.cells)
        return super().preprocess(nb, resources, km)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell_index in getattr(self, "_skipped", ()):
            cell.outputs, cell.execution_count = [], None
            return cell
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)


def _python(source: str) -> ast.Module | None:
    """The cell as Python (IPython magics and shell escapes blanked out), or None."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def defined_names(source: str) -> set[str]:
    """Top-level names a cell binds (assignments, functions, classes, imports, for/with targets)."""
    tree = _python(source)
    names: set[str] = set()
    for node in ast.walk(tree) if tree else []:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def used_names(source: str) -> set[str]:
    tree = _python(source)
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)} if tree else set()


def skipped_demos(cells: list[NotebookNode]) -> set[int]:
    """Indexes of the demo cells grading skips: not nbgrader cells, and binding nothing that a
    later cell which runs reads (decided from the last cell back, so skipping is consistent)."""
    skipped: set[int] = set()
    read_later: set[str] = set()
    for index in reversed(range(len(cells))):
        cell = cells[index]
        if cell.get("cell_type") != "code":
            continue
        if is_demo(cell) and not cell.get("metadata", {}).get("nbgrader") and not defined_names(cell.source) & read_later:
            skipped.add(index)
        else:
            read_later |= used_names(cell.source)
    return skipped


def names_used_later(cells: list[NotebookNode]) -> dict[int, set[str]]:
    """Demo cell index -> names it binds that a later code cell which is not a demo reads.

    Empty when every demo tag of an instructor's notebook is right (such a cell would run
    at grading anyway). A later cell that binds a name before reading it still counts.
    """
    found: dict[int, set[str]] = {}
    for index, cell in enumerate(cells):
        if not is_demo(cell):
            continue
        later = set().union(*(used_names(c.source) for c in cells[index + 1:]
                             if c.get("cell_type") == "code" and not is_demo(c)))
        if defined_names(cell.source) & later:
            found[index] = defined_names(cell.source) & later
    return found
