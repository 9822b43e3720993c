"""Autograding that survives hostile cells: one failing exercise costs only its own points.

nbgrader's own execute preprocessor gives up on the whole notebook when one cell hits the
time limit and cannot be interrupted, or when the kernel dies (`os._exit`, a segfault, the
memory cap): every exercise then scores zero. `RobustExecute` (registered for grading runs
in nbgrader_config.py) runs the notebook in the same order, in a sandboxed kernel
(coursetools/sandbox.py), and handles each cell on its own:

* **A cell that runs past `Execute.timeout`** is interrupted. Its output gets a
  `CellTimeoutError` saying so (a test cell with an error scores zero).
* **A cell that kills the kernel**, or that cannot be interrupted, or after which the kernel
  no longer answers a short health probe (it must reply and start a thread within
  `probe_timeout` seconds: a task hogging the kernel's event loop, a fork bomb holding all
  processes), gets a `KernelDied` / `CellTimeoutError` / `KernelBroken` error in its output.
  The kernel is killed (with everything it started: the sandbox has its own process
  namespace) and a fresh one is started before the next code cell.
* **Re-running after a restart:** the fresh kernel re-runs every earlier code cell that did
  not fail (setup, lesson demos, the student's solutions, and earlier tests, which may
  define helpers later tests use), so later exercises see what they need. Outputs of this
  replay are discarded; a test keeps the result of its first run. A cell that breaks the
  kernel during the replay is left out as well (and, unless it is a test, noted in its
  output). Helpers defined inside a test cell that itself crashed cannot be recovered:
  shared test helpers belong in read-only helper cells, as the course writes them.
* Cells that were never reached because `max_restarts` was exhausted get a `GradingAborted`
  error (a safety net; each restart leaves out at least one more cell).

Test cells (and the other read-only cells) are also protected from monkeypatching: before
each of them a guard installed at kernel start (before any student code) restores the
genuine `autograder` package (in `sys.modules` and its public names), the clock, asyncio
and course functions the autograder watches, `builtins.__import__`, IPython's input and AST
transformers, custom exception handlers and cell-running methods, and notes in the cell's
output what it had to restore. So a patch cannot fake a pass, and it cannot break the
other exercises' tests either: they run against the genuine libraries. Output widgets and
`clear_output` cannot hide a test cell's outputs, and each cell's output is capped while it
is collected (a flood costs memory, not the grader). In-process defences have limits: code
that rewrites the kernel's own messaging could still forge a reply; the sandbox confines
any such trick to the student's own notebook, and the grade-class summary flags code worth
a human look.

`SaveAutoGrades` here is nbgrader's, with the course's scoring rule for test cells: a test
cell earns its points when it raises no error. Text on stderr does not cost points (student
code may print warnings or debug output; the checks raise when something is wrong), and a
value displayed by a test cell does not give partial credit (the course's test cells end
with a statement; student code could forge a value).
"""
from __future__ import annotations

import ast
import asyncio
import time
from queue import Empty

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import OverwriteCells as NbgraderOverwriteCells
from nbgrader.preprocessors import SaveAutoGrades as NbgraderSaveAutoGrades
from nbgrader.preprocessors.execute import Execute
from traitlets import Bool, Dict, Integer

GUARD_MODULE = "_grading_guard"

