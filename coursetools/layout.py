"""The course's one path rule: <folder>/<NN-topic>/<topic>.ipynb."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ASSIGNMENT_DIR = re.compile(r"^(\d\d)-([a-z0-9-]+)$")


@dataclass(frozen=True)
class Assignment:
    """One assignment: its id (folder name), number and notebook name."""

    id: str

    @property
    def number(self) -> str:
        return self.id[:2]

    @property
    def topic(self) -> str:
        return self.id[3:]

    @property
    def notebook(self) -> str:
        return f"{self.topic}.ipynb"

    def path(self, root: Path, folder: str = "source") -> Path:
        return root / folder / self.id / self.notebook


def assignments(root: Path) -> list[Assignment]:
    """The assignments in source/, in course order."""
    found = []
    for entry in sorted((root / "source").iterdir()):
        if entry.is_dir() and ASSIGNMENT_DIR.match(entry.name):
            assignment = Assignment(entry.name)
            if not assignment.path(root).exists():
                raise FileNotFoundError(
                    f"{entry} must contain {assignment.notebook} (rule: source/NN-topic/topic.ipynb)")
            found.append(assignment)
    return found
