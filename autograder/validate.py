"""The Validate button's server side: nbgrader's Validate, giving every test cell grading's verdict.

nbgrader's Validate fails a test cell that writes anything on stderr, gives partial credit for
a number a test cell displays, and runs every cell. Grading (`coursetools/grading/execute.py`)
gives a test cell its points when it raises no error (text on stderr costs nothing, a
displayed value gives no partial credit) and skips lesson demos (`autograder.demos`). A
student must get the same verdict from both, so this module replaces nbgrader's Validate
server extension (`nbgrader.server_extensions.validate_assignment`, same URLs, so nbgrader's
Validate button talks to it unchanged) with one whose Validator

* skips the demo cells grading skips, by the same rule;
* scores each test cell by grading's rule: it failed when, and only when, it raised an error;
* reports each failing test with the error's message first (`WrongResult: download_all ...`),
  then only the traceback's frames in the student's own cells (not the test cell, shown just
  above, nor installed code: the autograder, asyncio), so the diagnosis comes first.

`python3 run.py lab` and postBuild switch the server extensions over (`run.py jupyter-settings`).
Only the Jupyter server imports this module; test cells never do.
"""
from __future__ import annotations

import json
import re
import traceback
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.server_extensions.validate_assignment.handlers import (
    NbGraderVersionHandler,
    ValidateAssignmentHandler,
)
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput
from nbgrader.validator import Validator
from tornado import web
from traitlets import List

from autograder.demos import ExecuteWithoutDemos

ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: IPython starts the traceback entry of a frame in notebook code with this; other frames are installed code.
NOTEBOOK_FRAME = "Cell In["


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test cell: graded code that is not a solution."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def student_traceback(output: NotebookNode) -> list[str]:
    """An error output as a student should read it: the message, then the student's frames.

    The first notebook frame is the test cell itself, which Validate shows just above; frames
    in installed code (the autograder, asyncio) are harness. What is left is the student's code.
    """
    entries = output.get("traceback") or [f"{output.ename}: {output.evalue}"]
    message = ANSI.sub("", entries[-1])  # IPython's last entry: "Name: message"
    frames = [entry for entry in entries[:-1] if ANSI.sub("", entry).lstrip().startswith(NOTEBOOK_FRAME)][1:]
    return [message, *(["", "In your code:", *frames] if frames else [])]


def score_like_grading(notebook: NotebookNode) -> NotebookNode:
    """Keep only the errors of each test cell, message first: nbgrader's scoring then equals grading's."""
    for cell in notebook.cells:
        if is_test_cell(cell):
            errors = [output for output in cell.outputs if output.output_type == "error"]
            for error in errors:
                error.traceback = student_traceback(error)
            cell.outputs = errors
    return notebook


class CourseValidator(Validator):
    """nbgrader's Validator running and scoring test cells the way grading does (see the module's doc)."""

    preprocessors = List([CheckCellMetadata, ClearOutput, ExecuteWithoutDemos])

    def _preprocess(self, nb: NotebookNode) -> NotebookNode:
        return score_like_grading(super()._preprocess(nb))


class ValidateHandler(ValidateAssignmentHandler):
    """nbgrader's Validate request handler, with the course's Validator."""

    def validate_notebook(self, path: str) -> dict:
        root = Path(self.root_dir).resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root):
            raise web.HTTPError(403, "Access denied: path outside allowed directory")
        try:
            result = CourseValidator(config=self.load_config()).validate(str(target))
        except Exception:
            self.log.error(traceback.format_exc())
            return {"success": False, "value": traceback.format_exc()}
        return {"success": True, "value": result}

    @web.authenticated
    def post(self) -> None:
        path = self.get_argument("path", None) or self.get_json_body()["path"]
        self.finish(json.dumps(self.validate_notebook(path)))


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "autograder.validate"}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Serve Validate (and nbgrader's version check) where nbgrader's extension would."""
    webapp = serverapp.web_app
    webapp.settings["root_dir"] = serverapp.root_dir
    base = webapp.settings["base_url"].rstrip("/")
    webapp.add_handlers(".*$", [(f"{base}/assignments/validate", ValidateHandler),
                                (f"{base}/nbgrader_version", NbGraderVersionHandler)])
    serverapp.log.info("Validate scores test cells by the course's grading rule (autograder.validate)")
