# loses: heartbeat_ticks_while_work_runs
async def heartbeat(ticks: list[float], interval: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        ticks.append(loop.time())
        await asyncio.sleep(interval)


async def with_heartbeat(work, interval: float):
    """Stops the heartbeat only when the work succeeds."""
    ticks = []
    beating = asyncio.create_task(heartbeat(ticks, interval))
    result = await work
    beating.cancel()
    try:
        await beating
    except asyncio.CancelledError:
        pass
    return result, ticks
