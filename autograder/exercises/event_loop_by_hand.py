"""Checks for notebook 02, an event loop by hand: the student's generator, Task, EventLoop,
gather (all on the student's own loop, stepped by hand, no asyncio) and Alarm (on asyncio).

The Task checks use `ManualLoop`, the smallest loop a Task needs; gather runs on the
student's `EventLoop`, so its check first makes sure that loop keeps timers and turns.
"""
from __future__ import annotations

import asyncio
import inspect
from collections import deque
from typing import Any, Callable, Iterator, Sequence

from autograder import errors
from autograder.checks import check
from autograder.errors import student_facing
from autograder.exercises.callbacks import run_scenario
from course.handmade import timeline


class ManualLoop:
    """The smallest loop a Task needs: call_soon queues a callback; run() calls them in order."""

    def __init__(self) -> None:
        self.ready: deque = deque()

    def call_soon(self, callback: Callable, *args: Any) -> None:
        self.ready.append((callback, args))

    def run(self, limit: int = 1000) -> None:
        """Call queued callbacks (and those they queue) until none is left, at most `limit` of them."""
        for _ in range(limit):
            if not self.ready:
                return
            callback, args = self.ready.popleft()
            callback(*args)


class _Waitable:
    """A bare future for the checks (the lesson's Future, reduced): `yield from` it to wait."""

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable] = []

    def done(self) -> bool:
        return self._done

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value

    def set_result(self, value: Any) -> None:
        self._finish(value, None)

    def set_exception(self, error: BaseException) -> None:
        self._finish(None, error)

    def _finish(self, value: Any, error: BaseException | None) -> None:
        self._value, self._error, self._done = value, error, True
        for callback in self._callbacks:
            self.loop.call_soon(callback, self)
        self._callbacks.clear()

    def add_done_callback(self, callback: Callable) -> None:
        if self._done:
            self.loop.call_soon(callback, self)
        else:
            self._callbacks.append(callback)

    def __iter__(self) -> Iterator:
        if not self._done:
            yield self
        return self.result()

    __await__ = __iter__


def _raised(error: BaseException) -> str:
    """How a message says what the student's code raised; an unsolved exercise is "not written yet"."""
    if isinstance(error, NotImplementedError):
        return "is not written yet (it raises NotImplementedError)"
    return f"raised {type(error).__name__}: {error}"


# --- Exercise 1: running_total -------------------------------------------------------------

def _drive(running_total: Callable, numbers: list) -> tuple[list, Any]:
    try:
        gen = running_total()
    except Exception as error:
        raise errors.StudentCodeRaised(
            f"running_total {_raised(error)}. Calling a generator function runs none of its body: it needs "
            "a `yield`.") from None
    if not inspect.isgenerator(gen):
        raise errors.WrongResult(
            f"running_total() returned {type(gen).__name__} {gen!r:.60}, not a generator: its body needs a `yield`.")
    try:
        yielded = [next(gen)]
        for number in numbers:
            yielded.append(gen.send(number))
    except StopIteration:
        raise errors.WrongResult(
            f"running_total stopped before None was sent (numbers sent: {numbers}): only None ends it; "
            "0 is a number to add.") from None
    except Exception as error:
        raise errors.StudentCodeRaised(
            f"running_total raised {type(error).__name__}: {error} while numbers {numbers} were sent in.") from None
    try:
        gen.send(None)
    except StopIteration as stop:
        return yielded, stop.value
    raise errors.WrongResult(
        f"running_total yielded again after {numbers} and then send(None): return the total when None is sent.")


def _two_totals(running_total: Callable) -> Iterator:
    first = yield from running_total()
    second = yield from running_total()
    return first, second


