# loses: crawl_visits_every_page_once
async def crawl(start: str, links: dict[str, list[str]], workers: int) -> dict[str, str]:
    """Marks a URL done before queueing its links: queue.join() can return while links are still to come."""
    queue = asyncio.Queue()
    queued = {start}
    pages = {}

    async def worker():
        while True:
            url = await queue.get()
            queue.task_done()
            try:
                pages[url] = await course.download(url)
            except LookupError:
                continue
            for link in links.get(url, []):
                if link not in queued:
                    queued.add(link)
                    queue.put_nowait(link)

    queue.put_nowait(start)
    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await queue.join()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return pages
