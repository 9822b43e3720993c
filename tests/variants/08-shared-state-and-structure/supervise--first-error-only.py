# loses: supervise_cancels_siblings_and_reports_every_error
async def supervise(jobs: dict) -> Outcome:
    """Run every job at once in a TaskGroup; report the results and the error that stopped it."""
    tasks = {}
    outcome = Outcome()
    try:
        async with asyncio.TaskGroup() as group:
            for name, job in jobs.items():
                tasks[name] = group.create_task(job())
    except* Exception as failures:
        first = failures.exceptions[0]
        name = next(n for n, t in tasks.items() if not t.cancelled() and t.exception() is first)
        outcome.errors[name] = first
    for name, task in tasks.items():
        if task.cancelled():
            outcome.cancelled.add(name)
        elif task.exception() is None:
            outcome.results[name] = task.result()
    return outcome
