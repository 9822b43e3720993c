"""Putting back what a student deleted or re-labelled, on top of nbgrader's OverwriteCells."""
from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import OverwriteCells as NbgraderOverwriteCells

from coursetools.grading.events import EventKind, GradingEvent, clear_events, record_event


class OverwriteCells(NbgraderOverwriteCells):
    """nbgrader's OverwriteCells, also restoring what a student deleted or re-labelled.

    * Deleted test cells and deleted read-only (locked) cells are put back, each after the
      nearest earlier instructor cell still in the notebook (nbgrader 0.9's own
      `add_missing_cells` crashes when that earlier cell is a locked, ungraded cell, and
      does not restore locked cells at all). A restored cell starts with a comment saying so.
    * A cell's grade/solution flags are reset to the gradebook's (a test cell relabelled
      as a solution cell would otherwise be left for manual grading instead of being run).
    """

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and grade_id in self._flags:
            grade, solution = self._flags[grade_id]
            meta = cell.metadata.nbgrader
            if bool(meta.get("grade")) != grade or bool(meta.get("solution")) != solution:
                self.report_change(grade_id, "grade/solution", (grade, solution), (meta.get("grade"), meta.get("solution")))
                meta["grade"], meta["solution"] = grade, solution
                if grade and "points" not in meta:
                    meta["points"] = self._points[grade_id]
        return cell, resources

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        with Gradebook(resources["nbgrader"]["db_url"]) as gradebook:
            source = gradebook.find_notebook(resources["nbgrader"]["notebook"], resources["nbgrader"]["assignment"])
            graded = {c.name: c.max_score for c in source.grade_cells}
            solutions = {c.name for c in source.solution_cells}
            self._points = graded
            self._flags = {c.name: (c.name in graded, c.name in solutions) for c in source.source_cells}
        clear_events(nb)  # this is the first step of grading: start the notebook's record afresh
        return super().preprocess(nb, resources)

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = list(source_nb.source_cells)
        graded = {c.name: c.max_score for c in source_nb.grade_cells}
        solutions = {c.name for c in source_nb.solution_cells}
        present = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
                   if c.metadata.get("nbgrader", {}).get("grade_id")}
        for position, source_cell in enumerate(order):
            name = source_cell.name
            if name in present or not (name in graded or source_cell.locked):
                continue
            self.log.warning("Cell %s is missing from the submission; putting it back", name)
            record_event(nb, GradingEvent(EventKind.CELL_PUT_BACK, name))
            if name in graded:
                cell = self.missing_cell_transform(source_cell, graded[name], is_solution=name in solutions)
            else:
                cell = self._missing_locked_cell(source_cell)
            if nb.nbformat == 4 and nb.nbformat_minor >= 5:
                cell["id"] = f"restored-{name}"[:64]
            anchor = next((present[c.name] for c in reversed(order[:position]) if c.name in present), None)
            where = next((i + 1 for i, c in enumerate(nb.cells) if c is anchor), 0)
            nb.cells.insert(where, cell)
            present[name] = cell
        return nb, resources

    def _missing_locked_cell(self, source_cell):
        note = self.missing_cell_notification.format(cell_id=source_cell.name)
        cell = {
            "cell_type": source_cell.cell_type,
            "metadata": {"deletable": False, "editable": False, "nbgrader": {
                "grade": False, "grade_id": source_cell.name, "locked": True, "solution": False,
                "task": False, "checksum": source_cell.checksum, "schema_version": 3}},
            "source": source_cell.source,
        }
        if source_cell.cell_type == "code":
            cell.update(execution_count=None, outputs=[], source="# " + note.strip() + "\n" + source_cell.source)
        else:
            cell["source"] = note + source_cell.source
        return MetadataValidator().upgrade_cell_metadata(NotebookNode(cell))
