# loses: count_primes_in_processes_uses_processes
async def count_primes_in_processes(count, limit: int, parts: int) -> int:
    """A process pool, but each piece is awaited before the next one is submitted."""
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=max(2, parts)) as pool:
        pending = (loop.run_in_executor(pool, count, piece) for piece in course.cpu.chunks(limit, parts))
        return sum([await job for job in pending])
