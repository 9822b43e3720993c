# loses: count_primes_in_processes_uses_processes
async def count_primes_in_processes(count, limit: int, parts: int) -> int:
    """Counts in processes side by side, but never shuts the pool down."""
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(max_workers=max(2, parts))
    counts = await asyncio.gather(
        *(loop.run_in_executor(pool, count, piece) for piece in course.cpu.chunks(limit, parts)))
    return sum(counts)