@student_facing
def check_running_total(running_total: Callable, *cases: list) -> None:
    """running_total yields 0, then the total after each number sent in; send(None) returns the
    total (StopIteration.value), which `yield from running_total()` receives."""
    for numbers in cases:
        yielded, returned = _drive(running_total, list(numbers))
        expected, total = [0], 0
        for number in numbers:
            total += number
            expected.append(total)
        if yielded != expected:
            first = next(i for i, (a, b) in enumerate(zip(yielded, expected)) if a != b)
            raise errors.WrongResult(
                f"running_total yielded {yielded[first]!r} where the total is {expected[first]!r} (sending "
                f"{numbers}; it should yield {expected}: 0 first, then the total after each number).")
        if returned != total:
            raise errors.WrongResult(
                f"running_total ended with the value {returned!r} after {numbers} and send(None); expected "
                f"the total, {total!r}: end with `return total`.")
    first, second = list(cases[0][:2]) or [1], list(cases[-1][-2:]) or [2]
    gen = _two_totals(running_total)
    seen = [next(gen), *(gen.send(n) for n in first)]
    seen.append(gen.send(None))
    seen += [gen.send(n) for n in second]
    try:
        gen.send(None)
        returned = None
    except StopIteration as stop:
        returned = stop.value
    if returned != (sum(first), sum(second)):
        raise errors.WrongResult(
            f"running_total through `yield from`: two totals, of {first} and then {second}, gave "
            f"{returned!r} to the delegating generator; expected {(sum(first), sum(second))!r}. The value "
            "you `return` is what `yield from` receives.")
    print(f"passed: running_total keeps the total and returns it ({len(cases)} cases, and through yield from)")


# --- Exercise 2: Task ----------------------------------------------------------------------

def _returns_at_once(value: Any) -> Iterator:
    return value
    yield  # never reached; it makes this a generator function


def _waits_for(future: Any) -> Iterator:
    value = yield from future
    return ("received", value)


def _taking_turns(name: str, log: list, turns: int) -> Iterator:
    for i in range(turns):
        log.append(f"{name}{i}")
        yield
    return name


def _parent(child_task: Any) -> Iterator:
    name = yield from child_task
    again = yield from child_task  # a done task: no waiting
    return name + again


def _two_waits(first: Any, second: Any) -> Iterator:
    a = yield from first
    b = yield from second
    return a, b


async def _awaits(future: Any) -> Any:
    return await future


def _run(loop: ManualLoop, what: str) -> None:
    try:
        loop.run()
    except NotImplementedError:
        raise errors.StudentCodeRaised("Task: _step or _wakeup is not written yet (it raises NotImplementedError).") from None
    except Exception as escaped:
        raise errors.StudentCodeRaised(
            f"Task: {type(escaped).__name__}: {escaped} escaped from your Task into the loop while {what}. "
            "_step must not raise: catch what the generator raises and record it on the task "
            "(set_result or set_exception).") from None


def _result(task: Any, what: str) -> Any:
    if not task.done():
        raise errors.NeverFinished(f"Task: the task is not done after {what}.")
    try:
        return task.result()
    except Exception as error:
        raise errors.WrongResult(f"Task: task.result() raised {error!r} after {what}; expected a result.") from None


@student_facing
def check_task(Task: type, values: Sequence, names: str, turns: int) -> None:
    """A Task returns its generator's return value, waits (without being stepped) for the
    futures it yields and receives their results, lets generators that yield None take
    turns, can be waited for by another task, and runs `async def` coroutines too."""
    for value in values:
        loop = ManualLoop()
        task = Task(_returns_at_once(value), loop)
        if task.done() or not loop.ready:
            raise errors.WrongResult(
                "Task: Task(...) must not run the generator itself; __init__ (given) only schedules the first "
                "step with call_soon. Keep the given __init__.")
        _run(loop, "a generator returned at once")
        got = _result(task, f"a generator that returns {value!r} without yielding was stepped once")
        if got != value:
            raise errors.WrongResult(
                f"Task: task.result() is {got!r} for a generator that returns {value!r}; set the task's result "
                "to StopIteration.value.")

        loop = ManualLoop()
        future = _Waitable(loop)
        task = Task(_waits_for(future), loop)
        _run(loop, "a generator waited for a future")
        if loop.ready:
            raise errors.WrongResult(
                "Task: while the task waits for a future, it is stepped again and again: when the generator "
                "yields a future, give the future your _wakeup with add_done_callback, and do nothing more.")
        if task.done():
            raise errors.FinishedTooEarly("Task: the task finished before the future it waits for was done.")
        future.set_result(value)
        _run(loop, "the future a generator waited for was set")
        got = _result(task, f"the future it waited for got {value!r}")
        if got != ("received", value):
            raise errors.WrongResult(
                f"Task: the generator received {got[1] if isinstance(got, tuple) else got!r} from "
                f"`yield from future`; expected the future's result, {value!r}: in _wakeup, step with "
                "future.result() as the value to send.")

    loop = ManualLoop()
    log: list = []
    tasks = [Task(_taking_turns(name, log, turns), loop) for name in names]
    _run(loop, "generators that yield None took turns")
    expected = [f"{name}{i}" for i in range(turns) for name in names]
    if log != expected:
        raise errors.WrongResult(
            f"Task: generators that yield None ran in the order {log}; expected {expected}: on None, "
            "schedule the next step with call_soon, so that the task goes to the back of the queue.")
    results = [_result(task, "taking turns") for task in tasks]
    if results != list(names):
        raise errors.WrongResult(f"Task: tasks that took turns returned {results}; expected {list(names)}.")

    loop = ManualLoop()
    child = Task(_taking_turns(names[0], [], turns), loop)
    parent = Task(_parent(child), loop)
    _run(loop, "a task waited for another task")
    if _result(parent, "`yield from child_task`") != names[0] * 2:
        raise errors.WrongResult("Task: a generator that waits for another task with `yield from task` did not get "
                                 "its result: a Task is a Future, so _step treats it like any future yielded.")

    loop = ManualLoop()
    first, second = _Waitable(loop), _Waitable(loop)
    task = Task(_two_waits(first, second), loop)
    second.set_result(values[-1])
    _run(loop, "a task waited for two futures in turn")
    first.set_result(values[0])
    _run(loop, "a task waited for two futures in turn")
    if _result(task, "two futures in turn") != (values[0], values[-1]):
        raise errors.WrongResult("Task: a task that waits for two futures in turn (the second already done) did "
                                 "not get both results.")

    loop = ManualLoop()
    future = _Waitable(loop)
    task = Task(_awaits(future), loop)
    _run(loop, "an `async def` coroutine waited")
    future.set_result(values[0])
    _run(loop, "an `async def` coroutine waited")
    if _result(task, "an async def coroutine awaited a future") != values[0]:
        raise errors.WrongResult("Task: an `async def` coroutine (it has send() and throw() too) did not get its "
                                 "future's result.")
    print("passed: Task steps generators to their results, waits on futures and takes turns")


