"""Lesson demos: code cells tagged `demo` only measure and show, so grading need not run them.

A notebook author tags a cell `demo` when nothing after it depends on it: neither a name it
binds nor an effect it has (a live measurement of servers, lag or thread costs, a timeline
widget; not a cell that clears a recorder later cells read). Names are checked here; effects
are the author's promise, which tests/test_grading_pipeline.py checks by grading every
assignment's reference, blank and wrong answers with and without the demos. Grading skips them
(`coursetools.grading.execute.RobustExecute.skip_demos`), and so does the Validate button
(`autograder.validate`), through `ExecuteWithoutDemos`: nbgrader's Execute preprocessor
skipping them the same way. Both read the rule here, which ships to students with the autograder.

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

    def preprocess_cell(self, cell, resources, index):
        if index in self._skipped:
            cell.outputs, cell.execution_count = [], None
            return cell, resources
        return super().preprocess_cell(cell, resources, index)


def _python(source: str) -> ast.Module | None:
    """The cell as Python (IPython magics and shell escapes blanked out), or None."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _own(nodes) -> list[ast.AST]:
    """`nodes` and what they contain in the same scope: a nested function, class or
    comprehension contributes only what runs in this scope (its decorators, defaults and
    bases, a comprehension's first iterable) and, for a def or class, the node itself."""
    found: list[ast.AST] = []
    for node in nodes:
        if isinstance(node, _FUNCTIONS):
            arguments = node.args
            found += _own([*getattr(node, "decorator_list", []), *arguments.defaults,
                           *[d for d in arguments.kw_defaults if d is not None]])
            if not isinstance(node, ast.Lambda):
                found.append(node)
        elif isinstance(node, ast.ClassDef):
            found += _own([*node.decorator_list, *node.bases, *[k.value for k in node.keywords]])
            found.append(node)
        elif isinstance(node, _COMPREHENSIONS):
            found += _own([node.generators[0].iter])
        else:
            found.append(node)
            found += _own(list(ast.iter_child_nodes(node)))
    return found


def _bound(nodes) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _reads(nodes) -> set[str]:
    return {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _scope_body(scope) -> tuple[list[ast.AST], set[str]]:
    """A nested scope's own nodes and its parameters."""
    if isinstance(scope, _COMPREHENSIONS):
        parts = [scope.key, scope.value] if isinstance(scope, ast.DictComp) else [scope.elt]
        for index, generator in enumerate(scope.generators):
            parts += [generator.target, *generator.ifs] + ([generator.iter] if index else [])
        return _own(parts), set()
    if isinstance(scope, ast.ClassDef):
        return _own(scope.body), set()
    arguments = scope.args
    params = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                              *[x for x in (arguments.vararg, arguments.kwarg) if x]]}
    body = scope.body if isinstance(scope.body, list) else [scope.body]
    return _own(body), params


def _free_reads(scope) -> tuple[set[str], set[str]]:
    """(names a nested scope reads from the module, names it assigns there through `global`)."""
    own, params = _scope_body(scope)
    declared = {name for node in own if isinstance(node, ast.Global) for name in node.names}
    local = (params | _bound(own)) - declared
    reads = _reads(own) - local
    assigned = declared & _bound(own)
    for inner in _scopes_within(own):
        inner_reads, inner_assigned = _free_reads(inner)
        reads |= inner_reads - local
        assigned |= inner_assigned
    return reads, assigned


def _scopes_within(own: list[ast.AST]) -> list[ast.AST]:
    """The scopes nested directly in the scope whose own nodes are `own` (never deeper ones)."""
    scopes: list[ast.AST] = []
    for node in own:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            candidates = [node]  # its body is its own scope: what is nested there is its business
        else:
            candidates = [c for c in ast.iter_child_nodes(node) if isinstance(c, (ast.Lambda, *_COMPREHENSIONS))]
        scopes += [c for c in candidates if not any(c is known for known in scopes)]
    return scopes


def _expression(nodes, bound: set[str], reads: set[str], defined: set[str]) -> None:
    """Record what `nodes` (run before anything they bind) read, then what they bind."""
    own = _own([n for n in nodes if n is not None])
    found = _reads(own)
    assigned: set[str] = set()
    for scope in _scopes_within(own):
        scope_reads, scope_assigned = _free_reads(scope)
        found |= scope_reads
        assigned |= scope_assigned
    reads |= found - bound
    bound |= _bound(own) | assigned
    defined |= _bound(own) | assigned


def _maybe(statements, bound: set[str], reads: set[str], defined: set[str]) -> None:
    """Statements that may not run (a branch, a loop body): what they bind is not bound for sure."""
    _statements(statements, set(bound), reads, defined)


def _statements(statements, bound: set[str], reads: set[str], defined: set[str]) -> None:
    """Walk statements in the order they run; `bound` holds the names bound for sure so far."""
    for statement in statements:
        if isinstance(statement, (ast.For, ast.AsyncFor)):
            _expression([statement.iter], bound, reads, defined)
            loop = set(bound)
            _expression([statement.target], loop, reads, defined)
            _statements(statement.body, loop, reads, defined)
            _maybe(statement.orelse, bound, reads, defined)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            for item in statement.items:
                _expression([item.context_expr], bound, reads, defined)
                _expression([item.optional_vars], bound, reads, defined)
            _statements(statement.body, bound, reads, defined)
        elif isinstance(statement, (ast.If, ast.While)):
            _expression([statement.test], bound, reads, defined)
            _maybe(statement.body, bound, reads, defined)
            _maybe(statement.orelse, bound, reads, defined)
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            _maybe(statement.body, bound, reads, defined)
            for handler in statement.handlers:
                _expression([handler.type], bound, reads, defined)
                caught = set(bound) | ({handler.name} if handler.name else set())
                defined |= caught - bound
                _statements(handler.body, caught, reads, defined)
            _maybe(statement.orelse, bound, reads, defined)
            _statements(statement.finalbody, bound, reads, defined)
        else:
            _expression([statement], bound, reads, defined)


def _analyse(source: str) -> tuple[set[str], set[str]]:
    """(names the cell binds for later cells, names it reads from earlier cells), in the order
    the cell runs: a name the cell surely binds before it reads it is its own."""
    tree = _python(source)
    bound: set[str] = set()
    reads: set[str] = set()
    defined: set[str] = set()
    _statements(tree.body if tree else [], bound, reads, defined)
    return defined, reads


def defined_names(source: str) -> set[str]:
    """Names a cell binds for the cells after it (module level, and `global` in functions)."""
    return _analyse(source)[0]


def used_names(source: str) -> set[str]:
    """Names a cell reads that earlier cells must have bound (not its own, not functions' locals)."""
    return _analyse(source)[1]


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
