# loses: task_passes_errors_in gather_waits_for_every_task
class Task(Future):
    """Never catches the generator's exceptions, and sends a failed future's result instead of throwing it."""

    def __init__(self, coro, loop, name=None):
        super().__init__(loop)
        self.coro = coro
        self.name = name or getattr(coro, "__name__", "task")
        loop.call_soon(self._step, None, None)

    def __repr__(self):
        return f"<Task {self.name} {'done' if self.done() else 'pending'}>"

    def _step(self, value, error):
        try:
            waiting_for = self.coro.send(value)
        except StopIteration as stop:
            self.set_result(stop.value)
        else:
            if waiting_for is None:
                self.loop.call_soon(self._step, None, None)
            else:
                waiting_for.add_done_callback(self._wakeup)

    def _wakeup(self, future):
        self._step(future.result(), None)