def _fails_after_a_turn(error: Exception) -> Iterator:
    yield
    raise error


def _catches(future: Any, kind: type) -> Iterator:
    try:
        yield from future
    except kind as error:
        return f"handled {error!r}"
    return "no error"


@student_facing
def check_task_errors(Task: type, raised: Exception, thrown: Exception) -> None:
    """A Task records the exception its generator raises (task.result() raises it), throws a
    failed future's exception into the generator, which may catch it, and a future's error the
    generator does not catch ends the task with that error."""
    loop = ManualLoop()
    task = Task(_fails_after_a_turn(raised), loop)
    _run(loop, f"a generator raised {raised!r}")
    if not task.done():
        raise errors.NeverFinished(f"Task: a generator that raised {raised!r} left the task pending: set the "
                                   "exception on the task.")
    try:
        got = task.result()
    except type(raised) as error:
        if error is not raised:
            raise errors.WrongResult(f"Task: task.result() raised {error!r}; expected the generator's own "
                                     f"exception object, {raised!r}.") from None
    else:
        raise errors.WrongResult(f"Task: task.result() returned {got!r}; it should raise the generator's {raised!r}: "
                                 "set_exception(exc) in _step.")

    loop = ManualLoop()
    future = _Waitable(loop)
    task = Task(_catches(future, type(thrown)), loop)
    _run(loop, "a generator waited for a future")
    future.set_exception(thrown)
    _run(loop, f"the future it waited for failed with {thrown!r}")
    got = _result(task, f"the future it waited for failed with {thrown!r}")
    if got != f"handled {thrown!r}":
        raise errors.WrongResult(
            f"Task: the generator should catch the future's {thrown!r} at its `yield from` and return; it "
            f"returned {got!r}. In _wakeup, when future.result() raises, step with that exception as `error`, "
            "so that _step throws it in with coro.throw(error).")

    loop = ManualLoop()
    future = _Waitable(loop)
    task = Task(_waits_for(future), loop)
    _run(loop, "a generator waited for a future")
    future.set_exception(thrown)
    _run(loop, f"the future it waited for failed with {thrown!r} and the generator did not catch it")
    try:
        task.result()
    except type(thrown):
        pass
    except Exception as error:
        raise errors.WrongResult(f"Task: task.result() raised {error!r}; expected {thrown!r}.") from None
    else:
        raise errors.WrongResult(
            f"Task: a future's {thrown!r} that the generator does not catch must end the task with that error.")
    print("passed: Task records errors and throws a failed future's error into the generator")


# --- Exercise 3: EventLoop -----------------------------------------------------------------

