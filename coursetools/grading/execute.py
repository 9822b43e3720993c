"""Autograding that survives hostile cells: one failing exercise costs only its own points.

nbgrader's own execute preprocessor gives up on the whole notebook when one cell hits the
time limit and cannot be interrupted, or when the kernel dies (`os._exit`, a segfault, the
memory cap): every exercise then scores zero. `RobustExecute` (registered for grading runs
in nbgrader_config.py) runs the notebook in the same order, in a sandboxed kernel
(coursetools/sandbox/), and handles each cell on its own:

* **Lesson demos are not run:** a code cell tagged `demo` (it only measures and shows) is
  skipped and its outputs cleared, when that cannot change a verdict (autograder/demos.py says when).
  Grading pays for the exercises, not for the lessons' live measurements (`skip_demos`).

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

Everything the grader repaired or worked around (restored names, timeouts, dead or broken
kernels, restarts, cells left out, an unsandboxed kernel) is recorded as `GradingEvent`s in
the notebook's metadata (events.py); grade-class reads them from the autograded notebook.
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
from nbgrader.preprocessors.execute import Execute
from traitlets import Bool, Dict, Integer

from autograder.demos import skipped_demos
from coursetools.grading.events import EventKind, GradingEvent, record_event
from coursetools.grading.guard import GUARD_INSTALL, GUARD_RESTORE, PROBE
from coursetools.grading.scoring import is_test_cell


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
    skip_demos = Bool(True, help="Skip code cells tagged `demo` (lesson measurements nothing later uses) "
                                 "and clear their outputs.").tag(config=True)
    raise_on_iopub_timeout = Bool(False, help="Late outputs after a reply are not a failure here.").tag(config=True)
    error_on_timeout = Dict(default_value={
        "ename": "CellTimeoutError",
        "evalue": "this cell did not finish within the time limit; it was stopped and the rest of the notebook was graded without it",
        "traceback": ["\x1b[0;31mCellTimeoutError\x1b[0m: this cell did not finish within the time limit; "
                      "it was stopped and the rest of the notebook was graded without it"],
    }).tag(config=True)

    def __init__(self, *args, **kwargs):
        if "kernel_manager_class" not in kwargs:
            from coursetools.sandbox.kernel_manager import SandboxKernelManager
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
        self._events: list[GradingEvent] = []
        try:
            run_sync(self._run_notebook)()
        finally:
            run_sync(self._discard_kernel)()
            for event in self._events:
                record_event(self.nb, event)
        self.set_widgets_metadata()
        return self.nb, self.resources

    def _event(self, kind: EventKind, cell: NotebookNode | None = None, detail: str = "") -> None:
        self._events.append(GradingEvent(kind, _grade_id(cell) if cell is not None else "", detail))

    def _runs(self, cell: NotebookNode, index: int) -> bool:
        """Whether grading executes this cell at all."""
        return cell.cell_type == "code" and bool(cell.source.strip()) and index not in self._demos

    async def _run_notebook(self) -> None:
        aborted = False
        self._demos = skipped_demos(self.nb.cells) if self.skip_demos else set()
        for index in self._demos:
            self.nb.cells[index].outputs, self.nb.cells[index].execution_count = [], None
        for index, cell in enumerate(self.nb.cells):
            if not self._runs(cell, index):
                continue
            if aborted:
                cell.outputs = [error_output("GradingAborted", "not run: the kernel failed too many times in earlier cells")]
                self._event(EventKind.ABORTED, cell, "GradingAborted")
                continue
            if self.kc is None and not await self._fresh_kernel(index):
                aborted = True
                cell.outputs = [error_output("GradingAborted", "not run: the kernel failed too many times in earlier cells")]
                self._event(EventKind.ABORTED, cell, "GradingAborted")
                continue
            await self._run_cell(cell, index)
        if self._demos:
            self._event(EventKind.DEMOS_SKIPPED, None, f"{len(self._demos)} cells")

    async def _run_cell(self, cell: NotebookNode, index: int) -> None:
        test = is_test_cell(cell)
        restored: list[str] | None = []
        if (test or utils.is_locked(cell)) and self._guarded:  # the instructor's cells run in a genuine world
            restored = await self._restore_guard()
        self._timed_out = False
        self._current_is_test = test
        self._chars[index] = 0
        failure: NotebookNode | None = None
        failure_kind = EventKind.KERNEL_BROKEN
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
            failure_kind = EventKind.KERNEL_DIED
            kernel_usable = False
        except CellTimeoutError:
            failure = error_output(self.error_on_timeout["ename"], self.error_on_timeout["evalue"])
            failure_kind = EventKind.TIMEOUT
            kernel_usable = False
        finally:
            self._current_is_test = False
        if failure is None and self._timed_out:
            self._failed.add(index)
            self.log.warning("Cell %d (%s): %s: stopped at the time limit (%s s)", index, _grade_id(cell),
                             self.error_on_timeout["ename"], self.timeout)
            self._event(EventKind.TIMEOUT, cell, self.error_on_timeout["ename"])
            kernel_usable = await self._probe()
        elif failure is None and not await self._probe():
            why = ("the kernel no longer answered or could not start a thread (a loop that never yields, too "
                   "many processes)") if self._cap_hit is None else (
                   f"the kernel and its processes reached the sandbox's cap of {self._cap_hit} processes")
            failure = error_output("KernelBroken", f"after this cell {why}; it was restarted and "
                                   "the rest of the notebook was graded without this cell")
            failure_kind = EventKind.KERNEL_BROKEN
            kernel_usable = False
        if failure is not None:
            self._failed.add(index)
            cell.outputs.append(failure)
            self.log.warning("Cell %d (%s): %s: %s", index, _grade_id(cell), failure.ename, failure.evalue)
            self._event(failure_kind, cell, failure.ename)
        if restored is None:
            cell.outputs.append(error_output("TamperingDetected", "the grader's guard around the tests was removed "
                                             "by code in this notebook, so this cell cannot be trusted"))
            self._event(EventKind.TAMPERING, cell, "TamperingDetected")
        elif restored:
            self.log.warning("Cell %d (%s): restored what student code had replaced: %s", index, _grade_id(cell),
                             ", ".join(restored))
            self._event(EventKind.RESTORED, cell, ", ".join(restored))
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
                self._event(EventKind.RESTART, self.nb.cells[index])
            self.km = self.create_kernel_manager()
            if self._restarts == 0 and getattr(self.km, "sandbox_problem", None):
                self.log.warning("Student code runs UNSANDBOXED: %s", self.km.sandbox_problem)
                self._event(EventKind.UNSANDBOXED, None, self.km.sandbox_problem)
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
                if not self._runs(cell, earlier) or earlier in self._failed:
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
                    self._event(EventKind.LEFT_OUT_ON_REPLAY, cell)
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
