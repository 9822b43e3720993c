"""Shared fixtures: the course root, temporary course copies, and running nbgrader."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coursetools.layout import Assignment, assignments

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = assignments(ROOT)


def copy_course(destination: Path) -> Path:
    """A throwaway course root with the source, release and config of the real one."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("source", "release"):
        shutil.copytree(ROOT / name, destination / name)
    for name in ("nbgrader_config.py", "index.ipynb"):
        shutil.copy2(ROOT / name, destination / name)
    return destination


@pytest.fixture(params=ASSIGNMENTS, ids=[a.id for a in ASSIGNMENTS])
def assignment(request: pytest.FixtureRequest) -> Assignment:
    return request.param