def _new_loop(EventLoop: type) -> Any:
    try:
        return EventLoop()
    except Exception as error:
        raise errors.StudentCodeRaised(f"EventLoop() raised {error!r}: keep the given __init__.") from None


def _call(loop: Any, method: str, *args: Any) -> None:
    """loop.<method>(*args), with what the student's loop raises turned into a diagnosis."""
    try:
        getattr(loop, method)(*args)
    except TypeError as error:
        if "not supported between instances" not in str(error):
            raise errors.StudentCodeRaised(f"EventLoop.{method} raised TypeError: {error}") from None
        raise errors.WrongResult(
            f"EventLoop.{method}: two timers due at the same time were compared by their callbacks (TypeError: "
            f"{error}). Put `next(self._sequence)` between the due time and the callback in each heap entry, "
            "so that ties are decided by the order scheduled.") from None
    except Exception as error:
        raise errors.StudentCodeRaised(f"EventLoop.{method} {_raised(error)}.") from None


def _turns(loop: Any, count: int) -> None:
    for _ in range(count):
        _call(loop, "run_once")


@student_facing
def check_event_loop(EventLoop: type, delays: Sequence[float]) -> None:
    """call_soon callbacks run on the next turn, in order, at the current time; timers run in
    order of due time (ties in the order scheduled), each at its due time; callbacks added
    during a turn wait for the next; the clock does not move while something is ready; a turn
    with nothing to do changes nothing."""
    loop = _new_loop(EventLoop)
    _turns(loop, 1)
    if loop.time() != 0 or loop.ready or loop.timers:
        raise errors.WrongResult("EventLoop: a turn with nothing to do changed the loop; it must change nothing.")

    loop = _new_loop(EventLoop)
    log: list = []
    _call(loop, "call_later", 5, lambda: log.append((loop.time(), "timer")))
    _call(loop, "call_soon", lambda what: log.append((loop.time(), what)), "soon a")
    _call(loop, "call_soon", lambda what: log.append((loop.time(), what)), "soon b")
    _turns(loop, 1)
    if log != [(0, "soon a"), (0, "soon b")]:
        raise errors.WrongResult(
            f"EventLoop: the first turn ran {log}; expected the two call_soon callbacks, in order, at time 0: "
            "the clock must not jump to a timer while callbacks are ready.")
    _turns(loop, 1)
    if log[2:] != [(5, "timer")]:
        raise errors.WrongResult(
            f"EventLoop: the next turn ran {log[2:]}; expected [(5, 'timer')]: a turn with nothing ready jumps "
            "the clock to the earliest timer and runs it.")

    loop = _new_loop(EventLoop)
    log = []
    _call(loop, "call_soon", lambda: (log.append("first"), loop.call_soon(log.append, "second")))
    _turns(loop, 1)
    if log != ["first"]:
        raise errors.WrongResult(
            f"EventLoop: one turn ran {log}; a callback scheduled during a turn must wait for the next turn: "
            "run only as many callbacks as were ready when run_once began.")
    _turns(loop, 1)
    if log != ["first", "second"]:
        raise errors.WrongResult(f"EventLoop: the second turn should run the callback the first scheduled; ran {log}.")

    loop = _new_loop(EventLoop)
    ran: list = []
    for index, delay in enumerate(delays):
        _call(loop, "call_later", delay, lambda index=index: ran.append((loop.time(), index)))
    _turns(loop, len(delays))
    expected = sorted((delay, index) for index, delay in enumerate(delays))
    if ran != expected:
        first = next((i for i, (a, b) in enumerate(zip(ran, expected)) if a != b), len(ran))
        got = ran[first] if first < len(ran) else "nothing"
        raise errors.WrongResult(
            f"EventLoop: timers with delays {list(delays)} ran as (time, index) {ran[:first + 1]}...; entry {first} "
            f"should be {expected[first]}, got {got}. Timers run in order of due time, each at its due time, and "
            "timers due together in the order scheduled (the `sequence` in each heap entry).")

    loop = _new_loop(EventLoop)
    seen: list = []
    _call(loop, "call_later", delays[0], lambda: loop.call_later(1, lambda: seen.append(loop.time())))
    _turns(loop, 2)
    if seen != [delays[0] + 1]:
        raise errors.WrongResult(
            f"EventLoop: a call_later(1, ...) made at {delays[0]:g} s ran at {seen}; expected [{delays[0] + 1:g}]: "
            "delays count from the loop's now.")

    loop = _new_loop(EventLoop)
    log = []
    _call(loop, "call_later", 0, log.append, "zero")
    _call(loop, "call_soon", log.append, "soon")
    _turns(loop, 1)
    if log != ["soon", "zero"] or loop.time() != 0:
        raise errors.WrongResult(
            f"EventLoop: call_later(0, ...) then call_soon(...) ran as {log} at {loop.time():g} s; a timer due now "
            "joins the ready queue after what is already there, and the clock stays at 0.")
    print(f"passed: EventLoop runs callbacks and {len(delays)} timers in order, at their times")


