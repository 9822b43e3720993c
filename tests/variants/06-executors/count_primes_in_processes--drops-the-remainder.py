# loses: count_primes_in_processes_uses_processes
async def count_primes_in_processes(count, limit: int, parts: int) -> int:
    """Cuts range(limit) by hand into pieces of limit // parts: the last few numbers are never counted."""
    loop = asyncio.get_running_loop()
    size = limit // parts
    pieces = [range(i * size, (i + 1) * size) for i in range(parts)]
    with ProcessPoolExecutor(max_workers=max(2, parts)) as pool:
        counts = await asyncio.gather(*(loop.run_in_executor(pool, count, piece) for piece in pieces))
    return sum(counts)
