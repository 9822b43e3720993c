"""Code the grader runs inside the grading kernel, outside the notebook's cells.

* The guard, installed (silently) in every fresh kernel before any notebook cell: before
  each test cell and read-only cell, `execute.RobustExecute` calls its `restore()`, which
  puts back `builtins.__import__`, everything the autograder snapshotted of itself
  (`autograder._integrity.restore()`: every autograder module's names and classes, their
  `sys.modules` entries, the clocks, asyncio and course functions the checks rely on),
  IPython's input and AST transformers, custom exception handlers and cell-running
  methods, and returns the names of what it had to restore.
* The health probe after each cell: the kernel answers and can still start a thread.
"""
from __future__ import annotations

GUARD_MODULE = "_grading_guard"

#: Run (silently) in every fresh kernel before any notebook cell.
GUARD_INSTALL = r'''
def _install_grading_guard():
    import builtins, sys, types
    import autograder._integrity as integrity

    # The autograder snapshots itself when imported (before any student code runs here): every
    # name of every autograder module, their classes, sys.modules entries and the clocks,
    # asyncio and course functions the checks rely on. Its genuine `restore` is kept here.
    restore_autograder = integrity.restore
    genuine_import = builtins.__import__
    shell = get_ipython()
    transformers = {n: list(getattr(shell, n)) for n in
                    ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")}
    custom_tb = getattr(shell, "CustomTB", None)
    shell_class = type(shell)
    methods = {}
    method_names = ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
                    "showtraceback", "_showtraceback", "should_run_async")
    for klass in shell_class.__mro__:
        for name in method_names:
            if name in vars(klass) and name not in methods:
                methods[name] = (klass, vars(klass)[name])
    missing = object()
    own = {name: vars(shell).get(name, missing) for name in method_names}  # ipykernel sets some itself

    def restore():
        changed = []
        if builtins.__import__ is not genuine_import:
            builtins.__import__ = genuine_import
            changed.append("builtins.__import__")
        changed += restore_autograder()
        for name, value in transformers.items():
            if list(getattr(shell, name)) != value:
                getattr(shell, name)[:] = value
                changed.append(f"IPython {name}")
        if shell.custom_exceptions:
            shell.custom_exceptions = ()
            shell.CustomTB = custom_tb
            changed.append("IPython custom exception handler")
        for name, (klass, value) in methods.items():
            if vars(shell).get(name, missing) is not own[name]:
                if own[name] is missing:
                    delattr(shell, name)
                else:
                    vars(shell)[name] = own[name]
                changed.append(f"get_ipython().{name}")
            if vars(klass).get(name) is not value:
                setattr(klass, name, value)
                changed.append(f"{klass.__name__}.{name}")
        return changed

    guard = types.ModuleType("''' + GUARD_MODULE + r'''")
    guard.restore = restore
    sys.modules[guard.__name__] = guard

_install_grading_guard()
del _install_grading_guard
'''

GUARD_RESTORE = f"__import__('sys').modules[{GUARD_MODULE!r}].restore()"

#: The health probe: the kernel answers and can still start a thread.
PROBE = (
    "def _grading_probe():\n"
    "    import threading\n"
    "    worker = threading.Thread(target=int)\n"
    "    worker.start()\n"
    "    worker.join(2)\n"
    "    assert not worker.is_alive()\n"
    "_grading_probe()\n"
    "del _grading_probe\n"
)