# --- Exercise 4: gather --------------------------------------------------------------------

Job = tuple  # (name, seconds) or (name, seconds, exception to raise at the end)


def _sleep(loop: Any, seconds: float) -> Iterator:
    future = _Waitable(loop)
    loop.call_later(seconds, future.set_result, None)
    return (yield from future)


def _timed_job(loop: Any, name: str, seconds: float, spans: dict, error: Exception | None = None) -> Iterator:
    spans[name] = [loop.time(), None]
    yield from _sleep(loop, seconds)
    spans[name][1] = loop.time()
    if error is not None:
        raise error
    return name.upper()


def _picture(spans: dict) -> str:
    return "When each job ran (virtual time):\n" + timeline(
        [(name, start, start if end is None else end) for name, (start, end) in spans.items()])


def _loop_needed(EventLoop: type) -> None:
    """gather runs on the student's EventLoop: say so first if that loop cannot run timers."""
    loop = EventLoop()
    ran: list = []
    try:
        loop.call_later(2, ran.append, 2)
        loop.call_later(1, ran.append, 1)
        loop.call_soon(ran.append, 0)
        for _ in range(3):
            loop.run_once()
    except Exception as error:
        raise errors.StudentCodeRaised(
            f"gather: its tests run on your EventLoop, which {_raised(error)}. Make the EventLoop tests "
            "(exercise 3) pass first.") from None
    if ran != [0, 1, 2] or loop.time() != 2:
        raise errors.WrongResult(
            "gather: its tests run on your EventLoop, which does not yet run callbacks and timers in order. "
            "Make the EventLoop tests (exercise 3) pass first.")


def _run_gather(gather: Callable, EventLoop: type, jobs: Sequence[Job]) -> tuple[Any, dict, Any]:
    _loop_needed(EventLoop)
    loop = EventLoop()
    spans: dict = {}
    coros = [_timed_job(loop, name, seconds, spans, *rest) for name, seconds, *rest in jobs]
    try:
        gen = gather(loop, *coros)
    except NotImplementedError:
        raise errors.StudentCodeRaised("gather is not written yet (it raises NotImplementedError).") from None
    except Exception as error:
        raise errors.StudentCodeRaised(
            f"gather(loop, ...) raised {type(error).__name__}: {error} before the loop ran anything. gather "
            "must be a generator: wait for each task with `yield from task` before using its result.") from None
    if not inspect.isgenerator(gen):
        raise errors.WrongResult(
            f"gather(loop, ...) returned {type(gen).__name__}, not a generator: its body waits with "
            "`yield from`, so that a Task can run it.")
    try:
        return loop, spans, loop.run_until_complete(gen)
    except Exception as error:
        return loop, spans, error


def _first_unfinished(jobs: Sequence[Job], spans: dict) -> list[str]:
    return [name for name, *_ in jobs if name not in spans or spans[name][1] is None]


@student_facing
def check_gather(gather: Callable, EventLoop: type, *cases: Sequence[Job]) -> None:
    """gather(loop, *coros) runs every coroutine as a task at once and returns their results
    in argument order, when the slowest is done; with no coroutines it returns []."""
    for jobs in cases:
        loop, spans, result = _run_gather(gather, EventLoop, jobs)
        expected = [name.upper() for name, *_ in jobs]
        shown = [tuple(job) for job in jobs]
        if isinstance(result, Exception):
            raise errors.StudentCodeRaised(
                f"gather over the jobs {shown} raised {type(result).__name__}: {result}; expected {expected!r}. "
                "(These tests run on your Task and EventLoop: if their tests fail, fix them first.)")
        if result != expected:
            raise errors.WrongResult(
                f"gather over the jobs (name, seconds) {shown} returned {result!r}; expected {expected!r}, the "
                "results in the order of the arguments.")
        longest = max((seconds for _, seconds, *_ in jobs), default=0)
        started = sorted(start for start, _ in spans.values())
        if started and started[-1] > started[0]:
            raise errors.RanSequentially(
                f"gather over the jobs {shown} started them one after another (it took {loop.time():g} s of "
                f"your loop's time; together they take {longest:g} s). Wrap every coroutine in a Task first, "
                "then wait for the tasks.\n" + _picture(spans))
        if loop.time() != longest:
            raise errors.TookTooLong(
                f"gather over the jobs {shown} took {loop.time():g} s of your loop's time; expected {longest:g} s, "
                "when the slowest job ends.\n" + _picture(spans))
    print(f"passed: gather runs every job at once and returns the results in order ({len(cases)} cases)")


