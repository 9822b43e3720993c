"""Showing things in the notebook: the one place widgets and plots reach the browser."""
from __future__ import annotations

from typing import Any


def in_kernel() -> bool:
    """True inside a Jupyter kernel, where displayed objects reach a browser."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show(obj: Any) -> None:
    """Display `obj` in the notebook (does nothing outside a Jupyter kernel)."""
    if in_kernel():
        from IPython.display import display

        display(obj)
