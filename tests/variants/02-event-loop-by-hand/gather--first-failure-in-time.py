# loses: gather_waits_for_every_task
def gather(loop, *coros):
    """Waits for every task, but raises the failure that happened first in time, not the first in argument order."""
    tasks = [Task(coro, loop) for coro in coros]
    failures = []
    for task in tasks:
        task.add_done_callback(lambda done: failures.append(done._exception) if done._exception else None)
    for task in tasks:
        try:
            yield from task
        except Exception:
            pass  # raised below
    if failures:
        raise failures[0]
    return [task.result() for task in tasks]
