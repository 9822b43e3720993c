# loses: supervise_cancels_siblings_and_reports_every_error
async def supervise(jobs: dict) -> Outcome:
    """Run every job at once; report each one's result or error."""
    names = list(jobs)
    settled = await asyncio.gather(*(jobs[name]() for name in names), return_exceptions=True)
    outcome = Outcome()
    for name, value in zip(names, settled):
        if isinstance(value, BaseException):
            outcome.errors[name] = value
        else:
            outcome.results[name] = value
    return outcome
