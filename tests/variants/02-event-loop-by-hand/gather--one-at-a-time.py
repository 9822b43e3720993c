# loses: gather_runs_tasks_concurrently gather_waits_for_every_task
def gather(loop, *coros):
    """Waits for each coroutine before starting the next: sequential, no tasks."""
    results = []
    for coro in coros:
        results.append((yield from coro))
    return results