@student_facing
def check_gather_failure(gather: Callable, EventLoop: type, *cases: Sequence[Job]) -> None:
    """When tasks fail, gather still waits for every task, then raises the exception of the
    first failed task in argument order (not the first to fail in time)."""
    for jobs in cases:
        loop, spans, outcome = _run_gather(gather, EventLoop, jobs)
        expected_error = next(rest[0] for _, _, *rest in jobs if rest)
        shown = [tuple(job) for job in jobs]
        unfinished = _first_unfinished(jobs, spans)
        if unfinished:
            raise errors.TaskLeaked(
                f"gather over the jobs {shown} returned or raised at {loop.time():g} s while {unfinished} had not "
                "finished: it left tasks running. Wait for every task (catch each one's exception while you "
                "wait), then raise the first failure. (If your Task's tests fail, fix them first: a Task that lets "
                "errors escape stops the loop too.)\n" + _picture(spans))
        if outcome is not expected_error:
            failed = [rest[0] for _, _, *rest in jobs if rest]
            detail = (" That is the first to fail in time; raise the first in argument order."
                      if outcome in failed else "")
            raise errors.WrongResult(
                f"gather over the jobs {shown} gave {outcome!r}; expected it to raise {expected_error!r}, the "
                f"exception of the first failed job in argument order.{detail}")
        longest = max(seconds for _, seconds, *_ in jobs)
        if loop.time() != longest:
            raise errors.TookTooLong(
                f"gather raised at {loop.time():g} s; expected {longest:g} s, when the last job ends.\n" + _picture(spans))
    print(f"passed: gather waits for every task, then raises the first failure in argument order ({len(cases)} cases)")


# --- Exercise 5: Alarm ---------------------------------------------------------------------

async def _one_alarm(Alarm: type, seconds: float, value: Any) -> Any:
    return await Alarm(seconds, value)


async def _alarms_together(Alarm: type, seconds_list: list[float]) -> list:
    return await asyncio.gather(*(Alarm(seconds, index) for index, seconds in enumerate(seconds_list)))


async def _alarm_with_timeout(Alarm: type, seconds: float, timeout: float) -> str:
    try:
        await asyncio.wait_for(Alarm(seconds, "late"), timeout)
    except TimeoutError:
        outcome = "timed out"
    else:
        outcome = "rang"
    await asyncio.sleep(seconds + 1)  # the alarm's timer would fire meanwhile
    return outcome


@student_facing
def check_alarm(Alarm: type, seconds_list: Sequence[float], timeout: float) -> None:
    """`await Alarm(seconds, value)` gives value after exactly `seconds` of loop time without
    blocking; alarms awaited together overlap; an alarm cancelled by a timeout leaves no error."""
    for index, seconds in enumerate(seconds_list):
        value = f"ring {index}"
        report = check(_one_alarm, Alarm, seconds, value, expected=value, within=seconds, name="Alarm")
        if report.loop_time != seconds:
            raise errors.FinishedTooEarly(
                f"Alarm: await Alarm({seconds:g}, {value!r}) returned after {report.loop_time:g} s of loop time; "
                f"expected exactly {seconds:g} s: wait with `yield from future`, for a future that "
                "loop.call_later completes.")
    check(_alarms_together, Alarm, list(seconds_list), expected=list(range(len(seconds_list))),
          within=max(seconds_list), name="Alarm")
    for seconds in seconds_list:
        if seconds <= timeout:
            continue
        report = run_scenario(_alarm_with_timeout, Alarm, seconds, timeout, name="Alarm")
        if report.result != "timed out":
            raise errors.WrongResult(
                f"Alarm: waiting {timeout:g} s for Alarm({seconds:g}) should time out; it {report.result}.")
    print(f"passed: Alarm waits without blocking, overlaps, and cleans up when cancelled ({len(seconds_list)} alarms)")