#: Run (silently) in every fresh kernel before any notebook cell.
GUARD_INSTALL = r'''
def _install_grading_guard():
    import builtins, sys, types
    import autograder

    modules = {n: m for n, m in list(sys.modules.items())
               if n == "autograder" or n.startswith("autograder.")}
    public = {n: vars(autograder)[n] for n in autograder.__all__ if n in vars(autograder)}
    # The functions the checks rely on (the autograder's own list: clocks, asyncio's sleep,
    # gather, ..., the course's services); nest_asyncio and the like patch none of them.
    import autograder._integrity as integrity
    libraries = {name: (owner, attr, getattr(owner, attr, None))
                 for name, (owner, attr) in getattr(integrity, "_WATCHED", {}).items()}
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
        for name, module in modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
                changed.append(f"sys.modules[{name!r}]")
        for name, (owner, attr, value) in libraries.items():
            if getattr(owner, attr, None) is not value:
                vars(owner)[attr] = value
                changed.append(name)
        namespace = vars(autograder)
        for name, value in public.items():
            if namespace.get(name) is not value:
                namespace[name] = value
                changed.append(f"autograder.{name}")
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


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograder test cell: graded, not a solution, code."""
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def note_output(text: str) -> NotebookNode:
    return NotebookNode(output_type="stream", name="stdout", text=text)


def _exit_description(code: int | None) -> str:
    if code is None:
        return "it stopped answering"
    import signal
    number = -code if code < 0 else code - 128 if code > 128 else None
    if number:
        try:
            return f"it was killed by {signal.Signals(number).name}"
        except ValueError:
            pass
    return f"it exited with status {code}"


class RobustExecute(Execute):
    """nbgrader's Execute with per-cell failure isolation and a sandboxed kernel."""

    probe_timeout = Integer(5, help="Seconds the kernel has to answer the health probe after a cell.").tag(config=True)
    max_restarts = Integer(8, help="Kernel restarts allowed per notebook before grading the rest is abandoned.").tag(config=True)
    max_output_chars = Integer(2_000_000, help="Output text kept per cell while it runs; the rest is dropped.").tag(config=True)
    raise_on_iopub_timeout = Bool(False, help="Late outputs after a reply are not a failure here.").tag(config=True)
    error_on_timeout = Dict(default_value={
        "ename": "CellTimeoutError",
        "evalue": "this cell did not finish within the time limit; it was stopped and the rest of the notebook was graded without it",
        "traceback": ["\x1b[0;31mCellTimeoutError\x1b[0m: this cell did not finish within the time limit; "
                      "it was stopped and the rest of the notebook was graded without it"],
    }).tag(config=True)

    def __init__(self, *args, **kwargs):
        if "kernel_manager_class" not in kwargs:
            from coursetools.sandbox import SandboxKernelManager
            kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)

    # --- the notebook ----------------------------------------------------------------

    def preprocess(self, nb, resources=None, km=None):
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._failed: set[int] = set()
        self._restarts = -1  # the first start is not a restart
        self._guarded = False
        self._monitor: asyncio.Future | None = None
        self._cap_hit: int | None = None
        self._current_is_test = False
        self._chars: dict[int, int] = {}
        try:
            run_sync(self._run_notebook)()
        finally:
            run_sync(self._discard_kernel)()
        self.set_widgets_metadata()
        return self.nb, self.resources

    async def _run_notebook(self) -> None:
        aborted = False
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            if aborted:
                cell.outputs = [error_output("GradingAborted", "not run: the kernel failed too many times in earlier cells")]
                continue
            if self.kc is None and not await self._fresh_kernel(index):
                aborted = True
                cell.outputs = [error_output("GradingAborted", "not run: the kernel failed too many times in earlier cells")]
                continue
            await self._run_cell(cell, index)

    async def _run_cell(self, cell: NotebookNode, index: int) -> None:
        test = is_test_cell(cell)
        restored: list[str] | None = []
        if (test or utils.is_locked(cell)) and self._guarded:  # the instructor's cells run in a genuine world
            restored = await self._restore_guard()
        self._timed_out = False
        self._current_is_test = test
        self._chars[index] = 0
        failure: NotebookNode | None = None
        kernel_usable = True
        try:
            await self.async_execute_cell(cell, index, execution_count=self.code_cells_executed + 1)
        except DeadKernelError:
            code = await self._exit_code()
            tail = getattr(self.km, "kernel_log_tail", lambda: "")()
            if tail.strip():
                self.log.info("The kernel's last words:\n%s", tail)
            why = _exit_description(code) if self._cap_hit is None else (
                f"it and its processes reached the sandbox's cap of {self._cap_hit} processes and were stopped")
            failure = error_output("KernelDied", f"the kernel died while running this cell ({why}); "
                                   "it was restarted and the rest of the notebook was graded without this cell")
            kernel_usable = False
        except CellTimeoutError:
            failure = error_output(self.error_on_timeout["ename"], self.error_on_timeout["evalue"])
            kernel_usable = False
        finally:
            self._current_is_test = False
        if failure is None and self._timed_out:
            self._failed.add(index)
            self.log.warning("Cell %d (%s): %s: stopped at the time limit (%s s)", index, _grade_id(cell),
                             self.error_on_timeout["ename"], self.timeout)
            kernel_usable = await self._probe()
        elif failure is None and not await self._probe():
            why = ("the kernel no longer answered or could not start a thread (a loop that never yields, too "
                   "many processes)") if self._cap_hit is None else (
                   f"the kernel and its processes reached the sandbox's cap of {self._cap_hit} processes")
            failure = error_output("KernelBroken", f"after this cell {why}; it was restarted and "
                                   "the rest of the notebook was graded without this cell")
            kernel_usable = False
        if failure is not None:
            self._failed.add(index)
            cell.outputs.append(failure)
            self.log.warning("Cell %d (%s): %s: %s", index, _grade_id(cell), failure.ename, failure.evalue)
        if restored is None:
            cell.outputs.append(error_output("TamperingDetected", "the grader's guard around the tests was removed "
                                             "by code in this notebook, so this cell cannot be trusted"))
        elif restored:
            self.log.warning("Cell %d (%s): restored what student code had replaced: %s", index, _grade_id(cell),
                             ", ".join(restored))
            cell.outputs.insert(0, note_output(
                "[grader] before this cell the grader restored what code in this notebook had replaced: "
                + ", ".join(restored) + ". Tests always run against the genuine autograder.\n"))
        if not kernel_usable:
            await self._discard_kernel()

    # --- kernels ---------------------------------------------------------------------

    async def _fresh_kernel(self, index: int) -> bool:
        """Start a kernel, install the guard and re-run the cells before `index` that set things up."""
        while True:
            self._restarts += 1
            if self._restarts > self.max_restarts:
                return False
            if self._restarts:
                self.log.warning("Restarting the kernel before cell %d (restart %d)", index, self._restarts)
            self.km = self.create_kernel_manager()
            if self._restarts == 0 and getattr(self.km, "sandbox_problem", None):
                self.log.warning("Student code runs UNSANDBOXED: %s", self.km.sandbox_problem)
            await self.async_start_new_kernel()
            self._cap_hit = None
            self._monitor = asyncio.ensure_future(self._watch_processes(self.km))
            await self.async_start_new_kernel_client()
            msg_id = await ensure_async(self.kc.kernel_info())
            info = await self.async_wait_for_reply(msg_id)
            if info is not None and "language_info" in info["content"]:
                self.nb.metadata["language_info"] = info["content"]["language_info"]
            reply = await self._quiet(GUARD_INSTALL, self.timeout or 60)
            self._guarded = reply is not None and reply["content"]["status"] == "ok"
            if not self._guarded:  # e.g. a course without the autograder package: grade without the guard
                self.log.error("Could not install the grading guard: %s", reply and reply["content"].get("evalue"))
            if self._restarts == 0:
                return True
            replay_ok = True
            for earlier in range(index):
                cell = self.nb.cells[earlier]
                if cell.cell_type != "code" or not cell.source.strip() or earlier in self._failed:
                    continue
                if utils.is_locked(cell) and self._guarded:
                    await self._restore_guard()
                reply = await self._quiet(cell.source, self.timeout or 600, silent=False)
                if reply is None or not await self._probe():
                    self._failed.add(earlier)
                    if not is_test_cell(cell):  # a test keeps the result of its first, real run
                        cell.outputs.append(error_output(
                            "KernelBroken", "re-running this cell (after a later cell failed) left the kernel "
                            "unusable; the rest of the notebook was graded without it"))
                    self.log.warning("Cell %d (%s) broke the kernel while re-running; leaving it out", earlier, _grade_id(cell))
                    await self._discard_kernel()
                    replay_ok = False
                    break
            if replay_ok:
                return True

    async def _watch_processes(self, km) -> None:
        """Stop a sandbox that reaches its process cap (a fork bomb) at once: its processes
        would otherwise spin on the CPU the other students' kernels need until it is noticed."""
        counts = getattr(km, "process_count", None)
        if counts is None:
            return
        while True:
            await asyncio.sleep(0.25)
            now = counts()
            if now is not None and now[0] >= now[1] - 1:
                self._cap_hit = now[1]
                self.log.warning("The sandbox reached its cap of %d processes: stopping the kernel", now[1])
                try:
                    await ensure_async(km.provisioner.kill())
                except Exception as error:
                    self.log.debug("Stopping the kernel: %s", error)
                return

    async def _discard_kernel(self) -> None:
        if self._monitor is not None:
            try:
                self._monitor.cancel()
            except Exception:
                pass
            self._monitor = None
        if self.km is None:
            return
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if await ensure_async(self.km.is_alive()):
                await ensure_async(self.km.shutdown_kernel(now=True))
        except Exception as error:  # a dead or vanished kernel: nothing left to stop
            self.log.debug("Kernel shutdown: %s", error)
        finally:
            try:
                await ensure_async(self.km.cleanup_resources())
            except Exception:
                pass
            self.kc = None
            self.km = None

    async def _exit_code(self) -> int | None:
        try:
            provisioner = self.km.provisioner
            return await provisioner.poll() if provisioner is not None else None
        except Exception:
            return None

    async def _quiet(self, code: str, timeout: float, silent: bool = True,
                     user_expressions: dict | None = None) -> dict | None:
        """Execute `code` outside the notebook's cells; the reply, or None on timeout or death."""
        msg_id = self.kc.execute(code, silent=silent, store_history=not silent, allow_stdin=False,
                                 user_expressions=user_expressions or {}, stop_on_error=False)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=min(remaining, 1.0)))
            except Empty:
                if not await ensure_async(self.km.is_alive()):
                    return None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    async def _probe(self) -> bool:
        if self.kc is None:
            return False
        reply = await self._quiet(PROBE, self.probe_timeout)
        return reply is not None and reply["content"]["status"] == "ok"

    async def _restore_guard(self) -> list[str] | None:
        """Restore the genuine autograder before a test cell: what was restored, or None if the guard is gone."""
        reply = await self._quiet("pass", self.probe_timeout, user_expressions={"restored": GUARD_RESTORE})
        try:
            result = reply["content"]["user_expressions"]["restored"]
            if result["status"] != "ok":
                return None
            return [str(x) for x in ast.literal_eval(result["data"]["text/plain"])]
        except (TypeError, KeyError, ValueError, SyntaxError):
            return None

    # --- nbclient hooks --------------------------------------------------------------

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream":
            used = self._chars.get(cell_index, 0)
            text = msg["content"].get("text", "")
            self._chars[cell_index] = used + len(text)
            if used >= self.max_output_chars:
                return None
            if used + len(text) > self.max_output_chars:
                msg = dict(msg, content=dict(msg["content"], text=text[: self.max_output_chars - used]
                                             + f"\n[grader] output truncated after {self.max_output_chars} characters\n"))
        if self._current_is_test:
            # Output widgets must not swallow a test cell's outputs (its error, above all).
            parent = msg["parent_header"].get("msg_id")
            hooks = self.output_hook_stack.get(parent)
            if hooks:
                saved = list(hooks)
                hooks.clear()
                try:
                    return super().output(outs, msg, display_id, cell_index)
                finally:
                    hooks.extend(saved)
        return super().output(outs, msg, display_id, cell_index)

    def clear_output(self, outs, msg, cell_index):
        if self._current_is_test:
            return  # nothing may erase a test cell's result
        return super().clear_output(outs, msg, cell_index)


def _grade_id(cell: NotebookNode) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "-")


def test_cell_score(cell: NotebookNode) -> tuple[float | None, float]:
    """The course's rule: a code test cell earns its points when it raised no error."""
    if not is_test_cell(cell):
        return utils.determine_grade(cell)
    points = float(cell.metadata["nbgrader"]["points"])
    if any(output.output_type == "error" for output in cell.outputs):
        return 0, points
    return points, points


class SaveAutoGrades(NbgraderSaveAutoGrades):
    """nbgrader's SaveAutoGrades with the course's scoring rule for test cells (see module doc)."""

    def _add_score(self, cell, resources):
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        grade.auto_score, _ = test_cell_score(cell)
        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        self.gradebook.db.commit()


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
