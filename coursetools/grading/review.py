"""Code worth a human look, and read-only cells a student edited (advisory, never a penalty)."""
from __future__ import annotations

import re

from coursetools.grading.course import Course

#: Code worth a human look when it appears in a student's cells.
SUSPICIOUS = {
    "os._exit": r"\bos\._exit\b", "ctypes": r"\bctypes\b", "os.fork": r"\bos\.fork\b",
    "sys.modules": r"\bsys\.modules\b", "builtins": r"\bbuiltins\b", "__import__": r"__import__",
    "ModuleType": r"\bModuleType\b", "IPython internals": r"set_custom_exc|input_transformers|ast_transformers",
    "gc.get_objects": r"\bgc\.get_objects\b", "frame inspection": r"sys\._getframe|_current_frames",
    "patches autograder": r"\bautograder\.\w+\s*=[^=]", "patches time/asyncio": r"\b(time|asyncio)\.\w+\s*=[^=]",
    "reads files": r"\bopen\(|os\.listdir|os\.walk|glob\.|pathlib|Path\(",
}


def _notebooks(course: Course, student: str):
    import nbformat

    for path in sorted(course.folder("submitted", student).glob("*.ipynb")):
        try:
            yield path, nbformat.read(path, as_version=4)
        except Exception:
            continue


def edited_cells(course: Course, student: str) -> list[str]:
    """Read-only cells whose text differs from the released notebook (nbgrader restores them).

    nbgrader itself warns about every test cell with hidden tests (their checksum covers the
    hidden part), so the comparison is with release/, which is what students were given.
    """
    import nbformat

    notes = []
    for path, handed_in in _notebooks(course, student):
        released = course.root / course.release / course.assignment / path.name
        try:
            given = nbformat.read(released, as_version=4)
        except Exception:
            continue
        original = {c.metadata["nbgrader"]["grade_id"]: c.source for c in given.cells
                    if c.metadata.get("nbgrader", {}).get("locked") and c.metadata["nbgrader"].get("grade_id")}
        for cell in handed_in.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in original and cell.get("source") != original[grade_id]:
                notes.append(f"edited read-only cell {grade_id} restored")
    return notes


def flags_for(course: Course, student: str) -> list[str]:
    """Hostile-looking code in the student's own solution cells."""
    found: list[str] = []
    for _path, notebook in _notebooks(course, student):
        for cell in notebook.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.get("cell_type") != "code" or meta.get("locked") or meta.get("grade") or not meta.get("solution"):
                continue
            for label, pattern in SUSPICIOUS.items():
                if label not in found and re.search(pattern, cell.get("source", "")):
                    found.append(label)
    return found
