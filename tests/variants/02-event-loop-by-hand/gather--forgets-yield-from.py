# loses: gather_runs_tasks_concurrently gather_waits_for_every_task
def gather(loop, *coros):
    """Forgets `yield from`: asks the tasks for their results before they have run (and is no generator)."""
    tasks = [Task(coro, loop) for coro in coros]
    return [task.result() for task in tasks]
