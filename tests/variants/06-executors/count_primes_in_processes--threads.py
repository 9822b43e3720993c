# loses: count_primes_in_processes_uses_processes
async def count_primes_in_processes(count, limit: int, parts: int) -> int:
    """A thread pool: the pieces take turns under the GIL instead of running in parallel."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=parts) as pool:
        counts = await asyncio.gather(
            *(loop.run_in_executor(pool, count, piece) for piece in course.cpu.chunks(limit, parts)))
    return sum(counts)
