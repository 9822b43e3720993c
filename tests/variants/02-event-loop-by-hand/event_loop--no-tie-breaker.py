# loses: event_loop_runs_callbacks_in_time_order gather_runs_tasks_concurrently
import heapq
import itertools


class EventLoop:
    """Pushes (when, callback, args) on the heap: timers due together make heapq compare functions."""

    def __init__(self):
        self.ready = deque()
        self.timers = []
        self.now = 0.0
        self._sequence = itertools.count()

    def time(self):
        return self.now

    def call_soon(self, callback, *args):
        self.ready.append((callback, args))

    def call_later(self, delay, callback, *args):
        heapq.heappush(self.timers, (self.now + delay, callback, args))

    def run_once(self):
        if not self.ready and self.timers:
            self.now = self.timers[0][0]
        while self.timers and self.timers[0][0] <= self.now:
            _, callback, args = heapq.heappop(self.timers)
            self.ready.append((callback, args))
        for _ in range(len(self.ready)):
            callback, args = self.ready.popleft()
            callback(*args)

    def run_until_complete(self, coro, max_turns=100_000):
        task = Task(coro, self)
        for _ in range(max_turns):
            if task.done():
                return task.result()
            if not self.ready and not self.timers:
                raise RuntimeError("Nothing is ready and no timer is set, yet the task is not done.")
            self.run_once()
        raise RuntimeError(f"The task did not finish in {max_turns} turns of the loop.")
