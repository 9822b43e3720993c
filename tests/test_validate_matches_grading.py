"""Validate tells the truth: the Validate button and grading give every visible test the same verdict.

The rule (autograder.validate): a test cell passes Validate when it raised no error, as at grading.
"""
from __future__ import annotations

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils

from autograder.validate import CourseValidator, score_like_grading


def _test_cell(*outputs: dict) -> NotebookNode:
    cell = nbformat.v4.new_code_cell('"""download_all gets every page."""\ncheck_download_all(download_all)')
    cell.metadata.nbgrader = {"grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "t"}
    cell.outputs = [nbformat.v4.output_from_msg({"header": {"msg_type": o.pop("type")}, "content": o}) for o in outputs]
    return cell


def _verdict(cell: NotebookNode) -> bool:
    """nbgrader's own scoring, after Validate's rule is applied: full points?"""
    notebook = nbformat.v4.new_notebook(cells=[cell])
    score, points = utils.determine_grade(score_like_grading(notebook).cells[0])
    return score == points


def test_validate_rule_is_grading_rule() -> None:
    """Text on stderr costs nothing, a displayed number gives no partial credit, an error fails."""
    assert _verdict(_test_cell({"type": "stream", "name": "stderr", "text": "RuntimeWarning: never awaited\n"}))
    assert _verdict(_test_cell({"type": "execute_result", "data": {"text/plain": "0.5"}, "metadata": {},
                                "execution_count": 1}))
    assert _verdict(_test_cell({"type": "stream", "name": "stdout", "text": "passed: download_all\n"}))
    assert not _verdict(_test_cell({"type": "stream", "name": "stderr", "text": "noise\n"},
                                   {"type": "error", "ename": "WrongResult", "evalue": "download_all returned []",
                                    "traceback": ["\x1b[0;31m---\x1b[0m", "\x1b[0;31mWrongResult\x1b[0m: download_all returned []"]}))


def test_validate_shows_the_message_first_and_only_the_students_frames() -> None:
    header = "\x1b[0;31m---------------\x1b[0m\n\x1b[0;31mTaskLeaked\x1b[0m   Traceback (most recent call last)"
    test_frame = "\x1b[0;36mCell In[7], line 2\x1b[0m\n----> 2 check_download_all(download_all)"
    library_frame = "File \x1b[0;32m/site-packages/autograder/checks.py:10\x1b[0m, in \x1b[0;36mcheck\x1b[0m"
    student_frame = "\x1b[0;36mCell In[5], line 4\x1b[0m, in download_all()\n----> 4 asyncio.create_task(fetch(url))"
    message = "\x1b[0;31mTaskLeaked\x1b[0m: download_all left 2 tasks running: cancel them, then await them"
    cell = _test_cell({"type": "stream", "name": "stderr", "text": "noise\n"},
                      {"type": "error", "ename": "TaskLeaked", "evalue": "download_all left 2 tasks running",
                       "traceback": [header, test_frame, library_frame, student_frame, message]})
    [error] = score_like_grading(nbformat.v4.new_notebook(cells=[cell])).cells[0].outputs
    assert error.traceback[0] == "TaskLeaked: download_all left 2 tasks running: cancel them, then await them"
    assert error.traceback[-1] == student_frame
    assert not {header, test_frame, library_frame} & set(error.traceback)


def test_validate_skips_the_demos_grading_skips(tmp_path) -> None:
    """A lesson demo is not run by Validate, as at grading, unless a later cell reads what it binds."""
    skipped = nbformat.v4.new_code_cell("import builtins\nbuiltins.DEMO_RAN = True", metadata={"tags": ["demo"]})
    needed = nbformat.v4.new_code_cell("shown = 1", metadata={"tags": ["demo"]})
    test = _test_cell()
    test.metadata.nbgrader["schema_version"] = 3
    test.source = 'import builtins\nassert not hasattr(builtins, "DEMO_RAN"), "a demo ran"\nassert shown == 1'
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[skipped, needed, test]), path)
    assert CourseValidator().validate(str(path)) == {}
    test.source = test.source.replace("not hasattr", "hasattr")  # the check can fail: a failing test is reported
    nbformat.write(nbformat.v4.new_notebook(cells=[skipped, needed, test]), path)
    assert "failed" in CourseValidator().validate(str(path))
