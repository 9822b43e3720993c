# loses: crawl_uses_workers_and_back_pressure
async def crawl(source, workers: int) -> dict[str, str]:
    """An unbounded queue: the producer reads the whole source before the workers catch up."""
    queue = asyncio.Queue()
    pages = {}

    async def worker():
        while True:
            url = await queue.get()
            try:
                pages[url] = await course.download(url)
            except LookupError:
                pass
            finally:
                queue.task_done()

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    async for url in source:
        await queue.put(url)
    await queue.join()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return pages
