# loses: gather_waits_for_every_task
def gather(loop, *coros):
    """Raises as soon as it meets a failed task, leaving the later tasks running."""
    tasks = [Task(coro, loop) for coro in coros]
    results = []
    for task in tasks:
        results.append((yield from task))
    return results
