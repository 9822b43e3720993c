"""The course's scoring rule for test cells, on top of nbgrader's SaveAutoGrades.

A test cell earns its points when it raises no error. Text on stderr does not cost points
(student code may print warnings or debug output; the checks raise when something is
wrong), and a value displayed by a test cell does not give partial credit (the course's
test cells end with a statement; student code could forge a value).
"""
from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import SaveAutoGrades as NbgraderSaveAutoGrades


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograder test cell: graded, not a solution, code."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def test_cell_score(cell: NotebookNode) -> tuple[float | None, float]:
    """The course's rule: a code test cell earns its points when it raised no error."""
    if not is_test_cell(cell):
        return utils.determine_grade(cell)
    points = float(cell.metadata["nbgrader"]["points"])
    if any(output.output_type == "error" for output in cell.outputs):
        return 0, points
    return points, points


class SaveAutoGrades(NbgraderSaveAutoGrades):
    """nbgrader's SaveAutoGrades with the course's scoring rule for test cells (see the module docstring)."""

    def _add_score(self, cell, resources):
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        grade.auto_score, _ = test_cell_score(cell)
        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        self.gradebook.db.commit()


