# loses: gather_runs_tasks_concurrently
def gather(loop, *coros):
    """Waits on the last task to learn when all are done: with no coroutines there is no last task."""
    tasks = [Task(coro, loop) for coro in coros]
    for task in tasks[:-1]:
        try:
            yield from task
        except Exception:
            pass
    try:
        yield from tasks[-1]
    except IndexError:
        raise
    except Exception:
        pass
    return [task.result() for task in tasks]
